"""The documentation's own example requests, verbatim but for host and token, against a fresh mock."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mockvps.app import create_app
from mockvps.clock import VirtualClock
from mockvps.settings import DEFAULT_TOKEN, Settings
from tests.documentation import LIVE_HOST, PLACEHOLDER_TOKEN, Example, examples, shape

EXAMPLES = examples()
# Where the documentation contradicts itself: its detail example shows 12345 updated at 15:45 on the 16th,
# its list example at 10:20 on the 15th. The mock follows the list.
INCONSISTENT = {("getServer", "updated_at")}


def test_the_seed_holds_all_nine_endpoints() -> None:
    assert [(e.curl.method, e.path) for e in EXAMPLES] == [
        ("GET", "/api/v1/servers/"),
        ("POST", "/api/v1/servers/"),
        ("GET", "/api/v1/servers/{server_id}/"),
        ("PUT", "/api/v1/servers/{server_id}/"),
        ("PATCH", "/api/v1/servers/{server_id}/"),
        ("DELETE", "/api/v1/servers/{server_id}/"),
        ("POST", "/api/v1/servers/{server_id}/start/"),
        ("POST", "/api/v1/servers/{server_id}/stop/"),
        ("POST", "/api/v1/servers/{server_id}/reboot/"),
    ]
    assert sum(e.answer is not None for e in EXAMPLES) == 6


@pytest.fixture
def mock() -> Iterator[tuple[TestClient, VirtualClock]]:
    clock = VirtualClock()  # starts at 2025-01-16T15:30:00Z, the documentation's create example
    app = create_app(Settings(), clock=clock)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield client, clock


def prepare(example: Example, client: TestClient, clock: VirtualClock) -> None:
    """The documentation starts 12345, which its other examples show running: stop it first."""
    if example.action == "start":
        auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
        assert client.post("/api/v1/servers/12345/stop/", headers=auth).status_code == 200
        clock.advance(3600)


def op_id(example: Example) -> str:
    names = {"GET /api/v1/servers/": "listServers", "POST /api/v1/servers/": "createServer",
             "GET /api/v1/servers/{server_id}/": "getServer"}  # fmt: skip
    return names.get(f"{example.curl.method} {example.path}", example.title)


def assert_answer_matches(example: Example, answer: Any) -> None:
    if example.answer is None:
        return
    assert shape(answer) == shape(example.answer)
    differences = {k for k in example.answer if answer.get(k) != example.answer[k]}
    assert {(op_id(example), k) for k in differences} <= INCONSISTENT


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.curl.method} {e.curl.url[len(LIVE_HOST) :]}")
def test_the_curl_example_gets_the_documented_answer(example: Example, mock: tuple[TestClient, VirtualClock]) -> None:
    client, clock = mock
    prepare(example, client, clock)
    headers = {k: v.replace(PLACEHOLDER_TOKEN, DEFAULT_TOKEN) for k, v in example.curl.headers.items()}
    response = client.request(example.curl.method, example.curl.url.replace(LIVE_HOST, "http://testserver"),
                              headers=headers, content=example.curl.data)  # fmt: skip
    assert response.status_code == example.success
    assert_answer_matches(example, response.json() if response.content else None)


class FakeRequests(types.ModuleType):
    """Just enough of `requests` for the documentation's snippets, sent to the in-process mock."""

    def __init__(self, client: TestClient) -> None:
        super().__init__("requests")
        for method in ("get", "post", "put", "patch", "delete"):
            setattr(self, method, self._sender(client, method.upper()))

    @staticmethod
    def _sender(client: TestClient, method: str) -> Any:
        def send(url: str, headers: dict[str, str] | None = None, json: Any = None) -> Any:
            headers = {k: v.replace(PLACEHOLDER_TOKEN, DEFAULT_TOKEN) for k, v in (headers or {}).items()}
            return client.request(method, url.replace(LIVE_HOST, "http://testserver"), headers=headers, json=json)

        return send


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.curl.method} {e.curl.url[len(LIVE_HOST) :]}")
def test_the_python_example_prints_the_documented_answer(
    example: Example, mock: tuple[TestClient, VirtualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, clock = mock
    prepare(example, client, clock)
    monkeypatch.setitem(sys.modules, "requests", FakeRequests(client))
    printed: list[Any] = []
    exec(compile(example.python, f"<{example.title}>", "exec"), {"print": printed.append})
    (output,) = printed
    if example.curl.method == "DELETE":
        assert output == example.success == 204
    else:
        assert isinstance(output, dict)
        assert_answer_matches(example, output)
