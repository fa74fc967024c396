"""Big rooms split across fan-out workers: every member exactly once, shares that fit."""

from __future__ import annotations

import dataclasses
import json

import pytest

from realtime_socket.contract import ASYNC_INVOKE_PAYLOAD_BYTES
from realtime_socket.handlers import connect, fanout_worker, sendmessage
from realtime_socket.handlers.fanout import FanoutResult
from realtime_socket.handlers.split import (
    HANDOFF_FAILED,
    Share,
    encode_share,
    parse_share,
    split_broadcast,
)
from tests.support.helpers import load_event


@pytest.fixture(autouse=True)
def _instant_backoff(monkeypatch):
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )


def _share(endpoint, frame=b'{"type":"message","seq":7}'):
    return Share("lobby", 7, endpoint.endpoint, frame, [])


def _run_worker(endpoint, cfg, db=None):
    """A hand-off that runs the worker at once, as Lambda would run the Event later."""
    handed = []

    def hand_off(payload: bytes) -> bool:
        assert len(payload) <= ASYNC_INVOKE_PAYLOAD_BYTES
        handed.append(json.loads(payload))
        fanout_worker.handle(handed[-1], db, lambda url: endpoint.api(), cfg)
        return True

    return hand_off, handed


def test_a_room_split_across_five_workers_reaches_every_member_once(endpoint, table):
    """A room over one share is only read by the sender: every member is in a worker's
    share, exactly one."""
    db, cfg = table
    ids = [f"c{i:03d}=" for i in range(23)]
    hand_off, handed = _run_worker(endpoint, cfg, db)
    split = split_broadcast(
        iter(ids), _share(endpoint), api=endpoint.api(), on_gone=lambda ids: None,
        per_invocation=5, hand_off=hand_off,
    )  # fmt: skip
    assert split.result.delivered == 0 and split.workers == 5 and split.handed == 23
    assert [len(h["targets"]) for h in handed] == [5, 5, 5, 5, 3]
    assert sorted(endpoint.posts) == ids
    assert all(copies == [b'{"type":"message","seq":7}'] for copies in endpoint.posts.values())
    assert {h["seq"] for h in handed} == {7}  # the message is numbered once, before the split


class _Here:
    """The receiving invocation's own posting, not under test here: it only counts."""

    def __init__(self):
        self.posted = []

    def broadcast(self, targets, data, on_gone=None):
        self.posted += list(targets)
        return FanoutResult(delivered=len(targets))


def test_shares_close_at_lambdas_async_payload_quota(endpoint):
    frame = json.dumps({"data": "x" * 120_000}).encode()
    ids = [f"{i:016d}AAAA=" for i in range(24_000)]
    payloads = []

    def keep(payload: bytes) -> bool:
        payloads.append(payload)
        return True

    here = _Here()
    split = split_broadcast(
        ids, _share(endpoint, frame), api=here, on_gone=lambda ids: None,
        per_invocation=8_000, hand_off=keep,
    )  # fmt: skip
    assert all(len(p) <= ASYNC_INVOKE_PAYLOAD_BYTES for p in payloads)
    # 8,000 ids of 24 bytes (192 KB) beside a 120 KB frame do not fit: more shares than the
    # count alone makes
    assert len(payloads) > 24_000 // 8_000
    targets = [t for p in payloads for t in json.loads(p)["targets"]]
    assert here.posted == [] and targets == ids and split.handed == 24_000


def test_a_frame_of_non_ascii_text_still_leaves_room_for_shares(endpoint):
    """Frames are UTF-8; a share carries them as UTF-8 too, not as \\u escapes (which would
    make 80 KB of "é" 240 KB and leave no room for ids)."""
    frame = json.dumps({"data": "é" * 40_000}, ensure_ascii=False).encode()
    payloads = []
    split = split_broadcast(
        [f"c{i}" for i in range(30)], _share(endpoint, frame), api=_Here(),
        on_gone=lambda ids: None, per_invocation=10,
        hand_off=lambda payload: payloads.append(payload) or True,
    )  # fmt: skip
    assert split.workers == 3 and all(len(p) <= ASYNC_INVOKE_PAYLOAD_BYTES for p in payloads)
    assert json.loads(payloads[0])["frame"].encode() == frame


def test_a_room_read_that_fails_part_way_still_reaches_those_read(endpoint, lambda_log):
    def members():
        yield from ("a", "b", "c", "d")
        raise RuntimeError("throttled")

    payloads = []
    split = split_broadcast(
        members(), _share(endpoint), api=_Here(), on_gone=lambda ids: None,
        per_invocation=3, hand_off=lambda payload: payloads.append(payload) or True,
    )  # fmt: skip
    assert split.incomplete and split.handed == 4
    assert [t for p in payloads for t in json.loads(p)["targets"]] == ["a", "b", "c", "d"]
    assert [r["event"] for r in lambda_log.records() if "event" in r] == ["room_read_failed"]


def test_a_share_no_worker_took_is_counted_and_logged(endpoint, lambda_log):
    ids = [f"c{i}" for i in range(7)]
    split = split_broadcast(
        ids, _share(endpoint), api=endpoint.api(), on_gone=lambda ids: None,
        per_invocation=3, hand_off=lambda payload: False,
    )  # fmt: skip
    assert split.result.delivered == 0 and split.workers == 0
    assert split.result.failed == {cid: HANDOFF_FAILED for cid in ids}
    [line] = [r for r in lambda_log.records() if r.get("event") == "handoff_failed"]
    assert line["targets"] == 7 and line["room"] == "lobby" and line["level"] == "ERROR"


def test_without_a_worker_the_whole_room_is_posted_here(endpoint):
    ids = [f"c{i}" for i in range(12)]
    split = split_broadcast(
        ids, _share(endpoint), api=endpoint.api(), on_gone=lambda ids: None,
        per_invocation=3, hand_off=None,
    )  # fmt: skip
    assert split.result.delivered == 12 and split.workers == 0


@pytest.mark.parametrize(
    "event",
    [None, [], {"room": "r", "frame": "{}", "endpoint": "e"}, {"room": 1, "frame": "{}",
     "endpoint": "e", "targets": []}, {"room": "r", "frame": "{}", "endpoint": "e",
     "targets": [1]}, {"room": "r", "frame": "{}", "endpoint": "e", "targets": [],
     "seq": "7"}],
)  # fmt: skip
def test_a_worker_refuses_what_is_not_a_share(event, table, lambda_log):
    """Refused once and logged; not raised, which Lambda would retry twice in vain."""
    db, cfg = table
    with pytest.raises(ValueError):
        parse_share(event)
    report = fanout_worker.handle(event, db, lambda url: pytest.fail("posted"), cfg)
    assert report == {"targets": 0, "delivered": 0, "gone": 0, "failed": 0}
    [line] = [r for r in lambda_log.records() if r.get("reason") == "invalid_share"]
    assert line["level"] == "ERROR"


def test_a_worker_posts_only_to_its_configured_endpoint(endpoint, table):
    """The share's endpoint is never signed for: a forged event cannot aim the worker."""
    db, cfg = table
    event = encode_share(Share("lobby", 1, "http://attacker.example/x", b"{}", ["A"]))
    asked = []
    fanout_worker.handle(
        json.loads(event), db, lambda url: asked.append(url) or endpoint.api(), cfg
    )
    assert asked == [cfg.management_endpoint]
    with pytest.raises(RuntimeError, match="MANAGEMENT_ENDPOINT"):
        unset = dataclasses.replace(cfg, management_endpoint=None)
        fanout_worker.handle(json.loads(event), db, lambda url: endpoint.api(), unset)


def test_the_worker_cleans_its_410s_and_reports(endpoint, table, lambda_log):
    db, cfg = table
    for cid in ("G", "H"):
        event = load_event("connect", connectionId=cid, authorizer={"principalId": "u"})
        event["queryStringParameters"] = {"room_id": "lobby"}
        connect.handle(event, db, cfg)
    endpoint.script["G"] = [410]
    event = json.loads(
        json.dumps(dataclasses.asdict(_share(endpoint)) | {"frame": "{}", "targets": ["G", "H"]})
    )
    report = fanout_worker.handle(event, db, lambda url: endpoint.api(), cfg)
    assert report == {"targets": 2, "delivered": 1, "gone": 1, "failed": 0}
    assert "G" not in {i["connectionId"]["S"] for i in db.scan(TableName=cfg.table_name)["Items"]}
    [line] = [r for r in lambda_log.records() if r.get("route") == "fanout-worker"]
    assert line["room"] == "lobby" and line["seq"] == 7 and line["outcome"] == "ok"


def test_sendmessage_splits_a_room_bigger_than_its_share(table, endpoint, lambda_log):
    db, cfg = table
    cfg = dataclasses.replace(cfg, fanout_share=3, fanout_function="chat-fanout-worker")
    ids = [f"M{i:02d}" for i in range(14)]
    for cid in ids:
        event = load_event("connect", connectionId=cid, authorizer={"principalId": cid})
        event["queryStringParameters"] = {"room_id": "lobby"}
        assert connect.handle(event, db, cfg)["statusCode"] == 200
    hand_off, handed = _run_worker(endpoint, cfg, db)
    event = load_event("sendmessage", connectionId="M00")
    event["body"] = json.dumps({"action": "sendmessage", "data": "hi"})
    assert sendmessage.handle(event, db, endpoint.api(), cfg, hand_off)["statusCode"] == 200
    assert sorted(endpoint.posts) == ids
    frames = [json.loads(copy) for copies in endpoint.posts.values() for copy in copies]
    assert len(frames) == 14 and len({(f["id"], f["seq"]) for f in frames}) == 1
    assert len(handed) == 5  # 3 + 3 + 3 + 3 + 2, none posted by the sender
    [line] = [r for r in lambda_log.records() if r.get("route") == "sendmessage" and "workers" in r]
    assert line["workers"] == 5 and line["handed"] == 14 and line["delivered"] == 0


def test_the_invoker_hands_shares_as_asynchronous_events(table):
    _, cfg = table
    calls = []

    class Lambda:
        def invoke(self, **kwargs):
            calls.append(kwargs)

    cfg = dataclasses.replace(cfg, fanout_function="chat-fanout-worker")
    hand_off = sendmessage.invoker(cfg, Lambda)
    assert hand_off is not None and hand_off(b"{}")
    assert calls == [
        {"FunctionName": "chat-fanout-worker", "InvocationType": "Event", "Payload": b"{}"}
    ]
    assert sendmessage.invoker(dataclasses.replace(cfg, fanout_function=""), Lambda) is None
