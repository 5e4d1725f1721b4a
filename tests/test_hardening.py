"""Hostile input: limits with clear errors, and a Hypothesis fuzz of every endpoint at the HTTP level.

Every answer to the fuzz must be a documented status in the contract's error format, never a 5xx, and anything
refused must leave the state exactly as it was (compared as a whole export).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockvps.app import create_app
from mockvps.clock import VirtualClock
from mockvps.errors import ValidationFailed
from mockvps.persistence.snapshot import export_state
from mockvps.public.schemas import ServerCreate
from mockvps.settings import Settings
from mockvps.shared.requests import BodyInvalid, HttpError, _deeper_than, parse_body
from tests.conftest import AUTH, CREATE

SERVERS = "/api/v1/servers/"
REPORT = Path(__file__).resolve().parents[1] / "reports" / "fuzz.txt"

# -- limits -----------------------------------------------------------------------------------------------------


def test_servers_per_account_are_limited_with_a_clear_error() -> None:
    app = create_app(Settings(max_servers_per_account=3), clock=VirtualClock())
    with TestClient(app, headers=AUTH) as client:
        assert client.post(SERVERS, json=CREATE).status_code == 201  # 12345, 12346 and this one
        before = export_state(app.state.backend)
        refused = client.post(SERVERS, json=CREATE)
        assert (refused.status_code, refused.json()) == (400, {"detail": "The account holds its limit of 3 servers."})
        assert export_state(app.state.backend) == before


def test_accounts_are_limited_with_a_clear_error() -> None:
    app = create_app(Settings(max_accounts=2), clock=VirtualClock())
    with TestClient(app) as client:
        assert client.post("/_mockvps/accounts", json={}).status_code == 201
        refused = client.post("/_mockvps/accounts", json={})
        assert (refused.status_code, refused.json()) == (400, {"detail": "The mock holds its limit of 2 accounts."})
        assert len(client.get("/_mockvps/accounts").json()) == 2


def test_oversized_headers_are_431() -> None:
    app = create_app(Settings(max_header_size=2048), clock=VirtualClock())
    with TestClient(app) as client:
        refused = client.get(SERVERS, headers={**AUTH, "X-Padding": "x" * 4096})
        assert refused.status_code == 431
        assert refused.json() == {"detail": "Request headers are larger than 2048 bytes."}
        assert client.get("/_mockvps/health", headers={"X-Padding": "x" * 4096}).status_code == 431


@pytest.mark.parametrize("depth", [5, 65, 2000])
def test_json_nesting_deeper_than_the_limit_is_400(client: TestClient, depth: int) -> None:
    body = b'{"name": ' + b"[" * depth + b"1" + b"]" * depth + b"}"
    response = client.post(SERVERS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    if depth > 64:
        assert response.json()["detail"].startswith("JSON parse error - ")
    else:
        assert response.json() == {"name": ["Not a valid string."], **{f: ["This field is required."]
                                   for f in ("plan_id", "os_id", "location")}}  # fmt: skip


@pytest.mark.parametrize("limit", [2, 3, 64])
def test_only_bodies_deeper_than_the_limit_are_refused_with_or_without_walking_them(limit: int) -> None:
    # A body is walked for its depth only when it has as many brackets as the limit: around the limit, what is
    # refused is exactly what the walk alone would refuse.
    for depth in range(max(1, limit - 3), limit + 3):
        for raw in (
            b'{"name": ' + b"[" * depth + b"1" + b"]" * depth + b"}",
            b'{"name": "a' + b"[" * depth + b'"}',  # brackets in a string: walked, never refused
            b'{"a":' * depth + b"1" + b"}" * depth,
            b"[" * depth + b"]" * depth,
        ):
            deeper = _deeper_than(orjson.loads(raw), limit)
            try:
                parse_body(raw, "application/json", ServerCreate, limit)
                refused = False
            except HttpError as exc:
                refused = exc.detail == f"JSON parse error - nested deeper than {limit} levels."
            except (ValidationFailed, BodyInvalid):
                refused = False
            assert refused == deeper, (limit, raw)


# -- fuzz -------------------------------------------------------------------------------------------------------

DOCUMENTED = {200, 201, 204, 301, 400, 401, 402, 404, 405, 413, 415, 431}
TEMPLATES = [
    ("GET", "/api/v1/servers/"), ("POST", "/api/v1/servers/"), ("GET", "/api/v1/servers/{id}/"),
    ("PUT", "/api/v1/servers/{id}/"), ("PATCH", "/api/v1/servers/{id}/"), ("DELETE", "/api/v1/servers/{id}/"),
    ("POST", "/api/v1/servers/{id}/start/"), ("POST", "/api/v1/servers/{id}/stop/"),
    ("POST", "/api/v1/servers/{id}/reboot/"), ("GET", "/_mockvps/accounts"), ("POST", "/_mockvps/accounts"),
    ("PATCH", "/_mockvps/accounts/{name}"), ("POST", "/_mockvps/accounts/{name}/servers"),
    ("PUT", "/_mockvps/accounts/{name}/servers/{id}/usage"), ("POST", "/_mockvps/clock/advance"),
    ("POST", "/_mockvps/faults"), ("PUT", "/_mockvps/state"), ("GET", "/_mockvps/journal"),
    ("PUT", "/_mockvps/accounts/{name}/next-provisioning"), ("POST", "/_mockvps/accounts/{name}/servers/{id}/advance"),
]  # fmt: skip
ODD = st.sampled_from(["\x00", "\u202e", "\ufeff", "\ud7ff", "é", "🙂", "\u0661", "\uff11", "%", "%00", "..", "/"])
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40) | ODD
numbers = st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=False) | st.just(2**64 + 1)
leaves = st.none() | st.booleans() | numbers | text
documents = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
                         max_leaves=20)  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "valid-ish", "bytes", "nested", "duplicate", "empty", "huge-number"]))
    if kind == "json":
        return json.dumps(draw(documents)).encode()  # the standard library writes integers of any size
    if kind == "valid-ish":
        fields = {**CREATE, "name": "x", "hostname": None, "backups_enabled": True, "seconds": 1, "status": 500}
        key = draw(st.sampled_from(sorted(fields)))
        return json.dumps({**fields, key: draw(documents)}).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "nested":
        depth = draw(st.integers(1, 3000))
        return b'{"name":' + b"[" * depth + b"]" * depth + b"}"
    if kind == "duplicate":
        return b'{"name": "a", "name": "b", "plan_id": 1, "plan_id": "x", "os_id": 5, "location": "us-west"}'
    if kind == "huge-number":
        return b'{"plan_id": 1' + b"0" * draw(st.integers(20, 400)) + b', "seconds": 1e999}'
    return b""


ids = st.integers(min_value=-5, max_value=2**70).map(str) | st.sampled_from(["12345", "12346"]) | text
content_types = st.sampled_from([None, "application/json", "application/json; charset=latin-1", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "*/*",
                                 "APPLICATION/JSON", "application/json;;;", "\x7f"])  # fmt: skip
authorizations = st.sampled_from([None, "Bearer mockvps-dev-token", "Bearer", "Bearer  mockvps-dev-token ",
                                  "bearer mockvps-dev-token", "Basic Zm9vOmJhcg==", "Bearer " + "a" * 5000,
                                  "Bearer \x00", "Bearer mockvps-dev-token\t"])  # fmt: skip
tried = {"inputs": 0, "refused": 0}


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe="")


def contract_shaped(status: int, body: bytes) -> bool:
    if status in (204, 301):
        return body == b""
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    if status < 300:
        return isinstance(payload, (dict, list))
    if not isinstance(payload, dict) or not payload:
        return False
    if set(payload) == {"detail"}:
        return isinstance(payload["detail"], str)
    return all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in payload.values())


@pytest.mark.xdist_group("fuzz")  # the report reads what the fuzz counted: one worker, in file order
@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    template=st.sampled_from(TEMPLATES),
    server_id=ids,
    name=st.sampled_from(["default", "nobody"]) | text,
    body=bodies(),
    content_type=content_types,
    authorization=authorizations,
    query=st.dictionaries(st.sampled_from(["status", "location", "limit", "method", "x"]), text, max_size=3),
)
def test_fuzzed_requests_get_documented_answers_and_refusals_change_nothing(
    template: tuple[str, str], server_id: str, name: str, body: bytes, content_type: str | None,
    authorization: str | None, query: dict[str, str],
) -> None:  # fmt: skip
    app = _app()
    method, path = template
    path = path.replace("{id}", _quote(server_id)).replace("{name}", _quote(name))
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if authorization is not None:
        headers["Authorization"] = authorization
    before = export_state(app.state.backend)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.request(method, path, content=body, headers=headers, params=query,
                                  follow_redirects=False)  # fmt: skip
    tried["inputs"] += 1
    assert response.status_code in DOCUMENTED, (method, path, response.status_code, response.text[:300])
    assert contract_shaped(response.status_code, response.content), (method, path, response.text[:300])
    if response.status_code >= 300:
        tried["refused"] += 1
        assert export_state(app.state.backend) == before, (method, path, response.text[:300])


def _app() -> Any:
    return create_app(Settings(), clock=VirtualClock())


@pytest.mark.xdist_group("fuzz")  # the report reads what the fuzz counted: one worker, in file order
def test_report_how_many_inputs_the_fuzz_tried() -> None:
    """Runs after the fuzz (file order): writes its figures for the CI artefacts and the README."""
    assert tried["inputs"] >= 600
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(f"fuzzed requests: {tried['inputs']}, refused: {tried['refused']}, 5xx: 0\n")
