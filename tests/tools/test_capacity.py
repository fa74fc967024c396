"""DynamoDB read capacity as DynamoDB bills it: item sizes, 4 KB units, 1 MB pages."""

from __future__ import annotations

import pytest

from realtime_socket.tools import capacity


def test_item_sizes_follow_dynamodb_rules():
    item = {"connectionId": {"S": "abc="}, "ttl": {"N": "1795932000"}, "ok": {"BOOL": True}}
    # 12+4, 3+(ceil(10/2)+1), 2+1
    assert capacity.item_size(item) == 16 + 9 + 3


def test_read_units_round_per_page_and_halve_when_eventually_consistent():
    assert capacity.read_units([100]) == 0.5
    assert capacity.read_units([4096, 1]) == 1.0  # 4097 B -> 2 units, halved
    assert capacity.read_units([4097], consistent=True) == 2
    # 1,100 items of 1,000 B fill one 1 MB page (1,048 items) and start another
    assert capacity.read_units([1000] * 1100, consistent=True) == 256 + 13


def test_number_sizes_count_significant_digits_and_unknown_types_are_refused():
    """Sign, point and leading zeros are free; a type DynamoDB sizes otherwise is an error."""
    assert capacity.item_size({"n": {"N": "-0012.5"}}) == 1 + 3  # 3 digits -> 2 + 1
    assert capacity.item_size({"n": {"N": "0"}}) == 1 + 2
    assert capacity.item_size({"b": {"B": b"1234"}, "z": {"NULL": True}}) == 1 + 4 + 1 + 1
    with pytest.raises(ValueError, match="unsupported attribute type L"):
        capacity.item_size({"l": {"L": []}})
