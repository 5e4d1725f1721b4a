"""The whole state of a mock as JSON-ready data, and back: export, import, and `mockvps serve --state FILE`.

Tokens leave only as salted SHA-256 digests (`token_sha256`, each of `token_salt` + the token; the salt is the
state's, random), each with its name and permissions: a plain digest is a token of the default name that may do
everything (`*:*`), anything else an object `{"sha256", "name", "permissions"}`. An imported snapshot may name
tokens in clear (`tokens`, as an accounts file does) or by digest. Import validates everything before it builds
anything, so a bad snapshot changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from mockvps.addresses import AddressPool
from mockvps.backend import (
    DEFAULT_BALANCE,
    DEFAULT_PROFILE,
    Account,
    AccountSpec,
    Backend,
    Limits,
    Outcome,
    Profile,
    Server,
    Usage,
)
from mockvps.catalog import Catalog, catalog_to_dict, parse_catalog
from mockvps.clock import MAX_OFFSET, Clock, ControllableClock
from mockvps.errors import ConfigurationError, LimitReached
from mockvps.lifecycle import MAX_DELAY, Delays, ServerStatus, TransitionMode
from mockvps.tokens import ALL_PERMISSIONS, DEFAULT_TOKEN_NAME, Token, TokenSpec
from mockvps.validation import (
    Id,
    Money,
    OrString,
    Permissions,
    ProfileRecord,
    SshKeys,
    StrictModel,
    TokenEntry,
    TokenName,
    expected,
    first_problem,
    key_map,
    string_or_object,
)

__all__ = [
    "SNAPSHOT_VERSION",
    "Snapshot",
    "SnapshotAccount",
    "SnapshotClock",
    "SnapshotDelays",
    "SnapshotServer",
    "SnapshotToken",
    "SnapshotUsage",
    "account_record",
    "clock_record",
    "export_state",
    "restore_state",
    "server_record",
]

SNAPSHOT_VERSION = 1


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _clock(clock: ControllableClock) -> dict[str, Any]:
    frozen = clock.now() if clock.frozen else None
    return {"offset_seconds": clock.offset.total_seconds(), "frozen_at": _when(frozen) if frozen else None}


def server_record(server: Server) -> dict[str, Any]:
    usage = server.usage
    return {
        "id": server.id,
        "name": server.name,
        "hostname": server.hostname,
        "plan_id": server.plan.id,
        "os_id": server.os.id,
        "location": server.location,
        "backups_enabled": server.backups_enabled,
        "ssh_key_id": server.ssh_key_id,
        "status": server.status.value,
        "since": _when(server.since),
        "created_at": _when(server.created_at),
        "updated_at": _when(server.updated_at),
        "ipv4": server.ipv4,
        "ipv6": server.ipv6,
        "activated": server.activated,
        "usage": None
        if usage is None
        else {
            "cpu_percent": usage.cpu_percent,
            "memory_used": usage.memory_used,
            "disk_used": usage.disk_used,
            "bandwidth_used": usage.bandwidth_used,
        },
        "outcome": server.outcome.value if server.outcome else None,
    }


def export_state(backend: Backend, accounts: list[str] | None = None) -> dict[str, Any]:
    """Everything, or only the named accounts."""
    chosen = [backend.accounts[n] for n in accounts] if accounts is not None else list(backend.accounts.values())
    return {
        "version": SNAPSHOT_VERSION,
        "token_salt": backend.token_salt.hex(),
        "clock": clock_record(backend),
        "accounts": [
            {**account_record(backend, a), "servers": [server_record(s) for s in a.servers.values()]} for a in chosen
        ],
    }


def clock_record(backend: Backend) -> dict[str, Any]:
    return _clock(backend.clock)


def account_record(backend: Backend, account: Account) -> dict[str, Any]:
    """An account as a snapshot holds it, without its servers."""
    delays = account.delays
    return {
        "name": account.name,
        "token_sha256": [_token_record(t) for t in account.tokens],
        "balance": str(account.balance),
        "ssh_keys": [{"id": k.id, "name": k.name} for k in account.ssh_keys.values()],
        "mode": account.mode.value,
        "delays": None
        if delays is None
        else {"provisioning": delays.provisioning.total_seconds(), "action": delays.action.total_seconds()},
        "catalog": None if account.catalog is None else catalog_to_dict(account.catalog),
        "next_id": account.next_id,
        "next_outcome": account.next_outcome.value if account.next_outcome else None,
        "clock": _clock(account.clock),
        "profile": _profile_record(account.profile),
    }


def _token_record(token: Token) -> str | dict[str, Any]:
    """A plain digest for a token of the default name that may do everything, else the digest with both."""
    if token.name == DEFAULT_TOKEN_NAME and token.permissions == ALL_PERMISSIONS:
        return token.digest.hex()
    return {"sha256": token.digest.hex(), "name": token.name, "permissions": list(token.permissions)}


def _profile_record(profile: Profile) -> dict[str, Any]:
    return {
        "email": profile.email,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "company_name": profile.company_name,
        "created_at": profile.created_at.isoformat(),
    }


def _moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise expected("a string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise expected("an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise expected("an ISO 8601 time with a time zone")
    if not EARLIEST <= moment <= LATEST:
        raise expected(f"a time from {EARLIEST.year} to {LATEST.year}")
    return moment.astimezone(UTC)


MAX_JS_ID = 2**53 - 1
"""The largest integer a JavaScript client holds exactly: ids and usage figures stay below it."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(5000, 1, 1, tzinfo=UTC)
"""Times a snapshot may hold: far from year 9999, so a clock moved a century and a year's delay stay valid."""


def _digest(value: object) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    try:
        digest = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise expected("a hex SHA-256 digest")
    return digest


def _salt(value: object) -> bytes:
    try:
        salt = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        salt = None
    if salt is None or len(salt) > 64:
        raise expected("a salt in hex (64 bytes at most)")
    return salt


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise expected("a decimal number as a string")
    return value


def _catalog(value: object) -> Catalog | None:
    if value is None:
        return None
    try:
        return parse_catalog(value)
    except ConfigurationError as exc:
        raise PydanticCustomError("mockvps", "{detail}", {"detail": exc.detail}) from None


def _this_version(version: int) -> int:
    if version != SNAPSHOT_VERSION:
        raise expected(str(SNAPSHOT_VERSION))
    return version


Moment = Annotated[datetime, PlainValidator(_moment)]
"""ISO 8601 with a time zone, as UTC."""
Seconds = Annotated[float, Field(ge=0, le=MAX_DELAY.total_seconds(), allow_inf_nan=False)]
"""A delay: at most a year, as the control API allows."""
Offset = Annotated[float, Field(ge=-MAX_OFFSET.total_seconds(), le=MAX_OFFSET.total_seconds(), allow_inf_nan=False)]
"""A clock's offset: at most a century either way, as the control API allows."""
ServerId = Annotated[int, Field(ge=1, le=MAX_JS_ID)]
Count = Annotated[int, Field(ge=0)]
# Enums from their values (strings), not only as enum members.
Status = Annotated[ServerStatus, Field(strict=False)]
Mode = Annotated[TransitionMode, Field(strict=False)]
Ending = Annotated[Outcome, Field(strict=False)]


class SnapshotClock(StrictModel):
    offset_seconds: Offset = 0.0
    frozen_at: Moment | None = None

    def restore(self, clock: ControllableClock) -> None:
        clock.restore(timedelta(seconds=self.offset_seconds), self.frozen_at)


class SnapshotDelays(StrictModel):
    provisioning: Seconds
    action: Seconds


class SnapshotUsage(StrictModel):
    cpu_percent: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    memory_used: Annotated[int, Field(ge=0, le=MAX_JS_ID)]
    disk_used: Annotated[int, Field(ge=0, le=MAX_JS_ID)]
    bandwidth_used: Annotated[int, Field(ge=0, le=MAX_JS_ID)]


class SnapshotServer(StrictModel):
    id: ServerId
    name: str
    hostname: str | None = None
    plan_id: Count
    os_id: Count
    location: str
    backups_enabled: bool = False
    ssh_key_id: Id | None = None
    status: Status
    created_at: Moment
    since: Moment = Field(default_factory=lambda data: data["created_at"])
    updated_at: Moment = Field(default_factory=lambda data: data["created_at"])
    ipv4: str
    ipv6: str
    activated: bool = True
    usage: SnapshotUsage | None = None
    outcome: Ending | None = None


Digest = Annotated[bytes, PlainValidator(_digest, json_schema_input_type=str)]


class SnapshotToken(StrictModel):
    """A token known by its salted digest, with its name and permissions."""

    sha256: Digest
    name: TokenName = DEFAULT_TOKEN_NAME
    permissions: Permissions = Field(default_factory=lambda: list(ALL_PERMISSIONS))

    def spec(self) -> TokenSpec:
        return TokenSpec(digest=self.sha256, name=self.name, permissions=tuple(self.permissions))


def _digest_or_object(value: Any, handler: Any) -> Any:
    if isinstance(value, str):  # a plain digest, judged here so that a bad one is named at its own place
        return SnapshotToken.model_construct(
            sha256=_digest(value), name=DEFAULT_TOKEN_NAME, permissions=list(ALL_PERMISSIONS)
        )
    return string_or_object("sha256")(value, handler)


class SnapshotAccount(StrictModel):
    name: str
    tokens: list[TokenEntry] = Field(default_factory=list)
    token_sha256: list[Annotated[SnapshotToken, WrapValidator(_digest_or_object), OrString()]] = Field(
        default_factory=list
    )
    balance: Annotated[Money, BeforeValidator(_text_only)] = DEFAULT_BALANCE
    ssh_keys: SshKeys | None = None
    """None: the catalog's default keys."""
    mode: Mode = TransitionMode.TIMED
    delays: SnapshotDelays | None = None
    catalog: Annotated[Catalog | None, PlainValidator(_catalog)] = None
    next_id: ServerId = 1
    """At least one above the highest server id, whatever the snapshot says."""
    next_outcome: Ending | None = None
    clock: SnapshotClock | None = None
    profile: ProfileRecord | None = None
    """Left out: the documentation's example."""
    servers: list[SnapshotServer] = Field(default_factory=list)

    def spec(self) -> AccountSpec:
        delays = self.delays
        return AccountSpec(
            name=self.name,
            tokens=(*(t.spec() for t in self.tokens), *(t.spec() for t in self.token_sha256)),
            balance=self.balance,
            mode=self.mode,
            ssh_keys=key_map(self.ssh_keys),
            delays=None
            if delays is None
            else Delays(timedelta(seconds=delays.provisioning), timedelta(seconds=delays.action)),
            catalog=self.catalog,
            profile=self.profile.applied(DEFAULT_PROFILE) if self.profile else DEFAULT_PROFILE,
        )


class Snapshot(StrictModel):
    """The snapshot format `export_state` writes (and `Store.load` returns), as import reads it."""

    version: Annotated[int, AfterValidator(_this_version)]
    token_salt: Annotated[bytes, PlainValidator(_salt)] = b""
    """What every `token_sha256` was salted with; left out: plain SHA-256 (snapshots before salts)."""
    clock: SnapshotClock | None = None
    accounts: list[SnapshotAccount]


def restore_state(
    data: object, catalog: Catalog, clock: Clock, delays: Delays, limits: Limits | None = None
) -> Backend:
    """A new backend holding a snapshot; raises ConfigurationError naming the first thing wrong.

    The whole snapshot is validated first; what needs the state being built (a catalog's plans, unique names,
    tokens and addresses) is checked while building a new backend, which the caller takes only when it is done.
    """
    try:
        snapshot = Snapshot.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(first_problem(exc, root="snapshot")) from None
    backend = Backend(catalog, clock, delays, limits=limits, token_salt=snapshot.token_salt)
    if snapshot.clock is not None:
        snapshot.clock.restore(backend.clock)
    for i, record in enumerate(snapshot.accounts):
        _restore_account(backend, record, f"snapshot.accounts[{i}]")
    return backend


def _restore_account(backend: Backend, record: SnapshotAccount, where: str) -> None:
    try:
        account = backend.add_account(record.spec())
    except (ConfigurationError, LimitReached) as exc:
        raise ConfigurationError(f"{where}: {exc.detail}") from None
    if record.clock is not None:
        record.clock.restore(account.clock)
    account.next_outcome = record.next_outcome
    catalog = record.catalog or backend.catalog
    for j, server_record in enumerate(record.servers):
        server = _restore_server(backend, catalog, server_record, f"{where}.servers[{j}]")
        if server.id in account.servers:
            raise ConfigurationError(f"{where}.servers[{j}].id: {server.id} appears twice")
        account.servers[server.id] = server
    account.next_id = max(record.next_id, max(account.servers, default=0) + 1)


def _restore_server(backend: Backend, catalog: Catalog, record: SnapshotServer, where: str) -> Server:
    plan, image = catalog.plans.get(record.plan_id), catalog.os_images.get(record.os_id)
    if plan is None:
        raise ConfigurationError(f"{where}.plan_id: expected a plan of the catalog")
    if image is None:
        raise ConfigurationError(f"{where}.os_id: expected an OS image of the catalog")
    if record.location not in catalog.locations:
        raise ConfigurationError(f"{where}.location: expected a location of the catalog")
    location = catalog.locations[catalog.locations.index(record.location)]  # one string per location
    usage = record.usage
    server = Server(
        id=record.id,
        name=record.name,
        hostname=record.hostname,
        plan=plan,
        os=image,
        location=location,
        backups_enabled=record.backups_enabled,
        ssh_key_id=record.ssh_key_id,
        status=record.status,
        since=record.since,
        created_at=record.created_at,
        updated_at=record.updated_at,
        ipv4=record.ipv4,
        ipv6=record.ipv6,
        activated=record.activated,
        outcome=record.outcome,
        usage=None
        if usage is None
        else Usage(usage.cpu_percent, usage.memory_used, usage.disk_used, usage.bandwidth_used),
    )
    _take(backend.ipv4_pool, server.ipv4, f"{where}.ipv4")
    _take(backend.ipv6_pool, server.ipv6, f"{where}.ipv6")
    return server


def _take(pool: AddressPool, address: str, where: str) -> None:
    try:
        pool.reserve(address)
    except ValueError as exc:  # malformed, or already held by another server
        raise ConfigurationError(f"{where}: {exc}") from None
