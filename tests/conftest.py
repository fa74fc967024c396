"""Fixtures: fake AWS credentials (nothing ever leaves loopback) and a recorded socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realtime_socket.handlers import clients
from realtime_socket.tools.recording import Recording
from tests.support.helpers import evaluate_socket


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clients.reset()
    yield
    clients.reset()


@pytest.fixture(scope="session")
def chat_recording() -> Recording:
    """The default ``chat`` socket, evaluated once per session."""
    return evaluate_socket("chat")
