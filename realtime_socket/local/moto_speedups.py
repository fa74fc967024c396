"""Where moto's server does work that grows with the table, or redoes per request what never
changes.

- moto (5.2) answers every Query by sorting *all* items of the table and then keeping the
  ones the key condition matches;
- it rolls a TransactWriteItems back from a deep copy of every table the transaction names,
  taken before each transaction;
- for every request it lists its own package folder (which service is this host?) and
  inspects the response class for its methods.

The first two grow with the table: the connections table with every client, the history
table with every message. Past the sort, a Query on an index still tested every item of the
table (a quarter of the emulation's time under ``bench/runtime.py``'s load, py-spy): the
items that match an index's string key are kept per table until a write could change them
(a put, a delete, a rolled-back transaction, or an update whose expression names an index
key attribute). Under the local runtime's benchmark load they were most of the
emulation's time; the last two are a fifth of a GetItem. ``bench/emulation.py`` measures
moto with and without these patches in one run. DynamoDB itself does none of it.

:func:`install` patches them in the emulation's own process (``moto_server.main``) and keeps
moto's answers: the same items in the same order, the same pages, the same errors, and a
failed transaction leaves every item as it was. ``tests/local/test_moto_speedups.py`` runs
the same operations on patched and unpatched moto and compares what they return.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.loaders import Loader
from moto import backends
from moto.core import responses
from moto.dynamodb import models as backend_module
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

__all__ = ["install", "installed", "shared_botocore_data", "uninstall"]

_ORIGINAL: dict[str, Any] = {}
_query_scope = threading.local()
#: Where a table keeps its index Query candidates (an attribute of moto's Table object).
_KEPT = "_realtime_socket_candidates"


def _base_key(item: Item) -> Any:
    """The order ``Table.all_items`` returns items in: by the table's own key."""
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


def _all_items(self: Table) -> list[Item]:
    """Within a Query: the candidates unsorted, and only the queried partition's for a
    Query on the table itself (moto filters them by hash key right after)."""
    scope = getattr(_query_scope, "table", None)
    if scope is not self:
        return _ORIGINAL["all_items"](self)  # type: ignore[no-any-return]
    partition = getattr(_query_scope, "partition", None)
    if partition is not None:
        found = self.items.get(partition)  # .get: ``items`` is a defaultdict
        if found is None:
            return []
        return list(found.values()) if self.range_key_attr else [found]
    strings = tuple(getattr(_query_scope, "strings", ()))
    kept = _candidates(self)
    if strings and strings in kept:
        return list(kept[strings])
    if self.range_key_attr:
        items = [item for partition in self.items.values() for item in partition.values()]
    else:
        items = list(self.items.values())
    for name, value in strings:
        # moto compares each candidate's index key with DynamoType's slow __eq__; a string
        # equals only the same string, so drop the others first (moto still checks the rest)
        items = [i for i in items if (a := i.attrs.get(name)) is not None and a.value == value]
    if strings:
        kept[strings] = list(items)
    return items


def _candidates(table: Table) -> dict[tuple[tuple[str, str], ...], list[Item]]:
    """The table's kept candidates: index key strings -> the items holding them."""
    kept: dict[tuple[tuple[str, str], ...], list[Item]] | None = table.__dict__.get(_KEPT)
    if kept is None:
        kept = table.__dict__[_KEPT] = {}
    return kept


def _forget(table: Table) -> None:
    table.__dict__.pop(_KEPT, None)


def _index_key_names(table: Table) -> set[str]:
    return {
        key["AttributeName"]
        for index in table.all_indexes()
        for key in index.schema
        if "AttributeName" in key
    }


_NAME = re.compile(r"#?[A-Za-z0-9_]+")


def _may_change_index_keys(
    table: Table, expression: str | None, names: dict[str, str] | None, legacy: Any
) -> bool:
    """Whether an update could change an index key attribute: its expression names one (a
    name in any position counts), or it uses the legacy ``AttributeUpdates``."""
    if legacy or not expression:
        return True
    named = {(names or {}).get(token, token) for token in _NAME.findall(expression)}
    return bool(named & _index_key_names(table))


def _table_put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    try:
        return _ORIGINAL["table_put_item"](self, *args, **kwargs)
    finally:
        _forget(self)


def _table_delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    try:
        return _ORIGINAL["table_delete_item"](self, *args, **kwargs)
    finally:
        _forget(self)


def _update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
    """moto's UpdateItem; the table's kept candidates go when it may change an index key
    (a new item goes through ``Table.put_item``, which forgets them too)."""
    names = ("key", "update_expression", "expression_attribute_names")
    given = dict(zip(names, args, strict=False)) | kwargs
    table = self.tables.get(table_name)
    try:
        return _ORIGINAL["update_item"](self, table_name, *args, **kwargs)
    finally:
        if table is not None and _may_change_index_keys(
            table,
            given.get("update_expression"),
            given.get("expression_attribute_names"),
            given.get("attribute_updates") or (args[4] if len(args) > 4 else None),
        ):
            _forget(table)


def _sorted_items(
    self: Table, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Item]
) -> list[Item]:
    """Within a Query on an index: the matches in table-key order first, as moto's full sort
    would have left them, then moto's own sort by the index's keys."""
    if getattr(_query_scope, "table", None) is self:
        items.sort(key=_base_key)
    return _ORIGINAL["sorted_items"](self, hash_key_attrs, range_key_attrs, items)  # type: ignore[no-any-return]


def _query(
    self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any
) -> tuple[list[Item], int, dict[str, Any] | None]:
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    try:
        _query_scope.table = self
        _query_scope.partition = hash_key if not index_name else None
        conditions = kwargs.get("hash_key_conditions") or [] if index_name else []
        _query_scope.strings = [(n, v.value) for n, v in conditions if v.type == "S"]
        return _ORIGINAL["query"](self, hash_key, *args, **kwargs)  # type: ignore[no-any-return]
    finally:
        _query_scope.table = None
        _query_scope.partition = None
        _query_scope.strings = ()


class _TablesByReference:
    """``copy`` as moto's backend module sees it: "copying" a Table returns the table.

    moto's transaction takes these copies to restore on failure; :func:`_transact_write_items`
    restores the items the transaction names instead, which is all a transaction can change.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _targets(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Iterator[Any]:
    """(table, hash key, range key) of each item a transaction names; malformed entries are
    skipped here and refused by moto."""
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = backend.tables[op["TableName"]]
            key = op.get("Key") or op["Item"]
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, StopIteration, TypeError, AttributeError):
            continue
        yield table, hash_key, range_key


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's transaction, rolled back item by item (stream records of a failed one stay:
    the program declares no streams)."""
    saved = []
    for table, hash_key, range_key in _targets(self, transact_items):
        try:
            item = table.get_item(hash_key, range_key)
        except Exception:  # noqa: S112 - a key moto refuses: it changes nothing
            continue
        saved.append((table, hash_key, range_key, copy.deepcopy(item)))
    try:
        _ORIGINAL["transact_write_items"](self, transact_items)
    except BaseException:
        for table, hash_key, range_key, item in reversed(saved):
            _restore(table, hash_key, range_key, item)
        raise


def _restore(table: Table, hash_key: DynamoType, range_key: DynamoType | None, item: Any) -> None:
    _forget(table)
    if item is None:
        if range_key is None:
            table.items.pop(hash_key, None)
        elif hash_key in table.items:
            table.items[hash_key].pop(range_key, None)
            if not table.items[hash_key]:
                del table.items[hash_key]
    elif range_key is None:
        table.items[hash_key] = item
    else:
        table.items[hash_key][range_key] = item


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    """moto's service folders: the package does not change while the server runs."""
    return tuple(_ORIGINAL["list_of_moto_modules"]())


@functools.cache
def _method_names(clazz: object) -> list[str]:
    """A response class's actions: classes do not change while the server runs."""
    return _ORIGINAL["method_names_from_class"](clazz)  # type: ignore[no-any-return]


_PATCHES: dict[str, tuple[Any, str, Callable[..., Any] | Any]] = {
    "all_items": (Table, "all_items", _all_items),
    "sorted_items": (Table, "sorted_items", _sorted_items),
    "query": (Table, "query", _query),
    "transact_write_items": (DynamoDBBackend, "transact_write_items", _transact_write_items),
    "table_put_item": (Table, "put_item", _table_put_item),
    "table_delete_item": (Table, "delete_item", _table_delete_item),
    "update_item": (DynamoDBBackend, "update_item", _update_item),
    "copy": (backend_module, "copy", _TablesByReference()),
    "list_of_moto_modules": (backends, "list_of_moto_modules", _moto_modules),
    "method_names_from_class": (responses, "method_names_from_class", _method_names),
}


def install() -> None:
    """Patch moto in this process (idempotent)."""
    if _ORIGINAL:
        return
    for name, (owner, attribute, replacement) in _PATCHES.items():
        _ORIGINAL[name] = getattr(owner, attribute)
        setattr(owner, attribute, replacement)


def uninstall() -> None:
    """Put moto back as it was (tests compare the two)."""
    for name, (owner, attribute, _) in _PATCHES.items():
        if name in _ORIGINAL:
            setattr(owner, attribute, _ORIGINAL.pop(name))


@contextmanager
def shared_botocore_data() -> Iterator[None]:
    """Within it, botocore's data files are read and parsed once for every session.

    Importing moto's SSM imports its EC2, which builds three boto3 sessions at import time
    to list regions; each loads botocore's endpoint data and EC2's service model afresh
    (0.55 s of the emulation's 2 s start-up here). The data is the same files every time.
    """
    original = Loader.load_data_with_path
    loaded: dict[str, Any] = {}

    def load_data_with_path(self: Loader, name: str) -> Any:
        if name not in loaded:
            loaded[name] = original(self, name)
        return loaded[name]

    Loader.load_data_with_path = load_data_with_path  # type: ignore[method-assign]
    try:
        yield
    finally:
        Loader.load_data_with_path = original  # type: ignore[method-assign]


@contextmanager
def installed() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()
