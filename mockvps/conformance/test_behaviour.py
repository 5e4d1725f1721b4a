"""What the documentation says that no schema can express, checked scenario by scenario."""

from __future__ import annotations

from typing import Any

import pytest

from mockvps.conformance.client import SERVERS, Api
from mockvps.conformance.target import Options

writes = pytest.mark.writes


def url(server_id: int, action: str = "") -> str:
    return f"{SERVERS}{server_id}/{action + '/' if action else ''}"


def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.create(body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def active(api: Api, server_id: int, options: Options) -> dict[str, Any]:
    return api.wait_for(server_id, lambda s: s["status"] == "active", options.transition_timeout)


def settled(api: Api, server_id: int, status: str, options: Options) -> dict[str, Any]:
    return api.wait_for(server_id, lambda s: s["status"] == status, options.transition_timeout)


# -- read-only ------------------------------------------------------------------------------------------------


@pytest.mark.departure("count-mismatch", "listServers")
def test_list_count_equals_the_number_of_results(api: Api) -> None:
    response = api.get(SERVERS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["results"])


@pytest.mark.departure("filter-mismatch", "listServers")
@pytest.mark.parametrize("status", ["active", "stopped", "suspended", "provisioning"])
def test_status_filter_returns_only_matching_servers(api: Api, status: str) -> None:
    body = api.get(SERVERS, params={"status": status}).json()
    assert body["count"] == len(body["results"])
    assert {s["status"] for s in body["results"]} <= {status}
    everything = api.get(SERVERS).json()["results"]
    assert [s["id"] for s in body["results"]] == [s["id"] for s in everything if s["status"] == status]


@pytest.mark.departure("filter-mismatch", "listServers")
def test_location_filter_returns_only_matching_servers(api: Api, options: Options) -> None:
    everything = api.get(SERVERS).json()["results"]
    for location in {options.location, *(s["location"] for s in everything)}:
        body = api.get(SERVERS, params={"location": location}).json()
        assert body["count"] == len(body["results"])
        assert [s["id"] for s in body["results"]] == [s["id"] for s in everything if s["location"] == location]


@pytest.mark.departure("filter-mismatch", "listServers")
def test_an_unknown_location_gives_an_empty_list(api: Api) -> None:
    assert api.get(SERVERS, params={"location": "no-such-location-0"}).json() == {"count": 0, "results": []}


@pytest.mark.departure("wrong-status", "getServer")
def test_an_unknown_server_is_404(api: Api) -> None:
    response = api.get(url(2**62))
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


# -- lifecycle ------------------------------------------------------------------------------------------------


@pytest.mark.departure("transition-not-followed", "createServer")
@writes
def test_a_created_server_provisions_without_an_address_then_is_active_with_one(
    api: Api, server_body: dict[str, Any], options: Options
) -> None:
    created = create(api, server_body)
    assert (created["status"], created["ip_address"]) == ("provisioning", None)
    detail = active(api, created["id"], options)
    assert detail["ip_address"]
    assert detail["ipv6_address"]


@pytest.mark.departure("wrong-default", "createServer")
@writes
def test_defaults_are_applied(api: Api, server_body: dict[str, Any]) -> None:
    created = create(api, server_body)
    assert created["backups_enabled"] is False
    assert created["hostname"] is None
    assert api.get(url(created["id"])).json()["backups_enabled"] is False


@pytest.mark.departure("transition-not-followed", "stopServer")
@writes
def test_stop_leads_to_stopped_start_to_active_and_reboot_back_to_active(
    api: Api, server_body: dict[str, Any], options: Options
) -> None:
    server_id = create(api, server_body)["id"]
    address = active(api, server_id, options)["ip_address"]
    stop = api.post(url(server_id, "stop"))
    assert stop.status_code == 200
    assert stop.json() == {
        "status": "success",
        "message": "Server is stopping",
        "server": {"id": server_id, "name": server_body["name"], "status": "stopping"},
    }
    settled(api, server_id, "stopped", options)
    start = api.post(url(server_id, "start"))
    assert (start.status_code, start.json()["server"]["status"]) == (200, "starting")
    assert active(api, server_id, options)["ip_address"] == address
    reboot = api.post(url(server_id, "reboot"))
    assert (reboot.status_code, reboot.json()["server"]["status"]) == (200, "rebooting")
    active(api, server_id, options)


@pytest.mark.departure("refused-action-accepted", "startServer")
@writes
def test_start_of_a_running_server_is_refused_with_400(api: Api, server_body: dict[str, Any], options: Options) -> None:
    server_id = create(api, server_body)["id"]
    before = active(api, server_id, options)
    response = api.post(url(server_id, "start"))
    assert response.status_code == 400
    assert response.json()["detail"]
    assert api.get(url(server_id)).json()["status"] == before["status"] == "active"


@pytest.mark.departure("refused-action-accepted", "rebootServer")
@writes
def test_reboot_of_a_stopped_server_is_refused_with_400(
    api: Api, server_body: dict[str, Any], options: Options
) -> None:
    server_id = create(api, server_body)["id"]
    active(api, server_id, options)
    assert api.post(url(server_id, "stop")).status_code == 200
    settled(api, server_id, "stopped", options)
    response = api.post(url(server_id, "reboot"))
    assert response.status_code == 400
    assert response.json()["detail"]
    assert api.get(url(server_id)).json()["status"] == "stopped"


# -- updates --------------------------------------------------------------------------------------------------


@pytest.mark.departure("invalid-request-accepted", "replaceServer")
@writes
@pytest.mark.parametrize("missing", ["name", "hostname", "backups_enabled"])
def test_put_without_all_three_fields_is_refused_and_changes_nothing(
    api: Api, server_body: dict[str, Any], missing: str
) -> None:
    server_id = create(api, server_body)["id"]
    before = api.get(url(server_id)).json()
    body = {"name": "contract-put", "hostname": "put.example.com", "backups_enabled": True}
    del body[missing]
    response = api.put(url(server_id), json=body)
    assert response.status_code == 400
    assert missing in response.json()
    after = api.get(url(server_id)).json()
    assert {k: after[k] for k in ("name", "hostname", "backups_enabled", "updated_at")} == {
        k: before[k] for k in ("name", "hostname", "backups_enabled", "updated_at")
    }


@pytest.mark.departure("update-misapplied", "replaceServer")
@writes
def test_put_with_all_three_fields_replaces_them(api: Api, server_body: dict[str, Any]) -> None:
    server_id = create(api, server_body)["id"]
    body = {"name": "contract-put", "hostname": "put.example.com", "backups_enabled": True}
    response = api.put(url(server_id), json=body)
    assert response.status_code == 200
    detail = api.get(url(server_id)).json()
    assert {k: detail[k] for k in body} == body


@pytest.mark.departure("update-misapplied", "updateServer")
@writes
def test_patch_changes_only_the_fields_given(api: Api, server_body: dict[str, Any]) -> None:
    server_id = create(api, {**server_body, "hostname": "patch.example.com", "backups_enabled": True})["id"]
    before = api.get(url(server_id)).json()
    response = api.patch(url(server_id), json={"name": "contract-patched"})
    assert response.status_code == 200
    after = api.get(url(server_id)).json()
    assert after["name"] == "contract-patched"
    assert (after["hostname"], after["backups_enabled"]) == (before["hostname"], before["backups_enabled"])
    assert (after["plan"], after["os"], after["location"]) == (before["plan"], before["os"], before["location"])


@pytest.mark.departure("updated-at-wrong", "updateServer")
@writes
def test_created_at_never_changes_and_updated_at_moves_forward(
    api: Api, server_body: dict[str, Any], options: Options
) -> None:
    created = create(api, server_body)
    server_id = created["id"]
    activated = active(api, server_id, options)
    assert activated["created_at"] == created["created_at"]
    assert activated["updated_at"] >= created["updated_at"]
    api.target.sleep(1.5)
    patched = api.patch(url(server_id), json={"name": "contract-later"}).json()
    assert patched["created_at"] == created["created_at"]
    assert patched["updated_at"] > activated["updated_at"]
    assert api.post(url(server_id, "stop")).status_code == 200
    stopped = settled(api, server_id, "stopped", options)
    assert stopped["created_at"] == created["created_at"]
    assert stopped["updated_at"] >= patched["updated_at"]


# -- delete ---------------------------------------------------------------------------------------------------


@pytest.mark.departure("deleted-still-readable", "deleteServer")
@writes
def test_delete_answers_204_without_a_body_then_404_and_the_server_is_gone(
    api: Api, server_body: dict[str, Any]
) -> None:
    server_id = create(api, server_body)["id"]
    response = api.delete(url(server_id))
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(url(server_id)).status_code == 404
    assert server_id not in [s["id"] for s in api.get(SERVERS).json()["results"]]


# -- accounts -------------------------------------------------------------------------------------------------


@pytest.mark.departure("isolation-broken", "getServer")
@writes
def test_one_account_cannot_see_or_touch_another_s_servers(api: Api, second: Api, server_body: dict[str, Any]) -> None:
    server_id = create(api, server_body)["id"]
    before = api.get(url(server_id)).json()
    assert server_id not in [s["id"] for s in second.get(SERVERS).json()["results"]]
    attempts = [
        second.get(url(server_id)),
        second.put(url(server_id), json={"name": "taken", "hostname": None, "backups_enabled": True}),
        second.patch(url(server_id), json={"name": "taken"}),
        second.post(url(server_id, "stop")),
        second.post(url(server_id, "reboot")),
        second.delete(url(server_id)),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert api.get(url(server_id)).json() == before
