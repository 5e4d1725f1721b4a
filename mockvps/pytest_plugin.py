"""The mockvps pytest plugin (registered through the `pytest11` entry point).

    def test_my_client(mockvps):                      # a fresh, isolated account per test
        client = MyClient(mockvps.api_url, mockvps.token)
        ...
        mockvps.control.advance(60)                   # this account's time only
        assert mockvps.control.journal_count(method="POST") == 1

    @pytest.mark.mockvps(mode="immediate", servers=[{"name": "web", "plan_id": 1, "os_id": 5,
                                                     "location": "us-west", "status": "stopped"}])
    def test_with_options(mockvps): ...

    @pytest.mark.mockvps(permissions=["servers:read"])  # the test's token may only read: writes answer 403
    def test_read_only(mockvps): ...

One mock per test session (per xdist worker), on a real port in a thread; one account per test.
Marker options: mode, provisioning_delay, action_delay, balance, catalog, examples, ssh_keys, servers, profile,
permissions and token_name (the test's token: its permissions, `*:*` unless given, and its name).

Coverage of the API (which documented behaviours the session's tests made the mock show):
`--mockvps-coverage` prints a table at the end, `--mockvps-coverage-report PATH` (.json or .md) writes it,
`--mockvps-coverage-fail-under PCT` fails the session below PCT percent. Under pytest-xdist each worker's mock
sends its counts to the controller, which adds them up.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mockvps.testing import ControlClient

if TYPE_CHECKING:
    from mockvps.control.schemas import CoverageReport

__all__ = [
    "CoverageCollector",
    "MockServer",
    "MockVPS",
    "mockvps",
    "mockvps_server",
    "pytest_addoption",
    "pytest_configure",
]

WORKER_OUTPUT = "mockvps_coverage"
"""Where an xdist worker puts its mock's coverage for the controller (`workeroutput`)."""
REPORT_SUFFIXES = (".json", ".md")


@dataclass
class MockServer:
    base_url: str
    control: ControlClient
    admin_token: str


@dataclass
class MockVPS:
    """One test's account on the session's mock."""

    base_url: str
    token: str
    account: str
    control: ControlClient
    """A control client scoped to this account."""

    @property
    def api_url(self) -> str:
        """The API root, as clients are configured for the live service (https://admin.vps.org/api/v1/)."""
        return f"{self.base_url}/api/v1/"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockvps", "mockvps: coverage of the VPS.org Servers API by the session's tests")
    group.addoption(
        "--mockvps-coverage",
        action="store_true",
        default=False,
        help="print which documented behaviours of the API the tests made the mock show",
    )
    group.addoption(
        "--mockvps-coverage-report",
        metavar="PATH",
        default=None,
        help="write the coverage report to PATH: .json (as GET /_mockvps/coverage answers) or .md",
    )
    group.addoption(
        "--mockvps-coverage-fail-under",
        metavar="PCT",
        type=float,
        default=None,
        help="fail the session when less than PCT percent of the documented behaviours were seen",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockvps(**options): options for the mockvps fixture's account: mode, provisioning_delay, action_delay, "
        "balance, catalog, examples, ssh_keys, servers, profile, permissions and token_name (the test's token)",
    )
    path = config.getoption("mockvps_coverage_report")
    if path is not None and not str(path).endswith(REPORT_SUFFIXES):
        raise pytest.UsageError(f"--mockvps-coverage-report {path}: give a path ending in .json or .md")
    bar = config.getoption("mockvps_coverage_fail_under")
    if bar is not None and not 0 <= bar <= 100:
        raise pytest.UsageError(f"--mockvps-coverage-fail-under {bar:g}: give a percentage from 0 to 100")
    if config.getoption("mockvps_coverage") or path is not None or bar is not None:
        collector = CoverageCollector(config, None if path is None else Path(path), bar)
        config.stash[_COLLECTOR] = collector
        config.pluginmanager.register(collector, "mockvps-coverage")


@dataclass
class CoverageCollector:
    """Gathers the coverage of the session's mocks (one, or one per xdist worker) and reports it at the end."""

    config: pytest.Config
    path: Path | None
    bar: float | None
    reports: list[CoverageReport] = field(default_factory=list)
    combined: CoverageReport | None = None

    def collect(self, report: dict[str, Any]) -> None:
        """A mock's report, taken before the mock stops: an xdist worker hands it to the controller."""
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKER_OUTPUT] = json.dumps(report)
            return
        from mockvps.coverage_report import load

        self.reports.append(load(report))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """pytest-xdist: a worker finished; its mock's report came with it."""
        from mockvps.coverage_report import load

        sent = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
        if sent is not None:
            self.reports.append(load(sent))

    @pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down: every mock has reported
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return
        from mockvps.control.coverage import coverage_report
        from mockvps.coverage_report import combine, reaches, render
        from mockvps.shared.coverage import Tally

        # No test used the mock: nothing was seen.
        self.combined = combine(self.reports) if self.reports else coverage_report(Tally())
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(render(self.combined, "md" if self.path.suffix == ".md" else "json"), "utf-8")
        if self.bar is not None and not reaches(self.combined, self.bar) and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        from mockvps.coverage_report import reaches, shortfall, table

        report = self.combined
        if report is None:
            return
        if self.config.getoption("mockvps_coverage"):
            terminalreporter.write_sep("-", "mockvps coverage of the Servers API")
            more = f"--mockvps-coverage-report {self.path or 'coverage.md'} lists them all"
            terminalreporter.write(table(report, more=more))
        if self.path is not None:
            terminalreporter.write_line(f"mockvps coverage report written to {self.path}")
        if self.bar is not None:
            if reaches(report, self.bar):
                terminalreporter.write_line(
                    f"Required mockvps coverage of {self.bar:g}% reached: {report.summary.percent:g}%", green=True
                )
            else:
                terminalreporter.write_line(shortfall(report, self.bar), red=True, bold=True)


_COLLECTOR = pytest.StashKey[CoverageCollector]()


@pytest.fixture(scope="session")
def mockvps_server(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """A mock on a free loopback port, served from a thread for the whole session (each xdist worker has its own)."""
    import uvicorn

    from mockvps.app import create_app
    from mockvps.settings import Settings

    admin_token = secrets.token_urlsafe(16)
    app = create_app(Settings(empty=True, admin_token=admin_token, token=secrets.token_urlsafe(16)))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="mockvps", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the mockvps server did not start")
        time.sleep(0.005)
    base_url = f"http://127.0.0.1:{port}"
    control = ControlClient(base_url, admin_token=admin_token)
    try:
        yield MockServer(base_url=base_url, control=control, admin_token=admin_token)
        collector = pytestconfig.stash.get(_COLLECTOR, None)
        if collector is not None:
            collector.collect(control.coverage())
    finally:
        control.close()
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@pytest.fixture
def mockvps(request: pytest.FixtureRequest, mockvps_server: MockServer) -> Iterator[MockVPS]:
    """A fresh account of its own on the session's mock, with options from `@pytest.mark.mockvps(...)`."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("mockvps"))):
        options.update(marker.kwargs)
    servers = options.pop("servers", [])
    token: dict[str, Any] = {}
    if "permissions" in options:
        token["permissions"] = list(options.pop("permissions"))
    if "token_name" in options:
        token["name"] = options.pop("token_name")
    if token:
        options["tokens"] = [token]
    account = mockvps_server.control.create_account(**options)
    control = mockvps_server.control.scoped(account.name)
    try:
        for server in servers:
            control.seed_server(**server)
        yield MockVPS(base_url=mockvps_server.base_url, token=account.token, account=account.name, control=control)
    finally:
        control.delete_account()
