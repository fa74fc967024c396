"""Split benchmark: one broadcast to a room of 100,000 across 1, 2 and 4 fan-out processes.

With one process the receiving side posts to the whole room itself. With more, it runs
``handlers/split.py``'s ``split_broadcast`` with a share of ceil(room / processes): it only
reads and hands each share, encoded exactly as Lambda would carry it, to a pool of that many
worker processes posting as ``fanout_worker`` does (the engine, 64 in flight). Lambda's
asynchronous Invoke is replaced by a process pool: this measures the split and the posting,
not Lambda. Posts go to bench/endpoint.py (25 ms per call) in its own process.

Then it projects the same broadcast on AWS from the CPU per post measured here, with
``realtime_socket/sizing.py``'s model: at 256 MB and at 1,769 MB, with the default 10 s
timeout, the workers the room needs and the seconds it takes (shares run in parallel).

    .venv/bin/python -m bench.split              # a room of 100,000
    .venv/bin/python -m bench.split --quick      # seconds, as CI runs it
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import os
import time
from typing import Any

from botocore.credentials import Credentials

from bench.fanout import FRAME, start_endpoint
from bench.support import results_path, write_results
from realtime_socket import sizing
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.handlers.split import Share, parse_share, split_broadcast

CREDENTIALS = Credentials("bench", "bench", "bench-session-token")
CONCURRENCY = 64
TIMEOUT_SECONDS = 10


def _api(endpoint: str) -> ConnectionsApi:
    return ConnectionsApi(endpoint, "us-east-1", lambda: CREDENTIALS, CONCURRENCY)


def post_share(payload: bytes) -> tuple[int, float]:
    """A worker process's invocation: its share posted; (delivered, CPU seconds)."""
    import json

    share = parse_share(json.loads(payload))
    api = _API.get(share.endpoint) or _API.setdefault(share.endpoint, _api(share.endpoint))
    started = time.process_time()
    result = api.broadcast(share.targets, share.frame)
    return result.delivered, time.process_time() - started


_API: dict[str, ConnectionsApi] = {}  # one per worker process, kept warm as Lambda's


def run(endpoint: str, room: int, processes: int) -> dict[str, Any]:
    ids = [f"{i:012d}AAA=" for i in range(room)]
    share = math.ceil(room / processes)
    here = _api(endpoint)
    with concurrent.futures.ProcessPoolExecutor(processes) as pool:
        # warm every process and connection first: a warm container, as after the first message
        list(pool.map(post_share, [_warm_payload(endpoint)] * processes))
        here.broadcast([f"warm{i}" for i in range(CONCURRENCY)], FRAME)
        futures: list[concurrent.futures.Future[tuple[int, float]]] = []

        def hand_off(payload: bytes) -> bool:
            futures.append(pool.submit(post_share, payload))
            return True

        wall, cpu = time.perf_counter(), time.process_time()
        split = split_broadcast(
            ids, Share("big", 1, endpoint, FRAME, []), api=here, on_gone=lambda ids: None,
            per_invocation=share if processes > 1 else 0, hand_off=hand_off,
        )  # fmt: skip
        here_cpu = time.process_time() - cpu
        results = [f.result() for f in futures]
        wall = time.perf_counter() - wall
    here.close()
    delivered = split.result.delivered + sum(d for d, _ in results)
    if delivered != room:
        raise SystemExit(f"{processes} processes delivered {delivered} of {room}")
    cpu_total = here_cpu + sum(c for _, c in results)
    return {
        "processes": processes,
        "shares": 1 + split.workers,
        "wall_s": wall,
        "posts_per_s": room / wall,
        "cpu_us_per_post": cpu_total / room * 1e6,
    }


def _warm_payload(endpoint: str) -> bytes:
    from realtime_socket.handlers.split import encode_share

    targets = [f"warm{i}" for i in range(CONCURRENCY)]
    return encode_share(Share("warm", None, endpoint, FRAME, targets))


def projection(room: int, cpu_per_post: float) -> list[dict[str, Any]]:
    """The same broadcast on Lambda at 256 MB and 1,769 MB, from the measured CPU per post."""
    rows = []
    model = sizing.FanoutModel(concurrency=CONCURRENCY, cpu_per_post=cpu_per_post)
    for memory in (256, sizing.FULL_VCPU_MB):
        per = model.posts_per_invocation(memory, TIMEOUT_SECONDS)
        workers = math.ceil(room / per)
        seconds = model.broadcast_seconds(min(room, per), memory)
        one = model.broadcast_seconds(room, memory)
        rows.append(
            {
                "memory_mb": memory,
                "share": per,
                "invocations": workers,
                "split_s": seconds,
                "one_invocation_s": one,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--room", type=int, default=100_000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--json", default=results_path("split"))
    args = parser.parse_args()
    if args.quick:
        args.room, args.latency_ms = 2_000, 5.0
    endpoint_process, endpoint = start_endpoint(args.latency_ms)
    try:
        rows = [run(endpoint, args.room, int(n)) for n in args.processes.split(",")]
    finally:
        endpoint_process.stdin.close()  # type: ignore[union-attr]
        endpoint_process.wait()
    print(
        f"One broadcast to a room of {args.room:,}, {CONCURRENCY} in flight per process, "
        f"{args.latency_ms:g} ms per @connections call, this machine ({os.cpu_count()} cores, "
        "the endpoint on them too)\n"
    )
    print(f"{'processes':>9} {'shares':>7} {'seconds':>8} {'posts/s':>9} {'CPU us/post':>12}")
    print("(shares: the hand-offs, or 1: the receiver's own; a share closes at 256 KB too)")
    for r in rows:
        print(
            f"{r['processes']:>9} {r['shares']:>7} {r['wall_s']:>8.2f} {r['posts_per_s']:>9,.0f}"
            f" {r['cpu_us_per_post']:>12.0f}"
        )
    cpu_per_post = rows[0]["cpu_us_per_post"] / 1e6
    projected = projection(args.room, cpu_per_post)
    print(
        f"\nOn Lambda (projected from {cpu_per_post * 1e6:.0f} us of CPU per post at one vCPU, "
        f"sizing.py's model, {TIMEOUT_SECONDS} s timeout, shares in parallel):\n"
    )
    print(f"{'memory MB':>9} {'share':>7} {'invocations':>12} {'split s':>8} {'unsplit s':>10}")
    for p in projected:
        print(
            f"{p['memory_mb']:>9,} {p['share']:>7,} {p['invocations']:>12} "
            f"{p['split_s']:>8.2f} {p['one_invocation_s']:>10.1f}"
        )
    write_results(
        args.json,
        {"room": args.room, "latency_ms": args.latency_ms, "runs": rows, "projection": projected},
    )


if __name__ == "__main__":
    main()
