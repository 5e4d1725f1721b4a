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


def test_the_coverage_table_is_what_the_readme_s_examples_print(pytester: pytest.Pytester) -> None:
    for index, snippet in enumerate(SNIPPETS):
        pytester.makepyfile(**{f"test_readme_{index}": snippet})
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::ResourceWarning", "--mockvps-coverage")
    assert result.ret == 0, result.stdout.str()
    shown = re.search(r"```console\n\$ pytest --mockvps-coverage\n\.\.\.\n(.*?)```", README.read_text(), re.DOTALL)
    assert shown is not None
    assert shown.group(1) in result.stdout.str()


def architecture() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Architecture") :].split("\n## ", 1)[0]


def test_the_architecture_names_every_module_of_the_package() -> None:
    section = architecture()
    package = README.parent / "mockvps"
    modules = [
        path.relative_to(package.parent).as_posix()
        for path in package.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py") and "conformance" not in path.parts
    ]
    named = set(re.findall(r"mockvps/[\w/]+\.py", section))
    folder = None  # a folder's lines of the picture name its files: " mockvps/x/  a.py  b.py", then "    c.py"
    for line in section.splitlines():
        starts = re.match(r"\s*(mockvps/\w+/)\s", line)
        if starts:
            folder = starts.group(1)
        elif not re.fullmatch(r"\s+(\w+\.py\s*)+", line):
            folder = None
        if folder:
            named |= {folder + name for name in re.findall(r"(?<![/\w])(\w+\.py)", line)}
    assert sorted(set(modules) - named) == []  # every module has its place in the picture
    assert sorted(n for n in named if not (README.parent / n).exists()) == []  # and the picture names no ghost


def test_the_promise_about_the_documentation_s_examples_names_its_two_exceptions() -> None:
    readme = README.read_text(encoding="utf-8")
    contract = (README.parent / "docs" / "CONTRACT.md").read_text(encoding="utf-8")
    promises = [readme[readme.index("example requests work") :], contract[contract.index("examples on a fresh") :]]
    for promise in (p[:900] for p in promises):
        assert "Server is already running." in promise  # the start example on a running server
        assert "updated_at" in promise  # the detail example's other timestamp


def test_the_accounts_file_example_gives_the_keys_the_readme_says(tmp_path: Path) -> None:
    from mockvps.clock import VirtualClock
    from mockvps.settings import Settings

    text = README.read_text(encoding="utf-8")
    example = re.search(r'```json\n(\{"accounts".*?)```', text, re.DOTALL)
    assert example is not None
    accounts = tmp_path / "accounts.json"
    accounts.write_text(example.group(1), encoding="utf-8")
    backend = Settings(accounts=accounts).backend(VirtualClock())
    assert list(backend.accounts["ci"].ssh_keys) == [7]  # "its account `ci` has key 7 only"
    assert list(backend.accounts["default"].ssh_keys) == [1]  # the catalog's key 1 otherwise
    assert "its account `ci` has key 7 only" in text
