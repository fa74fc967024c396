"""Nothing the local runtime starts outlives it, however it ends.

Every child process (function workers, the moto server) asks Linux to kill it when its
parent dies (``PR_SET_PDEATHSIG``), which reaches frozen (SIGSTOPped) processes too. Each code
folder holds a lock while its runtime lives, so the next start removes the folders of runtimes
that are gone (:func:`remove_leftover_folders`) and never a live one's.
"""

from __future__ import annotations

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
from collections.abc import Callable
from pathlib import Path

__all__ = ["OwnedFolder", "die_with_parent", "remove_leftover_folders", "sweep_once"]

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


def sweep_once() -> None:
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
