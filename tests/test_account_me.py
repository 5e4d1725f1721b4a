"""`GET /api/v1/account/me/`: the account's profile and the calling token's name and permissions, for any token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mockvps import examples
from mockvps.app import MockApp, create_app
from mockvps.backend import DEFAULT_PROFILE
from mockvps.clock import VirtualClock
from mockvps.errors import ConfigurationError
from mockvps.persistence.snapshot import export_state
from mockvps.settings import Settings
from mockvps.testing import ControlClient, ControlError
from tests.conftest import AUTH

ME = "/api/v1/account/me/"

# Tokens of every kind of scope, all of one account "ci".
SCOPED = [
    ("ci-all", "CI admin", ["*:*"]),
    ("ci-servers", "Deployments", ["servers:*"]),
    ("ci-read", "Monitoring", ["servers:read"]),
    ("ci-write", "Writer", ["servers:write"]),
    ("ci-dns", "DNS robot", ["dns:*", "domains:*"]),
    ("ci-none", "Nothing at all", []),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.json"
    tokens: list[Any] = [{"token": t, "name": n, "permissions": p} for t, n, p in SCOPED]
    path.write_text(json.dumps({"accounts": [{
        "name": "ci", "tokens": [*tokens, "ci-plain"],
        "profile": {"email": "ci@example.org", "first_name": "Ada", "company_name": "CI Ltd.",
                    "created_at": "2023-02-01"},
    }]}))  # fmt: skip
    return path


@pytest.fixture
def scoped_app(accounts_file: Path) -> MockApp:
    return create_app(Settings(accounts=accounts_file), clock=VirtualClock())


def test_the_default_token_answers_the_documentation_s_example_with_its_own_permissions(client: TestClient) -> None:
    response = client.get(ME)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {**examples.ACCOUNT_ME, "token": {"name": "Production API", "permissions": ["*:*"]}}
    assert list(body) == ["account", "token"]
    assert list(body["account"]) == ["email", "first_name", "last_name", "company_name", "created_at"]
    assert body["account"]["created_at"] == "2024-06-15"  # a plain date, not a timestamp


@pytest.mark.parametrize(("token", "name", "permissions"), SCOPED)
def test_any_valid_token_may_call_it_whatever_its_scope(
    scoped_app: MockApp, token: str, name: str, permissions: list[str]
) -> None:
    with TestClient(scoped_app) as client:
        response = client.get(ME, headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["token"] == {"name": name, "permissions": permissions}
    assert response.json()["account"] == {"email": "ci@example.org", "first_name": "Ada", "last_name": "Doe",
                                           "company_name": "CI Ltd.", "created_at": "2023-02-01"}  # fmt: skip


def test_a_plain_string_token_may_do_everything_under_the_default_name(scoped_app: MockApp) -> None:
    with TestClient(scoped_app) as client:
        token = client.get(ME, headers=bearer("ci-plain")).json()["token"]
    assert token == {"name": "Production API", "permissions": ["*:*"]}


def test_it_needs_a_valid_token(anon: TestClient) -> None:
    missing = anon.get(ME)
    assert (missing.status_code, missing.json()) == (401, {"detail": "Authentication credentials were not provided."})
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    wrong = anon.get(ME, headers=bearer("no-such-token"))
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid token."})


@pytest.mark.parametrize("token", ["ci-read", "ci-none", "ci-all"])
def test_other_methods_are_405_for_every_token_never_403(scoped_app: MockApp, token: str) -> None:
    with TestClient(scoped_app) as client:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = client.request(method, ME, headers=bearer(token), json={})
            assert response.status_code == 405, (method, response.json())
            assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_head_options_and_the_missing_slash_answer_as_elsewhere(client: TestClient) -> None:
    head = client.head(ME)
    assert (head.status_code, head.content) == (200, b"")
    options = client.options(ME)
    assert options.status_code == 200 and options.json()["name"] == "Account"
    unslashed = client.get(ME.rstrip("/"))
    assert (unslashed.status_code, unslashed.headers["Location"]) == (301, ME)


def test_the_profile_is_set_per_account_through_the_control_api(app: MockApp, client: TestClient) -> None:
    control = ControlClient.for_app(app)
    account = control.create_account(name="acme", profile={"email": "ops@acme.test", "last_name": "Roe"})
    assert account.info["profile"] == {**examples.ACCOUNT_ME["account"], "email": "ops@acme.test", "last_name": "Roe"}
    mine = bearer(account.token)
    assert client.get(ME, headers=mine).json()["account"]["email"] == "ops@acme.test"
    changed = control.scoped("acme").update(profile={"company_name": "Acme GmbH", "created_at": "2020-01-31"})
    assert changed["profile"]["company_name"] == "Acme GmbH"
    assert client.get(ME, headers=mine).json()["account"] == {
        "email": "ops@acme.test", "first_name": "John", "last_name": "Roe", "company_name": "Acme GmbH",
        "created_at": "2020-01-31",
    }  # fmt: skip
    assert client.get(ME).json()["account"] == examples.ACCOUNT_ME["account"]  # the default account is untouched
    control.scoped("acme").reset()  # as created: the profile it was created with
    assert client.get(ME, headers=mine).json()["account"]["company_name"] == "Acme Inc."


@pytest.mark.parametrize(
    "profile",
    [{"email": "not-an-address"}, {"created_at": "15.06.2024"}, {"created_at": "2024-02-30"}, {"first_name": 5},
     {"first_name": "x" * 151}, {"colour": "red"}],
)  # fmt: skip
def test_a_bad_profile_is_refused_and_changes_nothing(app: MockApp, profile: dict[str, Any]) -> None:
    control = ControlClient.for_app(app)
    before = control.export_state()
    with pytest.raises(ControlError) as refused:
        control.scoped("default").update(profile=profile)
    assert refused.value.status == 400
    assert control.export_state() == before


def test_a_bad_profile_in_an_accounts_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": [{"name": "x", "tokens": ["t"], "profile": {"email": "nobody"}}]}))
    with pytest.raises(ConfigurationError) as refused:
        Settings(accounts=path).account_specs()
    assert refused.value.detail == f"accounts file {path}: accounts[0].profile.email: expected an email address"


def test_profiles_and_token_names_survive_export_import_and_the_data_dir(tmp_path: Path, accounts_file: Path) -> None:
    settings = Settings(accounts=accounts_file, data_dir=tmp_path / "data")
    app = create_app(settings, clock=VirtualClock())
    with TestClient(app) as client:
        ControlClient.for_app(app).scoped("default").update(profile={"first_name": "Jane"})
        before = [client.get(ME, headers=h).json() for h in (AUTH, bearer("ci-read"), bearer("ci-none"))]
        snapshot = export_state(app.state.backend)
    app.close()
    again = create_app(settings, clock=VirtualClock())
    with TestClient(again) as client:
        assert [client.get(ME, headers=h).json() for h in (AUTH, bearer("ci-read"), bearer("ci-none"))] == before
        assert before[0]["account"]["first_name"] == "Jane"
        client.put("/_mockvps/state", json=snapshot)
        assert [client.get(ME, headers=h).json() for h in (AUTH, bearer("ci-read"), bearer("ci-none"))] == before
    again.close()


def test_the_default_profile_is_the_documentation_s_example() -> None:
    shown = examples.ACCOUNT_ME["account"]
    assert (DEFAULT_PROFILE.email, DEFAULT_PROFILE.first_name, DEFAULT_PROFILE.last_name,
            DEFAULT_PROFILE.company_name, DEFAULT_PROFILE.created_at.isoformat()) == tuple(shown.values())  # fmt: skip
