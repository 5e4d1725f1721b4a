from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from mockvps.backend import DEFAULT_BALANCE
from mockvps.errors import ConfigurationError
from mockvps.settings import DEFAULT_TOKEN, AccountEntry, Settings
from mockvps.tokens import TokenSpec


def test_defaults_need_no_configuration() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.token) == ("127.0.0.1", 8000, DEFAULT_TOKEN)
    (default,) = settings.account_specs()
    assert default.examples is True
    assert default.tokens == (DEFAULT_TOKEN,)


def test_every_setting_can_come_from_a_mockvps_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKVPS_PORT", "9001")
    monkeypatch.setenv("MOCKVPS_TOKEN", "ci-token")
    monkeypatch.setenv("MOCKVPS_EMPTY", "true")
    monkeypatch.setenv("MOCKVPS_PROVISIONING_DELAY", "0")
    monkeypatch.setenv("MOCKVPS_ACTION_DELAY", "0.5")
    settings = Settings()
    assert settings.port == 9001
    assert settings.delays().provisioning == timedelta(0)
    assert settings.delays().action == timedelta(seconds=0.5)
    (default,) = settings.account_specs()
    assert default.tokens == ("ci-token",)
    assert default.examples is False


def test_an_accounts_file_adds_accounts(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": [
        {"name": "ci", "tokens": ["t1", "t2"], "balance": "12.00", "ssh_keys": [{"id": 7, "name": "deploy"}]},
    ]}))  # fmt: skip
    default, ci = Settings(accounts=path).account_specs()
    assert ci.name == "ci"
    assert ci.tokens == (TokenSpec("t1"), TokenSpec("t2"))  # plain strings: tokens that may do everything
    assert ci.balance == Decimal("12.00")
    assert ci.ssh_keys is not None and list(ci.ssh_keys) == [7]
    assert default.name == "default"


def test_an_account_s_balance_is_a_number_or_a_string_and_has_a_default(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": [
        {"name": "a", "tokens": ["ta"], "balance": 12.5}, {"name": "b", "tokens": ["tb"], "balance": 7},
        {"name": "c", "tokens": ["tc"], "ssh_keys": None},
    ]}))  # fmt: skip
    _, a, b, c = Settings(accounts=path).account_specs()
    assert (a.balance, b.balance, c.balance) == (Decimal("12.5"), Decimal(7), DEFAULT_BALANCE)
    assert c.ssh_keys is None  # the catalog's keys


def test_every_default_balance_is_the_backend_s() -> None:
    from mockvps.control.schemas import AccountCreate
    from mockvps.persistence.snapshot import SnapshotAccount

    models: list[type[BaseModel]] = [Settings, AccountEntry, SnapshotAccount, AccountCreate]
    assert all(model.model_fields["balance"].default is DEFAULT_BALANCE for model in models)


ONE = {"name": "x", "tokens": ["t"]}


def _with(**fields: object) -> object:
    return {"accounts": [{**ONE, **fields}]}


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ([], "expected an object"),
        ({}, "accounts: required"),
        ({"accounts": {}}, "accounts: expected a list"),
        ({"accounts": [5]}, "accounts[0]: expected an object"),
        ({"accounts": [{"name": "x"}]}, "accounts[0].tokens: required"),
        (_with(tokens=[]), "accounts[0].tokens: expected a non-empty list"),
        (_with(tokens=["t", 5]), "accounts[0].tokens[1]: expected a string or an object"),
        (_with(tokens=["t", ""]), "accounts[0].tokens[1]: expected a non-empty string"),
        (_with(name=""), "accounts[0].name: expected a non-empty string"),
        (_with(balance="-1"), "accounts[0].balance: expected a non-negative number"),
        (_with(balance=-1), "accounts[0].balance: expected a non-negative number"),
        (_with(balance=True), "accounts[0].balance: expected a number"),
        (_with(balance="lots"), "accounts[0].balance: expected a decimal number"),
        (_with(balance="Infinity"), "accounts[0].balance: expected a finite number"),
        (_with(examples="yes"), "accounts[0].examples: expected true or false"),
        (_with(examples=1), "accounts[0].examples: expected true or false"),
        (_with(ssh_keys={}), "accounts[0].ssh_keys: expected a list"),
        (_with(ssh_keys=[{"id": True, "name": "k"}]), "accounts[0].ssh_keys[0].id: expected an integer"),
        (_with(ssh_keys=[{"id": "7", "name": "k"}]), "accounts[0].ssh_keys[0].id: expected an integer"),
        (_with(ssh_keys=[{"id": -1, "name": "k"}]), "accounts[0].ssh_keys[0].id: expected a non-negative number"),
        (_with(ssh_keys=[{"id": 7}]), "accounts[0].ssh_keys[0].name: required"),
        (_with(ssh_keys=[{"id": 7, "name": "a"}, {"id": 7, "name": "b"}]),
         "accounts[0].ssh_keys: expected keys with distinct ids (7 appears twice)"),
        (_with(balence="5"), "accounts[0].balence: unknown key"),
        ({"accounts": [], "comment": "x"}, "comment: unknown key"),
        ({"accounts": [], "two\nlines": "x"}, "['two\\nlines']: unknown key"),  # the message stays one line
        ({"accounts": [ONE, {"name": 3, "tokens": ["u"]}]}, "accounts[1].name: expected a string"),
    ],
)  # fmt: skip
def test_a_bad_accounts_file_is_refused_naming_the_place(tmp_path: Path, content: object, complaint: str) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigurationError) as refused:
        Settings(accounts=path).account_specs()
    assert refused.value.detail == f"accounts file {path}: {complaint}"


def test_an_accounts_file_that_is_not_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text("{")
    with pytest.raises(ConfigurationError, match=f"^accounts file {path}: Expecting property name"):
        Settings(accounts=path).account_specs()


def test_allowed_hosts_come_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKVPS_ALLOWED_HOSTS", "mock.internal, *.ci.example,")
    assert Settings().allowed_hosts == ("mock.internal", "*.ci.example")
    assert Settings(allowed_hosts=["x"]).allowed_hosts == ("x",)  # the command line's repeated --allowed-host
