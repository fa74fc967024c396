"""Churn without loss, at CI size (bench/churn.py runs 1,000 clients)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench.scenarios.churn import run_churn
from tests.support.helpers import age_connections, mint
from tests.support.runtime_harness import RunningRuntime


def test_clients_vanishing_mid_stream_lose_nobody_elses_messages(standard_model, tmp_path):
    log = (tmp_path / "handlers.log").open("w")
    # $disconnect is best effort on AWS: with it off, only 410s can clean the table up.
    rt = RunningRuntime(
        standard_model,
        deliver_disconnect=False,
        inject_post_throttle_every=9,
        handler_output=log,
    )
    token = mint(sub="churner")
    rows_left: list[int] = []

    async def age_rows():
        await asyncio.to_thread(age_connections, rt.dynamodb(), rt.table_name("chat"))

    async def count_rows(report):
        db, table = rt.dynamodb(), rt.table_name("chat")
        items = db.scan(TableName=table)["Items"]
        # room memberships (connection rows carry no roomId since several rooms per connection)
        rows_left.append(sum(i.get("roomId", {}).get("S", "").startswith("churn-") for i in items))

    try:
        report = asyncio.run(
            run_churn(
                lambda room: f"{rt.runtime.ws_url('chat')}?room_id={room}&token={token}",
                clients=60,
                rooms=4,
                vanish_fraction=0.2,
                messages=12,
                pace=0.12,
                before_close=count_rows,
                after_connect=age_rows,
            )
        )
    finally:
        rt.close()
        log.close()
    assert (report["vanished"], report["stayed"]) == (11, 45)
    lines = [json.loads(x) for x in Path(log.name).read_text().splitlines() if x.startswith("{")]
    failures = [x for x in lines if x.get("event") == "post_failed"]
    assert (report["missing"], report["duplicates"], report["out_of_order"]) == (0, 0, 0), (
        report["missing_detail"],
        failures,
    )
    assert report["sender_errors"] == []
    # vanished clients' rows were removed by the broadcasts after they vanished (410)
    assert rows_left == [report["stayed"] + report["rooms"]]
    assert rt.runtime.posts_throttled > 0
    # sendmessage's log lines (its metrics documents, which carry "_aws", say the same)
    broadcasts = [x for x in lines if x.get("route") == "sendmessage" and "_aws" not in x]
    assert sum(x["retries"] for x in broadcasts) >= rt.runtime.posts_throttled  # all retried
    assert sum(x["failed"] for x in broadcasts) == 0
    assert sum(x["gone"] for x in broadcasts) == report["vanished"]
    assert not [x for x in lines if x.get("event") == "post_failed"]
