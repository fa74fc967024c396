"""Big rooms split across fan-out workers: every member exactly once, shares that fit."""

from __future__ import annotations

import dataclasses
import json

import pytest

from realtime_socket.contract import ASYNC_INVOKE_PAYLOAD_BYTES
from realtime_socket.handlers import connect, fanout_worker, sendmessage
from realtime_socket.handlers.fanout import FanoutResult
from realtime_socket.handlers.split import HANDOFF_FAILED, Share, parse_share, split_broadcast
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


def test_a_room_split_across_four_workers_reaches_every_member_once(endpoint, table):
    db, cfg = table
    ids = [f"c{i:03d}=" for i in range(23)]
    hand_off, handed = _run_worker(endpoint, cfg, db)
    split = split_broadcast(
        iter(ids), _share(endpoint), api=endpoint.api(), on_gone=lambda ids: None,
        per_invocation=5, hand_off=hand_off,
    )  # fmt: skip
    assert split.result.delivered == 5 and split.workers == 4 and split.handed == 18
    assert [len(h["targets"]) for h in handed] == [5, 5, 5, 3]
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
    assert len(payloads) > 16_000 // 8_000
    targets = [t for p in payloads for t in json.loads(p)["targets"]]
    assert here.posted + targets == ids and split.handed == 16_000


def test_a_share_no_worker_took_is_counted_and_logged(endpoint, lambda_log):
    ids = [f"c{i}" for i in range(7)]
    split = split_broadcast(
        ids, _share(endpoint), api=endpoint.api(), on_gone=lambda ids: None,
        per_invocation=3, hand_off=lambda payload: False,
    )  # fmt: skip
    assert split.result.delivered == 3 and split.workers == 0
    assert split.result.failed == {cid: HANDOFF_FAILED for cid in ids[3:]}
    [line] = [r for r in lambda_log.records() if r.get("event") == "handoff_failed"]
    assert line["targets"] == 4 and line["room"] == "lobby" and line["level"] == "ERROR"


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
def test_a_worker_refuses_what_is_not_a_share(event):
    with pytest.raises(ValueError):
        parse_share(event)


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
    assert len(handed) == 4  # 3 here, then 3 + 3 + 3 + 2
    [line] = [r for r in lambda_log.records() if r.get("route") == "sendmessage"]
    assert line["workers"] == 4 and line["handed"] == 11 and line["delivered"] == 3


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
