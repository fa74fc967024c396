"""The client against the local runtime (rooms, sends, resume, reconnects, devices), and
against a scripted server for the answers the runtime gives only under load (room_busy)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_socket.client import (
    AuthenticationError,
    ClientOptions,
    Gap,
    Member,
    Message,
    Presence,
    Request,
    ServerError,
    connect,
)
from realtime_socket.publish import Publisher
from tests.client.support import (
    FAST,
    GatedTokens,
    data_of,
    echo_message,
    events_until,
    next_events,
    scripted_server,
    token,
    until,
    url,
)
from tests.support.runtime_harness import RunningRuntime


@pytest.fixture
def publisher(rt: RunningRuntime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Publisher]:
    """A backend's Publisher for ``chat``, talking to the runtime's DynamoDB and
    @connections."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", rt.runtime.aws_endpoint)
    with Publisher(
        table_name=rt.table_name("chat"), management_endpoint=rt.runtime.management_url("chat")
    ) as made:
        yield made


def _seqs(events: list[Any]) -> list[int | None]:
    return [e.seq for e in events if isinstance(e, Message)]


# -- rooms ----------------------------------------------------------------------------------


def test_two_clients_send_and_receive_in_a_room(rt: RunningRuntime) -> None:
    """alice and bob in one room: a send returns the stored message (with its seq) and both
    receive each message once, in order."""

    async def main() -> None:
        async with (
            connect(url(rt), token=token("alice"), rooms=["duo"], options=FAST) as alice,
            connect(url(rt), token=token("bob"), rooms=["duo"], options=FAST) as bob,
        ):
            first = await alice.send("duo", {"n": 1})
            second = await bob.send("duo", "two")
            assert (first.room, first.user, first.data, first.seq) == ("duo", "alice", {"n": 1}, 1)
            assert (second.user, second.seq, second.replay) == ("bob", 2, False)
            for client in (alice, bob):
                assert await next_events(client, 2) == [first, second]

    asyncio.run(main())


def test_subscribe_unsubscribe_members_and_presence(rt: RunningRuntime) -> None:
    """subscribe joins (members lists the user, the room hears a presence join),
    unsubscribe leaves (the room's later messages never arrive), members of a room the
    client is not in raises not_subscribed, and a bad room id raises before any frame."""

    async def main() -> None:
        async with (
            connect(url(rt), token=token("carol"), rooms=["desk"], options=FAST) as carol,
            connect(url(rt), token=token("dave"), options=FAST) as dave,
        ):
            assert dave.rooms == []
            await dave.subscribe("hall")
            await dave.subscribe("desk")
            assert dave.rooms == ["hall", "desk"]
            assert await dave.members("desk") == [Member("carol", 1), Member("dave", 1)]
            joined = await next_events(carol, 1, kinds=(Presence,))
            assert joined == [Presence("desk", "join", "dave")]

            await dave.unsubscribe("hall")
            assert dave.rooms == ["desk"]
            with pytest.raises(ServerError) as refused:
                await dave.members("hall")
            assert refused.value.code == "not_subscribed"
            with pytest.raises(ServerError) as refused:
                await dave.send("hall", "not in it")
            assert refused.value.code == "not_subscribed"
            with pytest.raises(ValueError, match="not a room id"):
                await dave.subscribe("no spaces")

            await carol.subscribe("hall")
            await carol.send("hall", "after dave left")
            await carol.send("desk", "to dave")
            (only,) = await next_events(dave, 1)  # the hall message never came first
            assert isinstance(only, Message) and (only.room, only.data) == ("desk", "to dave")

    asyncio.run(main())


def test_messages_to_the_user_have_no_seq_and_are_delivered_as_they_come(
    rt: RunningRuntime, publisher: Publisher
) -> None:
    """send_to_user's frames (room null, no seq) reach the iteration, twice if sent
    twice: no seq, no dedupe."""

    async def main() -> None:
        async with connect(url(rt), token=token("erin"), options=FAST) as erin:
            for _ in range(2):
                result = await publisher.send_to_user_async("erin", {"note": "ready"})
                assert result.delivered == 1
            got = await next_events(erin, 2)
            assert [(m.room, m.seq, m.user, m.data) for m in got] == [  # type: ignore[union-attr]
                (None, None, "server", {"note": "ready"})
            ] * 2

    asyncio.run(main())


# -- devices --------------------------------------------------------------------------------


def test_on_request_answers_the_backends_request(rt: RunningRuntime, publisher: Publisher) -> None:
    """A sync handler's and an async handler's return values are the replies
    Publisher.request gets; without a handler the Request is yielded and replied to."""

    async def main() -> None:
        async with connect(url(rt), token=token("device-7"), options=FAST) as device:
            asked: list[Any] = []

            @device.on_request
            def read(data: Any) -> Any:
                asked.append(data)
                return {"temp": 21.5}

            reply = await publisher.request_async("device-7", {"read": "temp"}, timeout=5)
            assert (reply, asked) == ({"temp": 21.5}, [{"read": "temp"}])

            @device.on_request
            async def read_async(data: Any) -> Any:
                return {"echo": data}

            assert await publisher.request_async("device-7", 3, timeout=5) == {"echo": 3}

            device._handler = None  # no handler: the application answers from the iteration
            asking = asyncio.ensure_future(publisher.request_async("device-7", "hi", timeout=5))
            (request,) = await next_events(device, 1, kinds=(Request,))
            assert isinstance(request, Request) and request.data == "hi"
            await request.reply(None)
            assert await asking is None

    asyncio.run(main())


# -- resume ---------------------------------------------------------------------------------


def test_an_abrupt_drop_resumes_with_every_message_once_and_in_order(rt: RunningRuntime) -> None:
    """The receiver's TCP connection is cut (no close frame) and it stays away while 7
    messages are sent; back with a fresh token, it replays them with history (paged by 2)
    and the application sees seqs 1..14 exactly once, in order."""
    room = "resume"

    async def main() -> None:
        tokens = GatedTokens("reader")
        async with (
            connect(url(rt), token=tokens, rooms=[room], options=FAST) as reader,
            connect(url(rt), token=token("writer"), rooms=[room], options=FAST) as writer,
        ):
            sent = [await writer.send(room, n) for n in range(4)]
            assert await next_events(reader, 4) == sent
            tokens.shut()
            link = reader._link
            assert link is not None
            link.abort()  # a network failure: no close frame
            await until(lambda: tokens.calls == 2)  # reconnecting, held at the token
            sent += [await writer.send(room, n) for n in range(4, 11)]
            tokens.open()
            await until(lambda: reader.connections == 2)
            sent += [await writer.send(room, n) for n in range(11, 14)]
            got = await events_until(reader, lambda got: len(got) >= 10)
            assert [m.seq for m in sent] == list(range(1, 15))
            assert _seqs(got) == list(range(5, 15)), got
            assert data_of(got) == list(range(4, 14))
            assert [m.replay for m in got[:7]] == [True] * 7  # from history, not live
            assert not any(isinstance(e, Gap) for e in got)

    asyncio.run(main())


def test_the_proactive_reconnect_loses_and_repeats_nothing(rt: RunningRuntime) -> None:
    """With max_age 0.4 s the sender renews its connection several times while it sends 24
    messages: every send succeeds once, and the sender and a listener both see seqs 1..24
    exactly once, in order."""
    room = "aging"
    aging = ClientOptions(max_age=0.4, backoff_base=0.02, backoff_cap=0.2, answer_timeout=10)

    async def main() -> None:
        async with (
            connect(url(rt), token=token("old"), rooms=[room], options=aging) as sender,
            connect(url(rt), token=token("listener"), rooms=[room], options=FAST) as listener,
        ):
            sent = []
            for n in range(24):
                sent.append(await sender.send(room, n))
                await asyncio.sleep(0.05)
            assert sender.connections >= 3  # it did renew, more than once
            assert [m.seq for m in sent] == list(range(1, 25))
            for client in (sender, listener):
                got = await next_events(client, 24)
                assert (_seqs(got), data_of(got)) == (list(range(1, 25)), list(range(24)))

    asyncio.run(main())


def test_a_gap_is_reported_when_history_no_longer_has_the_missed_messages(
    rt: RunningRuntime,
) -> None:
    """``brief`` keeps no history: a client away while seqs 2-3 are sent gets
    Gap(after_seq=1, resumed_at=4) on its return, then seq 4 live."""
    room = "fleeting"

    async def main() -> None:
        tokens = GatedTokens("late")
        async with (
            connect(url(rt, "brief"), token=tokens, rooms=[room], options=FAST) as late,
            connect(url(rt, "brief"), token=token("on-time"), rooms=[room], options=FAST) as w,
        ):
            first = await w.send(room, "kept")
            assert await next_events(late, 1) == [first]
            tokens.shut()
            assert late._link is not None
            late._link.abort()
            await until(lambda: tokens.calls == 2)
            await w.send(room, "lost-2")
            await w.send(room, "lost-3")
            tokens.open()
            gap = await next_events(late, 1)
            assert gap == [Gap(room, after_seq=1, resumed_at=4)]
            fresh = await w.send(room, "new-4")
            assert await next_events(late, 1) == [fresh]

    asyncio.run(main())


# -- handshakes -----------------------------------------------------------------------------


def test_a_refused_token_raises_and_is_not_retried_forever(rt: RunningRuntime) -> None:
    """A bad token fails the first connect with AuthenticationError (401); a provider that
    starts returning bad tokens is asked auth_retries + 1 times after a drop, then the
    iteration raises AuthenticationError."""
    options = ClientOptions(backoff_base=0.01, backoff_cap=0.05, auth_retries=2)

    async def main() -> None:
        with pytest.raises(AuthenticationError) as refused:
            async with connect(url(rt), token="not-a-jwt", options=options):
                pass
        assert refused.value.status == 401

        handed: list[str] = []

        def provider() -> str:
            handed.append(token("fading") if not handed else "expired")
            return handed[-1]

        async with connect(url(rt), token=provider, rooms=["door"], options=options) as client:
            assert client._link is not None
            client._link.abort()
            with pytest.raises(AuthenticationError):
                await next_events(client, 1)
            assert len(handed) == 1 + 3  # the first connect, then 3 refused attempts
            with pytest.raises(AuthenticationError):
                await client.send("door", "too late")

    asyncio.run(main())


# -- answers the runtime gives only under load ----------------------------------------------


def test_room_busy_is_sent_again_until_the_message_is_stored() -> None:
    """Two room_busy answers (nothing stored) are retried transparently: the third attempt
    is stored and send returns it; nothing else reaches the iteration."""
    busy = {"left": 2}

    def script(frame: dict[str, Any]) -> list[dict[str, Any]]:
        if frame["action"] == "subscribe":
            return [{"type": "subscribed", "room": frame["room"], "seq": 0}]
        if frame["action"] == "sendmessage":
            if busy["left"]:
                busy["left"] -= 1
                return [{"type": "error", "code": "room_busy", "message": "send again"}]
            return [echo_message(frame, seq=1)]
        return []

    async def main() -> None:
        async with (
            scripted_server(script) as server,
            connect(server.url, token=token("alice"), rooms=["busy"], options=FAST) as client,
        ):
            stored = await client.send("busy", {"n": 1})
            assert (stored.seq, stored.data) == (1, {"n": 1})
            assert [f["action"] for f in server.received] == ["subscribe", *["sendmessage"] * 3]
            assert await next_events(client, 1, kinds=(Message, ServerError)) == [stored]

    asyncio.run(main())


def test_errors_raise_from_the_call_that_caused_them_and_others_are_yielded() -> None:
    """room_busy past busy_retries and message_too_large raise ServerError from send; an
    error frame no call waits for (a stray unknown_request) is yielded by the iteration."""

    def script(frame: dict[str, Any]) -> list[dict[str, Any]]:
        if frame["action"] == "subscribe":
            return [{"type": "subscribed", "room": frame["room"], "seq": 0}]
        code = "room_busy" if frame["data"] == "busy" else "message_too_large"
        stray = {"type": "error", "code": "unknown_request", "message": "no such request"}
        return [stray, {"type": "error", "code": code, "message": "no"}]

    async def main() -> None:
        options = ClientOptions(busy_retries=1, answer_timeout=5)
        async with (
            scripted_server(script) as server,
            connect(server.url, token=token("alice"), rooms=["r"], options=options) as client,
        ):
            with pytest.raises(ServerError) as raised:
                await client.send("r", "busy")
            assert raised.value.code == "room_busy"
            assert len(server.received) == 1 + 2  # the subscribe, a send and one retry
            with pytest.raises(ServerError) as raised:
                await client.send("r", "x" * 10)
            assert raised.value.code == "message_too_large"
            strays = await next_events(client, 3, kinds=(ServerError,))
            assert [e.code for e in strays] == ["unknown_request"] * 3  # type: ignore[union-attr]

    asyncio.run(main())


def test_a_frame_before_subscribed_waits_and_a_skipped_seq_is_fetched_from_history() -> None:
    """The server sends seq 5 before its subscribed answer (seq 5), then live 6 and 8: the
    client delivers 5 and 6, asks history since 6 for the skipped 7, follows ``more`` (since
    8: the live 8 is not asked again), and delivers 7, 8 and 9 once each, in order."""

    def frame(seq: int, **extra: Any) -> dict[str, Any]:
        return echo_message({"room": "r", "data": seq}, seq, user="bob") | extra

    def script(sent: dict[str, Any]) -> list[dict[str, Any]]:
        if sent["action"] == "subscribe":
            subscribed = {"type": "subscribed", "room": "r", "seq": 5}
            return [frame(5), subscribed, frame(6), frame(8)]
        if sent["action"] == "history" and sent["since"] == 6:
            page = {"type": "history", "room": "r", "last_seq": 7, "complete": True}
            return [frame(7, replay=True), page | {"more": True}]
        if sent["action"] == "history" and sent["since"] == 8:  # 8 came live meanwhile
            page = {"type": "history", "room": "r", "last_seq": 9, "complete": True}
            return [frame(9, replay=True), page | {"more": False}]
        return []

    async def main() -> None:
        async with (
            scripted_server(script) as server,
            connect(server.url, token=token("alice"), rooms=["r"], options=FAST) as client,
        ):
            got = await next_events(client, 5)
            assert [(m.seq, m.replay) for m in got] == [  # type: ignore[union-attr]
                (5, False),
                (6, False),
                (7, True),
                (8, False),
                (9, True),
            ]
            asked = [f["since"] for f in server.received if f["action"] == "history"]
            assert asked == [6, 8]

    asyncio.run(main())


def test_pings_keep_the_connection_busy_and_a_url_room_is_subscribed_like_the_others() -> None:
    """ping_interval 0.05 s: the server hears {"action":"ping"} again and again; a room_id
    in the URL is taken out of the handshake and subscribed (so every reconnect joins
    exactly the rooms followed)."""

    def script(frame: dict[str, Any]) -> list[dict[str, Any]]:
        if frame["action"] == "subscribe":
            return [{"type": "subscribed", "room": frame["room"], "seq": 0}]
        return [{"type": "pong"}]

    async def main() -> None:
        options = ClientOptions(ping_interval=0.05)
        async with scripted_server(script) as server:
            address, pinger = f"{server.url}?room_id=lobby&v=1", token("p")
            async with connect(address, token=pinger, options=options):
                await until(lambda: sum(f == {"action": "ping"} for f in server.received) >= 3)
            assert server.received[0] == {"action": "subscribe", "room": "lobby"}
            assert server.paths == [f"/chat?v=1&token={pinger}"]

    asyncio.run(main())
