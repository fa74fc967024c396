"""run_handler: how a device's on_request handler is called."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from realtime_socket.client.devices import run_handler


def test_plain_handlers_run_in_a_worker_thread_and_async_ones_on_the_loop() -> None:
    """A plain function runs off the event loop's thread (it may block); a coroutine
    function and an object with an async __call__ are awaited; each answer is returned."""
    loop_thread = threading.get_ident()

    def plain(data: Any) -> Any:
        return {"thread": threading.get_ident(), "data": data}

    async def coroutine(data: Any) -> Any:
        return {"thread": threading.get_ident(), "data": data}

    class Device:
        async def __call__(self, data: Any) -> Any:
            return data * 2

    async def main() -> None:
        answered = await run_handler(plain, 1)
        assert answered["data"] == 1 and answered["thread"] != loop_thread
        assert await run_handler(coroutine, 2) == {"thread": loop_thread, "data": 2}
        assert await run_handler(Device(), 21) == 42

    asyncio.run(main())
