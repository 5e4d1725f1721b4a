"""Pools of IPv4 and IPv6 addresses that never hand out a duplicate.

A pool is a list of inclusive blocks; positions count through the blocks in order and the lowest free
position is always handed out next, so allocation is deterministic and a freed address is reused first.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Callable, Sequence

from mockvps.errors import AddressPoolExhausted

__all__ = ["AddressPool", "default_ipv4_pool", "default_ipv6_pool"]


class AddressPool:
    __slots__ = ("_blocks", "_cursor", "_freed", "_kind", "_parse", "_render", "_taken", "size")

    def __init__(
        self,
        blocks: Sequence[tuple[int, int]],
        render: Callable[[int], str],
        parse: Callable[[str], int],
        kind: str,
    ) -> None:
        self._blocks = tuple(blocks)
        self._render = render
        self._parse = parse
        self._kind = kind
        self.size = sum(last - first + 1 for first, last in self._blocks)
        self._cursor = 0  # every position at or above it has never been handed out by `allocate`
        self._freed: list[int] = []  # released positions below the cursor (a min-heap)
        self._taken: set[int] = set()

    def allocate(self) -> str:
        while self._freed and self._freed[0] < self._cursor:
            position = heapq.heappop(self._freed)
            if position not in self._taken:
                return self._take(position)
        while self._cursor < self.size:
            position = self._cursor
            self._cursor += 1
            if position not in self._taken:
                return self._take(position)
        raise AddressPoolExhausted(f"No free {self._kind} address is left in the pool.")

    def reserve(self, address: str) -> None:
        """Mark an address as in use (for servers loaded with fixed addresses); outside the pool is fine."""
        position = self._position(address)
        if position is not None:
            if position in self._taken:
                raise ValueError(f"{self._kind} address {address} is already in use")
            self._taken.add(position)

    def release(self, address: str) -> None:
        position = self._position(address)
        if position is not None and position in self._taken:
            self._taken.discard(position)
            if position < self._cursor:
                heapq.heappush(self._freed, position)

    def in_use(self) -> int:
        return len(self._taken)

    def _take(self, position: int) -> str:
        self._taken.add(position)
        offset = position
        for first, last in self._blocks:
            span = last - first + 1
            if offset < span:
                return self._render(first + offset)
            offset -= span
        raise AssertionError("position outside the pool")  # pragma: no cover

    def _position(self, address: str) -> int | None:
        value = self._parse(address)
        offset = 0
        for first, last in self._blocks:
            if first <= value <= last:
                return offset + value - first
            offset += last - first + 1
        return None


def _v4_block(network: str) -> tuple[int, int]:
    net = ipaddress.IPv4Network(network)
    return int(net.network_address) + 1, int(net.broadcast_address) - 1


def _render_v4(n: int) -> str:
    # What str(ipaddress.IPv4Address(n)) writes, several times faster: a create renders one.
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _parse_v4(text: str) -> int:
    # Dotted decimal as this pool writes it, read at once (a reset releases every address of an account);
    # anything else, invalid text included, goes to ipaddress, which decides.
    parts = text.split(".")
    if len(parts) == 4 and all(
        p.isascii() and p.isdigit() and len(p) <= 3 and (p[0] != "0" or p == "0") for p in parts
    ):
        a, b, c, d = map(int, parts)
        if a <= 255 and b <= 255 and c <= 255 and d <= 255:
            return a << 24 | b << 16 | c << 8 | d
    return int(ipaddress.IPv4Address(text))


def default_ipv4_pool() -> AddressPool:
    """203.0.113.0/24 (TEST-NET-3, as in the documentation), then 198.18.0.0/15 (benchmarking, never routed)."""
    return AddressPool(
        [_v4_block("203.0.113.0/24"), _v4_block("198.18.0.0/15")],
        render=_render_v4,
        parse=_parse_v4,
        kind="IPv4",
    )


_DOC_PREFIX = 0x20010DB8 << 96
"""2001:db8::/32, the documentation prefix, which the default pool hands out from its start."""
_HEXTET = 0xFFFF
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _render_v6(n: int) -> str:
    # The documentation writes 2001:0db8::1; keep its spelling of the documentation prefix.
    if n >> 32 == _DOC_PREFIX >> 32:  # 2001:db8:0:0:0:0:x:y, every address the default pool hands out first
        # Hextets 2 to 5 are zero and 0 and 1 are not: that run is the longest, so it is the one "::" stands for.
        high, low = (n >> 16) & _HEXTET, n & _HEXTET
        return f"2001:0db8::{high:x}:{low:x}" if high else f"2001:0db8::{low:x}" if low else "2001:0db8::"
    text = str(ipaddress.IPv6Address(n))
    return "2001:0db8" + text[len("2001:db8") :] if text.startswith("2001:db8:") else text


def _parse_v6(text: str) -> int:
    # 2001:0db8::x:y as `_render_v6` writes it, read at once; anything else goes to ipaddress, which decides.
    if text.startswith("2001:0db8::"):
        groups = text[11:].split(":") if len(text) > 11 else []
        if len(groups) <= 2 and all(0 < len(g) <= 4 and set(g) <= _HEX_DIGITS for g in groups):
            value = 0
            for group in groups:
                value = value << 16 | int(group, 16)
            return _DOC_PREFIX | value
    return int(ipaddress.IPv6Address(text))


def default_ipv6_pool() -> AddressPool:
    net = ipaddress.IPv6Network("2001:db8::/32")
    return AddressPool(
        [(int(net.network_address) + 1, int(net.broadcast_address))],
        render=_render_v6,
        parse=_parse_v6,
        kind="IPv6",
    )
