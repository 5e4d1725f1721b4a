"""The mock's own API under `/_mockvps/`, the dashboard and the documentation pages: a FastAPI app.

`app` builds it (on the first request that needs it); `routes` holds the endpoints, thin over the backend;
`deps` their typed dependencies; `schemas` the wire models; `responses` the JSON response class; `document`
the control document (`openapi/control.json`).
"""

__all__: list[str] = []
