"""Resume without loss: clients dropped abruptly (no close frame, ``$disconnect`` lost) while
senders publish come back, replay what they missed with ``history`` and end with every
message of their room exactly once, in seq order. Driven by tests/local/test_resume.py and
bench/resume.py.

Each client does what a client library does: it keeps the last seq it delivered, and after
reconnecting asks ``{"action":"history","room":R,"since":<last seq>}``; replayed and live
frames are merged by seq (a seq seen once is dropped), and a frame is delivered only when
every seq before it has been, so the application sees the room's messages in order. A live
frame that skips seqs (a message stored and given its seq whose posting failed or was cut
short) makes the client ask for history since its last seq too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

__all__ = ["run_resume"]

#: What a sender's echo queue gets for a ``room_busy`` answer instead of a seq.
_BUSY = -1


class _Client:
    """One resuming client: delivered seqs in order, pending ones buffered."""

    def __init__(self, url: str, room: str) -> None:
        self.url, self.room = url, room
        self.delivered: list[int] = []
        self.pending: dict[int, dict[str, Any]] = {}
        self.reconnects = 0
        self.incomplete = 0
        self.gap_fills = 0
        self.asked_since = -1
        self.ws: ClientConnection | None = None

    @property
    def last(self) -> int:
        return self.delivered[-1] if self.delivered else 0

    def take(self, frame: dict[str, Any]) -> None:
        seq = frame["seq"]
        if seq <= self.last or seq in self.pending:
            return  # seen already (a replay overlapping live messages)
        self.pending[seq] = frame
        while self.last + 1 in self.pending:
            self.delivered.append(self.pending.pop(self.last + 1)["seq"])

    async def connect(self) -> None:
        self.ws = await connect(self.url, max_size=None)
        await self.ask_history()

    async def ask_history(self) -> None:
        assert self.ws is not None
        self.asked_since = self.last
        await self.ws.send(json.dumps({"action": "history", "room": self.room, "since": self.last}))

    async def read(self, stop: asyncio.Event) -> None:
        """Read until ``stop``; reconnect (and replay) whenever the connection drops."""
        while not stop.is_set():
            assert self.ws is not None
            try:
                async for raw in self.ws:
                    frame = json.loads(raw)
                    if frame.get("type") == "message":
                        self.take(frame)
                        if self.pending and self.asked_since < self.last:
                            self.gap_fills += 1  # a seq was skipped: fetch it
                            await self.ask_history()
                    elif frame.get("type") == "history" and not frame["complete"]:
                        self.incomplete += 1
            except Exception:  # noqa: S110 - dropped: reconnect below
                pass
            if stop.is_set():
                return
            self.reconnects += 1
            for attempt in range(10):  # backoff with full jitter, as a client library does
                try:
                    await self.connect()
                    break
                except Exception:
                    await asyncio.sleep(random.uniform(0, min(2.0, 0.1 * 2**attempt)))


async def _room_last_seq(url: str, room: str) -> int:
    """The room's last stored seq: ``history`` since a seq past the end replays nothing and
    says where the room is."""
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"action": "history", "room": room, "since": 2**53}))
        async with asyncio.timeout(30):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "history":
                    return int(frame["last_seq"])
    raise ConnectionError("closed before the history answer")


async def run_resume(
    url_for: Callable[[str], str],
    clients: int,
    senders: int,
    messages: int,
    drops: int,
    pace: float = 0.05,
    seed: int = 11,
) -> dict[str, Any]:
    """``senders`` connections send ``messages`` each to one room while ``drops`` abrupt
    drops hit random clients; every client must end with seqs 1..senders*messages."""
    rng = random.Random(seed)
    room = "resume"
    audience = [_Client(url_for(room), room) for _ in range(clients)]
    for client in audience:
        await client.connect()
    stop = asyncio.Event()
    readers = [asyncio.create_task(client.read(stop)) for client in audience]
    sending = [await connect(url_for(room), max_size=None) for _ in range(senders)]
    errors: list[dict[str, Any]] = []
    echoes: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in sending]
    last_seq = 0
    busy = 0  # room_busy answers: the documented reply is to send again

    async def send(ws: ClientConnection, index: int) -> None:
        """Closed loop, as a client that respects backpressure: the next message once its
        own copy came back, and never faster than ``pace``."""
        for n in range(messages):
            frame = json.dumps({"action": "sendmessage", "data": {"s": index, "n": n}})
            seq = _BUSY
            while seq == _BUSY:  # room_busy: nothing was stored or sent, so send again
                await ws.send(frame)
                try:
                    seq, _ = await asyncio.gather(
                        asyncio.wait_for(echoes[index].get(), 30), asyncio.sleep(pace)
                    )
                except TimeoutError:
                    errors.append({"sender": index, "message": n, "error": "no echo in 30 s"})
                    break

    async def drain(ws: ClientConnection, index: int) -> None:
        nonlocal last_seq, busy
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("code") == "room_busy":
                busy += 1
                echoes[index].put_nowait(_BUSY)
            elif frame.get("type") == "error" or "message" in frame:
                errors.append(frame)
            elif frame.get("type") == "message":
                last_seq = max(last_seq, frame["seq"])
                if frame["data"]["s"] == index:
                    echoes[index].put_nowait(frame["seq"])

    drains = [asyncio.create_task(drain(ws, i)) for i, ws in enumerate(sending)]
    senders_done = asyncio.gather(*(send(ws, i) for i, ws in enumerate(sending)))

    async def dropper() -> None:
        for _ in range(drops):
            await asyncio.sleep(2 * pace * messages / max(1, drops) * rng.random())
            victim = rng.choice(audience)
            if victim.ws is not None:
                victim.ws.transport.abort()  # gone without a close frame

    await asyncio.gather(senders_done, dropper())
    # The room's last seq, from the server: a message can be stored (and reach some clients)
    # although its sender never saw it, when the function ran past its timeout while posting.
    total = max(last_seq, await _room_last_seq(url_for(room), room))
    for client in audience:  # a last message that reached only part of the room shows no gap:
        if client.last < total and client.ws is not None:  # ask, as a client does at a lull
            with contextlib.suppress(Exception):
                await client.ask_history()
    for _ in range(600):  # the last deliveries and replays land
        if all(client.last >= total for client in audience):
            break
        await asyncio.sleep(0.1)
    stop.set()
    for task in [*readers, *drains]:
        task.cancel()
    for ws in [*sending, *(c.ws for c in audience if c.ws is not None)]:
        await ws.close()
    expected = list(range(1, total + 1))
    return {
        "clients": clients,
        "senders": senders,
        "messages": total,
        "drops": drops,
        "reconnects": sum(c.reconnects for c in audience),
        "gap_fills": sum(c.gap_fills for c in audience),
        "room_busy_resent": busy,
        "exact": sum(c.delivered == expected for c in audience),
        "missing": sum(len(set(expected) - set(c.delivered)) for c in audience),
        "incomplete_replays": sum(c.incomplete for c in audience),
        "sender_errors": errors,
    }
