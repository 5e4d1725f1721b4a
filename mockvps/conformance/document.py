"""The committed contract document: the repository's, or the copy a wheel of mockvps carries."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["load_document"]

HERE = Path(__file__).resolve().parent
LOCATIONS = (HERE.parents[1] / "openapi" / "openapi.json", HERE / "openapi.json")


@cache
def load_document() -> dict[str, Any]:
    for path in LOCATIONS:
        if path.exists():
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return document
    raise FileNotFoundError("the contract document openapi/openapi.json was not found")
