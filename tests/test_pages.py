"""`--page-size`: the server list in pages, as Django REST framework's PageNumberPagination cuts it."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from mockvps.app import MockApp, create_app
from mockvps.backend import Backend
from mockvps.clock import VirtualClock
from mockvps.lifecycle import ServerStatus
from mockvps.settings import Settings
from tests.conftest import AUTH
from tests.test_cli import Served

LIST = "/api/v1/servers/"
INVALID = {"detail": "Invalid page."}


def seed(backend: Backend, count: int) -> list[int]:
    """`count` servers besides the documentation's two, every third stopped."""
    account = backend.accounts["default"]
    ids = []
    for n in range(count):
        status = ServerStatus.STOPPED if n % 3 == 0 else ServerStatus.ACTIVE
        server = backend.seed_server(account, status=status, name=f"s{n}", plan_id=1, os_id=5,
                                     location="us-west" if n % 2 else "us-east")  # fmt: skip
        ids.append(server.id)
    return [12345, 12346, *ids]


@pytest.fixture
def paged(clock: VirtualClock) -> MockApp:
    return create_app(Settings(page_size=20), clock=clock)


@pytest.fixture
def client(paged: MockApp) -> Iterator[TestClient]:
    with TestClient(paged, base_url="http://testserver", headers=AUTH) as client:
        yield client


def test_off_by_default_the_documented_shape_and_page_parameters_are_ignored(app: MockApp) -> None:
    seed(app.state.backend, 30)
    with TestClient(app, headers=AUTH) as client:
        for query in ("", "?page=2", "?page_size=5", "?page=99"):
            body = client.get(LIST + query).json()
            assert list(body) == ["count", "results"]
            assert body["count"] == len(body["results"]) == 32


def test_a_page_loop_over_250_servers_visits_each_exactly_once(paged: MockApp, client: TestClient) -> None:
    everyone = seed(paged.state.backend, 248)
    assert len(everyone) == 250
    seen: list[int] = []
    url: str | None = LIST
    pages = 0
    while url:
        body = client.get(url).json()
        assert list(body) == ["count", "next", "previous", "results"]
        assert body["count"] == 250
        assert len(body["results"]) == (20 if pages < 12 else 10)
        seen += [s["id"] for s in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 13
    assert seen == everyone  # each exactly once, in the list's order


def test_links_are_absolute_on_the_request_s_own_origin_and_page_2_points_back_without_page(
    paged: MockApp, client: TestClient
) -> None:
    seed(paged.state.backend, 48)
    first = client.get(LIST).json()
    assert (first["previous"], first["next"]) == (None, "http://testserver/api/v1/servers/?page=2")
    second = client.get(first["next"]).json()
    assert second["previous"] == "http://testserver/api/v1/servers/"
    assert second["next"] == "http://testserver/api/v1/servers/?page=3"
    assert client.get(LIST + "?page=3").json()["next"] is None


def test_links_name_the_host_the_request_was_sent_to(clock: VirtualClock) -> None:
    app = create_app(Settings(page_size=20, allowed_hosts=("mock.example",)), clock=clock)
    seed(app.state.backend, 48)
    with TestClient(app, base_url="https://mock.example:8443", headers=AUTH) as client:
        third = client.get(LIST + "?page=3").json()
    assert third["previous"] == "https://mock.example:8443/api/v1/servers/?page=2"


def test_links_keep_the_filters_and_the_page_size_in_drf_s_sorted_order(paged: MockApp, client: TestClient) -> None:
    seed(paged.state.backend, 60)
    body = client.get(LIST + "?status=active&page_size=5&location=us-west&page=2").json()
    assert body["count"] == len([s for s in client.get(LIST + "?status=active&location=us-west&page_size=100")
                                 .json()["results"]])  # fmt: skip
    assert {s["status"] for s in body["results"]} == {"active"}
    assert body["next"] == "http://testserver/api/v1/servers/?location=us-west&page=3&page_size=5&status=active"
    assert body["previous"] == "http://testserver/api/v1/servers/?location=us-west&page_size=5&status=active"


@pytest.mark.parametrize(
    ("page_size", "expected"), [("5", 5), ("100", 100), ("101", 100), ("100000", 100), ("0", 20), ("-3", 20),
                                ("many", 20), ("", 20), ("1.5", 20)],
)  # fmt: skip
def test_page_size_goes_up_to_100_and_falls_back_to_the_configured_size(
    paged: MockApp, client: TestClient, page_size: str, expected: int
) -> None:
    seed(paged.state.backend, 198)
    assert len(client.get(LIST, params={"page_size": page_size}).json()["results"]) == expected


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.0", "+2", " 2", "2_0", "\uff12", "last", "3", "99",
                                  "9" * 5000])  # fmt: skip
def test_a_page_that_is_no_positive_integer_or_lies_past_the_end_is_404(
    paged: MockApp, client: TestClient, page: str
) -> None:
    seed(paged.state.backend, 38)  # 40 servers: pages 1 and 2
    response = client.get(LIST, params={"page": page})
    assert (response.status_code, response.json()) == (404, INVALID)


def test_the_first_page_of_an_empty_list_exists(client: TestClient) -> None:
    body = client.get(LIST + "?location=nowhere").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}
    assert client.get(LIST + "?location=nowhere&page=2").status_code == 404
    assert client.get(LIST + "?page=01").json()["count"] == 2  # leading zeros still name page 1


def test_a_bad_filter_is_400_before_the_page_is_judged(client: TestClient) -> None:
    response = client.get(LIST + "?status=broken&page=99")
    assert response.status_code == 400 and "status" in response.json()


def test_pages_are_rendered_from_the_list_cache(paged: MockApp, client: TestClient) -> None:
    seed(paged.state.backend, 48)
    lists = paged.public.lists
    client.get(LIST + "?page=2")
    assert len(lists) == 20  # only the page's items were rendered
    cached = dict(lists._items)
    again = client.get(LIST + "?page=2").json()
    assert all(lists._items[s] is cached[s] for s in cached)  # the same bytes, not rendered anew
    server = next(iter(cached))
    client.patch(f"{LIST}{server.id}/", json={"name": "renamed"})
    assert "renamed" in [s["name"] for s in client.get(LIST + "?page=2").json()["results"]]
    assert [s["id"] for s in again["results"]] == [s.id for s in cached]


def test_the_page_size_setting_is_bounded_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("MOCKVPS_PAGE_SIZE", "25")
    assert Settings().page_size == 25
    for bad in (0, 101):
        with pytest.raises(ValidationError):
            Settings(page_size=bad)


def test_serve_paginates_with_page_size() -> None:
    server = Served("--page-size", "1", "--log-level", "warning")
    try:
        assert "pages: page size 1" in server.banner
        auth = {"Authorization": "Bearer mockvps-dev-token"}
        first = httpx.get(f"{server.url}/api/v1/servers/", headers=auth).json()
        assert [s["id"] for s in first["results"]] == [12345]
        assert first["next"] == f"{server.url}/api/v1/servers/?page=2"
        second = httpx.get(first["next"], headers=auth).json()
        assert ([s["id"] for s in second["results"]], second["next"]) == ([12346], None)
        assert parse_qs(urlsplit(second["previous"]).query) == {}
    finally:
        server.stop()
