"""`--cors-origin`: browsers on other origins may call the API, as django-cors-headers lets them; off by default.

The last tests run the documentation's JavaScript examples, verbatim but for host and token, in a page that
headless Chromium loads from a second local port: blocked without `--cors-origin`, working with it.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from mockvps.app import MockApp, create_app
from mockvps.clock import VirtualClock
from mockvps.settings import Settings
from tests.conftest import AUTH
from tests.documentation import LIVE_HOST, PLACEHOLDER_TOKEN, examples
from tests.test_cli import Served
from tests.test_dashboard import browser, wait_for

APP = "http://localhost:3000"
LIST = "/api/v1/servers/"
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-headers", "access-control-allow-methods",
                "access-control-max-age", "vary")  # fmt: skip
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip


def mock(*origins: str) -> MockApp:
    return create_app(Settings(cors_origins=origins), clock=VirtualClock())


@pytest.fixture
def cors() -> Iterator[TestClient]:
    with TestClient(mock(APP, "https://app.example"), follow_redirects=False) as client:
        yield client


def cors_headers(response: httpx2.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k in CORS_HEADERS}


def test_off_by_default_a_preflight_is_401_and_no_answer_names_an_origin(anon: TestClient, client: TestClient) -> None:
    preflight = anon.options(LIST, headers=PREFLIGHT)
    assert preflight.status_code == 401
    assert cors_headers(preflight) == {}
    assert cors_headers(client.get(LIST, headers={"Origin": APP})) == {}


@pytest.mark.parametrize("path", [LIST, f"{LIST}12345/", f"{LIST}999/start/", "/api/v1/account/me/", "/api/v9/x/"])
def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(cors: TestClient, path: str) -> None:
    response = cors.options(path, headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.content == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-headers": "accept, authorization, content-type, user-agent, x-csrftoken, "
        "x-requested-with",
        "access-control-allow-methods": "DELETE, GET, OPTIONS, PATCH, POST, PUT",
        "access-control-max-age": "86400",
        "vary": "Origin",
    }


def test_a_preflight_from_another_origin_is_refused_as_before(cors: TestClient) -> None:
    response = cors.options(LIST, headers={**PREFLIGHT, "Origin": "http://evil.example"})
    assert response.status_code == 401
    assert cors_headers(response) == {}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", LIST, 200), ("GET", f"{LIST}12345/", 200), ("POST", LIST, 400), ("GET", f"{LIST}999/", 404),
     ("PUT", LIST, 405), ("GET", LIST.rstrip("/"), 301), ("GET", "/api/v1/account/me/", 200),
     ("OPTIONS", LIST, 200), ("HEAD", LIST, 200)],
)  # fmt: skip
def test_every_answer_to_an_allowed_origin_names_it(cors: TestClient, method: str, path: str, status: int) -> None:
    response = cors.request(method, path, headers={**AUTH, "Origin": "https://app.example"}, json={})
    assert response.status_code == status
    assert cors_headers(response) == {"access-control-allow-origin": "https://app.example", "vary": "Origin"}


def test_refusals_of_credentials_and_faults_name_the_origin_too(cors: TestClient) -> None:
    assert cors_headers(cors.get(LIST, headers={"Origin": APP}))["access-control-allow-origin"] == APP  # 401
    cors.post("/_mockvps/faults", json={"method": "GET", "status": 429, "headers": {"Retry-After": "1"}, "times": 1})
    faulted = cors.get(LIST, headers={**AUTH, "Origin": APP})
    assert faulted.status_code == 429
    assert cors_headers(faulted) == {"access-control-allow-origin": APP, "vary": "Origin"}


def test_no_origin_or_another_origin_gets_no_cors_headers(cors: TestClient) -> None:
    assert cors_headers(cors.get(LIST, headers=AUTH)) == {}
    for origin in ("http://evil.example", "http://localhost:3001", "http://localhost:3000/", "null"):
        assert cors_headers(cors.get(LIST, headers={**AUTH, "Origin": origin})) == {}, origin


def test_star_allows_every_origin_and_answers_star() -> None:
    with TestClient(mock("*")) as client:
        preflight = client.options(LIST, headers={**PREFLIGHT, "Origin": "http://anything.example:1234"})
        assert (preflight.status_code, preflight.headers["access-control-allow-origin"]) == (200, "*")
        answer = client.get(LIST, headers={**AUTH, "Origin": "http://anything.example:1234"})
        assert cors_headers(answer) == {"access-control-allow-origin": "*", "vary": "Origin"}


def test_the_control_api_is_not_opened_to_browsers(cors: TestClient) -> None:
    assert cors_headers(cors.get("/_mockvps/health", headers={"Origin": APP})) == {}


def test_origins_come_from_flags_or_the_environment_and_must_be_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKVPS_CORS_ORIGINS", "http://localhost:3000, https://app.example")
    assert Settings().cors_origins == ("http://localhost:3000", "https://app.example")
    monkeypatch.setenv("MOCKVPS_CORS_ORIGINS", '["*"]')
    assert Settings().cors_origins == ("*",)
    monkeypatch.delenv("MOCKVPS_CORS_ORIGINS")
    assert Settings().cors_origins == ()
    for bad in ("localhost:3000", "http://localhost:3000/", "ftp://x", "http://", "http://a:99999"):
        with pytest.raises(ValidationError, match="is not an origin"):
            Settings(cors_origins=(bad,))


# -- the documentation's JavaScript in a browser on another origin ---------------------------------------------

MODULE = """<!doctype html>
<html><head><meta charset="utf-8"><title>example {index}</title>
<script>
  window.results = [];
  console.log = (value) => window.results.push({{logged: value}});
  window.addEventListener("error", (event) => window.results.push({{error: String(event.error || event.message)}}));
  window.addEventListener("unhandledrejection", (event) => window.results.push({{error: String(event.reason)}}));
</script>
<script type="module">
{code}
</script></head><body>example {index}</body></html>
"""


class Pages(http.server.ThreadingHTTPServer):
    """A second local origin serving one page per documentation example (`load` them once the mock runs)."""

    def __init__(self) -> None:
        self.pages: list[bytes] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                assert isinstance(self.server, Pages)
                page = self.server.pages[int(self.path.strip("/").removesuffix(".html") or 0)]
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"

    def load(self, codes: list[str]) -> None:
        self.pages = [MODULE.format(index=i, code=code).encode() for i, code in enumerate(codes)]

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def javascript_examples(mock_url: str) -> list[str]:
    """The documentation's JavaScript examples, verbatim but for host and token (as the curl tests swap them)."""
    found = [e.javascript for e in examples() if e.javascript is not None]
    assert len(found) == 4  # list, create, detail, start: the documentation gives no others
    return [code.replace(LIVE_HOST, mock_url).replace(PLACEHOLDER_TOKEN, "mockvps-dev-token") for code in found]


def run_in_browser(pages: Pages) -> list[dict[str, Any]]:
    """What each page's example logged (`{"logged": value}`), or the error that stopped it (`{"error": text}`)."""
    driver = browser(offline=True)
    try:
        outcomes = []
        for index in range(len(pages.pages)):
            driver.get(f"{pages.origin}/{index}.html")
            wait_for(driver, lambda d: d.execute_script("return window.results.length > 0"))
            outcomes.append(driver.execute_script("return window.results[0]"))
        return outcomes
    finally:
        driver.quit()


@pytest.fixture
def pages() -> Iterator[Pages]:
    server = Pages()
    yield server
    server.close()


def serve(pages: Pages, *flags: str) -> Served:
    """The mock, with the pages' examples pointed at it and 12345 stopped: the documentation's start example
    starts 12345, which every other example shows running."""
    server = Served("--action-delay", "0", "--log-level", "warning", *flags)
    pages.load(javascript_examples(server.url))
    assert httpx.post(f"{server.url}/api/v1/servers/12345/stop/", headers=AUTH).status_code == 200
    return server


@pytest.mark.parametrize("flags", [(), ("--cors-origin", "http://127.0.0.1:1")], ids=["cors off", "another origin"])
def test_the_javascript_examples_are_blocked_without_cors_for_their_origin(
    pages: Pages, flags: tuple[str, ...]
) -> None:
    server = serve(pages, *flags)
    try:
        outcomes = run_in_browser(pages)
        assert outcomes == [{"error": "TypeError: Failed to fetch"}] * 4
        journal = httpx.get(f"{server.url}/_mockvps/journal").json()
        from_browser = {(e["method"], e["path"], e["status"]) for e in journal if e["account"] is None}
        assert from_browser == {("OPTIONS", "/api/v1/servers/", 401), ("OPTIONS", "/api/v1/servers/12345/", 401),
                                ("OPTIONS", "/api/v1/servers/12345/start/", 401)}  # fmt: skip
        assert httpx.get(f"{server.url}/api/v1/servers/", headers=AUTH).json()["count"] == 2  # nothing created
    finally:
        server.stop()


def test_the_javascript_examples_work_with_cors_for_their_origin(pages: Pages) -> None:
    server = serve(pages, "--cors-origin", pages.origin)
    try:
        listed = httpx.get(f"{server.url}/api/v1/servers/", headers=AUTH).json()
        web = httpx.get(f"{server.url}/api/v1/servers/12345/", headers=AUTH).json()
        outcomes = run_in_browser(pages)
        assert [list(o) for o in outcomes] == [["logged"]] * 4, outcomes
        servers, created, detail, started = (o["logged"] for o in outcomes)
        assert servers == listed
        assert (created["id"], created["name"], created["status"]) == (12347, "web-server-02", "provisioning")
        assert detail == web
        assert started == {"status": "success", "message": "Server is starting",
                           "server": {"id": 12345, "name": "web-server-01", "status": "starting"}}  # fmt: skip
    finally:
        server.stop()
