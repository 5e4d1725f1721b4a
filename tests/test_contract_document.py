"""The contract document says what the mock does, in the form third-party tools read it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import CREATE

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT: dict[str, Any] = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
METHODS = ("get", "put", "post", "delete", "patch")
ONE = "/api/v1/servers/12345/"


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas(value)


def concrete(path: str) -> str:
    return path.replace("{server_id}", "12345")


def test_a_bodiless_patch_is_documented_as_the_mock_answers_it(client: TestClient) -> None:
    patch = DOCUMENT["paths"]["/api/v1/servers/{server_id}/"]["patch"]
    assert patch["requestBody"]["required"] is False
    before = client.get(ONE).json()
    answer = client.patch(ONE)
    assert answer.status_code == 200
    assert answer.json() == before


@pytest.mark.parametrize(("path", "method", "operation"), list(operations()), ids=lambda v: str(v)[:30])
def test_every_status_the_mock_answers_on_a_path_is_documented(
    client: TestClient, path: str, method: str, operation: dict[str, Any]
) -> None:
    documented = set(operation["responses"])
    wrong = next(m for m in METHODS if m not in DOCUMENT["paths"][path])
    refused = client.request(wrong.upper(), concrete(path))
    assert refused.status_code == 405 and "405" in documented
    assert "Allow" in operation["responses"]["405"]["headers"]
    unslashed = client.request(method.upper(), concrete(path).rstrip("/"), follow_redirects=False)
    assert unslashed.status_code == 301 and "301" in documented
    if "requestBody" in operation:
        too_large = client.request(method.upper(), concrete(path), content=b"x" * (1024 * 1024 + 1),
                                   headers={"Content-Type": "application/json"})  # fmt: skip
        assert too_large.status_code == 413 and "413" in documented
        not_json = client.request(method.upper(), concrete(path), content=b"name=x",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert not_json.status_code == 415 and "415" in documented


@pytest.mark.parametrize("number", ["1.0", "1e0", "10E-1"])
def test_an_integral_number_is_an_integer(client: TestClient, number: str) -> None:
    body = json.dumps({**CREATE, "os_id": 5}).replace('"plan_id": 1', f'"plan_id": {number}')
    created = client.post("/api/v1/servers/", content=body, headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    assert created.json()["plan"]["id"] == 1


@pytest.mark.parametrize("value", ["1", True, 1.5])
def test_strings_booleans_and_fractions_are_not_integers(client: TestClient, value: object) -> None:
    refused = client.post("/api/v1/servers/", json={**CREATE, "plan_id": value})
    assert refused.status_code == 400
    assert refused.json() == {"plan_id": ["A valid integer is required."]}


def test_formats_stand_inside_the_string_branch() -> None:
    beside = [s for s in schemas(DOCUMENT) if "format" in s and "anyOf" in s]
    assert beside == []
    address = DOCUMENT["components"]["schemas"]["ServerDetail"]["properties"]["ipv6_address"]
    assert {"type": "string", "format": "ipv6"} in address["anyOf"]


def test_the_document_names_its_tags_contact_and_license() -> None:
    assert [tag["name"] for tag in DOCUMENT["tags"]] == ["servers", "account"]
    assert {op_tag for _, _, op in operations() for op_tag in op["tags"]} == {"servers", "account"}
    assert DOCUMENT["info"]["contact"]["url"] == "https://admin.vps.org"
    assert DOCUMENT["info"]["license"]["identifier"] == "MIT"


def test_every_link_can_resolve_whatever_the_answer() -> None:
    for _, _, operation in operations():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert "/results/" not in link["parameters"]["server_id"]  # an empty list has no first item


def test_a_server_that_never_ran_has_used_nothing(client: TestClient) -> None:
    created = client.post("/api/v1/servers/", json=CREATE).json()
    usage = client.get(f"/api/v1/servers/{created['id']}/").json()["resource_usage"]
    assert usage == {"cpu_percent": 0.0, "memory_used": 0, "disk_used": 0, "bandwidth_used": 0}
