from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpcore  # noqa: F401 - see below
import pytest
from fastapi.testclient import TestClient

from mockvps.app import MockApp, create_app
from mockvps.backend import Backend
from mockvps.clock import VirtualClock
from mockvps.settings import DEFAULT_TOKEN, Settings

pytest_plugins = ["pytester"]
# httpcore is imported before any in-process pytester run: a run forgets the modules first imported during it, so
# httpx, which keeps httpcore's exception classes from its first request, would meet a second httpcore afterwards
# and let its errors through unmapped (httpcore.RemoteProtocolError where httpx.HTTPError is expected).

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
CREATE = {"name": "web-server-02", "plan_id": 1, "os_id": 5, "location": "us-west"}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def settings() -> Settings:
    return Settings(provisioning_delay=180, action_delay=30)


@pytest.fixture
def app(settings: Settings, clock: VirtualClock) -> MockApp:
    return create_app(settings, clock=clock)


@pytest.fixture
def backend(app: MockApp) -> Backend:
    return app.state.backend


@pytest.fixture
def anon(app: MockApp) -> Iterator[TestClient]:
    """A client that sends no credentials."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(app: MockApp) -> Iterator[TestClient]:
    """A client of the default account, which starts with the documentation's servers 12345 and 12346."""
    with TestClient(app, base_url="http://testserver", headers=AUTH, follow_redirects=False) as client:
        yield client


def settle(clock: VirtualClock, seconds: float = 3600) -> None:
    clock.advance(timedelta(seconds=seconds))
