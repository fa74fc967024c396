"""Push from your backend: to every connection in a room, to a user, or ask a device.

Usage::

    from realtime_socket.publish import Publisher

    publisher = Publisher.from_stack_output(outputs["chat"])  # pulumi stack output chat
    result = publisher.publish("lobby", {"text": "deploy finished"})
    result.delivered, result.gone, result.failed
    publisher.send_to_user("alice", {"text": "your export is ready"})
    temperature = publisher.request("device-42", {"read": "temp"}, timeout=5.0)

The path is the ``sendmessage`` handler's, with the same code: the room's members come from
a Query on the room index (:func:`~realtime_socket.handlers.connections.room_members`), the
frame is :func:`~realtime_socket.handlers.protocol.message_frame` with ``from`` set to the
sender, the posts go through the fan-out engine
(:class:`~realtime_socket.handlers.fanout.ConnectionsApi`: SigV4-signed, keep-alive, bounded
concurrency, botocore's retry rules) and the rows of connections that answer 410 are
deleted with :func:`~realtime_socket.handlers.connections.delete_many`. ``send_to_user``
and ``request`` find a user's connections on the user index instead; ``request`` keeps its
pending request in the table (:mod:`~realtime_socket.handlers.requests`), where the
``reply`` route stores the device's answer. The calls are exactly what
``RealtimeSocket.grant_publish`` allows (its docstring lists them).

Credentials and region come from boto3's usual chain (or the ``session`` passed in). For the
local runtime (``realtime-socket dev``) set ``AWS_ENDPOINT_URL`` to its AWS APIs endpoint and
pass the ``@connections`` URL it prints as ``management_endpoint``.

This module imports boto3 and the Lambda handlers' modules, never pulumi: backends and Lambda
functions can use it without the component's dependencies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from realtime_socket.contract import (
    DEFAULT_FANOUT_CONCURRENCY,
    DEFAULT_HISTORY_RETENTION_SECONDS,
    MAX_MESSAGE_BYTES,
    REQUEST_TTL_MARGIN_SECONDS,
    ROOM_ID_PATTERN,
    Table,
)
from realtime_socket.handlers import connections, messages, protocol, requests
from realtime_socket.handlers.fanout import ConnectionsApi

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["NotConnected", "PublishResult", "Publisher"]

_logger = logging.getLogger(__name__)

#: ``https://{api}.execute-api.{region}.amazonaws.com/{stage}``: the region to sign for.
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
#: The keys :meth:`Publisher.from_stack_output` needs from a namespace's stack output.
_OUTPUT_KEYS = ("table_name", "management_endpoint")
#: ``request`` reads its pending request first after 20 ms, then waits twice as long
#: between reads, at most 500 ms: a device on a LAN answers within the first reads, and a
#: 5 s wait costs at most 14 consistent reads (one read unit each while unanswered).
_POLL_FIRST, _POLL_MAX = 0.02, 0.5


class NotConnected(LookupError):
    """The user has no live connection that took the message or request."""

    def __init__(self, user: str, detail: str) -> None:
        super().__init__(f"{user!r} {detail}")
        self.user = user


def _check_user(user: object) -> None:
    if not isinstance(user, str) or not user:
        raise ValueError(f"user must be a token's non-empty sub, not {user!r}")


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass(frozen=True)
class PublishResult:
    """What became of one publish, per connection in the room."""

    #: Posts the ``@connections`` API accepted.
    delivered: int = 0
    #: Connections that answered 410 Gone; their rows were deleted.
    gone: int = 0
    #: Posts that still failed after botocore's retry budget (logged with their error).
    failed: int = 0


class Publisher:
    """Posts server-side messages to the rooms of one namespace (one ``RealtimeSocket``).

    Thread-safe, and meant to live as long as the process: it keeps its DynamoDB client and
    keep-alive connections to the ``@connections`` endpoint between calls. Each publish posts
    at most ``concurrency`` messages at a time; concurrent publishes each get their own
    connections.
    """

    def __init__(
        self,
        table_name: str,
        management_endpoint: str,
        region: str | None = None,
        *,
        room_index: str = Table.ROOM_INDEX,
        user_index: str = Table.USER_INDEX,
        history_table: str | None = None,
        history_retention_seconds: int = DEFAULT_HISTORY_RETENTION_SECONDS,
        concurrency: int = DEFAULT_FANOUT_CONCURRENCY,
        session: boto3.session.Session | None = None,
    ) -> None:
        if not table_name:
            raise ValueError("table_name is required")
        parts = urlsplit(management_endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"management_endpoint must be the @connections URL "
                f"(https://<api>.execute-api.<region>.amazonaws.com/<stage>), "
                f"not {management_endpoint!r}"
            )
        self._session = session or boto3.session.Session()
        found = _EXECUTE_API_HOST.match(parts.hostname)
        resolved = region or (found.group(1) if found else None) or self._session.region_name
        if not resolved:
            raise ValueError("no AWS region: pass region= or set AWS_REGION")
        self.table_name = table_name
        self.management_endpoint = management_endpoint.rstrip("/")
        self.region: str = resolved
        self.room_index = room_index
        self.user_index = user_index
        #: With it, a published message gets its room's next ``seq`` and is kept for
        #: ``history`` like a client's; without it (older stacks), it has no ``seq``.
        self.history_table = history_table or None
        self.history_retention_seconds = history_retention_seconds
        self.concurrency = concurrency
        # The handlers' client settings: standard retries, 6 attempts (delete_many reads them).
        self._db: DynamoDBClient = self._session.client(
            "dynamodb",
            region_name=self.region,
            config=Config(retries={"mode": "standard", "total_max_attempts": 6}),
        )
        self._credentials: Credentials | None = None
        self._idle: list[ConnectionsApi] = []
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_stack_output(
        cls,
        output: Mapping[str, Any],
        *,
        region: str | None = None,
        session: boto3.session.Session | None = None,
    ) -> Publisher:
        """A publisher for one namespace's stack output (``pulumi stack output <namespace>``).

        The stack program exports ``url``, ``management_endpoint``, ``custom_url``,
        ``table_name``, ``history_table_name`` and ``history_retention_seconds`` per
        namespace; all but the first and third are what publishing needs (an output from
        before history lacks the last two: its messages then get no ``seq``).
        """
        missing = [key for key in _OUTPUT_KEYS if not output.get(key)]
        if missing:
            raise ValueError(
                f"the stack output lacks {', '.join(missing)}; pass the dict exported for one "
                "namespace (pulumi stack output --json <namespace>)"
            )
        return cls(
            table_name=str(output["table_name"]),
            management_endpoint=str(output["management_endpoint"]),
            region=region,
            history_table=output.get("history_table_name") or None,
            history_retention_seconds=int(
                output.get("history_retention_seconds", DEFAULT_HISTORY_RETENTION_SECONDS)
            ),
            session=session,
        )

    # -- publishing --------------------------------------------------------------------

    def publish(self, room: str, data: Any, *, sender: str = "server") -> PublishResult:
        """Send ``data`` to every connection in ``room`` as a ``message`` frame from ``sender``.

        Every member receives ``{"type":"message","room":room,"from":sender,"data":data,
        "id":…,"ts":…}``, the frame a client's ``sendmessage`` produces. Connections that are
        gone (410) are deleted from the table and counted in ``gone``; a post that still
        fails after the retries is counted in ``failed``.

        Raises:
            ValueError: ``room`` is not a valid room id, ``sender`` is empty, or the frame is
                over API Gateway's 128 KB message limit; raised before any AWS call.
            TypeError: ``data`` is not JSON-serialisable.
            RuntimeError: called on a running event loop (use :meth:`publish_async`).
        """
        self._frame(room, data, sender)
        self._refuse_running_loop("publish")
        return self._deliver(room, data, sender)

    async def publish_async(self, room: str, data: Any, *, sender: str = "server") -> PublishResult:
        """:meth:`publish` for asyncio backends: validates at once, then runs off the loop.

        The DynamoDB calls (boto3) and the fan-out (its own event loop) run in a worker
        thread, so the caller's event loop keeps serving while the room is posted to.
        """
        self._frame(room, data, sender)
        return await asyncio.to_thread(self._deliver, room, data, sender)

    @classmethod
    def _frame(cls, room: str, data: Any, sender: str) -> bytes:
        """Validate a publish and return the frame without its ``seq``; makes no AWS call."""
        if not isinstance(room, str) or not ROOM_ID_PATTERN.fullmatch(room):
            raise ValueError(f"invalid room {room!r}: room ids are 1-128 letters, digits and -_.:")
        if not isinstance(sender, str) or not sender:
            raise ValueError("sender must be a non-empty string")
        return cls._checked(protocol.message_frame(room, sender, data))

    def _deliver(self, room: str, data: Any, sender: str) -> PublishResult:
        if self.history_table is None:
            frame = self._checked(protocol.message_frame(room, sender, data))
        else:
            _, frame = messages.append(
                self._db,
                self.history_table,
                room,
                lambda seq: self._checked(protocol.message_frame(room, sender, data, seq)),
                self.history_retention_seconds,
            )
        members = connections.room_members(self._db, self.table_name, self.room_index, room)
        return self._post(list(members), frame, room=room)

    def _post(self, targets: list[str], frame: bytes, *, room: str | None = None) -> PublishResult:
        """Post ``frame`` to ``targets``; delete the rows (and ``room`` memberships) of those
        that answered 410."""

        def remove_gone(ids: list[str]) -> None:
            """The sendmessage clean-up, except that an incomplete one does not raise."""
            try:
                connections.delete_many(self._db, self.table_name, ids, room=room)
            except connections.UnprocessedDeletes as exc:
                # The messages went out: raising would invite a retry that posts them twice.
                # The rows left expire through the table's TTL.
                _logger.warning(
                    "%s",
                    exc,
                    extra={"event": "cleanup_incomplete", "rows": len(exc.connection_ids)},
                )

        if not targets:
            return PublishResult()
        with self._api() as api:
            result = api.broadcast(targets, frame, on_gone=remove_gone)
        return PublishResult(
            delivered=result.delivered, gone=len(result.gone), failed=len(result.failed)
        )

    # -- one user's connections --------------------------------------------------------

    def send_to_user(self, user: str, data: Any, *, sender: str = "server") -> PublishResult:
        """Send ``data`` to every live connection of the verified subject ``user``.

        Each gets ``{"type":"message","room":null,"from":sender,"data":data,"id":…,
        "ts":…}``; the counts are :meth:`publish`'s. A user with no connection gets nothing
        (all counts 0).

        Raises:
            ValueError: ``user`` or ``sender`` is empty, or the frame is over 128 KB.
            TypeError: ``data`` is not JSON-serialisable.
            RuntimeError: called on a running event loop (use :meth:`send_to_user_async`).
        """
        frame = self._user_frame(user, data, sender)
        self._refuse_running_loop("send_to_user")
        return self._send_to_user(user, frame)

    async def send_to_user_async(
        self, user: str, data: Any, *, sender: str = "server"
    ) -> PublishResult:
        """:meth:`send_to_user` for asyncio backends (runs off the loop, like publish)."""
        frame = self._user_frame(user, data, sender)
        return await asyncio.to_thread(self._send_to_user, user, frame)

    def request(self, user: str, data: Any, timeout: float = 5.0) -> Any:
        """Ask ``user``'s connections and return the ``data`` of the first ``reply``.

        Sends ``{"type":"request","id":RID,"data":data}`` to every live connection of
        ``user``; a device answers ``{"action":"reply","id":RID,"data":…}``. Only those
        connections may answer, once. The pending request lives in the table; this call
        waits on it with consistent reads (first after 20 ms, then doubling up to 500 ms)
        and deletes it when it has the answer or gives up.

        A reply whose ``data`` is ``null`` returns None.

        Raises:
            NotConnected: ``user`` has no live connection, or all of them are gone (410).
            TimeoutError: no reply within ``timeout`` seconds (names the user).
            RuntimeError: no post was accepted and some failed after botocore's retries
                (throttling, 5xx): the user may well be connected.
            ValueError: ``user`` is empty, ``timeout`` is not positive, or the frame is
                over 128 KB; raised before any AWS call.
            TypeError: ``data`` is not JSON-serialisable.
            RuntimeError: called on a running event loop (use :meth:`request_async`).
        """
        request_id, frame = self._request_frame(user, data, timeout)
        self._refuse_running_loop("request")
        return self._request(user, request_id, frame, timeout)

    async def request_async(self, user: str, data: Any, timeout: float = 5.0) -> Any:
        """:meth:`request` for asyncio backends: the wait runs in a worker thread.

        Cancelling the call (``asyncio.wait_for``, a task group) ends the wait at once and
        deletes the pending request, so a later answer is ``unknown_request``.
        """
        request_id, frame = self._request_frame(user, data, timeout)
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(
                self._request, user, request_id, frame, timeout, cancelled
            )
        except asyncio.CancelledError:
            cancelled.set()
            raise

    @staticmethod
    def _refuse_running_loop(method: str) -> None:
        if _running_loop():
            # The fan-out runs its own event loop, which cannot run inside another one.
            raise RuntimeError(
                f"{method}() was called from a running event loop: use {method}_async()"
            )

    @staticmethod
    def _checked(frame: dict[str, Any]) -> bytes:
        encoded = protocol.encode(frame)
        if len(encoded) > MAX_MESSAGE_BYTES:
            raise ValueError(
                f"the {frame['type']} frame is {len(encoded)} bytes; API Gateway's limit is "
                f"{MAX_MESSAGE_BYTES}"
            )
        return encoded

    @classmethod
    def _user_frame(cls, user: str, data: Any, sender: str) -> bytes:
        _check_user(user)
        if not isinstance(sender, str) or not sender:
            raise ValueError("sender must be a non-empty string")
        return cls._checked(protocol.message_frame(None, sender, data))

    @classmethod
    def _request_frame(cls, user: str, data: Any, timeout: float) -> tuple[str, bytes]:
        _check_user(user)
        if not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        request_id = uuid.uuid4().hex
        return request_id, cls._checked(protocol.request_frame(request_id, data))

    def _user_targets(self, user: str) -> list[str]:
        return list(connections.user_connections(self._db, self.table_name, self.user_index, user))

    def _send_to_user(self, user: str, frame: bytes) -> PublishResult:
        return self._post(self._user_targets(user), frame)

    def _request(
        self,
        user: str,
        request_id: str,
        frame: bytes,
        timeout: float,
        cancelled: threading.Event | None = None,
    ) -> Any:
        deadline = time.monotonic() + timeout
        targets = self._user_targets(user)
        if not targets:
            raise NotConnected(user, "has no live connection")
        ttl = int(time.time() + math.ceil(timeout)) + REQUEST_TTL_MARGIN_SECONDS
        requests.open_request(self._db, self.table_name, request_id, targets, ttl)
        try:
            sent = self._post(targets, frame)
            if not sent.delivered and sent.failed:
                raise RuntimeError(
                    f"the request to {user!r} could not be posted: {sent.failed} of "
                    f"{len(targets)} connection(s) failed after retries (see the log)"
                )
            if not sent.delivered:
                raise NotConnected(user, f"did not take the request: all {sent.gone} gone")
            answer = self._wait_for_reply(request_id, deadline, cancelled or threading.Event())
        finally:
            requests.close(self._db, self.table_name, request_id)
        if answer is None:
            raise TimeoutError(f"no reply from {user!r} within {timeout:g} s")
        return json.loads(answer)

    def _wait_for_reply(
        self, request_id: str, deadline: float, cancelled: threading.Event
    ) -> str | None:
        """The answer's JSON once stored, or None at ``deadline`` or when ``cancelled``; a
        bounded backoff between consistent reads."""
        delay = _POLL_FIRST
        while True:
            left = deadline - time.monotonic()
            if cancelled.wait(max(0.0, min(delay, left))):
                return None
            answer = requests.read_reply(self._db, self.table_name, request_id)
            if answer is not None or time.monotonic() >= deadline:
                return answer
            delay = min(delay * 2, _POLL_MAX)

    # -- the @connections posters ------------------------------------------------------

    @contextmanager
    def _api(self) -> Iterator[ConnectionsApi]:
        """A poster no other thread is using: each runs its own event loop."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the publisher is closed")
            api = self._idle.pop() if self._idle else None
        if api is None:
            api = self._new_api()
        try:
            yield api
        finally:
            with self._lock:
                keep = not self._closed
                if keep:
                    self._idle.append(api)
            if not keep:
                api.close()

    def _new_api(self) -> ConnectionsApi:
        with self._lock:  # boto3 sessions are not thread-safe; resolve the chain once
            if self._credentials is None:
                self._credentials = self._session.get_credentials()
            credentials = self._credentials
        if credentials is None:
            raise RuntimeError("no AWS credentials to sign @connections requests with")
        return ConnectionsApi(
            self.management_endpoint,
            region=self.region,
            # Refreshable credentials (roles, SSO) renew themselves when frozen per broadcast.
            credentials=credentials.get_frozen_credentials,
            concurrency=self.concurrency,
        )

    # -- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the keep-alive connections; later publishes raise ``RuntimeError``."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for api in idle:
            api.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
