"""Room authorization (``jwt.rooms_claim``): which rooms a token's grants let it join.

Sans-I/O and shared: the authorizer turns the token's rooms claim into grants
(:func:`parse_claim`) and hands them to later events as one string in its context
(:func:`encode`); ``$connect`` reads them back (:func:`decode`) and checks the room
(:func:`allowed`). A subscribe frame can reuse the same check.

A grant is a room id (it grants exactly that room, case-sensitively) or a prefix of one
followed by ``*`` (it grants every room starting with that prefix; ``*`` alone grants every
room). ``*`` anywhere else, or any character a room id cannot hold, makes the grant invalid.

The claim is a JSON list of grants, or one string of grants separated by spaces or commas
(for identity providers whose custom claims can only be strings). Anything else (a number,
an object, a list holding a non-string or an invalid grant, grants encoding to more than
:data:`~realtime_socket.contract.MAX_ROOM_GRANTS_BYTES`) is malformed and grants no room.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from realtime_socket.contract import MAX_ROOM_GRANTS_BYTES, ROOM_ID_PATTERN, ROOM_PATTERN_SUFFIX

__all__ = ["allowed", "decode", "encode", "is_grant", "parse_claim"]

_SEPARATORS = re.compile(r"[\s,]+")


def is_grant(text: str) -> bool:
    """A room id, or a (possibly empty) room id prefix followed by ``*``."""
    if text.endswith(ROOM_PATTERN_SUFFIX):
        prefix = text[: -len(ROOM_PATTERN_SUFFIX)]
        return prefix == "" or ROOM_ID_PATTERN.fullmatch(prefix) is not None
    return ROOM_ID_PATTERN.fullmatch(text) is not None


def allowed(room: str, grants: Iterable[str]) -> bool:
    """Whether ``grants`` let a connection join ``room``; an invalid room id never is."""
    if not ROOM_ID_PATTERN.fullmatch(room):
        return False
    for grant in grants:
        if grant.endswith(ROOM_PATTERN_SUFFIX):
            if room.startswith(grant[: -len(ROOM_PATTERN_SUFFIX)]):
                return True
        elif room == grant:
            return True
    return False


def encode(grants: Iterable[str]) -> str:
    """Grants as the authorizer context carries them: a compact JSON list of strings."""
    return json.dumps(list(grants), separators=(",", ":"))


def parse_claim(value: object) -> tuple[str, ...]:
    """The grants a rooms claim holds, without duplicates.

    Raises:
        ValueError: the claim is missing or malformed; the reason names neither the claim's
            value nor the token, so it can be logged.
    """
    if value is None:
        raise ValueError("token has no rooms claim")
    if isinstance(value, str):
        items: list[object] = [part for part in _SEPARATORS.split(value) if part]
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(f"rooms claim is a {type(value).__name__}, not a list or a string")
    if not all(isinstance(item, str) for item in items):
        raise ValueError("rooms claim holds a value that is not a string")
    grants = tuple(dict.fromkeys(str(item) for item in items))
    invalid = sum(1 for grant in grants if not is_grant(grant))
    if invalid:
        raise ValueError(f"rooms claim holds {invalid} invalid grant(s)")
    if len(encode(grants).encode()) > MAX_ROOM_GRANTS_BYTES:
        raise ValueError(f"rooms claim encodes to more than {MAX_ROOM_GRANTS_BYTES} bytes")
    return grants


def decode(value: object) -> tuple[str, ...]:
    """The grants in the authorizer context's value; anything unexpected grants nothing."""
    if not isinstance(value, str) or len(value.encode()) > MAX_ROOM_GRANTS_BYTES:
        return ()
    try:
        grants = json.loads(value)
    except ValueError:
        return ()
    if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
        return ()
    return tuple(g for g in grants if is_grant(g))
