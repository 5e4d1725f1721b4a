from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mockvps.errors import ConfigurationError
from mockvps.settings import DEFAULT_TOKEN, Settings


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
    assert ci.tokens == ("t1", "t2")
    assert ci.balance == Decimal("12.00")
    assert ci.ssh_keys is not None and list(ci.ssh_keys) == [7]
    assert default.name == "default"


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{}", "expected"),
        ('{"accounts": [{"name": "x"}]}', "tokens"),
        ('{"accounts": [{"name": "x", "tokens": ["t"], "balance": "-1"}]}', "non-negative"),
        ('{"accounts": [{"name": "x", "tokens": ["t"], "balance": true}]}', "number"),
        ('{"accounts": [{"name": "x", "tokens": ["t"], "examples": "yes"}]}', "true or false"),
    ],
)
def test_a_bad_accounts_file_is_refused_clearly(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=complaint):
        Settings(accounts=path).account_specs()


def test_allowed_hosts_come_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKVPS_ALLOWED_HOSTS", "mock.internal, *.ci.example,")
    assert Settings().allowed_hosts == ("mock.internal", "*.ci.example")
    assert Settings(allowed_hosts=["x"]).allowed_hosts == ("x",)  # the command line's repeated --allowed-host
