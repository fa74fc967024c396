"""A plain ``websockets`` room broadcast server: the upper limit for bench/runtime.py.

No authorizer, no Lambda, no table: a dict of rooms in memory, and every
``{"action": "sendmessage", "data": ...}`` is sent to the sender's room with
``websockets.broadcast``, shaped like realtime-socket's message frame.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve

ROOMS: dict[str, set[ServerConnection]] = {}


async def handler(ws: ServerConnection) -> None:
    assert ws.request is not None
    room = parse_qs(urlsplit(ws.request.path).query).get("room_id", ["lobby"])[0]
    members = ROOMS.setdefault(room, set())
    members.add(ws)
    try:
        async for raw in ws:
            message = json.loads(raw)
            frame = json.dumps({"type": "message", "room": room, "from": "plain",
                                "data": message.get("data")})  # fmt: skip
            broadcast(members, frame)
    finally:
        members.discard(ws)


async def main() -> None:
    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
