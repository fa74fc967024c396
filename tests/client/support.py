"""Helpers for the client tests: URLs, tokens and waiting on a client's events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from realtime_socket.client import Client, ClientOptions, Event, Gap, Message
from tests.support.helpers import mint
from tests.support.runtime_harness import RunningRuntime

#: ``chat``'s history.max_replay: a resume of more messages takes several pages.
TINY_MAX_REPLAY = 2
#: Reconnect fast: the tests' drops should not cost seconds.
FAST = ClientOptions(backoff_base=0.02, backoff_cap=0.2, answer_timeout=10)


def url(rt: RunningRuntime, namespace: str = "chat") -> str:
    return rt.runtime.ws_url(namespace)


def token(user: str, ttl: float = 600) -> str:
    """A token of ``user`` the runtime accepts, valid for ``ttl`` seconds."""
    return mint(sub=user, exp=int(time.time() + ttl))


async def next_events(
    client: Client, count: int, timeout: float = 10, kinds: tuple[type, ...] = (Message, Gap)
) -> list[Event]:
    """The client's next ``count`` events of ``kinds`` (by default not Presence: whether a
    test's other clients announce themselves is not what it tests); fails the test after
    ``timeout`` seconds."""
    return await events_until(client, lambda events: len(events) == count, timeout, kinds)


async def events_until(
    client: Client,
    done: Callable[[list[Event]], bool],
    timeout: float = 20,
    kinds: tuple[type, ...] = (Message, Gap),
) -> list[Event]:
    """Events of ``kinds`` until ``done(events)`` holds; fails after ``timeout`` s."""
    events: list[Event] = []

    async def collect() -> None:
        async for event in client:
            if isinstance(event, kinds):
                events.append(event)
            if done(events):
                return

    try:
        await asyncio.wait_for(collect(), timeout)
    except TimeoutError:
        raise AssertionError(f"not done in {timeout} s ({len(events)} events): {events}") from None
    return events


def data_of(events: list[Any]) -> list[Any]:
    return [e.data for e in events if isinstance(e, Message)]


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    """Wait until ``check()`` holds (asked every 20 ms); fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{check} did not hold within {timeout} s")
        await asyncio.sleep(0.02)


class GatedTokens:
    """A token provider (async) that counts its calls and, while shut, holds each call
    until opened: the test decides when a dropped client may come back."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.calls = 0
        self._open = asyncio.Event()
        self._open.set()

    def shut(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def __call__(self) -> str:
        self.calls += 1
        await self._open.wait()
        return token(self.user)


Script = Callable[[dict[str, Any]], list[dict[str, Any]]]


@dataclass
class Scripted:
    """A scripted server's address, the frames it received and its handshakes' paths."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def scripted_server(script: Script) -> AsyncIterator[Scripted]:
    """A WebSocket server on loopback that answers each frame with ``script(frame)``."""
    scripted = Scripted("")

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        scripted.paths.append(ws.request.path)
        async for raw in ws:
            frame = json.loads(raw)
            scripted.received.append(frame)
            for answer in script(frame):
                await ws.send(json.dumps(answer))

    async with serve(handler, "127.0.0.1", 0) as server:
        scripted.url = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/chat"
        yield scripted


def echo_message(frame: dict[str, Any], seq: int, user: str = "alice") -> dict[str, Any]:
    """The message frame the server sends for a ``sendmessage``."""
    return {
        "type": "message",
        "room": frame.get("room"),
        "from": user,
        "data": frame["data"],
        "id": f"{seq:032x}",
        "seq": seq,
        "ts": 0,
    }
