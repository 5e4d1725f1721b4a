"""Answers that must never be 500: hostile numbers, bodies and paths against a real `mockvps serve`.

Each test is the attack that once broke the mock. Whatever is refused is refused with 400 or 404 in the
contract's error format, and leaves the state as it was; the mock keeps answering everybody afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import AUTH, CREATE
from tests.test_cli import Served

SERVERS = "/api/v1/servers/"


@pytest.fixture(scope="module")
def mock() -> Iterator[httpx.Client]:
    server = Served("--provisioning-delay", "0", "--log-level", "warning")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
    server.stop()


def state(mock: httpx.Client) -> object:
    whole = mock.get("/_mockvps/state").json()
    whole.pop("clock")  # the mock's clock runs with the wall clock; offsets are compared where they matter
    for account in whole["accounts"]:
        account["clock"].pop("frozen_at")
    return whole


def still_serving(mock: httpx.Client) -> None:
    answer = mock.get(SERVERS, headers=AUTH)
    assert answer.status_code == 200, answer.text


def assert_refused(answer: httpx.Response, status: int = 400) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert isinstance(answer.json(), dict)


@pytest.mark.parametrize("seconds", [1e10, 1e300, 3.2e9])
def test_a_clock_cannot_be_moved_beyond_a_century(mock: httpx.Client, seconds: float) -> None:
    before = mock.get("/_mockvps/clock").json()["offset_seconds"]
    for path in ("/_mockvps/clock/advance", "/_mockvps/accounts/default/clock/advance"):
        assert_refused(mock.post(path, json={"seconds": seconds}))
    assert mock.get("/_mockvps/clock").json()["offset_seconds"] == before
    still_serving(mock)


def test_a_century_is_reached_in_steps_and_not_passed(mock: httpx.Client) -> None:
    mock.post("/_mockvps/accounts", json={"name": "traveller"})
    assert mock.post("/_mockvps/accounts/traveller/clock/advance", json={"seconds": 3e9}).status_code == 200
    refused = mock.post("/_mockvps/accounts/traveller/clock/advance", json={"seconds": 3e9})
    assert_refused(refused)
    assert refused.json()["seconds"][0].startswith("Refused: a clock runs at most 36525 days ahead")
    assert mock.get("/_mockvps/accounts/traveller/clock").json()["offset_seconds"] == 3e9
    mock.delete("/_mockvps/accounts/traveller")
    still_serving(mock)


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "web", "plan_id": 1, "os_id": 5, "location": "us-west", "extra": 123456789012345678901234567890}',
        b'{"name": "web", "plan_id": 1, "os_id": 5, "location": "us-west", "extra": NaN}',
        b'{"name": "web", "plan_id": 1, "os_id": 5, "location": "us-west", "extra": "\\ud800"}',
        b'{"name": ' + b"[" * 300 + b"]" * 300 + b"}",
    ],
    ids=["integer beyond 64 bits", "NaN", "lone surrogate", "300 levels deep"],
)
def test_no_request_can_poison_the_journal(mock: httpx.Client, body: bytes) -> None:
    sent = mock.post(SERVERS, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert sent.status_code in (201, 400)
    journal = mock.get("/_mockvps/journal", params={"limit": 1})
    assert journal.status_code == 200, journal.text
    entry = journal.json()[0]
    assert entry["body"] == body.decode()  # kept, and shown as text where JSON would not survive
    if sent.status_code == 201:
        mock.delete(f"{SERVERS}{sent.json()['id']}/", headers=AUTH)


def test_an_id_of_thousands_of_digits_is_404(mock: httpx.Client) -> None:
    for digits in (20, 4301, 8000):
        answer = mock.get(f"{SERVERS}{'9' * digits}/", headers=AUTH)
        assert_refused(answer, 404)
    assert_refused(mock.get(f"{SERVERS}{'9' * 10_000}/", headers=AUTH), 414)  # past the URL limit, at the socket


def test_a_redirect_from_a_path_of_any_script_is_percent_encoded(mock: httpx.Client) -> None:
    answer = mock.get("/api/v1/servers/%E2%82%AC")  # no token: the redirect comes first, as in Django
    assert answer.status_code == 301
    assert answer.headers["location"] == "/api/v1/servers/%E2%82%AC/"
    followed = mock.get(answer.headers["location"], headers=AUTH)
    assert_refused(followed, 404)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_mockvps/accounts", {"name": "slow", "provisioning_delay": 1e300}),
        ("/_mockvps/accounts", {"name": "rich", "balance": "1e9999999999"}),
        ("/_mockvps/accounts", {"name": "keys", "ssh_keys": [{"id": 2**70, "name": "big"}]}),
        ("/_mockvps/accounts/default/servers", {"id": 2**63, "name": "far", "plan_id": 1, "os_id": 5,
                                                "location": "us-west"}),
        ("/_mockvps/faults", {"status": 503, "headers": {"Retry-After": "1\r\nSet-Cookie: x=1"}}),
        ("/_mockvps/faults", {"status": 503, "headers": {"Grüße": "1"}}),
        ("/_mockvps/faults", {"status": 503, "headers": {"Content-Length": "5"}}),
        ("/_mockvps/faults", {"status": 503, "headers": {"X-Note": "€"}}),
        ("/_mockvps/faults", {"status": 503, "headers": {"X-Note": "é"}}),
        ("/_mockvps/faults", {"status": 204, "body": {"detail": "none"}}),
        ("/_mockvps/faults", {"status": 503, "times": 2**70}),
        ("/_mockvps/faults", {"status": 503, "seed": 2**70}),
    ],
)  # fmt: skip
def test_control_numbers_and_headers_have_bounds(mock: httpx.Client, path: str, body: dict[str, object]) -> None:
    before = state(mock)
    faults = mock.get("/_mockvps/faults").json()
    assert_refused(mock.post(path, json=body))
    assert state(mock) == before
    assert mock.get("/_mockvps/faults").json() == faults
    still_serving(mock)


def test_a_patch_with_one_bad_number_changes_nothing(mock: httpx.Client) -> None:
    before = mock.get("/_mockvps/accounts/default").json()
    refused = mock.patch("/_mockvps/accounts/default", json={"balance": "5", "mode": "manual", "action_delay": 1e15})
    assert_refused(refused)
    assert mock.get("/_mockvps/accounts/default").json() == before
    usage = {"cpu_percent": 5, "memory_used": 2**70, "disk_used": 1, "bandwidth_used": 1}
    assert_refused(mock.put("/_mockvps/accounts/default/servers/12345/usage", json=usage))
    still_serving(mock)


def test_a_seeded_id_leaves_room_for_the_ids_after_it(mock: httpx.Client) -> None:
    mock.post("/_mockvps/accounts", json={"name": "seeded", "tokens": ["seeded-token"]})
    seed = {"id": 10**12, "name": "last", "plan_id": 1, "os_id": 5, "location": "us-west"}
    assert mock.post("/_mockvps/accounts/seeded/servers", json=seed).status_code == 201
    created = mock.post(SERVERS, json=CREATE, headers={"Authorization": "Bearer seeded-token"})
    assert created.status_code == 201
    assert (
        mock.get(f"{SERVERS}{created.json()['id']}/", headers={"Authorization": "Bearer seeded-token"}).status_code
        == 200
    )
    mock.delete("/_mockvps/accounts/seeded")


def test_an_account_s_ssh_key_ids_are_distinct(mock: httpx.Client) -> None:
    keys = [{"id": 7, "name": "deploy"}, {"id": 7, "name": "again"}]
    refused = mock.post("/_mockvps/accounts", json={"name": "twice", "ssh_keys": keys})
    assert_refused(refused)
    assert mock.get("/_mockvps/accounts/twice").status_code == 404
