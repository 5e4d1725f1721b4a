"""What the repository holds: its own sources, never what a command installs or generates."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = re.compile(
    r"(^|/)(node_modules|\.venv|venv|reports|__pycache__|\.hypothesis|\.schemathesis|\.mypy_cache|\.pytest_cache"
    r"|bench/\.prism|bench/\.wiremock)/"
)


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return listing.stdout.splitlines()


def generated_among(paths: list[str]) -> list[str]:
    return [path for path in paths if GENERATED.search(path)]


def test_no_installed_or_generated_tree_is_tracked() -> None:
    assert generated_among(tracked_files()) == []


def test_the_check_recognises_installed_and_generated_trees() -> None:
    generated = ["bench/.prism/node_modules/x/index.js", ".venv/bin/python", "reports/fuzz.txt", "a/__pycache__/b.pyc",
                 ".schemathesis/default/cache/crashes/manifest.json", "bench/.wiremock/package-lock.json",
                 "bench/.wiremock/node_modules/wiremock/build/wiremock-standalone-3.13.2.jar",
                 "bench/.prism/package.json"]  # fmt: skip
    sources = ["mockvps/app.py", "docs/reports.md", "tests/test_venv.py"]
    assert generated_among(generated + sources) == generated


def test_the_package_says_its_license_and_that_it_is_typed() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith(f"{project['license']} License")
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "mockvps" / "py.typed").exists()
