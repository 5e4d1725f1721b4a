from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockvps.lifecycle import (
    ACTIONS,
    LIFECYCLE,
    SETTLES,
    Action,
    ActionRule,
    DelayKind,
    Delays,
    Lifecycle,
    ServerStatus,
    apply,
    settle,
)

S = ServerStatus
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DELAYS = Delays(provisioning=timedelta(seconds=120), action=timedelta(seconds=10))

# The contract's table, written out independently of the module's own tables.
ALLOWED: dict[tuple[Action, ServerStatus], ServerStatus] = {
    (Action.STOP, S.ACTIVE): S.STOPPING,
    (Action.START, S.STOPPED): S.STARTING,
    (Action.REBOOT, S.ACTIVE): S.REBOOTING,
    (Action.UNSUSPEND, S.SUSPENDED): S.STOPPED,
    **{(Action.SUSPEND, s): S.SUSPENDED for s in S if s is not S.SUSPENDED},
}
EVERY_MOVE = [(action, status) for action in Action for status in S]


@pytest.mark.parametrize(("action", "status"), EVERY_MOVE, ids=lambda v: str(v))
def test_every_action_from_every_status_is_allowed_or_refused_as_the_contract_says(
    action: Action, status: ServerStatus
) -> None:
    if (action, status) in ALLOWED:
        assert apply(action, status) is ALLOWED[(action, status)]
    else:
        with pytest.raises(ValueError) as refusal:
            apply(action, status)
        assert str(refusal.value).endswith(".")


def test_refusals_say_why_in_the_documentation_s_words() -> None:
    with pytest.raises(ValueError, match=r"^Server is already running\.$"):
        apply(Action.START, S.ACTIVE)
    with pytest.raises(ValueError, match=r"^Server is not active\.$"):
        apply(Action.REBOOT, S.STOPPED)
    with pytest.raises(ValueError, match=r"^Server is already stopped\.$"):
        apply(Action.STOP, S.STOPPED)


def test_public_actions_carry_the_documented_messages() -> None:
    assert ACTIONS[Action.START].message == "Server is starting"
    assert ACTIONS[Action.STOP].message == "Server is stopping"
    assert ACTIONS[Action.REBOOT].message == "Server is rebooting"


@pytest.mark.parametrize(
    ("status", "target", "delay"),
    [
        (S.PROVISIONING, S.ACTIVE, DELAYS.provisioning),
        (S.STOPPING, S.STOPPED, DELAYS.action),
        (S.STARTING, S.ACTIVE, DELAYS.action),
        (S.REBOOTING, S.ACTIVE, DELAYS.action),
    ],
)
def test_transient_status_settles_exactly_when_its_delay_has_passed(
    status: ServerStatus, target: ServerStatus, delay: timedelta
) -> None:
    just_before = T0 + delay - timedelta(microseconds=1)
    assert settle(status, T0, just_before, DELAYS) == (status, T0)
    assert settle(status, T0, T0 + delay, DELAYS) == (target, T0 + delay)
    assert settle(status, T0, T0 + delay * 50, DELAYS) == (target, T0 + delay)


@pytest.mark.parametrize("status", [S.ACTIVE, S.STOPPED, S.SUSPENDED])
def test_stable_status_never_moves_by_itself(status: ServerStatus) -> None:
    assert status not in SETTLES
    assert settle(status, T0, T0 + timedelta(days=365), DELAYS) == (status, T0)


def test_zero_delays_make_every_transition_immediate() -> None:
    zero = Delays(provisioning=timedelta(0), action=timedelta(0))
    for status in SETTLES:
        settled, since = settle(status, T0, T0, zero)
        assert settled in (S.ACTIVE, S.STOPPED)
        assert since == T0


def test_a_clock_that_went_backwards_leaves_status_alone() -> None:
    assert settle(S.PROVISIONING, T0, T0 - timedelta(hours=1), DELAYS) == (S.PROVISIONING, T0)


def test_the_default_lifecycle_is_the_module_s_tables() -> None:
    assert LIFECYCLE == Lifecycle() == Lifecycle(ACTIONS, SETTLES)
    assert LIFECYCLE.actions is ACTIONS and LIFECYCLE.settles is SETTLES


def test_a_lifecycle_with_other_tables_follows_them_and_leaves_the_module_s_alone() -> None:
    rule = ACTIONS[Action.START]
    looser = ActionRule({**rule.moves, S.ACTIVE: S.STARTING}, rule.refusals, rule.otherwise, rule.message)
    other = Lifecycle(
        actions={**ACTIONS, Action.START: looser}, settles={**SETTLES, S.STOPPING: (S.ACTIVE, DelayKind.ACTION)}
    )
    assert other.apply(Action.START, S.ACTIVE) is S.STARTING
    assert other.settle(S.STOPPING, T0, T0 + DELAYS.action, DELAYS) == (S.ACTIVE, T0 + DELAYS.action)
    with pytest.raises(ValueError, match="already running"):
        apply(Action.START, S.ACTIVE)
    assert settle(S.STOPPING, T0, T0 + DELAYS.action, DELAYS) == (S.STOPPED, T0 + DELAYS.action)
