"""Every line of the contract, in process, over HTTP semantics."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mockvps.app import MockApp
from mockvps.backend import Backend
from mockvps.clock import VirtualClock
from tests.conftest import CREATE, settle

LIST = "/api/v1/servers/"
WEB = "/api/v1/servers/12345/"

LIST_ITEM_KEYS = ["id", "name", "hostname", "status", "ip_address", "location", "plan", "os", "created_at",
                  "updated_at"]  # fmt: skip
DETAIL_KEYS = ["id", "name", "hostname", "status", "ip_address", "ipv6_address", "location", "plan", "os",
               "backups_enabled", "resource_usage", "created_at", "updated_at"]  # fmt: skip
CREATED_KEYS = ["id", "name", "hostname", "status", "ip_address", "location", "plan", "os", "backups_enabled",
                "created_at", "updated_at", "message"]  # fmt: skip

ENDPOINTS = [
    ("GET", LIST),
    ("POST", LIST),
    ("GET", WEB),
    ("PUT", WEB),
    ("PATCH", WEB),
    ("DELETE", WEB),
    ("POST", WEB + "start/"),
    ("POST", WEB + "stop/"),
    ("POST", WEB + "reboot/"),
]
ID_ENDPOINTS = [(m, p) for m, p in ENDPOINTS if "12345" in p]


def state(client: TestClient) -> list[dict[str, Any]]:
    """Everything the default account can see, in detail."""
    ids = [s["id"] for s in client.get(LIST).json()["results"]]
    return [client.get(f"{LIST}{i}/").json() for i in ids]


# -- list ------------------------------------------------------------------------------------------------------


def test_list_answers_count_and_results_in_the_documented_shape(client: TestClient) -> None:
    response = client.get(LIST)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["count", "results"]
    assert body["count"] == 2 == len(body["results"])
    web = body["results"][0]
    assert list(web) == LIST_ITEM_KEYS
    assert list(web["plan"]) == ["id", "name", "vcpus", "memory", "storage"]
    assert web["created_at"] == "2025-01-10T14:30:00Z"


def test_list_filters_by_status_and_location(client: TestClient, clock: VirtualClock) -> None:
    client.post(WEB + "stop/")
    settle(clock)
    stopped = client.get(LIST, params={"status": "stopped"}).json()
    assert [s["id"] for s in stopped["results"]] == [12345] and stopped["count"] == 1
    assert [s["id"] for s in client.get(LIST, params={"location": "us-east"}).json()["results"]] == [12346]
    assert client.get(LIST, params={"location": "nowhere"}).json() == {"count": 0, "results": []}
    assert client.get(LIST, params={"status": "suspended"}).json() == {"count": 0, "results": []}


@pytest.mark.parametrize("status", ["aktiv", "", "ACTIVE", "active "])
def test_an_unknown_status_filter_is_a_400_naming_the_field(client: TestClient, status: str) -> None:
    response = client.get(LIST, params={"status": status})
    assert response.status_code == 400
    assert response.json() == {"status": [f"Select a valid choice. {status} is not one of the available choices."]}


# -- create ----------------------------------------------------------------------------------------------------


def test_create_answers_201_provisioning_without_an_address(client: TestClient) -> None:
    response = client.post(LIST, json={**CREATE, "hostname": "web02.example.com", "backups_enabled": True})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == CREATED_KEYS
    assert body["id"] == 12347
    assert (body["status"], body["ip_address"], body["backups_enabled"]) == ("provisioning", None, True)
    assert body["message"] == "Server is being provisioned. This may take 2-5 minutes."
    assert body["created_at"] == body["updated_at"] == "2025-01-16T15:30:00Z"


def test_create_applies_the_defaults(client: TestClient) -> None:
    body = client.post(LIST, json=CREATE).json()
    assert (body["hostname"], body["backups_enabled"]) == (None, False)
    assert client.get(f"{LIST}{body['id']}/").json()["backups_enabled"] is False


def test_a_created_server_becomes_active_with_unique_addresses(client: TestClient, clock: VirtualClock) -> None:
    ids = [client.post(LIST, json=CREATE).json()["id"] for _ in range(3)]
    settle(clock)
    details = [client.get(f"{LIST}{i}/").json() for i in ids]
    assert all(d["status"] == "active" for d in details)
    v4 = {d["ip_address"] for d in details} | {"203.0.113.10", "203.0.113.11"}
    v6 = {d["ipv6_address"] for d in details} | {"2001:0db8::1", "2001:0db8::2"}
    assert len(v4) == len(v6) == 5


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {f: ["This field is required."] for f in ("name", "plan_id", "os_id", "location")}),
        ({**CREATE, "name": ""}, {"name": ["This field may not be blank."]}),
        ({**CREATE, "name": "a" * 64}, {"name": ["Ensure this field has no more than 63 characters."]}),
        ({**CREATE, "name": "web_01"}, {"name": ["Enter a valid name: 1 to 63 letters, digits and hyphens."]}),
        ({**CREATE, "name": "web\u00e901"}, {"name": ["Enter a valid name: 1 to 63 letters, digits and hyphens."]}),
        ({**CREATE, "name": None}, {"name": ["This field may not be null."]}),
        ({**CREATE, "name": 5}, {"name": ["Not a valid string."]}),
        ({**CREATE, "plan_id": "1"}, {"plan_id": ["A valid integer is required."]}),
        ({**CREATE, "plan_id": 1.5}, {"plan_id": ["A valid integer is required."]}),
        ({**CREATE, "plan_id": 1e30}, {"plan_id": ["A valid integer is required."]}),
        ({**CREATE, "plan_id": True}, {"plan_id": ["A valid integer is required."]}),
        ({**CREATE, "plan_id": 10**30}, {"plan_id": ["A valid integer is required."]}),
        ({**CREATE, "plan_id": 99}, {"plan_id": ['Invalid pk "99" - object does not exist.']}),
        ({**CREATE, "os_id": 4}, {"os_id": ['Invalid pk "4" - object does not exist.']}),
        ({**CREATE, "location": "eu-west"}, {"location": ['"eu-west" is not a valid choice.']}),
        ({**CREATE, "location": ["us-west"]}, {"location": ["Not a valid string."]}),
        ({**CREATE, "ssh_key_id": 2}, {"ssh_key_id": ['Invalid pk "2" - object does not exist.']}),
        ({**CREATE, "hostname": "web02"}, {"hostname": ["Enter a valid fully qualified domain name."]}),
        ({**CREATE, "hostname": "-a.example.com"}, {"hostname": ["Enter a valid fully qualified domain name."]}),
        ({**CREATE, "hostname": ("a" * 60 + ".") * 5 + "com"},
         {"hostname": ["Ensure this field has no more than 253 characters."]}),
        ({**CREATE, "backups_enabled": "true"}, {"backups_enabled": ["Must be a valid boolean."]}),
        ({**CREATE, "backups_enabled": 1}, {"backups_enabled": ["Must be a valid boolean."]}),
    ],
)  # fmt: skip
def test_bad_create_fields_are_400_per_field_and_change_nothing(
    client: TestClient, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    before = state(client)
    response = client.post(LIST, json=body)
    assert response.status_code == 400
    assert response.json() == errors
    assert state(client) == before
    assert client.post(LIST, json=CREATE).json()["id"] == 12347  # no id was used up


def test_unknown_fields_are_ignored(client: TestClient) -> None:
    response = client.post(LIST, json={**CREATE, "colour": "blue", "id": 1})
    assert response.status_code == 201
    assert response.json()["id"] == 12347


def test_valid_optional_fields_are_accepted(client: TestClient) -> None:
    body = {**CREATE, "hostname": "web02.example.com.", "ssh_key_id": 1, "name": "a" * 63}
    assert client.post(LIST, json=body).status_code == 201


def test_a_short_balance_is_402_and_changes_nothing(app: MockApp, client: TestClient) -> None:
    app.state.backend.authenticate("mockvps-dev-token").balance = app.state.backend.catalog.plans[1].price - 1
    before = state(client)
    response = client.post(LIST, json=CREATE)
    assert response.status_code == 402
    assert response.json()["detail"].startswith("Insufficient balance")
    assert state(client) == before


# -- detail, update, delete ------------------------------------------------------------------------------------


def test_detail_answers_the_documented_example(client: TestClient) -> None:
    body = client.get(WEB).json()
    assert list(body) == DETAIL_KEYS
    assert body["plan"] == {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80,
                            "bandwidth": 2048}  # fmt: skip
    assert body["ipv6_address"] == "2001:0db8::1"
    assert body["resource_usage"] == {"cpu_percent": 23.5, "memory_used": 2048, "disk_used": 35,
                                      "bandwidth_used": 450}  # fmt: skip


def test_put_replaces_all_three_fields(client: TestClient, clock: VirtualClock) -> None:
    clock.advance(60)
    response = client.put(WEB, json={"name": "web-server-updated", "hostname": "web-updated.example.com",
                                     "backups_enabled": False})  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert list(body) == DETAIL_KEYS
    assert (body["name"], body["hostname"], body["backups_enabled"]) == (
        "web-server-updated", "web-updated.example.com", False,
    )  # fmt: skip
    assert body["updated_at"] == "2025-01-16T15:31:00Z"
    assert body["created_at"] == "2025-01-10T14:30:00Z"
    assert client.get(WEB).json() == body


@pytest.mark.parametrize(
    "body",
    [
        {"name": "web-server-updated"},
        {"name": "x", "hostname": "x.example.com"},
        {"hostname": "x.example.com", "backups_enabled": True},
        {},
    ],
)
def test_put_without_all_three_fields_is_400_and_changes_nothing(client: TestClient, body: dict[str, Any]) -> None:
    before = state(client)
    response = client.put(WEB, json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"name", "hostname", "backups_enabled"} - set(body)
    assert state(client) == before


def test_put_may_clear_the_hostname(client: TestClient) -> None:
    body = client.put(WEB, json={"name": "web", "hostname": None, "backups_enabled": True}).json()
    assert body["hostname"] is None


def test_patch_changes_only_the_fields_given(client: TestClient, clock: VirtualClock) -> None:
    before = client.get(WEB).json()
    clock.advance(5)
    response = client.patch(WEB, json={"name": "new-server-name"})
    assert response.status_code == 200
    after = response.json()
    assert after["name"] == "new-server-name"
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"name", "updated_at"}
    assert after["updated_at"] > before["updated_at"]


def test_an_empty_patch_changes_nothing(client: TestClient) -> None:
    before = client.get(WEB).json()
    assert client.patch(WEB, json={}).json() == before


def test_a_bad_patch_is_400_and_changes_nothing(client: TestClient) -> None:
    before = state(client)
    response = client.patch(WEB, json={"name": "ok-name", "backups_enabled": "no"})
    assert response.status_code == 400
    assert response.json() == {"backups_enabled": ["Must be a valid boolean."]}
    assert state(client) == before


def test_delete_answers_204_without_a_body_and_the_server_is_gone(client: TestClient) -> None:
    response = client.delete(WEB)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(WEB).status_code == 404
    assert client.delete(WEB).status_code == 404
    assert [s["id"] for s in client.get(LIST).json()["results"]] == [12346]


# -- actions ---------------------------------------------------------------------------------------------------


def action(client: TestClient, server: str, name: str) -> tuple[int, dict[str, Any]]:
    response = client.post(f"{server}{name}/")
    return response.status_code, response.json()


def test_stop_start_reboot_answer_the_documented_shapes_and_walk_the_lifecycle(
    client: TestClient, clock: VirtualClock
) -> None:
    assert action(client, WEB, "stop") == (200, {"status": "success", "message": "Server is stopping",
        "server": {"id": 12345, "name": "web-server-01", "status": "stopping"}})  # fmt: skip
    settle(clock)
    assert client.get(WEB).json()["status"] == "stopped"
    assert action(client, WEB, "start") == (200, {"status": "success", "message": "Server is starting",
        "server": {"id": 12345, "name": "web-server-01", "status": "starting"}})  # fmt: skip
    settle(clock)
    assert client.get(WEB).json()["status"] == "active"
    assert action(client, WEB, "reboot") == (200, {"status": "success", "message": "Server is rebooting",
        "server": {"id": 12345, "name": "web-server-01", "status": "rebooting"}})  # fmt: skip
    settle(clock)
    assert client.get(WEB).json()["status"] == "active"


def test_start_of_a_running_server_is_refused_with_400(client: TestClient) -> None:
    before = state(client)
    assert action(client, WEB, "start") == (400, {"detail": "Server is already running."})
    assert state(client) == before


def test_reboot_of_a_stopped_server_is_refused_with_400(client: TestClient, clock: VirtualClock) -> None:
    client.post(WEB + "stop/")
    settle(clock)
    before = state(client)
    assert action(client, WEB, "reboot") == (400, {"detail": "Server is not active."})
    assert action(client, WEB, "stop") == (400, {"detail": "Server is already stopped."})
    assert state(client) == before


def test_a_provisioning_server_refuses_every_action(client: TestClient) -> None:
    server = f"{LIST}{client.post(LIST, json=CREATE).json()['id']}/"
    for name in ("start", "stop", "reboot"):
        status, body = action(client, server, name)
        assert status == 400 and body["detail"]


def test_actions_ignore_a_body_and_its_content_type(client: TestClient) -> None:
    response = client.post(WEB + "stop/", content=b"whatever", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200


def test_stop_status_shows_in_detail_with_zero_cpu_once_stopped(client: TestClient, clock: VirtualClock) -> None:
    client.post(WEB + "stop/")
    settle(clock)
    usage = client.get(WEB).json()["resource_usage"]
    assert (usage["cpu_percent"], usage["memory_used"]) == (0.0, 0)


# -- authentication --------------------------------------------------------------------------------------------

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
INVALID = {"detail": "Invalid token."}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("header", "answer"),
    [
        (None, NOT_PROVIDED),
        ("Bearer", NOT_PROVIDED),
        ("Bearer ", NOT_PROVIDED),
        ("Token mockvps-dev-token", NOT_PROVIDED),
        ("Basic bW9jazp2cHM=", NOT_PROVIDED),
        ("Bearer a b", NOT_PROVIDED),
        ("Bearer wrong-token", INVALID),
        ("Bearer mockvps-dev-token-", INVALID),
    ],
)
def test_every_operation_refuses_missing_or_wrong_credentials_with_401(
    anon: TestClient, client: TestClient, method: str, path: str, header: str | None, answer: dict[str, str]
) -> None:
    before = state(client)
    headers = {"Authorization": header} if header is not None else {}
    response = anon.request(method, path, headers=headers, json=CREATE)
    assert response.status_code == 401
    assert response.json() == answer
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert state(client) == before


def test_the_bearer_keyword_is_case_insensitive(anon: TestClient) -> None:
    assert anon.get(LIST, headers={"Authorization": "bearer mockvps-dev-token"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/servers/999/"), ("GET", "/api/v1/servers/abc/"), ("DELETE", LIST), ("POST", WEB)],
)
def test_authentication_comes_before_404_and_405(anon: TestClient, method: str, path: str) -> None:
    response = anon.request(method, path, headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()) == (401, INVALID)


# -- not found -------------------------------------------------------------------------------------------------

BAD_IDS = ["99999", "0", "abc", "12345.0", "-12345", "+12345", " 12345", "12345 ", "12_345", "1e5",
           "\uff11\uff12\uff13\uff14\uff15", "\u0661\u0662", "9" * 19, "9" * 30, "%00", "%2012345"]  # fmt: skip


@pytest.mark.parametrize("server_id", BAD_IDS)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "start/"), ("POST", "stop/"),
     ("POST", "reboot/")],
)  # fmt: skip
def test_anything_but_an_existing_id_in_plain_ascii_digits_is_404(
    client: TestClient, method: str, suffix: str, server_id: str
) -> None:
    before = state(client)
    response = client.request(method, f"{LIST}{server_id}/{suffix}", json={"name": "x", "hostname": None,
                                                                          "backups_enabled": True})  # fmt: skip
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    assert state(client) == before


def test_leading_zeros_still_name_the_server(client: TestClient) -> None:
    assert client.get("/api/v1/servers/012345/").json()["id"] == 12345


def test_a_bad_body_comes_before_the_404_of_the_server(client: TestClient) -> None:
    # The contract's order of refusals: 401, 403, 405, then the body (413, 415, 400), then 404 of the server.
    response = client.put("/api/v1/servers/999/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert client.put("/api/v1/servers/999/", content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    good = {"name": "x", "hostname": None, "backups_enabled": False}
    assert client.put("/api/v1/servers/999/", json=good).status_code == 404
    assert (
        client.put("/api/v1/servers/abc/", content=b"{nope", headers={"Content-Type": "application/json"}).status_code
        == 400
    )


def test_another_account_s_servers_are_404_everywhere(app: MockApp, anon: TestClient, client: TestClient) -> None:
    from mockvps.backend import AccountSpec

    backend: Backend = app.state.backend
    backend.add_account(AccountSpec("other", ("other-token",)))
    other = {"Authorization": "Bearer other-token"}
    before = state(client)
    for method, path in ID_ENDPOINTS:
        response = anon.request(method, path, headers=other, json={"name": "mine", "hostname": None,
                                                                   "backups_enabled": True})  # fmt: skip
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), (method, path)
    assert anon.get(LIST, headers=other).json() == {"count": 0, "results": []}
    assert state(client) == before


def test_an_unknown_path_is_404_in_the_contract_s_format(client: TestClient) -> None:
    response = client.get("/api/v1/nothing/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


# -- protocol errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", LIST, "GET, POST, HEAD, OPTIONS"),
        ("PUT", LIST, "GET, POST, HEAD, OPTIONS"),
        ("PATCH", LIST, "GET, POST, HEAD, OPTIONS"),
        ("POST", WEB, "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"),
        ("GET", WEB + "start/", "POST, OPTIONS"),
        ("HEAD", WEB + "start/", "POST, OPTIONS"),
        ("DELETE", WEB + "reboot/", "POST, OPTIONS"),
        ("TRACE", "/api/v1/servers/99/stop/", "POST, OPTIONS"),
    ],
)
def test_a_wrong_method_is_405_with_a_complete_allow(client: TestClient, method: str, path: str, allow: str) -> None:
    # DRF's Allow: the path's methods, then HEAD where GET is, then OPTIONS.
    before = state(client)
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    assert state(client) == before


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [("GET", "/api/v1/servers", ""), ("GET", "/api/v1/servers", "status=active"), ("POST", "/api/v1/servers", ""),
     ("GET", "/api/v1/servers/12345", ""), ("POST", "/api/v1/servers/12345/start", "")],
)  # fmt: skip
def test_a_path_without_its_slash_is_a_301_to_the_slashed_path(
    anon: TestClient, method: str, path: str, query: str
) -> None:
    response = anon.request(method, path + (f"?{query}" if query else ""))
    assert response.status_code == 301
    assert response.headers["location"] == path + "/" + (f"?{query}" if query else "")


@pytest.mark.parametrize(("method", "path"), [("POST", LIST), ("PUT", WEB), ("PATCH", WEB)])
@pytest.mark.parametrize(
    ("content", "content_type", "status", "answer"),
    [
        (b"{nope", "application/json", 400, "JSON parse error - "),
        (b'{"name": NaN}', "application/json", 400, "JSON parse error - "),
        (b"\xff\xfe", "application/json", 400, "JSON parse error - "),
        (b"[1, 2]", "application/json", 400,
         {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        (b'"x"', "application/json", 400,
         {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
        (b"name=x", "application/x-www-form-urlencoded", 415,
         {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'}),
        (b'{"name": "x"}', "text/plain", 415, {"detail": 'Unsupported media type "text/plain" in request.'}),
        (b'{"name": "x"}', None, 415, {"detail": 'Unsupported media type "" in request.'}),
    ],
)  # fmt: skip
def test_a_bad_body_gets_a_clear_error_and_changes_nothing(
    client: TestClient, method: str, path: str, content: bytes, content_type: str | None, status: int, answer: Any
) -> None:
    before = state(client)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.request(method, path, content=content, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    if isinstance(answer, str):
        assert response.json()["detail"].startswith(answer)
    else:
        assert response.json() == answer
    assert state(client) == before


def test_json_with_a_charset_is_json(client: TestClient) -> None:
    response = client.post(LIST, content=b'{"name": "a", "plan_id": 1, "os_id": 5, "location": "us-west"}',
                           headers={"Content-Type": "Application/JSON; charset=utf-8"})  # fmt: skip
    assert response.status_code == 201


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_one_mib_is_413_and_changes_nothing(client: TestClient, chunked: bool) -> None:
    before = state(client)
    payload = b'{"name": "' + b"a" * (1024 * 1024) + b'"}'
    content: Any = iter([payload[:1000], payload[1000:]]) if chunked else payload
    response = client.post(LIST, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than 1048576 bytes."}
    assert state(client) == before


def test_a_body_of_exactly_one_mib_is_read(client: TestClient) -> None:
    body = b'{"name": "x", "plan_id": 1, "os_id": 5, "location": "us-west", "pad": "'
    body += b"a" * (1024 * 1024 - len(body) - 2) + b'"}'
    assert len(body) == 1024 * 1024
    assert client.post(LIST, content=body, headers={"Content-Type": "application/json"}).status_code == 201


def test_health_answers_once_ready(anon: TestClient) -> None:
    assert anon.get("/_mockvps/health").json() == {"status": "ok"}


def test_a_wrong_method_outside_the_public_api_needs_no_token(anon: TestClient) -> None:
    response = anon.post("/_mockvps/health")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"  # HEAD is answered wherever GET is
    assert response.json() == {"detail": 'Method "POST" not allowed.'}


@pytest.mark.parametrize("field", ["name", "backups_enabled"])
def test_patch_cannot_set_a_required_field_to_null(client: TestClient, field: str) -> None:
    before = state(client)
    response = client.patch(WEB, json={field: None})
    assert (response.status_code, response.json()) == (400, {field: ["This field may not be null."]})
    assert state(client) == before


def test_patch_may_clear_the_hostname(client: TestClient) -> None:
    assert client.patch(WEB, json={"hostname": None}).json()["hostname"] is None


@pytest.mark.parametrize("path", [LIST, WEB, LIST + "?status=active"])
def test_head_answers_as_get_without_a_body(client: TestClient, path: str) -> None:
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == str(len(get.content))


def test_head_is_refused_as_get_is(anon: TestClient, client: TestClient) -> None:
    assert anon.head(WEB).status_code == 401
    assert client.head("/api/v1/servers/999/").status_code == 404
    assert client.head("/api/v1/servers/999/").content == b""


@pytest.mark.parametrize(
    ("path", "allow", "name"),
    [
        (LIST, "GET, POST, HEAD, OPTIONS", "Server List"),
        (WEB, "GET, PUT, PATCH, DELETE, HEAD, OPTIONS", "Server Instance"),
        (WEB + "start/", "POST, OPTIONS", "Start"),
        ("/api/v1/servers/999/reboot/", "POST, OPTIONS", "Reboot"),
    ],
)
def test_options_answers_drf_s_metadata(client: TestClient, path: str, allow: str, name: str) -> None:
    before = state(client)
    response = client.options(path)
    assert response.status_code == 200
    assert response.headers["allow"] == allow
    body = response.json()
    assert list(body) == ["name", "description", "renders", "parses"]
    assert (body["name"], body["renders"], body["parses"]) == (name, ["application/json"], ["application/json"])
    assert body["description"]
    assert state(client) == before


def test_options_needs_credentials_like_any_method(anon: TestClient) -> None:
    response = anon.options(LIST)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
