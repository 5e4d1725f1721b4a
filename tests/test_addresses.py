from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from mockvps.addresses import AddressPool, default_ipv4_pool, default_ipv6_pool
from mockvps.errors import AddressPoolExhausted


def tiny_pool() -> AddressPool:
    return AddressPool([(1, 3), (10, 11)], render=str, parse=int, kind="test")


def test_hands_out_the_lowest_free_address_across_blocks() -> None:
    pool = tiny_pool()
    assert [pool.allocate() for _ in range(5)] == ["1", "2", "3", "10", "11"]


def test_exhausted_pool_refuses_instead_of_repeating() -> None:
    pool = tiny_pool()
    for _ in range(pool.size):
        pool.allocate()
    with pytest.raises(AddressPoolExhausted, match="No free test address"):
        pool.allocate()


def test_released_address_is_reused_first() -> None:
    pool = tiny_pool()
    handed = [pool.allocate() for _ in range(4)]
    pool.release("2")
    assert pool.allocate() == "2"
    assert pool.allocate() == "11"
    assert len(set(handed)) == 4


def test_reserved_addresses_are_skipped_and_cannot_be_reserved_twice() -> None:
    pool = tiny_pool()
    pool.reserve("2")
    assert [pool.allocate(), pool.allocate()] == ["1", "3"]
    with pytest.raises(ValueError, match="already in use"):
        pool.reserve("2")
    pool.reserve("99")  # outside the pool: nothing to track
    assert pool.in_use() == 3


def test_default_ipv4_pool_starts_in_test_net_3_and_continues_in_198_18() -> None:
    pool = default_ipv4_pool()
    assert pool.allocate() == "203.0.113.1"
    assert pool.size == 254 + (2**17 - 2)
    for _ in range(253):
        last = pool.allocate()
    assert last == "203.0.113.254"
    assert pool.allocate() == "198.18.0.1"


def test_default_ipv6_pool_uses_the_documentation_prefix_and_its_spelling() -> None:
    pool = default_ipv6_pool()
    first, second = pool.allocate(), pool.allocate()
    assert (first, second) == ("2001:0db8::1", "2001:0db8::2")
    assert ipaddress.IPv6Address(first) in ipaddress.IPv6Network("2001:db8::/32")
    pool.release(first)
    assert pool.allocate() == first


def _written_by_ipaddress_v6(value: int) -> str:
    text = str(ipaddress.IPv6Address(value))
    return "2001:0db8" + text[len("2001:db8") :] if text.startswith("2001:db8:") else text


def test_addresses_are_written_and_read_as_ipaddress_writes_and_reads_them() -> None:
    # The pools write and read their addresses without ipaddress where they can (a create writes two): the
    # same text, and the same number back, as ipaddress gives, at the edges of each shortcut and around them.
    v4, v6 = default_ipv4_pool(), default_ipv6_pool()
    doc = 0x20010DB8 << 96
    sixes = [doc | low for low in (0, 1, 0xFFFF, 0x10000, 0x10001, 0xABCD0000, 2**32 - 1, 2**32, 2**48, 2**96 - 1)]
    sixes += [doc | (7919 * i) ** 3 % 2**40 for i in range(2000)] + [(7919 * i) ** 5 % 2**128 for i in range(500)]
    for value in sixes:
        text = v6._render(value)
        assert text == _written_by_ipaddress_v6(value)
        assert v6._parse(text) == value == int(ipaddress.IPv6Address(text))
    for value in [0, 1, 255, 256, 2**32 - 1, *((7919 * i) ** 3 % 2**32 for i in range(2000))]:
        text = v4._render(value)
        assert text == str(ipaddress.IPv4Address(value))
        assert v4._parse(text) == value


@pytest.mark.parametrize(
    ("pool", "text"),
    [
        (default_ipv4_pool, "01.2.3.4"),
        (default_ipv4_pool, "256.1.1.1"),
        (default_ipv4_pool, "1.2.3"),
        (default_ipv4_pool, "1.2.3.4 "),
        (default_ipv4_pool, "\u0661.2.3.4"),
        (default_ipv6_pool, "2001:0db8::0x1"),
        (default_ipv6_pool, "2001:0db8::1_0"),
        (default_ipv6_pool, "2001:0db8:: 1"),
        (default_ipv6_pool, "2001:0db8::12345"),
    ],
)
def test_text_that_is_no_address_is_still_refused(pool: Callable[[], AddressPool], text: str) -> None:
    with pytest.raises(ValueError):
        pool().reserve(text)
