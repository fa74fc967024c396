"""The client protocol: actions, frames and error codes.

Sans-I/O: plain functions from data to data, shared by every handler. The limits and the
room id rule are :mod:`realtime_socket.contract`'s.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from realtime_socket.contract import ROOM_ID_PATTERN

__all__ = [
    "SUPPORTED_ACTIONS",
    "encode",
    "error_frame",
    "frame_room",
    "message_frame",
    "parse_action_body",
    "request_frame",
    "validate_room_id",
]

SUPPORTED_ACTIONS = (
    "sendmessage",
    "subscribe",
    "unsubscribe",
    "history",
    "members",
    "reply",
    "ping",
)


def validate_room_id(value: str | None) -> str:
    """Return ``value`` if it is a valid room id, else raise ``ValueError`` with the reason."""
    if value is None or value == "":
        raise ValueError("room_id query parameter is required")
    if not ROOM_ID_PATTERN.fullmatch(value):
        raise ValueError("room_id must be 1-128 characters of letters, digits and -_.:")
    return value


def frame_room(parsed: dict[str, Any]) -> str | None:
    """The ``room`` a frame names if it is a valid room id, else None (absent or invalid:
    the caller tells the two apart with ``"room" in parsed``)."""
    room = parsed.get("room")
    if isinstance(room, str) and ROOM_ID_PATTERN.fullmatch(room):
        return room
    return None


def encode(frame: dict[str, Any]) -> bytes:
    """Serialise a frame compactly; the byte length is what API Gateway bills and limits."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def error_frame(code: str, message: str) -> dict[str, Any]:
    """An error frame sent to one client; ``code`` is stable, ``message`` is for humans."""
    return {"type": "error", "code": code, "message": message}


def message_frame(
    room: str | None, sender: str, data: Any, seq: int | None = None
) -> dict[str, Any]:
    """The frame every member of ``room`` receives for one ``sendmessage`` (or a publish),
    with the room's ``seq``; ``room`` (and ``seq``) are None for a message sent to a
    user's connections rather than to a room."""
    frame: dict[str, Any] = {
        "type": "message",
        "room": room,
        "from": sender,
        "data": data,
        "id": uuid.uuid4().hex,
    }
    if seq is not None:
        frame["seq"] = seq
    frame["ts"] = int(time.time() * 1000)
    return frame


def request_frame(request_id: str, data: Any) -> dict[str, Any]:
    """A server's request to a device; the device answers ``{"action":"reply","id":…}``."""
    return {"type": "request", "id": request_id, "data": data}


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def parse_action_body(body: str | None) -> dict[str, Any] | None:
    """Parse a frame body as a JSON object, or return None when it is anything else.

    Also None for what Python's parser takes but RFC 8259 JSON is not, since the frame's
    ``data`` is sent on to other clients and backends: ``NaN`` and ``Infinity``, and a
    ``\\uD800``-style escape of a lone surrogate, which cannot be encoded as UTF-8.
    """
    if body is None:
        return None
    try:
        value = json.loads(body, parse_constant=_not_json)
        if "\\u" in body:  # only an escape can make a lone surrogate
            encode(value)
    except (ValueError, UnicodeEncodeError):
        return None
    return value if isinstance(value, dict) else None
