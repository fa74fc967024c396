"""The AWS APIs the handlers call (DynamoDB, SSM...), emulated by moto on loopback.

moto runs in its own process: its state is global per process, so this keeps each runtime's
tables apart and keeps DynamoDB work off the runtime's event loop. It dies with the process
that started it, even one killed with SIGKILL (see ``processes.die_with_parent``).

The process serves one request at a time (:func:`main`). moto's own server handles requests
on parallel threads, and its conditional writes and transactions check and write in two
steps: two ``sendmessage`` functions racing for a room's next seq both passed the counter's
condition there (measured: duplicate seqs in 2 of 3 runs of 4 threads x 10 messages). DynamoDB
makes each request atomic; one request at a time is how the emulation keeps that promise.

By default the process is moto behind ``moto_front`` with ``moto_speedups``; ``as_shipped``
runs moto's own server, one request at a time, for ``bench/emulation.py`` to compare.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from realtime_socket.local.processes import die_with_parent

__all__ = ["READY_PATH", "AwsApis"]

#: Answers 200 once the emulation listens (the front serves it; moto's own server answers 404,
#: which is an answer too). Here, not in ``moto_front``: importing this module stays cheap,
#: so ``realtime-socket dev`` can launch the process before anything heavy is imported.
READY_PATH = "/_ready"

#: The parent-death signal follows the thread that spawns the child, and callers start the
#: server from short-lived threads (``asyncio.to_thread``): spawn from one that lives as long
#: as the process does.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rs-spawner")


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class AwsApis:
    """A moto server process; ``endpoint`` is its URL once :meth:`start` returns.

    ``as_shipped=True`` runs moto's own server without the speedups (``bench/emulation.py``
    compares the two).
    """

    def __init__(self, host: str = "127.0.0.1", *, as_shipped: bool = False) -> None:
        self.host = host
        self.as_shipped = as_shipped
        self.endpoint = ""
        self._port = 0
        self._process: subprocess.Popen[bytes] | None = None
        #: Set by :meth:`stop`: a :meth:`start` waiting in another thread gives up, and
        #: nothing launches again (a Ctrl-C can stop the runtime while moto boots).
        self._stopped = False

    def launch(self) -> None:
        """Start the process without waiting for it to answer (:meth:`start` waits).

        moto's start-up (its imports, and its SSM backend loading AWS's public parameters)
        takes about two seconds: ``realtime-socket dev`` launches it first and evaluates the
        stack program meanwhile.
        """
        port = _free_port(self.host)
        self._process = _SPAWNER.submit(self._spawn, port).result()
        self._port = port
        self.endpoint = f"http://{self.host}:{port}"

    def start(self, timeout: float = 30.0) -> None:
        """Launch the process unless :meth:`launch` did, and return once it answers.

        Raises:
            RuntimeError: it did not start, or :meth:`stop` was called meanwhile.
        """
        for _ in range(3):  # the port may be taken between probing and binding
            if self._stopped:
                break
            if self._process is None:
                self.launch()
            process = self._process
            assert process is not None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and process.poll() is None and not self._stopped:
                if _answers(self.host, self._port, any_status=self.as_shipped):
                    return
                time.sleep(0.05)
            self._terminate()
        if self._stopped:
            raise RuntimeError("the local AWS API emulation was stopped while starting")
        raise RuntimeError("the local AWS API emulation (moto server) did not start")

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", __name__, self.host, str(port)]
            + (["--as-shipped"] if self.as_shipped else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),
        )

    def stop(self) -> None:
        """End the process for good, also while :meth:`start` waits for it."""
        self._stopped = True
        self._terminate()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
            if process.poll() is None:
                process.kill()


def _answers(host: str, port: int, any_status: bool) -> bool:
    """Whether the emulation answers there: 200 on the front's ready path, or any status
    from moto's own server (it has no such path)."""
    connection = http.client.HTTPConnection(host, port, timeout=1)
    try:
        connection.request("GET", READY_PATH)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return any_status or response.status == 200


def _one_at_a_time(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """A WSGI app that runs ``app`` for one request at a time, its body included."""
    lock = threading.Lock()

    def serialized(environ: Any, start_response: Any) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serialized


def main(host: str, port: int, as_shipped: bool = False) -> None:
    """moto behind :mod:`~realtime_socket.local.moto_front` with
    :mod:`~realtime_socket.local.moto_speedups`; with ``as_shipped``, moto's own server (as
    ``python -m moto.server`` runs it) one request at a time."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C in a terminal reaches the whole process group: the runtime still needs DynamoDB
    # for the $disconnect of every connection it closes, and stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not as_shipped:
        from realtime_socket.local import moto_front, moto_speedups

        moto_speedups.install()
        moto_front.serve(host, port)
        return
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request costs 5%
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, _one_at_a_time(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    os.environ.setdefault("MOTO_PORT", sys.argv[2])
    main(sys.argv[1], int(sys.argv[2]), as_shipped="--as-shipped" in sys.argv[3:])
