"""Churn without loss: clients vanish mid-stream, every remaining client gets every message
exactly once and in order. Driven by tests/local/test_churn.py and bench/churn.py."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


async def run_churn(
    url_for: Callable[[str], str],
    clients: int,
    rooms: int,
    vanish_fraction: float,
    messages: int,
    pace: float,
    seed: int = 7,
    before_close: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    after_connect: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Run the churn scenario; ``after_connect`` runs once every client is connected, before
    anyone sends (tests age the connections there, so the 410s of those that vanish clean
    them up at once), and ``before_close`` may inspect state while survivors are still
    connected."""
    rng = random.Random(seed)
    per_room = clients // rooms
    members: dict[int, list[ClientConnection]] = {}
    for room in range(rooms):
        members[room] = [
            await connect(url_for(f"churn-{room}"), max_size=None) for _ in range(per_room)
        ]
    received: dict[int, list[int]] = {}
    readers = []

    async def read(index: int, ws: ClientConnection) -> None:
        received[index] = []
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "message" and "seq" in frame.get("data", {}):
                    received[index].append(frame["data"]["seq"])
        except Exception:  # noqa: S110 - a vanished client just stops reading
            pass

    receivers: dict[int, tuple[int, ClientConnection]] = {}
    for room, sockets in members.items():
        for ws in sockets[1:]:  # sockets[0] sends
            index = len(receivers)
            receivers[index] = (room, ws)
            readers.append(asyncio.create_task(read(index, ws)))
    vanishing = set(rng.sample(sorted(receivers), int(len(receivers) * vanish_fraction)))
    half = asyncio.Event()
    errors: list[dict[str, Any]] = []

    echoes = {room: asyncio.Queue() for room in members}  # type: ignore[var-annotated]

    async def sender(room: int) -> None:
        """Closed loop: the next message once the sender's own copy came back (or 10 s),
        and never faster than ``pace``, like a client that respects backpressure."""
        ws = members[room][0]
        for seq in range(messages):
            await ws.send(json.dumps({"action": "sendmessage", "data": {"seq": seq}}))
            if seq == messages // 2:
                half.set()
            await asyncio.gather(asyncio.wait_for(echoes[room].get(), 30), asyncio.sleep(pace))

    async def drain_sender(room: int) -> None:
        async for raw in members[room][0]:
            frame = json.loads(raw)
            if frame.get("type") == "error" or "message" in frame:
                errors.append(frame)
            elif frame.get("type") == "message":
                echoes[room].put_nowait(frame["data"]["seq"])

    if after_connect is not None:
        await after_connect()
    drains = [asyncio.create_task(drain_sender(room)) for room in members]
    senders = [asyncio.create_task(sender(room)) for room in members]
    await half.wait()
    for index in vanishing:
        receivers[index][1].transport.abort()  # gone without a close frame
    await asyncio.gather(*senders)
    stayed = [i for i in receivers if i not in vanishing]
    for _ in range(600):  # let the last deliveries land
        if all(len(received[i]) >= messages for i in stayed):
            break
        await asyncio.sleep(0.1)
    report = {
        "clients": clients,
        "rooms": rooms,
        "messages_per_room": messages,
        "vanished": len(vanishing),
        "stayed": len(stayed),
        "missing": sum(max(0, messages - len(set(received[i]))) for i in stayed),
        "duplicates": sum(len(received[i]) - len(set(received[i])) for i in stayed),
        "out_of_order": sum(received[i] != sorted(received[i]) for i in stayed),
        "sender_errors": errors,
        "missing_detail": {
            i: sorted(set(range(messages)) - set(received[i]))
            for i in stayed
            if len(set(received[i])) < messages
        },
    }
    if before_close is not None:
        await before_close(report)
    for task in [*readers, *drains]:
        task.cancel()
    for sockets in members.values():
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return report
