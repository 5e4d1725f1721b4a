"""The README's snippets run, so the documentation cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python tested\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_tested_snippets() -> None:
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_a_readme_snippet_passes(pytester: pytest.Pytester, index: int) -> None:
    pytester.makepyfile(**{f"test_readme_{index}": SNIPPETS[index]})
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::ResourceWarning")
    assert result.ret == 0, result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == SNIPPETS[index].count("\ndef test_") + SNIPPETS[index].startswith("def test_")
