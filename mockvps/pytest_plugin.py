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
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mockvps.testing import ControlClient

__all__ = ["MockServer", "MockVPS", "mockvps", "mockvps_server", "pytest_configure"]


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockvps(**options): options for the mockvps fixture's account: mode, provisioning_delay, action_delay, "
        "balance, catalog, examples, ssh_keys, servers, profile, permissions and token_name (the test's token)",
    )


@pytest.fixture(scope="session")
def mockvps_server() -> Iterator[MockServer]:
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
