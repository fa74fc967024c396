"""Settings the component passes to every function through environment variables.

Read once per container. The names and defaults are :mod:`realtime_socket.contract`'s, the
same module the component writes them from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from realtime_socket.contract import (
    CONNECTION_TTL_SECONDS,
    DEFAULT_FANOUT_CONCURRENCY,
    DEFAULT_HISTORY_RETENTION_SECONDS,
    DEFAULT_MAX_REPLAY,
    DEFAULT_MAX_ROOMS_PER_CONNECTION,
    DEFAULT_MESSAGE_BURST,
    DEFAULT_MESSAGES_PER_SECOND,
    DEFAULT_PRESENCE_MAX_ROOM,
    Env,
    Table,
)

__all__ = ["Settings", "load"]


@dataclass(frozen=True)
class Settings:
    table_name: str
    room_index: str = Table.ROOM_INDEX
    management_endpoint: str | None = None
    ttl_seconds: int = CONNECTION_TTL_SECONDS
    fanout_concurrency: int = DEFAULT_FANOUT_CONCURRENCY
    #: Per-connection ``sendmessage`` rate; 0 disables the limit.
    messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND
    message_burst: int = DEFAULT_MESSAGE_BURST
    max_connections_per_user: int = 0
    user_index: str = Table.USER_INDEX
    allowed_origins: tuple[str, ...] = ()
    max_rooms_per_connection: int = DEFAULT_MAX_ROOMS_PER_CONNECTION
    #: The room history table (seq counters and stored messages).
    history_table: str = ""
    history_retention_seconds: int = DEFAULT_HISTORY_RETENTION_SECONDS
    history_max_replay: int = DEFAULT_MAX_REPLAY
    #: Rooms of at most this many connections get presence events; 0: no events.
    presence_max_room: int = DEFAULT_PRESENCE_MAX_ROOM
    #: The fan-out worker function; empty: every broadcast stays in one invocation.
    fanout_function: str = ""
    #: Posts one invocation makes before the rest of the room goes to workers; 0: no split.
    fanout_share: int = 0


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        table_name=env.get(Env.TABLE_NAME, ""),
        room_index=env.get(Env.ROOM_INDEX_NAME, Table.ROOM_INDEX),
        management_endpoint=env.get(Env.MANAGEMENT_ENDPOINT) or None,
        ttl_seconds=int(env.get(Env.CONNECTION_TTL_SECONDS, CONNECTION_TTL_SECONDS)),
        fanout_concurrency=int(env.get(Env.FANOUT_CONCURRENCY, DEFAULT_FANOUT_CONCURRENCY)),
        messages_per_second=float(env.get(Env.MESSAGES_PER_SECOND, DEFAULT_MESSAGES_PER_SECOND)),
        message_burst=int(env.get(Env.MESSAGE_BURST, DEFAULT_MESSAGE_BURST)),
        max_connections_per_user=int(env.get(Env.MAX_CONNECTIONS_PER_USER, 0)),
        user_index=env.get(Env.USER_INDEX_NAME, Table.USER_INDEX),
        allowed_origins=tuple(o for o in env.get(Env.ALLOWED_ORIGINS, "").split(",") if o),
        max_rooms_per_connection=int(
            env.get(Env.MAX_ROOMS_PER_CONNECTION, DEFAULT_MAX_ROOMS_PER_CONNECTION)
        ),
        history_table=env.get(Env.HISTORY_TABLE_NAME, ""),
        history_retention_seconds=int(
            env.get(Env.HISTORY_RETENTION_SECONDS, DEFAULT_HISTORY_RETENTION_SECONDS)
        ),
        history_max_replay=int(env.get(Env.HISTORY_MAX_REPLAY, DEFAULT_MAX_REPLAY)),
        presence_max_room=int(env.get(Env.PRESENCE_MAX_ROOM, DEFAULT_PRESENCE_MAX_ROOM)),
        fanout_function=env.get(Env.FANOUT_FUNCTION, ""),
        fanout_share=int(env.get(Env.FANOUT_SHARE, 0)),
    )
