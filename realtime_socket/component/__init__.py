"""The deployable layer: the ``RealtimeSocket`` Pulumi component and what it is built from.

Its public names are re-exported by :mod:`realtime_socket`; the argument types live in
:mod:`realtime_socket.component.args`.
"""

from __future__ import annotations

from realtime_socket.component.account import AccountLogging
from realtime_socket.component.args import RealtimeSocketArgs
from realtime_socket.component.socket import RealtimeSocket

__all__ = ["AccountLogging", "RealtimeSocket", "RealtimeSocketArgs"]
