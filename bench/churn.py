"""Churn benchmark: 1,000 clients in 10 rooms, 20% vanish mid-stream, nothing lost.

Runs ``realtime-socket dev --lossy-disconnect --chaos-post-429-every 50`` (no $disconnect,
one @connections post in 50 answered 429), connects the clients to the dev stack's
``telemetry`` namespace, streams numbered messages from one sender per room, and drops 20%
of the receivers without a close frame halfway through. Reports what every remaining
client received (missing, duplicated, out of order: all must be 0) and the rows left.

    .venv/bin/python -m bench.churn
    .venv/bin/python -m bench.churn --quick
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench.scenarios.churn import run_churn
from bench.support import results_path, start_dev, stop, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=results_path("churn"))
    args = parser.parse_args()
    if args.quick:
        args.clients, args.rooms, args.messages = 40, 4, 6
    runtime, url_for = start_dev("--lossy-disconnect", "--chaos-post-429-every", "50")
    try:
        started = time.perf_counter()
        report = asyncio.run(
            run_churn(
                url_for,
                clients=args.clients,
                rooms=args.rooms,
                vanish_fraction=0.2,
                messages=args.messages,
                pace=0.12,
            )
        )
        report["seconds"] = time.perf_counter() - started
    finally:
        stop(runtime)
    print(
        f"{report['clients']:,} clients in {report['rooms']} rooms, {report['messages_per_room']} "
        f"messages per room, {report['vanished']} vanished mid-stream "
        f"({report['seconds']:.1f} s)\n"
    )
    for key in ("stayed", "missing", "duplicates", "out_of_order"):
        print(f"  {key:<14} {report[key]:>6}")
    print(f"  {'sender errors':<14} {len(report['sender_errors']):>6}")
    write_results(args.json, report)
    if report["missing"] or report["duplicates"] or report["out_of_order"]:
        sys.exit("FAIL: messages were lost, duplicated or reordered")


if __name__ == "__main__":
    main()
