"""clients.py: each client is made lazily, once per container, and can be injected or reset."""

from __future__ import annotations

import pytest

from realtime_socket.handlers import clients
from realtime_socket.handlers.fanout import ConnectionsApi


def test_clients_are_made_on_first_use_and_then_reused(monkeypatch):
    """A client is created when it is first asked for, and only that once."""
    made = []

    def client(service, **kwargs):
        made.append(service)
        return object()

    monkeypatch.setattr(clients.boto3, "client", client)
    assert clients.dynamodb() is clients.dynamodb()
    assert made == ["dynamodb"]
    assert clients.ssm() is clients.ssm()
    assert made == ["dynamodb", "ssm"]


def test_injected_clients_are_used_until_reset():
    """``set_clients`` replaces a client by name; ``reset`` forgets it."""
    fake = object()
    clients.set_clients(dynamodb=fake)
    assert clients.dynamodb() is fake
    clients.reset()
    assert clients.dynamodb() is not fake


def test_one_connections_api_per_endpoint():
    """The @connections poster is kept per endpoint, so two APIs never share one."""
    first = clients.connections_api("https://a.example.com/live")
    assert isinstance(first, ConnectionsApi)
    assert clients.connections_api("https://a.example.com/live") is first
    assert clients.connections_api("https://b.example.com/live") is not first


def test_connections_api_without_credentials_is_a_clear_error(monkeypatch, tmp_path):
    """Without credentials to sign with, asking for the poster says so instead of failing later."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(RuntimeError, match="no AWS credentials"):
        clients.connections_api("https://a.example.com/live")
