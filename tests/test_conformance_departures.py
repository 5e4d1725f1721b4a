"""`mockvps conformance` and `mockvps proxy` speak of departures alike, and a wait ends at the first one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.proxy_upstreams import DRIFTS, TOKEN, Proxy, Upstream, errors


def test_a_wait_for_a_transition_ends_at_the_first_departure_and_both_reports_name_it_alike(tmp_path: Path) -> None:
    # The service says `running` for `active`: before, each wait polled for the whole --transition-timeout (600 s
    # by default); now it ends at the first such answer. Without that, this run outlasts its time-out and fails.
    upstream = Upstream(DRIFTS["running_for_active"]())
    proxy = Proxy(upstream.url, "--report", str(tmp_path / "drift"))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mockvps", "conformance", "--base-url", proxy.url, "--token", TOKEN,
             "--report", str(tmp_path / "conformance"), "-k", "provisions_without_an_address"],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        drift = proxy.drift()
    finally:
        proxy.stop()
        upstream.stop()
    assert result.returncode == 1, result.stdout[-3000:]
    assert "TransitionTimeout" not in result.stdout
    assert "[error getServer undocumented-value]" in result.stdout
    found = json.loads((tmp_path / "conformance" / "departures.json").read_text())["departures"]
    assert [(d["side"], d["operation"], d["kind"], d["severity"]) for d in found] == [
        ("service", "getServer", "undocumented-value", "error")
    ]
    assert ("service", "getServer", "undocumented-value") in errors(drift)
    # One vocabulary, one rendering: the same heading and the same row in both reports.
    conformance = (tmp_path / "conformance" / "conformance.md").read_text()
    watched = (tmp_path / "drift" / "drift.md").read_text()
    for report in (conformance, watched):
        assert "## Service departures (the service's answers)" in report
        assert "### getServer" in report
        assert "| severity | kind | count | detail |" in report
        assert "| error | undocumented-value |" in report
