"""The package's public face: what it exports, and what importing it loads."""

from __future__ import annotations

import json
import subprocess
import sys

import realtime_socket.client
from tests.support.helpers import ROOT


def test_importing_the_client_loads_neither_pulumi_nor_boto3() -> None:
    """In a fresh interpreter, ``import realtime_socket.client`` leaves pulumi, boto3 and
    the component, handlers, local and tools layers unloaded: devices install only
    websockets."""
    code = (
        "import json, sys, realtime_socket.client;"
        "print(json.dumps(sorted({m.split('.')[0] if not m.startswith('realtime_socket.')"
        " else '.'.join(m.split('.')[:2]) for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "realtime_socket.client" in loaded and "websockets" in loaded
    forbidden = {"pulumi", "pulumi_aws", "boto3", "botocore", "jwt"} | {
        f"realtime_socket.{layer}" for layer in ("component", "handlers", "local", "tools")
    }
    assert loaded & forbidden == set()


def test_every_exported_name_exists() -> None:
    """``__all__`` names only what the package defines."""
    assert all(hasattr(realtime_socket.client, name) for name in realtime_socket.client.__all__)
