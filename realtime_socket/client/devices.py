"""Answering a backend's requests (``Publisher.request``) with an application handler.

A device's handler may be a plain function (it may block on hardware, so it runs in a worker
thread and never stalls the connection) or a coroutine function; what it returns is the
``data`` of ``{"action":"reply","id":…,"data":…}``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["RequestHandler", "run_handler"]

#: Gets a request's ``data``; what it returns is the reply's ``data``.
RequestHandler = Callable[[Any], Any]


async def run_handler(handler: RequestHandler, data: Any) -> Any:
    """``handler(data)``'s answer: awaited if async, else computed in a worker thread."""
    if inspect.iscoroutinefunction(handler):
        return await handler(data)
    result = await asyncio.to_thread(handler, data)
    if inspect.isawaitable(result):  # a callable object whose __call__ is async
        result = await result
    return result
