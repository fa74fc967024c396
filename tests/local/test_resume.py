"""Resume without loss, at CI size (bench/resume.py runs 500 clients)."""

from __future__ import annotations

import asyncio

from bench.scenarios.resume import run_resume
from tests.support.helpers import mint
from tests.support.runtime_harness import RunningRuntime


def test_dropped_clients_resume_with_every_message_once_and_in_order(standard_model, tmp_path):
    """50 clients, 10 senders, 25 abrupt drops with $disconnect lost: every client ends with
    seqs 1..N exactly, in order, having replayed what it missed with history."""
    log = (tmp_path / "handlers.log").open("w")
    rt = RunningRuntime(standard_model, deliver_disconnect=False, handler_output=log)
    token = mint(sub="resumer")
    try:
        report = asyncio.run(
            run_resume(
                lambda room: f"{rt.runtime.ws_url('telemetry')}?room_id={room}&token={token}",
                clients=50,
                senders=10,
                messages=6,
                drops=25,
            )
        )
    finally:
        rt.close()
        log.close()
    assert report["sender_errors"] == []
    assert report["messages"] == 60
    assert report["reconnects"] >= 15  # the drops happened (a client may be hit twice)
    assert (report["exact"], report["missing"]) == (50, 0), report
    assert report["incomplete_replays"] == 0  # nothing left retention meanwhile
