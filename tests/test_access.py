"""Attacks on a developer's local mock, each against a real `mockvps serve` over a real socket.

A web page the developer happens to open may post to http://127.0.0.1:8000 without asking (a "simple" request:
no preflight for a text/plain, form or multipart body, or none), and a page whose domain is re-pointed at
127.0.0.1 (DNS rebinding) reads the answers as its own. Neither may change or read the mock; programs and the
mock's own pages keep working.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_cli import Served

FOREIGN = "http://evil.example"
CREATE = {"name": "web-02", "plan_id": 1, "os_id": 5, "location": "us-west"}
AUTH = {"Authorization": "Bearer mockvps-dev-token"}
REFUSED_HOST = 'Host "evil.example" is not allowed: add it with --allowed-host (MOCKVPS_ALLOWED_HOSTS).'
WRITES = ["/_mockvps/reset", "/_mockvps/clock/freeze", "/_mockvps/accounts/default/servers/12345/suspend"]
PAGES = ["/_mockvps/ui/", "/docs", "/redoc", "/_mockvps/docs"]


@pytest.fixture
def mock() -> Iterator[Served]:
    server = Served("--log-level", "warning")
    with httpx.Client(base_url=server.url) as client:  # something a reset would undo
        assert client.post("/api/v1/servers/", json=CREATE, headers=AUTH).status_code == 201
    yield server
    server.stop()


@pytest.fixture(scope="module")
def reader() -> Iterator[Served]:
    """One mock for the tests that only read."""
    server = Served("--log-level", "warning")
    yield server
    server.stop()


def state(mock: Served) -> Any:
    return httpx.get(f"{mock.url}/_mockvps/state").json()


def port_of(mock: Served) -> int:
    return int(mock.url.rsplit(":", 1)[1])


# -- a page of another origin writes ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", WRITES)
def test_a_page_of_another_origin_cannot_reset_freeze_or_suspend_with_a_text_post(mock: Served, path: str) -> None:
    before = state(mock)
    attack = httpx.post(mock.url + path, content=b"{}", headers={
        "Origin": FOREIGN, "Content-Type": "text/plain;charset=UTF-8", "Sec-Fetch-Site": "cross-site"})  # fmt: skip
    assert attack.status_code == 403, attack.text
    assert "evil.example" in attack.json()["detail"]
    assert state(mock) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": FOREIGN},  # a bodiless fetch(url, {method: "POST", mode: "no-cors"})
        {"Origin": "null"},  # the same from a sandboxed frame or a file: page
        {"Sec-Fetch-Site": "cross-site"},  # a browser that leaves the Origin out still says where it comes from
        {"Origin": "http://127.0.0.1:3000"},  # another local server's page is another origin too
    ],
)
def test_a_bodiless_post_from_another_origin_is_refused(mock: Served, headers: dict[str, str]) -> None:
    before = state(mock)
    for path in WRITES:
        assert httpx.post(mock.url + path, headers=headers).status_code == 403
    assert state(mock) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"x"),
        ("application/x-www-form-urlencoded", b"a=b"),
        ("multipart/form-data; boundary=x", b"--x--\r\n"),
    ],
)
def test_a_body_a_page_can_send_unasked_is_refused_even_without_an_origin(
    mock: Served, content_type: str, body: bytes
) -> None:
    before = state(mock)
    for path in WRITES:
        refused = httpx.post(mock.url + path, content=body, headers={"Content-Type": content_type})
        assert refused.status_code == 415
        assert refused.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert state(mock) == before


def test_programs_and_the_mock_s_own_pages_still_write(mock: Served) -> None:
    own = {"Origin": mock.url, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}
    assert httpx.post(f"{mock.url}/_mockvps/clock/freeze", headers=own).json()["frozen"] is True  # the dashboard
    assert httpx.post(f"{mock.url}/_mockvps/clock/unfreeze").status_code == 200  # curl -X POST
    assert httpx.post(f"{mock.url}/_mockvps/clock/advance", json={"seconds": 60}).status_code == 200  # httpx
    assert httpx.post(f"{mock.url}/_mockvps/reset").status_code == 204


# -- DNS rebinding ----------------------------------------------------------------------------------------------


def test_a_rebound_name_cannot_read_the_state_or_use_the_default_token(mock: Served) -> None:
    port = port_of(mock)
    foreign = {"Host": f"evil.example:{port}"}
    refused = httpx.get(f"{mock.url}/_mockvps/state", headers=foreign)
    assert (refused.status_code, refused.json()) == (400, {"detail": REFUSED_HOST})
    assert httpx.get(f"{mock.url}/api/v1/servers/", headers={**foreign, **AUTH}).status_code == 400
    assert httpx.get(f"{mock.url}/_mockvps/ui/", headers=foreign).status_code == 400
    for name in ("localhost", "127.0.0.1", "127.0.0.2", "app.localhost", "[::1]", "LOCALHOST."):
        assert httpx.get(f"{mock.url}/_mockvps/state", headers={"Host": f"{name}:{port}"}).status_code == 200, name


def an_address_of_this_machine() -> str | None:
    """The address this machine would send from (connecting a UDP socket sends nothing), if it is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


def test_the_address_it_listens_on_is_answered_and_a_foreign_name_is_not() -> None:
    address = an_address_of_this_machine()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    server = Served("--host", address, "--admin-token", "a", "--log-level", "warning")
    try:
        auth = {"Authorization": "Bearer a"}
        assert httpx.get(f"{server.url}/_mockvps/state", headers=auth).status_code == 200  # Host: <address>:<port>
        foreign = {**auth, "Host": "evil.example"}
        assert httpx.get(f"{server.url}/_mockvps/state", headers=foreign).json() == {"detail": REFUSED_HOST}
    finally:
        server.stop()


def test_allowed_host_adds_names_and_a_star_allows_any() -> None:
    server = Served("--allowed-host", "mock.internal", "--allowed-host", "*.ci.example", "--log-level", "warning")
    try:
        for name, status in [("mock.internal", 200), ("a.ci.example", 200), ("localhost", 200), ("evil.example", 400),
                             ("ci.example", 400)]:  # fmt: skip
            assert httpx.get(f"{server.url}/_mockvps/health", headers={"Host": name}).status_code == status, name
        by_name = {"Host": "mock.internal:8000", "Origin": "https://mock.internal"}  # behind a proxy, say
        assert httpx.post(f"{server.url}/_mockvps/clock/freeze", headers=by_name).status_code == 200
    finally:
        server.stop()
    server = Served("--log-level", "warning", env={"MOCKVPS_ALLOWED_HOSTS": "*"})
    try:
        assert httpx.get(f"{server.url}/_mockvps/health", headers={"Host": "evil.example"}).status_code == 200
        assert httpx.post(f"{server.url}/_mockvps/reset", headers={"Origin": FOREIGN}).status_code == 403  # still
    finally:
        server.stop()


def test_listening_on_every_address_answers_any_name_unless_names_are_configured() -> None:
    server = Served("--host", "0.0.0.0", "--log-level", "warning")  # a container reached by its service name
    try:
        url = f"http://127.0.0.1:{port_of(server)}"
        assert httpx.get(f"{url}/_mockvps/health", headers={"Host": "mockvps:8000"}).status_code == 200
    finally:
        server.stop()
    server = Served("--host", "0.0.0.0", "--allowed-host", "mockvps", "--log-level", "warning")
    try:
        url = f"http://127.0.0.1:{port_of(server)}"
        assert httpx.get(f"{url}/_mockvps/health", headers={"Host": "mockvps:8000"}).status_code == 200
        assert httpx.get(f"{url}/_mockvps/health", headers={"Host": "evil.example"}).status_code == 400
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("listen_on", "allowed", "name", "answered"),
    [
        ("127.0.0.1", (), "localhost", True),
        ("127.0.0.1", (), "testserver", True),  # Starlette's TestClient: ControlClient.for_app
        ("127.0.0.1", (), "evil.example", False),
        ("127.0.0.1", (), "127.0.0.1.nip.io", False),
        ("127.0.0.1", (), "localhost.evil.example", False),
        ("192.0.2.10", (), "192.0.2.10", True),
        ("192.0.2.10", (), "192.0.2.11", False),
        ("::", (), "evil.example", True),
        ("0.0.0.0", ("mockvps",), "evil.example", False),
        ("0.0.0.0", ("mockvps",), "mockvps", True),
        ("127.0.0.1", ("*",), "evil.example", True),
        ("::1", (), "::1", True),
    ],
)
def test_the_host_rule(listen_on: str, allowed: tuple[str, ...], name: str, answered: bool) -> None:
    from mockvps.shared.access import HostRule

    assert HostRule(listen_on, allowed).allows(name) is answered


# -- the warning ------------------------------------------------------------------------------------------------


def test_listening_beyond_loopback_without_an_admin_token_warns_once_on_stderr() -> None:
    server = Served("--host", "0.0.0.0", "--log-level", "warning", stderr_apart=True)
    try:
        (line,) = server.errors().splitlines()
        assert line.startswith("mockvps: warning: listening on 0.0.0.0 port ")
        assert "anyone who can reach this port can read and change the mock's state" in line
        assert "--admin-token (MOCKVPS_ADMIN_TOKEN)" in line
    finally:
        server.stop()
    for args in (["--host", "0.0.0.0", "--admin-token", "secret"], ["--host", "127.0.0.1"], ["--host", "localhost"]):
        server = Served(*args, "--log-level", "warning", stderr_apart=True)
        try:
            assert server.errors() == "", args
        finally:
            server.stop()


# -- HEAD and the pages' headers --------------------------------------------------------------------------------


def test_head_of_the_health_check_answers_200_with_no_body(reader: Served) -> None:
    with socket.create_connection(("127.0.0.1", port_of(reader)), timeout=5) as conn:
        conn.sendall(b"HEAD /_mockvps/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert body == b""


@pytest.mark.parametrize(
    "path",
    ["/_mockvps/health", "/_mockvps/accounts", "/_mockvps/accounts/default", "/_mockvps/state", "/_mockvps/journal",
     "/_mockvps/journal/count", "/_mockvps/clock", "/_mockvps/faults", "/_mockvps/openapi.json",
     "/openapi.json", *PAGES],
)  # fmt: skip
def test_head_answers_wherever_get_does_on_the_control_surface(reader: Served, path: str) -> None:
    got = httpx.get(reader.url + path)
    head = httpx.head(reader.url + path)
    assert (got.status_code, head.status_code) == (200, 200)
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.content == b""


def test_a_get_only_route_lists_head_as_allowed(reader: Served) -> None:
    refused = httpx.post(f"{reader.url}/_mockvps/health")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_forbids_framing_sniffing_referrers_and_other_origins(reader: Served, path: str) -> None:
    headers = httpx.get(reader.url + path).headers
    assert headers["content-type"].startswith("text/html")
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    policy = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["script-src"].startswith("'self'") and "unsafe" not in policy["script-src"]
    sources = " ".join(policy.values()).split()
    assert not [s for s in sources if s.startswith(("http", "*")) or s in ("https:", "http:")]  # no other origin


def test_control_answers_are_not_sniffed(reader: Served) -> None:
    assert httpx.get(f"{reader.url}/_mockvps/state").headers["x-content-type-options"] == "nosniff"


# -- the same attacks from a real browser -----------------------------------------------------------------------

ATTACK_PAGE = """<!doctype html><title>cute cats</title><script>
const mock = "%s";
const post = (path, options) => fetch(mock + path, {method: "POST", mode: "no-cors", ...options});
Promise.allSettled([
  post("/_mockvps/reset", {body: "{}", headers: {"Content-Type": "text/plain"}}),
  post("/_mockvps/clock/freeze"),
  post("/_mockvps/accounts/default/servers/12345/suspend", {body: new URLSearchParams({a: "b"})}),
]).then(() => { document.title = "done"; });
</script>"""


@pytest.fixture
def attack_site(mock: Served, tmp_path: Path) -> Iterator[int]:
    """A page of another origin that posts to the mock, served on a port of its own."""
    (tmp_path / "index.html").write_text(ATTACK_PAGE % mock.url)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield site.server_address[1]
    site.shutdown()
    site.server_close()


def test_in_chromium_a_page_of_another_origin_and_a_rebound_name_get_nothing(mock: Served, attack_site: int) -> None:
    from selenium.webdriver.common.by import By

    from tests.test_dashboard import browser, wait_for

    before = state(mock)
    # evil.example resolves to 127.0.0.1: the page's origin is foreign, and the rebound name reaches the mock.
    driver = browser(False, "--host-resolver-rules=MAP evil.example 127.0.0.1")
    try:
        driver.get(f"http://evil.example:{attack_site}/")
        wait_for(driver, lambda d: d.title == "done")
        time.sleep(0.2)
        assert state(mock) == before
        driver.get(f"http://evil.example:{port_of(mock)}/_mockvps/state")
        page = driver.find_element(By.TAG_NAME, "body").text
        assert json.loads(page) == {"detail": REFUSED_HOST}
    finally:
        driver.quit()
