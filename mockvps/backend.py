"""Accounts and their servers, with one method per operation of the Servers API.

The backend is the whole state of a mock. It is synchronous and never awaits, so when the HTTP layer calls
it from async handlers on one event loop every operation is atomic. Status is settled lazily: each access
first brings a server to where the lifecycle's tables say it stands now (`Lifecycle.settle`), which is the
same whenever it happens, so reading never changes anything a client could observe.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypedDict

from mockvps import examples, lifecycle
from mockvps.addresses import AddressPool, default_ipv4_pool, default_ipv6_pool
from mockvps.catalog import Catalog, OsImage, Plan, SshKey
from mockvps.clock import MAX_OFFSET, Clock, ControllableClock
from mockvps.errors import (
    ActionNotAllowed,
    ConfigurationError,
    InsufficientBalance,
    InvalidToken,
    LimitReached,
    NotFound,
    ValidationFailed,
)
from mockvps.lifecycle import LIFECYCLE, Action, Delays, Lifecycle, ServerStatus, TransitionMode
from mockvps.tokens import Token, TokenSpec

__all__ = [
    "DEFAULT_BALANCE",
    "DEFAULT_PROFILE",
    "DIGESTS_KEPT",
    "FIRST_SERVER_ID",
    "MAX_BALANCE",
    "MAX_SEEDED_ID",
    "Account",
    "AccountSpec",
    "Backend",
    "Change",
    "ChangeHook",
    "Limits",
    "Outcome",
    "Profile",
    "Server",
    "ServerChanges",
    "Usage",
    "token_digest",
]

FIRST_SERVER_ID = 12347
"""Ids continue after the documentation's examples (12345, 12346), in every account."""
DEFAULT_BALANCE = Decimal("1000.00")
"""An account's balance unless configured otherwise."""
MAX_BALANCE = Decimal("1000000000000")
"""The largest balance an account may be given: any plan stays payable, any sum representable."""
MAX_SEEDED_ID = 10**12
"""The largest id an operator may give a server: a million creates after it stay below 2**53 (JavaScript)."""
DIGESTS_KEPT = 1024
"""How many tokens' digests a backend remembers (they depend on its salt alone, which never changes)."""


class Outcome(StrEnum):
    """How a server's provisioning ends, when an operator has arranged it."""

    FAIL = "fail"  # when its provisioning delay runs out the server is gone and its price refunded
    HANG = "hang"  # it stays provisioning until an operator advances it


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_percent: float
    memory_used: int  # MB
    disk_used: int  # GB
    bandwidth_used: int  # GB this month


@dataclass(slots=True, eq=False)
class Server:
    """A server, compared by identity (an entity, not a value): renderings are cached per server object."""

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
    usage: Usage | None = None
    """Usage set by an operator; otherwise derived from the id and the plan."""
    outcome: Outcome | None = None
    revision: int = 0
    """Grows with every change a client could see, so a rendering of one revision can be reused."""

    @property
    def ip_address(self) -> str | None:
        return self.ipv4 if self.activated else None

    @property
    def ipv6_address(self) -> str | None:
        return self.ipv6 if self.activated else None

    def resource_usage(self) -> Usage:
        if not self.activated and self.usage is None:  # never ran: nothing used yet
            return Usage(0.0, 0, 0, 0)
        base = self.usage or _derived_usage(self.id, self.plan)
        if self.status in lifecycle.RUNNING:
            return base
        return Usage(0.0, 0, base.disk_used, base.bandwidth_used)


def _derived_usage(server_id: int, plan: Plan) -> Usage:
    h = zlib.crc32(server_id.to_bytes(8, "big"))
    return Usage(
        cpu_percent=round(5 + (h % 600) / 10, 1),
        memory_used=plan.memory * (20 + (h >> 8) % 60) // 100,
        disk_used=plan.storage * (10 + (h >> 16) % 70) // 100,
        bandwidth_used=plan.bandwidth * ((h >> 24) % 40) // 100,
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """Whose an account is, as `GET /api/v1/account/me/` shows it."""

    email: str
    first_name: str
    last_name: str
    company_name: str
    created_at: date
    """A plain date, as the Account API page shows it."""


DEFAULT_PROFILE = Profile(
    **{**examples.ACCOUNT_ME["account"], "created_at": date.fromisoformat(examples.ACCOUNT_ME["account"]["created_at"])}
)
"""Every account's profile unless configured: the Account API page's example."""


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """How to build an account: from settings, an accounts file, a snapshot, or the control API."""

    name: str
    tokens: tuple[str | TokenSpec, ...] = ()
    """A plain string is a token that may do everything (`*:*`), named as `tokens.DEFAULT_TOKEN_NAME`."""
    balance: Decimal = DEFAULT_BALANCE
    ssh_keys: Mapping[int, SshKey] | None = None
    """None: the catalog's default keys."""
    examples: bool = False
    """Start with the documentation's example servers 12345 and 12346."""
    mode: TransitionMode = TransitionMode.TIMED
    delays: Delays | None = None
    """None: the mock's delays."""
    catalog: Catalog | None = None
    """None: the mock's catalog."""
    profile: Profile = DEFAULT_PROFILE


@dataclass(slots=True)
class Account:
    spec: AccountSpec
    clock: ControllableClock
    balance: Decimal
    ssh_keys: dict[int, SshKey]
    mode: TransitionMode
    delays: Delays | None
    catalog: Catalog | None
    profile: Profile = DEFAULT_PROFILE
    tokens: list[Token] = field(default_factory=list)
    """In the order they were made; the backend finds them by digest."""
    servers: dict[int, Server] = field(default_factory=dict)
    next_id: int = FIRST_SERVER_ID
    next_outcome: Outcome | None = None
    """What the next created server's provisioning does (an operator's arrangement)."""

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class Limits:
    max_servers_per_account: int = 100_000
    max_accounts: int = 10_000


@dataclass(frozen=True, slots=True)
class Change:
    """What one write changed, as the backend tells its `on_change` hook (the store keeps exactly this).

    `account`: that account's own fields (balance, mode, delays, clock, next id); with `server_id`, also that
    server, or its absence; with `all_servers`, every server of the account. `removed`: the account of that name
    is gone. `clock`: the mock's clock moved.
    """

    account: Account | None = None
    server_id: int | None = None
    all_servers: bool = False
    removed: str | None = None
    clock: bool = False


Undo = Callable[[], None]
"""Puts back what one write changed. Undos run newest first, each on the state the later ones left."""
ChangeHook = Callable[["Backend", Change, Undo], None]
"""Called after every write, before the write is acknowledged. What it raises reaches the caller, and the write
is undone at once; once it returns, the hook holds the undo and runs it if it cannot keep the change after all
(a store that fails to commit a group of writes undoes them all, newest first)."""


class ServerChanges(TypedDict, total=False):
    name: str
    hostname: str | None
    backups_enabled: bool


def token_digest(token: str, salt: bytes) -> bytes:
    """SHA-256 of the salt and the token. Accounts are found by it, so no lookup compares secrets byte by byte,
    and what leaves the mock (exports, the store) reverses through no table made in advance: each state has
    its salt. (A guessable token stays guessable to whoever holds the salt: a mock's tokens are not secrets.)"""
    return hashlib.sha256(salt + token.encode("utf-8", "surrogatepass")).digest()


class Backend:
    def __init__(
        self,
        catalog: Catalog,
        clock: Clock,
        delays: Delays | None = None,
        accounts: Iterable[AccountSpec] = (),
        ipv4_pool: AddressPool | None = None,
        ipv6_pool: AddressPool | None = None,
        limits: Limits | None = None,
        token_salt: bytes | None = None,
        lifecycle: Lifecycle | None = None,
    ) -> None:
        """`lifecycle`: the tables its servers follow (None: the documentation's, `lifecycle.LIFECYCLE`)."""
        self.catalog = catalog
        self.token_salt = secrets.token_bytes(16) if token_salt is None else token_salt
        """Salts every token digest of this state (a snapshot carries it; b"": plain SHA-256, as before)."""
        self.clock = ControllableClock(clock)
        self.delays = delays or Delays()
        self.limits = limits or Limits()
        self.lifecycle = LIFECYCLE if lifecycle is None else lifecycle
        self.accounts: dict[str, Account] = {}
        self._tokens: dict[bytes, tuple[Account, Token]] = {}
        self._digests: dict[str, bytes] = {}
        """The digests of tokens that named an account when presented, so a client's token is hashed once, not on
        every request; at most `DIGESTS_KEPT` (a token that names nothing is never kept)."""
        self.ipv4_pool = ipv4_pool or default_ipv4_pool()
        self.ipv6_pool = ipv6_pool or default_ipv6_pool()
        self.on_change: ChangeHook | None = None
        """Told of every write (persistence); set once the state is built, so building it tells nothing."""
        for spec in accounts:
            self.add_account(spec)

    def _changed(self, change: Change, undo: Undo) -> None:
        """Tell the hook what a write changed; when the hook fails, undo the write and let its error through."""
        if self.on_change is None:
            return
        try:
            self.on_change(self, change, undo)
        except BaseException:
            undo()
            raise

    def _saved(self, account: Account | None, server_id: int | None = None, *, removing: bool = False) -> Undo:
        """How to put back, after a failed hook, what a write is about to change: the account's own fields, its
        clock, the mock's clock, and the server `server_id` (its fields, its presence, its addresses, its place
        in the list when the write may remove it: `removing`, or a provisioning arranged to fail).

        A server put back gets a revision of its own, never one it had: a rendering made of the undone write
        (cached by revision) is never shown again."""
        if self.on_change is None:
            return _nothing
        mock_clock = self.clock.state()
        # a move of time, mode or delays: the servers it let settle go back with it
        accounts = self.accounts.values() if account is None else (account,)
        settled = self._settled_servers(accounts) if server_id is None else _nothing
        if account is None:

            def undo_clock() -> None:
                self.clock.restore(*mock_clock)
                settled()

            return undo_clock
        fields = (account.balance, account.next_id, account.next_outcome, account.mode, account.delays, account.profile)
        account_clock = account.clock.state()
        server = account.servers.get(server_id) if server_id is not None else None
        copied = copy.copy(server)
        may_go = server is not None and (removing or server.outcome is Outcome.FAIL)
        order = list(account.servers) if may_go else None

        def undo() -> None:
            account.balance, account.next_id, account.next_outcome, account.mode, account.delays, account.profile = (
                fields
            )
            account.clock.restore(*account_clock)
            self.clock.restore(*mock_clock)
            settled()
            if server_id is None:
                return
            now = account.servers.get(server_id)
            if now is not None and now is not server:  # made by the write
                self._discard(account, now)
            if server is not None and copied is not None:
                revision = server.revision
                if now is None:  # removed by the write (a failed provisioning, refunded): back in its place
                    account.servers[server_id] = server
                    if order is not None:
                        account.servers = {sid: account.servers[sid] for sid in order if sid in account.servers}
                    self.ipv4_pool.reserve(server.ipv4)
                    self.ipv6_pool.reserve(server.ipv6)
                for name in Server.__slots__:
                    setattr(server, name, getattr(copied, name))
                server.revision = max(revision, copied.revision) + 1

        return undo

    def _settled_servers(self, accounts: Iterable[Account]) -> Undo:
        """How to put back where the accounts' servers stand now: a settle (a status reached with time) is no
        write, but one reached under a clock, mode or delays that are undone must be undone with them. Only servers
        in a status that passes with time are copied: time moves no other (a store of 20,000 active servers costs
        a clock move nothing more)."""
        passing = self.lifecycle.settles
        saved = [
            (account, server, copy.copy(server))
            for account in accounts
            for server in account.servers.values()
            if server.status in passing
        ]

        def undo() -> None:
            for account, server, copied in saved:
                if account.servers.get(server.id) is server:
                    revision = server.revision
                    for name in Server.__slots__:
                        setattr(server, name, getattr(copied, name))
                    server.revision = max(revision, copied.revision) + 1

        return undo

    # accounts

    def add_account(self, spec: AccountSpec) -> Account:
        if spec.name in self.accounts:
            raise ConfigurationError(f"account {spec.name!r} is defined twice")
        if len(self.accounts) >= self.limits.max_accounts:
            raise LimitReached(f"The mock holds its limit of {self.limits.max_accounts} accounts.")
        tokens = [self._token(t) for t in spec.tokens]
        if not tokens:
            raise ConfigurationError(f"account {spec.name!r} has no token")
        digests = {t.digest for t in tokens}
        if any(d in self._tokens for d in digests) or len(digests) != len(tokens):
            raise ConfigurationError(f"account {spec.name!r}: a token is already in use")
        account = self._fresh(spec)
        account.tokens = tokens
        self.accounts[spec.name] = account
        for token in tokens:
            self._tokens[token.digest] = (account, token)
        self._changed(Change(account, all_servers=True), lambda: self._forget(account))
        return account

    def _token(self, spec: str | TokenSpec) -> Token:
        """A configured token as the mock keeps it: by its salted digest, its permissions resolved."""
        if isinstance(spec, str):
            spec = TokenSpec(secret=spec)
        if spec.secret is not None:
            digest = token_digest(spec.secret, self.token_salt)
        elif spec.digest is not None:
            digest = spec.digest
        else:
            raise ConfigurationError("a token needs its secret or its digest")
        return Token.resolve(digest, spec.name, spec.permissions)

    def _forget(self, account: Account) -> None:
        for server in list(account.servers.values()):
            self._discard(account, server)
        del self.accounts[account.name]
        for token in account.tokens:
            self._tokens.pop(token.digest, None)

    def create_account(
        self, spec: AccountSpec, *, generate_name: bool = False, generate_token: bool = False
    ) -> tuple[Account, tuple[str, ...]]:
        """An account made at run time (the control API): refusals read as field errors. Returns it with its
        tokens' secrets in clear, which nothing keeps: a name left out is generated, and so is a token's secret
        (and, with `generate_token`, a token of every permission)."""
        name = f"account-{secrets.token_hex(4)}" if generate_name else spec.name
        specs = spec.tokens or ((TokenSpec(),) if generate_token else ())
        tokens = tuple(_with_secret(TokenSpec(secret=t) if isinstance(t, str) else t) for t in specs)
        if name in self.accounts:
            raise ValidationFailed({"name": [f"An account named {name!r} exists already."]})
        try:
            account = self.add_account(replace(spec, name=name, tokens=tokens))
        except ConfigurationError as exc:
            raise ValidationFailed({"non_field_errors": [exc.detail]}) from None
        return account, tuple(t.secret or "" for t in tokens)

    def add_token(self, account: Account, spec: TokenSpec) -> tuple[Token, str]:
        """A further token of an account (the control API): returns it with its secret, generated if left out,
        which nothing keeps."""
        spec = _with_secret(spec)
        assert spec.secret is not None
        token = self._token(spec)
        if token.digest in self._tokens:
            raise ValidationFailed({"token": ["This token is already in use."]})
        account.tokens.append(token)
        self._tokens[token.digest] = (account, token)

        def undo() -> None:
            account.tokens.remove(token)
            del self._tokens[token.digest]

        self._changed(Change(account), undo)
        return token, spec.secret

    def update_account(
        self,
        account: Account,
        *,
        balance: Decimal | None = None,
        mode: TransitionMode | None = None,
        provisioning_delay: timedelta | None = None,
        action_delay: timedelta | None = None,
        profile: Profile | None = None,
    ) -> Account:
        """Change what is given; a delay given alone keeps the other as it stands."""
        if mode is not None:
            self._settle_all(account)  # what was due under the old mode has happened
        delays = self.merged_delays(account.delays, provisioning_delay, action_delay)
        undo = self._saved(account)
        if mode is not None:
            account.mode = mode
        if balance is not None:
            account.balance = balance
        if profile is not None:
            account.profile = profile
        account.delays = delays
        self._changed(Change(account), undo)
        return account

    def merged_delays(
        self, base: Delays | None, provisioning: timedelta | None, action: timedelta | None
    ) -> Delays | None:
        """`base` (None: the mock's delays) with what is given in place; None when nothing is given or set."""
        if provisioning is None and action is None:
            return base
        current = base or self.delays
        return Delays(
            provisioning=current.provisioning if provisioning is None else provisioning,
            action=current.action if action is None else action,
        )

    def delays_of(self, account: Account) -> Delays:
        """The delays an account's servers take (its own, or the mock's)."""
        return account.delays or self.delays

    def account(self, name: str) -> Account:
        account = self.accounts.get(name)
        if account is None:
            raise NotFound()
        return account

    def remove_account(self, name: str) -> None:
        account = self.account(name)
        order, servers = list(self.accounts), dict(account.servers)
        self._forget(account)

        def undo() -> None:
            account.servers = servers
            self.accounts[name] = account
            self.accounts = {n: self.accounts[n] for n in order if n in self.accounts} | self.accounts
            self._hold_tokens(account)
            for server in account.servers.values():
                self.ipv4_pool.reserve(server.ipv4)
                self.ipv6_pool.reserve(server.ipv6)

        self._changed(Change(removed=name), undo)

    def reset_account(self, name: str) -> Account:
        """The account as it was created: its servers gone, its balance, catalog and clock as configured."""
        old = self.account(name)
        for server in list(old.servers.values()):
            self._discard(old, server)
        account = self._fresh(old.spec)
        account.tokens = old.tokens
        self.accounts[name] = account
        self._hold_tokens(account)

        def undo() -> None:
            for server in list(account.servers.values()):
                self._discard(account, server)
            for server in old.servers.values():
                self.ipv4_pool.reserve(server.ipv4)
                self.ipv6_pool.reserve(server.ipv6)
            self.accounts[name] = old
            self._hold_tokens(old)

        self._changed(Change(account, all_servers=True), undo)
        return account

    def _hold_tokens(self, account: Account) -> None:
        """Its tokens find this account object (a reset replaces it)."""
        for token in account.tokens:
            self._tokens[token.digest] = (account, token)

    def _fresh(self, spec: AccountSpec) -> Account:
        catalog = spec.catalog or self.catalog
        keys = dict(spec.ssh_keys if spec.ssh_keys is not None else catalog.ssh_keys)
        account = Account(spec=spec, clock=ControllableClock(self.clock), balance=spec.balance, ssh_keys=keys,
                          mode=spec.mode, delays=spec.delays, catalog=spec.catalog,
                          profile=spec.profile)  # fmt: skip
        if spec.examples:
            self._add_examples(account)
        return account

    def authenticate(self, token: str) -> Account:
        account = self.account_for_token(token)
        if account is None:
            raise InvalidToken()
        return account

    def account_for_token(self, token: str) -> Account | None:
        found = self.credentials(token)
        return found[0] if found else None

    def credentials(self, token: str) -> tuple[Account, Token] | None:
        """The account a token belongs to, and the token with its permissions resolved; None for no account's."""
        digest = self._digests.get(token)
        if digest is not None:
            return self._tokens.get(digest)
        digest = token_digest(token, self.token_salt)
        found = self._tokens.get(digest)
        if found is not None:
            if len(self._digests) >= DIGESTS_KEPT:
                self._digests.clear()
            self._digests[token] = digest
        return found

    # the nine operations

    def list_servers(
        self, account: Account, status: ServerStatus | None = None, location: str | None = None
    ) -> list[Server]:
        now = account.clock.now()
        found = []
        for server in list(account.servers.values()):
            if not self._settle(account, server, now):
                continue
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
        plan, image = self._choices(account, plan_id, os_id, location, ssh_key_id)
        if len(account.servers) >= self.limits.max_servers_per_account:
            raise LimitReached(f"The account holds its limit of {self.limits.max_servers_per_account} servers.")
        if account.balance < plan.price:
            raise InsufficientBalance(
                f"Insufficient balance: the plan {plan.name} costs {plan.price} per month "
                f"and the account's balance is {account.balance}."
            )
        undo = self._saved(account, account.next_id)
        server = self._build(account, account.next_id, name, hostname, plan, image, location, ssh_key_id,
                             backups_enabled, account.next_outcome)  # fmt: skip
        account.next_outcome = None
        account.balance -= plan.price
        account.servers[server.id] = server
        account.next_id += 1
        self._changed(Change(account, server.id), undo)
        return server

    def _choices(
        self, account: Account, plan_id: int, os_id: int, location: str, ssh_key_id: int | None = None
    ) -> tuple[Plan, OsImage]:
        """The catalog entries a new server names; every unknown one refused at once, field by field."""
        errors: dict[str, list[str]] = {}
        catalog = account.catalog or self.catalog
        plan = catalog.plans.get(plan_id)
        if plan is None:
            errors["plan_id"] = [f'Invalid pk "{plan_id}" - object does not exist.']
        image = catalog.os_images.get(os_id)
        if image is None:
            errors["os_id"] = [f'Invalid pk "{os_id}" - object does not exist.']
        if location not in catalog.locations:
            errors["location"] = [f'"{location}" is not a valid choice.']
        if ssh_key_id is not None and ssh_key_id not in account.ssh_keys:
            errors["ssh_key_id"] = [f'Invalid pk "{ssh_key_id}" - object does not exist.']
        if errors:
            raise ValidationFailed(errors)
        assert plan is not None and image is not None
        return plan, image

    def _build(
        self,
        account: Account,
        server_id: int,
        name: str,
        hostname: str | None,
        plan: Plan,
        image: OsImage,
        location: str,
        ssh_key_id: int | None,
        backups_enabled: bool,
        outcome: Outcome | None,
    ) -> Server:
        """A new server in provisioning, with its addresses reserved (nothing else is touched)."""
        ipv4 = self.ipv4_pool.allocate()
        try:
            ipv6 = self.ipv6_pool.allocate()
        except Exception:
            self.ipv4_pool.release(ipv4)
            raise
        now = account.clock.now()
        return Server(
            id=server_id,
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
            outcome=outcome,
        )

    def get_server(self, account: Account, server_id: int) -> Server:
        server = account.servers.get(server_id)
        if server is None or not self._settle(account, server, account.clock.now()):
            raise NotFound()
        return server

    def replace_server(
        self, account: Account, server_id: int, *, name: str, hostname: str | None, backups_enabled: bool
    ) -> Server:
        return self.update_server(
            account, server_id, ServerChanges(name=name, hostname=hostname, backups_enabled=backups_enabled)
        )

    def update_server(self, account: Account, server_id: int, changes: ServerChanges) -> Server:
        server = self.get_server(account, server_id)
        undo = self._saved(account, server_id)
        changed = False
        for key, value in changes.items():
            if getattr(server, key) != value:
                setattr(server, key, value)
                changed = True
        if changed:
            server.updated_at = account.clock.now()
            server.revision += 1
            self._changed(Change(account, server_id), undo)
        return server

    def delete_server(self, account: Account, server_id: int) -> None:
        server = self.get_server(account, server_id)
        undo = self._saved(account, server_id, removing=True)
        self._discard(account, server)
        self._changed(Change(account, server_id), undo)

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

    def next_transition(self, account: Account, server: Server) -> tuple[ServerStatus, datetime | None] | None:
        """Where a server in transition goes next, and when (None: only when an operator advances it)."""
        settles = self.lifecycle.settles
        if server.status not in settles:
            return None
        target, kind = settles[server.status]
        if self._waits_for_operator(account, server):
            return target, None
        return target, server.since + self._delays(account).of(kind)

    def advance_server(self, account: Account, server_id: int) -> Server | None:
        """Move a server in transition to its next status now; None when that ends a failing provisioning."""
        server = self.get_server(account, server_id)
        settles = self.lifecycle.settles
        if server.status not in settles:
            raise ActionNotAllowed(f"Server is {server.status.value}, not in transition.")
        undo = self._saved(account, server_id)
        if self._ends_in_failure(server):
            self._discard(account, server, refund=True)
            self._changed(Change(account, server_id), undo)
            return None
        self._enter(server, settles[server.status][0], account.clock.now())
        self._changed(Change(account, server_id), undo)
        return server

    def set_usage(self, account: Account, server_id: int, usage: Usage | None) -> Server:
        server = self.get_server(account, server_id)
        undo = self._saved(account, server_id)
        server.usage = usage
        server.revision += 1
        self._changed(Change(account, server_id), undo)
        return server

    def set_next_outcome(self, account: Account, outcome: Outcome | None) -> None:
        undo = self._saved(account)
        account.next_outcome = outcome
        self._changed(Change(account), undo)

    # time

    def advance_clock(self, account: Account | None, seconds: float) -> ControllableClock:
        """Move the mock's clock (every account's time follows it), or one account's, forward."""
        clock = self.clock if account is None else account.clock
        undo = self._saved(account)
        try:
            clock.advance(seconds)
        except ValueError as refusal:
            raise ValidationFailed({"seconds": [f"Refused: {refusal} ({MAX_OFFSET.days * 86400} seconds)."]}) from None
        self._changed(Change(account, clock=account is None), undo)
        return clock

    def freeze_clock(self, account: Account | None) -> ControllableClock:
        clock = self.clock if account is None else account.clock
        undo = self._saved(account)
        clock.freeze()
        self._changed(Change(account, clock=account is None), undo)
        return clock

    def unfreeze_clock(self, account: Account | None) -> ControllableClock:
        clock = self.clock if account is None else account.clock
        undo = self._saved(account)
        clock.unfreeze()
        self._changed(Change(account, clock=account is None), undo)
        return clock

    def seed_server(
        self,
        account: Account,
        *,
        status: ServerStatus,
        name: str,
        plan_id: int,
        os_id: int,
        location: str,
        hostname: str | None = None,
        backups_enabled: bool = False,
        server_id: int | None = None,
    ) -> Server:
        """Put a server in any status, free of charge: a test's starting point."""
        if server_id is not None and server_id in account.servers:
            raise ValidationFailed({"id": [f"Server {server_id} already exists."]})
        plan, image = self._choices(account, plan_id, os_id, location)
        if len(account.servers) >= self.limits.max_servers_per_account:
            raise LimitReached(f"The account holds its limit of {self.limits.max_servers_per_account} servers.")
        chosen = account.next_id if server_id is None else server_id
        undo = self._saved(account, chosen)
        server = self._build(account, chosen, name, hostname, plan, image, location, None, backups_enabled, None)
        server.status = status
        server.activated = status is not ServerStatus.PROVISIONING
        account.servers[server.id] = server
        account.next_id = max(account.next_id, server.id + 1)
        self._changed(Change(account, server.id), undo)
        return server

    # internals

    def _act(self, account: Account, server_id: int, action: Action) -> Server:
        server = self.get_server(account, server_id)
        try:
            target = self.lifecycle.apply(action, server.status)
        except ValueError as refusal:
            raise ActionNotAllowed(str(refusal), action=action, status=server.status) from None
        undo = self._saved(account, server_id)
        self._enter(server, target, account.clock.now())
        self._changed(Change(account, server_id), undo)
        return server

    def _settle_all(self, account: Account) -> None:
        now = account.clock.now()
        for server in list(account.servers.values()):
            self._settle(account, server, now)

    def _settle(self, account: Account, server: Server, now: datetime) -> bool:
        """Bring a server to where its lifecycle stands at `now`; False when it turned out to be gone."""
        rules = self.lifecycle
        if server.status not in rules.settles:  # stable: nothing can be due (the common case, checked first)
            return True
        if self._waits_for_operator(account, server):
            return True
        status, since = rules.settle(server.status, server.since, now, self._delays(account))
        if status is server.status:
            return True
        if self._ends_in_failure(server):
            undo = self._saved(account, server.id)
            self._discard(account, server, refund=True)
            try:  # the refund, kept: a restart must not refund it again
                self._changed(Change(account, server.id), undo)
            except Exception:  # not kept: undone, and due again at the next read
                return True
            return False
        self._enter(server, status, since)
        return True

    @staticmethod
    def _waits_for_operator(account: Account, server: Server) -> bool:
        return account.mode is TransitionMode.MANUAL or (
            server.outcome is Outcome.HANG and server.status is ServerStatus.PROVISIONING
        )

    def _delays(self, account: Account) -> Delays:
        if account.mode is TransitionMode.IMMEDIATE:
            return Delays(timedelta(0), timedelta(0))
        return self.delays_of(account)

    @staticmethod
    def _ends_in_failure(server: Server) -> bool:
        return server.outcome is Outcome.FAIL and server.status is ServerStatus.PROVISIONING

    @staticmethod
    def _enter(server: Server, status: ServerStatus, since: datetime) -> None:
        server.status, server.since, server.updated_at = status, since, since
        server.revision += 1
        if status is ServerStatus.ACTIVE:
            server.activated = True

    @staticmethod
    def _claim(pool: AddressPool, address: str) -> str:
        """The documentation's address if it is free; another account holding the examples gets fresh ones."""
        try:
            pool.reserve(address)
        except ValueError:
            return pool.allocate()
        return address

    def _discard(self, account: Account, server: Server, *, refund: bool = False) -> None:
        del account.servers[server.id]
        self.ipv4_pool.release(server.ipv4)
        self.ipv6_pool.release(server.ipv6)
        if refund:
            account.balance += server.plan.price

    def _add_examples(self, account: Account) -> None:
        """The documentation's servers 12345 and 12346, as its list example shows them.

        Its detail example adds 12345's IPv6 address, backups and usage; for 12346, which no detail example
        shows, the mock chooses the next IPv6 address, backups off and derived usage.
        """
        detail = examples.DETAIL
        extra = {
            12345: ("2001:0db8::1", detail["backups_enabled"], Usage(**detail["resource_usage"])),
            12346: ("2001:0db8::2", False, None),
        }
        catalog = account.catalog or self.catalog
        for shown in examples.LIST["results"]:
            sid, plan_id, os_id, loc = shown["id"], shown["plan"]["id"], shown["os"]["id"], shown["location"]
            plan, image = catalog.plans.get(plan_id), catalog.os_images.get(os_id)
            if plan is None or image is None or loc not in catalog.locations:
                raise ConfigurationError(
                    f"the documentation's example server {sid} needs plan {plan_id}, OS image {os_id} and "
                    f"location {loc} in the catalog; add them or start with no example servers (--empty)"
                )
            ipv6, backups, usage = extra[sid]
            updated_at = _moment(shown["updated_at"])
            account.servers[sid] = Server(
                id=sid, name=shown["name"], hostname=shown["hostname"], plan=plan, os=image, location=loc,
                backups_enabled=backups, ssh_key_id=None, status=ServerStatus.ACTIVE, since=updated_at,
                created_at=_moment(shown["created_at"]), updated_at=updated_at,
                ipv4=self._claim(self.ipv4_pool, shown["ip_address"]), ipv6=self._claim(self.ipv6_pool, ipv6),
                activated=True, usage=usage,
            )  # fmt: skip
        account.next_id = max(account.next_id, max(account.servers) + 1)


def _with_secret(spec: TokenSpec) -> TokenSpec:
    """The spec with a generated secret where it has neither a secret nor a digest."""
    if spec.secret is None and spec.digest is None:
        return replace(spec, secret=f"mockvps-{secrets.token_urlsafe(18)}")
    return spec


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _nothing() -> None:
    pass
