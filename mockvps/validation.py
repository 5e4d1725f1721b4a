"""Reading the JSON the mock is handed (an accounts file, a snapshot) with pydantic models.

Strict about JSON types: a string is not a number, a boolean is not a number, and a key the format does not
know is refused rather than ignored (a misspelt key would otherwise fall back to its default unnoticed). What is
wrong reads as one line naming the exact place, in pydantic's location format: `accounts[0].tokens[1]: expected
a non-empty string`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, PydanticCustomError

from mockvps.backend import MAX_BALANCE, MAX_SEEDED_ID, Profile
from mockvps.catalog import SshKey
from mockvps.tokens import ALL_PERMISSIONS, DEFAULT_TOKEN_NAME, TokenSpec, is_permission

__all__ = [
    "Day",
    "Email",
    "Id",
    "Money",
    "NonEmptyText",
    "OrString",
    "Permission",
    "Permissions",
    "ProfileRecord",
    "SshKeyRecord",
    "SshKeys",
    "StrictModel",
    "TokenEntry",
    "TokenName",
    "TokenRecord",
    "expected",
    "first_problem",
    "key_map",
    "string_or_object",
]


class StrictModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


def expected(what: str) -> PydanticCustomError:
    """The error a validator raises: `what` completes "expected ..." in the line `first_problem` writes."""
    return PydanticCustomError("mockvps", "expected {what}", {"what": what})


Money = Annotated[Decimal, Field(ge=0, le=MAX_BALANCE, allow_inf_nan=False, strict=False)]
"""A non-negative amount up to `MAX_BALANCE`, from a JSON number or a string (never from true or false)."""
Id = Annotated[int, Field(ge=0, le=MAX_SEEDED_ID)]
"""An id an operator chooses (a server's, an SSH key's): small enough for any client, JavaScript included."""
NonEmptyText = Annotated[str, Field(min_length=1)]


class SshKeyRecord(StrictModel):
    id: Id
    name: NonEmptyText


def _distinct_ids(keys: list[SshKeyRecord]) -> list[SshKeyRecord]:
    seen: set[int] = set()
    for key in keys:
        if key.id in seen:
            raise expected(f"keys with distinct ids ({key.id} appears twice)")
        seen.add(key.id)
    return keys


SshKeys = Annotated[list[SshKeyRecord], AfterValidator(_distinct_ids)]


def _permission(text: str) -> str:
    if not is_permission(text):
        raise expected("a permission <resource>:<action> (servers:read, servers:write, servers:*, *:*)")
    return text


Permission = Annotated[str, AfterValidator(_permission)]
"""`<resource>:<action>`, `*` allowed on either side."""
Permissions = Annotated[list[Permission], Field(max_length=100)]
TokenName = Annotated[str, Field(min_length=1, max_length=200)]


def string_or_object(key: str) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """A wrap validator: a plain string stands for the object `{key: string}`; anything else is read as it is."""

    def read(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, str):
            if not value:
                raise expected("a non-empty string")
            return handler({key: value})
        if not isinstance(value, dict):
            raise expected("a string or an object")
        return handler(value)

    return read


class OrString:
    """Documents a field `string_or_object` reads: a string, or the object."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "minLength": 1}, handler(schema)]}


class TokenRecord(StrictModel):
    """A token in clear, as an accounts file or a snapshot names it."""

    token: NonEmptyText
    name: TokenName = DEFAULT_TOKEN_NAME
    permissions: Permissions = Field(default_factory=lambda: list(ALL_PERMISSIONS))

    def spec(self) -> TokenSpec:
        return TokenSpec(secret=self.token, name=self.name, permissions=tuple(self.permissions))


TokenEntry = Annotated[TokenRecord, WrapValidator(string_or_object("token")), OrString()]
"""A token: a string (which may do everything, `*:*`) or `{"token", "name", "permissions"}`."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise expected("an email address")
    return text


def _day(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise expected("a date as YYYY-MM-DD")


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Day = Annotated[date, PlainValidator(_day, json_schema_input_type=date)]
"""A plain date, written YYYY-MM-DD."""


class ProfileRecord(StrictModel):
    """An account's profile, as `GET /api/v1/account/me/` shows it; a field left out (or null) keeps its value."""

    email: Email | None = None
    first_name: Annotated[str, Field(max_length=150)] | None = None
    last_name: Annotated[str, Field(max_length=150)] | None = None
    company_name: Annotated[str, Field(max_length=255)] | None = None
    created_at: Day | None = None

    def applied(self, base: Profile) -> Profile:
        """`base` with the fields given here in place."""
        return replace(base, **{k: v for k, v in self.__dict__.items() if v is not None})


def key_map(keys: list[SshKeyRecord] | None) -> dict[int, SshKey] | None:
    """An account's keys by id; None (the catalog's keys) stays None."""
    return None if keys is None else {k.id: SshKey(k.id, k.name) for k in keys}


def first_problem(error: ValidationError, root: str = "") -> str:
    """The first thing wrong as `place: expected what`, the place after `root` (nothing at the top)."""
    problem = error.errors(include_url=False)[0]
    place = (root + "".join(_step(p) for p in problem["loc"])).removeprefix(".")
    return f"{place}: {_what(problem)}" if place else _what(problem)


def _step(part: int | str) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return f".{part}" if part.isidentifier() else f"[{part!r}]"  # an unknown key may hold anything, even newlines


def _what(problem: ErrorDetails) -> str:
    # pydantic's messages ("Input should be a valid integer") in the words catalog.py's checks use.
    ctx = problem.get("ctx", {})
    match problem["type"]:
        case "missing":
            return "required"
        case "extra_forbidden":
            return "unknown key"
        case "model_type" | "model_attributes_type" | "dict_type":
            return "expected an object"
        case "list_type":
            return "expected a list"
        case "too_short":
            return "expected a non-empty list"
        case "string_type":
            return "expected a string"
        case "string_too_short":
            return "expected a non-empty string"
        case "string_too_long":
            return f"expected at most {ctx['max_length']} characters"
        case "too_long":
            return f"expected at most {ctx['max_length']} items"
        case "bool_type":
            return "expected true or false"
        case "int_type" | "int_parsing" | "int_from_float":
            return "expected an integer"
        case "float_type" | "decimal_type":
            return "expected a number"
        case "decimal_parsing":
            return "expected a decimal number"
        case "finite_number":
            return "expected a finite number"
        case "greater_than_equal":
            return "expected a non-negative number" if ctx["ge"] == 0 else f"expected a number >= {_plain(ctx['ge'])}"
        case "less_than_equal":
            return f"expected a number <= {_plain(ctx['le'])}"
        case "enum" | "literal_error":
            return f"expected {ctx['expected']}"
    return problem["msg"]


def _plain(number: object) -> str:
    """A bound as people write it: 3155760000, not 3155760000.0."""
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)
