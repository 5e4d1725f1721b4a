"""What the suite talks to, and how it waits for time to pass there."""

from __future__ import annotations

import importlib
import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = [
    "IN_PROCESS_URL",
    "NEVER_ID",
    "OTHER_SCOPE_TOKEN",
    "READ_ONLY_TOKEN",
    "SECOND_TOKEN",
    "HttpTarget",
    "InProcessTarget",
    "Options",
    "Target",
    "is_loopback",
    "precheck",
]

IN_PROCESS_URL = "http://testserver"
NEVER_ID = 2**62 + 7
"""An id no real service has handed out: where the suite may not touch a server, it aims here."""
FIRST_TOKEN = "contract-token"
SECOND_TOKEN = "contract-second-token"
READ_ONLY_TOKEN = "contract-read-only-token"
"""In process: a token of the first account that may only read servers (`servers:read`)."""
OTHER_SCOPE_TOKEN = "contract-other-scope-token"
"""In process: a token of the second account whose permissions are all for other resources (`dns:*`)."""

AppFactory = Callable[..., Any]
"""(settings, *, clock) -> ASGI app: `mockvps.app.create_app` or a deliberately broken variant of it."""


@dataclass(frozen=True)
class Options:
    base_url: str | None
    token: str | None
    second_token: str | None
    allow_writes: bool
    profile: str
    max_servers: int
    rate: float | None
    transition_timeout: float
    plan_id: int
    os_id: int
    location: str
    app_factory: str
    as_remote: bool = False
    read_only_token: str | None = None


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def precheck(base_url: str, token: str, timeout: float = 30) -> str | None:
    """Why a run against `base_url` with `token` cannot tell anything (one line), or None when it can.

    One GET of the server list, read-only like everything the suite sends before it may write: is the service
    there, does it take the token, does it speak the Servers API?
    """
    url = f"{base_url.rstrip('/')}/api/v1/servers/"
    try:
        answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except requests.Timeout:
        return f"cannot reach {base_url}: no answer within {timeout:g} s"
    except requests.RequestException as exc:
        errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))  # the system's reason, deep in the chain
        return f"cannot reach {base_url}: {errno.group(1) if errno else exc.__class__.__name__}"
    detail = _detail(answer)
    if answer.status_code in (401, 403):
        return f"token rejected: {answer.status_code} {detail}".rstrip()
    if answer.status_code != 200 or "application/json" not in answer.headers.get("content-type", ""):
        kind = answer.headers.get("content-type", "no content type")
        return f"not the Servers API at {base_url}: GET {url} answered {answer.status_code} ({kind}) {detail}".rstrip()
    return None


def _detail(answer: requests.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return ""
    return str(body.get("detail", "")) if isinstance(body, dict) else ""


class Target:
    """An implementation under test."""

    name: str
    base_url: str
    token: str
    second_token: str | None
    read_only_token: str | None
    """A token of the first account that may only read servers (`servers:read`), if the suite has one."""
    writes: bool
    """May the suite create, change and delete servers here?"""
    rate: float | None
    """Requests per second at most (None: as fast as it answers)."""
    poll_interval: float
    resettable = False
    """Can the suite start from a fresh state here? Then it may touch any server; elsewhere only its own."""

    @property
    def tokens_of_every_scope(self) -> list[str]:
        """Every token the suite knows, whatever its permissions."""
        return [t for t in (self.token, self.second_token, self.read_only_token) if t]

    def session(self) -> requests.Session:
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def reset(self) -> bool:
        """Start from a fresh state where the target can (True); elsewhere the ledger cleans up (False)."""
        return False

    def monotonic(self) -> float:
        return time.monotonic()


class HttpTarget(Target):
    def __init__(self, options: Options) -> None:
        assert options.base_url and options.token
        self.base_url = options.base_url.rstrip("/")
        self.name = self.base_url
        self.token = options.token
        self.second_token = options.second_token
        self.read_only_token = options.read_only_token
        local = is_loopback(self.base_url) and not options.as_remote
        self.writes = local or options.allow_writes
        self.rate = options.rate if options.rate is not None else (None if local else 5.0)
        self.poll_interval = 0.05 if local else 2.0

    def session(self) -> requests.Session:
        return requests.Session()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class InProcessTarget(Target):
    """The mock in this process on a virtual clock: waiting moves the clock instead of sleeping."""

    poll_interval = 5.0
    resettable = True

    def __init__(self, options: Options, provisioning_delay: float = 120, action_delay: float = 20) -> None:
        from mockvps.clock import VirtualClock
        from mockvps.settings import Settings

        module, _, name = options.app_factory.partition(":")
        self._factory: AppFactory = getattr(importlib.import_module(module), name)
        self._settings = Settings(
            token=FIRST_TOKEN,
            balance=10**9,
            provisioning_delay=provisioning_delay,
            action_delay=action_delay,
        )
        self._clock = VirtualClock()
        self._second = SECOND_TOKEN
        self.name = f"in-process mock ({options.app_factory})"
        self.base_url = IN_PROCESS_URL
        self.token = FIRST_TOKEN
        self.second_token = SECOND_TOKEN
        self.read_only_token = READ_ONLY_TOKEN
        self.writes = True
        self.rate = None
        self._app: Any = None
        self.reset()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # A stable ASGI app for schemathesis, delegating to whichever fresh app `reset` built last.
        await self._app(scope, receive, send)

    @property
    def tokens_of_every_scope(self) -> list[str]:
        return [*super().tokens_of_every_scope, OTHER_SCOPE_TOKEN]

    def reset(self) -> bool:
        from mockvps.backend import AccountSpec
        from mockvps.tokens import TokenSpec

        self._app = self._factory(self._settings, clock=self._clock)
        backend = self._app.state.backend
        first = backend.accounts["default"]
        backend.add_token(first, TokenSpec(READ_ONLY_TOKEN, "contract read-only", ("servers:read",)))
        other_scope = TokenSpec(OTHER_SCOPE_TOKEN, "contract DNS", ("dns:*",))
        backend.add_account(AccountSpec("second", (SECOND_TOKEN, other_scope), balance=first.balance))
        return True

    def session(self) -> requests.Session:
        from schemathesis.python import asgi

        return asgi.get_client(self)

    def sleep(self, seconds: float) -> None:
        self._clock.advance(seconds)

    def monotonic(self) -> float:
        return self._clock.now().timestamp()
