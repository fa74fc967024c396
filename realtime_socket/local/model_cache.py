"""The evaluated stack program, kept between runs of ``realtime-socket dev`` and ``token``.

Evaluating the program under Pulumi's mocks is most of the runtime's start-up (2.6 s of
5-6 s for the dev stack here: Pulumi's engine registers every resource, alarms and
dashboard included). Its result, the :class:`~realtime_socket.local.model.LocalModel`, only
changes when something the evaluation read changes, so it is saved under the project's
``.realtime-socket/`` folder with what it was made from, and reused while all of that is
as it was:

- the stack's config (``Pulumi.yaml``, ``Pulumi.<stack>.yaml``: project, values, secrets);
- every Python file imported when it was saved (the program, this package, Pulumi, the
  user's own modules: size and modification time), and the stack program itself;
- the folders of every function's code (adding a handler file changes its folder);
- the interpreter, and the ``PULUMI_*`` and ``REALTIME_SOCKET_*`` environment variables.

What it cannot see is a program reading other files or environment variables:
``--no-cache`` evaluates afresh. The cache is a pickle written by this package into the
project's own folder, the same trust as the ``__pycache__`` files Python runs from there;
an unreadable or foreign file is ignored and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from realtime_socket.local.model import LocalModel
from realtime_socket.tools.stack_files import StackConfig

__all__ = ["FORMAT", "cache_path", "fingerprint_key", "load", "load_or_build", "save"]

#: Bumped when what is saved changes shape.
FORMAT = 1
_ENV_PREFIXES = ("PULUMI_", "REALTIME_SOCKET_")

#: A file's identity for the cache: its path, size and modification time.
Stamp = tuple[str, int, int]


def cache_path(project_dir: Path, stack: str) -> Path:
    return project_dir / ".realtime-socket" / f"model-{stack}.pickle"


def fingerprint_key(cfg: StackConfig) -> str:
    """What the evaluation was given: the stack's config, the interpreter, the environment."""
    given = {
        "format": FORMAT,
        "python": [sys.executable, sys.version],
        "project": cfg.project,
        "stack": cfg.stack,
        "program": str(cfg.program.resolve()),
        "config": cfg.config,
        "secret_keys": sorted(cfg.secret_keys),
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith(_ENV_PREFIXES)},
    }
    return hashlib.sha256(json.dumps(given, sort_keys=True).encode()).hexdigest()


def _stamp(path: str) -> Stamp | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return path, status.st_size, status.st_mtime_ns


def _read_files(program: Path, model: LocalModel) -> Iterable[str]:
    """Every file and folder the evaluation's result depends on (see the module's doc)."""
    yield str(program.resolve())
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str):
            yield name
    for function in model.functions.values():
        for file in function.files.values():
            yield str(file.resolve().parent)


def save(path: Path, cfg: StackConfig, model: LocalModel) -> None:
    """Keep ``model`` with what it was made from; a cache that cannot be written is skipped
    (the next start evaluates again)."""
    stamps = [s for s in map(_stamp, dict.fromkeys(_read_files(cfg.program, model))) if s]
    saved = {"key": fingerprint_key(cfg), "stamps": stamps, "model": model}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only: the model holds what the stack files hold (a readable jwtSecret too)
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def load(path: Path, cfg: StackConfig) -> LocalModel | None:
    """The saved model if nothing it was made from changed; None otherwise."""
    try:
        saved: Any = pickle.loads(path.read_bytes())  # noqa: S301 - our own file, see above
    except Exception:
        return None
    if not isinstance(saved, dict) or saved.get("key") != fingerprint_key(cfg):
        return None
    for stamp in saved.get("stamps", ()):
        if _stamp(stamp[0]) != tuple(stamp):
            return None
    model = saved.get("model")
    return model if isinstance(model, LocalModel) else None


def load_or_build(
    project_dir: Path, cfg: StackConfig, build: Callable[[], LocalModel], *, fresh: bool = False
) -> tuple[LocalModel, bool]:
    """The cached model when it is current (and not ``fresh``), else ``build()``'s, saved.

    Returns the model and whether it came from the cache.
    """
    path = cache_path(project_dir, cfg.stack)
    if not fresh:
        model = load(path, cfg)
        if model is not None:
            return model, True
    model = build()
    save(path, cfg, model)
    return model, False
