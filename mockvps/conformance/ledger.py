"""Every server the suite creates is deleted again, and never more than a few exist at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Ledger"]


@dataclass
class Ledger:
    max_servers: int
    delete: Callable[[str, int], int]
    """Deletes (token, server id); answers the status code."""
    live: list[tuple[str, int]] = field(default_factory=list)
    created: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[tuple[str, int]] = field(default_factory=list)
    leftovers: list[tuple[str, int, int]] = field(default_factory=list)

    def make_room(self) -> None:
        """Before a create: delete the oldest servers until one more fits."""
        while len(self.live) >= self.max_servers:
            token, server_id = self.live[0]
            self._delete(token, server_id)

    def add(self, token: str, server_id: int) -> None:
        self.created.append((token, server_id))
        self.live.append((token, server_id))

    def forget(self, token: str, server_id: int) -> None:
        """The suite deleted it itself (or saw it gone)."""
        if (token, server_id) in self.live:
            self.live.remove((token, server_id))
            self.deleted.append((token, server_id))

    def reset(self) -> None:
        """The target started afresh: what it held is gone, and its ids may be handed out again."""
        self.deleted.extend(self.live)
        self.live.clear()

    def cleanup(self) -> None:
        for token, server_id in list(self.live):
            self._delete(token, server_id)

    def _delete(self, token: str, server_id: int) -> None:
        try:
            status = self.delete(token, server_id)
        except Exception:
            status = -1
        self.live.remove((token, server_id))
        if status in (204, 404):
            self.deleted.append((token, server_id))
        else:
            self.leftovers.append((token, server_id, status))

    def summary(self) -> str:
        text = f"servers created: {len(self.created)}{_ids(self.created)}; deleted: {len(self.deleted)}"
        text += _ids(self.deleted)
        if self.leftovers:
            left = ", ".join(f"{i} (DELETE answered {s})" for _, i, s in self.leftovers)
            text += f"; NOT deleted, remove by hand: {left}"
        return text


def _ids(servers: list[tuple[str, int]]) -> str:
    return f" ({', '.join(str(i) for _, i in servers)})" if 0 < len(servers) <= 20 else ""
