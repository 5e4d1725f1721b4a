"""The public Servers API, as a plain ASGI app over one operation table.

`dispatch` routes, authenticates and reads each request; `operations` is the table of the nine operations with a
thin handler each; `rendering` turns domain objects into the documentation's JSON; `schemas` holds the wire
models (request validation, and the contract document's shapes); `document` builds the contract document.
"""

__all__: list[str] = []
