"""What can be ordered: plans, OS images, locations, and the SSH keys an account starts with.

`default_catalog()` is the contract's; `load_catalog(path)` reads a JSON file of the same shape, for example

    {"plans": [{"id": 1, "name": "Starter", "vcpus": 1, "memory": 1024, "storage": 25,
                "bandwidth": 1024, "price": "5.00"}],
     "os_images": [{"id": 3, "name": "Debian 12"}],
     "locations": ["eu-central"],
     "ssh_keys": [{"id": 1, "name": "laptop"}]}

Every section is optional; a missing one keeps the default.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from mockvps.errors import ConfigurationError

_T = TypeVar("_T", "Plan", "OsImage", "SshKey")

__all__ = [
    "Catalog",
    "OsImage",
    "Plan",
    "SshKey",
    "catalog_to_dict",
    "default_catalog",
    "load_catalog",
    "parse_catalog",
    "parse_ssh_keys",
]


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    name: str
    vcpus: int
    memory: int  # MB
    storage: int  # GB
    bandwidth: int  # GB per month
    price: Decimal  # per month, charged on create


@dataclass(frozen=True, slots=True)
class OsImage:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class SshKey:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Catalog:
    plans: Mapping[int, Plan]
    os_images: Mapping[int, OsImage]
    locations: tuple[str, ...]
    ssh_keys: Mapping[int, SshKey] = field(default_factory=dict)
    """The keys every account starts with unless its own configuration names others."""


def default_catalog() -> Catalog:
    plans = (
        Plan(1, "Standard VPS", vcpus=2, memory=4096, storage=80, bandwidth=2048, price=Decimal("12.00")),
        Plan(2, "Performance VPS", vcpus=4, memory=8192, storage=160, bandwidth=4096, price=Decimal("24.00")),
    )
    images = (OsImage(3, "Debian 12"), OsImage(5, "Ubuntu 22.04 LTS"))
    return Catalog(
        plans={p.id: p for p in plans},
        os_images={o.id: o for o in images},
        locations=("us-west", "us-east"),
        ssh_keys={1: SshKey(1, "default")},
    )


def catalog_to_dict(catalog: Catalog) -> dict[str, object]:
    """The catalog in the file format `parse_catalog` reads."""
    return {
        "plans": [
            {
                "id": p.id,
                "name": p.name,
                "vcpus": p.vcpus,
                "memory": p.memory,
                "storage": p.storage,
                "bandwidth": p.bandwidth,
                "price": str(p.price),
            }
            for p in catalog.plans.values()
        ],
        "os_images": [{"id": o.id, "name": o.name} for o in catalog.os_images.values()],
        "locations": list(catalog.locations),
        "ssh_keys": [{"id": k.id, "name": k.name} for k in catalog.ssh_keys.values()],
    }


def load_catalog(path: str | Path) -> Catalog:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"catalog file {path}: {exc}") from exc
    try:
        return parse_catalog(raw)
    except ConfigurationError as exc:
        raise ConfigurationError(f"catalog file {path}: {exc.detail}") from exc


def parse_catalog(raw: object) -> Catalog:
    if not isinstance(raw, dict):
        raise ConfigurationError("expected a JSON object with plans, os_images, locations, ssh_keys")
    base = default_catalog()
    plans = base.plans
    if "plans" in raw:
        plans = _keyed(raw["plans"], "plans", _plan)
    images = base.os_images
    if "os_images" in raw:
        images = _keyed(raw["os_images"], "os_images", lambda e, w: OsImage(_int(e, "id", w), _str(e, "name", w)))
    locations = base.locations
    if "locations" in raw:
        locs = raw["locations"]
        if not isinstance(locs, list) or not locs or not all(isinstance(x, str) and x for x in locs):
            raise ConfigurationError("locations: expected a non-empty list of location codes")
        if len(set(locs)) != len(locs):
            raise ConfigurationError("locations: duplicate location code")
        locations = tuple(locs)
    keys = base.ssh_keys
    if "ssh_keys" in raw:
        keys = parse_ssh_keys(raw["ssh_keys"], "ssh_keys")
    return Catalog(plans=plans, os_images=images, locations=locations, ssh_keys=keys)


def parse_ssh_keys(raw: object, where: str) -> dict[int, SshKey]:
    return _keyed(raw, where, lambda e, w: SshKey(_int(e, "id", w), _str(e, "name", w)), allow_empty=True)


def _plan(entry: dict[str, object], where: str) -> Plan:
    price = entry.get("price", "0")
    try:
        amount = Decimal(str(price))
    except InvalidOperation:
        raise ConfigurationError(f"{where}.price: not a number: {price!r}") from None
    if not amount.is_finite() or amount < 0 or isinstance(price, bool):
        raise ConfigurationError(f"{where}.price: expected a non-negative number")
    return Plan(
        id=_int(entry, "id", where),
        name=_str(entry, "name", where),
        vcpus=_int(entry, "vcpus", where),
        memory=_int(entry, "memory", where),
        storage=_int(entry, "storage", where),
        bandwidth=_int(entry, "bandwidth", where),
        price=amount,
    )


def _keyed(
    raw: object, where: str, make: Callable[[dict[str, object], str], _T], allow_empty: bool = False
) -> dict[int, _T]:
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise ConfigurationError(f"{where}: expected a non-empty list of objects")
    out: dict[int, _T] = {}
    for i, entry in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{here}: expected an object")
        item = make(entry, here)
        if item.id in out:
            raise ConfigurationError(f"{here}: duplicate id {item.id}")
        out[item.id] = item
    return out


def _int(entry: dict[str, object], key: str, where: str) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigurationError(f"{where}.{key}: expected a non-negative integer")
    return value


def _str(entry: dict[str, object], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where}.{key}: expected a non-empty string")
    return value
