"""The mock's own surface under `/_mockvps/`: accounts, state, time, operator actions, faults, journal, coverage.

Never part of the contract document: it has its own, `openapi/control.json`. When an admin token is configured
(`MOCKVPS_ADMIN_TOKEN`), every call but the health check needs `Authorization: Bearer <admin token>`.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import RootModel
from starlette.responses import Response

from mockvps.backend import DEFAULT_PROFILE, Account, AccountSpec, Backend, Outcome, Usage
from mockvps.catalog import parse_catalog
from mockvps.clock import ControllableClock
from mockvps.control.coverage import coverage_report
from mockvps.control.deps import BackendDep, ServerIdDep, StateDep, json_body, mock_state, request_body
from mockvps.control.responses import JSONResponse
from mockvps.control.schemas import (
    AccountCreate,
    AccountCreated,
    AccountInfo,
    AccountUpdate,
    Advance,
    ClockInfo,
    Count,
    CoverageReport,
    FaultRuleCreate,
    FaultRuleInfo,
    JournalEntryInfo,
    NextProvisioning,
    ServerSeed,
    ServerState,
    TokenCreate,
    TokenCreated,
    TokenInfo,
    UsageSpec,
)
from mockvps.errors import ConfigurationError, InvalidToken, NotAuthenticated, NotFound, ValidationFailed
from mockvps.persistence.snapshot import export_state, restore_state
from mockvps.public import rendering
from mockvps.public.schemas import ErrorDetail, ServerDetail
from mockvps.shared.journal import JournalQuery
from mockvps.shared.requests import bearer_token
from mockvps.validation import key_map

__all__ = ["REQUEST_MODELS", "health_router", "router"]


async def _require_admin(request: Request) -> None:
    expected = mock_state(request).settings.admin_token
    if expected is None:
        return
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise NotAuthenticated()
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode()):
        raise InvalidToken()


class _Snapshot(RootModel[dict[str, Any]]):
    """A snapshot as GET /_mockvps/state answers it."""


REQUEST_MODELS = (
    AccountCreate,
    AccountUpdate,
    Advance,
    FaultRuleCreate,
    NextProvisioning,
    ServerSeed,
    TokenCreate,
    UsageSpec,
    _Snapshot,
)

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
        "profile": rendering.profile(account.profile),
    }


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


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
    catalog = None
    if body.catalog is not None:
        try:
            catalog = parse_catalog(body.catalog)
        except ConfigurationError as exc:
            raise ValidationFailed({"catalog": [exc.detail]}) from None
    delays = backend.merged_delays(None, _seconds(body.provisioning_delay), _seconds(body.action_delay))
    spec = AccountSpec(
        name=body.name or "",
        tokens=tuple(t.spec() for t in body.tokens or ()),
        balance=body.balance,
        examples=body.examples,
        ssh_keys=key_map(body.ssh_keys),
        mode=body.mode,
        delays=delays,
        catalog=catalog,
        profile=body.profile.applied(DEFAULT_PROFILE) if body.profile else DEFAULT_PROFILE,
    )
    account, tokens = backend.create_account(spec, generate_name=not body.name, generate_token=not body.tokens)
    return JSONResponse({**_account_info(backend, account), "tokens": list(tokens)}, status_code=201)


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
    """Change the balance, the transition mode, the delays or the profile of one account."""
    account = backend.account(name)
    account = backend.update_account(
        account,
        balance=body.balance,
        mode=body.mode,
        provisioning_delay=_seconds(body.provisioning_delay),
        action_delay=_seconds(body.action_delay),
        profile=body.profile.applied(account.profile) if body.profile else None,
    )
    return JSONResponse(_account_info(backend, account))


@router.get("/accounts/{name}/tokens", operation_id="listTokens", response_model=list[TokenInfo])
async def list_tokens(name: AccountName, backend: BackendDep) -> Response:
    """The account's tokens, oldest first: names and permissions, never their secrets."""
    tokens = backend.account(name).tokens
    return JSONResponse([{"name": t.name, "permissions": list(t.permissions)} for t in tokens])


@router.post(
    "/accounts/{name}/tokens",
    operation_id="createToken",
    openapi_extra=request_body(TokenCreate),
    status_code=201,
    response_model=TokenCreated,
)
async def create_token(
    name: AccountName, backend: BackendDep, body: Annotated[TokenCreate, Depends(json_body(TokenCreate))]
) -> Response:
    """A further token of the account, with a name and permissions. Its secret is shown here only, as the live
    dashboard shows a new token's: the mock keeps its salted digest."""
    token, secret = backend.add_token(backend.account(name), body.spec())
    return JSONResponse({"name": token.name, "permissions": list(token.permissions), "token": secret}, status_code=201)


@router.delete("/accounts/{name}", operation_id="deleteAccount", status_code=204)
async def delete_account(name: AccountName, state: StateDep) -> Response:
    """The account, its tokens and its servers are gone; so is its journal. Its coverage stays in the mock's."""
    state.backend.remove_account(name)
    state.journal.clear(account=name)
    state.coverage.retire(name)
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
async def reset(state: StateDep) -> Response:
    """Everything back to how the mock started: accounts, servers, clock, fault rules and journal."""
    state.replace_backend(state.fresh_backend())
    state.faults.clear()
    state.journal.clear()
    return Response(status_code=204)


@router.get("/state", operation_id="exportState")
async def export_whole_state(backend: BackendDep) -> Response:
    """Every account and server as JSON; tokens only as SHA-256 digests."""
    return JSONResponse(export_state(backend))


@router.put("/state", operation_id="importState", openapi_extra=request_body(_Snapshot), status_code=204)
async def import_state(request: Request, state: StateDep) -> Response:
    """Replace the whole state with a snapshot. A bad snapshot is refused with 400 and changes nothing."""
    snapshot = await json_body(_Snapshot)(request)
    backend = state.backend
    try:
        fresh = restore_state(snapshot.root, backend.catalog, backend.clock.base, backend.delays, backend.limits)
    except ConfigurationError as exc:
        raise ValidationFailed({"snapshot": [exc.detail]}) from None
    state.replace_backend(fresh)
    return Response(status_code=204)


# -- time -------------------------------------------------------------------------------------------------------


def _clock_info(clock: ControllableClock) -> dict[str, Any]:
    return {
        "now": rendering.timestamp(clock.now()),
        "frozen": clock.frozen,
        "offset_seconds": clock.offset.total_seconds(),
    }


def _clock_answer(clock: ControllableClock) -> Response:
    return JSONResponse(_clock_info(clock))


@router.get("/clock", operation_id="getClock", response_model=ClockInfo)
async def get_clock(backend: BackendDep) -> Response:
    return _clock_answer(backend.clock)


@router.post(
    "/clock/advance", operation_id="advanceClock", response_model=ClockInfo, openapi_extra=request_body(Advance)
)
async def advance(backend: BackendDep, body: Annotated[Advance, Depends(json_body(Advance))]) -> Response:
    return _clock_answer(backend.advance_clock(None, body.seconds))


@router.post("/clock/freeze", operation_id="freezeClock", response_model=ClockInfo)
async def freeze(backend: BackendDep) -> Response:
    return _clock_answer(backend.freeze_clock(None))


@router.post("/clock/unfreeze", operation_id="unfreezeClock", response_model=ClockInfo)
async def unfreeze(backend: BackendDep) -> Response:
    return _clock_answer(backend.unfreeze_clock(None))


@router.get("/accounts/{name}/clock", operation_id="getClockOfAccount", response_model=ClockInfo, summary="Get Clock")
async def get_account_clock(name: AccountName, backend: BackendDep) -> Response:
    return _clock_answer(backend.account(name).clock)


@router.post(
    "/accounts/{name}/clock/advance",
    operation_id="advanceClockOfAccount",
    response_model=ClockInfo,
    summary="Advance",
    openapi_extra=request_body(Advance),
)
async def advance_account_clock(
    name: AccountName, backend: BackendDep, body: Annotated[Advance, Depends(json_body(Advance))]
) -> Response:
    return _clock_answer(backend.advance_clock(backend.account(name), body.seconds))


@router.post(
    "/accounts/{name}/clock/freeze", operation_id="freezeClockOfAccount", response_model=ClockInfo, summary="Freeze"
)
async def freeze_account_clock(name: AccountName, backend: BackendDep) -> Response:
    return _clock_answer(backend.freeze_clock(backend.account(name)))


@router.post(
    "/accounts/{name}/clock/unfreeze",
    operation_id="unfreezeClockOfAccount",
    response_model=ClockInfo,
    summary="Unfreeze",
)
async def unfreeze_account_clock(name: AccountName, backend: BackendDep) -> Response:
    return _clock_answer(backend.unfreeze_clock(backend.account(name)))


# -- operator actions -------------------------------------------------------------------------------------------


def _server_answer(server: Any) -> Response:
    return JSONResponse(rendering.detail(server))


@router.get("/accounts/{name}/servers", operation_id="listAccountServers", response_model=list[ServerState])
async def list_account_servers(name: AccountName, backend: BackendDep) -> Response:
    """The account's servers as its client sees them, each with its next transition and when it is due."""
    account = backend.account(name)
    states = []
    for server in backend.list_servers(account):
        upcoming = backend.next_transition(account, server)
        states.append(
            {
                **rendering.detail(server),
                "next_status": upcoming[0].value if upcoming else None,
                "next_at": rendering.timestamp(upcoming[1]) if upcoming and upcoming[1] else None,
            }
        )
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
    server = backend.seed_server(backend.account(name), server_id=body.id, **body.model_dump(exclude={"id"}))
    return JSONResponse(rendering.detail(server), status_code=201)


@router.post("/accounts/{name}/servers/{server_id}/advance", operation_id="advanceServer")
async def advance_server(name: AccountName, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Move a server in transition to its next status now (how manual mode moves). `server` is null when that
    ended a provisioning arranged to fail."""
    server = backend.advance_server(backend.account(name), server_id)
    return JSONResponse({"server": rendering.detail(server) if server else None})


@router.post("/accounts/{name}/servers/{server_id}/suspend", operation_id="suspendServer", response_model=ServerDetail)
async def suspend_server(name: AccountName, server_id: ServerIdDep, backend: BackendDep) -> Response:
    return _server_answer(backend.suspend_server(backend.account(name), server_id))


@router.post(
    "/accounts/{name}/servers/{server_id}/unsuspend", operation_id="unsuspendServer", response_model=ServerDetail
)
async def unsuspend_server(name: AccountName, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """A suspended server comes back stopped."""
    return _server_answer(backend.unsuspend_server(backend.account(name), server_id))


@router.put(
    "/accounts/{name}/servers/{server_id}/usage",
    operation_id="setUsage",
    openapi_extra=request_body(UsageSpec),
    response_model=ServerDetail,
)
async def set_usage(
    name: AccountName,
    server_id: ServerIdDep,
    backend: BackendDep,
    body: Annotated[UsageSpec, Depends(json_body(UsageSpec))],
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


@router.get("/faults", operation_id="listFaults", response_model=list[FaultRuleInfo])
async def list_faults(state: StateDep) -> Response:
    return JSONResponse([r.describe() for r in state.faults.rules])


@router.post(
    "/faults",
    operation_id="addFault",
    openapi_extra=request_body(FaultRuleCreate),
    status_code=201,
    response_model=FaultRuleInfo,
)
async def add_fault(state: StateDep, body: Annotated[FaultRuleCreate, Depends(json_body(FaultRuleCreate))]) -> Response:
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
    rule = state.faults.add(latency_ms=latency_range, **spec)
    return JSONResponse(rule.describe(), status_code=201)


@router.delete("/faults", operation_id="clearFaults", status_code=204)
async def clear_faults(state: StateDep) -> Response:
    state.faults.clear()
    return Response(status_code=204)


@router.delete("/faults/{rule_id}", operation_id="deleteFault", status_code=204)
async def delete_fault(rule_id: int, state: StateDep) -> Response:
    if not state.faults.remove(rule_id):
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


@router.get("/journal", operation_id="listJournal", response_model=list[JournalEntryInfo])
async def list_journal(state: StateDep, query: QueryDep, limit: Annotated[int, Query(ge=1)] = 100) -> Response:
    """Public requests, newest first, filtered by method, path, status, account, operation."""
    entries = state.journal.find(query)
    return JSONResponse([e.describe() for _, e in zip(range(limit), entries, strict=False)])


@router.get("/journal/count", operation_id="countJournal", response_model=Count)
async def count_journal(state: StateDep, query: QueryDep) -> Response:
    """How many journal entries match: the verification call."""
    return JSONResponse({"count": state.journal.count(query)})


@router.delete("/journal", operation_id="clearJournal", status_code=204)
async def clear_journal(state: StateDep) -> Response:
    state.journal.clear()
    return Response(status_code=204)


@router.get("/accounts/{name}/journal", operation_id="listAccountJournal", response_model=list[JournalEntryInfo])
async def list_account_journal(
    name: AccountName, state: StateDep, query: QueryDep, limit: Annotated[int, Query(ge=1)] = 100
) -> Response:
    """This account's requests only, newest first."""
    state.backend.account(name)
    scoped = JournalQuery(query.method, query.path, query.status, name, query.operation)
    entries = state.journal.find(scoped)
    return JSONResponse([e.describe() for _, e in zip(range(limit), entries, strict=False)])


@router.get("/accounts/{name}/journal/count", operation_id="countAccountJournal", response_model=Count)
async def count_account_journal(name: AccountName, state: StateDep, query: QueryDep) -> Response:
    state.backend.account(name)
    scoped = JournalQuery(query.method, query.path, query.status, name, query.operation)
    return JSONResponse({"count": state.journal.count(scoped)})


# -- coverage ---------------------------------------------------------------------------------------------------


@router.get("/coverage", operation_id="getCoverage", response_model=CoverageReport)
async def get_coverage(state: StateDep) -> Response:
    """Which documented behaviours of the Servers API clients have seen, for the whole mock: each operation's
    statuses, the transitions clients saw through answers, each kind of refusal, each fault injected; for each
    one never seen, a hint how to provoke it. Counted since the mock started or since DELETE /_mockvps/coverage,
    across resets, imports and deleted accounts."""
    return JSONResponse(coverage_report(state.coverage.total()).model_dump(mode="json"))


@router.delete("/coverage", operation_id="resetCoverage", status_code=204)
async def reset_coverage(state: StateDep) -> Response:
    """Forget every count, the whole mock's and each account's."""
    state.coverage.clear()
    return Response(status_code=204)


@router.get("/accounts/{name}/coverage", operation_id="getAccountCoverage", response_model=CoverageReport)
async def get_account_coverage(name: AccountName, state: StateDep) -> Response:
    """The same for one account's requests (without 401: a request without a valid token names no account)."""
    state.backend.account(name)
    return JSONResponse(coverage_report(state.coverage.of(name), account=name).model_dump(mode="json"))
