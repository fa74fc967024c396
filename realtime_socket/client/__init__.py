"""The Python client: rooms, resume and device requests over one resilient connection.

Usage::

    from realtime_socket.client import connect

    async with connect(url, token=get_token, rooms=["lobby"]) as client:
        await client.send("lobby", {"text": "hi"})
        async for event in client:  # Message, Gap, Presence, Request, ServerError
            ...

It needs only ``websockets`` (``pip install "realtime-socket[client]"``) and never imports
pulumi, boto3 or the handlers: it runs in applications and on devices.
"""

from __future__ import annotations

from realtime_socket.client.auth import Carrier, TokenProvider
from realtime_socket.client.client import Client, connect
from realtime_socket.client.devices import RequestHandler
from realtime_socket.client.errors import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    HandshakeRefused,
    ServerError,
)
from realtime_socket.client.events import Event, Gap, Member, Members, Message, Presence, Request
from realtime_socket.client.options import ClientOptions

__all__ = [
    "AuthenticationError",
    "Carrier",
    "Client",
    "ClientError",
    "ClientOptions",
    "ConnectionLost",
    "Event",
    "Gap",
    "HandshakeRefused",
    "Member",
    "Members",
    "Message",
    "Presence",
    "Request",
    "RequestHandler",
    "ServerError",
    "TokenProvider",
    "connect",
]
