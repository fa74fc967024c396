"""reply: a device answers a pending server request. Success posts nothing; every refusal is
one error frame posted to the caller only, and leaves the pending request as it was."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from realtime_socket.contract import MAX_REPLY_BYTES, Table
from realtime_socket.handlers import reply, requests, settings
from tests.support.helpers import ScriptedConnections, load_event, table_items

Fixture = tuple[Any, settings.Settings]


@pytest.fixture(autouse=True)
def _instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )


def _open(db: Any, cfg: settings.Settings, targets: list[str], ttl_in: int = 60) -> str:
    rid = uuid.uuid4().hex
    requests.open_request(db, cfg.table_name, rid, targets, int(time.time()) + ttl_in)
    return rid


def _reply(
    db: Any, cfg: settings.Settings, endpoint: ScriptedConnections, body: Any, cid: str = "A"
) -> dict[str, Any]:
    event = load_event("sendmessage", connectionId=cid, routeKey="reply")
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    answer = reply.handle(event, db, endpoint.api(), cfg)
    assert answer == {"statusCode": 200}
    return answer


def _item(db: Any, cfg: settings.Settings, rid: str) -> dict[str, Any] | None:
    return table_items(db, cfg.table_name).get(f"{Table.REQUEST_PREFIX}{rid}")


def _only_error(endpoint: ScriptedConnections, cid: str = "A") -> dict[str, Any]:
    """The one frame posted, which must be an error frame to ``cid`` and nobody else."""
    assert set(endpoint.posts) == {cid}
    [frame] = endpoint.frames(cid)
    assert set(frame) == {"type", "code", "message"}
    assert frame["type"] == "error"
    assert isinstance(frame["message"], str) and frame["message"]
    return frame


def test_an_answer_is_stored_and_nothing_is_posted(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """The target's data is stored as compact JSON with who answered; the caller gets no frame."""
    db, cfg = table
    rid = _open(db, cfg, ["A", "B"])
    body = '{"action": "reply", "id": "' + rid + '", "data": {"ok": true, "n": [1, 2]}}'
    _reply(db, cfg, endpoint, body)
    assert requests.read_reply(db, cfg.table_name, rid) == '{"ok":true,"n":[1,2]}'
    item = _item(db, cfg, rid)
    assert item is not None and item[Table.REPLIED_BY] == {"S": "A"}
    assert endpoint.posts == {}
    assert endpoint.attempts == {}


def test_non_ascii_data_is_stored_unescaped(table: Fixture, endpoint: ScriptedConnections) -> None:
    """UTF-8 text is kept as it is (no \\u escapes), as the size limit counts it."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": "h\u00e9llo \u2603"})
    assert requests.read_reply(db, cfg.table_name, rid) == '"h\u00e9llo \u2603"'
    assert endpoint.posts == {}


def test_null_data_is_an_answer(table: Fixture, endpoint: ScriptedConnections) -> None:
    """``"data": null`` is present, so it is an answer (stored ``null``), not missing_data."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": None})
    assert requests.read_reply(db, cfg.table_name, rid) == "null"
    assert endpoint.posts == {}


def test_a_request_sent_to_another_connection_is_unknown_request(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """A cannot answer B's request: unknown_request to A only; B can still answer afterwards."""
    db, cfg = table
    rid = _open(db, cfg, ["B"])
    before = _item(db, cfg, rid)
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": "forged"}, cid="A")
    assert _only_error(endpoint, "A")["code"] == "unknown_request"
    assert _item(db, cfg, rid) == before
    endpoint.posts.clear()
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": "real"}, cid="B")
    assert requests.read_reply(db, cfg.table_name, rid) == '"real"'
    assert endpoint.posts == {}


def test_a_second_answer_is_unknown_request_and_the_first_is_kept(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """Answering again (the same or another target) is refused; the first answer stays."""
    db, cfg = table
    rid = _open(db, cfg, ["A", "B"])
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": 1}, cid="A")
    answered = _item(db, cfg, rid)
    for cid in ("A", "B"):
        endpoint.posts.clear()
        _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": 2}, cid=cid)
        assert _only_error(endpoint, cid)["code"] == "unknown_request"
    assert _item(db, cfg, rid) == answered
    assert requests.read_reply(db, cfg.table_name, rid) == "1"


def test_an_expired_request_is_unknown_request(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """A request past its ttl is refused like an unknown one, and keeps no answer."""
    db, cfg = table
    rid = _open(db, cfg, ["A"], ttl_in=-5)
    before = _item(db, cfg, rid)
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": 1})
    assert _only_error(endpoint)["code"] == "unknown_request"
    assert _item(db, cfg, rid) == before


def test_a_closed_or_never_opened_request_is_unknown_request_and_creates_nothing(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """An id the backend gave up on (deleted), or one never used: refused, no item written."""
    db, cfg = table
    closed = _open(db, cfg, ["A"])
    requests.close(db, cfg.table_name, closed)
    for rid in (closed, uuid.uuid4().hex):
        endpoint.posts.clear()
        _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": 1})
        assert _only_error(endpoint)["code"] == "unknown_request"
    assert table_items(db, cfg.table_name) == {}


_MISSING = object()


@pytest.mark.parametrize(
    "malform",
    [
        pytest.param(str.upper, id="uppercase"),
        pytest.param(lambda rid: rid[:-1], id="31-digits"),
        pytest.param(lambda rid: rid + "0", id="33-digits"),
        pytest.param(lambda rid: rid + "\n", id="trailing-newline"),
        pytest.param(lambda rid: [rid], id="in-a-list"),
        pytest.param(lambda rid: None, id="null"),
        pytest.param(lambda rid: int(rid, 16), id="a-number"),
        pytest.param(lambda rid: _MISSING, id="missing"),
    ],
)
def test_a_malformed_id_is_unknown_request(
    table: Fixture, endpoint: ScriptedConnections, malform: Callable[[str], Any]
) -> None:
    """No id, or one not 32 lowercase hex digits: unknown_request, the real request untouched."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    before = table_items(db, cfg.table_name)
    body: dict[str, Any] = {"action": "reply", "data": 1}
    request_id = malform(rid)
    if request_id is not _MISSING:
        body["id"] = request_id
    _reply(db, cfg, endpoint, body)
    assert _only_error(endpoint)["code"] == "unknown_request"
    assert table_items(db, cfg.table_name) == before


def test_missing_data_is_missing_data(table: Fixture, endpoint: ScriptedConnections) -> None:
    """A reply without a ``data`` field is missing_data and does not answer the request."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    before = _item(db, cfg, rid)
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid})
    assert _only_error(endpoint)["code"] == "missing_data"
    assert _item(db, cfg, rid) == before
    endpoint.posts.clear()
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": "late but fine"})
    assert requests.read_reply(db, cfg.table_name, rid) == '"late but fine"'


def test_data_of_exactly_the_limit_is_accepted(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """Data whose compact JSON is exactly MAX_REPLY_BYTES bytes is stored whole."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    data = "x" * (MAX_REPLY_BYTES - 2)  # the two quotes make it MAX_REPLY_BYTES
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": data})
    stored = requests.read_reply(db, cfg.table_name, rid)
    assert stored is not None and len(stored.encode()) == MAX_REPLY_BYTES
    assert json.loads(stored) == data
    assert endpoint.posts == {}


@pytest.mark.parametrize(
    "data",
    [
        "x" * (MAX_REPLY_BYTES - 1),  # MAX_REPLY_BYTES + 1 bytes of JSON
        "\u00e9" * (MAX_REPLY_BYTES // 2),  # fewer characters than the limit, more bytes
    ],
    ids=["one-byte-over", "multibyte"],
)
def test_data_over_the_limit_is_reply_too_large(
    table: Fixture, endpoint: ScriptedConnections, data: str
) -> None:
    """One byte over the limit (counted in UTF-8 bytes, not characters): reply_too_large."""
    db, cfg = table
    encoded = json.dumps(data, ensure_ascii=False)
    assert len(encoded) <= MAX_REPLY_BYTES + 1 < len(encoded.encode()) + 1
    rid = _open(db, cfg, ["A"])
    before = _item(db, cfg, rid)
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": data})
    frame = _only_error(endpoint)
    assert frame["code"] == "reply_too_large"
    assert str(MAX_REPLY_BYTES) in frame["message"]
    assert _item(db, cfg, rid) == before


def test_the_limit_counts_compact_json_not_the_frames_spacing(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """Whitespace in the frame does not count: the data is measured re-encoded compactly."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    padded = "[" + " " * 100 + '"' + "x" * (MAX_REPLY_BYTES - 4) + '"' + " " * 100 + "]"
    compact = json.dumps(json.loads(padded), separators=(",", ":"))
    assert len(compact) == MAX_REPLY_BYTES < len(padded)
    body = '{"action":"reply","id":"' + rid + '","data":' + padded + "}"
    _reply(db, cfg, endpoint, body)
    assert endpoint.posts == {}
    assert requests.read_reply(db, cfg.table_name, rid) == compact


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '"reply"',
        "null",
        "",
        None,
        '{"action":"reply","id":"' + "0" * 32 + '","data":NaN}',
        '{"action":"reply","id":"' + "0" * 32 + '","data":"\\ud800"}',
    ],
)
def test_a_body_that_is_not_a_json_object_is_invalid_frame(
    table: Fixture, endpoint: ScriptedConnections, body: str | None
) -> None:
    """Not JSON, JSON that is not an object, or data that is not RFC 8259 JSON (NaN, a lone
    surrogate, which once crashed the handler): invalid_frame, and the request is untouched."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    before = table_items(db, cfg.table_name)
    _reply(db, cfg, endpoint, body)
    assert _only_error(endpoint)["code"] == "invalid_frame"
    assert table_items(db, cfg.table_name) == before
    assert requests.read_reply(db, cfg.table_name, rid) is None


def test_a_refusal_is_logged_with_its_reason(
    table: Fixture, endpoint: ScriptedConnections, lambda_log: Any
) -> None:
    """The event's log line says rejected and names the error code; success says ok and
    names the request, so an operator can follow one request from backend to device."""
    db, cfg = table
    rid = _open(db, cfg, ["A"])
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid}, cid="A")
    _reply(db, cfg, endpoint, {"action": "reply", "id": rid, "data": 1}, cid="A")
    first, second = lambda_log.events()
    assert first["route"] == "reply"
    assert (first["outcome"], first["reason"]) == ("rejected", "missing_data")
    assert (second["outcome"], second["bytes"], second["request"]) == ("ok", 1, rid)
    assert "reason" not in second
