"""A stand-in @connections endpoint with a fixed latency, for benchmarks.

Runs as its own process (``python bench/endpoint.py --latency-ms 25``) so the client under
test has the other core. It speaks just enough HTTP/1.1 (keep-alive POST with a body) to
answer botocore: written by hand because no installed library serves thousands of delayed
requests per second in one process, and aiohttp would be a dependency for this alone.
Connection ids listed with ``--gone`` answer 410, like closed connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: application/json\r\n\r\n"
_GONE_BODY = b'{"message":"GoneException"}'
_GONE = (
    b"HTTP/1.1 410 Gone\r\nx-amzn-ErrorType: GoneException\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_GONE_BODY)}\r\n\r\n".encode()
    + _GONE_BODY
)


class Stats:
    posts = 0


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float,
                 gone: set[str], stats: Stats) -> None:  # fmt: skip
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ", 2)[1]
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(latency)
            cid = path.rsplit("/", 1)[-1]
            stats.posts += 1
            writer.write(_GONE if cid in gone else _OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--gone", default="", help="comma-separated connection ids")
    args = parser.parse_args()
    stats = Stats()
    gone = set(filter(None, args.gone.split(",")))
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args.latency_ms / 1000, gone, stats), "127.0.0.1", 0, backlog=4096
    )
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    async with server:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF


if __name__ == "__main__":
    asyncio.run(main())
