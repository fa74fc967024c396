"""The top-level package: its public names, and a Lambda-safe import."""

from __future__ import annotations

import realtime_socket
from tests.support.helpers import modules_loaded_by, within


def test_importing_the_package_and_the_handlers_loads_no_pulumi() -> None:
    """Lambda imports realtime_socket.handlers with no pulumi installed: nothing may pull it in."""
    loaded = modules_loaded_by(
        "realtime_socket", "realtime_socket.contract", "realtime_socket.handlers.connect"
    )
    assert within(loaded, "pulumi") == set()


def test_every_public_name_resolves_to_the_component_layer() -> None:
    """Each name in ``__all__`` loads on first use, from the module that defines it."""
    for name in realtime_socket.__all__:
        value = getattr(realtime_socket, name)
        assert value.__module__.startswith("realtime_socket.component"), name
    assert realtime_socket.RealtimeSocket.__name__ == "RealtimeSocket"
