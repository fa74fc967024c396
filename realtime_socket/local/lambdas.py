"""Lambda functions run locally, one process per execution environment.

Why processes: each function needs its own environment variables and its own module state
(a cached verifier, a client cache), a timeout that can really stop it, and the freeze Lambda
applies between invocations. After each invocation the process is stopped (SIGSTOP) and only
resumed for the next event, so work a handler leaves running after it returns does not
happen, exactly as on Lambda. Code changes are picked up by starting fresh environments.

Nothing outlives the runtime, even when it is killed: see :mod:`realtime_socket.local.processes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from realtime_socket.local.model import LocalFunction
from realtime_socket.local.processes import OwnedFolder, die_with_parent, sweep_once

__all__ = ["FunctionPool", "Invocation"]

_MAX_LINE = 16 * 1024 * 1024
_WORKER = Path(__file__).with_name("worker.py")


@dataclass
class Invocation:
    """The outcome of one invocation: ``result`` or ``error`` (Lambda's error shape)."""

    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    cold: bool = False


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process, generation: int) -> None:
        self.process = process
        self.generation = generation
        self.init_error: dict[str, Any] | None = None

    def freeze(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        with contextlib.suppress(Exception):
            await self.process.wait()


class FunctionPool:
    """Execution environments of one function, created on demand up to ``max_workers``."""

    def __init__(
        self,
        function: LocalFunction,
        environment: Mapping[str, str],
        *,
        max_workers: int = 4,
        handler_output: IO[str] | int | None = None,
        freeze: bool = True,
    ) -> None:
        self.function = function
        self.environment = dict(environment)
        self.max_workers = max_workers
        self.freeze = freeze and hasattr(signal, "SIGSTOP")
        self._output = handler_output
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._count = 0
        self._available = asyncio.Condition()
        self._generation = 0
        self._signature = self._source_signature()
        self._checked = 0.0
        sweep_once()
        self._folder = OwnedFolder(function.name)
        self._code_dir = str(self._folder.path / "code")
        self._linked = False
        self.reloads = 0

    def _link_code(self) -> None:
        """Lay the function's archive out as symlinks, so edits show through. Done for the
        first environment, not before: a symlink costs up to a millisecond here, and a
        function's archive holds dozens of files."""
        if self._linked:
            return
        root = Path(self._code_dir)
        root.mkdir(exist_ok=True)
        for rel, source in self.function.files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            target.symlink_to(os.path.abspath(source))
        self._linked = True

    def _source_signature(self) -> tuple[int, ...]:
        stamps = []
        for path in self.function.files.values():
            try:
                stamps.append(path.stat().st_mtime_ns)
            except OSError:
                stamps.append(0)
        return tuple(stamps)

    async def _check_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < 0.25:
            return
        self._checked = now
        signature = self._source_signature()
        if signature != self._signature:
            self._signature = signature
            self._generation += 1
            self.reloads += 1
            idle, self._idle = self._idle, []
            for worker in idle:
                self._count -= 1
                self._all.discard(worker)
                await worker.kill()
            print(
                json.dumps({"event": "reload", "function": self.function.name}),
                file=sys.stderr,
                flush=True,
            )

    async def _spawn(self) -> _Worker:
        self._link_code()
        env = {
            **self.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.function.physical_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(self.function.timeout_seconds)),
            "AWS_LAMBDA_LOG_FORMAT": self.function.log_format,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            # By path, not ``-m``: the worker must not import this package before the
            # function's own artifact (which holds ``realtime_socket/``) is on the path.
            str(_WORKER),
            self._code_dir,
            self.function.handler,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._output,
            env=env,
            limit=_MAX_LINE,
            preexec_fn=die_with_parent(),  # spawned on the loop's thread, which outlives it
        )
        worker = _Worker(process, self._generation)
        self._all.add(worker)
        assert process.stdout is not None
        ready = json.loads(
            await process.stdout.readline()
            or b'{"error": {"errorType": "InitError", "errorMessage": "worker exited"}}'
        )
        worker.init_error = ready.get("error")
        return worker

    async def _acquire(self) -> tuple[_Worker, bool]:
        async with self._available:
            while True:
                if self._idle:
                    return self._idle.pop(), False
                if self._count < self.max_workers:
                    self._count += 1
                    break
                await self._available.wait()
        try:
            return await self._spawn(), True
        except BaseException:
            async with self._available:
                self._count -= 1
                self._available.notify()
            raise

    async def _release(self, worker: _Worker, healthy: bool) -> None:
        if healthy and worker.generation == self._generation:
            if self.freeze:
                worker.freeze()
            async with self._available:
                self._idle.append(worker)
                self._available.notify()
            return
        await worker.kill()
        self._all.discard(worker)
        async with self._available:
            self._count -= 1
            self._available.notify()

    async def prewarm(self) -> None:
        """Start one environment now, so the first event does not pay the cold start."""
        worker, _ = await self._acquire()
        await self._release(worker, True)

    async def invoke(self, event: Mapping[str, Any]) -> Invocation:
        """Run ``event`` through the handler within the function's timeout."""
        await self._check_reload()
        started = time.perf_counter()
        worker, cold = await self._acquire()
        if worker.init_error is not None:
            await self._release(worker, False)
            return Invocation(error=worker.init_error, cold=cold)
        worker.thaw()
        timeout = self.function.timeout_seconds
        request = {"event": event, "deadline": time.time() + timeout}
        process = worker.process
        assert process.stdin is not None and process.stdout is not None
        healthy = False
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
            if not line:
                return Invocation(
                    error={"errorType": "Runtime.ExitError", "errorMessage": "process exited"},
                    cold=cold,
                )
            answer = json.loads(line)
            healthy = True
            return Invocation(
                result=answer.get("result"),
                error=answer.get("error"),
                duration_ms=(time.perf_counter() - started) * 1000,
                cold=cold,
            )
        except TimeoutError:
            return Invocation(
                error={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                },
                duration_ms=(time.perf_counter() - started) * 1000,
                cold=cold,
            )
        except (BrokenPipeError, ConnectionResetError) as exc:
            return Invocation(error={"errorType": "Runtime.ExitError", "errorMessage": str(exc)})
        finally:
            await self._release(worker, healthy)

    async def close(self) -> None:
        """Stop every environment, busy ones included."""
        self._idle = []
        workers, self._all = list(self._all), set()
        for worker in workers:
            await worker.kill()
        self._count = 0
        self._folder.remove()
