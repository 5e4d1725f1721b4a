"""A Hypothesis fuzz of the control API's numbers, fault headers and snapshots.

Not only the answer counts but what comes after it: an input that is accepted must leave a mock that still
answers everybody (the public API, the state export, the journal, the fault list), because the worst inputs
were once accepted with 200 and broke every later request. Refusals are 400 in the contract's error format
and change nothing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockvps.app import MockApp, create_app
from mockvps.clock import VirtualClock
from mockvps.persistence.snapshot import export_state
from mockvps.settings import Settings
from tests.conftest import AUTH, CREATE

ANSWERED = {200, 201, 204}
huge = st.sampled_from([2**63, 2**64 + 1, 10**30, 1e300, 1e308, -1e308, 3.2e9, 1e10, 10**300])
numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False, allow_infinity=False) | huge
decimals = numbers.map(str) | st.sampled_from(["1e9999999999", "-0", "0.001", "NaN", "Infinity", "1_000", " 5"])
header_text = st.text(max_size=12) | st.sampled_from(["\r\n", "a\nb", "é", "€", "Retry-After", "x" * 9000, ""])

NUMBER_FIELDS: list[tuple[str, str, str]] = [
    ("POST", "/_mockvps/clock/advance", "seconds"),
    ("POST", "/_mockvps/accounts/default/clock/advance", "seconds"),
    ("PATCH", "/_mockvps/accounts/default", "balance"),
    ("PATCH", "/_mockvps/accounts/default", "provisioning_delay"),
    ("PATCH", "/_mockvps/accounts/default", "action_delay"),
    ("POST", "/_mockvps/accounts", "balance"),
    ("POST", "/_mockvps/accounts", "provisioning_delay"),
    ("POST", "/_mockvps/faults", "times"),
    ("POST", "/_mockvps/faults", "seed"),
    ("POST", "/_mockvps/faults", "latency_ms"),
    ("POST", "/_mockvps/faults", "probability"),
    ("POST", "/_mockvps/faults", "status"),
    ("POST", "/_mockvps/accounts/default/servers", "id"),
    ("POST", "/_mockvps/accounts/default/servers", "plan_id"),
    ("PUT", "/_mockvps/accounts/default/servers/12345/usage", "memory_used"),
    ("PUT", "/_mockvps/accounts/default/servers/12345/usage", "cpu_percent"),
]
BASES: dict[str, dict[str, Any]] = {
    "/_mockvps/accounts": {"name": "fuzzed"},
    "/_mockvps/faults": {"status": 503, "times": 1, "path": "/api/v1/servers/12346/"},
    "/_mockvps/accounts/default/servers": {"name": "seeded", "plan_id": 1, "os_id": 5, "location": "us-west"},
    "/_mockvps/accounts/default/servers/12345/usage": {"cpu_percent": 5, "memory_used": 1, "disk_used": 1,
                                                      "bandwidth_used": 1},
}  # fmt: skip


def still_serving(client: TestClient) -> None:
    """Whatever was accepted, every reader of the mock still gets its answer."""
    for path, headers in (("/api/v1/servers/", AUTH), ("/api/v1/servers/12345/", AUTH), ("/_mockvps/state", {}),
                          ("/_mockvps/journal", {}), ("/_mockvps/faults", {}), ("/_mockvps/accounts", {}),
                          ("/_mockvps/clock", {}), ("/_mockvps/accounts/default/servers", {})):  # fmt: skip
        answer = client.get(path, headers=headers)
        # 401: an imported snapshot may hold other tokens; 404: or not server 12345
        assert answer.status_code in (200, 401, 404), (path, answer.status_code, answer.text[:300])
    assert client.post("/api/v1/servers/", json=CREATE, headers=AUTH).status_code in (201, 401, 402)


def refused_cleanly(answer: Any) -> bool:
    if answer.status_code != 400 or answer.headers["content-type"] != "application/json":
        return False
    body = answer.json()
    return isinstance(body, dict) and bool(body)


def fresh() -> MockApp:
    return create_app(Settings(), clock=VirtualClock())


def check(app: MockApp, method: str, path: str, content: bytes) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        before = export_state(app.state.backend)
        answer = client.request(method, path, content=content, headers={"Content-Type": "application/json"})
        assert answer.status_code < 500, (method, path, content[:200], answer.text[:300])
        if answer.status_code in ANSWERED:
            still_serving(client)
        else:
            assert refused_cleanly(answer), (method, path, content[:200], answer.status_code, answer.text[:300])
            assert export_state(app.state.backend) == before


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(target=st.sampled_from(NUMBER_FIELDS), value=numbers | decimals | st.lists(numbers, max_size=3))
def test_control_numbers_are_bounded_or_refused(target: tuple[str, str, str], value: object) -> None:
    method, path, field = target
    body = {**BASES.get(path, {}), field: value}
    check(fresh(), method, path, json.dumps(body).encode())


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(headers=st.dictionaries(header_text, header_text, max_size=3), status=st.sampled_from([200, 204, 304, 503]),
       body=st.none() | st.just({"detail": "x"}))  # fmt: skip
def test_fault_headers_are_sendable_or_refused(headers: dict[str, str], status: int, body: object) -> None:
    app = fresh()
    rule = {"path": "/api/v1/servers/12346/", "status": status, "headers": headers, "body": body}
    check(app, "POST", "/_mockvps/faults", json.dumps(rule).encode())
    with TestClient(app, raise_server_exceptions=False) as client:
        taken = client.get("/_mockvps/faults").json()
        faulted = client.get("/api/v1/servers/12346/", headers=AUTH)  # a rule that was taken is answered as given
        assert faulted.status_code == (status if taken else 200)


SNAPSHOT = export_state(create_app(Settings(), clock=VirtualClock()).state.backend)
PLACES = [
    ("clock", "offset_seconds"), ("accounts", 0, "balance"), ("accounts", 0, "next_id"),
    ("accounts", 0, "clock", "offset_seconds"), ("accounts", 0, "clock", "frozen_at"),
    ("accounts", 0, "servers", 0, "id"), ("accounts", 0, "servers", 0, "since"),
    ("accounts", 0, "servers", 0, "ssh_key_id"), ("accounts", 0, "servers", 0, "usage"),
    ("accounts", 0, "delays"), ("accounts", 0, "ssh_keys"), ("token_salt",), ("accounts", 0, "token_sha256"),
]  # fmt: skip
values = (
    numbers
    | decimals
    | st.none()
    | st.booleans()
    | st.lists(numbers, max_size=2)
    | st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2025-01-16T15:30:00", "zz", "", {"a": 1}])
)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(place=st.sampled_from(PLACES), value=values)
def test_snapshots_are_imported_whole_or_refused(place: tuple[str | int, ...], value: object) -> None:
    snapshot = copy.deepcopy(SNAPSHOT)
    holder: Any = snapshot
    for step in place[:-1]:
        holder = holder[step]
    holder[place[-1]] = value
    check(fresh(), "PUT", "/_mockvps/state", json.dumps(snapshot).encode())
