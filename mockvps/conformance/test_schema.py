"""Schemathesis: every operation against the document, then stateful sequences across them."""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Case, Config, Response
from schemathesis.specs.openapi.schemas import OpenApiSchema

from mockvps.conformance.client import fresh
from mockvps.conformance.ledger import Ledger
from mockvps.conformance.profiles import Profile
from mockvps.conformance.target import NEVER_ID, InProcessTarget, Options, Target

ACTIONS = ["startServer", "stopServer", "rebootServer"]
# A valid request may still be refused with a documented answer: 402 for a short balance, 404 for an id that
# does not exist, 400 for an action the server's current status refuses.
ACCEPTED = ["2xx", 401, 402, 404]


def schema_config(target: Target, profile: Profile, options: Options) -> dict[str, Any]:
    config: dict[str, Any] = {
        "headers": {"Authorization": f"Bearer {target.token}"},
        "generation": {"max-examples": profile.max_examples, "deterministic": profile.deterministic},
        "output": {"sanitization": {"keys-to-sanitize": ["authorization"], "sensitive-markers": ["authorization"]}},
        "checks": {
            # Bad input is refused with 400 (404 for an id that is no id), never 422.
            "negative_data_rejection": {"expected-statuses": [400, 401, 404, 405, 413, 415]},
            "positive_data_acceptance": {"expected-statuses": ACCEPTED},
        },
        "operations": [
            {
                "include-operation-id": ACTIONS,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 400]}},
            },
        ],
    }
    if profile.deterministic:
        config["seed"] = 20250116
    if not isinstance(target, InProcessTarget):
        config["base-url"] = target.base_url
    if target.rate:
        config["rate-limit"] = f"{target.rate:g}/s"
    if not target.writes:
        # Read-only: GET operations only (a filter in the config: `from_fixture` drops the schema's own filters),
        # and not even the coverage phase's probes with other methods.
        config["operations"].append({"include-method": ["POST", "PUT", "PATCH", "DELETE"], "enabled": False})
        config["phases"] = {"coverage": {"unexpected-methods": []}}
    return config


@pytest.fixture(scope="session")
def contract_schema(
    document: dict[str, Any], target: Target, profile: Profile, options: Options, ledger: Ledger
) -> OpenApiSchema:
    schema = schemathesis.openapi.from_dict(document, config=Config.from_dict(schema_config(target, profile, options)))
    if isinstance(target, InProcessTarget):
        schema.app = target
    return schema


def _operation_id(case: Case) -> str | None:
    op_id = case.operation.definition.raw.get("operationId")
    return str(op_id) if op_id else None


def before(case: Case, ledger: Ledger, options: Options, target: Target) -> None:
    params = case.path_parameters or {}
    server_id = str(params.get("server_id", ""))
    # Where state is real, generated writes may touch only servers this run created: never a customer's.
    writes = case.method != "GET" and not target.resettable
    if writes and server_id.isdigit() and (target.token, int(server_id)) not in ledger.live:
        params["server_id"] = NEVER_ID
    if _operation_id(case) != "createServer":
        return
    ledger.make_room()
    if case.meta and case.meta.generation.mode.is_positive and isinstance(case.body, dict):
        # A schema-valid order names catalog entries the service offers (no schema can list them), so that
        # "valid data is accepted" means something.
        case.body.update(plan_id=options.plan_id, os_id=options.os_id, location=options.location)
        case.body.pop("ssh_key_id", None)


def after(case: Case, response: Response, ledger: Ledger, target: Target) -> None:
    """Keep account of what the generated requests created and deleted, so nothing is left behind."""
    op_id = _operation_id(case)
    if op_id == "createServer" and response.status_code == 201:
        ledger.add(target.token, int(response.json()["id"]))
    elif op_id == "deleteServer" and response.status_code in (204, 404):
        server_id = str((case.path_parameters or {}).get("server_id"))
        if server_id.isdigit():
            ledger.forget(target.token, int(server_id))


schema = schemathesis.pytest.from_fixture("contract_schema")


@schema.parametrize()
def test_operation_conforms(case: Case, ledger: Ledger, target: Target, options: Options) -> None:
    """Documented status codes, content type and schemas; 400 for bad input; authentication; no 5xx."""
    before(case, ledger, options, target)
    response = case.call()
    after(case, response, ledger, target)
    case.validate_response(response)


@pytest.mark.writes
def test_stateful_sequences(
    contract_schema: OpenApiSchema, target: Target, profile: Profile, ledger: Ledger, options: Options
) -> None:
    """Create, read, update, start/stop/reboot and delete in generated sequences, following the document's links."""

    class Sequences(contract_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            fresh(target, ledger)  # a fresh mock per sequence keeps Hypothesis' replays faithful

        def before_call(self, case: Case) -> None:
            super().before_call(case)
            before(case, ledger, options, target)

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            after(case, response, ledger, target)

    Sequences.run(
        settings=hypothesis.settings(
            max_examples=profile.stateful_examples,
            stateful_step_count=profile.stateful_steps,
            derandomize=profile.deterministic,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
