"""Accounts and their servers, with one method per operation of the Servers API.

The backend is the whole state of a mock. It is synchronous and never awaits, so when the HTTP layer calls
it from async handlers on one event loop every operation is atomic. Status is settled lazily: each access
first brings a server to where the lifecycle table says it stands now (`lifecycle.settle`), which is the
same whenever it happens, so reading never changes anything a client could observe.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypedDict

from mockvps import lifecycle
from mockvps.addresses import AddressPool, default_ipv4_pool, default_ipv6_pool
from mockvps.catalog import Catalog, OsImage, Plan, SshKey
from mockvps.clock import Clock
from mockvps.errors import (
    ActionNotAllowed,
    ConfigurationError,
    InsufficientBalance,
    InvalidToken,
    NotFound,
    ValidationFailed,
)
from mockvps.lifecycle import Action, Delays, ServerStatus

__all__ = [
    "FIRST_SERVER_ID",
    "Account",
    "AccountSpec",
    "Backend",
    "ResourceUsage",
    "Server",
    "ServerChanges",
    "token_digest",
]

FIRST_SERVER_ID = 12347
"""Ids continue after the documentation's examples (12345, 12346), in every account."""


@dataclass(frozen=True, slots=True)
class ResourceUsage:
    cpu_percent: float
    memory_used: int  # MB
    disk_used: int  # GB
    bandwidth_used: int  # GB this month


@dataclass(slots=True)
class Server:
    id: int
    name: str
    hostname: str | None
    plan: Plan
    os: OsImage
    location: str
    backups_enabled: bool
    ssh_key_id: int | None
    status: ServerStatus
    since: datetime
    """When the current status began."""
    created_at: datetime
    updated_at: datetime
    ipv4: str
    """Reserved at creation so no two servers ever share one; shown once the server has been active."""
    ipv6: str
    activated: bool = False
    usage: ResourceUsage | None = None
    """Usage set by an operator; otherwise derived from the id and the plan."""

    @property
    def ip_address(self) -> str | None:
        return self.ipv4 if self.activated else None

    @property
    def ipv6_address(self) -> str | None:
        return self.ipv6 if self.activated else None

    def resource_usage(self) -> ResourceUsage:
        base = self.usage or _derived_usage(self.id, self.plan)
        if self.status in lifecycle.RUNNING:
            return base
        return ResourceUsage(0.0, 0, base.disk_used, base.bandwidth_used)


def _derived_usage(server_id: int, plan: Plan) -> ResourceUsage:
    h = zlib.crc32(server_id.to_bytes(8, "big"))
    return ResourceUsage(
        cpu_percent=round(5 + (h % 600) / 10, 1),
        memory_used=plan.memory * (20 + (h >> 8) % 60) // 100,
        disk_used=plan.storage * (10 + (h >> 16) % 70) // 100,
        bandwidth_used=plan.bandwidth * ((h >> 24) % 40) // 100,
    )


@dataclass(slots=True)
class Account:
    name: str
    balance: Decimal
    ssh_keys: dict[int, SshKey]
    servers: dict[int, Server] = field(default_factory=dict)
    next_id: int = FIRST_SERVER_ID


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """How to build an account: from settings, an accounts file, or (later) the control API."""

    name: str
    tokens: tuple[str, ...]
    balance: Decimal = Decimal("1000.00")
    ssh_keys: Mapping[int, SshKey] | None = None
    """None: the catalog's default keys."""
    examples: bool = False
    """Start with the documentation's example servers 12345 and 12346."""


class ServerChanges(TypedDict, total=False):
    name: str
    hostname: str | None
    backups_enabled: bool


def token_digest(token: str) -> bytes:
    # Accounts are found by the token's digest, so no lookup compares secrets byte by byte.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Backend:
    def __init__(
        self,
        catalog: Catalog,
        clock: Clock,
        delays: Delays | None = None,
        accounts: Iterable[AccountSpec] = (),
        ipv4_pool: AddressPool | None = None,
        ipv6_pool: AddressPool | None = None,
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.delays = delays or Delays()
        self.accounts: dict[str, Account] = {}
        self._tokens: dict[bytes, Account] = {}
        self._ipv4 = ipv4_pool or default_ipv4_pool()
        self._ipv6 = ipv6_pool or default_ipv6_pool()
        for spec in accounts:
            self.add_account(spec)

    # accounts

    def add_account(self, spec: AccountSpec) -> Account:
        if spec.name in self.accounts:
            raise ConfigurationError(f"account {spec.name!r} is defined twice")
        if not spec.tokens:
            raise ConfigurationError(f"account {spec.name!r} has no token")
        digests = [token_digest(t) for t in spec.tokens]
        if any(d in self._tokens for d in digests) or len(set(digests)) != len(digests):
            raise ConfigurationError(f"account {spec.name!r}: a token is already in use")
        keys = dict(spec.ssh_keys if spec.ssh_keys is not None else self.catalog.ssh_keys)
        account = Account(name=spec.name, balance=spec.balance, ssh_keys=keys)
        if spec.examples:
            self._add_examples(account)
        self.accounts[spec.name] = account
        for digest in digests:
            self._tokens[digest] = account
        return account

    def authenticate(self, token: str) -> Account:
        account = self._tokens.get(token_digest(token))
        if account is None:
            raise InvalidToken()
        return account

    # the nine operations

    def list_servers(
        self, account: Account, status: ServerStatus | None = None, location: str | None = None
    ) -> list[Server]:
        now = self.clock.now()
        found = []
        for server in account.servers.values():
            self._settle(server, now)
            if (status is None or server.status is status) and (location is None or server.location == location):
                found.append(server)
        return found

    def create_server(
        self,
        account: Account,
        *,
        name: str,
        plan_id: int,
        os_id: int,
        location: str,
        hostname: str | None = None,
        ssh_key_id: int | None = None,
        backups_enabled: bool = False,
    ) -> Server:
        errors: dict[str, list[str]] = {}
        plan = self.catalog.plans.get(plan_id)
        if plan is None:
            errors["plan_id"] = [f'Invalid pk "{plan_id}" - object does not exist.']
        image = self.catalog.os_images.get(os_id)
        if image is None:
            errors["os_id"] = [f'Invalid pk "{os_id}" - object does not exist.']
        if location not in self.catalog.locations:
            errors["location"] = [f'"{location}" is not a valid choice.']
        if ssh_key_id is not None and ssh_key_id not in account.ssh_keys:
            errors["ssh_key_id"] = [f'Invalid pk "{ssh_key_id}" - object does not exist.']
        if errors:
            raise ValidationFailed(errors)
        assert plan is not None and image is not None
        if account.balance < plan.price:
            raise InsufficientBalance(
                f"Insufficient balance: the plan {plan.name} costs {plan.price} per month "
                f"and the account's balance is {account.balance}."
            )
        ipv4 = self._ipv4.allocate()
        try:
            ipv6 = self._ipv6.allocate()
        except Exception:
            self._ipv4.release(ipv4)
            raise
        now = self.clock.now()
        server = Server(
            id=account.next_id,
            name=name,
            hostname=hostname,
            plan=plan,
            os=image,
            location=location,
            backups_enabled=backups_enabled,
            ssh_key_id=ssh_key_id,
            status=ServerStatus.PROVISIONING,
            since=now,
            created_at=now,
            updated_at=now,
            ipv4=ipv4,
            ipv6=ipv6,
        )
        account.balance -= plan.price
        account.servers[server.id] = server
        account.next_id += 1
        return server

    def get_server(self, account: Account, server_id: int) -> Server:
        server = account.servers.get(server_id)
        if server is None:
            raise NotFound()
        self._settle(server, self.clock.now())
        return server

    def replace_server(
        self, account: Account, server_id: int, *, name: str, hostname: str | None, backups_enabled: bool
    ) -> Server:
        return self.update_server(
            account, server_id, ServerChanges(name=name, hostname=hostname, backups_enabled=backups_enabled)
        )

    def update_server(self, account: Account, server_id: int, changes: ServerChanges) -> Server:
        server = self.get_server(account, server_id)
        changed = False
        for key, value in changes.items():
            if getattr(server, key) != value:
                setattr(server, key, value)
                changed = True
        if changed:
            server.updated_at = self.clock.now()
        return server

    def delete_server(self, account: Account, server_id: int) -> None:
        server = self.get_server(account, server_id)
        del account.servers[server_id]
        self._ipv4.release(server.ipv4)
        self._ipv6.release(server.ipv6)

    def start_server(self, account: Account, server_id: int) -> Server:
        return self._act(account, server_id, Action.START)

    def stop_server(self, account: Account, server_id: int) -> Server:
        return self._act(account, server_id, Action.STOP)

    def reboot_server(self, account: Account, server_id: int) -> Server:
        return self._act(account, server_id, Action.REBOOT)

    # operator actions (not in the public API)

    def suspend_server(self, account: Account, server_id: int) -> Server:
        return self._act(account, server_id, Action.SUSPEND)

    def unsuspend_server(self, account: Account, server_id: int) -> Server:
        return self._act(account, server_id, Action.UNSUSPEND)

    # internals

    def _act(self, account: Account, server_id: int, action: Action) -> Server:
        server = self.get_server(account, server_id)
        try:
            target = lifecycle.apply(action, server.status)
        except ValueError as refusal:
            raise ActionNotAllowed(str(refusal)) from None
        now = self.clock.now()
        server.status, server.since, server.updated_at = target, now, now
        return server

    def _settle(self, server: Server, now: datetime) -> None:
        status, since = lifecycle.settle(server.status, server.since, now, self.delays)
        if status is not server.status:
            server.status, server.since, server.updated_at = status, since, since
            if status is ServerStatus.ACTIVE:
                server.activated = True

    def _add_examples(self, account: Account) -> None:
        """The documentation's servers 12345 and 12346, as its examples show them."""
        examples = [
            (12345, "web-server-01", "web01.example.com", 1, 5, "us-west", True, "203.0.113.10", "2001:0db8::1",
             ResourceUsage(23.5, 2048, 35, 450), "2025-01-10T14:30:00", "2025-01-15T10:20:00"),
            (12346, "db-server-01", "db01.example.com", 2, 3, "us-east", False, "203.0.113.11", "2001:0db8::2",
             None, "2025-01-12T09:15:00", "2025-01-16T08:45:00"),
        ]  # fmt: skip
        for sid, name, host, plan_id, os_id, loc, backups, v4, v6, usage, created, updated in examples:
            plan = self.catalog.plans.get(plan_id)
            image = self.catalog.os_images.get(os_id)
            if plan is None or image is None or loc not in self.catalog.locations:
                raise ConfigurationError(
                    f"the documentation's example server {sid} needs plan {plan_id}, OS image {os_id} and "
                    f"location {loc} in the catalog; add them or start with no example servers (--empty)"
                )
            self._ipv4.reserve(v4)
            self._ipv6.reserve(v6)
            updated_at = datetime.fromisoformat(updated).replace(tzinfo=UTC)
            account.servers[sid] = Server(
                id=sid, name=name, hostname=host, plan=plan, os=image, location=loc, backups_enabled=backups,
                ssh_key_id=None, status=ServerStatus.ACTIVE, since=updated_at,
                created_at=datetime.fromisoformat(created).replace(tzinfo=UTC), updated_at=updated_at,
                ipv4=v4, ipv6=v6, activated=True, usage=usage,
            )  # fmt: skip
        account.next_id = max(account.next_id, max(account.servers) + 1)
