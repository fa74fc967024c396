"""Connection ids and the connection record."""

from __future__ import annotations

import re

from realtime_socket.local.gateway.connection import new_connection_id
from tests.local.gateway.factories import connection


def test_connection_ids_look_like_aws_and_do_not_repeat():
    """Ids are 12 base64 characters ending in '=', and 500 of them are all different."""
    ids = {new_connection_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{11}=", i) for i in ids)


def test_a_connection_starts_without_a_gateway_close():
    """A fresh connection has no close of the gateway's own and answers to its id."""
    conn = connection()
    assert conn.closed_by_gateway is None
    assert conn.connection_id == conn.info.connection_id
