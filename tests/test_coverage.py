"""Coverage of the API: what clients were answered and shown, counted by the mock and reported against what the
contract documents, with a hint for everything never seen."""

from __future__ import annotations

import ast
import contextlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mockvps.app import MockApp
from mockvps.clock import VirtualClock
from mockvps.control.coverage import coverage_report
from mockvps.coverage_report import combine, load, markdown, reaches, table
from mockvps.pytest_plugin import MockVPS
from mockvps.shared.coverage import Tally
from mockvps.shared.faults import DropConnection
from mockvps.testing import ControlClient, ControlError
from tests.conftest import CREATE
from tests.test_cli import Served

SERVERS = "/api/v1/servers/"


def seen(report: dict[str, Any]) -> dict[str, Any]:
    """What a report says was seen, and nothing else: statuses by operation (or by method and path), transitions,
    refusals and faults, each with its count."""
    statuses = {
        row["operation"] or f"{row['method']} {row['path']}": {
            c: e["seen"] for c, e in row["statuses"].items() if e["seen"]
        }
        for row in report["operations"]
    }
    return {
        "statuses": {name: counts for name, counts in statuses.items() if counts},
        "transitions": {f"{t['from']}->{t['to']}": t["seen"] for t in report["transitions"] if t["seen"]},
        "refusals": {
            f"{r['operation']} {r['kind']} {r['status'] or r['field'] or ''}".strip(): r["seen"]
            for r in report["refusals"]
            if r["seen"]
        },
        "faults": {f"{f['operation']} {f['kind']}": f["seen"] for f in report["faults"] if f["seen"]},
    }


def hint_of(report: dict[str, Any], operation: str, status: str) -> str | None:
    row = next(r for r in report["operations"] if r["operation"] == operation)
    hint: str | None = row["statuses"][status]["hint"]
    return hint


# -- a client's known sequence, over a real socket ------------------------------------------------------------


@pytest.mark.mockvps(
    mode="manual", servers=[{"name": "db", "plan_id": 2, "os_id": 3, "location": "us-east", "status": "stopped"}]
)
def test_a_client_s_requests_are_counted_exactly(mockvps: MockVPS) -> None:
    control = mockvps.control
    with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers, follow_redirects=False) as api:
        (db,) = api.get("servers/").json()["results"]  # shows db stopped
        web = api.post("servers/", json=CREATE).json()  # shows web provisioning
        assert api.get(f"servers/{web['id']}/").json()["status"] == "provisioning"
        control.advance_server(web["id"])
        assert api.get(f"servers/{web['id']}/").json()["status"] == "active"  # provisioning -> active
        assert api.post(f"servers/{web['id']}/start/").status_code == 400  # refused: active
        assert api.post(f"servers/{web['id']}/stop/").json()["server"]["status"] == "stopping"  # active -> stopping
        control.advance_server(web["id"])
        assert {s["status"] for s in api.get("servers/").json()["results"]} == {"stopped"}  # stopping -> stopped
        assert api.post(f"servers/{db['id']}/start/").status_code == 200  # stopped -> starting
        assert api.post("servers", json=CREATE).status_code == 301
        assert api.put("servers/").status_code == 405  # a wrong method on the list's path
        assert api.post("servers/", json={**CREATE, "plan_id": 999}).status_code == 400
        assert api.patch(f"servers/{web['id']}/", content=b"{").status_code == 400
        assert api.get("servers/999999/").status_code == 404
        assert api.head("servers/").status_code == 200
        control.add_fault(operation="getServer", status=503, times=1)
        assert api.get(f"servers/{web['id']}/").status_code == 503
        control.add_fault(operation="listServers", drop=True, times=1)
        # httpx's RemoteProtocolError, or httpcore's when pytester's in-process runs have reloaded httpcore
        with pytest.raises(Exception, match="peer closed connection without sending complete message body"):
            api.get("servers/")
        control.add_fault(operation="deleteServer", latency_ms=1, times=1)
        assert api.delete(f"servers/{web['id']}/").status_code == 204

    report = control.coverage()
    assert report["account"] == mockvps.account
    assert seen(report) == {
        "statuses": {
            "listServers": {"200": 2, "405": 1},  # the dropped list has no status
            "createServer": {"201": 1, "301": 1, "400": 1, "405": 1},
            "getServer": {"200": 2, "404": 1, "503": 1},
            "updateServer": {"400": 1},
            "deleteServer": {"204": 1},
            "startServer": {"200": 1, "400": 1},
            "stopServer": {"200": 1},
            "HEAD /api/v1/servers/": {"200": 1},
        },
        "transitions": {
            "provisioning->active": 1,
            "active->stopping": 1,
            "stopping->stopped": 1,
            "stopped->starting": 1,
        },
        "refusals": {
            "createServer field plan_id": 1,
            "updateServer malformed_json": 1,
            "startServer lifecycle active": 1,
        },
        "faults": {"listServers drop": 1, "getServer status": 1, "deleteServer latency": 1},
    }
    get_server = next(r for r in report["operations"] if r["operation"] == "getServer")
    assert get_server["statuses"]["503"] == {"documented": False, "seen": 1, "hint": None}
    assert "401" not in get_server["statuses"]  # no account's request meets a 401
    assert report["summary"] == {
        "documented": 143,
        "seen": 23,
        "percent": 16.0,
        "statuses": {"documented": 60, "seen": 13},
        "transitions": {"documented": 14, "seen": 4},
        "refusals": {"documented": 39, "seen": 3},
        "faults": {"documented": 30, "seen": 3},
    }
    unseen = [
        (row["operation"], code)
        for row in report["operations"]
        for code, entry in row["statuses"].items()
        if entry["documented"] and not entry["seen"]
    ]
    assert len(unseen) == 60 - 13
    assert ("createServer", "402") in unseen and ("rebootServer", "200") in unseen
    assert 'balance="0"' in (hint_of(report, "createServer", "402") or "")
    assert hint_of(report, "createServer", "201") is None  # seen: no hint
    stopped_stop = next(r for r in report["refusals"] if r["operation"] == "stopServer" and r["status"] == "stopped")
    assert stopped_stop["seen"] == 0 and stopped_stop["hint"].startswith("seed a stopped server")


# -- in process: accounts, the whole mock, resets ---------------------------------------------------------------


@pytest.fixture
def control(app: MockApp) -> Iterator[ControlClient]:
    with ControlClient.for_app(app) as control:
        yield control


def test_the_whole_mock_counts_what_no_account_could(
    client: TestClient, anon: TestClient, control: ControlClient
) -> None:
    anon.get(SERVERS)
    anon.get(SERVERS, headers={"Authorization": "Bearer wrong"})
    client.get(SERVERS)
    whole = seen(control.coverage())["statuses"]
    assert whole["listServers"] == {"200": 1, "401": 2}
    assert seen(control.scoped("default").coverage())["statuses"] == {"listServers": {"200": 1}}


def test_a_deleted_account_s_counts_stay_in_the_mock_s_and_its_name_starts_afresh(
    client: TestClient, control: ControlClient
) -> None:
    account = control.create_account(name="ci")
    ci = {"Authorization": f"Bearer {account.token}"}
    client.post(SERVERS, json=CREATE, headers=ci)
    client.post(SERVERS, json=CREATE)
    control.scoped("ci").delete_account()
    assert seen(control.coverage())["statuses"]["createServer"] == {"201": 2}
    again = control.create_account(name="ci")
    assert seen(control.scoped("ci").coverage())["statuses"] == {}
    client.post(SERVERS, json=CREATE, headers={"Authorization": f"Bearer {again.token}"})
    assert seen(control.scoped("ci").coverage())["statuses"] == {"createServer": {"201": 1}}
    assert seen(control.coverage())["statuses"]["createServer"] == {"201": 3}


def test_counts_outlive_a_reset_of_the_mock_until_they_are_deleted(client: TestClient, control: ControlClient) -> None:
    client.get(f"{SERVERS}12345/")
    control.reset()
    client.get(f"{SERVERS}12345/")
    assert seen(control.coverage())["statuses"] == {"getServer": {"200": 2}}
    control.reset_coverage()
    assert control.coverage()["summary"]["seen"] == 0
    assert seen(control.coverage())["statuses"] == {}


def test_an_unknown_account_has_no_coverage(control: ControlClient) -> None:
    with pytest.raises(ControlError) as refused:
        control.scoped("nobody").coverage()
    assert refused.value.status == 404


def test_a_server_listed_again_unchanged_shows_no_transition(
    client: TestClient, control: ControlClient, clock: VirtualClock
) -> None:
    client.get(SERVERS)
    client.post(f"{SERVERS}12345/stop/")
    clock.advance(60)
    client.get(SERVERS)  # stopping -> stopped, through the list
    client.get(SERVERS)
    client.get(f"{SERVERS}12345/")
    assert seen(control.coverage())["transitions"] == {"active->stopping": 1, "stopping->stopped": 1}


def test_a_head_request_shows_no_status_and_hides_none_from_the_next_read(
    client: TestClient, control: ControlClient, clock: VirtualClock
) -> None:
    client.get(SERVERS)
    client.post(f"{SERVERS}12345/stop/")
    clock.advance(60)
    assert client.head(SERVERS).status_code == 200  # would render 12345 stopped, but shows nothing
    assert seen(control.coverage())["transitions"] == {"active->stopping": 1}
    client.get(SERVERS)
    assert seen(control.coverage())["transitions"] == {"active->stopping": 1, "stopping->stopped": 1}


def test_a_jump_a_client_saw_is_reported_as_undocumented(client: TestClient, control: ControlClient) -> None:
    client.get(f"{SERVERS}12345/")
    default = control.scoped("default")
    default.suspend(12345)
    default.unsuspend(12345)  # suspended, then stopped: the client saw neither move
    client.get(f"{SERVERS}12345/")
    jumps = [t for t in control.coverage()["transitions"] if not t["documented"]]
    assert jumps == [{"from": "active", "to": "stopped", "documented": False, "seen": 1, "hint": None}]
    assert control.coverage()["summary"]["transitions"]["seen"] == 0


def test_a_fresh_mock_has_seen_nothing_and_hints_at_everything(control: ControlClient, client: TestClient) -> None:
    report = control.coverage()
    assert client.head("/_mockvps/coverage").status_code == 200  # HEAD wherever GET is, as on every control path
    assert report["summary"]["seen"] == 0
    assert report["summary"]["documented"] == 70 + 14 + 39 + 30
    entries = [e for row in report["operations"] for e in row["statuses"].values()]
    entries += report["transitions"] + report["refusals"] + report["faults"]
    assert all(e["documented"] and e["hint"] and "\n" not in e["hint"] for e in entries)
    assert report == coverage_report(Tally()).model_dump(mode="json")


# -- every hint, followed as written, makes its behaviour seen ---------------------------------------------------

VALID: dict[str, dict[str, Any]] = {
    "POST": CREATE,
    "PUT": {"name": "web", "hostname": None, "backups_enabled": False},
    "PATCH": {},
}
REQUEST = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/v1/\S*)")


def behaviours(report: dict[str, Any]) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(section, hint, the key that finds the entry again) for every documented behaviour."""
    found: list[tuple[str, str, tuple[Any, ...]]] = [
        ("statuses", entry["hint"], (row["operation"], code))
        for row in report["operations"]
        for code, entry in row["statuses"].items()
    ]
    found += [("transitions", t["hint"], (t["from"], t["to"])) for t in report["transitions"]]
    found += [("refusals", r["hint"], (r["operation"], r["kind"], r["status"], r["field"])) for r in report["refusals"]]
    found += [("faults", f["hint"], (f["operation"], f["kind"])) for f in report["faults"]]
    return found


KEYS = {
    "transitions": ("from", "to"),
    "refusals": ("operation", "kind", "status", "field"),
    "faults": ("operation", "kind"),
}


def find(report: dict[str, Any], section: str, key: tuple[Any, ...]) -> dict[str, Any]:
    """The entry of a section that `key` names, as `behaviours` made it."""
    if section == "statuses":
        row = next(r for r in report["operations"] if r["operation"] == key[0])
        entry: dict[str, Any] = row["statuses"][key[1]]
        return entry
    found: dict[str, Any] = next(
        e for e in report[section] if e["documented"] and tuple(e[k] for k in KEYS[section]) == key
    )
    return found


def must(found: re.Match[str] | None) -> re.Match[str]:
    assert found is not None
    return found


class HintFollower:
    """Does what a hint says, in a fresh account, with a client of the public API and a control client."""

    def __init__(self, client: TestClient, control: ControlClient, index: int) -> None:
        self.client, self.control, self.name = client, control, f"hint-{index}"

    def account(self, hint: str) -> ControlClient:
        options: dict[str, Any] = {"name": self.name}
        if 'mode="manual"' in hint:
            options["mode"] = "manual"
        if 'balance="0"' in hint:
            options["balance"] = "0"
        if permissions := re.search(r"permissions=(\[.*?\])", hint):
            options["tokens"] = [{"permissions": json.loads(permissions.group(1))}]
        self.token = self.control.create_account(**options).token
        return self.control.scoped(self.name)

    def request(self, method: str, written: str, hint: str = "", server: int | None = None) -> Any:
        written = written.rstrip(".,:)")
        rest = hint.split(written, 1)[-1]  # what the hint says after the request's path
        path = written.replace("{server_id}", str(server))
        headers = {} if "without `Authorization`" in hint else {"Authorization": f"Bearer {self.token}"}
        content: bytes | None = None
        body: Any = None
        if "JSON array" in hint:
            content = b"[]"
        elif "the body `{`" in hint:
            content = b"{"
        elif "over 1 MiB" in hint:
            content = b'{"name": "' + b"x" * (1 << 20) + b'"}'
        elif "text/plain" in hint:
            content, headers["Content-Type"] = b"name=web", "text/plain"
        elif literal := re.search(r"(?:^|: )(\{.*\})$", rest.strip()):  # a body the hint ends with
            body = json.loads(literal.group(1))
        elif m := re.search(r'with ("\w+": [^(]+?) \(', hint):
            body = {**VALID[method], **json.loads("{" + m.group(1) + "}")}
        elif m := re.search(r"without `(\w+)` \(every field", hint):
            body = {k: v for k, v in VALID[method].items() if k != m.group(1)}
        elif method in VALID and ("valid body" in hint or method != "PATCH"):
            body = VALID[method]
        if content is not None:
            headers.setdefault("Content-Type", "application/json")
            return self.client.request(method, path, content=content, headers=headers)
        return self.client.request(method, path, json=body, headers=headers)

    def follow(self, hint: str) -> None:
        mine = self.account(hint)
        server = None
        if hint.startswith("seed "):
            status = must(re.search(r'"status": "(\w+)"', hint)).group(1)
            seeded = mine.seed_server(name="web", plan_id=1, os_id=5, location="us-west", status=status)
            server = seeded["id"]
        elif "add_fault(" in hint or REQUEST.match(hint) or "{server_id}" in hint:
            server = mine.seed_server(name="web", plan_id=1, os_id=5, location="us-west")["id"]
        detail = f"{SERVERS}{server}/"
        if rule := re.search(r"add_fault\((.*?)\)`", hint):
            call = ast.parse(f"f({rule.group(1)})", mode="eval").body
            assert isinstance(call, ast.Call)
            mine.add_fault(**{str(k.arg): ast.literal_eval(k.value) for k in call.keywords})
            method, path = must(REQUEST.search(hint.rsplit("then", 1)[1])).groups()
            with contextlib.suppress(DropConnection):  # what a dropping rule makes the app raise, in process
                self.request(method, path, server=server)
            return
        if hint.startswith("create a server (the answer shows provisioning)"):
            created = self.request("POST", SERVERS)
            mine.advance(300)
            self.client.get(f"{SERVERS}{created.json()['id']}/", headers={"Authorization": f"Bearer {self.token}"})
            return
        if hint.startswith("create a server on an account"):
            self.request("POST", SERVERS)
            return
        if not hint.startswith("seed "):
            method, path = must(REQUEST.match(hint)).groups()
            self.request(method, path, hint, server)
            return
        auth = {"Authorization": f"Bearer {self.token}"}
        if ", read it" in hint:
            self.client.get(detail, headers=auth)
        if operator := re.search(r"read it, (suspend|unsuspend) it", hint):
            getattr(mine, operator.group(1))(server)
            self.client.get(detail, headers=auth)
        elif action := re.search(r", (?:then )?(start|stop|reboot) it[ :(]", hint):
            self.client.post(f"{detail}{action.group(1)}/", headers=auth)
            if "after the delay" in hint:
                mine.advance(300)
                self.client.get(detail, headers=auth)


def test_every_hint_followed_as_written_makes_its_behaviour_seen(app: MockApp, control: ControlClient) -> None:
    unseen = behaviours(control.coverage())
    with TestClient(app, follow_redirects=False, raise_server_exceptions=True) as client:
        for index, (section, hint, key) in enumerate(unseen):
            control.reset_coverage()
            HintFollower(client, control, index).follow(hint)
            entry = find(control.coverage(), section, key)
            assert entry["seen"] >= 1, f"{section} {key}: following {hint!r} did not make it seen"
    # Every documented behaviour can be seen: the catalogue holds nothing the mock cannot show.
    assert len(unseen) == control.coverage()["summary"]["documented"]


# -- reports read by people: combined, as a table, as Markdown, against a bar -------------------------------------


def test_reports_of_two_mocks_combine_into_their_sums(client: TestClient, control: ControlClient) -> None:
    client.post(SERVERS, json=CREATE)
    client.get(f"{SERVERS}999999/")
    one = load(control.coverage())
    control.reset_coverage()
    client.post(SERVERS, json=CREATE)
    client.post(f"{SERVERS}12345/stop/")
    two = load(control.coverage())
    both = combine([one, two]).model_dump(mode="json")
    assert seen(both)["statuses"] == {"createServer": {"201": 2}, "getServer": {"404": 1}, "stopServer": {"200": 1}}
    assert both["summary"]["seen"] == 3
    assert hint_of(both, "getServer", "404") is None and hint_of(both, "stopServer", "400")


def test_the_bar_is_held_exactly(client: TestClient, control: ControlClient) -> None:
    for _ in range(3):
        client.get(SERVERS)
    report = load(control.coverage())
    assert report.summary.seen == 1 and report.summary.documented == 153
    assert reaches(report, 0.65) and not reaches(report, 0.66)  # 1 of 153: 0.6536%
    assert report.summary.percent == 0.6  # rounded down, never up


def test_the_table_and_the_markdown_say_what_was_seen_and_what_to_do(
    client: TestClient, control: ControlClient
) -> None:
    client.post(SERVERS, json=CREATE)
    report = load(control.coverage())
    text = table(report, hints=3)
    assert text.startswith("mockvps coverage (the whole mock): 1 of 153 documented behaviours seen (0.6%)")
    row = next(line for line in text.splitlines() if line.strip().startswith("createServer") and "201" not in line)
    assert row.split()[1:3] == ["1", "-"]  # 201 seen once, 301 never
    assert "never seen: 152; the first 3:" in text and "... and 149 more" in text
    md = markdown(report)
    assert "| createServer |  | 1 |" in md
    assert md.count("\n- **") == 152 and "- **402 on createServer**: create a server on an account" in md


# -- `mockvps coverage`, against a mock driven with curl --------------------------------------------------------


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served("--token", "curl-token", "--provisioning-delay", "0", "--log-level", "warning")
    yield server
    server.stop()


def curl(*args: str) -> str:
    return subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def test_the_cli_reports_what_curl_was_shown(served: Served) -> None:
    assert shutil.which("curl"), "curl is needed"
    api, auth = f"{served.url}/api/v1/servers/", "Authorization: Bearer curl-token"
    body = json.dumps(CREATE)
    assert curl("-X", "POST", api, "-H", auth, "-H", "Content-Type: application/json", "-d", body) == "201"
    assert curl(f"{api}12345/", "-H", auth) == "200"
    assert curl("-X", "POST", f"{api}12345/start/", "-H", auth) == "400"
    assert curl(api) == "401"

    def coverage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [".venv/bin/mockvps", "coverage", "--url", served.url, *args], capture_output=True, text=True, timeout=60
        )

    whole = coverage("--format", "json")
    assert whole.returncode == 0, whole.stderr
    report = json.loads(whole.stdout)
    assert seen(report) == {
        "statuses": {
            "listServers": {"401": 1},
            "createServer": {"201": 1},
            "getServer": {"200": 1},
            "startServer": {"400": 1},
        },
        "transitions": {},
        "refusals": {"startServer lifecycle active": 1},
        "faults": {},
    }
    assert report["summary"]["seen"] == 5
    mine = coverage("--account", "default", "--format", "table")
    assert mine.returncode == 0
    assert mine.stdout.startswith("mockvps coverage (account default): 4 of 143 documented behaviours seen (2.7%)")
    passing = coverage("--fail-under", "3.26")  # 5 of 153: 3.268%
    assert passing.returncode == 0, passing.stderr
    failing = coverage("--fail-under", "3.27", "--format", "md")
    assert failing.returncode == 1
    assert "FAIL Required mockvps coverage of 3.27% not reached: 5 of 153" in failing.stderr
    assert failing.stdout.startswith("# mockvps coverage (the whole mock)")
    unknown = coverage("--account", "nobody")
    assert unknown.returncode == 2 and "answered 404 (account nobody)" in unknown.stderr
