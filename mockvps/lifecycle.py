"""A server's lifecycle, as data.

Two tables say everything: `ACTIONS` (what an action does from each status it is allowed in, and why it is
refused from the others) and `SETTLES` (which statuses pass by themselves, after which delay). `settle`
derives a server's status at any moment from (status, since, now); nothing runs in the background.

A `Lifecycle` holds the two tables a backend follows: `LIFECYCLE`, these, unless a backend is given others
(the contract suite's self-test builds deliberately wrong ones). `apply` and `settle` follow `LIFECYCLE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "ACTIONS",
    "LIFECYCLE",
    "MAX_DELAY",
    "RUNNING",
    "SETTLES",
    "Action",
    "ActionRule",
    "DelayKind",
    "Delays",
    "Lifecycle",
    "ServerStatus",
    "TransitionMode",
    "apply",
    "settle",
]


class ServerStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"
    REBOOTING = "rebooting"
    SUSPENDED = "suspended"


class Action(StrEnum):
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    SUSPEND = "suspend"  # operator only: not in the public API
    UNSUSPEND = "unsuspend"  # operator only


class TransitionMode(StrEnum):
    """How an account's servers leave transient statuses."""

    TIMED = "timed"  # after the configured delays (the default)
    IMMEDIATE = "immediate"  # at once: every delay is zero
    MANUAL = "manual"  # only when an operator advances the server


class DelayKind(StrEnum):
    PROVISIONING = "provisioning"
    ACTION = "action"


@dataclass(frozen=True, slots=True)
class Delays:
    provisioning: timedelta = timedelta(seconds=3)
    action: timedelta = timedelta(seconds=1)

    def of(self, kind: DelayKind) -> timedelta:
        return self.provisioning if kind is DelayKind.PROVISIONING else self.action


MAX_DELAY = timedelta(days=365)
"""The longest a transition may be set to take."""

_S = ServerStatus  # the tables below read better with a short name


@dataclass(frozen=True, slots=True)
class ActionRule:
    moves: dict[ServerStatus, ServerStatus]
    """From each allowed status, the status the action leads to."""
    refusals: dict[ServerStatus, str]
    """Why the action is refused from a status it does not allow; `otherwise` for the rest."""
    otherwise: str
    message: str
    """What the public API says when the action is accepted."""


ACTIONS: dict[Action, ActionRule] = {
    Action.START: ActionRule(
        moves={_S.STOPPED: _S.STARTING},
        refusals={
            _S.ACTIVE: "Server is already running.",
            _S.REBOOTING: "Server is already running.",
            _S.STARTING: "Server is already starting.",
            _S.STOPPING: "Server is stopping; start it once it has stopped.",
            _S.PROVISIONING: "Server is still being provisioned.",
            _S.SUSPENDED: "Server is suspended.",
        },
        otherwise="Server cannot be started now.",
        message="Server is starting",
    ),
    Action.STOP: ActionRule(
        moves={_S.ACTIVE: _S.STOPPING},
        refusals={
            _S.STOPPED: "Server is already stopped.",
            _S.STOPPING: "Server is already stopping.",
            _S.STARTING: "Server is starting; stop it once it is active.",
            _S.REBOOTING: "Server is rebooting; stop it once it is active.",
            _S.PROVISIONING: "Server is still being provisioned.",
            _S.SUSPENDED: "Server is suspended.",
        },
        otherwise="Server cannot be stopped now.",
        message="Server is stopping",
    ),
    Action.REBOOT: ActionRule(
        moves={_S.ACTIVE: _S.REBOOTING},
        refusals={},
        otherwise="Server is not active.",
        message="Server is rebooting",
    ),
    Action.SUSPEND: ActionRule(
        moves={status: _S.SUSPENDED for status in _S if status is not _S.SUSPENDED},
        refusals={_S.SUSPENDED: "Server is already suspended."},
        otherwise="Server cannot be suspended now.",
        message="Server is suspended",
    ),
    Action.UNSUSPEND: ActionRule(
        moves={_S.SUSPENDED: _S.STOPPED},
        refusals={},
        otherwise="Server is not suspended.",
        message="Server is unsuspended",
    ),
}

SETTLES: dict[ServerStatus, tuple[ServerStatus, DelayKind]] = {
    _S.PROVISIONING: (_S.ACTIVE, DelayKind.PROVISIONING),
    _S.STOPPING: (_S.STOPPED, DelayKind.ACTION),
    _S.STARTING: (_S.ACTIVE, DelayKind.ACTION),
    _S.REBOOTING: (_S.ACTIVE, DelayKind.ACTION),
}

RUNNING: frozenset[ServerStatus] = frozenset({_S.ACTIVE, _S.STOPPING, _S.REBOOTING})
"""Statuses in which the machine is up and uses CPU and memory."""


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The tables a backend follows (`Backend(..., lifecycle=...)`); by default this module's own."""

    actions: Mapping[Action, ActionRule] = field(default_factory=lambda: ACTIONS)
    settles: Mapping[ServerStatus, tuple[ServerStatus, DelayKind]] = field(default_factory=lambda: SETTLES)
    """Which statuses pass by themselves: into which status, after which kind of delay."""

    def apply(self, action: Action, status: ServerStatus) -> ServerStatus:
        """The status `action` leads to from `status`; raises `ValueError` with the refusal otherwise."""
        rule = self.actions[action]
        target = rule.moves.get(status)
        if target is None:
            raise ValueError(rule.refusals.get(status, rule.otherwise))
        return target

    def settle(
        self, status: ServerStatus, since: datetime, now: datetime, delays: Delays
    ) -> tuple[ServerStatus, datetime]:
        """Where a server that entered `status` at `since` stands at `now`: its status and when it began."""
        settles = self.settles
        while status in settles:
            target, kind = settles[status]
            due = since + delays.of(kind)
            if now < due:
                break
            status, since = target, due
        return status, since


LIFECYCLE = Lifecycle()
"""The lifecycle of the documentation, as the two tables above say it."""


def apply(action: Action, status: ServerStatus) -> ServerStatus:
    """The status `action` leads to from `status` in `LIFECYCLE`; raises `ValueError` with the refusal otherwise."""
    return LIFECYCLE.apply(action, status)


def settle(status: ServerStatus, since: datetime, now: datetime, delays: Delays) -> tuple[ServerStatus, datetime]:
    """Where a server that entered `status` at `since` stands at `now` in `LIFECYCLE`."""
    return LIFECYCLE.settle(status, since, now, delays)
