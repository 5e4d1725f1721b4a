"""Options, targets and safety of the contract suite.

    pytest mockvps/conformance                                   # the in-process mock (default)
    pytest mockvps/conformance --base-url URL --token T          # anything that speaks the API over HTTP
      [--allow-writes] [--second-token T2] [--read-only-token T3] [--profile thorough] [--max-servers 3] [--rate 5]
      [--transition-timeout 600] [--plan-id 1 --os-id 5 --location us-west] [--as-remote] [--report DIR]

Against a base URL that is not loopback the suite only reads (GET) unless --allow-writes is given. Where it
writes, it changes and deletes only servers it created itself, and deletes every one of them at the end.
"""

from __future__ import annotations

import atexit
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockvps.conformance.client import SERVERS, Api, Pacer, fresh
from mockvps.conformance.document import load_document
from mockvps.conformance.ledger import Ledger
from mockvps.conformance.profiles import PROFILES, Profile
from mockvps.conformance.report import Report
from mockvps.conformance.target import HttpTarget, InProcessTarget, Options, Target, precheck

HERE = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "VPS.org contract suite")
    env = os.environ.get
    group.addoption("--base-url", default=env("MOCKVPS_BASE_URL"), help="test this service over HTTP")
    group.addoption("--token", default=env("MOCKVPS_TOKEN"), help="API token for --base-url")
    group.addoption(
        "--second-token",
        default=env("MOCKVPS_SECOND_TOKEN"),
        help="a token of another account, for the isolation checks",
    )
    group.addoption(
        "--read-only-token",
        default=env("MOCKVPS_READ_ONLY_TOKEN"),
        help="a token of the same account with servers:read only, for the permission checks",
    )
    group.addoption(
        "--allow-writes",
        action="store_true",
        default=False,
        help="create, change and delete servers on a non-loopback service (it may cost money)",
    )
    group.addoption("--profile", choices=sorted(PROFILES), default=env("MOCKVPS_PROFILE", "fast"))
    group.addoption("--max-servers", type=int, default=3, help="servers the suite may hold at once")
    group.addoption("--rate", type=float, default=None, help="requests per second at most (remote default 5)")
    group.addoption(
        "--transition-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for a status change (default 600: the live service takes minutes)",
    )
    group.addoption(
        "--as-remote",
        action="store_true",
        default=False,
        help="treat --base-url as remote (read-only unless --allow-writes, paced): rehearse a live run",
    )
    group.addoption("--plan-id", type=int, default=1, help="a plan the service offers (default 1)")
    group.addoption("--os-id", type=int, default=5, help="an OS image the service offers (default 5)")
    group.addoption("--location", default="us-west", help="a location the service offers (default us-west)")
    group.addoption(
        "--app-factory",
        default="mockvps.app:create_app",
        help="in-process only: module:function building the app under test",
    )
    group.addoption("--report", default=None, metavar="DIR", help="write a Markdown conformance report to DIR")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "writes: the test creates or changes servers (skipped when read-only)")
    config.addinivalue_line(
        "markers",
        "departure(kind, operation=None): the kind of departure a failure of this check is (departures.KINDS)",
    )
    if config.getoption("--base-url") and not config.getoption("--token"):
        raise pytest.UsageError("--base-url needs --token (or MOCKVPS_TOKEN)")
    report = Report(config.getoption("--report"), suite=HERE)
    config.pluginmanager.register(report, "contract-report")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Against a service over HTTP: stop at once, in one line, when it is out of reach or refuses the token,
    rather than report every check as a departure."""
    base_url, token = session.config.getoption("--base-url"), session.config.getoption("--token")
    if base_url and token and not session.config.getoption("--collect-only"):
        problem = precheck(base_url, token)
        if problem is not None:
            pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)


def _options(config: pytest.Config) -> Options:
    return Options(
        base_url=config.getoption("--base-url"),
        token=config.getoption("--token"),
        second_token=config.getoption("--second-token"),
        allow_writes=config.getoption("--allow-writes"),
        profile=config.getoption("--profile"),
        max_servers=max(1, config.getoption("--max-servers")),
        rate=config.getoption("--rate"),
        transition_timeout=config.getoption("--transition-timeout"),
        plan_id=config.getoption("--plan-id"),
        os_id=config.getoption("--os-id"),
        location=config.getoption("--location"),
        app_factory=config.getoption("--app-factory"),
        as_remote=config.getoption("--as-remote"),
        read_only_token=config.getoption("--read-only-token"),
    )


@pytest.fixture(scope="session")
def options(pytestconfig: pytest.Config) -> Options:
    return _options(pytestconfig)


@pytest.fixture(scope="session")
def profile(options: Options) -> Profile:
    return PROFILES[options.profile]


@pytest.fixture(scope="session")
def target(options: Options) -> Target:
    return HttpTarget(options) if options.base_url else InProcessTarget(options)


@pytest.fixture(scope="session")
def pacer(target: Target) -> Pacer:
    return Pacer(target.rate)


@pytest.fixture(scope="session")
def ledger(target: Target, options: Options, pacer: Pacer, pytestconfig: pytest.Config) -> Iterator[Ledger]:
    session = target.session()

    def delete(token: str, server_id: int) -> int:
        pacer.wait()
        url = f"{target.base_url}{SERVERS}{server_id}/"
        return session.delete(url, headers={"Authorization": f"Bearer {token}"}, timeout=60).status_code

    ledger = Ledger(max_servers=options.max_servers, delete=delete)
    # Whatever ends the run (a failure, Ctrl-C, SIGTERM, an exit), the servers it made are deleted.
    atexit.register(ledger.cleanup)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _interrupt)
    yield ledger
    ledger.cleanup()
    signal.signal(signal.SIGTERM, previous)
    atexit.unregister(ledger.cleanup)
    report: Report = pytestconfig.pluginmanager.getplugin("contract-report")
    report.ledger_summary = ledger.summary()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def _fresh_and_safe(request: pytest.FixtureRequest, target: Target, ledger: Ledger) -> None:
    """Each test starts from a fresh mock where that is possible; write tests stay away from read-only targets."""
    if request.node.get_closest_marker("writes") and not target.writes:
        pytest.skip("read-only against a non-loopback service: pass --allow-writes to run this check")
    fresh(target, ledger)


@pytest.fixture
def api(target: Target, ledger: Ledger, pacer: Pacer) -> Api:
    return Api(target, ledger, pacer)


@pytest.fixture
def second(api: Api, target: Target) -> Api:
    if not target.second_token:
        pytest.skip("needs a second account: pass --second-token")
    return api.as_token(target.second_token)


@pytest.fixture
def read_only(api: Api, target: Target) -> Api:
    if not target.read_only_token:
        pytest.skip("needs a read-only token of the same account: pass --read-only-token")
    return api.as_token(target.read_only_token)


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    try:
        return load_document()
    except FileNotFoundError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture
def server_body(options: Options) -> dict[str, Any]:
    """A create body the service must accept: the documentation's example, with catalog entries it offers."""
    return {"name": "contract-test", "plan_id": options.plan_id, "os_id": options.os_id, "location": options.location}
