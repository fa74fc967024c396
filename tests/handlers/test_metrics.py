"""Metrics: valid EMF documents on stdout, named as the contract says, one per invocation,
counting what the handlers did and holding no token, connection id or message."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from typing import Any

import pytest

from bench.scenarios.attacks import attack_tokens
from realtime_socket.contract import ROOM_GRANTS_CONTEXT_KEY, Metrics
from realtime_socket.handlers import authorizer, connect, fanout_worker, metrics, sendmessage
from realtime_socket.local.invoker import metrics_line, readable_output
from tests.handlers.auth_harness import authorize, event_with
from tests.support.helpers import load_event, mint

UNITS = {"Count", "Seconds"}
#: Every reason the authorizer may put on ``Refused``: a fixed handful.
AUTHORIZER_CODES = {
    "missing_token",
    "token_too_large",
    "malformed",
    "expired",
    "not_yet_valid",
    "unknown_key",
    "misconfigured",
    "invalid",
    "unusable_sub",
}


@pytest.fixture(autouse=True)
def _namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(metrics.NAMESPACE_ENV, "chat")


@pytest.fixture(autouse=True)
def _instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )


def assert_valid_emf(doc: dict[str, Any]) -> None:
    """The specification's rules for the root node, ``_aws`` and each directive."""
    aws = doc["_aws"]
    assert set(aws) == {"Timestamp", "CloudWatchMetrics"}
    assert isinstance(aws["Timestamp"], int)
    assert abs(aws["Timestamp"] - time.time() * 1000) < 60_000  # epoch milliseconds
    assert aws["CloudWatchMetrics"]
    for directive in aws["CloudWatchMetrics"]:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert directive["Namespace"] == Metrics.NAMESPACE
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(doc[name], str) and doc[name]
        for metric in directive["Metrics"]:
            assert set(metric) == {"Name", "Unit"} and metric["Unit"] in UNITS
            value = doc[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool)


def emf_lines(out: str) -> list[dict[str, Any]]:
    """Every stdout line, parsed: each must be a whole EMF document (the test fails on any
    other line, so a document wrapped in a log record or split over lines fails too)."""
    docs = [json.loads(line) for line in out.splitlines()]
    for doc in docs:
        assert_valid_emf(doc)
    return docs


def metric_names(doc: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each metric's dimension sets."""
    return {
        m["Name"]: tuple(tuple(s) for s in d["Dimensions"])
        for d in doc["_aws"]["CloudWatchMetrics"]
        for m in d["Metrics"]
    }


# -- the document ------------------------------------------------------------------------


def test_a_broadcast_document_is_valid_emf_with_the_contracts_names():
    """Six metrics under [Namespace], FanoutSeconds in Seconds, the rest Counts."""
    doc = metrics.document("sendmessage", {Metrics.DELIVERED: 3, Metrics.FANOUT_SECONDS: 0.5})
    assert_valid_emf(doc)
    assert metric_names(doc) == {
        Metrics.DELIVERED: ((Metrics.DIMENSION,),),
        Metrics.FANOUT_SECONDS: ((Metrics.DIMENSION,),),
    }
    units = {m["Name"]: m["Unit"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {Metrics.DELIVERED: "Count", Metrics.FANOUT_SECONDS: "Seconds"}
    assert doc[Metrics.DIMENSION] == "chat"
    assert Metrics.REASON_DIMENSION not in doc


def test_refused_carries_namespace_and_reason_dimensions():
    doc = metrics.document("$connect", {Metrics.REFUSED: 1}, reason="too_many_connections")
    assert_valid_emf(doc)
    assert metric_names(doc) == {
        Metrics.REFUSED: ((Metrics.DIMENSION, Metrics.REASON_DIMENSION),),
    }
    assert doc[Metrics.REASON_DIMENSION] == "too_many_connections"
    with pytest.raises(ValueError, match="reason"):
        metrics.document("$connect", {Metrics.REFUSED: 1})


def test_without_the_namespace_variable_the_dimension_says_unknown(monkeypatch):
    monkeypatch.delenv(metrics.NAMESPACE_ENV)
    doc = metrics.document("sendmessage", {Metrics.DELIVERED: 1})
    assert doc[Metrics.DIMENSION] == metrics.UNKNOWN_NAMESPACE == "unknown"


def test_nothing_to_count_prints_nothing(capsys):
    metrics.emit("sendmessage", {})
    assert capsys.readouterr().out == ""


def test_emitting_is_cheap():
    """The authorizer refuses a garbage token in tens of µs: a refusal's line adds a few."""
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        started = time.perf_counter()
        for _ in range(2000):
            metrics.refused("authorizer", "malformed")
        each = (time.perf_counter() - started) / 2000
    assert len(stream.getvalue().splitlines()) == 2000
    assert each < 50e-6  # typically 3-6 µs; generous for a loaded CI machine


# -- the handlers ------------------------------------------------------------------------


def _join(db, cfg, cid, room="lobby"):
    event = load_event("connect", connectionId=cid, authorizer={"principalId": cid, "sub": cid})
    event["queryStringParameters"] = {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200


def _send(db, endpoint, cfg, body, cid="conn-AAAA="):
    event = load_event("sendmessage", connectionId=cid)
    event["body"] = json.dumps(body)
    return sendmessage.handle(event, db, endpoint.api(), cfg)


def test_a_broadcast_with_one_410_counts_delivered_and_gone(table, endpoint, lambda_log, capsys):
    """GIVEN a room of three, one answering 410, WHEN a message is sent, THEN stdout holds
    exactly one line, the EMF document: Delivered 2, Gone 1, and no id or data in it."""
    db, cfg = table
    ids = ("conn-AAAA=", "conn-BBBB=", "conn-CCCC=")
    for cid in ids:
        _join(db, cfg, cid)
    capsys.readouterr()
    endpoint.script["conn-BBBB="] = [410]
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": {"text": "secret-words"}})
    out = capsys.readouterr().out
    [doc] = emf_lines(out)
    assert {k: doc[k] for k in ("Delivered", "Gone", "Failed", "Retries", "Handoffs")} == {
        "Delivered": 2,
        "Gone": 1,
        "Failed": 0,
        "Retries": 0,
        "Handoffs": 0,
    }
    assert isinstance(doc["FanoutSeconds"], float) and 0 <= doc["FanoutSeconds"] < 30
    assert set(metric_names(doc)) == {
        Metrics.DELIVERED,
        Metrics.GONE,
        Metrics.FAILED,
        Metrics.RETRIES,
        Metrics.FANOUT_SECONDS,
        Metrics.HANDOFFS,
    }
    assert (doc[Metrics.DIMENSION], doc["route"]) == ("chat", "sendmessage")
    for private in (*ids, "secret-words", "lobby"):
        assert private not in out
    # the log record is the logging handler's, and the document is not in it
    assert "_aws" not in lambda_log.text
    assert any(r.get("route") == "sendmessage" for r in lambda_log.events())


def test_a_refused_message_counts_refused_with_its_code(table, endpoint, capsys):
    db, cfg = table
    _join(db, cfg, "conn-AAAA=")
    capsys.readouterr()
    _send(db, endpoint, cfg, {"action": "sendmessage", "room": "other", "data": 1})
    [doc] = emf_lines(capsys.readouterr().out)
    assert (doc[Metrics.REFUSED], doc[Metrics.REASON_DIMENSION]) == (1, "not_subscribed")
    assert set(metric_names(doc)) == {Metrics.REFUSED}


def test_a_fanout_workers_share_counts_its_posts(table, endpoint, capsys):
    db, cfg = table
    for cid in ("conn-GGGG=", "conn-HHHH="):
        _join(db, cfg, cid)
    capsys.readouterr()
    endpoint.script["conn-GGGG="] = [410]
    share = {
        "room": "lobby",
        "seq": 7,
        "endpoint": endpoint.endpoint,
        "frame": "{}",
        "targets": ["conn-GGGG=", "conn-HHHH="],
    }
    fanout_worker.handle(share, db, lambda url: endpoint.api(), cfg)
    out = capsys.readouterr().out
    [doc] = emf_lines(out)
    assert (doc["Delivered"], doc["Gone"], doc["Failed"], doc["route"]) == (
        1,
        1,
        0,
        "fanout-worker",
    )
    assert Metrics.HANDOFFS not in doc and Metrics.FANOUT_SECONDS in doc
    assert "conn-" not in out


def test_an_accepted_connect_counts_one_connect(table, capsys):
    db, cfg = table
    _join(db, cfg, "conn-AAAA=")
    [doc] = emf_lines(capsys.readouterr().out)
    assert (doc[Metrics.CONNECTS], doc["route"]) == (1, "$connect")
    assert set(metric_names(doc)) == {Metrics.CONNECTS}


def test_connect_refusals_count_by_reason(table, capsys):
    """A room the token does not grant, then a bad room id: one Refused line each."""
    db, cfg = table
    event = load_event("connect", authorizer={"principalId": "u", "sub": "u"})
    event["queryStringParameters"] = {"room_id": "other"}
    event["requestContext"]["authorizer"][ROOM_GRANTS_CONTEXT_KEY] = '["lobby"]'
    assert connect.handle(event, db, cfg, check_rooms=True)["statusCode"] == 403
    event["queryStringParameters"] = {"room_id": "a/b"}
    assert connect.handle(event, db, cfg)["statusCode"] == 400
    docs = emf_lines(capsys.readouterr().out)
    assert [(d[Metrics.REFUSED], d[Metrics.REASON_DIMENSION]) for d in docs] == [
        (1, "room_not_granted"),
        (1, "invalid_room"),
    ]


def test_a_connect_over_the_users_cap_counts_too_many_connections(capped_table, capsys):
    db, cfg = capped_table
    for cid in ("c1", "c2", "c3"):
        connect.handle(load_event("connect", connectionId=cid), db, cfg)
    docs = emf_lines(capsys.readouterr().out)
    assert [d.get(Metrics.CONNECTS) for d in docs] == [1, 1, None]
    assert docs[2][Metrics.REASON_DIMENSION] == "too_many_connections"


def test_the_authorizer_counts_refusals_by_code_and_nothing_for_a_valid_token(capsys):
    token = mint(exp=int(time.time()) - 3600)
    with pytest.raises(Exception, match="Unauthorized"):
        authorize(event_with({"token": token}))
    with pytest.raises(Exception, match="Unauthorized"):
        authorize(event_with({}))
    assert authorize(event_with({"token": mint(sub="")}))["principalId"] == "anonymous"
    out = capsys.readouterr().out
    assert [d[Metrics.REASON_DIMENSION] for d in emf_lines(out)] == [
        "expired",
        "missing_token",
        "unusable_sub",
    ]
    assert token not in out and token.split(".")[1] not in out
    authorize(event_with({"token": mint()}))
    assert capsys.readouterr().out == ""  # the hot path prints nothing


def test_every_attack_token_is_refused_under_a_known_code(capsys):
    """The Reason dimension stays a fixed handful of values, whatever the attacker sends."""
    for name, token in attack_tokens("http://127.0.0.1:9/never").items():
        with pytest.raises(Exception, match="Unauthorized"):
            authorize(event_with({"token": token}))
        [doc] = emf_lines(capsys.readouterr().out)
        assert doc[Metrics.REASON_DIMENSION] in AUTHORIZER_CODES, name
    assert authorizer.refusal_code("invalid token: InvalidSignatureError") == "invalid"


# -- the local runtime's printing --------------------------------------------------------


def test_the_local_runtime_prints_a_document_as_one_readable_line():
    broadcast = metrics.document(
        "sendmessage",
        {"Delivered": 14, "Gone": 0, "Failed": 0, "Retries": 0, "FanoutSeconds": 0.012},
    )
    line = metrics_line(json.dumps(broadcast))
    assert line is not None
    assert line.split(" ", 1)[1] == (
        "chat sendmessage metrics Delivered=14 Gone=0 Failed=0 Retries=0 FanoutSeconds=0.012"
    )
    refused = metrics.document("authorizer", {"Refused": 1}, reason="expired")
    line = metrics_line(json.dumps(refused))
    assert line is not None and line.endswith(" chat authorizer metrics Refused=1 Reason=expired")
    record = {"level": "INFO", "message": "sendmessage ok", "note": "_aws"}
    assert metrics_line(json.dumps(record)) is None
    assert metrics_line('{"_aws": not json') is None


def test_readable_output_rewrites_documents_and_passes_other_lines():
    stream = io.StringIO()
    fd = readable_output(stream)
    doc = json.dumps(metrics.document("$connect", {"Connects": 1}))
    os.write(fd, f'{{"level":"INFO","message":"$connect ok"}}\n{doc}\n'.encode())
    os.close(fd)
    deadline = time.monotonic() + 10
    while stream.getvalue().count("\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    first, second = stream.getvalue().splitlines()
    assert first == '{"level":"INFO","message":"$connect ok"}'
    assert second.endswith(" chat $connect metrics Connects=1")
