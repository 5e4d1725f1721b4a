"""What the Servers API documents, each behaviour with how to provoke it, and the coverage report against it.

Documented means what the contract says, read from where the mock keeps it:
- each operation's statuses, as the contract document lists them (`public.document.documented_statuses`);
- the moves of the lifecycle's tables (`lifecycle.ACTIONS`, `lifecycle.SETTLES`), suspension included;
- the refusals: each public action in each status its table refuses it from, each field of a body (and the
  list's `status` filter), a short balance where 402 is documented, malformed JSON where there is a body;
- the faults a rule can inject into each operation: a status, latency, a dropped connection.

`coverage_report` holds a `shared.coverage.Tally` against that list. Counts outside it are reported too, marked
undocumented (a 503 a fault answered, a HEAD, a jump between two statuses), and never enter the summary.
"""

from __future__ import annotations

import math

from mockvps.control.schemas import (
    CoverageReport,
    CoverageSummary,
    FaultCoverage,
    OperationCoverage,
    RefusalCoverage,
    SectionSummary,
    StatusCoverage,
    TransitionCoverage,
)
from mockvps.lifecycle import ACTIONS, SETTLES, Action, ServerStatus
from mockvps.public.document import documented_statuses
from mockvps.public.operations import OPERATIONS, Operation
from mockvps.shared.coverage import FaultKind, Tally

__all__ = [
    "FAULT_KINDS",
    "TRANSITIONS",
    "coverage_report",
    "documented_refusals",
    "fault_hint",
    "percent",
    "refusal_hint",
    "status_hint",
    "summary_of",
    "transition_hint",
]

_ORDER = {status: index for index, status in enumerate(ServerStatus)}
TRANSITIONS: tuple[tuple[ServerStatus, ServerStatus], ...] = tuple(
    sorted(
        {(before, after) for rule in ACTIONS.values() for before, after in rule.moves.items()}
        | {(before, after) for before, (after, _) in SETTLES.items()},
        key=lambda pair: (_ORDER[pair[0]], _ORDER[pair[1]]),
    )
)
"""Every move of the lifecycle's tables, in the order of the statuses."""
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "latency", "drop")

_BY_REQUEST: dict[tuple[str, str | None], Operation] = {(op.method, op.path): op for op in OPERATIONS}
_PATHS = {op.path for op in OPERATIONS}
_SERVER = '"name": "web", "plan_id": 1, "os_id": 5, "location": "us-west"'
_BAD = {
    "name": '"name": "no spaces"',
    "plan_id": '"plan_id": 999',
    "os_id": '"os_id": 999',
    "location": '"location": "nowhere"',
    "hostname": '"hostname": "not a hostname"',
    "ssh_key_id": '"ssh_key_id": 999',
    "backups_enabled": '"backups_enabled": "yes"',
}
_TRANSIENT = frozenset(SETTLES)


def coverage_report(tally: Tally, account: str | None = None) -> CoverageReport:
    """The report on `tally`: the counts of `account`, or of the whole mock (None). An account's report leaves
    out 401, which no account's request meets (a request that names no valid token names no account)."""
    operations = _operations(tally, without_401=account is not None)
    transitions, refusals, faults = _transitions(tally), _refusals(tally), _faults(tally)
    return CoverageReport(
        account=account,
        operations=operations,
        transitions=transitions,
        refusals=refusals,
        faults=faults,
        summary=summary_of(operations, transitions, refusals, faults),
    )


def summary_of(
    operations: list[OperationCoverage],
    transitions: list[TransitionCoverage],
    refusals: list[RefusalCoverage],
    faults: list[FaultCoverage],
) -> CoverageSummary:
    """How many documented behaviours there are, and how many of them were seen, by section and in all."""
    statuses = [s for row in operations for s in row.statuses.values()]
    sections = {
        name: SectionSummary(
            documented=sum(1 for e in entries if e.documented),
            seen=sum(1 for e in entries if e.documented and e.seen),
        )
        for name, entries in (
            ("statuses", statuses),
            ("transitions", transitions),
            ("refusals", refusals),
            ("faults", faults),
        )
    }
    documented = sum(s.documented for s in sections.values())
    seen = sum(s.seen for s in sections.values())
    return CoverageSummary(documented=documented, seen=seen, percent=percent(seen, documented), **sections)


def percent(seen: int, documented: int) -> float:
    """seen / documented in percent, rounded down to one decimal: a share shown never passes a bar it misses."""
    return math.floor(1000 * seen / documented) / 10 if documented else 100.0


# -- operations x statuses --------------------------------------------------------------------------------------


def _operations(tally: Tally, *, without_401: bool) -> list[OperationCoverage]:
    wrong_method: dict[str, int] = {}
    by_request: dict[tuple[str, str | None], dict[int, int]] = {}
    for (method, path, status), count in tally.answers.items():
        if status == 405 and path in _PATHS:  # a wrong method on a path counts for each operation of the path
            assert path is not None
            wrong_method[path] = wrong_method.get(path, 0) + count
        else:
            by_request.setdefault((method, path), {})[status] = count
    rows = []
    for op in OPERATIONS:
        answered = by_request.pop((op.method, op.path), {})
        statuses: dict[int, StatusCoverage] = {}
        for code in documented_statuses(op):
            if code == 401 and without_401:
                continue
            seen = wrong_method.get(op.path, 0) if code == 405 else answered.pop(code, 0)
            statuses[code] = StatusCoverage(documented=True, seen=seen, hint=None if seen else status_hint(op, code))
        for code, seen in answered.items():
            statuses[code] = StatusCoverage(documented=False, seen=seen)
        rows.append(_row(op.operation_id, op.method, op.path, statuses))
    for (method, path), answered in sorted(by_request.items(), key=lambda item: (item[0][1] or "", item[0][0])):
        rows.append(
            _row(None, method, path, {code: StatusCoverage(documented=False, seen=n) for code, n in answered.items()})
        )
    return rows


def _row(
    operation: str | None, method: str, path: str | None, statuses: dict[int, StatusCoverage]
) -> OperationCoverage:
    ordered = {str(code): statuses[code] for code in sorted(statuses)}
    return OperationCoverage(operation=operation, method=method, path=path, statuses=ordered)


# -- transitions ------------------------------------------------------------------------------------------------


def _transitions(tally: Tally) -> list[TransitionCoverage]:
    seen = dict(tally.transitions)
    rows = []
    for before, after in TRANSITIONS:
        count = seen.pop((before, after), 0)
        hint = None if count else transition_hint(before, after)
        rows.append(TransitionCoverage(from_=before, to=after, documented=True, seen=count, hint=hint))
    for (before, after), count in sorted(seen.items(), key=lambda item: (_ORDER[item[0][0]], _ORDER[item[0][1]])):
        rows.append(TransitionCoverage(from_=before, to=after, documented=False, seen=count))
    return rows


# -- refusals ---------------------------------------------------------------------------------------------------


def documented_refusals(op: Operation) -> list[tuple[str, str | None]]:
    """The refusals an operation documents, as (kind, subject): the subject is a status or a field's name."""
    refusals: list[tuple[str, str | None]] = []
    action = _action_of(op)
    if action is not None:
        moves = ACTIONS[action].moves
        refusals += [("lifecycle", status.value) for status in ServerStatus if status not in moves]
    if op.body is not None:
        refusals += [("field", name) for name in [*op.body.model_fields, "non_field_errors"]]
    refusals += [("field", q.name) for q in op.query if "$ref" in q.schema]  # a choice can be refused, text not
    if 402 in op.errors:
        refusals.append(("insufficient_balance", None))
    if op.body is not None:
        refusals.append(("malformed_json", None))
    return refusals


def _action_of(op: Operation) -> Action | None:
    """The lifecycle action an operation is (POST .../start/ is start), if any."""
    try:
        return Action(op.path.rstrip("/").rpartition("/")[2]) if op.method == "POST" else None
    except ValueError:
        return None


def _refusals(tally: Tally) -> list[RefusalCoverage]:
    seen = dict(tally.refusals)
    rows = []
    for op in OPERATIONS:
        for kind, subject in documented_refusals(op):
            count = seen.pop((op.method, op.path, kind, subject), 0)
            hint = None if count else refusal_hint(op, kind, subject)
            rows.append(_refusal(op.operation_id, op.method, op.path, kind, subject, True, count, hint))
    for (method, path, kind, subject), count in sorted(seen.items(), key=lambda i: tuple(str(k) for k in i[0])):
        rows.append(_refusal(_operation_id(method, path), method, path, kind, subject, False, count, None))
    return rows


def _refusal(
    operation: str | None,
    method: str,
    path: str | None,
    kind: str,
    subject: str | None,
    documented: bool,
    seen: int,
    hint: str | None,
) -> RefusalCoverage:
    status = ServerStatus(subject) if kind == "lifecycle" and subject else None
    field = subject if kind == "field" else None
    return RefusalCoverage(
        operation=operation,
        method=method,
        path=path,
        kind=kind,
        status=status,
        field=field,
        documented=documented,
        seen=seen,
        hint=hint,
    )


# -- faults -----------------------------------------------------------------------------------------------------


def _faults(tally: Tally) -> list[FaultCoverage]:
    seen = dict(tally.faults)
    rows = []
    for op in OPERATIONS:
        for kind in FAULT_KINDS:
            count = seen.pop((op.method, op.path, kind), 0)
            hint = None if count else fault_hint(op, kind)
            rows.append(_fault(op.operation_id, op.method, op.path, kind, True, count, hint))
    for (method, path, kind), count in sorted(seen.items(), key=lambda i: tuple(str(k) for k in i[0])):
        rows.append(_fault(_operation_id(method, path), method, path, kind, False, count, None))
    return rows


def _fault(
    operation: str | None, method: str, path: str | None, kind: FaultKind, documented: bool, seen: int, hint: str | None
) -> FaultCoverage:
    return FaultCoverage(
        operation=operation, method=method, path=path, kind=kind, documented=documented, seen=seen, hint=hint
    )


def _operation_id(method: str, path: str | None) -> str | None:
    known = _BY_REQUEST.get((method, path))
    return known.operation_id if known is not None else None


# -- hints: how to provoke each behaviour with what the mock offers ---------------------------------------------


def _seed(status: ServerStatus | str) -> str:
    """How a test gets a server in a status: the plugin's marker, or the control call (`...`: the server's name,
    plan_id, os_id and location)."""
    status = ServerStatus(status)
    mode = 'mode="manual", ' if status in _TRANSIENT else ""  # manual: a transient status stays until advanced
    article = "an" if status.value[0] in "aeiou" else "a"
    return (
        f'seed {article} {status.value} server (`@pytest.mark.mockvps({mode}servers=[{{..., "status": '
        f'"{status.value}"}}])`; POST /_mockvps/accounts/{{name}}/servers)'
    )


def _refused_from(action: Action) -> ServerStatus:
    """A stable status the action is refused from (a test need not hold a transient one)."""
    moves = ACTIONS[action].moves
    stable = (ServerStatus.ACTIVE, ServerStatus.STOPPED, ServerStatus.SUSPENDED)
    return next(status for status in [*stable, *list(ServerStatus)] if status not in moves)


def _allowed_from(action: Action) -> ServerStatus:
    return next(iter(ACTIONS[action].moves))


_BALANCE = (
    'create a server on an account whose balance is below the plan\'s price (`@pytest.mark.mockvps(balance="0")`, '
    'or PATCH /_mockvps/accounts/{name} {"balance": "0"})'
)
_OK = {
    "listServers": "GET /api/v1/servers/ with the account's token",
    "createServer": f"POST /api/v1/servers/ {{{_SERVER}}}",
    "getServer": "GET /api/v1/servers/{server_id}/ of a server of the account (one it created, or a seeded one)",
    "replaceServer": 'PUT /api/v1/servers/{server_id}/ {"name": "web", "hostname": null, "backups_enabled": true}',
    "updateServer": 'PATCH /api/v1/servers/{server_id}/ {"name": "renamed"}',
    "deleteServer": "DELETE /api/v1/servers/{server_id}/ of a server of the account",
    "getAccountMe": "GET /api/v1/account/me/ with any of the account's tokens",
}
_BAD_REQUEST = {
    "listServers": "GET /api/v1/servers/?status=unknown",
    "createServer": 'POST /api/v1/servers/ without `name`: {"plan_id": 1, "os_id": 5, "location": "us-west"}',
    "replaceServer": 'PUT /api/v1/servers/{server_id}/ without `backups_enabled`: {"name": "web", "hostname": null}',
    "updateServer": 'PATCH /api/v1/servers/{server_id}/ {"name": ""}',
}


def status_hint(op: Operation, code: int) -> str:
    """How to make `op` answer `code`."""
    action = _action_of(op)
    if code == op.ok:
        if action is not None:
            status = _allowed_from(action)
            return f"{_seed(status)}, then {action.value} it: {op.method} {op.path}"
        return _OK.get(op.operation_id, f"{op.method} {op.path} as the documentation shows it")
    if code == 400 and action is not None:
        return f"{_seed(_refused_from(action))}, then {action.value} it: {op.method} {op.path} (refused)"
    if code == 400 and op.operation_id in _BAD_REQUEST:
        return _BAD_REQUEST[op.operation_id]
    if code == 301:
        return f"{op.method} {op.path.rstrip('/')} (no trailing slash) without following redirects"
    if code == 401:
        return f"{op.method} {op.path} without `Authorization`, or with `Authorization: Bearer wrong-token`"
    if code == 402:
        return _BALANCE
    if code == 403:
        held, lacking = (
            ("[]", "servers:read") if op.method in ("GET", "HEAD") else ('["servers:read"]', "servers:write")
        )
        return (
            f"{op.method} {op.path} with a token without `{lacking}` (`@pytest.mark.mockvps(permissions={held})`, "
            f'or POST /_mockvps/accounts/{{name}}/tokens {{"permissions": {held}}})'
        )
    if code == 404:
        valid = " with a valid body" if op.body is not None and op.body_required else ""  # a body is judged first
        return f"{op.method} {op.path.replace('{server_id}', '999999')}{valid} (no server 999999 in the account)"
    if code == 405:
        allowed = {o.method for o in OPERATIONS if o.path == op.path}
        wrong = next(m for m in ("PUT", "POST", "GET") if m not in allowed)
        return f"{wrong} {op.path} (a method the path does not allow)"
    if code == 413:
        return f"{op.method} {op.path} with a body over 1 MiB (MOCKVPS_MAX_BODY_SIZE)"
    if code == 415:
        return f"{op.method} {op.path} with a body and `Content-Type: text/plain`"
    rule = f'operation="{op.operation_id}", status={code}, times=1'
    return f"make the mock answer it: `mockvps.control.add_fault({rule})` (or POST /_mockvps/faults)"


def transition_hint(before: ServerStatus, after: ServerStatus) -> str:
    """How to make a client see a server go from `before` to `after`."""
    later = 'read it after the delay (`mockvps.control.advance(300)`, or `mode="immediate"`)'
    for operator in (Action.SUSPEND, Action.UNSUSPEND):
        if ACTIONS[operator].moves.get(before) is after:
            call = f"`mockvps.control.{operator.value}(server_id)`; POST .../servers/{{server_id}}/{operator.value}"
            return f"{_seed(before)}, read it, {operator.value} it ({call}), read it again"
    if before is ServerStatus.PROVISIONING:
        return f"create a server (the answer shows provisioning), then {later}"
    for action, rule in ACTIONS.items():
        if rule.moves.get(before) is after:  # a client's action: its answer shows where it leads
            return f"{_seed(before)}, read it, then {action.value} it: the answer shows {after.value}"
    for action, rule in ACTIONS.items():
        for origin, target in rule.moves.items():
            if target is before:  # the status passes by itself: an action's answer shows it, a later read the next
                return f"{_seed(origin)}, {action.value} it (the answer shows {before.value}), then {later}"
    return f"show a client the server in {before.value}, then in {after.value}"


def refusal_hint(op: Operation, kind: str, subject: str | None) -> str:
    """How to make `op` refuse a request for this reason."""
    action = _action_of(op)
    if kind == "lifecycle" and action is not None and subject is not None:
        return f"{_seed(subject)}, then {action.value} it: {op.method} {op.path}"
    if kind == "field" and subject == "non_field_errors":
        return f"{op.method} {op.path} with a JSON array as the body: `[]`"
    if kind == "field" and op.body is None:
        return f"{op.method} {op.path}?{subject}=unknown"
    if kind == "field" and subject is not None and op.method == "PUT":
        return f"{op.method} {op.path} without `{subject}` (every field is required)"
    if kind == "field" and subject in _BAD and op.method == "PATCH":
        return f"{op.method} {op.path} {{{_BAD[subject]}}}"
    if kind == "field" and subject in _BAD:
        return f"{op.method} {op.path} with {_BAD[subject]} (the other fields as they should be)"
    if kind == "insufficient_balance":
        return _BALANCE
    if kind == "malformed_json":
        return f"{op.method} {op.path} with the body `{{` and `Content-Type: application/json`"
    return f"{op.method} {op.path} so that it refuses it ({kind} {subject or ''})".rstrip()


def fault_hint(op: Operation, kind: str) -> str:
    """How to inject a fault of this kind into `op`."""
    rule = {"status": "status=503", "latency": "latency_ms=50", "drop": "drop=True"}[kind]
    return (
        f'`mockvps.control.add_fault(operation="{op.operation_id}", {rule}, times=1)` (or POST /_mockvps/faults), '
        f"then {op.method} {op.path}"
    )
