"""Authentication, methods and ids, operation by operation, as the document lists them."""

from __future__ import annotations

from typing import Any

import pytest

from mockvps.conformance.client import Api
from mockvps.conformance.document import load_document
from mockvps.conformance.target import NEVER_ID

PATHS: dict[str, dict[str, Any]] = load_document()["paths"]
OPERATIONS = [(method.upper(), path) for path, ops in PATHS.items() for method in ops]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def concrete(path: str) -> str:
    """A path of the document with an id that exists nowhere: nothing can be changed by accident."""
    return path.replace("{server_id}", str(NEVER_ID))


def writes_unless_get(method: str) -> Any:
    return pytest.mark.writes if method != "GET" else ()


@pytest.mark.departure("unauthenticated-success")
@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(m, p, marks=writes_unless_get(m), id=f"{m} {p}") for m, p in OPERATIONS]
)
@pytest.mark.parametrize(
    ("token", "detail"),
    [(None, "Authentication credentials were not provided."), ("not-a-valid-token-0", "Invalid token.")],
    ids=["missing token", "wrong token"],
)
def test_every_operation_refuses_a_missing_or_wrong_token_with_401(
    api: Api, method: str, path: str, token: str | None, detail: str
) -> None:
    response = api.as_token(token).request(method, concrete(path), json={})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


@pytest.mark.departure("wrong-status")
@pytest.mark.writes
@pytest.mark.parametrize("path", list(PATHS))
def test_an_undocumented_method_is_405_with_an_allow_listing_the_documented_ones(api: Api, path: str) -> None:
    documented = {m.upper() for m in PATHS[path]}
    for method in (m for m in METHODS if m not in documented):
        response = api.request(method, concrete(path), json={})
        assert response.status_code == 405, method
        allowed = {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert documented <= allowed, (method, allowed)
        assert not allowed & (set(METHODS) - documented), (method, allowed)


@pytest.mark.departure("wrong-status", "getServer")
@pytest.mark.parametrize("server_id", ["abc", "-1", "1.5", "%20123", "\uff11\uff12"])
def test_an_id_that_is_not_a_number_is_404(api: Api, server_id: str) -> None:
    response = api.get(f"/api/v1/servers/{server_id}/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


@pytest.mark.departure("wrong-content-type", "listServers")
def test_responses_are_json(api: Api) -> None:
    for path in ("/api/v1/servers/", concrete("/api/v1/servers/{server_id}/")):
        assert api.get(path).headers["Content-Type"].startswith("application/json")
