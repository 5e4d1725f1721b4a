"""Snapshots: what export writes, restore reads back; anything wrong is refused naming its exact place."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from mockvps.backend import Backend
from mockvps.clock import VirtualClock
from mockvps.errors import ConfigurationError
from mockvps.persistence.snapshot import export_state, restore_state
from mockvps.settings import DEFAULT_TOKEN, Settings

Snapshot = dict[str, Any]


@pytest.fixture
def source(clock: VirtualClock) -> Backend:
    return Settings().backend(clock)


def restore(snapshot: object, source: Backend) -> Backend:
    return restore_state(snapshot, source.catalog, source.clock.base, source.delays, source.limits)


def account(s: Snapshot) -> dict[str, Any]:
    return dict(s["accounts"][0])


def test_restore_reads_back_what_export_writes(source: Backend) -> None:
    source.advance_clock(None, 90)
    source.freeze_clock(source.accounts["default"])
    snapshot = export_state(source)
    assert export_state(restore(copy.deepcopy(snapshot), source)) == snapshot


def test_left_out_times_are_the_creation_s_and_ids_continue_above_the_highest(source: Backend) -> None:
    snapshot = export_state(source)
    first = snapshot["accounts"][0]["servers"][0]
    del first["since"], first["updated_at"]
    snapshot["accounts"][0]["next_id"] = 5
    restored = restore(snapshot, source).accounts["default"]
    example = restored.servers[12345]
    assert example.since == example.updated_at == example.created_at
    assert restored.next_id == 12347


def test_tokens_may_be_given_in_clear(source: Backend) -> None:
    snapshot = export_state(source)
    snapshot["accounts"][0].update(tokens=["in-clear"], token_sha256=[])
    assert restore(snapshot, source).account_for_token("in-clear") is not None


def spoiled(change: Callable[[Snapshot], object]) -> Callable[[Snapshot], Snapshot]:
    def apply(snapshot: Snapshot) -> Snapshot:
        change(snapshot)
        return snapshot

    return apply


def on_account(**fields: object) -> Callable[[Snapshot], Snapshot]:
    return spoiled(lambda s: s["accounts"][0].update(fields))


def on_server(**fields: object) -> Callable[[Snapshot], Snapshot]:
    return spoiled(lambda s: s["accounts"][0]["servers"][0].update(fields))


def without(*path: str | int) -> Callable[[Snapshot], Snapshot]:
    def change(s: Snapshot) -> None:
        holder: Any = s
        for step in path[:-1]:
            holder = holder[step]
        del holder[path[-1]]

    return spoiled(change)


STATUSES = "'provisioning', 'active', 'stopping', 'stopped', 'starting', 'rebooting' or 'suspended'"
SERVER = "snapshot.accounts[0].servers[0]"


@pytest.mark.parametrize(
    ("spoil", "complaint"),
    [
        (lambda s: [s], "snapshot: expected an object"),
        (without("version"), "snapshot.version: required"),
        (spoiled(lambda s: s.update(version=99)), "snapshot.version: expected 1"),
        (spoiled(lambda s: s.update(version=True)), "snapshot.version: expected an integer"),
        (spoiled(lambda s: s.update(version="1")), "snapshot.version: expected an integer"),
        (without("accounts"), "snapshot.accounts: required"),
        (spoiled(lambda s: s.update(accounts={})), "snapshot.accounts: expected a list"),
        (spoiled(lambda s: s.update(clock=5)), "snapshot.clock: expected an object"),
        (spoiled(lambda s: s["clock"].update(offset_seconds=-4e9)),
         "snapshot.clock.offset_seconds: expected a number >= -3155760000"),
        (spoiled(lambda s: s["clock"].update(offset_seconds="5")), "snapshot.clock.offset_seconds: expected a number"),
        (spoiled(lambda s: s["clock"].update(offset_seconds=True)), "snapshot.clock.offset_seconds: expected a number"),
        (spoiled(lambda s: s["clock"].update(offset_seconds=1e20)),
         "snapshot.clock.offset_seconds: expected a number <= 3155760000"),
        (spoiled(lambda s: s["clock"].update(frozen_at="9999-12-31T23:59:59Z")),
         "snapshot.clock.frozen_at: expected a time from 1970 to 5000"),
        (spoiled(lambda s: s["accounts"][0]["servers"][0].update(id=2**63)),
         "snapshot.accounts[0].servers[0].id: expected a number <= 9007199254740991"),
        (spoiled(lambda s: s["accounts"][0].update(balance="1e9999999999")),
         "snapshot.accounts[0].balance: expected a number <= 1000000000000"),
        (spoiled(lambda s: s["clock"].update(frozen_at="2025-01-01T00:00:00")),
         "snapshot.clock.frozen_at: expected an ISO 8601 time with a time zone"),
        (spoiled(lambda s: s.update(surprise=1)), "snapshot.surprise: unknown key"),
        (without("accounts", 0, "name"), "snapshot.accounts[0].name: required"),
        (on_account(name=7), "snapshot.accounts[0].name: expected a string"),
        (on_account(tokens=[""]), "snapshot.accounts[0].tokens[0]: expected a non-empty string"),
        (on_account(token_sha256=["zz"]), "snapshot.accounts[0].token_sha256[0]: expected a hex SHA-256 digest"),
        (on_account(token_sha256=["ab"]), "snapshot.accounts[0].token_sha256[0]: expected a hex SHA-256 digest"),
        (on_account(token_sha256=[5]), "snapshot.accounts[0].token_sha256[0]: expected a string or an object"),
        (on_account(token_sha256=[{"sha256": "zz"}]),
         "snapshot.accounts[0].token_sha256[0].sha256: expected a hex SHA-256 digest"),
        (on_account(token_sha256=[{"sha256": "ab" * 32, "permissions": ["servers:read", "all"]}]),
         "snapshot.accounts[0].token_sha256[0].permissions[1]: expected a permission <resource>:<action> "
         "(servers:read, servers:write, servers:*, *:*)"),
        (on_account(token_sha256=[{"sha256": "ab" * 32, "name": ""}]),
         "snapshot.accounts[0].token_sha256[0].name: expected a non-empty string"),
        (on_account(tokens=[{"token": "t", "colour": "red"}]), "snapshot.accounts[0].tokens[0].colour: unknown key"),
        (on_account(profile={"created_at": "2024-13-01"}),
         "snapshot.accounts[0].profile.created_at: expected a date as YYYY-MM-DD"),
        (on_account(profile={"email": "x" * 251 + "@a.b"}),
         "snapshot.accounts[0].profile.email: expected at most 254 characters"),
        (on_account(balance=5), "snapshot.accounts[0].balance: expected a decimal number as a string"),
        (on_account(balance="lots"), "snapshot.accounts[0].balance: expected a decimal number"),
        (on_account(balance="-1"), "snapshot.accounts[0].balance: expected a non-negative number"),
        (on_account(balance="NaN"), "snapshot.accounts[0].balance: expected a finite number"),
        (on_account(ssh_keys=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]),
         "snapshot.accounts[0].ssh_keys: expected keys with distinct ids (1 appears twice)"),
        (on_account(mode="fast"), "snapshot.accounts[0].mode: expected 'timed', 'immediate' or 'manual'"),
        (on_account(delays={"provisioning": True, "action": 1}),
         "snapshot.accounts[0].delays.provisioning: expected a number"),
        (on_account(delays={"provisioning": 1}), "snapshot.accounts[0].delays.action: required"),
        (on_account(delays={"provisioning": 1, "action": -0.5}),
         "snapshot.accounts[0].delays.action: expected a non-negative number"),
        (on_account(catalog={"plans": []}),
         "snapshot.accounts[0].catalog: plans: expected a non-empty list of objects"),
        (on_account(next_id=0), "snapshot.accounts[0].next_id: expected a number >= 1"),
        (on_account(next_id=None), "snapshot.accounts[0].next_id: expected an integer"),
        (on_account(next_outcome="explode"), "snapshot.accounts[0].next_outcome: expected 'fail' or 'hang'"),
        (on_account(servers=None), "snapshot.accounts[0].servers: expected a list"),
        (without("accounts", 0, "servers", 0, "name"), f"{SERVER}.name: required"),
        (on_server(id="12345"), f"{SERVER}.id: expected an integer"),
        (on_server(id=0), f"{SERVER}.id: expected a number >= 1"),
        (on_server(plan_id=True), f"{SERVER}.plan_id: expected an integer"),
        (on_server(status="broken"), f"{SERVER}.status: expected {STATUSES}"),
        (on_server(backups_enabled=1), f"{SERVER}.backups_enabled: expected true or false"),
        (on_server(created_at="yesterday"), f"{SERVER}.created_at: expected an ISO 8601 time"),
        (on_server(since=None), f"{SERVER}.since: expected a string"),
        (on_server(usage={"cpu_percent": 1, "memory_used": -1, "disk_used": 1, "bandwidth_used": 1}),
         f"{SERVER}.usage.memory_used: expected a non-negative number"),
        (on_server(outcome="explode"), f"{SERVER}.outcome: expected 'fail' or 'hang'"),
        (on_server(colour="red"), f"{SERVER}.colour: unknown key"),
        (on_server(plan_id=99), f"{SERVER}.plan_id: expected a plan of the catalog"),
        (on_server(os_id=99), f"{SERVER}.os_id: expected an OS image of the catalog"),
        (on_server(location="mars"), f"{SERVER}.location: expected a location of the catalog"),
        (on_server(id=12346), "snapshot.accounts[0].servers[1].id: 12346 appears twice"),
        (spoiled(lambda s: s["accounts"].append(account(s))),
         "snapshot.accounts[1]: account 'default' is defined twice"),
    ],
)  # fmt: skip
def test_a_bad_snapshot_is_refused_naming_the_place(
    source: Backend, spoil: Callable[[Snapshot], object], complaint: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        restore(spoil(export_state(source)), source)
    assert refused.value.detail == complaint


def test_the_first_thing_wrong_is_named(source: Backend) -> None:
    snapshot = export_state(source)
    snapshot["accounts"][0]["servers"][1]["status"] = "broken"
    snapshot["accounts"][0]["servers"][0]["created_at"] = "yesterday"
    with pytest.raises(ConfigurationError, match=r"^snapshot\.accounts\[0\]\.servers\[0\]\.created_at: "):
        restore(snapshot, source)


def test_restored_delays_and_clocks_are_durations(source: Backend) -> None:
    snapshot = export_state(source)
    snapshot["accounts"][0].update(delays={"provisioning": 2, "action": 0.5})
    snapshot["clock"] = {"offset_seconds": 60, "frozen_at": None}
    restored = restore(snapshot, source)
    assert restored.accounts["default"].delays is not None
    assert restored.accounts["default"].delays.action == timedelta(seconds=0.5)
    assert restored.clock.offset == timedelta(seconds=60)


def test_a_clock_frozen_then_let_run_again_survives_a_round_trip(source: Backend, clock: VirtualClock) -> None:
    source.clock.freeze()
    clock.advance(600)  # frozen for ten minutes: the offset that makes up for it is negative
    source.clock.unfreeze()
    assert source.clock.offset.total_seconds() == -600
    restored = restore(export_state(source), source)
    assert restored.clock.offset == source.clock.offset
    assert restored.clock.now() == source.clock.now()


def test_token_digests_are_salted_per_state(clock: VirtualClock) -> None:
    first, second = Settings().backend(clock), Settings().backend(clock)
    plain = hashlib.sha256(DEFAULT_TOKEN.encode()).hexdigest()
    exported = [export_state(b) for b in (first, second)]
    digests = [e["accounts"][0]["token_sha256"][0] for e in exported]
    assert plain not in digests  # no table of plain SHA-256 digests reverses them
    assert digests[0] != digests[1] and exported[0]["token_salt"] != exported[1]["token_salt"]
    assert digests[0] == hashlib.sha256(bytes.fromhex(exported[0]["token_salt"]) + DEFAULT_TOKEN.encode()).hexdigest()
    restored = restore(exported[0], first)
    assert restored.account_for_token(DEFAULT_TOKEN) is restored.accounts["default"]  # the salt came along


def test_a_snapshot_from_before_salts_still_finds_its_tokens(source: Backend) -> None:
    snapshot = export_state(source)
    del snapshot["token_salt"]
    snapshot["accounts"][0]["token_sha256"] = [hashlib.sha256(DEFAULT_TOKEN.encode()).hexdigest()]
    restored = restore(snapshot, source)
    assert restored.account_for_token(DEFAULT_TOKEN) is restored.accounts["default"]
    assert restored.account_for_token("another-token") is None
