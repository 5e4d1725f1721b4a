"""The Account API's `account/me`, and what a token's permissions allow on the Servers API."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mockvps.conformance.client import SERVERS, Api
from mockvps.conformance.target import NEVER_ID, Target

ME = "/api/v1/account/me/"
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
PERMISSION = re.compile(r"^(\*|[a-z][a-z0-9_]*):(\*|[a-z][a-z0-9_]*)$")
# The writes of one server. Sent with `{}`, a write changes nothing even where the token may write: PUT misses
# its fields, PATCH changes none (only DELETE and the actions would act, on a server of the suite's own).
WRITES = [
    ("PUT", f"{SERVERS}{{id}}/"),
    ("PATCH", f"{SERVERS}{{id}}/"),
    ("POST", f"{SERVERS}{{id}}/start/"),
    ("POST", f"{SERVERS}{{id}}/stop/"),
    ("POST", f"{SERVERS}{{id}}/reboot/"),
    ("DELETE", f"{SERVERS}{{id}}/"),
]


@pytest.mark.departure("invalid-value", "getAccountMe")
def test_account_me_answers_the_account_and_the_calling_token(api: Api) -> None:
    """What VPS.org's own client reads of the answer: the account's profile, the token's name and permissions."""
    response = api.get(ME)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert {"account", "token"} <= set(body), body
    account, token = body["account"], body["token"]
    assert {"email", "first_name", "last_name", "company_name", "created_at"} <= set(account), account
    assert all(isinstance(account[k], str) for k in ("email", "first_name", "last_name", "company_name")), account
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", account["created_at"]), account["created_at"]  # a plain date
    assert isinstance(token["name"], str), token
    assert isinstance(token["permissions"], list), token
    assert all(isinstance(p, str) and PERMISSION.match(p) for p in token["permissions"]), token


@pytest.mark.departure("valid-request-refused", "getAccountMe")
def test_account_me_answers_any_valid_token_whatever_its_scope(api: Api, target: Target) -> None:
    for token in target.tokens_of_every_scope:
        response = api.as_token(token).get(ME)
        assert response.status_code == 200, (response.status_code, response.text)
        body = response.json()
        assert isinstance(body.get("account"), dict), body
        assert isinstance(body.get("token"), dict) and isinstance(body["token"].get("permissions"), list), body


def own_server(api: Api, server_body: dict[str, Any]) -> int:
    created = api.create(server_body)
    assert created.status_code == 201, created.text
    server_id: int = created.json()["id"]
    return server_id


@pytest.mark.writes
@pytest.mark.departure("permission-not-enforced")
def test_a_read_only_token_is_refused_every_write_with_403(
    api: Api, read_only: Api, server_body: dict[str, Any]
) -> None:
    server_id = own_server(api, server_body)
    before = api.get(f"{SERVERS}{server_id}/").json()
    create = read_only.post(SERVERS, json={})  # refused for its scope before its missing fields are judged
    assert (create.status_code, create.json()) == (403, FORBIDDEN)
    for method, path in WRITES:
        response = read_only.request(method, path.format(id=server_id), json={})
        assert (response.status_code, response.json()) == (403, FORBIDDEN), (method, path)
    assert api.get(f"{SERVERS}{server_id}/").json() == before  # nothing changed
    assert read_only.get(SERVERS).status_code == 200  # and it reads


@pytest.mark.writes
@pytest.mark.departure("forbidden-reveals-existence")
def test_a_403_never_tells_whether_a_server_exists(api: Api, read_only: Api, server_body: dict[str, Any]) -> None:
    server_id = own_server(api, server_body)
    for method, path in WRITES:
        mine, nobodys = (read_only.request(method, path.format(id=i), json={}) for i in (server_id, NEVER_ID))
        assert (mine.status_code, mine.text) == (nobodys.status_code, nobodys.text), (method, path)
        assert mine.status_code == 403, (method, path)
