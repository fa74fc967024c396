"""The top-level package: its public names, and a Lambda-safe import."""

from __future__ import annotations

import subprocess
import sys

import realtime_socket


def test_importing_the_package_and_the_handlers_loads_no_pulumi() -> None:
    """Lambda imports realtime_socket.handlers with no pulumi installed: nothing may pull it in."""
    probe = (
        "import sys, realtime_socket, realtime_socket.contract, realtime_socket.handlers.connect;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_public_name_resolves_to_the_component_layer() -> None:
    """Each name in ``__all__`` loads on first use, from the module that defines it."""
    for name in realtime_socket.__all__:
        value = getattr(realtime_socket, name)
        assert value.__module__.startswith("realtime_socket.component"), name
    assert realtime_socket.RealtimeSocket.__name__ == "RealtimeSocket"
