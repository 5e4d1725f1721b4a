"""What both contract documents are made with: JSON Schemas of pydantic models, and the committed file's format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

__all__ = ["add_models", "render_document"]


def add_models(
    schemas: dict[str, Any], models: Iterable[tuple[type[BaseModel], Literal["validation", "serialization"]]]
) -> None:
    _, defs = models_json_schema(list(models), ref_template="#/components/schemas/{model}")
    schemas.update(defs.get("$defs", {}))


def render_document(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
