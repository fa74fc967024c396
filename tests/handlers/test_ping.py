"""ping answers pong through the route response."""

from __future__ import annotations

import json

from realtime_socket.handlers import ping
from tests.support.helpers import FakeContext, load_event


def test_ping_answers_pong_through_the_route_response():
    event = load_event("sendmessage", routeKey="ping")
    event["body"] = '{"action":"ping"}'
    answer = ping.handler(event, FakeContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"type": "pong"}
