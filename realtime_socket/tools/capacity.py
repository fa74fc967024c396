"""DynamoDB read capacity, computed the way DynamoDB bills it.

Item size: attribute names plus values (strings in UTF-8 bytes, numbers about one byte per
two significant digits plus one). Query and Scan are billed on the summed size of the items
*read* per response page (at most 1 MB), rounded up to 4 KB; a Scan reads every item,
whatever its filter. Eventually consistent reads (every GSI Query, Scan by default) cost half.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["PAGE_BYTES", "UNIT_BYTES", "item_size", "read_units"]

UNIT_BYTES = 4096
PAGE_BYTES = 1024 * 1024


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, raw), = value.items()  # fmt: skip
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        digits = len(str(raw).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    raise ValueError(f"unsupported attribute type {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB counts for a low-level item (``{"name": {"S": "..."}}``)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def read_units(sizes: Iterable[int], consistent: bool = False) -> float:
    """Read units for reading items of ``sizes`` bytes through paged Query/Scan responses."""
    units = 0
    page = 0
    for size in sizes:
        if page and page + size > PAGE_BYTES:
            units += math.ceil(page / UNIT_BYTES)
            page = 0
        page += size
    if page:
        units += math.ceil(page / UNIT_BYTES)
    return units if consistent else units / 2
