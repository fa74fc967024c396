"""Settings the component passes to every function through environment variables.

Read once per container; the names are part of the contract with ``realtime_socket``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["DEFAULT_TTL_SECONDS", "Settings", "load"]

#: API Gateway closes a connection after 2 hours; rows outlive it by a margin so that a
#: late $disconnect still finds them, then DynamoDB TTL removes what $disconnect missed.
DEFAULT_TTL_SECONDS = 2 * 3600 + 600


@dataclass(frozen=True)
class Settings:
    table_name: str
    room_index: str
    management_endpoint: str | None
    ttl_seconds: int
    fanout_concurrency: int
    rate_per_second: float = 0.0
    rate_burst: int = 20
    max_connections_per_user: int = 0
    user_index: str = "user-index"
    allowed_origins: tuple[str, ...] = ()


def load(environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        table_name=env.get("TABLE_NAME", ""),
        room_index=env.get("ROOM_INDEX_NAME", "room-index"),
        management_endpoint=env.get("MANAGEMENT_ENDPOINT") or None,
        ttl_seconds=int(env.get("CONNECTION_TTL_SECONDS", DEFAULT_TTL_SECONDS)),
        fanout_concurrency=int(env.get("FANOUT_CONCURRENCY", "64")),
        rate_per_second=float(env.get("RATE_LIMIT_PER_SECOND", "0")),
        rate_burst=int(env.get("RATE_LIMIT_BURST", "20")),
        max_connections_per_user=int(env.get("MAX_CONNECTIONS_PER_USER", "0")),
        user_index=env.get("USER_INDEX_NAME", "user-index"),
        allowed_origins=tuple(o for o in env.get("ALLOWED_ORIGINS", "").split(",") if o),
    )
