"""`mockvps proxy`: a validating, recording reverse proxy between a client and the service.

forwarding.py passes requests and answers through unchanged and hands each finished exchange (exchange.py) to
observer.py, which checks it off the request path against the contract document (validation.py, with
openapi-core) and the session so far (session.py), counts the departures into the drift report (report.py)
and records the session as HAR (har.py); server.py runs it all. Needs the `proxy` extra (openapi-core);
nothing here is imported unless the proxy runs.
"""

__all__: list[str] = []
