"""The control API under /_mockvps/, through mockvps.testing's client, in process."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mockvps.app import MockApp, create_app
from mockvps.clock import VirtualClock
from mockvps.settings import Settings
from mockvps.testing import ControlClient, ControlError
from tests.conftest import AUTH, CREATE

SERVERS = "/api/v1/servers/"


@pytest.fixture
def control(app: MockApp) -> ControlClient:
    return ControlClient.for_app(app)


def api_as(client: TestClient, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- accounts ---------------------------------------------------------------------------------------------------


def test_a_fresh_account_is_isolated_and_gets_its_own_token(control: ControlClient, client: TestClient) -> None:
    account = control.create_account()
    assert account.name.startswith("account-") and account.token.startswith("mockvps-")
    mine = api_as(client, account.token)
    assert client.get(SERVERS, headers=mine).json() == {"count": 0, "results": []}
    created = client.post(SERVERS, json=CREATE, headers=mine).json()
    assert created["id"] == 12347
    assert client.get(f"{SERVERS}{created['id']}/").status_code == 404  # the default account does not see it
    assert [s["id"] for s in client.get(SERVERS).json()["results"]] == [12345, 12346]


def test_accounts_are_listed_without_tokens(control: ControlClient) -> None:
    control.create_account(name="ci-1", balance="50.00", mode="manual")
    listed = {a["name"]: a for a in control.accounts()}
    assert set(listed) == {"default", "ci-1"}
    assert listed["ci-1"]["balance"] == "50.00" and listed["ci-1"]["mode"] == "manual"
    assert "tokens" not in listed["ci-1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "default"}, "name"),
        ({"name": "has space"}, "name"),
        ({"tokens": []}, "tokens"),
        ({"tokens": ["mockvps-dev-token"]}, "non_field_errors"),
        ({"balance": "-1"}, "balance"),
        ({"mode": "sometimes"}, "mode"),
        ({"provisioning_delay": -1}, "provisioning_delay"),
        ({"catalog": {"plans": []}}, "catalog"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_account_is_refused_and_changes_nothing(control: ControlClient, body: dict[str, Any], field: str) -> None:
    before = control.export_state()
    with pytest.raises(ControlError) as refused:
        control.create_account(**body)
    assert refused.value.status == 400
    assert field in refused.value.body
    assert control.export_state() == before


def test_deleting_an_account_removes_its_tokens_servers_and_addresses(
    control: ControlClient, client: TestClient, clock: VirtualClock
) -> None:
    account = control.create_account(mode="immediate")
    client.post(SERVERS, json=CREATE, headers=api_as(client, account.token))
    control.scoped(account.name).delete_account()
    assert client.get(SERVERS, headers=api_as(client, account.token)).status_code == 401
    with pytest.raises(ControlError) as missing:
        control.scoped(account.name).info()
    assert missing.value.status == 404
    other = control.create_account(mode="immediate")
    server = client.post(SERVERS, json=CREATE, headers=api_as(client, other.token)).json()
    detail = client.get(f"{SERVERS}{server['id']}/", headers=api_as(client, other.token)).json()
    assert detail["ip_address"] == "203.0.113.1"  # the deleted account's address was freed


def test_updating_an_account_changes_balance_mode_and_delays(control: ControlClient, client: TestClient) -> None:
    account = control.create_account()
    mine = control.scoped(account.name)
    info = mine.update(balance="0", provisioning_delay=5, action_delay=2)
    assert (info["balance"], info["provisioning_delay"], info["action_delay"]) == ("0", 5.0, 2.0)
    assert client.post(SERVERS, json=CREATE, headers=api_as(client, account.token)).status_code == 402
    with pytest.raises(ControlError):
        mine.update(mode="never")


# -- state ------------------------------------------------------------------------------------------------------


def test_reset_brings_back_the_start(control: ControlClient, client: TestClient) -> None:
    client.post(SERVERS, json=CREATE)
    client.delete(f"{SERVERS}12345/")
    extra = control.create_account()
    control.add_fault(status=503)
    control.reset()
    assert control.faults() == [] and control.journal() == []
    assert [s["id"] for s in client.get(SERVERS).json()["results"]] == [12345, 12346]
    assert extra.name not in {a["name"] for a in control.accounts()}


def test_resetting_one_account_leaves_the_others(control: ControlClient, client: TestClient) -> None:
    account = control.create_account(balance="100")
    mine = api_as(client, account.token)
    client.post(SERVERS, json=CREATE, headers=mine)
    client.post(SERVERS, json=CREATE)
    control.scoped(account.name).reset()
    info = control.scoped(account.name).info()
    assert (info["servers"], info["balance"]) == (0, "100")
    assert client.get(SERVERS).json()["count"] == 3
    assert client.post(SERVERS, json=CREATE, headers=mine).json()["id"] == 12347


def test_export_and_import_round_trip(control: ControlClient, client: TestClient, clock: VirtualClock) -> None:
    client.post(SERVERS, json=CREATE)
    client.post(f"{SERVERS}12345/stop/")
    snapshot = control.export_state()
    assert "mockvps-dev-token" not in json.dumps(snapshot)  # tokens only as digests
    everything = [client.get(f"{SERVERS}{i}/").json() for i in (12345, 12346, 12347)]
    control.reset()
    control.import_state(snapshot)
    assert control.export_state() == snapshot
    assert [client.get(f"{SERVERS}{i}/").json() for i in (12345, 12346, 12347)] == everything
    assert client.post(SERVERS, json=CREATE).json()["id"] == 12348


@pytest.mark.parametrize(
    ("spoil", "complaint"),
    [
        (lambda s: s.update(version=99), "snapshot.version"),
        (lambda s: s["accounts"][0]["servers"][0].update(status="broken"), "servers[0].status"),
        (lambda s: s["accounts"][0]["servers"][1].update(ipv4="203.0.113.10"), "servers[1].ipv4"),
        (lambda s: s["accounts"][0]["servers"][0].update(plan_id=99), "servers[0].plan_id"),
        (lambda s: s["accounts"][0].update(token_sha256=["zz"]), "token_sha256"),
        (lambda s: s["accounts"][0].update(balance="lots"), "balance"),
        (lambda s: s["accounts"][0]["servers"][0].update(created_at="yesterday"), "created_at"),
        (lambda s: s["accounts"].append(dict(s["accounts"][0])), "defined twice"),
        (lambda s: s["accounts"].append({**s["accounts"][0], "name": "copy", "servers": []}), "already in use"),
        (lambda s: s["accounts"][0]["servers"][0].update(plan_id=True), "servers[0].plan_id: expected an integer"),
        (lambda s: s["accounts"][0]["servers"][0].update(colour="red"), "servers[0].colour: unknown key"),
        (
            lambda s: s["accounts"][0].update(delays={"provisioning": 1e20, "action": 1}),
            "accounts[0].delays.provisioning: expected a number <= 31536000",
        ),  # was an overflow, answered 500
    ],
)
def test_a_bad_snapshot_is_refused_clearly_and_changes_nothing(
    control: ControlClient, client: TestClient, spoil: Callable[[dict[str, Any]], object], complaint: str
) -> None:
    snapshot = control.export_state()
    spoil(snapshot)
    client.post(SERVERS, json=CREATE)
    before = control.export_state()
    with pytest.raises(ControlError) as refused:
        control.import_state(snapshot)
    assert refused.value.status == 400
    assert complaint in refused.value.body["snapshot"][0]
    assert control.export_state() == before


def test_an_account_can_be_exported_alone(control: ControlClient) -> None:
    account = control.create_account()
    exported = control.scoped(account.name).export_state()
    assert [a["name"] for a in exported["accounts"]] == [account.name]


def test_serve_can_start_from_a_state_file(tmp_path: Path, control: ControlClient, client: TestClient) -> None:
    client.post(SERVERS, json=CREATE)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(control.export_state()))
    restored = create_app(Settings(state=path), clock=VirtualClock())
    with TestClient(restored, headers=AUTH) as other:
        assert [s["id"] for s in other.get(SERVERS).json()["results"]] == [12345, 12346, 12347]


# -- time -------------------------------------------------------------------------------------------------------


def test_advancing_the_mock_clock_moves_every_account(control: ControlClient, client: TestClient) -> None:
    start = control.clock().now
    created = client.post(SERVERS, json=CREATE).json()
    state = control.advance(timedelta(minutes=3))
    assert state.now - start == timedelta(minutes=3) and state.offset == timedelta(minutes=3)
    assert client.get(f"{SERVERS}{created['id']}/").json()["status"] == "active"


def test_an_account_clock_moves_that_account_only(control: ControlClient, client: TestClient) -> None:
    account = control.create_account()
    mine = api_as(client, account.token)
    theirs = client.post(SERVERS, json=CREATE).json()["id"]
    ours = client.post(SERVERS, json=CREATE, headers=mine).json()["id"]
    control.scoped(account.name).advance(3600)
    assert client.get(f"{SERVERS}{ours}/", headers=mine).json()["status"] == "active"
    assert client.get(f"{SERVERS}{theirs}/").json()["status"] == "provisioning"


def test_a_frozen_clock_stands_still_until_unfrozen(app: MockApp, control: ControlClient, clock: VirtualClock) -> None:
    frozen = control.freeze()
    clock.advance(100)  # the wall clock goes on
    assert control.clock().now == frozen.now and control.clock().frozen
    control.advance(10)
    assert control.clock().now == frozen.now + timedelta(seconds=10)
    running = control.unfreeze()
    assert running.now == frozen.now + timedelta(seconds=10) and not running.frozen
    clock.advance(5)
    assert control.clock().now == frozen.now + timedelta(seconds=15)


@pytest.mark.parametrize("seconds", [-1, "soon", None])
def test_a_clock_cannot_go_backwards_or_by_nonsense(control: ControlClient, seconds: object) -> None:
    before = control.clock()
    with pytest.raises(ControlError) as refused:
        control._call("POST", "/clock/advance", {"seconds": seconds})
    assert refused.value.status == 400
    assert control.clock() == before


# -- transition modes and operator actions ----------------------------------------------------------------------


def test_immediate_mode_settles_at_once(control: ControlClient, client: TestClient) -> None:
    account = control.create_account(mode="immediate")
    mine = api_as(client, account.token)
    created = client.post(SERVERS, json=CREATE, headers=mine).json()
    assert created["status"] == "provisioning"
    assert client.get(f"{SERVERS}{created['id']}/", headers=mine).json()["status"] == "active"


def test_manual_mode_moves_only_when_advanced(control: ControlClient, client: TestClient) -> None:
    account = control.create_account(mode="manual")
    mine, scoped = api_as(client, account.token), control.scoped(account.name)
    server_id = client.post(SERVERS, json=CREATE, headers=mine).json()["id"]
    scoped.advance(10**6)
    assert client.get(f"{SERVERS}{server_id}/", headers=mine).json()["status"] == "provisioning"
    advanced = scoped.advance_server(server_id)
    assert advanced is not None and advanced["status"] == "active"
    with pytest.raises(ControlError) as refused:
        scoped.advance_server(server_id)
    assert refused.value.status == 400 and "not in transition" in refused.value.body["detail"]


def test_suspend_and_unsuspend(control: ControlClient, client: TestClient) -> None:
    default = control.scoped("default")
    assert default.suspend(12345)["status"] == "suspended"
    assert client.post(f"{SERVERS}12345/start/").json() == {"detail": "Server is suspended."}
    assert client.get(SERVERS, params={"status": "suspended"}).json()["count"] == 1
    assert default.unsuspend(12345)["status"] == "stopped"
    with pytest.raises(ControlError) as refused:
        default.unsuspend(12345)
    assert refused.value.status == 400


def test_usage_can_be_set_and_cleared(control: ControlClient, client: TestClient) -> None:
    default = control.scoped("default")
    set_to = default.set_usage(12346, cpu_percent=99.5, memory_used=8000, disk_used=150, bandwidth_used=4000)
    assert set_to["resource_usage"] == {"cpu_percent": 99.5, "memory_used": 8000, "disk_used": 150,
                                        "bandwidth_used": 4000}  # fmt: skip
    assert client.get(f"{SERVERS}12346/").json()["resource_usage"]["cpu_percent"] == 99.5
    assert default.clear_usage(12346)["resource_usage"]["cpu_percent"] != 99.5
    with pytest.raises(ControlError):
        default._call("PUT", "/accounts/default/servers/12346/usage", {"cpu_percent": "high"})


def test_a_provisioning_arranged_to_fail_ends_with_the_server_gone_and_refunded(
    control: ControlClient, client: TestClient
) -> None:
    account = control.create_account(balance="12.00")
    mine, scoped = api_as(client, account.token), control.scoped(account.name)
    scoped.fail_next_provisioning()
    server_id = client.post(SERVERS, json=CREATE, headers=mine).json()["id"]
    assert client.get(f"{SERVERS}{server_id}/", headers=mine).json()["status"] == "provisioning"
    scoped.advance(3600)
    assert client.get(f"{SERVERS}{server_id}/", headers=mine).status_code == 404
    assert scoped.info()["balance"] == "12.00"
    second = client.post(SERVERS, json=CREATE, headers=mine).json()["id"]  # only the next one failed
    scoped.advance(3600)
    assert client.get(f"{SERVERS}{second}/", headers=mine).json()["status"] == "active"


def test_a_provisioning_arranged_to_hang_waits_for_an_operator(control: ControlClient, client: TestClient) -> None:
    account = control.create_account()
    mine, scoped = api_as(client, account.token), control.scoped(account.name)
    scoped.hang_next_provisioning()
    server_id = client.post(SERVERS, json=CREATE, headers=mine).json()["id"]
    scoped.advance(10**6)
    assert client.get(f"{SERVERS}{server_id}/", headers=mine).json()["status"] == "provisioning"
    advanced = scoped.advance_server(server_id)
    assert advanced is not None and advanced["status"] == "active"


def test_seeded_servers_start_in_the_status_asked(control: ControlClient, client: TestClient) -> None:
    account = control.create_account(balance="0")
    mine, scoped = api_as(client, account.token), control.scoped(account.name)
    seeded = scoped.seed_server(id=500, name="db", plan_id=2, os_id=3, location="us-east", status="stopped")
    assert (seeded["id"], seeded["status"], seeded["ip_address"] is not None) == (500, "stopped", True)
    assert client.post(f"{SERVERS}500/start/", headers=mine).status_code == 200
    assert scoped.info()["balance"] == "0"  # free of charge
    assert client.post(SERVERS, json=CREATE, headers=mine).status_code == 402
    with pytest.raises(ControlError) as refused:
        scoped.seed_server(id=500, name="again", plan_id=2, os_id=3, location="us-east")
    assert refused.value.status == 400
    with pytest.raises(ControlError):
        scoped.seed_server(name="x", plan_id=9, os_id=3, location="us-east")


# -- faults -----------------------------------------------------------------------------------------------------


def test_a_fault_answers_with_status_body_and_headers_a_limited_number_of_times(
    control: ControlClient, client: TestClient
) -> None:
    rule = control.add_fault(operation="createServer", status=429, body={"detail": "Slow down."},
                             headers={"Retry-After": "2"}, times=2)  # fmt: skip
    for _ in range(2):
        refused = client.post(SERVERS, json=CREATE)
        assert (refused.status_code, refused.json(), refused.headers["retry-after"]) == (
            429,
            {"detail": "Slow down."},
            "2",
        )
    assert client.post(SERVERS, json=CREATE).status_code == 201
    assert client.get(SERVERS).json()["count"] == 3  # the faulted requests changed nothing
    assert control.faults()[0]["matched"] == 2 and control.faults()[0]["times"] == 0
    control.remove_fault(rule["id"])
    assert control.faults() == []


def test_faults_match_method_path_and_account(control: ControlClient, client: TestClient) -> None:
    account = control.create_account()
    control.scoped(account.name).add_fault(method="GET", path="/api/v1/servers/*/", status=503)
    assert client.get(f"{SERVERS}12345/").status_code == 200  # another account
    mine = api_as(client, account.token)
    assert client.get(SERVERS, headers=mine).status_code == 200  # another path
    assert client.get(f"{SERVERS}1/", headers=mine).status_code == 503


def test_probability_is_seeded_and_deterministic(control: ControlClient, client: TestClient) -> None:
    def pattern() -> list[int]:
        control.clear_faults()
        control.add_fault(method="GET", status=500, probability=0.5, seed=7)
        return [client.get(SERVERS).status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert 0 < first.count(500) < 20


def test_latency_delays_the_answer(control: ControlClient, client: TestClient) -> None:
    import time

    control.add_fault(method="GET", latency_ms=[50, 60])
    started = time.monotonic()
    assert client.get(SERVERS).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_a_dropped_connection_gives_no_answer(control: ControlClient, client: TestClient) -> None:
    from mockvps.shared.faults import DropConnection

    control.add_fault(method="GET", drop=True, times=1)
    with pytest.raises(DropConnection):
        client.get(SERVERS)
    assert client.get(SERVERS).status_code == 200


@pytest.mark.parametrize(
    "rule",
    [{"status": 99}, {"probability": 0}, {"latency_ms": [5, 1]}, {"drop": True, "status": 500}, {"method": "FETCH"},
     {"times": 0}, {"colour": 1}],
)  # fmt: skip
def test_a_bad_fault_rule_is_refused(control: ControlClient, rule: dict[str, Any]) -> None:
    with pytest.raises(ControlError) as refused:
        control.add_fault(**rule)
    assert refused.value.status == 400
    assert control.faults() == []


# -- journal ----------------------------------------------------------------------------------------------------


def test_the_journal_records_every_public_request(control: ControlClient, client: TestClient) -> None:
    client.get(SERVERS, params={"status": "active"})
    client.post(SERVERS, json={**CREATE, "name": "journaled"})
    client.get(f"{SERVERS}999/")
    newest, created, listed = control.journal()
    assert (newest["method"], newest["path"], newest["status"]) == ("GET", f"{SERVERS}999/", 404)
    assert (created["operation"], created["body"]["name"], created["status"], created["account"]) == (
        "createServer", "journaled", 201, "default",
    )  # fmt: skip
    assert listed["query"] == "status=active"
    assert control.journal_count(method="POST") == 1
    assert control.journal_count(status=404) == 1
    assert control.journal_count(path="/api/v1/servers/*/") == 1
    assert "mockvps-dev-token" not in json.dumps(control.journal())
    control.clear_journal()
    assert control.journal_count() == 0


def test_the_journal_is_bounded(clock: VirtualClock) -> None:
    app = create_app(Settings(journal_size=5), clock=clock)
    with TestClient(app, headers=AUTH) as client:
        for _ in range(12):
            client.get(SERVERS)
        assert len(ControlClient.for_app(app).journal()) == 5


def test_an_account_sees_its_own_journal(control: ControlClient, client: TestClient) -> None:
    account = control.create_account()
    client.get(SERVERS, headers=api_as(client, account.token))
    client.get(SERVERS)
    mine = control.scoped(account.name)
    assert [e["account"] for e in mine.journal()] == [account.name]
    assert mine.journal_count() == 1


# -- protection -------------------------------------------------------------------------------------------------


def test_an_admin_token_protects_every_control_call_but_health(clock: VirtualClock) -> None:
    app = create_app(Settings(admin_token="s3cret"), clock=clock)
    with TestClient(app) as client:
        assert client.get("/_mockvps/health").status_code == 200
        assert client.get("/_mockvps/accounts").status_code == 401
        assert client.get("/_mockvps/accounts", headers={"Authorization": "Bearer wrong"}).json() == {
            "detail": "Invalid token."
        }
        assert client.post("/_mockvps/reset", headers=AUTH).status_code == 401  # an account token is no admin
        assert ControlClient.for_app(app, admin_token="s3cret").accounts()


def test_the_control_document_is_committed_and_apart_from_the_contract() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    control_doc = json.loads((root / "openapi" / "control.json").read_text())
    contract_doc = json.loads((root / "openapi" / "openapi.json").read_text())
    assert all(p.startswith("/_mockvps/") for p in control_doc["paths"])
    assert not any(p.startswith("/_mockvps") for p in contract_doc["paths"])
    assert '"422"' not in json.dumps(control_doc)


def test_control_routes_need_no_token_of_an_account(anon: TestClient) -> None:
    assert anon.get("/_mockvps/accounts").status_code == 200


def test_unused(control: ControlClient) -> None:
    assert control.health()


def test_unknown_things_are_404(control: ControlClient) -> None:
    calls: list[Callable[[], object]] = [
        lambda: control.remove_fault(99),
        lambda: control.scoped("nobody").info(),
        lambda: control.scoped("nobody").advance(1),
        lambda: control.scoped("default").suspend(1),
    ]
    for call in calls:
        with pytest.raises(ControlError) as missing:
            call()
        assert missing.value.status == 404


def test_a_bad_journal_query_is_400(control: ControlClient) -> None:
    with pytest.raises(ControlError) as refused:
        control._call("GET", "/journal", params={"status": "teapot"})
    assert refused.value.status == 400 and "status" in refused.value.body


def test_an_account_s_servers_show_their_next_transition(control: ControlClient, client: TestClient) -> None:
    created = client.post(SERVERS, json=CREATE).json()
    states = {s["id"]: s for s in control._call("GET", "/accounts/default/servers")}
    assert (states[12345]["next_status"], states[12345]["next_at"]) == (None, None)
    mine = states[created["id"]]
    assert mine["status"] == "provisioning" and mine["next_status"] == "active"
    assert mine["next_at"] == "2025-01-16T15:33:00Z"  # created at 15:30:00, provisioning takes 180 s here
    control.scoped("default").update(mode="manual")
    manual = {s["id"]: s for s in control._call("GET", "/accounts/default/servers")}[created["id"]]
    assert (manual["next_status"], manual["next_at"]) == ("active", None)


def test_the_journal_keeps_the_answer(control: ControlClient, client: TestClient) -> None:
    client.get(f"{SERVERS}999/")
    (entry,) = control.journal()
    assert entry["answer"] == {"detail": "Not found."}


def test_the_dashboard_page_is_served_and_its_data_is_protected(clock: VirtualClock) -> None:
    app = create_app(Settings(admin_token="s3cret"), clock=clock)
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/_mockvps/ui").headers["location"] == "/_mockvps/ui/"
        page = client.get("/_mockvps/ui/")
        assert page.status_code == 200 and "mockvps dashboard" in page.text
        assert client.get("/_mockvps/ui/dashboard.js").status_code == 200
        assert client.get("/_mockvps/accounts/default/servers").status_code == 401
        assert client.get("/_mockvps/journal").status_code == 401


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/_mockvps/docs"])
def test_documentation_pages_load_their_assets_from_the_mock(anon: TestClient, page: str) -> None:
    import re

    html = anon.get(page).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/_mockvps/assets/") for s in sources), sources
    assert all(anon.get(s).status_code == 200 for s in sources)
