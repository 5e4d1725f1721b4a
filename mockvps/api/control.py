"""The mock's own surface under `/_mockvps/`: accounts, state, time, operator actions, faults, journal.

Never part of the contract document: it has its own, `openapi/control.json`. When an admin token is configured
(`MOCKVPS_ADMIN_TOKEN`), every call but the health check needs `Authorization: Bearer <admin token>`.
"""

# No `from __future__ import annotations` here: the clock routes are built in a function, and FastAPI must see
# their dependency annotations as objects, not as strings naming local variables.
import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import RootModel
from starlette.responses import Response

from mockvps.api import views
from mockvps.api.control_schemas import (
    AccountCreate,
    AccountCreated,
    AccountInfo,
    AccountUpdate,
    Advance,
    ClockInfo,
    Count,
    FaultRule,
    FaultRuleCreate,
    JournalEntry,
    NextProvisioning,
    ServerSeed,
    ServerState,
)
from mockvps.api.deps import BackendDep, ServerIdDep, json_body, request_body
from mockvps.api.journal import JournalQuery
from mockvps.api.responses import JSONResponse
from mockvps.api.schemas import ErrorDetail, ResourceUsage, ServerDetail
from mockvps.api.wire import bearer_token
from mockvps.backend import Account, AccountSpec, Backend, Outcome
from mockvps.backend import ResourceUsage as Usage
from mockvps.catalog import SshKey, parse_catalog
from mockvps.clock import ControllableClock
from mockvps.errors import ConfigurationError, InvalidToken, NotAuthenticated, NotFound, ValidationFailed
from mockvps.lifecycle import Delays
from mockvps.snapshot import export_state, restore_state

__all__ = ["REQUEST_MODELS", "health_router", "router"]


async def _require_admin(request: Request) -> None:
    expected: str | None = request.app.state.settings.admin_token
    if expected is None:
        return
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise NotAuthenticated()
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode()):
        raise InvalidToken()


class _Snapshot(RootModel[dict[str, Any]]):
    """A snapshot as GET /_mockvps/state answers it."""


REQUEST_MODELS = (AccountCreate, AccountUpdate, Advance, FaultRuleCreate, NextProvisioning, ResourceUsage, ServerSeed,
                  _Snapshot)  # fmt: skip

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorDetail, "description": "Invalid input; nothing changed."},
    401: {"model": ErrorDetail, "description": "An admin token is configured and was not given."},
    404: {"model": ErrorDetail, "description": "No such account, server or rule."},
}

health_router = APIRouter(prefix="/_mockvps", tags=["health"])
router = APIRouter(prefix="/_mockvps", dependencies=[Depends(_require_admin)], responses=_ERRORS)

AccountName = Annotated[str, Path(description="The account's name.")]


@health_router.get("/health", operation_id="health")
async def health() -> Response:
    """200 once the mock serves. Needs no admin token."""
    return JSONResponse({"status": "ok"})


@health_router.get("/openapi.json", operation_id="controlDocument", include_in_schema=False)
async def control_openapi() -> Response:
    from mockvps.api.openapi import control_document

    return JSONResponse(control_document())


# -- accounts ---------------------------------------------------------------------------------------------------


def _account_info(backend: Backend, account: Account) -> dict[str, Any]:
    delays = account.delays or backend.delays
    return {
        "name": account.name,
        "balance": str(account.balance),
        "mode": account.mode.value,
        "provisioning_delay": delays.provisioning.total_seconds(),
        "action_delay": delays.action.total_seconds(),
        "servers": len(account.servers),
        "ssh_keys": [{"id": k.id, "name": k.name} for k in account.ssh_keys.values()],
        "next_provisioning": account.next_outcome.value if account.next_outcome else None,
    }


def _delays(backend: Backend, provisioning: float | None, action: float | None, base: Delays | None) -> Delays | None:
    if provisioning is None and action is None:
        return base
    current = base or backend.delays
    return Delays(
        provisioning=timedelta(seconds=provisioning) if provisioning is not None else current.provisioning,
        action=timedelta(seconds=action) if action is not None else current.action,
    )


@router.get("/accounts", operation_id="listAccounts", response_model=list[AccountInfo])
async def list_accounts(backend: BackendDep) -> Response:
    """Every account, without its tokens."""
    return JSONResponse([_account_info(backend, a) for a in backend.accounts.values()])


@router.post(
    "/accounts",
    operation_id="createAccount",
    openapi_extra=request_body(AccountCreate),
    status_code=201,
    response_model=AccountCreated,
)
async def create_account(
    backend: BackendDep, body: Annotated[AccountCreate, Depends(json_body(AccountCreate))]
) -> Response:
    """A fresh, isolated account: what a parallel test worker needs. Its tokens are shown only here."""
    name = body.name or f"account-{secrets.token_hex(4)}"
    tokens = body.tokens or [f"mockvps-{secrets.token_urlsafe(18)}"]
    catalog = None
    if body.catalog is not None:
        try:
            catalog = parse_catalog(body.catalog)
        except ConfigurationError as exc:
            raise ValidationFailed({"catalog": [exc.detail]}) from None
    keys = {k.id: SshKey(k.id, k.name) for k in body.ssh_keys} if body.ssh_keys is not None else None
    spec = AccountSpec(
        name=name, tokens=tuple(tokens), balance=body.balance, ssh_keys=keys, examples=body.examples,
        mode=body.mode, delays=_delays(backend, body.provisioning_delay, body.action_delay, None), catalog=catalog,
    )  # fmt: skip
    if name in backend.accounts:
        raise ValidationFailed({"name": [f"An account named {name!r} exists already."]})
    try:
        account = backend.add_account(spec)
    except ConfigurationError as exc:
        raise ValidationFailed({"non_field_errors": [exc.detail]}) from None
    return JSONResponse({**_account_info(backend, account), "tokens": tokens}, status_code=201)


@router.get("/accounts/{name}", operation_id="getAccount", response_model=AccountInfo)
async def get_account(name: AccountName, backend: BackendDep) -> Response:
    return JSONResponse(_account_info(backend, backend.account(name)))


@router.patch(
    "/accounts/{name}",
    operation_id="updateAccount",
    openapi_extra=request_body(AccountUpdate),
    response_model=AccountInfo,
)
async def update_account(
    name: AccountName, backend: BackendDep, body: Annotated[AccountUpdate, Depends(json_body(AccountUpdate))]
) -> Response:
    """Change the balance, the transition mode or the delays of one account."""
    account = backend.account(name)
    if body.balance is not None:
        account.balance = body.balance
    if body.mode is not None:
        backend.set_mode(account, body.mode)
    account.delays = _delays(backend, body.provisioning_delay, body.action_delay, account.delays)
    return JSONResponse(_account_info(backend, account))


@router.delete("/accounts/{name}", operation_id="deleteAccount", status_code=204)
async def delete_account(name: AccountName, backend: BackendDep, request: Request) -> Response:
    """The account, its tokens and its servers are gone; so is its journal."""
    backend.remove_account(name)
    request.app.state.journal.clear(account=name)
    return Response(status_code=204)


@router.post("/accounts/{name}/reset", operation_id="resetAccount", response_model=AccountInfo)
async def reset_account(name: AccountName, backend: BackendDep) -> Response:
    """The account as it was created: servers, balance, mode, delays and clock."""
    return JSONResponse(_account_info(backend, backend.reset_account(name)))


@router.get("/accounts/{name}/state", operation_id="exportAccount")
async def export_account(name: AccountName, backend: BackendDep) -> Response:
    """A snapshot holding only this account (importable with PUT /_mockvps/state)."""
    backend.account(name)
    return JSONResponse(export_state(backend, [name]))


# -- whole state ------------------------------------------------------------------------------------------------


@router.post("/reset", operation_id="reset", status_code=204)
async def reset(request: Request) -> Response:
    """Everything back to how the mock started: accounts, servers, clock, fault rules and journal."""
    state = request.app.state
    state.backend = state.initial_backend()
    state.faults.clear()
    state.journal.clear()
    return Response(status_code=204)


@router.get("/state", operation_id="exportState")
async def export_whole_state(backend: BackendDep) -> Response:
    """Every account and server as JSON; tokens only as SHA-256 digests."""
    return JSONResponse(export_state(backend))


@router.put("/state", operation_id="importState", openapi_extra=request_body(_Snapshot), status_code=204)
async def import_state(request: Request, backend: BackendDep) -> Response:
    """Replace the whole state with a snapshot. A bad snapshot is refused with 400 and changes nothing."""
    snapshot = await json_body(_Snapshot)(request)
    try:
        fresh = restore_state(snapshot.root, backend.catalog, backend.clock.base, backend.delays, backend.limits)
    except ConfigurationError as exc:
        raise ValidationFailed({"snapshot": [exc.detail]}) from None
    request.app.state.backend = fresh
    return Response(status_code=204)


# -- time -------------------------------------------------------------------------------------------------------


def _clock_info(clock: ControllableClock) -> dict[str, Any]:
    return {"now": views.timestamp(clock.now()), "frozen": clock.frozen, "offset_seconds": clock.offset.total_seconds()}


async def _mock_clock(request: Request) -> ControllableClock:
    clock: ControllableClock = request.app.state.backend.clock
    return clock


async def _account_clock(name: AccountName, backend: BackendDep) -> ControllableClock:
    return backend.account(name).clock


def _time_routes(prefix: str, clock_of: Any, suffix: str, scope: str) -> None:
    ClockDep = Annotated[ControllableClock, Depends(clock_of)]  # noqa: N806

    @router.get(f"{prefix}/clock", operation_id=f"getClock{suffix}", response_model=ClockInfo)
    async def get_clock(clock: ClockDep) -> Response:
        return JSONResponse(_clock_info(clock))

    @router.post(f"{prefix}/clock/advance", operation_id=f"advanceClock{suffix}", response_model=ClockInfo,
                 openapi_extra=request_body(Advance))  # fmt: skip
    async def advance(clock: ClockDep, body: Annotated[Advance, Depends(json_body(Advance))]) -> Response:
        clock.advance(body.seconds)
        return JSONResponse(_clock_info(clock))

    @router.post(f"{prefix}/clock/freeze", operation_id=f"freezeClock{suffix}", response_model=ClockInfo)
    async def freeze(clock: ClockDep) -> Response:
        clock.freeze()
        return JSONResponse(_clock_info(clock))

    @router.post(f"{prefix}/clock/unfreeze", operation_id=f"unfreezeClock{suffix}", response_model=ClockInfo)
    async def unfreeze(clock: ClockDep) -> Response:
        clock.unfreeze()
        return JSONResponse(_clock_info(clock))

    for endpoint in (get_clock, advance, freeze, unfreeze):
        endpoint.__doc__ = f"The {scope} clock: read it, move it forward, freeze it, let it run again."


_time_routes("", _mock_clock, "", "mock's (every account's time follows it)")
_time_routes("/accounts/{name}", _account_clock, "OfAccount", "account's own")


# -- operator actions -------------------------------------------------------------------------------------------


def _server_answer(server: Any) -> Response:
    return JSONResponse(views.detail(server))


@router.get("/accounts/{name}/servers", operation_id="listAccountServers", response_model=list[ServerState])
async def list_account_servers(name: AccountName, backend: BackendDep) -> Response:
    """The account's servers as its client sees them, each with its next transition and when it is due."""
    account = backend.account(name)
    states = []
    for server in backend.list_servers(account):
        upcoming = backend.next_transition(account, server)
        states.append({
            **views.detail(server),
            "next_status": upcoming[0].value if upcoming else None,
            "next_at": views.timestamp(upcoming[1]) if upcoming and upcoming[1] else None,
        })  # fmt: skip
    return JSONResponse(states)


@router.post(
    "/accounts/{name}/servers",
    operation_id="seedServer",
    openapi_extra=request_body(ServerSeed),
    status_code=201,
    response_model=ServerDetail,
)
async def seed_server(
    name: AccountName, backend: BackendDep, body: Annotated[ServerSeed, Depends(json_body(ServerSeed))]
) -> Response:
    """Put a server straight into any status, free of charge."""
    account = backend.account(name)
    fields = body.model_dump(exclude={"id"})
    server = backend.seed_server(account, server_id=body.id, **fields)
    return JSONResponse(views.detail(server), status_code=201)


@router.post("/accounts/{name}/servers/{server_id}/advance", operation_id="advanceServer")
async def advance_server(name: AccountName, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Move a server in transition to its next status now (how manual mode moves). `server` is null when that
    ended a provisioning arranged to fail."""
    server = backend.advance_server(backend.account(name), server_id)
    return JSONResponse({"server": views.detail(server) if server else None})


@router.post("/accounts/{name}/servers/{server_id}/suspend", operation_id="suspendServer",
             response_model=ServerDetail)  # fmt: skip
async def suspend_server(name: AccountName, server_id: ServerIdDep, backend: BackendDep) -> Response:
    return _server_answer(backend.suspend_server(backend.account(name), server_id))


@router.post("/accounts/{name}/servers/{server_id}/unsuspend", operation_id="unsuspendServer",
             response_model=ServerDetail)  # fmt: skip
async def unsuspend_server(name: AccountName, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """A suspended server comes back stopped."""
    return _server_answer(backend.unsuspend_server(backend.account(name), server_id))


@router.put(
    "/accounts/{name}/servers/{server_id}/usage",
    operation_id="setUsage",
    openapi_extra=request_body(ResourceUsage),
    response_model=ServerDetail,
)
async def set_usage(
    name: AccountName,
    server_id: ServerIdDep,
    backend: BackendDep,
    body: Annotated[ResourceUsage, Depends(json_body(ResourceUsage))],
) -> Response:
    """Resource usage while running (CPU and memory read zero while it is not)."""
    usage = Usage(body.cpu_percent, body.memory_used, body.disk_used, body.bandwidth_used)
    return _server_answer(backend.set_usage(backend.account(name), server_id, usage))


@router.delete("/accounts/{name}/servers/{server_id}/usage", operation_id="clearUsage", response_model=ServerDetail)
async def clear_usage(name: AccountName, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Back to the derived, deterministic usage."""
    return _server_answer(backend.set_usage(backend.account(name), server_id, None))


@router.put(
    "/accounts/{name}/next-provisioning",
    operation_id="setNextProvisioning",
    openapi_extra=request_body(NextProvisioning),
    response_model=NextProvisioning,
)
async def set_next_provisioning(
    name: AccountName, backend: BackendDep, body: Annotated[NextProvisioning, Depends(json_body(NextProvisioning))]
) -> Response:
    """Make the next server this account creates fail or hang in provisioning."""
    backend.set_next_outcome(backend.account(name), Outcome(body.outcome) if body.outcome else None)
    return JSONResponse({"outcome": body.outcome})


# -- faults -----------------------------------------------------------------------------------------------------


@router.get("/faults", operation_id="listFaults", response_model=list[FaultRule])
async def list_faults(request: Request) -> Response:
    return JSONResponse([r.describe() for r in request.app.state.faults.rules])


@router.post(
    "/faults",
    operation_id="addFault",
    openapi_extra=request_body(FaultRuleCreate),
    status_code=201,
    response_model=FaultRule,
)
async def add_fault(
    request: Request, body: Annotated[FaultRuleCreate, Depends(json_body(FaultRuleCreate))]
) -> Response:
    """A rule for public requests, tried in the order added; the first that matches and fires applies."""
    latency = body.latency_ms
    if isinstance(latency, list):
        if len(latency) != 2 or latency[0] > latency[1]:
            raise ValidationFailed({"latency_ms": ["Give one number or [low, high] with low <= high."]})
        latency_range: tuple[float, float] | None = (latency[0], latency[1])
    else:
        latency_range = None if latency is None else (latency, latency)
    if body.drop and body.status is not None:
        raise ValidationFailed({"drop": ["A dropped connection has no status; give one or the other."]})
    spec = body.model_dump(exclude={"latency_ms"})
    rule = request.app.state.faults.add(latency_ms=latency_range, **spec)
    return JSONResponse(rule.describe(), status_code=201)


@router.delete("/faults", operation_id="clearFaults", status_code=204)
async def clear_faults(request: Request) -> Response:
    request.app.state.faults.clear()
    return Response(status_code=204)


@router.delete("/faults/{rule_id}", operation_id="deleteFault", status_code=204)
async def delete_fault(rule_id: int, request: Request) -> Response:
    if not request.app.state.faults.remove(rule_id):
        raise NotFound()
    return Response(status_code=204)


# -- journal ----------------------------------------------------------------------------------------------------


async def _query(
    method: str | None = None,
    path: Annotated[str | None, Query(description="Exact path or glob")] = None,
    status: int | None = None,
    account: str | None = None,
    operation: str | None = None,
) -> JournalQuery:
    return JournalQuery(method=method, path=path, status=status, account=account, operation=operation)


QueryDep = Annotated[JournalQuery, Depends(_query)]


@router.get("/journal", operation_id="listJournal", response_model=list[JournalEntry])
async def list_journal(request: Request, query: QueryDep, limit: Annotated[int, Query(ge=1)] = 100) -> Response:
    """Public requests, newest first, filtered by method, path, status, account, operation."""
    entries = request.app.state.journal.find(query)
    return JSONResponse([e.describe() for _, e in zip(range(limit), entries, strict=False)])


@router.get("/journal/count", operation_id="countJournal", response_model=Count)
async def count_journal(request: Request, query: QueryDep) -> Response:
    """How many journal entries match: the verification call."""
    return JSONResponse({"count": request.app.state.journal.count(query)})


@router.delete("/journal", operation_id="clearJournal", status_code=204)
async def clear_journal(request: Request) -> Response:
    request.app.state.journal.clear()
    return Response(status_code=204)


@router.get("/accounts/{name}/journal", operation_id="listAccountJournal", response_model=list[JournalEntry])
async def list_account_journal(
    name: AccountName, request: Request, query: QueryDep, backend: BackendDep, limit: Annotated[int, Query(ge=1)] = 100
) -> Response:
    """This account's requests only, newest first."""
    backend.account(name)
    scoped = JournalQuery(query.method, query.path, query.status, name, query.operation)
    entries = request.app.state.journal.find(scoped)
    return JSONResponse([e.describe() for _, e in zip(range(limit), entries, strict=False)])


@router.get("/accounts/{name}/journal/count", operation_id="countAccountJournal", response_model=Count)
async def count_account_journal(name: AccountName, request: Request, query: QueryDep, backend: BackendDep) -> Response:
    backend.account(name)
    scoped = JournalQuery(query.method, query.path, query.status, name, query.operation)
    return JSONResponse({"count": request.app.state.journal.count(scoped)})
