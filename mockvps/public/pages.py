"""Pages of the server list, as Django REST framework's `PageNumberPagination` cuts them (`--page-size`).

`?page=N` counts from 1; `?page_size=M` asks for M a page, at most `MAX_PAGE_SIZE` (more is cut to it, and a value
that is no positive integer falls back to the configured size, as DRF does). A page that is not a positive integer
(in ASCII digits) or lies past the end is 404 `{"detail": "Invalid page."}`; the first page of an empty list
exists. The links are absolute URLs on the request's own origin, with its query in sorted order (DRF's
`replace_query_param`); the previous link of page 2 has no `page` parameter at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from mockvps.settings import MAX_PAGE_SIZE
from mockvps.shared.requests import HttpError

__all__ = ["INVALID_PAGE", "Page", "page_of", "request_url"]

INVALID_PAGE = "Invalid page."


@dataclass(frozen=True, slots=True)
class Page:
    start: int
    stop: int
    next: str | None
    previous: str | None


def request_url(scope: Mapping[str, Any]) -> str:
    """The request's own origin and path, as Django's `build_absolute_uri` writes them (the Host header)."""
    host = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"host"), None)
    if host is None:
        server_host, port = scope.get("server") or ("localhost", None)
        host = server_host if port is None else f"{server_host}:{port}"
    return f"{scope.get('scheme', 'http')}://{host}{scope['path']}"


def _number(text: str) -> int | None:
    """A positive integer in plain ASCII digits (any length: a huge one is merely out of range), else None."""
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or not digits:
        return None
    return int(digits) if len(digits) <= 18 else 10**18


def _size(values: list[str] | None, default: int) -> int:
    """DRF's `_positive_int(..., strict=True, cutoff=max_page_size)`, falling back to the default."""
    size = _number(values[-1]) if values else None
    return default if size is None else min(size, MAX_PAGE_SIZE)


def page_of(count: int, query_string: str, url: str, default_size: int) -> Page:
    """Which slice of `count` servers the request's page holds, and the links to its neighbours."""
    query = parse_qs(query_string, keep_blank_values=True)
    size = _size(query.get("page_size"), default_size)
    pages = max(1, -(-count // size))
    number = _number(query.get("page", ["1"])[-1])
    if number is None or number > pages:
        raise HttpError(404, INVALID_PAGE)

    def link(to: int) -> str:
        linked = {k: v for k, v in query.items() if k != "page"}
        if to != 1:
            linked["page"] = [str(to)]
        encoded = urlencode(sorted(linked.items()), doseq=True)
        return f"{url}?{encoded}" if encoded else url

    return Page(
        start=(number - 1) * size,
        stop=min(number * size, count),
        next=link(number + 1) if number < pages else None,
        previous=link(number - 1) if number > 1 else None,
    )
