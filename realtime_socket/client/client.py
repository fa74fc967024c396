"""The client: one logical connection to a namespace that survives real ones.

API Gateway closes every connection at 2 hours and after 10 idle minutes, and networks drop.
:class:`Client` pings before the idle timeout, reconnects before the cap (opening the new
connection, resubscribing and catching up before closing the old one), reconnects with
backoff after a drop, and after each connect resubscribes every room and asks ``history``
since the last seq it delivered (README, "History and resume"). Each room's frames go
through a :class:`~.sequence.RoomSequence`, so the application sees every message once and
in seq order, or a :class:`~.events.Gap` where history no longer has them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.exceptions import WebSocketException

from realtime_socket.client.auth import Carrier, Credentials, TokenProvider, token_claims
from realtime_socket.client.backoff import Backoff
from realtime_socket.client.devices import RequestHandler, run_handler
from realtime_socket.client.errors import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    HandshakeRefused,
    ServerError,
)
from realtime_socket.client.events import (
    Event,
    Gap,
    Members,
    Message,
    Presence,
    Request,
)
from realtime_socket.client.link import Frame, Link, answer_to
from realtime_socket.client.options import ClientOptions
from realtime_socket.client.sequence import RoomSequence
from realtime_socket.contract import DEFAULT_QUERY_PARAMETER, ROOM_ID_PATTERN

__all__ = ["Client", "connect"]

logger = logging.getLogger("realtime_socket.client")

# The error codes each call can be answered with (README's errors table); an error frame
# goes to the oldest waiting call whose set holds its code.
_ANY = frozenset({"not_connected", "token_expired", "invalid_frame"})
_SUBSCRIBE = _ANY | {"invalid_room", "forbidden", "too_many_rooms"}
_UNSUBSCRIBE = _ANY | {"invalid_room"}
_MEMBERS = _ANY | {"invalid_room", "not_subscribed"}
_HISTORY = _ANY | {"invalid_room", "not_subscribed", "invalid_since"}
_SEND = _ANY | {
    "invalid_room",
    "not_subscribed",
    "missing_room",
    "missing_data",
    "room_busy",
    "message_too_large",
    "rate_limited",
}
#: Statuses a new attempt cannot change: a bad room id (400), a wrong path (404).
_FINAL_STATUSES = frozenset({400, 404})
#: room_busy: the server already retried 10 times with jitter; wait a little more each time.
_BUSY_WAIT = 0.05


@dataclass(frozen=True)
class _End:
    """Queued last: iteration stops, raising ``error`` if the client failed."""

    error: BaseException | None = None


def connect(
    url: str,
    *,
    token: TokenProvider | None = None,
    rooms: Iterable[str] = (),
    carrier: Carrier = "query",
    query_parameter: str = DEFAULT_QUERY_PARAMETER,
    options: ClientOptions | None = None,
) -> Client:
    """A client for the namespace at ``url``; ``async with`` connects it and closes it.

    Args:
        url: the namespace's ``url`` output (``wss://…/live``); a ``room_id`` in it is
            followed like ``rooms``.
        token: a JWT, or a function (plain or async) returning one, called before each
            connect; None when ``url`` carries the token already.
        rooms: rooms to subscribe to on connect (and again on every reconnect).
        carrier: how the token travels, as the namespace's ``jwt.carriers`` allows:
            ``query`` (``?token=``), ``protocol`` (``Sec-WebSocket-Protocol``) or ``header``
            (``Authorization: Bearer``).
        query_parameter: the query parameter's name (``jwt.query_parameter``).
        options: timing rules (:class:`ClientOptions`).
    """
    return Client(url, Credentials(token, carrier, query_parameter), rooms, options)


class Client:
    """A resuming connection; use :func:`connect`. Iterate it for :class:`Message`,
    :class:`Gap`, :class:`Presence`, :class:`Request` (without an ``on_request`` handler)
    and :class:`ServerError` (an error frame no call was waiting for)."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        rooms: Iterable[str] = (),
        options: ClientOptions | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        self._credentials = credentials
        # A room_id in the URL is subscribed like the others, so that every reconnect joins
        # exactly the rooms the client follows (and learns each room's seq).
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        url_rooms = [value for name, value in query if name == "room_id" and value]
        self.url = urlunsplit(
            parts._replace(query=urlencode([q for q in query if q[0] != "room_id"]))
        )
        wanted = [*url_rooms, *rooms]
        self._rooms: dict[str, RoomSequence] = {
            room: RoomSequence(_room_id(room)) for room in wanted
        }
        self._events: asyncio.Queue[Event | _End] = asyncio.Queue()
        self._link: Link | None = None
        self._ready = asyncio.Event()
        self._stopped = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._watches: list[tuple[str, Any, asyncio.Future[Message]]] = []
        self._filling: dict[tuple[str, Link], asyncio.Lock] = {}
        self._gap_fills: dict[tuple[str, Link], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handler: RequestHandler | None = None
        self._failure: BaseException | None = None
        self._closing = False
        #: Connections opened so far (1 until the first reconnect).
        self.connections = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect and subscribe. The first connect is not retried: a refused handshake, a
        refused room (:class:`ServerError`) or an unreachable URL raises here, where a
        misconfiguration is easiest to see."""
        self._use(await self._open(strict=True))
        self._spawn(self._supervise())
        self._spawn(self._keep_alive())

    async def close(self) -> None:
        """Close the connection; iteration ends and pending calls raise."""
        if self._closing:
            return
        self._closing = True
        self._stopped.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._link is not None:
            await self._link.close()
        self._end(None)

    @property
    def rooms(self) -> list[str]:
        """The rooms this client follows (resubscribed on every reconnect)."""
        return list(self._rooms)

    # -- calls ------------------------------------------------------------------------------

    async def subscribe(self, room: str) -> None:
        """Join ``room`` (also on every later reconnect). Raises :class:`ServerError`
        (``forbidden``, ``too_many_rooms``...)."""
        added = room not in self._rooms
        self._rooms.setdefault(room, RoomSequence(_room_id(room)))
        while True:
            link = await self._current()
            try:
                await self._join(link, room, strict=True)
                return
            except ServerError:
                if added:
                    self._rooms.pop(room, None)
                raise
            except ConnectionLost:
                self._lost(link)

    async def unsubscribe(self, room: str) -> None:
        """Leave ``room``; its frames still on the way are dropped."""
        self._rooms.pop(_room_id(room), None)
        link = await self._current()
        link.rooms.discard(room)
        try:
            await link.call(
                {"action": "unsubscribe", "room": room},
                answer_to("unsubscribed", room),
                _UNSUBSCRIBE,
                self.options.answer_timeout,
            )
        except ConnectionLost:
            self._lost(link)  # the next connection does not join it

    async def members(self, room: str) -> Members:
        """Who is in ``room`` (the client must be in it): users and connection counts."""
        while True:
            link = await self._current()
            try:
                answer = await link.call(
                    {"action": "members", "room": _room_id(room)},
                    answer_to("members", room),
                    _MEMBERS,
                    self.options.answer_timeout,
                )
                return Members.from_frame(answer)
            except ConnectionLost:
                self._lost(link)

    async def send(self, room: str, data: Any) -> Message:
        """Send ``data`` to ``room`` and return it as the room delivered it (with its seq).

        ``room_busy`` (nothing was stored) is sent again, up to ``busy_retries`` times. A
        send cut off by a drop is looked for in the replay after the reconnect and sent
        again only when the replay does not hold it. Raises :class:`ServerError` for
        other error frames and ``TimeoutError`` when no answer comes.
        """
        expected = json.loads(json.dumps(data))  # as the server will echo it
        frame = {"action": "sendmessage", "room": _room_id(room), "data": data}
        async with self._send_lock:
            echo: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
            self._watches.append((room, expected, echo))
            try:
                return await asyncio.wait_for(self._send(frame, echo), self.options.answer_timeout)
            finally:
                self._watches = [w for w in self._watches if w[2] is not echo]

    async def _send(self, frame: Frame, echo: asyncio.Future[Message]) -> Message:
        busy = 0
        while True:
            link = await self._current()
            waiter = link.expect(None, _SEND)
            try:
                await link.send(frame)
                either: set[asyncio.Future[Any]] = {echo, waiter.future}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if echo.done():
                    return echo.result()
                waiter.future.result()  # raises: an error frame, or the connection dropped
            except ServerError as exc:
                if exc.code != "room_busy" or busy >= self.options.busy_retries:
                    raise
                busy += 1
                await asyncio.sleep(random.uniform(0, _BUSY_WAIT * 2**busy))  # noqa: S311
            except ConnectionLost:
                self._lost(link)
                await self._current()  # resubscribed and replayed: the echo is in if stored
                if echo.done():
                    return echo.result()
            finally:
                link.forget(waiter)

    def on_request(self, handler: RequestHandler) -> RequestHandler:
        """Decorator: ``handler(data)`` (plain, run in a worker thread, or async) answers
        every backend request (``Publisher.request``); what it returns is the reply. A
        handler that raises sends no reply (the backend's call times out)."""
        self._handler = handler
        return handler

    # -- iteration --------------------------------------------------------------------------

    def __aiter__(self) -> Client:
        return self

    async def __anext__(self) -> Event:
        item = await self._events.get()
        if isinstance(item, _End):
            self._events.put_nowait(item)  # every later iteration ends too
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        return item

    # -- connecting -------------------------------------------------------------------------

    async def _open(self, *, strict: bool = False) -> Link:
        """A new connection, subscribed to every room and caught up on each; a room it may
        not join any more is dropped with a :class:`ServerError` event (raised if strict)."""
        handshake = await self._credentials.handshake(self.url)
        link = await Link.open(
            handshake,
            self._on_frame,
            self._lost,
            open_timeout=self.options.open_timeout,
            keepalive=self.options.keepalive,
        )
        self.connections += 1
        try:
            for room in list(self._rooms):
                await self._join(link, room, strict=strict)
        except BaseException:
            await link.close()
            raise
        return link

    async def _join(self, link: Link, room: str, *, strict: bool) -> None:
        """Subscribe on ``link``, then replay what the room has that was not delivered."""
        try:
            answer = await link.call(
                {"action": "subscribe", "room": room},
                answer_to("subscribed", room),
                _SUBSCRIBE,
                self.options.answer_timeout,
            )
        except ServerError as exc:
            if strict:
                raise
            self._rooms.pop(room, None)  # e.g. a new token no longer grants it
            self._emit(exc)
            return
        link.rooms.add(room)
        state = self._rooms.get(room)
        if state is None:
            return  # left meanwhile
        seq = answer.get("seq")
        seq = seq if isinstance(seq, int) else 0
        self._deliver(state.start(seq))
        try:
            await self._fill(link, room, upto=seq)
        except ServerError as exc:  # e.g. not_subscribed: left meanwhile
            self._emit(exc)

    async def _fill(self, link: Link, room: str, upto: int = 0) -> None:
        """Ask ``history`` since the last delivered seq, following ``more``, until the room
        has no hole and is at ``upto``. One at a time per room and connection: a second
        caller waits for the first and finds nothing left to ask."""
        async with self._filling.setdefault((room, link), asyncio.Lock()):
            more = False
            while (state := self._rooms.get(room)) is not None and (
                more or state.has_hole or state.behind(upto)
            ):
                since = state.last
                answer = await link.call(
                    {"action": "history", "room": room, "since": since},
                    answer_to("history", room),
                    _HISTORY,
                    self.options.answer_timeout,
                )
                last_seq = answer.get("last_seq")
                if isinstance(last_seq, int):
                    self._deliver(state.settle(last_seq))
                more = answer.get("more") is True
                if not more and state.last == since:
                    return  # nothing moved: the next frame asks again, not a busy loop

    def _use(self, link: Link) -> None:
        self._link = link
        self._ready.set()

    def _lost(self, link: Link) -> None:
        """``link`` closed: calls wait for the next connection (the supervisor makes it)."""
        if link is self._link:
            self._ready.clear()
        for key in [key for key in self._filling if key[1] is link]:
            del self._filling[key]

    async def _current(self) -> Link:
        """The connection to use, waiting while the client reconnects."""
        while True:
            if self._failure is not None:
                raise self._failure
            if self._closing:
                raise ClientError("the client is closed")
            link = self._link
            if link is not None and self._ready.is_set() and not link.is_closed:
                return link
            ready = asyncio.ensure_future(self._ready.wait())
            stopped = asyncio.ensure_future(self._stopped.wait())
            try:
                await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ready.cancel()
                stopped.cancel()

    async def _supervise(self) -> None:
        """Replace the connection before it ages out, and after any drop."""
        backoff = Backoff(self.options.backoff_base, self.options.backoff_cap)
        while not self._closing:
            link = self._link
            assert link is not None
            remaining = self._time_left(link)
            try:
                await asyncio.wait_for(link.closed.wait(), max(remaining, 0))
            except TimeoutError:
                if await self._renew(link):
                    continue
            self._lost(link)
            try:
                self._use(await self._reconnect(backoff))
            except ClientError:
                return  # _fail told the calls and the iteration

    def _time_left(self, link: Link) -> float:
        """Seconds until ``link`` should be replaced: before API Gateway's cap, and before
        its token expires when a provider can bring a new one (the server answers
        ``token_expired`` and closes the connection at ``exp``). A token that arrives with
        less than ``expiry_margin`` left is used until it fails, not renewed in a loop."""
        left = self.options.max_age - link.age()
        expires = token_claims(link.token).get("exp")
        if self._credentials.refreshable and isinstance(expires, int | float):
            renew_at = expires - self.options.expiry_margin
            if renew_at > link.opened_wall:
                left = min(left, renew_at - time.time())
        return max(left, 0.0)

    async def _renew(self, old: Link) -> bool:
        """Make before break: the new connection is subscribed and caught up before the old
        one closes (frames both deliver are deduplicated). Whether it worked."""
        try:
            new = await self._open()
        except Exception as exc:  # e.g. 429: the user's connection cap; break, then make
            logger.warning("proactive reconnect failed (%s); reconnecting after a close", exc)
            await old.close()
            return False
        async with self._send_lock:  # a send in flight on the old link finishes there first
            self._use(new)
        await old.close()
        try:
            await self._reconcile(new)
        except (ClientError, TimeoutError) as exc:  # the new link failed: the loop notices
            logger.info("reconciling rooms after a reconnect failed (%s)", exc)
        return True

    async def _reconcile(self, link: Link) -> None:
        """Rooms joined or left on the old connection while the new one was opening."""
        for room in [room for room in self._rooms if room not in link.rooms]:
            await self._join(link, room, strict=False)
        for room in [room for room in link.rooms if room not in self._rooms]:
            with contextlib.suppress(ClientError, TimeoutError):
                await self.unsubscribe(room)

    async def _reconnect(self, backoff: Backoff) -> Link:
        refusals = 0
        while True:
            await asyncio.sleep(backoff.next_delay())
            try:
                link = await self._open()
            except AuthenticationError as exc:
                refusals += 1
                if not self._credentials.refreshable or refusals > self.options.auth_retries:
                    raise self._fail(exc) from None
                logger.warning("reconnect refused (%s); asking the token provider again", exc)
            except HandshakeRefused as exc:
                if exc.status in _FINAL_STATUSES:
                    raise self._fail(exc) from None
                logger.warning("reconnect refused (%s); retrying", exc)
            except (OSError, TimeoutError, WebSocketException, ClientError) as exc:
                logger.info("reconnect failed (%s); retrying", exc)
            else:
                backoff.reset()
                return link

    async def _keep_alive(self) -> None:
        """``{"action":"ping"}`` so that API Gateway's idle timeout never closes a quiet
        connection; the answer (``pong``) needs no handling."""
        while True:
            await asyncio.sleep(self.options.ping_interval)
            link = self._link
            if link is not None and not link.is_closed:
                with contextlib.suppress(ConnectionLost):  # the supervisor reconnects
                    await link.send({"action": "ping"})

    def _fail(self, error: ClientError) -> ClientError:
        """The client cannot go on: calls and iteration raise ``error``."""
        self._failure = error
        self._stopped.set()
        self._end(error)
        return error

    def _end(self, error: BaseException | None) -> None:
        self._events.put_nowait(_End(error))
        for _, _, echo in self._watches:
            if not echo.done():
                echo.set_exception(error or ClientError("the client is closed"))
                echo.exception()

    # -- frames -----------------------------------------------------------------------------

    def _on_frame(self, link: Link, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "message":
            self._on_message(link, frame)
        elif kind == "request":
            self._on_request(link, frame)
        elif kind == "presence":
            room, event, user = frame.get("room"), frame.get("event"), frame.get("user")
            if isinstance(room, str) and isinstance(event, str) and isinstance(user, str):
                self._emit(Presence(room, event, user))
        elif kind == "error":
            self._emit(ServerError(str(frame.get("code", "")), str(frame.get("message", ""))))
        # pong, and answers whose call gave up: nothing to do

    def _on_message(self, link: Link, frame: Frame) -> None:
        message = Message.from_frame(frame)
        if message.room is None or message.seq is None:
            self._deliver([message])  # to the user, or from a stack without history
            return
        state = self._rooms.get(message.room)
        if state is None:
            return  # a room this client left
        self._deliver(state.take(message))
        key = (message.room, link)
        if state.has_hole and not link.is_closed and key not in self._gap_fills:
            fill = self._spawn(self._fill_quietly(link, message.room))
            self._gap_fills[key] = fill
            fill.add_done_callback(lambda _: self._gap_fills.pop(key, None))

    async def _fill_quietly(self, link: Link, room: str) -> None:
        try:
            await self._fill(link, room)
        except (ClientError, TimeoutError) as exc:
            logger.info("history for %s failed (%s); the next connection resumes it", room, exc)

    def _on_request(self, link: Link, frame: Frame) -> None:
        request_id = str(frame.get("id", ""))

        async def reply(rid: str, data: Any) -> None:
            await link.send({"action": "reply", "id": rid, "data": data})

        if self._handler is None:
            self._emit(Request(request_id, frame.get("data"), reply))
        else:
            self._spawn(self._answer(self._handler, request_id, frame.get("data"), reply))

    async def _answer(
        self,
        handler: RequestHandler,
        request_id: str,
        data: Any,
        reply: Callable[[str, Any], Awaitable[None]],
    ) -> None:
        try:
            result = await run_handler(handler, data)
        except Exception:
            logger.exception("on_request handler failed; request %s gets no reply", request_id)
            return
        try:
            await reply(request_id, result)
        except ConnectionLost:
            logger.info("request %s: the connection closed before the reply", request_id)
        except (TypeError, ValueError):
            logger.exception("on_request handler returned what JSON cannot encode")

    def _deliver(self, events: Iterable[Message | Gap]) -> None:
        for event in events:
            self._emit(event)
            if isinstance(event, Message):
                self._confirm(event)

    def _confirm(self, message: Message) -> None:
        """Resolve the send this message is the echo of, if any."""
        if not self._watches:
            return
        me = token_claims(self._link.token).get("sub") if self._link is not None else None
        for room, data, echo in self._watches:
            if (
                not echo.done()
                and message.room == room
                and message.data == data
                and (me is None or message.user == me)
            ):
                echo.set_result(message)
                return

    def _emit(self, event: Event) -> None:
        self._events.put_nowait(event)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _room_id(room: str) -> str:
    """``room`` if it is a valid room id: checked here so a typo raises at the call."""
    if not isinstance(room, str) or not ROOM_ID_PATTERN.fullmatch(room):
        raise ValueError(f"{room!r} is not a room id (1-128 letters, digits and -_.:)")
    return room
