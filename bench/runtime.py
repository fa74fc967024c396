"""Local runtime benchmark: many clients in rooms, end-to-end delivery rate and latency.

Starts ``realtime-socket dev`` on the dev stack (its ``telemetry`` namespace) in its own
process, connects N clients in rooms of R, and lets one sender per room send closed-loop
(the next message once its own copy came back), measuring T seconds after a 3 s warm-up.
The same load then runs against a plain ``websockets`` broadcast server
(bench/plain_server.py) on the same machine: the upper limit of what Python WebSockets do
here without API Gateway's semantics. Also reports how long ``realtime-socket dev`` takes
from launch to its banner (functions keep warming in the background after it): once with
``--no-cache`` (the program evaluated, as on a first start) and the median of three starts
from the cached evaluation (one with ``--quick``).

    .venv/bin/python -m bench.runtime                  # 1,000 clients, rooms of 10, 10 s
    .venv/bin/python -m bench.runtime --quick          # 40 clients, 2 s, as CI runs it
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.support import results_path, start, start_dev, stop, write_results


def message(room: int) -> str:
    return json.dumps({"action": "sendmessage", "data": {"t": time.perf_counter(), "room": room}})


async def run_load(
    url_for: Any, clients: int, room_size: int, seconds: float, warmup: float = 3.0
) -> dict[str, Any]:
    """Closed-loop load; only the ``seconds`` after a ``warmup`` are measured (steady state:
    cold Lambda environments start during the warm-up)."""
    rooms = max(1, clients // room_size)
    sockets: list[tuple[int, ClientConnection]] = []
    for i in range(clients):  # connect at a modest pace: $connect runs the authorizer too
        sockets.append((i % rooms, await connect(url_for(f"room-{i % rooms}"), max_size=None)))
    latencies: list[float] = []
    delivered = 0
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + seconds
    sent = 0

    async def reader(room: int, ws: ClientConnection, sender: bool) -> None:
        nonlocal delivered, sent
        async for raw in ws:
            frame = json.loads(raw)
            if sender and frame.get("type") == "error" and time.perf_counter() < stop_at:
                # the per-connection rate limit (10/s by default): back off, then go on
                await asyncio.sleep(0.1)
                sent += 1
                await ws.send(message(room))
                continue
            data = frame.get("data") if isinstance(frame, dict) else None
            if not isinstance(data, dict) or "t" not in data:
                continue
            now = time.perf_counter()
            if measure_from <= data["t"] and now <= stop_at:
                latencies.append(now - data["t"])
                delivered += 1
            if sender and data.get("room") == room and time.perf_counter() < stop_at:
                sent += 1
                await ws.send(message(room))

    senders = {}
    for room, ws in sockets:
        senders.setdefault(room, ws)
    tasks = [asyncio.create_task(reader(room, ws, senders[room] is ws)) for room, ws in sockets]
    for room, ws in senders.items():
        sent += 1
        await ws.send(message(room))
    await asyncio.sleep(warmup + seconds)
    elapsed = seconds
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for _, ws in sockets), return_exceptions=True)
    latencies.sort()
    return {
        "clients": clients,
        "room_size": room_size,
        "messages_sent": sent,
        "deliveries": delivered,
        "deliveries_per_s": delivered / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else None,
    }


def ready_seconds(*flags: str) -> float:
    """Seconds from launching ``realtime-socket dev`` to its banner's last line."""
    launched = time.perf_counter()
    process, _ = start([sys.executable, "-m", "realtime_socket", "dev", "--port", "0", *flags],
                       "Ctrl-C to stop.")  # fmt: skip
    ready = time.perf_counter() - launched
    stop(process)
    return ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=results_path("runtime"))
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = 40, 2.0
    python = sys.executable

    first_start_s = ready_seconds("--no-cache")
    ready_s = statistics.median(ready_seconds() for _ in range(1 if args.quick else 3))
    runtime, url_for = start_dev()
    try:
        ours = asyncio.run(run_load(url_for, args.clients, args.room_size, args.seconds))
    finally:
        stop(runtime)

    plain, output = start([python, "-m", "bench.plain_server"], "listening")
    try:
        port = re.search(r"listening (\d+)", output).group(1)  # type: ignore[union-attr]
        upper = asyncio.run(run_load(lambda room: f"ws://127.0.0.1:{port}/?room_id={room}",
                                     args.clients, args.room_size, args.seconds))  # fmt: skip
    finally:
        stop(plain)

    print(f"{args.clients:,} clients in rooms of {args.room_size}, one closed-loop sender per "
          f"room, {args.seconds:g} s\n")  # fmt: skip
    print(f"{'server':<34} {'deliveries/s':>13} {'p50 ms':>8} {'p99 ms':>8}")
    for label, r in (
        ("realtime-socket dev (API GW + λ)", ours),
        ("plain websockets broadcast", upper),
    ):
        print(
            f"{label:<34} {r['deliveries_per_s']:>13,.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
        )
    ratio = ours["deliveries_per_s"] / upper["deliveries_per_s"]
    print(f"\nlocal runtime reaches {ratio:.1%} of the plain server's delivery rate")
    print(f"realtime-socket dev printed its banner {ready_s:.1f} s after launch "
          f"({first_start_s:.1f} s evaluating the program: --no-cache, a first start)")  # fmt: skip
    write_results(args.json, {"runtime": ours, "plain": upper, "ratio": ratio, "ready_s": ready_s,
                              "first_start_s": first_start_s})  # fmt: skip


if __name__ == "__main__":
    main()
