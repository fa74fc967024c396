"""requests.py: pending server requests in the connections table; one conditional UpdateItem
lets a target connection answer once, and refuses everyone and everything else."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from realtime_socket.contract import Table
from realtime_socket.handlers import requests, settings
from tests.support.helpers import table_items

Fixture = tuple[Any, settings.Settings]


def _rid() -> str:
    return uuid.uuid4().hex


def _open(db: Any, cfg: settings.Settings, targets: list[str], ttl_in: int = 60) -> str:
    rid = _rid()
    requests.open_request(db, cfg.table_name, rid, targets, int(time.time()) + ttl_in)
    return rid


def _item(db: Any, cfg: settings.Settings, rid: str) -> dict[str, Any] | None:
    return table_items(db, cfg.table_name).get(f"{Table.REQUEST_PREFIX}{rid}")


def test_open_request_writes_one_item_naming_its_targets_and_ttl(table: Fixture) -> None:
    """The item is keyed ``request#<id>``, with the deduplicated targets and the ttl, no reply."""
    db, cfg = table
    rid = _rid()
    requests.open_request(db, cfg.table_name, rid, ["B", "A", "B"], 1234567890)
    assert table_items(db, cfg.table_name) == {
        f"request#{rid}": {
            Table.CONNECTION_ID: {"S": f"request#{rid}"},
            Table.TARGETS: {"SS": ["A", "B"]},
            Table.TTL: {"N": "1234567890"},
        }
    }


def test_a_targets_answer_is_stored_and_read_back(table: Fixture) -> None:
    """A target's answer is stored with who gave it, and read_reply returns its JSON text."""
    db, cfg = table
    rid = _open(db, cfg, ["A", "B"])
    assert requests.answer(db, cfg.table_name, rid, "B", '{"ok":true}') is True
    assert requests.read_reply(db, cfg.table_name, rid) == '{"ok":true}'
    item = _item(db, cfg, rid)
    assert item is not None
    assert item[Table.REPLY] == {"S": '{"ok":true}'}
    assert item[Table.REPLIED_BY] == {"S": "B"}


def test_read_reply_is_none_before_an_answer_and_for_an_unknown_id(table: Fixture) -> None:
    """No answer yet, or no such request: None (not an empty string, not an error)."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    assert requests.read_reply(db, cfg.table_name, rid) is None
    assert requests.read_reply(db, cfg.table_name, _rid()) is None


def test_a_connection_the_request_was_not_sent_to_is_refused(table: Fixture) -> None:
    """A non-target gets False and the item is unchanged; a target can still answer after."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    before = _item(db, cfg, rid)
    assert requests.answer(db, cfg.table_name, rid, "X", '"forged"') is False
    assert _item(db, cfg, rid) == before
    assert requests.answer(db, cfg.table_name, rid, "A", '"real"') is True
    assert requests.read_reply(db, cfg.table_name, rid) == '"real"'


def test_a_second_answer_is_refused_and_the_first_is_kept(table: Fixture) -> None:
    """Once answered, neither the same target nor another target can overwrite the answer."""
    db, cfg = table
    rid = _open(db, cfg, ["A", "B"])
    assert requests.answer(db, cfg.table_name, rid, "A", "1") is True
    answered = _item(db, cfg, rid)
    assert requests.answer(db, cfg.table_name, rid, "A", "2") is False
    assert requests.answer(db, cfg.table_name, rid, "B", "3") is False
    assert _item(db, cfg, rid) == answered
    assert requests.read_reply(db, cfg.table_name, rid) == "1"


def test_an_expired_request_is_refused(table: Fixture) -> None:
    """A request past its ttl (not yet removed by DynamoDB's TTL) takes no answer."""
    db, cfg = table
    rid = _open(db, cfg, ["A"], ttl_in=-5)
    before = _item(db, cfg, rid)
    assert requests.answer(db, cfg.table_name, rid, "A", "1") is False
    assert _item(db, cfg, rid) == before


def test_a_request_expires_at_its_ttl_second(
    table: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At ``now == ttl`` the request is already expired; one second before it is not."""
    db, cfg = table
    now = int(time.time())
    monkeypatch.setattr(time, "time", lambda: float(now))  # requests reads time.time()
    at_now, later = _rid(), _rid()
    requests.open_request(db, cfg.table_name, at_now, ["A"], now)
    requests.open_request(db, cfg.table_name, later, ["A"], now + 1)
    assert requests.answer(db, cfg.table_name, at_now, "A", "1") is False
    assert requests.answer(db, cfg.table_name, later, "A", "1") is True


def test_a_closed_request_is_refused_and_no_item_is_created(table: Fixture) -> None:
    """After close (the backend gave up), an answer is refused and does not recreate the item."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    requests.close(db, cfg.table_name, rid)
    assert _item(db, cfg, rid) is None
    assert requests.answer(db, cfg.table_name, rid, "A", "1") is False
    assert table_items(db, cfg.table_name) == {}


def test_an_answer_to_an_id_never_opened_creates_nothing(table: Fixture) -> None:
    """UpdateItem on a key that does not exist fails its condition: no item appears."""
    db, cfg = table
    assert requests.answer(db, cfg.table_name, _rid(), "A", "1") is False
    assert table_items(db, cfg.table_name) == {}


def test_close_removes_only_its_own_request(table: Fixture) -> None:
    """Closing one request leaves another, and is harmless for an id that is already gone."""
    db, cfg = table
    first, second = _open(db, cfg, ["A"]), _open(db, cfg, ["A"])
    requests.close(db, cfg.table_name, first)
    requests.close(db, cfg.table_name, first)
    assert set(table_items(db, cfg.table_name)) == {f"request#{second}"}


def test_the_request_key_cannot_be_a_connection_row(table: Fixture) -> None:
    """The key is prefixed ``request#``: answering never touches a row keyed by the bare id."""
    db, cfg = table
    rid = _rid()
    db.put_item(
        TableName=cfg.table_name,
        Item={
            Table.CONNECTION_ID: {"S": rid},
            Table.TARGETS: {"SS": ["A"]},
            Table.TTL: {"N": str(int(time.time()) + 60)},
        },
    )
    assert requests.request_key(rid) == {Table.CONNECTION_ID: {"S": f"request#{rid}"}}
    assert requests.answer(db, cfg.table_name, rid, "A", "1") is False
    assert Table.REPLY not in table_items(db, cfg.table_name)[rid]


#: A fixed UUID4: parameters must be the same in every collection (pytest-xdist's workers).
_A_UUID4 = uuid.UUID("9031500c-abe6-4a3c-bf11-69cd93350bb7")


@pytest.mark.parametrize("value", [_A_UUID4.hex, "0" * 32, "0123456789abcdef" * 2])
def test_32_lowercase_hex_digits_are_a_request_id(value: str) -> None:
    """A UUID4's ``hex`` (and any 32 lowercase hex digits) has the shape of a request id."""
    assert requests.is_request_id(value) is True


@pytest.mark.parametrize(
    "value",
    [
        _A_UUID4.hex.upper(),
        "A" + "0" * 31,
        "0" * 31,
        "0" * 33,
        "0" * 32 + "\n",
        "g" * 32,
        str(_A_UUID4),
        "",
        None,
        12345678901234567890123456789012,
        b"0" * 32,
        ["0" * 32],
    ],
)
def test_anything_else_is_not_a_request_id(value: object) -> None:
    """Uppercase, 31 or 33 digits, a trailing newline, non-hex, a dashed UUID, non-strings."""
    assert requests.is_request_id(value) is False
