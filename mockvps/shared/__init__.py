"""What the public API and the control API both use: the mock's state, reading requests, error answers, fault
rules, the request journal, and the helpers of both OpenAPI documents."""

__all__: list[str] = []
