"""Wire models of the control API under /_mockvps/ (its own document, openapi/control.json)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WrapValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mockvps.backend import DEFAULT_BALANCE, MAX_SEEDED_ID
from mockvps.clock import MAX_OFFSET
from mockvps.lifecycle import MAX_DELAY, ServerStatus, TransitionMode
from mockvps.public.schemas import Hostname, Integral, Name, ServerDetail
from mockvps.shared.coverage import FaultKind
from mockvps.tokens import ALL_PERMISSIONS, DEFAULT_TOKEN_NAME, TokenSpec
from mockvps.validation import (
    Id,
    Money,
    OrString,
    Permissions,
    ProfileRecord,
    SshKeys,
    StrictModel,
    TokenName,
    string_or_object,
)

__all__ = [
    "AccountCreate",
    "AccountCreated",
    "AccountInfo",
    "AccountUpdate",
    "Advance",
    "ClockInfo",
    "Count",
    "CoverageReport",
    "CoverageSummary",
    "FaultCoverage",
    "FaultRuleCreate",
    "FaultRuleInfo",
    "JournalEntryInfo",
    "NextProvisioning",
    "OperationCoverage",
    "ProfileInfo",
    "RefusalCoverage",
    "SectionSummary",
    "ServerSeed",
    "ServerState",
    "SshKeyEntry",
    "StatusCoverage",
    "TokenCreate",
    "TokenCreated",
    "TokenInfo",
    "TransitionCoverage",
    "UsageSpec",
]


class SshKeyEntry(StrictModel):
    id: Id
    name: str = Field(min_length=1)


Seconds = Annotated[float, Field(ge=0, le=MAX_DELAY.total_seconds(), allow_inf_nan=False)]
"""A delay: at most a year."""
MAX_USAGE = 2**53 - 1


class TokenCreate(StrictModel):
    """A token of an account; its secret is generated when left out."""

    token: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        None, description="The secret (left out: generated). Shown once, in the answer; the mock keeps its digest."
    )
    name: TokenName = DEFAULT_TOKEN_NAME
    permissions: Permissions = Field(
        default_factory=lambda: list(ALL_PERMISSIONS),
        description="`<resource>:<action>`, `*` on either side: `servers:read` (GET, HEAD, OPTIONS), "
        "`servers:write` (every other method), `servers:*`, `*:*`.",
    )

    def spec(self) -> TokenSpec:
        return TokenSpec(secret=self.token, name=self.name, permissions=tuple(self.permissions))


class TokenInfo(BaseModel):
    name: str
    permissions: list[str]


class TokenCreated(TokenInfo):
    token: str = Field(description="Shown once: the mock keeps only its digest.")


class ProfileInfo(BaseModel):
    """What `GET /api/v1/account/me/` shows of the account."""

    email: str
    first_name: str
    last_name: str
    company_name: str
    created_at: date


class AccountCreate(StrictModel):
    """Everything optional: an empty body makes a fresh account with a generated name and token."""

    name: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    tokens: list[Annotated[TokenCreate, WrapValidator(string_or_object("token")), OrString()]] | None = Field(
        None,
        min_length=1,
        description="Each a secret (a token that may do everything, `*:*`) or a token object; left out: one "
        "generated token that may do everything.",
    )
    profile: ProfileRecord | None = Field(None, description="Left out: the documentation's example profile.")
    balance: Money = DEFAULT_BALANCE
    ssh_keys: SshKeys | None = Field(None, description="Distinct ids; null: the catalog's keys.")
    examples: bool = Field(False, description="Start with the documentation's servers 12345 and 12346.")
    mode: TransitionMode = Field(TransitionMode.TIMED, strict=False)
    provisioning_delay: Seconds | None = None
    action_delay: Seconds | None = None
    catalog: dict[str, Any] | None = Field(None, description="This account's own catalog, in the file format.")


class AccountUpdate(StrictModel):
    balance: Money | None = None
    mode: Annotated[TransitionMode, Field(strict=False)] | None = None
    provisioning_delay: Seconds | None = None
    action_delay: Seconds | None = None
    profile: ProfileRecord | None = Field(None, description="The fields given change; the others stay.")


class AccountInfo(BaseModel):
    name: str
    balance: str
    mode: TransitionMode
    provisioning_delay: float
    action_delay: float
    servers: int
    ssh_keys: list[SshKeyEntry]
    next_provisioning: Literal["fail", "hang"] | None
    profile: ProfileInfo


class AccountCreated(AccountInfo):
    tokens: list[str] = Field(description="Shown once: the mock keeps only their digests.")


class ClockInfo(BaseModel):
    now: datetime
    frozen: bool
    offset_seconds: float


class Advance(StrictModel):
    seconds: float = Field(ge=0, le=MAX_OFFSET.total_seconds(), allow_inf_nan=False)
    """At most 100 years, in one step or in all."""


class NextProvisioning(StrictModel):
    outcome: Literal["fail", "hang"] | None = Field(
        description="fail: the server is gone when provisioning would end, its price refunded; hang: it stays "
        "provisioning until advanced; null: back to normal."
    )


class ServerSeed(StrictModel):
    """A server put straight into any status, free of charge."""

    id: int | None = Field(None, ge=1, le=MAX_SEEDED_ID)
    name: Name
    plan_id: Integral
    os_id: Integral
    location: str
    hostname: Hostname | None = None
    backups_enabled: bool = False
    status: ServerStatus = Field(ServerStatus.ACTIVE, strict=False)


class FaultRuleCreate(StrictModel):
    """Matches on every field given; acts by latency, then a canned answer or a dropped connection."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] | None = None
    path: str | None = Field(None, description="Exact path or glob, e.g. /api/v1/servers/*/start/")
    operation: str | None = Field(None, description="operationId of the contract document, e.g. createServer")
    account: str | None = None
    latency_ms: Annotated[float, Field(ge=0, le=60000)] | list[Annotated[float, Field(ge=0, le=60000)]] | None = Field(
        None, description="Fixed, or [low, high] drawn from the rule's seeded generator."
    )
    status: int | None = Field(None, ge=200, le=599)
    body: Any = None
    headers: dict[str, str] = Field(
        default_factory=dict,
        description='e.g. {"Retry-After": "2"}: names are HTTP tokens, values printable ASCII without line breaks '
        "(what every client reads alike); "
        "the headers that frame an answer (Content-Length, Transfer-Encoding, Connection...) are the mock's.",
    )
    drop: bool = Field(False, description="Close the connection without an answer.")
    times: int | None = Field(None, ge=1, le=10**9, description="Apply to this many requests at most.")
    probability: float = Field(1.0, gt=0, le=1)
    seed: int = Field(0, ge=0, le=2**63 - 1)

    @field_validator("headers")
    @classmethod
    def _sendable(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not TOKEN.fullmatch(name):
                raise PydanticCustomError("header_name", f"{name!r} is not a valid header name.")
            if name.lower() in FRAMING:
                raise PydanticCustomError("header_name", f"{name} frames the answer; the mock sets it.")
            if len(value) > 8192 or not VALUE.fullmatch(value):
                raise PydanticCustomError(
                    "header_value", f"The value of {name} must be printable ASCII without line breaks (8 KiB at most)."
                )
        return headers

    @model_validator(mode="after")
    def _bodiless(self) -> FaultRuleCreate:
        if self.status in (204, 304) and self.body is not None:
            raise PydanticCustomError("no_body", f"A {self.status} answer has no body; leave body out.")
        return self


TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
VALUE = re.compile(r"[\t\x20-\x7e]*")
FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"})


class UsageSpec(StrictModel):
    """Resource usage an operator sets for a server (shown while it runs)."""

    cpu_percent: float = Field(ge=0, le=100, allow_inf_nan=False)
    memory_used: int = Field(ge=0, le=MAX_USAGE, description="MB")
    disk_used: int = Field(ge=0, le=MAX_USAGE, description="GB")
    bandwidth_used: int = Field(ge=0, le=MAX_USAGE, description="GB this month")


class FaultRuleInfo(BaseModel):
    id: int
    method: str | None
    path: str | None
    operation: str | None
    account: str | None
    latency_ms: list[float] | None
    status: int | None
    body: Any
    headers: dict[str, str]
    drop: bool
    times: int | None = Field(description="Requests it still applies to (null: no limit).")
    probability: float
    seed: int
    matched: int


class JournalEntryInfo(BaseModel):
    id: int
    time: datetime
    account: str | None
    method: str
    path: str
    query: str
    operation: str | None
    body: Any
    status: int
    fault: int | None
    answer: Any = Field(description="What the mock answered (JSON, or text), as far as 16 KiB.")


class Count(BaseModel):
    count: int


class ServerState(ServerDetail):
    """A server as the public API shows it, and what happens to it next."""

    next_status: ServerStatus | None = Field(description="Where its current transition leads (null: none).")
    next_at: datetime | None = Field(description="When, by the account's clock (null: when an operator says).")


# -- coverage ---------------------------------------------------------------------------------------------------

_SEEN = "Requests that saw it."
_DOCUMENTED = "Part of what the contract documents (counted in the summary); false: seen, but not documented."
_HINT = "How to provoke it with what the mock offers; only where it is documented and was never seen."
_ON = "operationId of the contract document (null: a request no operation answers, e.g. HEAD or OPTIONS)."


class StatusCoverage(BaseModel):
    documented: bool = Field(description=_DOCUMENTED)
    seen: int = Field(description=_SEEN)
    hint: str | None = Field(None, description=_HINT)


class OperationCoverage(BaseModel):
    """The statuses one operation answered (a 405 counts for every operation of its path)."""

    operation: str | None = Field(description=_ON)
    method: str
    path: str | None = Field(description="As the contract document writes it (null: no documented path).")
    statuses: dict[str, StatusCoverage] = Field(description="By status code.")


class TransitionCoverage(BaseModel):
    """A change of status clients saw: an answer showed a server in `from`, a later one in `to`."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: ServerStatus = Field(alias="from")
    to: ServerStatus
    documented: bool = Field(description="A move of the lifecycle's tables; false: clients saw a jump.")
    seen: int = Field(description=_SEEN)
    hint: str | None = Field(None, description=_HINT)


class RefusalCoverage(BaseModel):
    """Why a request was refused: `lifecycle` (an action the server's `status` refuses), `field` (a bad `field`),
    `insufficient_balance`, `malformed_json`; undocumented: `limit`, `address_pool` (the mock's own limits)."""

    operation: str | None = Field(description=_ON)
    method: str
    path: str | None
    kind: str
    status: ServerStatus | None = Field(None, description="The server's status that refused the action.")
    field: str | None = Field(None, description="The field refused.")
    documented: bool = Field(description=_DOCUMENTED)
    seen: int = Field(description=_SEEN)
    hint: str | None = Field(None, description=_HINT)


class FaultCoverage(BaseModel):
    """A fault rule applied to an operation: `status` (a canned answer), `latency` or `drop` (no answer)."""

    operation: str | None = Field(description=_ON)
    method: str
    path: str | None
    kind: FaultKind
    documented: bool = Field(description=_DOCUMENTED)
    seen: int = Field(description=_SEEN)
    hint: str | None = Field(None, description=_HINT)


class SectionSummary(BaseModel):
    documented: int = Field(description="Documented behaviours.")
    seen: int = Field(description="Of those, the ones seen at least once.")


class CoverageSummary(SectionSummary):
    percent: float = Field(description="seen / documented, in percent, to one decimal (rounded down).")
    statuses: SectionSummary
    transitions: SectionSummary
    refusals: SectionSummary
    faults: SectionSummary


class CoverageReport(BaseModel):
    """Which documented behaviours of the Servers API clients have seen, and how to provoke the others."""

    account: str | None = Field(
        description="The account reported on (null: the whole mock). An account's report leaves out 401, which "
        "no account's request meets."
    )
    operations: list[OperationCoverage]
    transitions: list[TransitionCoverage]
    refusals: list[RefusalCoverage]
    faults: list[FaultCoverage]
    summary: CoverageSummary
