"""ping answers pong through the route response."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from realtime_socket.handlers import ping
from tests.support.helpers import ROOT, FakeContext, load_event


def test_ping_answers_pong_through_the_route_response():
    event = load_event("sendmessage", routeKey="ping")
    event["body"] = '{"action":"ping"}'
    answer = ping.handler(event, FakeContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"type": "pong"}


@pytest.mark.parametrize("module", ["ping", "default"])
def test_ping_and_default_start_without_importing_boto3(module):
    """Their cold start stays ~20 ms: the expiry guard loads boto3 only for an expired
    token (bench/coldstart.py measures the difference: about 0.07x against 1.1x)."""
    code = (
        f"import sys, realtime_socket.handlers.{module}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
