"""A small typed client of the control API, against a mock at a URL or an app in this process.

control = ControlClient("http://127.0.0.1:8000")           # or ControlClient.for_app(app)
account = control.create_account(mode="immediate")        # a fresh, isolated account and its token
mine = control.scoped(account.name)                       # calls about that account
mine.advance(60); mine.fail_next_provisioning(); mine.journal_count(method="POST"); mine.coverage()
reader = mine.create_token(name="CI reader", permissions=["servers:read"])["token"]   # a scoped token
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["ClockState", "ControlClient", "ControlError", "CreatedAccount"]


class ControlError(Exception):
    """The control API refused a call; `body` holds its answer."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class CreatedAccount:
    name: str
    tokens: list[str]
    info: dict[str, Any]

    @property
    def token(self) -> str:
        return self.tokens[0]


@dataclass(frozen=True)
class ClockState:
    now: datetime
    frozen: bool
    offset: timedelta


class ControlClient:
    def __init__(
        self, base_url: str, *, admin_token: str | None = None, http: Any = None, account: str | None = None
    ) -> None:
        """`http`: anything with httpx's `request(method, url, headers=, params=, json=)`; httpx.Client by default."""
        if http is None:
            import httpx

            http = httpx.Client(timeout=30)
        self.base_url = base_url.rstrip("/")
        self.admin_token = admin_token
        self.account = account
        self._http = http

    @classmethod
    def for_app(cls, app: Any, *, admin_token: str | None = None) -> ControlClient:
        """Talk to an app in this process (needs starlette's TestClient and httpx2)."""
        from starlette.testclient import TestClient

        return cls("http://testserver", admin_token=admin_token, http=TestClient(app))

    def close(self) -> None:
        """Close the connections (scoped clients share them: close the one you made)."""
        close = getattr(self._http, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scoped(self, account: str) -> ControlClient:
        """The same client, for calls about one account (its clock, servers, journal, faults)."""
        return ControlClient(self.base_url, admin_token=self.admin_token, http=self._http, account=account)

    # -- plumbing

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        kwargs: dict[str, Any] = {"headers": headers, "params": query}
        if body is not None:
            kwargs["json"] = body
        response = self._http.request(method, f"{self.base_url}/_mockvps{path}", **kwargs)
        answer = response.json() if response.content else None
        if response.status_code >= 400:
            raise ControlError(response.status_code, answer)
        return answer

    def _mine(self) -> str:
        if self.account is None:
            raise ValueError("this call is about one account: use control.scoped(name)")
        return f"/accounts/{self.account}"

    def _scope(self) -> str:
        return self._mine() if self.account is not None else ""

    # -- accounts and state

    def health(self) -> bool:
        return bool(self._call("GET", "/health") == {"status": "ok"})

    def create_account(self, **options: Any) -> CreatedAccount:
        """Options: name, tokens (each a secret or {"token", "name", "permissions"}, the secret optional), balance,
        ssh_keys, examples, mode, provisioning_delay, action_delay, catalog, profile."""
        if "balance" in options and options["balance"] is not None:
            options["balance"] = str(options["balance"])
        info = self._call("POST", "/accounts", {k: v for k, v in options.items() if v is not None})
        return CreatedAccount(name=info["name"], tokens=info["tokens"], info=info)

    def accounts(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/accounts"))

    def info(self) -> dict[str, Any]:
        return dict(self._call("GET", self._mine()))

    def update(self, **changes: Any) -> dict[str, Any]:
        """balance, mode ("timed", "immediate", "manual"), provisioning_delay, action_delay, profile (the fields
        given: email, first_name, last_name, company_name, created_at)."""
        if "balance" in changes and changes["balance"] is not None:
            changes["balance"] = str(changes["balance"])
        return dict(self._call("PATCH", self._mine(), changes))

    def set_mode(self, mode: str) -> dict[str, Any]:
        return self.update(mode=mode)

    def tokens(self) -> list[dict[str, Any]]:
        """The account's tokens: their names and permissions (never their secrets)."""
        return list(self._call("GET", f"{self._mine()}/tokens"))

    def create_token(
        self, *, name: str | None = None, permissions: list[str] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """A further token of the account; the answer's `token` is its secret (generated unless given)."""
        body = {k: v for k, v in {"name": name, "permissions": permissions, "token": token}.items() if v is not None}
        return dict(self._call("POST", f"{self._mine()}/tokens", body))

    def delete_account(self) -> None:
        self._call("DELETE", self._mine())

    def reset(self) -> None:
        """Scoped: the account as it was created. Unscoped: the whole mock as it started."""
        self._call("POST", f"{self._mine()}/reset" if self.account else "/reset")

    def export_state(self) -> dict[str, Any]:
        return dict(self._call("GET", f"{self._mine()}/state" if self.account else "/state"))

    def import_state(self, snapshot: dict[str, Any]) -> None:
        self._call("PUT", "/state", snapshot)

    # -- time

    def clock(self) -> ClockState:
        return _clock(self._call("GET", f"{self._scope()}/clock"))

    def advance(self, by: float | timedelta) -> ClockState:
        seconds = by.total_seconds() if isinstance(by, timedelta) else by
        return _clock(self._call("POST", f"{self._scope()}/clock/advance", {"seconds": seconds}))

    def freeze(self) -> ClockState:
        return _clock(self._call("POST", f"{self._scope()}/clock/freeze"))

    def unfreeze(self) -> ClockState:
        return _clock(self._call("POST", f"{self._scope()}/clock/unfreeze"))

    # -- servers (operator actions)

    def seed_server(self, **server: Any) -> dict[str, Any]:
        """name, plan_id, os_id, location, and optionally id, hostname, backups_enabled, status."""
        return dict(self._call("POST", f"{self._mine()}/servers", server))

    def advance_server(self, server_id: int) -> dict[str, Any] | None:
        answer = self._call("POST", f"{self._mine()}/servers/{server_id}/advance")
        return answer["server"]  # type: ignore[no-any-return]

    def suspend(self, server_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"{self._mine()}/servers/{server_id}/suspend"))

    def unsuspend(self, server_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"{self._mine()}/servers/{server_id}/unsuspend"))

    def set_usage(
        self, server_id: int, *, cpu_percent: float, memory_used: int, disk_used: int, bandwidth_used: int
    ) -> dict[str, Any]:
        usage = {
            "cpu_percent": cpu_percent,
            "memory_used": memory_used,
            "disk_used": disk_used,
            "bandwidth_used": bandwidth_used,
        }
        return dict(self._call("PUT", f"{self._mine()}/servers/{server_id}/usage", usage))

    def clear_usage(self, server_id: int) -> dict[str, Any]:
        return dict(self._call("DELETE", f"{self._mine()}/servers/{server_id}/usage"))

    def fail_next_provisioning(self) -> None:
        self._call("PUT", f"{self._mine()}/next-provisioning", {"outcome": "fail"})

    def hang_next_provisioning(self) -> None:
        self._call("PUT", f"{self._mine()}/next-provisioning", {"outcome": "hang"})

    # -- faults

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """method, path, operation, account, latency_ms, status, body, headers, drop, times, probability, seed.

        A scoped client's rules apply to its account only."""
        if self.account is not None:
            rule.setdefault("account", self.account)
        return dict(self._call("POST", "/faults", rule))

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults"))

    def remove_fault(self, rule_id: int) -> None:
        self._call("DELETE", f"/faults/{rule_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- journal

    def journal(self, *, limit: int = 100, **filters: Any) -> list[dict[str, Any]]:
        """Newest first; filters: method, path (exact or glob), status, operation, account."""
        return list(self._call("GET", f"{self._scope()}/journal", params={**filters, "limit": limit}))

    def journal_count(self, **filters: Any) -> int:
        return int(self._call("GET", f"{self._scope()}/journal/count", params=filters)["count"])

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    # -- coverage

    def coverage(self) -> dict[str, Any]:
        """Which documented behaviours clients have seen (scoped: this account's requests; unscoped: the whole
        mock's), as GET /_mockvps/coverage answers; `mockvps.coverage_report` reads and renders it."""
        return dict(self._call("GET", f"{self._scope()}/coverage"))

    def reset_coverage(self) -> None:
        """Forget every count of the mock (every account's too)."""
        self._call("DELETE", "/coverage")


def _clock(answer: dict[str, Any]) -> ClockState:
    return ClockState(
        now=datetime.fromisoformat(answer["now"].replace("Z", "+00:00")),
        frozen=answer["frozen"],
        offset=timedelta(seconds=answer["offset_seconds"]),
    )
