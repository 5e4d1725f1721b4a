from __future__ import annotations

import ipaddress

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
