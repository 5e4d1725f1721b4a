"""Scoped tokens: permissions `<resource>:<action>`, 403 in DRF's words, and an order that never leaks a server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from mockvps.app import MockApp, create_app
from mockvps.clock import VirtualClock
from mockvps.persistence.snapshot import export_state
from mockvps.settings import Settings
from mockvps.testing import ControlClient, ControlError
from mockvps.tokens import ALL_PERMISSIONS, Token, allows, is_permission
from tests.conftest import CREATE

LIST = "/api/v1/servers/"
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
PUT = {"name": "renamed", "hostname": None, "backups_enabled": False}

# Every write operation of the Servers API, with a body it would accept.
WRITES = [
    ("POST", LIST, CREATE),
    ("PUT", LIST + "{id}/", PUT),
    ("PATCH", LIST + "{id}/", {"name": "renamed"}),
    ("DELETE", LIST + "{id}/", None),
    ("POST", LIST + "{id}/start/", None),
    ("POST", LIST + "{id}/stop/", None),
    ("POST", LIST + "{id}/reboot/", None),
]
READS = [("GET", LIST), ("GET", LIST + "{id}/"), ("HEAD", LIST), ("HEAD", LIST + "{id}/"), ("OPTIONS", LIST)]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": [
        {"name": "ops", "examples": True, "tokens": [
            {"token": "ops-read", "name": "Monitoring", "permissions": ["servers:read"]},
            {"token": "ops-write", "name": "Writer", "permissions": ["servers:write"]},
            {"token": "ops-servers", "name": "Deployments", "permissions": ["servers:*"]},
            {"token": "ops-dns", "name": "DNS", "permissions": ["dns:*", "domains:*", "ssh_keys:*"]},
            {"token": "ops-none", "name": "Nothing", "permissions": []},
            "ops-all",
        ]},
    ]}))  # fmt: skip
    return path


@pytest.fixture
def app(accounts_file: Path, clock: VirtualClock) -> MockApp:
    return create_app(Settings(accounts=accounts_file, provisioning_delay=0, action_delay=0), clock=clock)


@pytest.fixture
def client(app: MockApp) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


def call(
    client: TestClient, token: str, method: str, path: str, body: Any = None, server_id: int | str = 12345
) -> httpx2.Response:
    return client.request(method, path.format(id=server_id), headers=bearer(token), json=body)


def everything(app: MockApp) -> dict[str, Any]:
    return export_state(app.state.backend)


# -- what each permission allows -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_read_only_token_is_refused_every_write_with_403_and_nothing_changes(
    app: MockApp, client: TestClient, method: str, path: str, body: Any
) -> None:
    before = everything(app)
    response = call(client, "ops-read", method, path, body)
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert response.headers["content-type"] == "application/json"
    assert "WWW-Authenticate" not in response.headers  # 403 is not a request for credentials
    assert everything(app) == before


@pytest.mark.parametrize(("method", "path"), READS, ids=[f"{m} {p}" for m, p in READS])
def test_a_read_only_token_reads(client: TestClient, method: str, path: str) -> None:
    assert call(client, "ops-read", method, path).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_write_only_token_writes_and_may_not_read(client: TestClient, method: str, path: str, body: Any) -> None:
    server_id = call(client, "ops-all", "POST", LIST, CREATE).json()["id"]
    if path.endswith("/start/"):
        call(client, "ops-all", "POST", LIST + "{id}/stop/", server_id=server_id)
    response = call(client, "ops-write", method, path, body, server_id=server_id)
    assert response.status_code in (200, 201, 204), response.text
    assert (call(client, "ops-write", "GET", LIST).status_code, call(client, "ops-write", "GET", LIST).json()) == (
        403,
        FORBIDDEN,
    )


@pytest.mark.parametrize("token", ["ops-servers", "ops-all"])
def test_servers_star_and_star_star_may_do_everything(client: TestClient, token: str) -> None:
    server_id = call(client, token, "POST", LIST, CREATE).json()["id"]
    assert call(client, token, "GET", LIST + "{id}/", server_id=server_id).status_code == 200
    assert call(client, token, "POST", LIST + "{id}/reboot/", server_id=server_id).status_code == 200
    assert call(client, token, "DELETE", LIST + "{id}/", server_id=server_id).status_code == 204


@pytest.mark.parametrize("token", ["ops-dns", "ops-none"])
def test_permissions_for_other_resources_allow_nothing_here(client: TestClient, token: str) -> None:
    for method, path in READS:
        response = call(client, token, method, path)
        assert response.status_code == 403, (method, path)
    assert call(client, token, "GET", "/api/v1/account/me/").status_code == 200  # still allowed: any token


def test_wildcards_resolve_on_either_side() -> None:
    assert allows(["*:read"], "servers", "read") and not allows(["*:read"], "servers", "write")
    assert allows(["servers:*"], "servers", "write") and not allows(["dns:*"], "servers", "read")
    assert not allows([], "servers", "read")
    token = Token.resolve(b"d" * 32, "t", ["servers:read", "dns:*"])
    assert (token.reads_servers, token.writes_servers, token.permissions) == (True, False, ("servers:read", "dns:*"))
    assert ALL_PERMISSIONS == ("*:*",)
    for good in ("servers:read", "servers:*", "*:*", "ssh_keys:*", "*:write"):
        assert is_permission(good), good
    for bad in ("servers", "servers:", ":read", "Servers:read", "servers:read:x", "servers read", "**:*", " *:*"):
        assert not is_permission(bad), bad


# -- the order of refusals: 401, 403, 405, the body, 404 -------------------------------------------------------


def test_401_comes_before_403(client: TestClient) -> None:
    for token in (None, "no-such-token"):
        headers = bearer(token) if token else {}
        response = client.delete(f"{LIST}12345/", headers=headers)
        assert response.status_code == 401


def test_403_comes_before_405_and_the_body(client: TestClient) -> None:
    assert call(client, "ops-read", "PUT", LIST).json() == FORBIDDEN  # a wrong method, yet refused for scope
    assert call(client, "ops-all", "PUT", LIST).status_code == 405
    malformed = client.post(LIST, headers={**bearer("ops-read"), "Content-Type": "application/json"}, content=b"{")
    assert (malformed.status_code, malformed.json()) == (403, FORBIDDEN)
    form = client.post(LIST, headers={**bearer("ops-read"), "Content-Type": "text/plain"}, content=b"x")
    assert form.status_code == 403
    huge = client.post(LIST, headers={**bearer("ops-read"), "Content-Type": "application/json"},
                       content=b" " * (1024 * 1024 + 1))  # fmt: skip
    assert huge.status_code == 403


def test_a_403_never_tells_whether_a_server_exists(app: MockApp, client: TestClient) -> None:
    """Own, another account's, deleted, never existing, not an id at all: one and the same 403 for a read-only
    token; a token that may write meets the 404 every missing server gets, for another account's server too."""
    for _ in range(2):  # the default account's servers 12347 and 12348 (ids are counted per account)
        theirs = call(client, "mockvps-dev-token", "POST", LIST, CREATE).json()["id"]
    gone = call(client, "ops-all", "POST", LIST, CREATE).json()["id"]
    assert call(client, "ops-all", "DELETE", LIST + "{id}/", server_id=gone).status_code == 204
    assert (gone, theirs) == (12347, 12348) and list(app.state.backend.accounts["ops"].servers) == [12345, 12346]
    targets: list[int | str] = [12345, theirs, gone, 999999, "abc"]
    for method, path, body in WRITES[1:]:
        responses = [call(client, "ops-read", method, path, body, server_id=t) for t in targets]
        answers = {(r.status_code, r.content, tuple(sorted(r.headers.items()))) for r in responses}
        assert len(answers) == 1, (method, path, answers)
        assert next(iter(answers))[:2] == (403, json.dumps(FORBIDDEN, separators=(",", ":")).encode())
        for target in (theirs, gone, 999999):
            response = call(client, "ops-all", method, path, body, server_id=target)
            assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), (method, target)


def test_a_read_only_token_gets_404_for_another_account_s_server_as_for_none(client: TestClient) -> None:
    theirs = call(client, "mockvps-dev-token", "POST", LIST, CREATE).json()["id"]
    for server_id in (theirs, 999999):
        response = call(client, "ops-read", "GET", LIST + "{id}/", server_id=server_id)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


# -- tokens in the control API, snapshots and the store --------------------------------------------------------


def test_a_token_s_secret_is_shown_once_and_listings_never_show_secrets(app: MockApp, client: TestClient) -> None:
    control = ControlClient.for_app(app).scoped("ops")
    created = control.create_token(name="CI reader", permissions=["servers:read"])
    assert list(created) == ["name", "permissions", "token"]
    assert created["token"].startswith("mockvps-")
    assert call(client, created["token"], "GET", LIST).status_code == 200
    assert call(client, created["token"], "POST", LIST, CREATE).status_code == 403
    listed = control.tokens()
    assert listed[-1] == {"name": "CI reader", "permissions": ["servers:read"]}
    assert {"name": "Production API", "permissions": ["*:*"]} in listed
    shown = json.dumps([listed, control.info(), ControlClient.for_app(app).accounts(), everything(app)])
    for secret in (created["token"], "ops-read", "ops-all"):
        assert secret not in shown


def test_a_token_given_its_secret_and_a_default_token(app: MockApp, client: TestClient) -> None:
    control = ControlClient.for_app(app).scoped("ops")
    assert control.create_token(token="chosen-secret") == {
        "name": "Production API", "permissions": ["*:*"], "token": "chosen-secret",
    }  # fmt: skip
    assert call(client, "chosen-secret", "DELETE", LIST + "{id}/").status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [({"token": "ops-read"}, "token"), ({"token": "mockvps-dev-token"}, "token"), ({"permissions": ["servers"]}, "0"),
     ({"permissions": "servers:read"}, "permissions"), ({"name": ""}, "name"), ({"secret": "x"}, "secret")],
)  # fmt: skip
def test_a_bad_token_is_refused_and_changes_nothing(app: MockApp, body: dict[str, Any], field: str) -> None:
    control = ControlClient.for_app(app)
    before = control.export_state()
    with pytest.raises(ControlError) as refused:
        control._call("POST", "/accounts/ops/tokens", body)
    assert refused.value.status == 400
    assert field in refused.value.body
    assert control.export_state() == before


def test_an_account_is_created_with_scoped_tokens(app: MockApp, client: TestClient) -> None:
    control = ControlClient.for_app(app)
    account = control.create_account(tokens=["plain-secret", {"name": "RO", "permissions": ["servers:read"]}])
    plain, generated = account.tokens
    assert plain == "plain-secret" and generated.startswith("mockvps-")
    assert call(client, generated, "GET", LIST).status_code == 200
    assert call(client, generated, "POST", LIST, CREATE).status_code == 403
    assert call(client, plain, "POST", LIST, CREATE).status_code == 201
    assert control.scoped(account.name).tokens() == [
        {"name": "Production API", "permissions": ["*:*"]}, {"name": "RO", "permissions": ["servers:read"]},
    ]  # fmt: skip


def test_an_accounts_file_names_a_bad_permission(tmp_path: Path) -> None:
    from mockvps.errors import ConfigurationError

    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": [{"name": "x", "tokens": [{"token": "t", "permissions": ["read"]}]}]}))
    with pytest.raises(ConfigurationError) as refused:
        Settings(accounts=path).account_specs()
    assert refused.value.detail == (
        f"accounts file {path}: accounts[0].tokens[0].permissions[0]: expected a permission <resource>:<action> "
        "(servers:read, servers:write, servers:*, *:*)"
    )


def test_snapshots_keep_names_and_permissions_beside_salted_digests(app: MockApp, clock: VirtualClock) -> None:
    ControlClient.for_app(app).scoped("ops").create_token(name="Later", permissions=["servers:read"], token="later")
    snapshot = everything(app)
    ops = next(a for a in snapshot["accounts"] if a["name"] == "ops")
    salt = bytes.fromhex(snapshot["token_salt"])
    digest = hashlib.sha256(salt + b"ops-read").hexdigest()
    assert {"sha256": digest, "name": "Monitoring", "permissions": ["servers:read"]} in ops["token_sha256"]
    assert hashlib.sha256(salt + b"ops-all").hexdigest() in ops["token_sha256"]  # a plain one stays a plain digest
    assert ops["token_sha256"][-1]["name"] == "Later"
    restored = create_app(Settings(), clock=clock)
    with TestClient(restored) as client:
        assert client.put("/_mockvps/state", json=snapshot).status_code == 204
        assert everything(restored) == snapshot
        assert call(client, "later", "GET", LIST).status_code == 200
        assert call(client, "later", "DELETE", LIST + "{id}/").json() == FORBIDDEN
        assert call(client, "ops-all", "GET", "/api/v1/account/me/").json()["token"]["name"] == "Production API"


def test_tokens_made_at_run_time_survive_a_restart_of_the_data_dir(tmp_path: Path, accounts_file: Path) -> None:
    settings = Settings(accounts=accounts_file, data_dir=tmp_path / "data")
    app = create_app(settings, clock=VirtualClock())
    ControlClient.for_app(app).scoped("ops").create_token(name="Later", permissions=["servers:read"], token="later")
    app.close()
    again = create_app(settings, clock=VirtualClock())
    with TestClient(again) as client:
        assert call(client, "later", "GET", "/api/v1/account/me/").json()["token"] == {
            "name": "Later", "permissions": ["servers:read"],
        }  # fmt: skip
        assert call(client, "later", "POST", LIST, CREATE).status_code == 403
        assert call(client, "ops-read", "POST", LIST, CREATE).status_code == 403
    again.close()


def test_a_reset_account_keeps_its_tokens(app: MockApp, client: TestClient) -> None:
    control = ControlClient.for_app(app).scoped("ops")
    control.create_token(name="Later", permissions=["servers:read"], token="later")
    control.reset()
    assert call(client, "later", "POST", LIST, CREATE).status_code == 403
    assert call(client, "ops-all", "POST", LIST, CREATE).status_code == 201


# -- the pytest plugin -----------------------------------------------------------------------------------------


def test_a_marker_gives_the_test_s_token_its_scope(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        CREATE = {"name": "web", "plan_id": 1, "os_id": 5, "location": "us-west"}


        @pytest.mark.mockvps(permissions=["servers:read"], token_name="Monitoring")
        def test_read_only(mockvps):
            with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers) as api:
                assert api.get("servers/").status_code == 200
                refused = api.post("servers/", json=CREATE)
                assert refused.status_code == 403
                assert refused.json() == {"detail": "You do not have permission to perform this action."}
                me = api.get("account/me/").json()["token"]
                assert me == {"name": "Monitoring", "permissions": ["servers:read"]}


        def test_everything_by_default(mockvps):
            with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers) as api:
                assert api.get("account/me/").json()["token"]["permissions"] == ["*:*"]
                assert api.post("servers/", json=CREATE).status_code == 201


        def test_a_second_token_of_another_scope(mockvps):
            reader = mockvps.control.create_token(permissions=["servers:read"])["token"]
            with httpx.Client(base_url=mockvps.api_url, headers={"Authorization": f"Bearer {reader}"}) as api:
                assert api.delete("servers/12347/").status_code == 403
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
