"""The package's public face: what it exports, and what importing it loads."""

from __future__ import annotations

import realtime_socket.client
from tests.support.helpers import modules_loaded_by, within


def test_importing_the_client_loads_neither_pulumi_nor_boto3() -> None:
    """In a fresh interpreter, ``import realtime_socket.client`` leaves pulumi, boto3 and
    the component, handlers, local and tools layers unloaded: devices install only
    websockets."""
    loaded = modules_loaded_by("realtime_socket.client")
    assert "realtime_socket.client" in loaded and "websockets" in loaded
    layers = (f"realtime_socket.{layer}" for layer in ("component", "handlers", "local", "tools"))
    assert within(loaded, "pulumi", "pulumi_aws", "boto3", "botocore", "jwt", *layers) == set()


def test_every_exported_name_exists() -> None:
    """``__all__`` names only what the package defines."""
    assert all(hasattr(realtime_socket.client, name) for name in realtime_socket.client.__all__)
