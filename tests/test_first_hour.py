"""What a newcomer meets first: the banner, `/`, and documentation pages that talk to the mock, not the paid
service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.test_cli import Served


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    server = Served("--log-level", "warning")
    yield server
    server.stop()


def test_the_banner_names_the_docs_and_the_dashboard(served: Served) -> None:
    assert f"  docs:  {served.url}/docs" in served.banner
    assert f"  dashboard: {served.url}/_mockvps/ui/" in served.banner
    assert served.banner.rstrip().splitlines()[-1].startswith("  token:")  # still the banner's last line


def test_the_root_leads_to_the_dashboard_which_links_the_docs(served: Served) -> None:
    root = httpx.get(served.url + "/")
    assert (root.status_code, root.headers["location"]) == (302, "/_mockvps/ui/")
    page = httpx.get(served.url + "/", follow_redirects=True)
    assert page.status_code == 200
    for link in ('href="/docs"', 'href="/redoc"', 'href="/_mockvps/docs"'):
        assert link in page.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_served_documents_list_the_mock_itself_first(served: Served, host: str) -> None:
    url = served.url.replace("127.0.0.1", host)
    contract = httpx.get(f"{url}/openapi.json").json()
    assert contract["servers"][0]["url"] == url  # "Try it out" sends here
    assert contract["servers"][1]["url"] == "https://admin.vps.org"  # the live one still named, second
    control = httpx.get(f"{url}/_mockvps/openapi.json").json()
    assert [s["url"] for s in control["servers"]] == [url]
    assert contract["paths"] and control["paths"]


def test_try_it_out_in_the_docs_talks_to_the_mock(served: Served) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    from tests.test_dashboard import browser, wait_for

    driver: Any = browser(True)  # offline: anything beyond loopback is unreachable
    try:
        driver.get(f"{served.url}/docs")
        chosen: Any = wait_for(driver, ec.presence_of_element_located((By.CSS_SELECTOR, ".servers select")))
        assert chosen.get_attribute("value") == served.url  # the mock is the first server, chosen by default
        driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
        field: Any = wait_for(driver, ec.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input")))
        field.send_keys("mockvps-dev-token")
        driver.find_element(By.CSS_SELECTOR, ".modal-ux button.authorize").click()
        driver.find_element(By.CSS_SELECTOR, ".modal-ux button.btn-done").click()
        operation = "#operations-servers-listServers"
        driver.find_element(By.CSS_SELECTOR, f"{operation} .opblock-summary").click()
        try_out: Any = wait_for(driver, ec.element_to_be_clickable((By.CSS_SELECTOR, f"{operation} .try-out__btn")))
        try_out.click()
        driver.find_element(By.CSS_SELECTOR, f"{operation} .execute").click()
        url: Any = wait_for(driver, ec.presence_of_element_located((By.CSS_SELECTOR, f"{operation} .request-url pre")))
        assert url.text == f"{served.url}/api/v1/servers/"
        answered = (By.CSS_SELECTOR, f"{operation} .live-responses-table tbody td.response-col_status")
        status: Any = wait_for(driver, ec.presence_of_element_located(answered))
        assert status.text.strip().startswith("200")
    finally:
        driver.quit()
    journal = httpx.get(f"{served.url}/_mockvps/journal", params={"limit": 1}).json()
    assert (journal[0]["method"], journal[0]["path"], journal[0]["status"]) == ("GET", "/api/v1/servers/", 200)
