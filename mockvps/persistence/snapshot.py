"""The whole state of a mock as JSON-ready data, and back: export, import, and `mockvps serve --state FILE`.

Tokens leave only as SHA-256 digests; an imported snapshot may name tokens in clear (`tokens`) or by digest
(`token_sha256`). Import validates everything before it builds anything, so a bad snapshot changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from mockvps.addresses import AddressPool
from mockvps.backend import Account, AccountSpec, Backend, Limits, Outcome, Server, Usage
from mockvps.catalog import Catalog, SshKey, catalog_to_dict, parse_catalog
from mockvps.clock import Clock, ControllableClock
from mockvps.errors import ConfigurationError, LimitReached
from mockvps.lifecycle import Delays, ServerStatus, TransitionMode

__all__ = [
    "SNAPSHOT_VERSION",
    "account_record",
    "clock_record",
    "export_state",
    "restore_state",
    "server_record",
]

SNAPSHOT_VERSION = 1
T = TypeVar("T")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _clock(clock: ControllableClock) -> dict[str, Any]:
    frozen = clock.now() if clock.frozen else None
    return {"offset_seconds": clock.offset.total_seconds(), "frozen_at": _when(frozen) if frozen else None}


def server_record(server: Server) -> dict[str, Any]:
    usage = server.usage
    return {
        "id": server.id, "name": server.name, "hostname": server.hostname, "plan_id": server.plan.id,
        "os_id": server.os.id, "location": server.location, "backups_enabled": server.backups_enabled,
        "ssh_key_id": server.ssh_key_id, "status": server.status.value, "since": _when(server.since),
        "created_at": _when(server.created_at), "updated_at": _when(server.updated_at), "ipv4": server.ipv4,
        "ipv6": server.ipv6, "activated": server.activated,
        "usage": None if usage is None else {"cpu_percent": usage.cpu_percent, "memory_used": usage.memory_used,
                                             "disk_used": usage.disk_used, "bandwidth_used": usage.bandwidth_used},
        "outcome": server.outcome.value if server.outcome else None,
    }  # fmt: skip


def export_state(backend: Backend, accounts: list[str] | None = None) -> dict[str, Any]:
    """Everything, or only the named accounts."""
    chosen = [backend.accounts[n] for n in accounts] if accounts is not None else list(backend.accounts.values())
    return {
        "version": SNAPSHOT_VERSION,
        "clock": clock_record(backend),
        "accounts": [{**account_record(backend, a), "servers": [server_record(s) for s in a.servers.values()]}
                     for a in chosen],
    }  # fmt: skip


def clock_record(backend: Backend) -> dict[str, Any]:
    return _clock(backend.clock)


def account_record(backend: Backend, account: Account) -> dict[str, Any]:
    """An account as a snapshot holds it, without its servers."""
    delays = account.delays
    return {
        "name": account.name,
        "token_sha256": [d.hex() for d in backend.token_digests(account)],
        "balance": str(account.balance),
        "ssh_keys": [{"id": k.id, "name": k.name} for k in account.ssh_keys.values()],
        "mode": account.mode.value,
        "delays": None if delays is None else {"provisioning": delays.provisioning.total_seconds(),
                                               "action": delays.action.total_seconds()},
        "catalog": None if account.catalog is None else catalog_to_dict(account.catalog),
        "next_id": account.next_id,
        "next_outcome": account.next_outcome.value if account.next_outcome else None,
        "clock": _clock(account.clock),
    }  # fmt: skip


class _Reader:
    """Reads one JSON object, naming the exact place of anything wrong."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigurationError(f"{where}: expected an object")
        self.data, self.where = data, where

    def fail(self, key: str, what: str) -> ConfigurationError:
        return ConfigurationError(f"{self.where}.{key}: expected {what}")

    def get(self, key: str, kind: type[T] | tuple[type, ...], what: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, what)
            return default
        value = self.data[key]
        if value is None and default is None:
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
            raise self.fail(key, what)
        return value

    def integer(self, key: str, default: Any = ..., minimum: int = 0) -> Any:
        value = self.get(key, int, f"an integer >= {minimum}", default)
        if value is not None and value is not default and value < minimum:
            raise self.fail(key, f"an integer >= {minimum}")
        return value

    def text(self, key: str, default: Any = ...) -> Any:
        return self.get(key, str, "a string", default)

    def number(self, key: str, default: Any = ...) -> Any:
        value = self.get(key, (int, float), "a number >= 0", default)
        if value is not None and value is not default and value < 0:
            raise self.fail(key, "a number >= 0")
        return value

    def choice(self, key: str, enum: Callable[[Any], T], names: str, default: Any = ...) -> Any:
        value = self.text(key, default)
        if value is None or value is default:
            return value
        try:
            return enum(value)
        except ValueError:
            raise self.fail(key, f"one of {names}") from None

    def moment(self, key: str, default: Any = ...) -> Any:
        value = self.text(key, default)
        if value is None or value is default:
            return value
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(key, "an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise self.fail(key, "an ISO 8601 time with a time zone")
        return moment.astimezone(UTC)

    def items(self, key: str, default: Any = ...) -> Any:
        return self.get(key, list, "a list", default)


def _names(enum: Any) -> str:
    return ", ".join(m.value for m in enum)


def _restore_clock(clock: ControllableClock, raw: object, where: str) -> None:
    if raw is None:
        return
    r = _Reader(raw, where)
    clock.restore(timedelta(seconds=r.number("offset_seconds", 0.0)), r.moment("frozen_at", None))


def restore_state(
    data: object, catalog: Catalog, clock: Clock, delays: Delays, limits: Limits | None = None
) -> Backend:
    """A new backend holding a snapshot; raises ConfigurationError naming the first thing wrong."""
    top = _Reader(data, "snapshot")
    if top.integer("version") != SNAPSHOT_VERSION:
        raise top.fail("version", str(SNAPSHOT_VERSION))
    backend = Backend(catalog, clock, delays, limits=limits)
    _restore_clock(backend.clock, top.data.get("clock"), "snapshot.clock")
    for i, raw in enumerate(top.items("accounts")):
        _restore_account(backend, raw, f"snapshot.accounts[{i}]")
    return backend


def _restore_account(backend: Backend, raw: object, where: str) -> None:
    r = _Reader(raw, where)
    tokens = r.items("tokens", [])
    digests = r.items("token_sha256", [])
    if not all(isinstance(t, str) and t for t in tokens):
        raise r.fail("tokens", "a list of non-empty strings")
    try:
        token_digests = tuple(bytes.fromhex(d) for d in digests)
    except (TypeError, ValueError):
        raise r.fail("token_sha256", "a list of hex SHA-256 digests") from None
    if any(len(d) != 32 for d in token_digests):
        raise r.fail("token_sha256", "a list of hex SHA-256 digests")
    try:
        balance = Decimal(r.text("balance", "1000.00"))
    except InvalidOperation:
        raise r.fail("balance", "a decimal number as a string") from None
    if not balance.is_finite() or balance < 0:
        raise r.fail("balance", "a non-negative decimal number")
    keys_raw = r.items("ssh_keys", None)
    keys = None
    if keys_raw is not None:
        keys = {}
        for j, k in enumerate(keys_raw):
            kr = _Reader(k, f"{where}.ssh_keys[{j}]")
            keys[kr.integer("id")] = SshKey(kr.integer("id"), kr.text("name"))
    delays = None
    if r.data.get("delays") is not None:
        d = _Reader(r.data["delays"], f"{where}.delays")
        delays = Delays(timedelta(seconds=d.number("provisioning")), timedelta(seconds=d.number("action")))
    own_catalog = None
    if r.data.get("catalog") is not None:
        try:
            own_catalog = parse_catalog(r.data["catalog"])
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}.catalog: {exc.detail}") from None
    spec = AccountSpec(
        name=r.text("name"), tokens=tuple(tokens), balance=balance, ssh_keys=keys,
        mode=r.choice("mode", TransitionMode, _names(TransitionMode), TransitionMode.TIMED),
        delays=delays, catalog=own_catalog, token_digests=token_digests,
    )  # fmt: skip
    try:
        account = backend.add_account(spec)
    except (ConfigurationError, LimitReached) as exc:
        raise ConfigurationError(f"{where}: {exc.detail}") from None
    _restore_clock(account.clock, r.data.get("clock"), f"{where}.clock")
    account.next_outcome = r.choice("next_outcome", Outcome, _names(Outcome), None)
    cat = own_catalog or backend.catalog
    for j, raw_server in enumerate(r.items("servers", [])):
        server = _restore_server(backend, cat, raw_server, f"{where}.servers[{j}]")
        if server.id in account.servers:
            raise ConfigurationError(f"{where}.servers[{j}].id: {server.id} appears twice")
        account.servers[server.id] = server
    highest = max(account.servers, default=0) + 1
    account.next_id = max(r.integer("next_id", highest, minimum=1), highest)


def _restore_server(backend: Backend, catalog: Catalog, raw: object, where: str) -> Server:
    r = _Reader(raw, where)
    plan, image = catalog.plans.get(r.integer("plan_id")), catalog.os_images.get(r.integer("os_id"))
    if plan is None:
        raise r.fail("plan_id", "a plan of the catalog")
    if image is None:
        raise r.fail("os_id", "an OS image of the catalog")
    location = r.text("location")
    if location not in catalog.locations:
        raise r.fail("location", "a location of the catalog")
    location = catalog.locations[catalog.locations.index(location)]  # one string per location, not per server
    usage = None
    if r.data.get("usage") is not None:
        u = _Reader(r.data["usage"], f"{where}.usage")
        usage = Usage(float(u.number("cpu_percent")), u.integer("memory_used"), u.integer("disk_used"),
                              u.integer("bandwidth_used"))  # fmt: skip
    created = r.moment("created_at")
    server = Server(
        id=r.integer("id", minimum=1), name=r.text("name"), hostname=r.text("hostname", None), plan=plan, os=image,
        location=location, backups_enabled=r.get("backups_enabled", bool, "true or false", False),
        ssh_key_id=r.integer("ssh_key_id", None), status=r.choice("status", ServerStatus, _names(ServerStatus)),
        since=r.moment("since", created), created_at=created, updated_at=r.moment("updated_at", created),
        ipv4=r.text("ipv4"), ipv6=r.text("ipv6"), activated=r.get("activated", bool, "true or false", True),
        usage=usage, outcome=r.choice("outcome", Outcome, _names(Outcome), None),
    )  # fmt: skip
    _take(backend.ipv4_pool, server.ipv4, f"{where}.ipv4")
    _take(backend.ipv6_pool, server.ipv6, f"{where}.ipv6")
    return server


def _take(pool: AddressPool, address: str, where: str) -> None:
    try:
        pool.reserve(address)
    except ValueError as exc:  # malformed, or already held by another server
        raise ConfigurationError(f"{where}: {exc}") from None
