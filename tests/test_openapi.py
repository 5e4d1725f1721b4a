"""The committed contract document: what the app emits, the live API only, with no 422 anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from mockvps.lifecycle import ServerStatus
from mockvps.public.document import contract_document
from mockvps.shared.openapi import render_document

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "openapi" / "openapi.json"
OPERATIONS = {
    ("/api/v1/servers/", "get"): "listServers",
    ("/api/v1/servers/", "post"): "createServer",
    ("/api/v1/servers/{server_id}/", "get"): "getServer",
    ("/api/v1/servers/{server_id}/", "put"): "replaceServer",
    ("/api/v1/servers/{server_id}/", "patch"): "updateServer",
    ("/api/v1/servers/{server_id}/", "delete"): "deleteServer",
    ("/api/v1/servers/{server_id}/start/", "post"): "startServer",
    ("/api/v1/servers/{server_id}/stop/", "post"): "stopServer",
    ("/api/v1/servers/{server_id}/reboot/", "post"): "rebootServer",
    ("/api/v1/account/me/", "get"): "getAccountMe",
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    committed: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return committed


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockvps", "openapi", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_the_committed_document_is_what_the_app_emits() -> None:
    result = run_cli("--check")
    assert result.returncode == 0, result.stderr
    assert COMMITTED.read_text(encoding="utf-8") == render_document(contract_document())


def test_the_check_fails_on_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(COMMITTED.read_text(encoding="utf-8").replace("listServers", "listAllServers"))
    result = run_cli("--check", "--output", str(stale))
    assert result.returncode == 1
    assert "out of date" in result.stderr
    assert run_cli("--output", str(stale)).returncode == 0
    assert run_cli("--check", "--output", str(stale)).returncode == 0


def test_the_app_serves_the_same_document_with_itself_as_the_first_server(
    client: TestClient, doc: dict[str, Any]
) -> None:
    served = client.get("/openapi.json").json()
    assert [s["url"] for s in served.pop("servers")] == ["http://testserver", "https://admin.vps.org"]
    assert served == {k: v for k, v in doc.items() if k != "servers"}


def test_it_is_openapi_3_1_for_the_live_service_only(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "https://admin.vps.org"}]
    assert set(doc["paths"]) == {path for path, _ in OPERATIONS}
    assert "_mockvps" not in json.dumps(doc)


def test_every_operation_has_its_stable_id(doc: dict[str, Any]) -> None:
    found = {(p, m): op["operationId"] for p, ops in doc["paths"].items() for m, op in ops.items()}
    assert found == OPERATIONS


def test_no_422_anywhere(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    assert '"422"' not in text
    assert "HTTPValidationError" not in text


def test_bearer_authentication_is_required_everywhere(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "`Authorization: Bearer YOUR_API_TOKEN`",
    }  # fmt: skip
    assert doc["security"] == [{"bearerAuth": []}]
    for ops in doc["paths"].values():
        for op in ops.values():
            assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorDetail"
            }


def test_documented_error_responses_are_there(doc: dict[str, Any]) -> None:
    codes = {op["operationId"]: set(op["responses"]) for ops in doc["paths"].values() for op in ops.values()}
    # Beside the documentation's own: 301 and 405 everywhere, 413 and 415 where a body is read, 403 where the
    # token's permissions are checked (everywhere but account/me, which any token may call).
    everywhere = {"301", "405"}
    assert codes["createServer"] == {"201", "400", "401", "402", "403", "413", "415"} | everywhere
    assert codes["listServers"] == {"200", "400", "401", "403"} | everywhere
    assert codes["deleteServer"] == {"204", "401", "403", "404"} | everywhere
    for op_id in ("getServer", "replaceServer", "updateServer", "startServer", "stopServer", "rebootServer"):
        assert {"200", "401", "403", "404"} | everywhere <= codes[op_id]
    assert codes["getAccountMe"] == {"200", "401"} | everywhere


def test_the_status_enum_is_the_lifecycle_s(doc: dict[str, Any]) -> None:
    assert doc["components"]["schemas"]["ServerStatus"]["enum"] == [s.value for s in ServerStatus]


def test_server_ids_are_integers(doc: dict[str, Any]) -> None:
    (param,) = doc["paths"]["/api/v1/servers/{server_id}/"]["get"]["parameters"]
    assert param["schema"]["type"] == "integer"


def _examples(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for ops in doc["paths"].values():
        for op in ops.values():
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media:
                found.append((f"{op['operationId']} request", media["schema"], media["example"]))
            for code, response in op["responses"].items():
                media = response.get("content", {}).get("application/json", {})
                if "example" in media:
                    found.append((f"{op['operationId']} {code}", media["schema"], media["example"]))
    return found


def test_the_documentation_s_examples_fit_the_document_s_schemas(doc: dict[str, Any]) -> None:
    examples = _examples(doc)
    assert len(examples) == 10  # 3 request bodies, 6 documented answers of the Servers page, account/me's
    for where, schema, example in examples:
        validator = jsonschema_rs.validator_for({**schema, "components": doc["components"]})
        errors = [e.message for e in validator.iter_errors(example)]
        assert errors == [], where
    created = next(example for where, _, example in examples if where == "createServer 201")
    assert created["ip_address"] is None  # nulls survive into the document
