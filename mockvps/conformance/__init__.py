"""The contract suite: does an implementation of the VPS.org Servers API answer as its documentation says?

It talks HTTP only and reads the committed contract document, so it runs unchanged against the in-process mock
(the default), a `mockvps serve` process, the container, or the live service (`--base-url`, `--token`).
"""

__all__: list[str] = []
