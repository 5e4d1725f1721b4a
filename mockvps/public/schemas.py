"""Wire models: the shapes of the Servers API, named by role.

Request models validate bodies (strictly: wrong JSON types are refused, unknown fields ignored). Response
models describe answers for the contract document; answers themselves are rendered by `rendering` from data
that is already ours, so they are not validated again on the way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel

from mockvps.lifecycle import ServerStatus

__all__ = [
    "FQDN_PATTERN",
    "NAME_PATTERN",
    "PATTERN_MESSAGES",
    "AccountMe",
    "AccountProfile",
    "ActionResult",
    "ActionServer",
    "BadRequest",
    "ErrorDetail",
    "FieldErrors",
    "Integral",
    "OsSummary",
    "PlanDetail",
    "PlanSummary",
    "ResourceUsage",
    "ServerCreate",
    "ServerCreated",
    "ServerDetail",
    "ServerList",
    "ServerListItem",
    "ServerPatch",
    "ServerUpdate",
    "TokenSummary",
]

NAME_PATTERN = r"^[A-Za-z0-9-]+$"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
FQDN_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})+\.?$"

PATTERN_MESSAGES = {
    "name": "Enter a valid name: 1 to 63 letters, digits and hyphens.",
    "hostname": "Enter a valid fully qualified domain name.",
}

Name = Annotated[
    str,
    Field(min_length=1, max_length=63, pattern=NAME_PATTERN, description="Letters, digits and hyphens."),
]
Hostname = Annotated[str, Field(max_length=253, pattern=FQDN_PATTERN, description="A fully qualified domain name.")]


def _integral(value: Any) -> Any:
    # JSON Schema 2020-12 (OpenAPI 3.1) and DRF both read 1.0 and 1e0 as the integer 1; strings stay refused,
    # and so do numbers past 2**53, where a float no longer holds the integer that was sent.
    exact = isinstance(value, float) and value.is_integer() and abs(value) <= 2**53
    return int(value) if exact else value


Integral = Annotated[int, BeforeValidator(_integral)]
"""An integer field of a request: a JSON number without a fractional part (1, 1.0, 1e0)."""


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    pattern_messages: ClassVar[Mapping[str, str]] = PATTERN_MESSAGES


class ServerCreate(_Request):
    name: Name
    plan_id: Integral = Field(description="Id of the VPS plan.")
    os_id: Integral = Field(description="Id of the operating system image.")
    location: str = Field(description="Code of the data centre location.")
    hostname: Hostname | None = None
    ssh_key_id: Integral | None = Field(None, description="Id of one of the account's SSH keys to install.")
    backups_enabled: bool = Field(False, description="Automatic backups.")


class ServerUpdate(_Request):
    """All fields are required."""

    name: Name
    hostname: Hostname | None
    backups_enabled: bool


def _no_defaults(schema: dict[str, Any]) -> None:
    # A field left out of a PATCH stays as it is; it has no default, and `name` and `backups_enabled` cannot be null.
    for field_schema in schema.get("properties", {}).values():
        field_schema.pop("default", None)


class ServerPatch(_Request):
    """Only the fields given change."""

    model_config = ConfigDict(json_schema_extra=_no_defaults)

    # None marks a field left out; an explicit null is still refused for name and backups_enabled.
    name: Name = None  # type: ignore[assignment]
    hostname: Hostname | None = None
    backups_enabled: bool = None  # type: ignore[assignment]


class PlanSummary(BaseModel):
    id: int
    name: str
    vcpus: int
    memory: int = Field(description="MB")
    storage: int = Field(description="GB")


class PlanDetail(PlanSummary):
    bandwidth: int = Field(description="GB per month")


class OsSummary(BaseModel):
    id: int
    name: str


class ServerListItem(BaseModel):
    id: int
    name: str
    hostname: str | None
    status: ServerStatus
    ip_address: Annotated[str, Field(json_schema_extra={"format": "ipv4"})] | None
    location: str
    plan: PlanSummary
    os: OsSummary
    created_at: datetime
    updated_at: datetime


class ServerList(BaseModel):
    count: int
    results: list[ServerListItem]


class ServerCreated(ServerListItem):
    backups_enabled: bool
    message: str


class ResourceUsage(BaseModel):
    cpu_percent: float
    memory_used: int = Field(description="MB")
    disk_used: int = Field(description="GB")
    bandwidth_used: int = Field(description="GB this month")


class ServerDetail(ServerListItem):
    ipv6_address: Annotated[str, Field(json_schema_extra={"format": "ipv6"})] | None
    plan: PlanDetail
    backups_enabled: bool
    resource_usage: ResourceUsage


class ActionServer(BaseModel):
    id: int
    name: str
    status: ServerStatus


class ActionResult(BaseModel):
    status: Literal["success"]
    message: str
    server: ActionServer


class AccountProfile(BaseModel):
    email: str
    first_name: str
    last_name: str
    company_name: str
    created_at: date = Field(description="When the account was opened (a plain date).")


class TokenSummary(BaseModel):
    name: str
    permissions: list[str] = Field(
        description="`<resource>:<action>`, `*` on either side: `servers:read` reads servers, `servers:write` "
        "changes them, `servers:*` and `*:*` do both."
    )


class AccountMe(BaseModel):
    """The account a token belongs to, and the token itself."""

    account: AccountProfile
    token: TokenSummary = Field(description="The token of this request.")


class ErrorDetail(BaseModel):
    detail: str


class FieldErrors(RootModel[dict[str, list[str]]]):
    """One key per bad field, each with its messages (Django REST framework's style)."""


class BadRequest(RootModel[ErrorDetail | FieldErrors]):
    """Invalid fields, a malformed body, or an action the server's status refuses."""
