"""The errors the domain raises; `mockvps.shared.http_errors` renders each one as HTTP in one table.

MockVPSError                  base of everything below
├── AuthenticationError       the caller is not known
│   ├── NotAuthenticated      no credentials, or a malformed Authorization header
│   └── InvalidToken          a token that belongs to no account
├── PermissionDenied          a known token whose permissions do not allow the request
├── NotFound                  no such server in the caller's account (or not a server id at all)
├── ValidationFailed          bad fields; carries {field: [message, ...]}
├── ActionNotAllowed          a lifecycle action the server's current status refuses
├── InsufficientBalance       the account cannot pay for the plan
├── AddressPoolExhausted      no free IPv4 or IPv6 address is left to give a new server
├── LimitReached              a limit of the mock (servers per account, accounts) is reached
├── StoreFailed               the durable store could not keep a change (the change was undone)
│   └── SyncFailed            the disk refused a sync: what it holds is unknown; no answer until a restart
└── ConfigurationError        a catalog, accounts or settings file, or a data dir, the mock cannot use
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "ActionNotAllowed",
    "AddressPoolExhausted",
    "AuthenticationError",
    "ConfigurationError",
    "InsufficientBalance",
    "InvalidToken",
    "LimitReached",
    "MockVPSError",
    "NotAuthenticated",
    "NotFound",
    "PermissionDenied",
    "StoreFailed",
    "SyncFailed",
    "ValidationFailed",
]


class MockVPSError(Exception):
    """Base class of every error mockvps raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AuthenticationError(MockVPSError):
    pass


class NotAuthenticated(AuthenticationError):
    def __init__(self) -> None:
        super().__init__("Authentication credentials were not provided.")


class InvalidToken(AuthenticationError):
    def __init__(self) -> None:
        super().__init__("Invalid token.")


class PermissionDenied(MockVPSError):
    def __init__(self) -> None:
        super().__init__("You do not have permission to perform this action.")


class NotFound(MockVPSError):
    def __init__(self) -> None:
        super().__init__("Not found.")


class ValidationFailed(MockVPSError):
    def __init__(self, fields: Mapping[str, Sequence[str]]) -> None:
        self.fields = {name: list(messages) for name, messages in fields.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.fields.items()))


class ActionNotAllowed(MockVPSError):
    def __init__(self, detail: str, *, action: str | None = None, status: str | None = None) -> None:
        super().__init__(detail)
        self.action = action
        """The lifecycle action refused (start, stop, reboot...), when it was one."""
        self.status = status
        """The server's status that refused it."""


class InsufficientBalance(MockVPSError):
    pass


class AddressPoolExhausted(MockVPSError):
    pass


class LimitReached(MockVPSError):
    pass


class StoreFailed(MockVPSError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"The mock could not store the change ({reason}); nothing was changed.")


class SyncFailed(StoreFailed):
    def __init__(self, reason: str) -> None:
        MockVPSError.__init__(
            self,
            f"The mock could not put its changes on disk ({reason}); whether the latest were kept is unknown, "
            "so it answers nothing more until it is restarted.",
        )


class ConfigurationError(MockVPSError):
    pass
