"""`mockvps proxy` as a real process, driven by real clients (httpx, curl, the contract suite, Chromium).

In front of the mock it reports no service departure; in front of each deliberately drifted upstream of
`tests/proxy_upstreams.py` it reports that drift as an `error` of the right operation and kind, and no other
error; a client's undocumented request is the client's departure; the report, the recording and the state
they reproduce hold no token.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.proxy_upstreams import (
    AUTH,
    DRIFTS,
    ORDER,
    TOKEN,
    Proxy,
    Upstream,
    errors,
    faithful,
    warnings,
)
from tests.test_cli import Served

ROOT = Path(__file__).resolve().parents[1]
SERVERS = "/api/v1/servers/"


@pytest.fixture
def mock() -> Iterator[Served]:
    server = Served("--token", TOKEN, "--provisioning-delay", "0.2", "--action-delay", "0.1", "--log-level", "warning")
    yield server
    server.stop()


def poll(client: httpx.Client, server_id: Any, done: Callable[[dict[str, Any]], bool], tries: int = 200) -> None:
    """Read a server until `done` holds of it (a bounded number of reads, as a client waits)."""
    for _ in range(tries):
        if done(client.get(f"{SERVERS}{server_id}/").json()):
            return
        time.sleep(0.02)


def lifecycle(client: httpx.Client, running: str = "active") -> None:
    """A client's whole session: list, create, wait, stop, wait, delete, read the gone server, list."""
    client.get(SERVERS)
    server_id = client.post(SERVERS, json=ORDER).json()["id"]
    poll(client, server_id, lambda s: s["status"] == running)
    client.post(f"{SERVERS}{server_id}/stop/")
    poll(client, server_id, lambda s: s["status"] == "stopped")
    client.delete(f"{SERVERS}{server_id}/")
    client.get(f"{SERVERS}{server_id}/")
    client.get(SERVERS)


def create_and_wait(client: httpx.Client) -> Any:
    server_id = client.post(SERVERS, json=ORDER).json()["id"]
    poll(client, server_id, lambda s: s["status"] == "active")
    return server_id


# -- in front of the mock -------------------------------------------------------------------------------------


def readme_curl_session() -> list[str]:
    """The README's curl commands (its "A session with curl"), as shell command lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## A session with curl") :].split("```console", 1)[1].split("```", 1)[0]
    commands, current = [], ""
    for line in section.splitlines():
        if line.startswith("$ curl") or current:
            current += line.removeprefix("$ ").rstrip("\\").strip() + " "
            if not line.endswith("\\"):
                commands.append(current.strip())
                current = ""
    return commands


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
def test_the_readme_s_curl_session_through_the_proxy_departs_nowhere(tmp_path: Path) -> None:
    server = Served("--provisioning-delay", "0", "--action-delay", "0.2", "--log-level", "warning")
    proxy = Proxy(server.url, "--report", str(tmp_path))
    try:
        commands = readme_curl_session()
        assert len(commands) == 3
        for command in commands:
            line = command.replace("http://127.0.0.1:8000", proxy.url)
            result = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["status"] in ("provisioning", "active", "success")
        drift = proxy.drift()
        assert drift["exchanges"] == 3
        assert drift["departures"] == []
    finally:
        assert proxy.stop() == 0
        server.stop()
    assert "No departures." in (tmp_path / "drift.md").read_text()


def test_the_contract_suite_through_the_proxy_finds_no_service_departure() -> None:
    # Provisioning at once: a server that turns active between two of the suite's reads of it changes its
    # `updated_at` under the suite's feet, and a proxy on a busy machine makes that likelier.
    mock = Served("--token", TOKEN, "--provisioning-delay", "0", "--action-delay", "0.1", "--log-level", "warning")
    proxy = Proxy(mock.url)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "mockvps/conformance", "-p", "no:cacheprovider", "-q",
             "--base-url", proxy.url, "--token", TOKEN, "--profile", "fast"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
        drift = proxy.drift()
        assert drift["exchanges"] > 300
        assert [d for d in drift["departures"] if d["side"] == "service"] == []
        # The suite sends bad requests on purpose: each is the client's departure, and reported as such.
        assert ("client", "createServer", "wrong-type") in errors(drift)
        assert ("client", "listServers", "missing-credentials") in errors(drift)
    finally:
        assert proxy.stop() == 0
        mock.stop()


def test_a_client_s_undocumented_requests_are_the_client_s_departures(mock: Served) -> None:
    proxy = Proxy(mock.url)
    try:
        with proxy.client(headers=AUTH) as client:
            assert client.post(f"{SERVERS}12345/power/", json={"action": "stop"}).status_code == 404
            assert client.post(SERVERS, json={**ORDER, "plan_id": "1"}).status_code == 400
            assert client.get(SERVERS, params={"page": "2", "page_size": "10"}).status_code == 200
            assert client.patch(f"{SERVERS}12345/", json={"name": "renamed", "colour": "red"}).status_code == 200
            assert client.post(SERVERS, content=b"name=x", headers={"Content-Type": "text/plain"}).status_code == 415
        drift = proxy.drift()
    finally:
        proxy.stop()
    assert [d for d in drift["departures"] if d["side"] == "service"] == []
    assert errors(drift) == {
        ("client", "POST /api/v1/servers/{server_id}/power/", "undocumented-operation"),
        ("client", "createServer", "wrong-type"),
        ("client", "createServer", "wrong-content-type"),
    }
    assert warnings(drift) == {("client", "listServers", "extra-parameter"), ("client", "updateServer", "extra-field")}
    details = {d["detail"] for d in drift["departures"]}
    assert "`plan_id`: a string, documented integer" in details
    assert "`colour` is not documented" in details


# -- in front of drifted upstreams ----------------------------------------------------------------------------


def _create_two_then_list(client: httpx.Client) -> None:
    client.post(SERVERS, json=ORDER)
    client.post(SERVERS, json=ORDER)
    client.get(SERVERS)


def _list_without_the_slash(client: httpx.Client) -> None:
    client.get("/api/v1/servers")


def _read_a_server_that_is_not_there(client: httpx.Client) -> None:
    client.get(f"{SERVERS}999999/")


def _start_an_active_server(client: httpx.Client) -> None:
    server_id = create_and_wait(client)
    assert client.post(f"{SERVERS}{server_id}/start/").status_code == 200


def _learn_the_permissions_then_create(client: httpx.Client) -> None:
    assert client.get("/api/v1/account/me/").json()["token"]["permissions"] == ["servers:read"]
    assert client.get(SERVERS).status_code == 200  # a read: allowed
    assert client.post(SERVERS, json=ORDER).status_code == 201  # a write: not allowed, answered all the same


def _stop_and_watch(client: httpx.Client) -> None:
    server_id = create_and_wait(client)
    assert client.post(f"{SERVERS}{server_id}/stop/").status_code == 200
    poll(client, server_id, lambda s: s["status"] not in ("active", "stopping"), tries=30)


def _stop_and_wait_past_the_timeout(client: httpx.Client) -> None:
    server_id = create_and_wait(client)
    assert client.post(f"{SERVERS}{server_id}/stop/").status_code == 200
    time.sleep(0.6)  # past the proxy's --transition-timeout 0.5: the next read shows it still stopping
    poll(client, server_id, lambda s: True)


SCENARIOS: dict[str, tuple[Callable[[httpx.Client], None], set[tuple[str, str]], list[str]]] = {
    "renamed_fields": (lifecycle, {("listServers", "missing-field"), ("createServer", "missing-field"),
                                   ("getServer", "missing-field")}, []),
    "string_ids": (lifecycle, {("listServers", "wrong-type"), ("createServer", "wrong-type"),
                               ("getServer", "wrong-type"), ("stopServer", "wrong-type")}, []),
    "running_for_active": (lambda c: lifecycle(c, running="running"),
                           {("listServers", "undocumented-value"), ("getServer", "undocumented-value")}, []),
    "paginated_lists": (_create_two_then_list, {("listServers", "count-mismatch")}, []),
    "no_slash_redirect": (_list_without_the_slash, {("listServers", "missing-redirect")}, []),
    "html_errors": (_read_a_server_that_is_not_there, {("getServer", "wrong-content-type")}, []),
    "accepted_refused_action": (_start_an_active_server, {("startServer", "refused-action-accepted")}, []),
    "stop_comes_back_active": (_stop_and_watch, {("stopServer", "transition-not-followed")}, []),
    "stop_never_stops": (_stop_and_wait_past_the_timeout, {("stopServer", "transition-not-followed")},
                         ["--transition-timeout", "0.5"]),
    "permissions_not_enforced": (_learn_the_permissions_then_create, {("createServer", "permission-not-enforced")},
                                 []),
}  # fmt: skip


def test_every_drift_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == sorted(DRIFTS)


@pytest.mark.parametrize("drift", sorted(SCENARIOS))
def test_a_drifted_upstream_is_reported_as_errors_of_the_right_operation_and_kind(drift: str) -> None:
    scenario, expected, args = SCENARIOS[drift]
    upstream = Upstream(DRIFTS[drift]())
    proxy = Proxy(upstream.url, *args)
    try:
        with proxy.client(headers=AUTH) as client:
            scenario(client)
        report = proxy.drift()
    finally:
        proxy.stop()
        upstream.stop()
    assert errors(report) == {("service", operation, kind) for operation, kind in expected}, report["departures"]


def test_the_same_session_against_the_mock_itself_reports_nothing() -> None:
    upstream = Upstream(faithful())
    proxy = Proxy(upstream.url, "--transition-timeout", "0.5")
    try:
        with proxy.client(headers=AUTH) as client:
            lifecycle(client)
            _create_two_then_list(client)
            _stop_and_wait_past_the_timeout(client)
            server_id = create_and_wait(client)
            assert client.post(f"{SERVERS}{server_id}/start/").status_code == 400
            assert client.get("/api/v1/account/me/").json()["token"]["permissions"] == ["*:*"]
        report = proxy.drift()
    finally:
        proxy.stop()
        upstream.stop()
    assert report["departures"] == []


def test_renamed_fields_say_which_field_and_warn_of_the_new_name() -> None:
    upstream = Upstream(DRIFTS["renamed_fields"]())
    proxy = Proxy(upstream.url)
    try:
        with proxy.client(headers=AUTH) as client:
            client.get(f"{SERVERS}12345/")
        report = proxy.drift()
    finally:
        proxy.stop()
        upstream.stop()
    (missing,) = [d for d in report["departures"] if d["kind"] == "missing-field"]
    assert missing["detail"] == "`ip_address` is missing"
    assert (
        missing["example"]["curl"]
        == f'curl -X GET {upstream.url}/api/v1/servers/12345/ -H "authorization: Bearer $TOKEN"'
    )
    assert '"ipv4": "203.0.113.10"' in missing["example"]["response"]
    assert warnings(report) == {("service", "getServer", "extra-field")}


# -- exit status, failures, recording, state ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drift", "flag", "status"),
    [("faithful", True, 0), ("string_ids", True, 1), ("string_ids", False, 0)],
)
def test_fail_on_drift_exits_1_when_an_error_was_seen(drift: str, flag: bool, status: int) -> None:
    upstream = Upstream(faithful() if drift == "faithful" else DRIFTS[drift]())
    proxy = Proxy(upstream.url, *(["--fail-on-drift"] if flag else []))
    try:
        with proxy.client(headers=AUTH) as client:
            assert client.get(f"{SERVERS}12345/").status_code == 200
    finally:
        assert proxy.stop() == status
        upstream.stop()
    assert re.search(r"mockvps proxy: 1 exchanges; \d+ service errors", proxy.output())


def test_an_upstream_that_cannot_be_reached_is_a_json_502_naming_the_cause() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    proxy = Proxy(f"http://127.0.0.1:{port}")
    try:
        with proxy.client(headers=AUTH) as client:
            answer = client.get(SERVERS)
        report = proxy.drift()
    finally:
        proxy.stop()
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": f"Bad gateway: cannot connect to the upstream http://127.0.0.1:{port}: "
                                       "connection refused."}  # fmt: skip
    assert errors(report) == {("service", "listServers", "unreachable")}


def test_an_upstream_that_does_not_answer_in_time_is_a_json_502_too() -> None:
    import asyncio

    async def silent(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(30)

    upstream = Upstream(silent)
    proxy = Proxy(upstream.url, "--timeout", "0.3")
    try:
        with proxy.client(headers=AUTH) as client:
            answer = client.get(f"{SERVERS}12345/")
    finally:
        proxy.stop()
        upstream.server.force_exit = True
        upstream.stop()
    assert answer.status_code == 502
    assert answer.json() == {"detail": f"Bad gateway: the upstream {upstream.url} did not answer within 0.3 s."}


def test_answers_pass_unchanged_headers_and_bytes(mock: Served) -> None:
    proxy = Proxy(mock.url)
    try:
        for path in (f"{SERVERS}12345/", "/api/v1/servers", f"{SERVERS}0/", "/_mockvps/health"):
            direct = httpx.get(mock.url + path, headers=AUTH)
            through = httpx.get(proxy.url + path, headers=AUTH)
            assert (through.status_code, through.content) == (direct.status_code, direct.content)
            assert {k: v for k, v in through.headers.items() if k != "date"} == {
                k: v for k, v in direct.headers.items() if k != "date"
            }
    finally:
        proxy.stop()


HAR_SCHEMA = {
    "type": "object",
    "required": ["log"],
    "properties": {"log": {
        "type": "object",
        "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"]},
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string", "format": "date-time"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {"type": "object", "required": ["method", "url", "httpVersion", "cookies", "headers",
                                                               "queryString", "headersSize", "bodySize"],
                                "properties": {"headers": {"$ref": "#/$defs/pairs"},
                                               "queryString": {"$ref": "#/$defs/pairs"},
                                               "cookies": {"$ref": "#/$defs/pairs"},
                                               "postData": {"type": "object", "required": ["mimeType"]}}},
                    "response": {"type": "object", "required": ["status", "statusText", "httpVersion", "cookies",
                                                                "headers", "content", "redirectURL", "headersSize",
                                                                "bodySize"],
                                 "properties": {"headers": {"$ref": "#/$defs/pairs"},
                                                "content": {"type": "object", "required": ["size", "mimeType"]}}},
                    "cache": {"type": "object"},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"],
                                "additionalProperties": {"type": "number", "minimum": -1}},
                },
            }},
        },
    }},
    "$defs": {"pairs": {"type": "array", "items": {
        "type": "object", "required": ["name", "value"],
        "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
    }}},
}  # fmt: skip


def test_the_recording_is_har_1_2_and_holds_no_secret(tmp_path: Path) -> None:
    import jsonschema  # type: ignore[import-untyped]

    upstream = Upstream(faithful())
    har, reports = tmp_path / "session.har", tmp_path / "reports"
    proxy = Proxy(upstream.url, "--record", str(har), "--report", str(reports), "--log-level", "debug")
    secret_cookie = "cookie-secret-5b1e7a"
    try:
        with proxy.client(headers={**AUTH, "Cookie": f"sessionid={secret_cookie}"}) as client:
            lifecycle(client)
            client.get(SERVERS, params={"token": TOKEN})  # a token in a URL is redacted there too
            client.get(SERVERS, headers={"Authorization": "Bearer wrong-token-77c1"})
        requests = proxy.drift()["exchanges"]
    finally:
        assert proxy.stop() == 0
        upstream.stop()
    text = har.read_text()
    recording = json.loads(text)
    jsonschema.validate(recording, HAR_SCHEMA, format_checker=jsonschema.FormatChecker())
    entries = recording["log"]["entries"]
    assert len(entries) == requests
    assert entries[1]["request"]["method"] == "POST" and entries[1]["response"]["status"] == 201
    assert json.loads(entries[1]["request"]["postData"]["text"]) == ORDER
    assert {"name": "authorization", "value": "Bearer [redacted]"} in entries[0]["request"]["headers"]
    assert entries[0]["request"]["cookies"] == [{"name": "sessionid", "value": "[redacted]"}]
    written = [text, *(p.read_text() for p in reports.iterdir()), proxy.output()]
    for secret in (TOKEN, secret_cookie, "wrong-token-77c1"):
        assert not any(secret in w for w in written), secret


def test_the_recording_stays_within_its_bound(tmp_path: Path) -> None:
    upstream = Upstream(faithful())
    har = tmp_path / "session.har"
    proxy = Proxy(upstream.url, "--record", str(har), "--record-max-bytes", "20000")
    try:
        with proxy.client(headers=AUTH) as client:
            for i in range(40):
                client.get(f"{SERVERS}12345/", params={"n": str(i)})
    finally:
        proxy.stop()
        upstream.stop()
    log = json.loads(har.read_text())["log"]
    assert har.stat().st_size < 20000 + 1000
    assert 0 < len(log["entries"]) < 40
    assert log["entries"][-1]["request"]["url"].endswith("?n=39")  # the newest are kept
    assert "entries were dropped" in log["comment"]


def test_state_from_a_recording_starts_a_mock_holding_what_the_recording_last_saw(tmp_path: Path) -> None:
    upstream = Upstream(faithful())
    har = tmp_path / "live.har"
    proxy = Proxy(upstream.url, "--record", str(har))
    try:
        with proxy.client(headers=AUTH) as client:
            stopped = create_and_wait(client)
            client.post(f"{SERVERS}{stopped}/stop/")
            poll(client, stopped, lambda s: s["status"] == "stopped")
            renamed = create_and_wait(client)
            client.patch(f"{SERVERS}{renamed}/", json={"name": "renamed", "hostname": "renamed.example.com"})
            client.get(f"{SERVERS}{renamed}/")
            client.delete(f"{SERVERS}12346/")
            client.get(SERVERS)
        live = httpx.get(upstream.url + SERVERS, headers=AUTH).json()["results"]
    finally:
        proxy.stop()
        upstream.stop()
    reproduced = Served("--state-from", str(har), "--log-level", "warning")
    try:
        auth = {"Authorization": "Bearer mockvps-dev-token"}
        offline = httpx.get(reproduced.url + SERVERS, headers=auth).json()["results"]
        detail = httpx.get(f"{reproduced.url}{SERVERS}{renamed}/", headers=auth).json()
        next_id = httpx.post(reproduced.url + SERVERS, headers=auth, json=ORDER).json()["id"]
    finally:
        reproduced.stop()
    assert [s["id"] for s in offline] == [12345, stopped, renamed]
    assert offline == live
    assert detail["hostname"] == "renamed.example.com" and detail["status"] == "active"
    assert next_id == renamed + 1


def test_the_report_on_disk_is_the_report_of_the_endpoint(tmp_path: Path) -> None:
    upstream = Upstream(DRIFTS["string_ids"]())
    proxy = Proxy(upstream.url, "--report", str(tmp_path))
    try:
        with proxy.client(headers=AUTH) as client:
            client.get(f"{SERVERS}12345/")
            client.get(f"{SERVERS}12346/")
        live = proxy.drift()
        markdown = httpx.get(proxy.url + "/_mockvps/drift", params={"format": "markdown"}).text
    finally:
        proxy.stop()
        upstream.stop()
    assert json.loads((tmp_path / "drift.json").read_text()) == live
    assert live["upstream"] == upstream.url and live["exchanges"] == 2
    (departure,) = [d for d in live["departures"] if d["severity"] == "error"]
    assert (departure["operation"], departure["kind"], departure["count"]) == ("getServer", "wrong-type", 2)
    on_disk = (tmp_path / "drift.md").read_text()
    for text in (markdown, on_disk):
        assert "### getServer" in text
        assert "| error | wrong-type | 2 | `id`: a string, documented integer |" in text
        assert '-H "authorization: Bearer $TOKEN"' in text


def test_the_proxy_listens_on_loopback_unless_told(mock: Served) -> None:
    proxy = Proxy(mock.url)
    try:
        assert proxy.url.startswith("http://127.0.0.1:")
    finally:
        proxy.stop()


def test_without_its_extra_the_proxy_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mockvps.cli import main

    monkeypatch.setitem(sys.modules, "openapi_core", None)
    assert main(["proxy", "--upstream", "http://127.0.0.1:9"]) == 2
    assert "pip install 'mockvps[proxy]'" in capsys.readouterr().err


def test_serving_the_mock_imports_nothing_of_the_proxy() -> None:
    code = (
        "import sys\n"
        "from mockvps.cli import _parser\n"
        "from mockvps.app import create_app\n"
        "_parser(); create_app()\n"
        "loaded = [m for m in sys.modules if m.startswith(('mockvps.proxy', 'openapi_core', 'jsonschema'))]\n"
        "assert loaded == [], loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_dashboard_shows_the_drift_through_the_proxy() -> None:
    from selenium.webdriver.common.by import By

    from tests.test_dashboard import browser, wait_for

    upstream = Upstream(DRIFTS["string_ids"]())
    proxy = Proxy(upstream.url)
    driver = browser(offline=True)
    try:
        httpx.get(f"{proxy.url}{SERVERS}12345/", headers=AUTH)
        driver.get(f"{proxy.url}/_mockvps/ui/")
        row = '#drift tr[data-kind="wrong-type"]'
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, row))
        text = driver.find_element(By.CSS_SELECTOR, row).text
        assert "getServer" in text and "error" in text
        assert driver.find_element(By.ID, "servers").is_displayed()
    finally:
        driver.quit()
        proxy.stop()
        upstream.stop()


def test_the_readme_names_every_kind_of_departure_with_its_severity() -> None:
    from mockvps.departures import KINDS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    listing = text[text.index("The kinds, shared with") :].split("\n\n", 1)[0]
    errors_part, _, warnings_part = listing.partition("warnings ")
    for kind in KINDS.values():
        assert f"`{kind.name}`" in (errors_part if kind.severity.value == "error" else warnings_part), kind.name
