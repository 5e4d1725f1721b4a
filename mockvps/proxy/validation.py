"""Each exchange against the contract document, both ways, with openapi-core.

openapi-core (python-openapi) validates a request (security, path and query parameters, body and its media
type) and a response (status, media type, body, documented headers) against an OpenAPI 3.1 document, and
reports every schema error jsonschema finds, not just the first. With its `additional_properties_default_policy
="forbid"` it also names the fields a schema does not list, which the proxy reports as warnings. What it
cannot know, this module adds around it: which operation a path without its trailing slash belongs to (and
that its documented answer is a 301), an undocumented method on a documented path (401 or 405), query
parameters the document does not have, a body where none is documented, and headers beyond HTTP's own.

Each of openapi-core's findings becomes a `Departure` with a detail that does not change from one exchange to
the next (`results[*].id: a string, documented integer`), so that they count up. Identical exchanges (a
client polling a server) get the same verdict, so verdicts are kept for the last few hundred.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import (
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParameterValidationError,
    SecurityValidationError,
)
from openapi_core.validation.response.exceptions import DataValidationError, MissingData, MissingRequiredHeader
from werkzeug.datastructures import Headers, ImmutableMultiDict

from mockvps.departures import Departure, Example, Side, excerpt
from mockvps.proxy.exchange import Exchange

__all__ = ["HTTP_HEADERS", "Contract", "Route"]

HTTP_HEADERS = frozenset(
    {
        "accept-ranges",
        "access-control-allow-credentials",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-allow-origin",
        "access-control-expose-headers",
        "access-control-max-age",
        "age",
        "allow",
        "alt-svc",
        "cache-control",
        "connection",
        "content-encoding",
        "content-language",
        "content-length",
        "content-security-policy",
        "content-type",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "date",
        "etag",
        "expires",
        "keep-alive",
        "last-modified",
        "location",
        "nel",
        "permissions-policy",
        "pragma",
        "referrer-policy",
        "report-to",
        "retry-after",
        "server",
        "strict-transport-security",
        "transfer-encoding",
        "vary",
        "via",
        "www-authenticate",
        "x-content-type-options",
        "x-frame-options",
        "x-xss-protection",
    }
)
"""Headers any HTTP answer may carry (Django's and DRF's included: DRF sends `Allow` and `Vary` everywhere):
not worth a warning. Any other header the document does not name is one."""

_ID_SEGMENT = re.compile(r"^(\d+|[0-9a-fA-F-]{8,})$")
_EXTRA = re.compile(r"Additional properties are not allowed \((.*) (?:was|were) unexpected\)")
_REQUIRED = re.compile(r"^'(.*)' is a required property$")
_CACHED = 512

_SchemaError = Any
"""jsonschema's ValidationError, as openapi-core passes them on (jsonschema ships no type information)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request lands in the document."""

    operation: str
    """The operationId, or `METHOD /path` (ids as `{server_id}`) where the document has none."""
    template: str | None
    """The documented path it matched (with its slash), or None."""
    documented: bool
    """The document has this method on this path, as sent."""
    slashless: bool = False
    """The path lacks its trailing slash: the documented answer is a 301 to the path with it."""
    stand_in: str | None = None
    """A documented method of the same path, whose error answers (401, 405) stand for this one's."""


class _Request:
    """What openapi-core reads of a request (its `Request` protocol)."""

    def __init__(self, host_url: str, method: str, path: str, exchange: Exchange, body: bytes | None) -> None:
        self.host_url = host_url
        self.method = method.lower()
        self.path = path
        self.body = body
        self.content_type = (exchange.request_header("content-type") or "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(exchange.query_pairs),
            header=Headers(exchange.request_headers),
            cookie=ImmutableMultiDict(),
            path={},
        )


class _Response:
    """What openapi-core reads of a response (its `Response` protocol)."""

    def __init__(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.data = data
        self.content_type = (self.headers.get("content-type") or "").lower()


class Contract:
    """The contract document, read once; `request_departures` and `response_departures` judge an exchange."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # The document is ours and checked where it is made (`mockvps openapi --check`): no spec validation.
        config = Config(additional_properties_default_policy="forbid", spec_validator_cls=None)
        self.openapi = OpenAPI.from_dict(document, config=config)
        servers = document.get("servers") or [{"url": "http://localhost"}]
        self.host_url = str(servers[0]["url"]).rstrip("/")
        self.paths: list[tuple[re.Pattern[str], str, dict[str, dict[str, Any]]]] = []
        for template, item in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$")
            methods = {m.upper(): op for m, op in item.items() if isinstance(op, dict) and "responses" in op}
            self.paths.append((pattern, template, methods))
        self._requests: OrderedDict[tuple[Any, ...], list[tuple[str, str]]] = OrderedDict()
        self._responses: OrderedDict[tuple[Any, ...], list[tuple[str, str]]] = OrderedDict()

    # -- where a request lands ----------------------------------------------------------------------------------

    def route(self, method: str, path: str) -> Route:
        for candidate, slashless in ((path, False), (path + "/", True)):
            if slashless and path.endswith("/"):
                break
            for pattern, template, methods in self.paths:
                if not pattern.match(candidate):
                    continue
                stand_in = "GET" if "GET" in methods else next(iter(methods))
                if method in methods:
                    return Route(methods[method]["operationId"], template, True, slashless, method)
                if method == "HEAD" and "GET" in methods:
                    return Route(methods["GET"]["operationId"], template, False, slashless, "GET")
                return Route(f"{method} {template}", template, False, slashless, stand_in)
        return Route(f"{method} {self.shape(path)}", None, False)

    @staticmethod
    def shape(path: str) -> str:
        """A path with its ids as `{server_id}`: what stays the same across the ids a client sends."""
        return "/".join("{server_id}" if _ID_SEGMENT.match(s) else s for s in path.split("/"))

    def operation(self, template: str, method: str) -> dict[str, Any]:
        return dict(self.document["paths"][template][method.lower()])

    # -- the client's side ---------------------------------------------------------------------------------------

    def request_departures(self, exchange: Exchange, route: Route) -> list[Departure]:
        found: list[tuple[str, str]]
        if route.template is None or not route.documented:
            what = "a path" if route.template is None else "a method on this path"
            found = [("undocumented-operation", f"{what} the documentation does not have")]
            return self._departures(Side.CLIENT, route.operation, found, exchange)
        body = exchange.request_body if exchange.request_complete else None
        key = (
            exchange.method,
            exchange.path,
            exchange.query,
            exchange.request_header("content-type"),
            exchange.bearer,
            body,
        )
        cached = self._requests.get(key)
        if cached is None:
            cached = self._judge_request(exchange, route, body)
            _remember(self._requests, key, cached)
        return self._departures(Side.CLIENT, route.operation, cached, exchange)

    def _judge_request(self, exchange: Exchange, route: Route, body: bytes | None) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if route.slashless:
            found.append(("missing-trailing-slash", "the path was sent without its trailing slash"))
        assert route.template is not None
        path = exchange.path + "/" if route.slashless else exchange.path
        request = _Request(self.host_url, exchange.method, path, exchange, body or None)
        for error in self.openapi.request_validator.iter_errors(request):
            found += _request_finding(error)
        operation = self.operation(route.template, exchange.method)
        known = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        for name in dict.fromkeys(n for n, _ in exchange.query_pairs if n not in known):
            found.append(("extra-parameter", f"query parameter `{name}` is not documented"))
        return found

    # -- the service's side --------------------------------------------------------------------------------------

    def response_departures(self, exchange: Exchange, route: Route) -> list[Departure]:
        status = exchange.status
        if status is None:
            found = [("unreachable", exchange.error or "no answer")]
            return self._departures(Side.SERVICE, route.operation, found, exchange)
        if status >= 500:
            found = [("server-error", f"answered {status}")]
            return self._departures(Side.SERVICE, route.operation, found, exchange)
        if route.template is None:
            return []  # nothing documented to hold the answer to
        body = _decoded(exchange)
        headers = exchange.response_headers
        key = (
            exchange.method,
            route.template,
            route.documented,
            route.slashless,
            exchange.target,
            status,
            tuple(sorted({n.lower() for n, _ in headers})),
            exchange.response_header("content-type"),
            exchange.response_header("location"),
            exchange.response_header("allow"),
            exchange.response_header("www-authenticate"),
            body,
        )
        cached = self._responses.get(key)
        if cached is None:
            cached = self._judge_response(exchange, route, status, body)
            _remember(self._responses, key, cached)
        return self._departures(Side.SERVICE, route.operation, cached, exchange)

    def _judge_response(
        self, exchange: Exchange, route: Route, status: int, body: bytes | None
    ) -> list[tuple[str, str]]:
        assert route.template is not None
        if route.slashless:
            return _redirect_findings(exchange, status)
        method = exchange.method
        if not route.documented:
            if method == "OPTIONS":
                return []  # DRF's metadata: the document says nothing of OPTIONS
            if method == "HEAD":
                body = None  # GET's status and headers, no body
            elif status not in (401, 405):
                return [("wrong-status", f"a method the path does not have was answered {status} (documented: 405)")]
            method = route.stand_in or "GET"
        operation = self.operation(route.template, method)
        documented = operation["responses"].get(str(status))
        found: list[tuple[str, str]] = []
        if documented is not None:
            if "content" not in documented and body:
                found.append(("unexpected-body", f"a {status} answer has a body; the documentation has none"))
            names = {n.lower() for n in documented.get("headers", {})}
            for name in dict.fromkeys(n.lower() for n, _ in exchange.response_headers):
                if name not in HTTP_HEADERS and name not in names:
                    found.append(("extra-header", f"header `{name}` is not documented"))
        # A HEAD answer, or one too long to keep, has no body to judge: only its status and headers.
        unread = exchange.method == "HEAD" or body is None
        request = _Request(self.host_url, method, exchange.path, exchange, None)
        response = _Response(status, exchange.response_headers, b"" if unread else body or b"")
        for error in self.openapi.response_validator.iter_errors(request, response):
            if unread and isinstance(error, DataValidationError):
                continue
            found += _response_finding(error, status, response.content_type)
        return found

    # -- both ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _departures(
        side: Side, operation: str, found: Iterable[tuple[str, str]], exchange: Exchange
    ) -> list[Departure]:
        found = list(found)
        if not found:
            return []
        example = Example(exchange.curl(), exchange.status, excerpt(exchange.response_body))
        return [Departure(side, operation, kind, detail, example) for kind, detail in dict.fromkeys(found)]


def _remember(
    cache: OrderedDict[tuple[Any, ...], list[tuple[str, str]]], key: tuple[Any, ...], value: list[tuple[str, str]]
) -> None:
    cache[key] = value
    if len(cache) > _CACHED:
        cache.popitem(last=False)


def _decoded(exchange: Exchange) -> bytes | None:
    """The answer's body as the checks read it: decompressed; None when it was not kept whole or cannot be read."""
    if not exchange.response_complete:
        return None
    body = exchange.response_body
    encoding = (exchange.response_header("content-encoding") or "identity").lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError):
        return None
    return body if encoding == "identity" else None


def _redirect_findings(exchange: Exchange, status: int) -> list[tuple[str, str]]:
    expected = exchange.path + "/" + (f"?{exchange.query}" if exchange.query else "")
    location = exchange.response_header("location")
    if status != 301:
        return [("missing-redirect", f"answered {status} instead of 301 to the path with its slash")]
    if location is None:
        return [("missing-header", "a 301 without `Location`")]
    if not location.endswith(expected) and not location.split("?")[0].endswith(exchange.path + "/"):
        return [("missing-redirect", "a 301 whose `Location` is not the path with its slash")]
    return []


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__


def _schema_errors(error: BaseException) -> list[_SchemaError]:
    for cause in _causes(error):
        errors = getattr(cause, "schema_errors", None)
        if errors:
            return list(errors)
    return []


def _request_finding(error: BaseException) -> list[tuple[str, str]]:
    if isinstance(error, SecurityValidationError):
        return [("missing-credentials", "no `Authorization: Bearer <token>`")]
    if isinstance(error, MissingRequiredRequestBody):
        return [("missing-field", "the body is missing (the documentation requires one)")]
    if isinstance(error, MissingRequiredParameter):
        return [("missing-field", f"{error.location} parameter `{error.name}` is missing")]
    if isinstance(error, ParameterValidationError):
        where = f"{error.location} parameter `{error.name}`"
        if any(isinstance(c, CastError) for c in _causes(error)):
            return [("wrong-type", f"{where}: not of its documented type")]
        why = "an empty value" if any("Empty" in type(c).__name__ for c in _causes(error)) else "cannot be read"
        return _from_schema(_schema_errors(error), where) or [("invalid-value", f"{where}: {why}")]
    causes = list(_causes(error))
    if any(isinstance(c, MediaTypeNotFound) for c in causes):
        return [("wrong-content-type", "the body's `Content-Type` is not application/json")]
    if any(isinstance(c, MediaTypeDeserializeError) for c in causes):
        return [("wrong-content-type", "the body is not valid JSON")]
    return _from_schema(_schema_errors(error), "body") or [("other", str(error)[:200])]


def _response_finding(error: BaseException, status: int, content_type: str) -> list[tuple[str, str]]:
    if isinstance(error, ResponseNotFound):
        return [("undocumented-status", f"answered {status}, which the documentation does not list")]
    if isinstance(error, MissingRequiredHeader):
        return [("missing-header", f"a {status} answer without `{error.name}`")]
    causes = list(_causes(error))
    if any(isinstance(c, MediaTypeNotFound) for c in causes):
        shown = content_type.split(";")[0] or "no Content-Type"
        return [("wrong-content-type", f"a {status} answer of {shown}, documented application/json")]
    if any(isinstance(c, MediaTypeDeserializeError) for c in causes):
        return [("wrong-content-type", f"a {status} answer that is not valid JSON")]
    if isinstance(error, MissingData):
        return [("missing-field", f"a {status} answer without a body")]
    where = f"header `{error.name}`" if hasattr(error, "name") and "Header" in type(error).__name__ else "body"
    return _from_schema(_schema_errors(error), where) or [("other", str(error)[:200])]


def _place(root: str, path: Iterable[Any], name: str | None = None) -> str:
    """Where in a body (`results[*].id`) or a parameter a finding is, as a report shows it."""
    steps = "".join("[*]" if isinstance(step, int) else f".{step}" for step in path)
    steps = (steps + (f".{name}" if name is not None else "")).lstrip(".")
    if root == "body":
        return f"`{steps}`" if steps else "the body"
    return root + (f" at `{steps}`" if steps else "")


_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _documented_types(schema: Any) -> str:
    if isinstance(schema, list):
        return " or ".join(str(t) for t in schema)
    return str(schema)


def _from_schema(errors: Iterable[_SchemaError], root: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for error in errors:
        found += _one(error, root)
    return found


def _one(error: _SchemaError, root: str) -> list[tuple[str, str]]:
    validator = str(error.validator)
    place = _place(root, error.absolute_path)
    extra = _EXTRA.search(error.message)
    if extra:
        names = re.findall(r"'([^']*)'", extra.group(1))
        return [("extra-field", f"{_place(root, error.absolute_path, n)} is not documented") for n in names]
    if validator == "required":
        match = _REQUIRED.match(error.message)
        name = match.group(1) if match else "?"
        return [("missing-field", f"{_place(root, error.absolute_path, name)} is missing")]
    if validator == "type":
        return [("wrong-type", f"{place}: {_json_type(error.instance)}, documented {error.validator_value}")]
    if validator in ("enum", "const"):
        allowed = error.validator_value if validator == "enum" else [error.validator_value]
        shown = ", ".join(str(v) for v in allowed)
        return [("undocumented-value", f"{place}: {error.instance!r} is not one of {shown}")]
    if validator == "format":
        return [("wrong-format", f"{place}: not a {error.validator_value}")]
    if validator in ("anyOf", "oneOf") and error.context:
        return _best_branch(error, root, place)
    return [("invalid-value", f"{place}: outside the documented {validator} ({error.validator_value!r})")]


def _best_branch(error: _SchemaError, root: str, place: str) -> list[tuple[str, str]]:
    branches: dict[Any, list[_SchemaError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else 0, []).append(sub)
    if all(len(b) == 1 and b[0].validator == "type" and not b[0].relative_path for b in branches.values()):
        documented = " or ".join(_documented_types(b[0].validator_value) for b in branches.values())
        return [("wrong-type", f"{place}: {_json_type(error.instance)}, documented {documented}")]
    # The branch that fits best: the fewest errors, type mismatches counting as worst.
    best = min(branches.values(), key=lambda b: (sum(e.validator == "type" and not e.relative_path for e in b), len(b)))
    return _from_schema(best, root)
