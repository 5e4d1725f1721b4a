"""The pytest plugin's coverage options, exercised with pytester: the table, the report files, fail-under, xdist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Five documented behaviours: 201 and 402 on createServer, 200 on getServer, provisioning -> active, and the
# refusal for an insufficient balance. 5 of 153 is 3.268%.
SEQUENCE = """
import httpx
import pytest

CREATE = {"name": "web", "plan_id": 1, "os_id": 5, "location": "us-west"}


def test_a_server_becomes_active(mockvps):
    with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers) as api:
        created = api.post("servers/", json=CREATE).json()
        mockvps.control.advance(300)
        assert api.get(f"servers/{created['id']}/").json()["status"] == "active"


@pytest.mark.mockvps(balance="0")
def test_a_short_balance_is_refused(mockvps):
    with httpx.Client(base_url=mockvps.api_url, headers=mockvps.headers) as api:
        assert api.post("servers/", json=CREATE).status_code == 402
"""


def seen(report: dict[str, Any]) -> dict[str, Any]:
    statuses = {
        row["operation"]: {code: entry["seen"] for code, entry in row["statuses"].items() if entry["seen"]}
        for row in report["operations"]
    }
    return {
        "statuses": {name: counts for name, counts in statuses.items() if counts},
        "transitions": {f"{t['from']}->{t['to']}": t["seen"] for t in report["transitions"] if t["seen"]},
        "refusals": {f"{r['operation']} {r['kind']}": r["seen"] for r in report["refusals"] if r["seen"]},
        "faults": {f"{f['operation']} {f['kind']}": f["seen"] for f in report["faults"] if f["seen"]},
    }


EXPECTED = {
    "statuses": {"createServer": {"201": 1, "402": 1}, "getServer": {"200": 1}},
    "transitions": {"provisioning->active": 1},
    "refusals": {"createServer insufficient_balance": 1},
    "faults": {},
}


def test_the_session_s_coverage_is_printed_and_written_as_json(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sequence=SEQUENCE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockvps-coverage", "--mockvps-coverage-report", "cov.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*- mockvps coverage of the Servers API -*",
            "mockvps coverage (the whole mock): 5 of 153 documented behaviours seen (3.2%)",
            "statuses: 3 of 70 seen; faults injected: 0 of 30 *",
            "*200  201  204  301  400  401  402  403  404  405  413  415  faulted  slowed  dropped  other",
            "  createServer          1         -    -    -    1    -         -    -    -        -       -        -",
            "transitions clients saw: 1 of 14",
            "  provisioning          1 *",
            "never seen: 148; the first 10:",
            "  200 on listServers: GET /api/v1/servers/ with the account's token",
            "*... and 138 more (--mockvps-coverage-report cov.json lists them all)",
            "mockvps coverage report written to cov.json",
        ]
    )
    report = json.loads((pytester.path / "cov.json").read_text())
    assert seen(report) == EXPECTED
    assert report["summary"]["seen"] == 5 and report["summary"]["documented"] == 153


def test_the_report_can_be_markdown_and_is_not_printed_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sequence=SEQUENCE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockvps-coverage-report", "reports/coverage.md")
    result.assert_outcomes(passed=2)
    assert "never seen" not in result.stdout.str()
    text = (pytester.path / "reports" / "coverage.md").read_text()
    assert text.startswith("# mockvps coverage (the whole mock): 5 of 153 documented behaviours seen (3.2%)")
    assert "| createServer |  | 1 |  | - | - | - | 1 | - |" in text
    assert text.count("\n- **") == 148


@pytest.mark.parametrize(("bar", "passes"), [("0", True), ("3.26", True), ("3.27", False), ("100", False)])
def test_fail_under_fails_the_session_below_the_bar_only(pytester: pytest.Pytester, bar: str, passes: bool) -> None:
    pytester.makepyfile(test_sequence=SEQUENCE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockvps-coverage-fail-under", bar)
    result.assert_outcomes(passed=2)  # every test passed; the bar alone decides
    if passes:
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines([f"Required mockvps coverage of {bar}% reached: 3.2%"])
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [f"FAIL Required mockvps coverage of {bar}% not reached: 5 of 153 documented behaviours seen (3.2%)"]
        )


def test_a_session_that_never_used_the_mock_saw_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockvps-coverage-fail-under", "1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAIL Required mockvps coverage of 1% not reached: 0 of 153*"])


def test_a_report_path_says_its_format(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockvps-coverage-report", "coverage.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mockvps-coverage-report coverage.html: give a path ending in .json or .md*"])


def test_the_counts_of_two_xdist_workers_are_combined(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sequence=SEQUENCE)
    # --dist each: every worker runs every test on its own mock, so the combined counts are exactly twice one's.
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--dist",
        "each",
        "--mockvps-coverage-report",
        "cov.json",
        "--mockvps-coverage-fail-under",
        "3.26",
    )
    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.OK
    report = json.loads(Path(pytester.path / "cov.json").read_text())
    assert seen(report) == {
        "statuses": {"createServer": {"201": 2, "402": 2}, "getServer": {"200": 2}},
        "transitions": {"provisioning->active": 2},
        "refusals": {"createServer insufficient_balance": 2},
        "faults": {},
    }
    assert report["summary"]["seen"] == 5
