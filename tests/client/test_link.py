"""Link: answers correlated by type and room, errors by code, the rest passed on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from realtime_socket.client.auth import Handshake
from realtime_socket.client.errors import ConnectionLost, ServerError
from realtime_socket.client.link import Link, answer_to
from tests.client.support import scripted_server

CODES = frozenset({"not_subscribed", "invalid_room"})


def _script(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """Answers subscribe "a" only after subscribe "b", with a message in between;
    members gets an error nobody but members can take, preceded by a stray one."""
    if frame["action"] == "subscribe" and frame["room"] == "b":
        return [
            {"type": "subscribed", "room": "b", "seq": 2},
            {"type": "message", "room": "a", "seq": 1},
            {"type": "subscribed", "room": "a", "seq": 1},
        ]
    if frame["action"] == "members":
        return [
            {"type": "error", "code": "unknown_request", "message": "stray"},
            {"type": "error", "code": "not_subscribed", "message": "join first"},
        ]
    return []


def test_answers_find_their_call_whatever_the_order_and_other_frames_pass_on() -> None:
    """subscribe a and b at once, answered b first: each call gets its own room's answer;
    the message between goes to on_frame; an error goes to the call that can get its code,
    a stray one to on_frame; a closed link fails calls with ConnectionLost."""
    passed: list[dict[str, Any]] = []

    async def main() -> None:
        async with scripted_server(_script) as server:
            link = await Link.open(
                Handshake(server.url),
                lambda _, frame: passed.append(frame),
                lambda _: None,
                open_timeout=5,
                keepalive=None,
            )
            a, b = await asyncio.gather(
                link.call(
                    {"action": "subscribe", "room": "a"}, answer_to("subscribed", "a"), CODES, 5
                ),
                link.call(
                    {"action": "subscribe", "room": "b"}, answer_to("subscribed", "b"), CODES, 5
                ),
            )
            assert (a["seq"], b["seq"]) == (1, 2)
            with pytest.raises(ServerError) as refused:
                await link.call(
                    {"action": "members", "room": "a"}, answer_to("members", "a"), CODES, 5
                )
            assert (refused.value.code, refused.value.message) == ("not_subscribed", "join first")
            assert [f.get("code", f["type"]) for f in passed] == ["message", "unknown_request"]
            await link.close()
            assert link.is_closed
            with pytest.raises(ConnectionLost):
                await link.call({"action": "ping"}, answer_to("pong", "x"), CODES, 5)

    asyncio.run(main())
