"""A smoke run of the benchmark: it runs and prints its table. It asserts nothing about speed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.xdist_group("heavy")  # pins CPUs and loads them
def test_the_benchmark_runs_and_reports() -> None:
    result = subprocess.run([sys.executable, "bench/run.py", "--quick", "--targets", "mockvps,proxy,ceiling"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    table = result.stdout
    for row in ("| mockvps | GET detail | 16 |", "| mockvps | POST create | 16 |", "| mockvps | mixed session | 16 |",
                "| bare ASGI (ceiling) | GET detail | 16 |", "| mockvps proxy -> mockvps | GET detail | 16 |",
                "| mockvps proxy -> mockvps | GET detail | 1 |"):  # fmt: skip
        assert row in table
    assert "mockvps proxy adds to one GET detail (one connection, in turns with mockvps direct): p50 +" in table
    assert "mockvps errors under load: 0" in table


@pytest.mark.xdist_group("heavy")  # pins CPUs and loads them
def test_the_a_b_comparison_runs_each_checkout_s_own_code(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "mockvps", tmp_path / "mockvps", ignore=shutil.ignore_patterns("__pycache__"))
    settings = tmp_path / "mockvps" / "settings.py"  # the copy's default token differs: it answers 401
    settings.write_text(settings.read_text().replace('DEFAULT_TOKEN = "mockvps-dev-token"', 'DEFAULT_TOKEN = "other"'))
    command = [sys.executable, "bench/ab.py", "--code", str(tmp_path), "--rounds", "1", "--duration", "1"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"before: {tmp_path}; after: {ROOT}" in result.stdout
    assert "after/before: median" in result.stdout
    errors = re.search(r"errors (\d+)", result.stdout)
    assert errors is not None and int(errors.group(1)) > 0  # the copy's own code answered (this one's: 200)
