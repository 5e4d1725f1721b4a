"""Settings, from `MOCKVPS_*` environment variables or keyword arguments (the command line passes its flags)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mockvps.backend import DEFAULT_BALANCE, DEFAULT_PROFILE, MAX_BALANCE, AccountSpec, Backend, Limits
from mockvps.catalog import Catalog, default_catalog, load_catalog
from mockvps.clock import Clock
from mockvps.errors import ConfigurationError
from mockvps.lifecycle import MAX_DELAY, Delays
from mockvps.validation import (
    Money,
    NonEmptyText,
    ProfileRecord,
    SshKeys,
    StrictModel,
    TokenEntry,
    first_problem,
    key_map,
)

__all__ = ["DEFAULT_TOKEN", "MAX_PAGE_SIZE", "AccountEntry", "AccountsFile", "Settings", "load_accounts"]

DEFAULT_TOKEN = "mockvps-dev-token"
MAX_PAGE_SIZE = 100
"""The largest page a client may ask for (`?page_size=`), as VPS.org's client expects of DRF's pagination."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOCKVPS_", extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on (0: any free port).")
    token: str = Field(DEFAULT_TOKEN, min_length=1, description="Token of the default account.")
    balance: Decimal = Field(
        DEFAULT_BALANCE, ge=0, le=MAX_BALANCE, allow_inf_nan=False, description="Balance of the default account."
    )
    empty: bool = Field(False, description="Start the default account without the documentation's servers.")
    provisioning_delay: float = Field(
        3.0, ge=0, le=MAX_DELAY.total_seconds(), allow_inf_nan=False, description="Seconds from create to active."
    )
    action_delay: float = Field(
        1.0,
        ge=0,
        le=MAX_DELAY.total_seconds(),
        allow_inf_nan=False,
        description="Seconds a start, stop or reboot takes.",
    )
    catalog: Path | None = Field(None, description="JSON file replacing the catalog.")
    accounts: Path | None = Field(None, description="JSON file with more accounts and tokens.")
    max_body_size: int = Field(1024 * 1024, ge=1, description="Largest request body in bytes (else 413).")
    admin_token: str | None = Field(None, min_length=1, description="If set, every control call needs it.")
    journal_size: int = Field(1000, ge=1, description="Journal entries kept (the oldest go first).")
    state: Path | None = Field(None, description="A snapshot (JSON) to start from instead of the accounts.")
    state_from: Path | None = Field(
        None,
        description="A recording (HAR, as `mockvps proxy --record` writes it): the default account holds the "
        "servers it last saw.",
    )
    data_dir: Path | None = Field(None, description="Keep the state here across restarts (SQLite, WAL).")
    data_dir_start_over: bool = Field(
        False, description="Move a data dir's store that cannot be used aside and start anew (else: refuse)."
    )
    max_header_size: int = Field(16 * 1024, ge=1024, description="Largest request header block in bytes (else 431).")
    max_url_size: int = Field(8 * 1024, ge=1024, description="Longest request target (URL) in bytes (else 414).")
    max_json_depth: int = Field(64, ge=2, description="Deepest nesting a JSON body may have (else 400).")
    max_servers_per_account: int = Field(100_000, ge=1, description="Servers one account may hold (else 400).")
    max_accounts: int = Field(10_000, ge=1, description="Accounts the mock may hold (else 400).")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Origins browsers may call the public API from (`*`: any); none: CORS off."
    )
    page_size: int | None = Field(
        None, ge=1, le=MAX_PAGE_SIZE, description="Paginate the server list as DRF does, this many a page (else off)."
    )
    log_level: str = Field("info", description="uvicorn's log level.")
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Host names the mock answers besides loopback names and --host ('*': any; '*.example.com': its "
        "subdomains). Unset: any name when listening on 0.0.0.0 or ::. A comma-separated list in the environment.",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """MOCKVPS_CORS_ORIGINS lists them separated by commas or spaces (or as a JSON list)."""
        if isinstance(value, str):
            text = value.strip()
            return tuple(json.loads(text)) if text.startswith("[") else tuple(text.replace(",", " ").split())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if origin != "*" and not _is_origin(origin):
                raise ValueError(f"{origin!r} is not an origin: give scheme://host[:port], or *")
        return origins

    def delays(self) -> Delays:
        return Delays(
            provisioning=timedelta(seconds=self.provisioning_delay), action=timedelta(seconds=self.action_delay)
        )

    def load_catalog(self) -> Catalog:
        return load_catalog(self.catalog) if self.catalog else default_catalog()

    def backend(self, clock: Clock) -> Backend:
        """The whole state of a fresh mock as these settings describe it (or as the --state snapshot holds it)."""
        if self.state_from is not None:
            return self._recorded(clock)
        if self.state is not None:
            from mockvps.persistence.snapshot import restore_state

            try:
                data = json.loads(self.state.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ConfigurationError(f"state file {self.state}: {exc}") from exc
            return restore_state(data, self.load_catalog(), clock, self.delays(), self.limits())
        return Backend(
            catalog=self.load_catalog(),
            clock=clock,
            delays=self.delays(),
            accounts=self.account_specs(),
            limits=self.limits(),
        )

    def _recorded(self, clock: Clock) -> Backend:
        from mockvps.persistence.recording import load_recording, snapshot_from_recording
        from mockvps.persistence.snapshot import restore_state

        assert self.state_from is not None
        if self.state is not None or self.accounts is not None:
            raise ConfigurationError("--state-from starts the default account alone: not with --state or --accounts")
        recording = load_recording(self.state_from)
        snapshot = snapshot_from_recording(recording, self.token, str(self.balance), self.load_catalog(), clock.now())
        return restore_state(snapshot, self.load_catalog(), clock, self.delays(), self.limits())

    def limits(self) -> Limits:
        return Limits(max_servers_per_account=self.max_servers_per_account, max_accounts=self.max_accounts)

    def account_specs(self) -> list[AccountSpec]:
        default = AccountSpec(name="default", tokens=(self.token,), balance=self.balance, examples=not self.empty)
        return [default, *(load_accounts(self.accounts) if self.accounts else [])]


def _is_origin(text: str) -> bool:
    """scheme://host[:port] and nothing more, as browsers send it in `Origin`."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and f"{parts.scheme}://{parts.netloc}" == text
        and "@" not in parts.netloc
    )


class AccountEntry(StrictModel):
    """One account of an accounts file."""

    name: NonEmptyText
    tokens: list[TokenEntry] = Field(min_length=1)
    """Each a string (a token that may do everything) or {"token", "name", "permissions"}."""
    balance: Money = DEFAULT_BALANCE
    ssh_keys: SshKeys | None = None
    """None: the catalog's default keys."""
    examples: bool = False
    profile: ProfileRecord | None = None
    """What `GET /api/v1/account/me/` shows of the account; left out: the documentation's example."""

    def spec(self) -> AccountSpec:
        profile = self.profile.applied(DEFAULT_PROFILE) if self.profile else DEFAULT_PROFILE
        return AccountSpec(
            name=self.name,
            tokens=tuple(t.spec() for t in self.tokens),
            balance=self.balance,
            ssh_keys=key_map(self.ssh_keys),
            examples=self.examples,
            profile=profile,
        )


class AccountsFile(StrictModel):
    accounts: list[AccountEntry]


def load_accounts(path: Path) -> list[AccountSpec]:
    """Read an accounts file:

    {"accounts": [{"name": "ci", "tokens": ["ci-token", {"token": "ci-read", "name": "Monitoring",
                                                         "permissions": ["servers:read"]}],
                   "balance": "50.00", "ssh_keys": [{"id": 7, "name": "deploy"}], "examples": false,
                   "profile": {"email": "ci@example.com", "company_name": "CI Ltd."}}]}
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"accounts file {path}: {exc}") from exc
    try:
        accounts = AccountsFile.model_validate(raw).accounts
    except ValidationError as exc:
        raise ConfigurationError(f"accounts file {path}: {first_problem(exc)}") from None
    return [entry.spec() for entry in accounts]
