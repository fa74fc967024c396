"""Lambda functions run locally, one process per execution environment.

Why processes: each function needs its own environment variables and its own module state
(a cached verifier, a client cache), a timeout that can really stop it, and the freeze Lambda
applies between invocations. After each invocation the process is stopped (SIGSTOP) and only
resumed for the next event, so work a handler leaves running after it returns does not
happen, exactly as on Lambda. Code changes are picked up by starting fresh environments.

Nothing outlives the runtime, even when it is killed with SIGKILL: every child process asks
Linux to kill it when its parent dies (``PR_SET_PDEATHSIG``), which works on frozen processes
too, and each code folder holds a lock while its runtime lives, so the next start removes the
folders of runtimes that are gone (:func:`remove_leftover_folders`) and never a live one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from realtime_socket.local.model import LocalFunction

__all__ = [
    "FunctionPool",
    "Invocation",
    "OwnedFolder",
    "die_with_parent",
    "remove_leftover_folders",
]

_MAX_LINE = 16 * 1024 * 1024
_WORKER = Path(__file__).with_name("worker.py")
_FOLDER_PREFIX = "rs-"
_OWNER_LOCK = ".owner.lock"
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    return None


_PRCTL = _load_prctl()  # resolved here: a ``preexec_fn`` should not import or load anything

if sys.platform == "win32":  # no flock: every folder counts as owned, none is swept

    def _lock(fd: int) -> bool:
        return False

else:
    import fcntl

    def _lock(fd: int) -> bool:
        """Take ``fd``'s exclusive lock without waiting; ``False`` if another holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die by SIGKILL when the process spawning it dies.

    Linux only (``None`` elsewhere). The signal follows the spawning *thread*: spawn from a
    thread that lives as long as the child should (the event loop's, or a dedicated one).
    """
    if _PRCTL is None:
        return None
    prctl, parent = _PRCTL, os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


class OwnedFolder:
    """A temporary folder locked (``flock``) by this process while it uses it.

    The lock goes with the process however it ends, so a folder whose lock is free belongs to
    nobody. It is taken under a hidden name and only then renamed into view, so no sweep ever
    sees an unlocked folder of a live runtime.
    """

    def __init__(self, name: str) -> None:
        while True:
            staging = Path(tempfile.mkdtemp(prefix=f".{_FOLDER_PREFIX}{name}-"))
            self._lock: int | None = os.open(staging / _OWNER_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
            _lock(self._lock)  # a file nobody else has opened yet: always granted
            self.path = staging.with_name(staging.name[1:])
            try:
                staging.rename(self.path)
                return
            except OSError:  # the name is taken (a leftover): try another
                self.remove(staging)

    def remove(self, path: Path | None = None) -> None:
        shutil.rmtree(path or self.path, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def remove_leftover_folders() -> list[Path]:
    """Remove the code folders of runtimes that died without cleaning up; return them.

    A folder counts only if it is this user's, is not a symlink, and holds an owner lock that
    nobody holds any more: live runtimes' folders, in this process or another, stay.
    """
    removed: list[Path] = []
    if sys.platform == "win32":
        return removed
    for path in Path(tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*"):
        try:
            info = path.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            lock = os.open(path / _OWNER_LOCK, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue  # not one of ours (no lock file), or already being removed
        try:
            if _lock(lock):  # nobody holds it: its runtime is gone
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        finally:
            os.close(lock)
    return removed


_swept = False
_sweep_lock = threading.Lock()


def _sweep_once() -> None:
    """The first pool of each process clears what killed runtimes left behind."""
    global _swept
    with _sweep_lock:
        if not _swept:
            _swept = True
            removed = remove_leftover_folders()
            if removed:
                print(
                    json.dumps({"event": "removed leftover folders", "count": len(removed)}),
                    file=sys.stderr,
                    flush=True,
                )


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
        _sweep_once()
        self._folder = OwnedFolder(function.name)
        self._code_dir = str(self._folder.path / "code")
        self._link_code()
        self.reloads = 0

    def _link_code(self) -> None:
        """Lay the function's archive out as symlinks, so edits show through."""
        root = Path(self._code_dir)
        root.mkdir(exist_ok=True)
        for rel, source in self.function.files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            target.symlink_to(source.resolve())

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
        env = {
            **self.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.function.physical_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(self.function.timeout_seconds)),
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
