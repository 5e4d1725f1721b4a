"""The dashboard and the offline documentation pages, in a real headless Chromium (Debian's packages).

These tests fail, never skip, when Chromium or its driver is missing: `.ci/run` installs them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
import pytest

from tests.test_cli import Served

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AUTH = {"Authorization": "Bearer mockvps-dev-token"}


def browser(offline: bool, *flags: str) -> WebDriver:
    """Headless Chromium; `flags` go to it as they are. Its console is kept (`policy_violations`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for program in (CHROMIUM, CHROMEDRIVER):
        if not Path(program).exists():
            pytest.fail(f"{program} is missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,1000", f"--user-data-dir={tempfile.mkdtemp()}"):  # fmt: skip
        options.add_argument(flag)
    for flag in flags:
        options.add_argument(flag)
    if offline:
        # Every address but loopback goes to a proxy that does not exist: the network is unreachable.
        options.add_argument("--proxy-server=http://127.0.0.1:9")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def policy_violations(driver: WebDriver) -> list[str]:
    """What the page's content security policy blocked, but for addresses beyond the mock (offline anyway)."""
    messages = [entry["message"] for entry in driver.get_log("browser")]  # type: ignore[attr-defined]  # Chromium's
    blocked = [m for m in messages if "Content Security Policy" in m]
    return [m for m in blocked if not re.search(r"'https?://(?!127\.0\.0\.1)", m)]


@pytest.fixture
def mock() -> Iterator[Served]:
    server = Served("--provisioning-delay", "300", "--log-level", "warning")
    yield server
    server.stop()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Literal[False] | T], timeout: float = 15) -> T:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def status_of(driver: WebDriver, server_id: int) -> str | Literal[False]:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        row = driver.find_element(By.CSS_SELECTOR, f'#servers tr[data-server="{server_id}"]')
        return row.find_elements(By.TAG_NAME, "td")[2].text or False
    except (NoSuchElementException, StaleElementReferenceException, IndexError):
        return False


def on_fresh(driver: WebDriver, by: str, selector: str, use: Callable[[Any], Any]) -> Any:
    """`use(element)` on an element the page's refresh (every second) may replace at any moment: found anew until
    it holds."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def attempt(d: Any) -> Any:
        try:
            return use(d.find_element(by, selector))
        except (NoSuchElementException, StaleElementReferenceException):
            return False

    return wait_for(driver, attempt)


def test_the_dashboard_shows_a_server_provision_and_turn_active_when_the_clock_is_advanced(mock: Served) -> None:
    from selenium.webdriver.common.by import By

    driver = browser(offline=True)
    try:
        driver.get(f"{mock.url}/_mockvps/ui/")
        wait_for(driver, lambda d: status_of(d, 12345) == "active")
        created = httpx.post(
            f"{mock.url}/api/v1/servers/",
            headers=AUTH,
            json={"name": "from-the-test", "plan_id": 1, "os_id": 5, "location": "us-west"},
        ).json()
        wait_for(driver, lambda d: status_of(d, created["id"]) == "provisioning")
        row = on_fresh(driver, By.CSS_SELECTOR, f'#servers tr[data-server="{created["id"]}"]', lambda e: e.text)
        assert re.search(r"active in [45] min", row), row  # the time until the next transition
        driver.find_element(By.ID, "advance-600").click()
        wait_for(driver, lambda d: status_of(d, created["id"]) == "active")
        journal = driver.find_element(By.ID, "journal").text
        assert "POST /api/v1/servers/ 201" in journal
        on_fresh(driver, By.XPATH, "//table[@id='journal']//td[text()='POST']", lambda e: e.click() or True)
        wait_for(driver, lambda d: "from-the-test" in d.find_element(By.ID, "entry-answer").text)
        assert policy_violations(driver) == []  # the page works under the mock's content security policy
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "dashboard.png"))
    finally:
        driver.quit()


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", ["listServers", "createServer", "rebootServer"]),
        ("/redoc", ["List all servers", "Create a new server", "Reboot a server"]),
        ("/_mockvps/docs", ["createAccount", "advanceClock", "addFault"]),
    ],
)
def test_the_documentation_renders_with_no_network(mock: Served, page: str, expected: list[str]) -> None:
    from selenium.webdriver.common.by import By

    driver = browser(offline=True)
    try:
        driver.get(mock.url + page)
        wait_for(driver, lambda d: all(e in (d.find_element(By.TAG_NAME, "body").get_attribute("innerHTML") or "")
                                       for e in expected), timeout=30)  # fmt: skip
        assert policy_violations(driver) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"{page.strip('/').replace('/', '-')}.png"))
    finally:
        driver.quit()


def test_the_dashboard_shows_each_account_s_tokens_by_name_and_permissions_never_their_secrets(tmp_path: Path) -> None:
    import json

    from selenium.webdriver.common.by import By

    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"accounts": [{"name": "ops", "tokens": [
        {"token": "ops-read-secret", "name": "Monitoring", "permissions": ["servers:read"]},
        {"token": "ops-dns-secret", "name": "DNS robot", "permissions": ["dns:*", "domains:*"]},
    ]}]}))  # fmt: skip
    server = Served("--accounts", str(accounts), "--log-level", "warning")
    driver = browser(offline=True)
    try:
        httpx.post(f"{server.url}/_mockvps/accounts/ops/tokens", json={"name": "Later", "permissions": []})

        def tokens(d: WebDriver) -> list[str]:
            # The page redraws its tables every second: read the rows in one go, in the page itself.
            rows: list[str] = d.execute_script(
                'return [...document.querySelectorAll("#tokens tbody tr")].map((tr) => tr.innerText)'
            )
            return [" ".join(row.split()) for row in rows]

        driver.get(f"{server.url}/_mockvps/ui/")
        wait_for(driver, lambda d: tokens(d) == ["Production API *:*"])  # the default account's, selected first
        driver.execute_script("document.querySelector('#accounts tr[data-account=\"ops\"]').click()")
        wait_for(driver, lambda d: tokens(d) == ["Monitoring servers:read", "DNS robot dns:*, domains:*",
                                                 "Later (none)"])  # fmt: skip
        assert driver.find_element(By.ID, "tokens-account").text == "ops"
        page = driver.page_source
        assert "ops-read-secret" not in page and "mockvps-dev-token" not in page
    finally:
        driver.quit()
        server.stop()


def coverage_cell(driver: WebDriver, operation: str, status: str) -> tuple[str, str] | Literal[False]:
    """The class and text of a cell of the coverage grid, once the page shows it."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        cell = driver.find_element(
            By.CSS_SELECTOR, f'#coverage td[data-operation="{operation}"][data-status="{status}"]'
        )
        return cell.get_attribute("class") or "", cell.text
    except (NoSuchElementException, StaleElementReferenceException):
        return False


def test_the_coverage_panel_fills_what_clients_saw_and_hints_at_the_rest(mock: Served) -> None:
    from selenium.webdriver.common.by import By

    order = {"name": "seen-by-the-panel", "plan_id": 1, "os_id": 5, "location": "us-west"}
    assert httpx.post(f"{mock.url}/api/v1/servers/", headers=AUTH, json=order).status_code == 201
    driver = browser(offline=True)
    try:
        driver.get(f"{mock.url}/_mockvps/ui/")
        wait_for(driver, lambda d: coverage_cell(d, "createServer", "201") == ("seen", "1"))
        assert coverage_cell(driver, "createServer", "402") == ("unseen", "\u2013")  # an en dash: never seen
        unseen = '#coverage td[data-operation="createServer"][data-status="402"]'
        assert "balance" in on_fresh(driver, By.CSS_SELECTOR, unseen, lambda e: e.get_attribute("title"))
        on_fresh(driver, By.CSS_SELECTOR, unseen, lambda e: e.click() or True)
        hint = "402 on createServer: create a server on an account"
        wait_for(driver, lambda d: d.find_element(By.ID, "coverage-hint").text.startswith(hint))
        assert httpx.get(f"{mock.url}/api/v1/servers/", headers=AUTH).status_code == 200
        wait_for(driver, lambda d: coverage_cell(d, "listServers", "200") == ("seen", "1"))
        assert "2 of 153 seen" in driver.find_element(By.ID, "coverage-summary").text
        assert policy_violations(driver) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        panel = driver.find_element(By.ID, "coverage-panel")
        driver.execute_script("arguments[0].scrollIntoView()", panel)
        panel.screenshot(str(SCREENSHOTS / "coverage.png"))
    finally:
        driver.quit()
