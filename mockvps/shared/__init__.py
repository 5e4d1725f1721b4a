"""What the public API and the control API both use: the mock's state, reading requests, error answers, fault
rules, the request journal, the helpers of both OpenAPI documents, and the HTTP/1.1 protocol they are served
with."""

__all__: list[str] = []
