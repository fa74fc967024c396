"""Emulation benchmark: the DynamoDB calls of one sendmessage, against moto's own server and
against the local runtime's (moto behind ``moto_front``, with ``moto_speedups``), in one run.

Seeds the dev stack's tables (its ``telemetry`` namespace) in a moto server, connects N
connections in rooms of 10 with the handlers' own functions, then times M messages: each is
what ``sendmessage`` asks DynamoDB for (the rate-limit UpdateItem, the seq + history
TransactWriteItems, the room Query), with the same client the handlers use. A GetItem per
message shows moto's fixed cost per request. Tables grow as on a live runtime: the
connections with N, the history with every message.

    .venv/bin/python -m bench.emulation                 # 1,000 connections, 600 messages
    .venv/bin/python -m bench.emulation --quick         # 100 connections, 40 messages
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3

from bench.support import ROOT, results_path, write_results
from realtime_socket.contract import Env, Table
from realtime_socket.handlers import connections, messages
from realtime_socket.handlers.connections import Connection
from realtime_socket.local.model import build
from realtime_socket.local.moto_server import AwsApis
from realtime_socket.local.tables import seed
from realtime_socket.tools import recording, stack_files

NAMESPACE = "telemetry"


def _tables() -> tuple[Any, str, str]:
    cfg = stack_files.load(ROOT, "dev")
    rec = recording.evaluate(cfg.program, project=cfg.project, stack=cfg.stack,
                             config=cfg.config, secret_keys=cfg.secret_keys)  # fmt: skip
    model = build(rec)
    env = model.apis[NAMESPACE].routes["sendmessage"].function.environment
    return model, env[Env.TABLE_NAME], env[Env.HISTORY_TABLE_NAME]


def _timed(samples: dict[str, list[float]], name: str, call: Callable[[], Any]) -> None:
    started = time.perf_counter()
    call()
    samples.setdefault(name, []).append(time.perf_counter() - started)


def _one_message(db: Any, table: str, history: str, cid: str, room: str) -> dict[str, Any]:
    """What sendmessage asks DynamoDB for, plus a GetItem for the fixed cost."""
    return {
        "GetItem (fixed cost)": lambda: connections.get(db, table, cid),
        "UpdateItem (rate limit)": lambda: connections.claim_send(db, table, cid, 1000, 1000),
        "TransactWriteItems (seq + history)": lambda: messages.append(
            db, history, room, lambda s: b"{}", 3600
        ),
        "Query (room index)": lambda: list(
            connections.room_members(db, table, Table.ROOM_INDEX, room)
        ),
    }


def run(as_shipped: bool, clients: int, count: int) -> dict[str, Any]:
    model, table, history = _tables()
    apis = AwsApis(as_shipped=as_shipped)
    apis.start()
    try:
        local = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        session = boto3.session.Session(region_name="us-east-1", **local)
        db = session.client("dynamodb", endpoint_url=apis.endpoint)
        seed(db, session.client("ssm", endpoint_url=apis.endpoint), model)
        rooms = max(1, clients // 10)
        now_ms = int(time.time() * 1000)
        senders = []
        for i in range(clients):
            cid = f"bench{i:06d}="
            conn = Connection(cid, f"u{i}", now_ms, frozenset({f"r{i % rooms}"}))
            connections.put(db, table, conn, 7200)
            if i < rooms:
                senders.append((cid, f"r{i}"))
        samples: dict[str, list[float]] = {}
        started = time.perf_counter()
        for n in range(count):
            cid, room = senders[n % len(senders)]
            for name, call in _one_message(db, table, history, cid, room).items():
                _timed(samples, name, call)
        elapsed = time.perf_counter() - started
    finally:
        apis.stop()
    per_call = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    per_message = sum(v for k, v in per_call.items() if not k.startswith("GetItem"))
    return {
        "server": "moto" if as_shipped else "runtime",
        "connections": clients,
        "messages": count,
        "seconds": elapsed,
        "median_ms": per_call,
        "message_ms": per_message,
        "last_quarter_message_ms": _last_quarter(samples) * 1000,
    }


def _last_quarter(samples: dict[str, list[float]]) -> float:
    """Median time of a message's three calls over the run's last quarter (the biggest
    tables), so growth with the history shows."""
    kinds = [v for k, v in samples.items() if not k.startswith("GetItem")]
    quarter = len(kinds[0]) // 4 or 1
    return sum(statistics.median(values[-quarter:]) for values in kinds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=results_path("emulation"))
    args = parser.parse_args()
    if args.quick:
        args.connections, args.messages = 100, 40
    shipped = run(True, args.connections, args.messages)
    patched = run(False, args.connections, args.messages)
    print(f"{args.connections:,} connections in rooms of 10, {args.messages} messages; "
          "median ms per call\n")  # fmt: skip
    print(f"{'call':<38} {'moto server':>12} {'runtime emulation':>18}")
    for name in shipped["median_ms"]:
        print(f"{name:<38} {shipped['median_ms'][name]:>12.2f} {patched['median_ms'][name]:>18.2f}")
    for key, label in (("message_ms", "one message (3 calls)"),
                       ("last_quarter_message_ms", "one message, last quarter")):  # fmt: skip
        print(f"{label:<38} {shipped[key]:>12.2f} {patched[key]:>18.2f}")
    ratio = shipped["message_ms"] / patched["message_ms"]
    print(f"\nthe runtime's emulation does a message's DynamoDB work {ratio:.1f}x faster")
    write_results(args.json, {"moto_server": shipped, "runtime": patched, "ratio": ratio})


if __name__ == "__main__":
    main()
