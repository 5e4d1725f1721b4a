"""The documentation's example requests and answers, read from the German seed text as it is published."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = Path(__file__).parent / "data" / "vps-org-servers-api.de.txt"
LIVE_HOST = "https://admin.vps.org"
PLACEHOLDER_TOKEN = "YOUR_API_TOKEN"
HEADING = re.compile(r"^(ERHALTEN|POST|SETZEN|Patch|LÖSCHEN) (/api/v1/servers/\S*)$", re.MULTILINE)


@dataclass
class Curl:
    method: str
    url: str
    headers: dict[str, str]
    data: str | None

    def argv(self, host: str, token: str) -> list[str]:
        argv = ["curl", "-sS", "-X", self.method, self.url.replace(LIVE_HOST, host)]
        for name, value in self.headers.items():
            argv += ["-H", f"{name}: {value.replace(PLACEHOLDER_TOKEN, token)}"]
        if self.data is not None:
            argv += ["-d", self.data]
        return argv


@dataclass
class Example:
    title: str
    method: str
    path: str
    curl: Curl
    python: str
    answer: Any | None
    codes: list[int] = field(default_factory=list)
    javascript: str | None = None
    """The `fetch` example, where the documentation gives one (top-level `await`: it runs as a module)."""

    @property
    def success(self) -> int:
        return next((c for c in self.codes if 200 <= c < 300), 200)

    @property
    def action(self) -> str | None:
        match = re.search(r"/(start|stop|reboot)/$", self.path)
        return match.group(1) if match else None


def _curl(section: str) -> Curl:
    lines = section[section.index("curl -X") :].splitlines()
    for end in range(1, len(lines) + 1):
        try:
            words = shlex.split("\n".join(lines[:end]))
        except ValueError:  # an unclosed quote: the command goes on
            continue
        if not lines[end - 1].rstrip().endswith("\\"):
            break
    method, url, headers, data = "GET", "", {}, None
    it = iter(words[1:])
    for word in it:
        if word == "-X":
            method = next(it)
        elif word == "-H":
            name, _, value = next(it).partition(": ")
            headers[name] = value
        elif word == "-d":
            data = next(it)
        elif word.startswith("http"):
            url = word
    return Curl(method, url, headers, data)


def _python(section: str) -> str:
    start = section.index("import requests")
    end = section.index("\n", section.index("print(", start))
    return section[start:end]


def _javascript(section: str) -> str | None:
    """From the first `const` after the Python example to the line that logs the answer."""
    after_python = section.index("\n", section.index("print(", section.index("import requests")))
    start = section.find("\nconst ", after_python)
    if start < 0 or "fetch(" not in section[start : section.find("console.log(", start)]:
        return None
    end = section.index("\n", section.index("console.log(", start))
    return section[start + 1 : end]


def _answer(section: str) -> Any | None:
    marker = section.find("Beispielantwort")
    if marker < 0:
        return None
    text = section[marker + len("Beispielantwort") :].lstrip()
    return json.JSONDecoder().raw_decode(text)[0]


def _codes(section: str) -> list[int]:
    marker = section.find("Antwortstatuscodes")
    if marker < 0:
        return []
    return [int(m.group(1)) for m in re.finditer(r"^(\d{3}) ", section[marker:], re.MULTILINE)]


def examples() -> list[Example]:
    text = SEED.read_text(encoding="utf-8")
    headings = list(HEADING.finditer(text))
    found = []
    for here, after in zip(headings, [*headings[1:], None], strict=True):
        section = text[here.end() : after.start() if after else len(text)]
        title = section.strip().splitlines()[0]
        found.append(Example(title, here.group(1), here.group(2), _curl(section), _python(section),
                             _answer(section), _codes(section), _javascript(section)))  # fmt: skip
    return found


def shape(value: Any) -> Any:
    """The JSON types of a value, keys in order: what a client's parser depends on."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__
