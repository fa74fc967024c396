"""Fan-out benchmark: the clients that can post a broadcast, then realtime-socket's broadcast
against the AWS sample's algorithm.

First, every client in bench/fanout_clients.py (this engine, its previous version, urllib3,
awscrt, boto3) posts the same broadcast: CPU per post and posts/s, side by side.

Then, for each room size, a table of N connections (created from the component's own declared
schema, in moto) is split into rooms of that size and one room is broadcast to:

- realtime-socket: Query the room index, then post with the fan-out engine
  (handlers/fanout.py: SigV4-signed, 64 in flight);
- baseline (aws-samples/simple-websockets-chat-app): Scan the table, then post one after
  another with boto3's ``post_to_connection``.

Posts go to bench/endpoint.py (aiohttp) in its own process, which adds a fixed latency per
call (25 ms by default, a realistic in-Region round trip). Read units are computed with
DynamoDB's billing rules (realtime_socket/capacity.py); moto does not report them.

    .venv/bin/python -m bench.fanout              # full size: 10,000 connections
    .venv/bin/python -m bench.fanout --quick      # seconds, as CI runs it
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import boto3
import pulumi
from botocore.config import Config
from botocore.credentials import Credentials
from moto import mock_aws

from bench.fanout_clients import CLIENTS, make_client
from bench.support import RESULTS, ROOT, results_path, write_results
from realtime_socket import RealtimeSocket
from realtime_socket.handlers import connections
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.local.tables import create_table
from realtime_socket.tools.capacity import item_size, read_units
from realtime_socket.tools.recording import evaluate

#: moto and a loopback endpoint only: boto3 reads these when a client is made.
BENCH_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}

FRAME = json.dumps(
    {
        "type": "message",
        "room": "room-0",
        "from": "alice",
        "data": {"text": "hello " * 8},
        "id": "0" * 32,
        "ts": 1795932000000,
    }
).encode()


def start_endpoint(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.endpoint", "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = json.loads(process.stdout.readline())["port"]
    return process, f"http://127.0.0.1:{port}/live"


def declared_table() -> Any:
    def program() -> None:
        RealtimeSocket("bench", {"jwt": {"issuer": "i", "audience": "a", "secret": "s" * 40}})
        pulumi.export("ok", True)

    recording = evaluate(program, project="bench", stack="bench")
    return recording.named("bench-connections-table")


def fill(db: Any, table: str, total: int, room_size: int) -> list[dict[str, Any]]:
    now = int(time.time())
    rows = []
    for i in range(total):
        rows.append(
            {
                "connectionId": {"S": f"c{i:06d}AAAAA="},
                "roomId": {"S": f"room-{i // room_size}"},
                "userId": {"S": f"user-{i:06d}"},
                "connectedAt": {"N": str(now * 1000)},
                "ttl": {"N": str(now + 7800)},
            }
        )
    for start in range(0, total, 25):
        batch = [{"PutRequest": {"Item": r}} for r in rows[start : start + 25]]
        db.batch_write_item(RequestItems={table: batch})
    return rows


def ours(db: Any, table: str, endpoint: str, room: str, concurrency: int) -> dict[str, Any]:
    api = ConnectionsApi(endpoint, "us-east-1", lambda: Credentials("bench", "bench"),
                         concurrency=concurrency)  # fmt: skip
    # A warm container: its keep-alive connections exist from earlier invocations.
    api.broadcast([f"warm{i}" for i in range(concurrency)], FRAME)
    started = time.perf_counter()
    members = list(connections.room_members(db, table, "room-index", room))
    read = time.perf_counter() - started
    cpu = time.process_time()
    result = api.broadcast(members, FRAME)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - started
    api.close()
    return {"wall_s": wall, "read_s": read, "post_s": wall - read,
            "cpu_us": cpu / len(members) * 1e6,
            "posts": result.delivered, "failed": len(result.failed)}  # fmt: skip


def baseline(db: Any, table: str, endpoint: str, room: str) -> dict[str, Any]:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard"}),
    )
    started = time.perf_counter()
    members: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "roomId = :r",
        "ExpressionAttributeValues": {":r": {"S": room}},
    }
    while True:
        page = db.scan(**kwargs)
        members += [item["connectionId"]["S"] for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    read = time.perf_counter() - started
    posts = 0
    cpu = time.process_time()
    for cid in members:
        client.post_to_connection(ConnectionId=cid, Data=FRAME)
        posts += 1
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - started
    return {"wall_s": wall, "read_s": read, "post_s": wall - read, "posts": posts, "failed": 0,
            "cpu_us": cpu / len(members) * 1e6}  # fmt: skip


def boto3_threads(endpoint: str, members: list[str], concurrency: int) -> dict[str, Any]:
    """boto3's ``post_to_connection`` from ``concurrency`` threads: the obvious way to go
    faster with boto3 alone."""
    client = make_client("boto3 + threads", endpoint, concurrency)
    client.broadcast([f"warm{i}" for i in range(concurrency)], FRAME)
    wall, cpu = time.perf_counter(), time.process_time()
    posts = client.broadcast(members, FRAME)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"posts_per_s": posts / wall, "cpu_us": cpu / len(members) * 1e6}


def plot(rows: list[dict[str, Any]], path: str, latency_ms: float) -> None:
    """Posts/s and CPU per post against room size: this engine, the baseline, boto3."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["room_size"] for r in rows]
    series = {
        "realtime-socket (engine, 64 in flight)": [r["ours"] for r in rows],
        "boto3 post_to_connection, 64 threads": [r["boto3"] for r in rows],
        "AWS sample (Scan, boto3 one by one)": [r["baseline"] for r in rows],
    }
    figure, (rate, cpu) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, points in series.items():
        rate.plot(sizes, [p["posts_per_s"] for p in points], marker="o", label=label)
        cpu.plot(sizes, [p["cpu_us"] for p in points], marker="o", label=label)
    for axes, title in ((rate, "posts per second"), (cpu, "CPU µs per post (one core)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("room size (connections)")
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
    rate.legend(fontsize=8)
    figure.suptitle(
        f"bench/fanout.py: one broadcast, {latency_ms:g} ms per @connections call", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


def compare_clients(endpoint: str, posts: int, concurrency: int) -> list[dict[str, Any]]:
    """CPU (user + system, every thread) per post and posts/s of each client, one broadcast
    of ``posts`` each, after a warm-up broadcast that opens the keep-alive connections."""
    rows = []
    for name in CLIENTS:
        client = make_client(name, endpoint, concurrency)
        if client is None:
            print(f"  ({name}: not available here, skipped)")
            continue
        client.broadcast([f"warm{i}" for i in range(concurrency)], FRAME)
        ids = [f"c{i:06d}AAAAA=" for i in range(posts)]
        cpu, wall = time.process_time(), time.perf_counter()
        delivered = client.broadcast(ids, FRAME)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if delivered != posts:
            raise SystemExit(f"{name} delivered {delivered} of {posts} posts")
        rows.append({"client": name, "cpu_us": cpu / posts * 1e6, "posts_per_s": posts / wall})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--rooms", default="100,1000,10000", help="room sizes")
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--json", default=results_path("fanout"))
    parser.add_argument("--plot", default=str(RESULTS / "fanout.png"))
    args = parser.parse_args()
    os.environ.update(BENCH_ENVIRONMENT)
    if args.quick:
        args.connections, args.rooms, args.latency_ms = 200, "20,200", 5.0
    sizes = [int(s) for s in args.rooms.split(",")]

    endpoint, url = start_endpoint(args.latency_ms)
    clients = compare_clients(url, 500 if args.quick else 5000, args.concurrency)
    engine = next(r for r in clients if r["client"] == "engine")
    print(
        f"CPU per post and posts/s, {500 if args.quick else 5000:,} posts, "
        f"{args.concurrency} in flight, {args.latency_ms:g} ms per call (CPU: user + system, "
        "this machine's one core; a 256 MB Lambda function has 256/1769 of a vCPU)\n"
    )
    print(f"{'client':<26}{'CPU us/post':>12}{'posts/s':>10}{'CPU vs engine':>15}")
    for r in clients:
        print(
            f"{r['client']:<26}{r['cpu_us']:>12.0f}{r['posts_per_s']:>10,.0f}"
            f"{r['cpu_us'] / engine['cpu_us']:>14.1f}x"
        )
    print()
    rows_out = []
    schema = declared_table()
    with mock_aws():
        db = boto3.client("dynamodb")
        for size in sizes:
            table = create_table(db, schema)
            rows = fill(db, table, args.connections, size)
            room = "room-0"
            mine = ours(db, table, url, room, args.concurrency)
            theirs = baseline(db, table, url, room)
            members = [r["connectionId"]["S"] for r in rows if r["roomId"]["S"] == room]
            threads = boto3_threads(url, members, args.concurrency)
            index_entries = [
                item_size({k: r[k] for k in ("connectionId", "roomId", "ttl")})
                for r in rows
                if r["roomId"]["S"] == room
            ]
            mine["read_units"] = 1 + read_units(index_entries)  # GetItem of the sender + Query
            theirs["read_units"] = read_units(item_size(r) for r in rows)  # Scan reads all
            for result in (mine, theirs):
                result["posts_per_s"] = result["posts"] / result["post_s"]
            rows_out.append(
                {
                    "room_size": size,
                    "table_size": args.connections,
                    "ours": mine,
                    "baseline": theirs,
                    "boto3": threads,
                    "speedup": theirs["wall_s"] / mine["wall_s"],
                    "post_speedup": theirs["post_s"] / mine["post_s"],
                    "read_ratio": theirs["read_units"] / mine["read_units"],
                }
            )
            db.delete_table(TableName=table)
    endpoint.stdin.close()  # type: ignore[union-attr]
    endpoint.wait()

    print(
        f"Fan-out to one room in a table of {args.connections:,} connections, "
        f"{args.latency_ms:g} ms per @connections call, {args.concurrency} in flight\n"
    )
    header = (
        f"{'room':>7} | {'ours: read':>10} {'post':>6} {'total s':>7} {'posts/s':>8} {'RCU':>5} | "
        f"{'baseline: read':>14} {'post':>7} {'total s':>7} {'posts/s':>7} {'RCU':>6} | "
        f"{'faster':>6} {'posting':>7} {'fewer RCU':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows_out:
        o, b = r["ours"], r["baseline"]
        print(
            f"{r['room_size']:>7,} | {o['read_s']:>10.2f} {o['post_s']:>6.2f} {o['wall_s']:>7.2f} "
            f"{o['posts_per_s']:>8,.0f} {o['read_units']:>5g} | {b['read_s']:>14.2f} "
            f"{b['post_s']:>7.2f} {b['wall_s']:>7.2f} {b['posts_per_s']:>7,.0f} "
            f"{b['read_units']:>6g} | {r['speedup']:>5.1f}x {r['post_speedup']:>6.1f}x "
            f"{r['read_ratio']:>8.1f}x"
        )
    print(
        "\nread: DynamoDB time in moto, which evaluates a Query over the whole index (DynamoDB "
        "reads only the room's items);\npost: @connections time; posts/s counts posting time."
    )
    write_results(
        args.json,
        {
            "clients": clients,
            "latency_ms": args.latency_ms,
            "concurrency": args.concurrency,
            "rows": rows_out,
        },
    )
    plot(rows_out, args.plot, args.latency_ms)


if __name__ == "__main__":
    main()
