"""The domain knows nothing of HTTP: it imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import mockvps

DOMAIN = ["clock", "errors", "lifecycle", "catalog", "addresses", "backend", "tokens"]
PACKAGE = Path(mockvps.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_imports_only_stdlib_and_mockvps(module: str) -> None:
    foreign = imported_modules(PACKAGE / f"{module}.py") - set(sys.stdlib_module_names) - {"mockvps", "__future__"}
    assert foreign == set()


def test_the_boundary_check_sees_third_party_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import json\nfrom fastapi import FastAPI\nfrom mockvps.clock import Clock\n")
    assert imported_modules(sample) - set(sys.stdlib_module_names) - {"mockvps"} == {"fastapi"}
