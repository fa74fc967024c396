"""A stand-in ``@connections`` endpoint with a fixed latency per call, for benchmarks.

Runs as its own process (``python -m bench.endpoint --latency-ms 25``), so the client under
test keeps the other core, and serves with aiohttp: every POST waits the latency, then
answers 200, or 410 ``GoneException`` for the connection ids listed with ``--gone``, as API
Gateway does for closed connections. It prints ``{"port": N}`` once listening and stops when
its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aiohttp import web

from realtime_socket import contract

_GONE = 410


def make_app(latency: float, gone: set[str]) -> web.Application:
    """POST ``.../@connections/<id>``: 200 after ``latency`` seconds, 410 for ``gone`` ids."""

    async def post(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(latency)
        if request.match_info["tail"].rsplit("/", 1)[-1] in gone:
            error = contract.CONNECTIONS_API_ERRORS[_GONE]
            return web.json_response(
                {"message": error}, status=_GONE, headers={"x-amzn-ErrorType": error}
            )
        return web.Response(content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tail:.*}", post)
    return app


async def serve(latency_ms: float, gone: set[str]) -> None:
    runner = web.AppRunner(make_app(latency_ms / 1000, gone), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    assert runner.addresses, "the endpoint is not listening"
    print(json.dumps({"port": runner.addresses[0][1]}), flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--gone", default="", help="comma-separated connection ids")
    args = parser.parse_args()
    asyncio.run(serve(args.latency_ms, set(filter(None, args.gone.split(",")))))


if __name__ == "__main__":
    main()
