from __future__ import annotations

from dataclasses import astuple, replace
from datetime import timedelta
from decimal import Decimal
from typing import TypedDict

import pytest

from mockvps import backend as backend_module
from mockvps.backend import FIRST_SERVER_ID, AccountSpec, Backend, ServerChanges
from mockvps.catalog import default_catalog
from mockvps.clock import VirtualClock
from mockvps.errors import (
    ActionNotAllowed,
    AddressPoolExhausted,
    ConfigurationError,
    InsufficientBalance,
    InvalidToken,
    NotFound,
    ValidationFailed,
)
from mockvps.lifecycle import SETTLES, DelayKind, Delays, Lifecycle, ServerStatus
from mockvps.tokens import TokenSpec

S = ServerStatus
PROVISION = timedelta(seconds=120)
ACTION = timedelta(seconds=10)


class Order(TypedDict):
    name: str
    plan_id: int
    os_id: int
    location: str


ORDER = Order(name="web-server-02", plan_id=1, os_id=5, location="us-west")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def backend(clock: VirtualClock) -> Backend:
    return Backend(
        default_catalog(),
        clock,
        Delays(provisioning=PROVISION, action=ACTION),
        accounts=[
            AccountSpec("default", ("token-a",), examples=True),
            AccountSpec("other", ("token-b",), balance=Decimal("12.00")),
        ],
    )


def test_the_default_account_starts_with_the_documentation_s_servers(backend: Backend) -> None:
    account = backend.authenticate("token-a")
    web, db = backend.list_servers(account)
    assert (web.id, web.name, web.location, web.plan.id, web.os.id) == (12345, "web-server-01", "us-west", 1, 5)
    assert (db.id, db.name, db.location, db.plan.id, db.os.id) == (12346, "db-server-01", "us-east", 2, 3)
    assert (web.ip_address, db.ip_address) == ("203.0.113.10", "203.0.113.11")
    assert web.status is db.status is S.ACTIVE


def test_ids_continue_at_12347_in_every_account(backend: Backend) -> None:
    assert backend.create_server(backend.authenticate("token-a"), **ORDER).id == FIRST_SERVER_ID == 12347
    assert backend.create_server(backend.authenticate("token-b"), **ORDER).id == 12347
    assert backend.create_server(backend.authenticate("token-a"), **ORDER).id == 12348


def test_an_unknown_token_is_refused(backend: Backend) -> None:
    with pytest.raises(InvalidToken):
        backend.authenticate("token-c")


def test_a_token_is_hashed_once_and_still_answers_for_what_it_names_now(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    digest = backend_module.token_digest

    def counted(token: str, salt: bytes) -> bytes:
        hashed.append(token)
        return digest(token, salt)

    monkeypatch.setattr(backend_module, "token_digest", counted)
    first = backend.authenticate("token-a")
    assert backend.authenticate("token-a") is first
    assert hashed == ["token-a"]
    backend.reset_account("default")  # a new account object for the same token
    assert backend.authenticate("token-a") is not first
    backend.remove_account("default")
    with pytest.raises(InvalidToken):
        backend.authenticate("token-a")
    assert hashed == ["token-a"]


def test_only_tokens_that_name_an_account_are_remembered_and_never_more_than_the_limit(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3 * backend_module.DIGESTS_KEPT):
        assert backend.credentials(f"guess-{i}") is None
    assert backend._digests == {}
    monkeypatch.setattr(backend_module, "DIGESTS_KEPT", 2)
    account = backend.authenticate("token-a")
    for i in range(5):
        backend.add_token(account, TokenSpec(secret=f"more-{i}"))
        assert backend.authenticate(f"more-{i}") is account
        assert len(backend._digests) <= 2


def test_a_token_cannot_belong_to_two_accounts(backend: Backend) -> None:
    with pytest.raises(ConfigurationError, match="already in use"):
        backend.add_account(AccountSpec("third", ("token-a",)))


def test_a_new_server_provisions_and_becomes_active_with_an_address(backend: Backend, clock: VirtualClock) -> None:
    account = backend.authenticate("token-a")
    created = clock.now()
    server = backend.create_server(account, **ORDER, hostname="web02.example.com", backups_enabled=True)
    assert (server.status, server.ip_address, server.ipv6_address) == (S.PROVISIONING, None, None)
    clock.advance(PROVISION - timedelta(seconds=1))
    assert backend.get_server(account, server.id).status is S.PROVISIONING
    clock.advance(timedelta(hours=1))
    server = backend.get_server(account, server.id)
    assert server.status is S.ACTIVE
    assert server.ip_address == "203.0.113.1"
    assert server.ipv6_address == "2001:0db8::3"
    # The transition happened when its delay ran out, not when somebody looked.
    assert server.updated_at == created + PROVISION
    assert server.created_at == created


def test_reading_twice_at_one_moment_gives_the_same_answer(backend: Backend, clock: VirtualClock) -> None:
    account = backend.authenticate("token-a")
    server = backend.create_server(account, **ORDER)
    clock.advance(PROVISION * 2)
    first = astuple(backend.get_server(account, server.id))
    assert astuple(backend.get_server(account, server.id)) == first
    assert astuple(backend.list_servers(account)[-1]) == first


def test_creating_charges_the_plan_s_price(backend: Backend) -> None:
    account = backend.authenticate("token-b")
    backend.create_server(account, **ORDER)
    assert account.balance == Decimal("0.00")


def test_a_short_balance_is_refused_and_changes_nothing(backend: Backend) -> None:
    account = backend.authenticate("token-b")
    with pytest.raises(InsufficientBalance, match="Insufficient balance"):
        backend.create_server(account, **(ORDER | {"plan_id": 2}))
    assert (account.balance, account.servers, account.next_id) == (Decimal("12.00"), {}, FIRST_SERVER_ID)
    assert backend.create_server(account, **ORDER).ip_address is None  # the pools were not touched either
    assert backend.create_server(backend.authenticate("token-a"), **ORDER).ipv4 == "203.0.113.2"


def test_references_to_unknown_catalog_entries_are_refused_per_field(backend: Backend) -> None:
    account = backend.authenticate("token-a")
    with pytest.raises(ValidationFailed) as failure:
        backend.create_server(account, name="x", plan_id=9, os_id=9, location="mars", ssh_key_id=99)
    assert failure.value.fields == {
        "plan_id": ['Invalid pk "9" - object does not exist.'],
        "os_id": ['Invalid pk "9" - object does not exist.'],
        "location": ['"mars" is not a valid choice.'],
        "ssh_key_id": ['Invalid pk "99" - object does not exist.'],
    }
    assert len(account.servers) == 2


def test_an_account_s_own_ssh_key_is_accepted(backend: Backend) -> None:
    account = backend.authenticate("token-a")
    assert backend.create_server(account, **ORDER, ssh_key_id=1).ssh_key_id == 1


def test_one_account_cannot_reach_another_s_servers(backend: Backend) -> None:
    other = backend.authenticate("token-b")
    assert backend.list_servers(other) == []
    for operation in (backend.get_server, backend.delete_server, backend.start_server, backend.stop_server,
                      backend.reboot_server):  # fmt: skip
        with pytest.raises(NotFound):
            operation(other, 12345)
    with pytest.raises(NotFound):
        backend.update_server(other, 12345, ServerChanges(name="mine"))
    assert backend.get_server(backend.authenticate("token-a"), 12345).name == "web-server-01"


def test_stop_then_start_then_reboot_walks_the_table(backend: Backend, clock: VirtualClock) -> None:
    account = backend.authenticate("token-a")
    assert backend.stop_server(account, 12345).status is S.STOPPING
    clock.advance(ACTION)
    assert backend.get_server(account, 12345).status is S.STOPPED
    assert backend.start_server(account, 12345).status is S.STARTING
    clock.advance(ACTION)
    assert backend.get_server(account, 12345).status is S.ACTIVE
    assert backend.reboot_server(account, 12345).status is S.REBOOTING
    clock.advance(ACTION)
    server = backend.get_server(account, 12345)
    assert server.status is S.ACTIVE
    assert server.ip_address == "203.0.113.10"  # kept across stop and start


def test_a_backend_follows_the_lifecycle_it_is_given(clock: VirtualClock) -> None:
    rebooting_stops = Lifecycle(settles={**SETTLES, S.REBOOTING: (S.STOPPED, DelayKind.ACTION)})
    spec = AccountSpec("a", ("t",), examples=True)
    backend = Backend(default_catalog(), clock, Delays(action=ACTION), accounts=[spec], lifecycle=rebooting_stops)
    usual = Backend(default_catalog(), clock, Delays(action=ACTION), accounts=[spec])
    mine, theirs = backend.authenticate("t"), usual.authenticate("t")
    rebooting = backend.reboot_server(mine, 12345)
    usual.reboot_server(theirs, 12345)
    assert backend.next_transition(mine, rebooting) == (S.STOPPED, rebooting.since + ACTION)
    clock.advance(ACTION)
    assert backend.get_server(mine, 12345).status is S.STOPPED
    assert usual.get_server(theirs, 12345).status is S.ACTIVE


@pytest.mark.parametrize(
    ("prepare", "action", "why"),
    [
        ([], "start", "Server is already running."),
        (["stop"], "stop", "Server is already stopping."),
        (["stop", "wait"], "reboot", "Server is not active."),
        (["stop", "wait"], "stop", "Server is already stopped."),
        (["reboot"], "reboot", "Server is not active."),
    ],
)
def test_a_refused_action_changes_nothing(
    backend: Backend, clock: VirtualClock, prepare: list[str], action: str, why: str
) -> None:
    account = backend.authenticate("token-a")
    for step in prepare:
        if step == "wait":
            clock.advance(ACTION)
        else:
            getattr(backend, f"{step}_server")(account, 12345)
    before = astuple(backend.get_server(account, 12345))
    with pytest.raises(ActionNotAllowed, match=why):
        getattr(backend, f"{action}_server")(account, 12345)
    assert astuple(backend.get_server(account, 12345)) == before


def test_suspend_and_unsuspend_are_operator_moves(backend: Backend) -> None:
    account = backend.authenticate("token-a")
    assert backend.suspend_server(account, 12345).status is S.SUSPENDED
    with pytest.raises(ActionNotAllowed, match="suspended"):
        backend.start_server(account, 12345)
    assert backend.unsuspend_server(account, 12345).status is S.STOPPED


def test_updates_change_only_what_is_given_and_move_updated_at(backend: Backend, clock: VirtualClock) -> None:
    account = backend.authenticate("token-a")
    before = replace(backend.get_server(account, 12345))
    clock.advance(5)
    same = backend.update_server(account, 12345, ServerChanges(name="web-server-01"))
    assert same.updated_at == before.updated_at  # nothing changed, so nothing moved
    server = backend.update_server(account, 12345, ServerChanges(name="renamed"))
    assert (server.name, server.hostname, server.backups_enabled) == ("renamed", before.hostname, True)
    assert server.updated_at == clock.now() > before.updated_at
    assert server.created_at == before.created_at


def test_delete_is_permanent_and_frees_the_address(backend: Backend, clock: VirtualClock) -> None:
    account = backend.authenticate("token-a")
    backend.delete_server(account, 12345)
    with pytest.raises(NotFound):
        backend.get_server(account, 12345)
    assert [s.id for s in backend.list_servers(account)] == [12346]
    fresh = backend.create_server(backend.authenticate("token-b"), **ORDER)
    clock.advance(PROVISION)
    assert backend.get_server(backend.authenticate("token-b"), fresh.id).ip_address == "203.0.113.1"


def test_addresses_are_unique_across_accounts(backend: Backend, clock: VirtualClock) -> None:
    a, b = backend.authenticate("token-a"), backend.authenticate("token-b")
    b.balance = Decimal("1000")
    servers = [backend.create_server(a if i % 2 else b, **ORDER) for i in range(40)]
    clock.advance(PROVISION)
    ips = {backend.get_server(a if i % 2 else b, s.id).ip_address for i, s in enumerate(servers)}
    assert len(ips) == 40
    assert not ips & {"203.0.113.10", "203.0.113.11"}


def test_an_exhausted_pool_refuses_the_create_and_charges_nothing(clock: VirtualClock) -> None:
    from mockvps.addresses import AddressPool

    pool = AddressPool([(1, 1)], render=str, parse=int, kind="IPv4")
    backend = Backend(default_catalog(), clock, accounts=[AccountSpec("a", ("t",))], ipv4_pool=pool)
    account = backend.authenticate("t")
    backend.create_server(account, **ORDER)
    with pytest.raises(AddressPoolExhausted):
        backend.create_server(account, **ORDER)
    assert len(account.servers) == 1
    assert account.balance == Decimal("1000.00") - default_catalog().plans[1].price


def test_list_filters_by_status_and_location(backend: Backend, clock: VirtualClock) -> None:
    account = backend.authenticate("token-a")
    backend.stop_server(account, 12346)
    clock.advance(ACTION)
    assert [s.id for s in backend.list_servers(account, status=S.ACTIVE)] == [12345]
    assert [s.id for s in backend.list_servers(account, status=S.STOPPED)] == [12346]
    assert [s.id for s in backend.list_servers(account, location="us-east")] == [12346]
    assert backend.list_servers(account, location="nowhere") == []
    assert backend.list_servers(account, status=S.ACTIVE, location="us-east") == []


def test_resource_usage_is_deterministic_within_the_plan_and_idle_when_stopped(
    backend: Backend, clock: VirtualClock
) -> None:
    account = backend.authenticate("token-a")
    web = backend.get_server(account, 12345)
    assert web.resource_usage().cpu_percent == 23.5  # the documentation's figures
    server = backend.create_server(account, **ORDER)
    clock.advance(PROVISION)
    usage = backend.get_server(account, server.id).resource_usage()
    assert usage == backend.get_server(account, server.id).resource_usage()
    assert 0 < usage.cpu_percent <= 100
    assert 0 < usage.memory_used <= server.plan.memory
    assert 0 < usage.disk_used <= server.plan.storage
    assert 0 <= usage.bandwidth_used <= server.plan.bandwidth
    backend.stop_server(account, server.id)
    clock.advance(ACTION)
    idle = backend.get_server(account, server.id).resource_usage()
    assert (idle.cpu_percent, idle.memory_used, idle.disk_used) == (0.0, 0, usage.disk_used)


def test_example_servers_need_their_catalog_entries(clock: VirtualClock) -> None:
    catalog = default_catalog()
    thin = replace(catalog, plans={1: catalog.plans[1]})
    with pytest.raises(ConfigurationError, match="example server 12346"):
        Backend(thin, clock, accounts=[AccountSpec("a", ("t",), examples=True)])
