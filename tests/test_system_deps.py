"""`make test` installs the system packages it drives, or stops at once saying how."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "system-deps.sh"


def run_with(tmp_path: Path, *programs: str) -> subprocess.CompletedProcess[str]:
    """The script on a PATH holding only `programs` (found on this machine) and `id`: no apt-get, nothing to run."""
    for program in ("id", *programs):
        found = shutil.which(program)
        assert found, program
        os.symlink(found, tmp_path / program)
    return subprocess.run(["/bin/sh", str(SCRIPT)], env={"PATH": str(tmp_path)}, capture_output=True, text=True)


def test_nothing_missing_is_silent_and_succeeds(tmp_path: Path) -> None:
    result = run_with(tmp_path, "curl", "wrk", "chromium", "chromedriver")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_what_is_missing_is_named_with_the_way_to_install_it(tmp_path: Path) -> None:
    result = run_with(tmp_path, "curl")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "make test needs: wrk chromium chromium-driver",
        "install them with your system's package manager (Debian names: wrk chromium chromium-driver), "
        "then make test again",
    ]


def test_make_test_runs_it_before_anything_else() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\ntest: system-deps lint\n" in makefile
    assert "scripts/system-deps.sh" in makefile
