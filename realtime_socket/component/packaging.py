"""The code the Lambda functions run: the handlers and their third-party dependencies.

A function's artifact is a slice of this package laid out as it is installed:
``realtime_socket/__init__.py`` (which imports nothing eagerly), ``realtime_socket/contract.py``
and ``realtime_socket/handlers/``, so handler strings read ``realtime_socket.handlers.<module>
.handler`` on Lambda, locally and in tests alike. The authorizer also needs PyJWT, and
cryptography for RSA/EC keys, built for the function's architecture: ``pip install
--platform manylinux_2_34_<arch> --only-binary=:all:`` fetches the matching wheels (Lambda's
python3.12+ runtimes run on Amazon Linux 2023, glibc 2.34). Builds are cached on disk by
their inputs, so a second ``pulumi up`` or test run costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pulumi

__all__ = [
    "HMAC_REQUIREMENTS",
    "JWKS_REQUIREMENTS",
    "PackagingError",
    "code_archive",
    "dependency_dir",
    "handler_files",
    "python_files",
]

#: HS256 needs PyJWT only. Shipping cryptography would make ``import jwt`` load it (PyJWT
#: imports it when present) and add ~100 ms to every cold start for nothing.
HMAC_REQUIREMENTS = ("PyJWT==2.15.1",)
JWKS_REQUIREMENTS = ("PyJWT==2.15.1", "cryptography==50.0.2")

_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}


class PackagingError(RuntimeError):
    """The dependencies could not be built (no registry access, unknown version...)."""


_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
#: The modules of the package that Lambda code may import, relative to the package root.
_LAMBDA_SLICE = ("__init__.py", "contract.py", "handlers")


def handler_files() -> dict[str, Path]:
    """Every file of the Lambda slice of this package, by archive-relative path."""
    files: dict[str, Path] = {}
    for entry in _LAMBDA_SLICE:
        path = _PACKAGE_ROOT / entry
        if path.is_dir():
            for rel, file in python_files(path).items():
                files[f"{_PACKAGE_ROOT.name}/{entry}/{rel}"] = file
        elif path.is_file():
            files[f"{_PACKAGE_ROOT.name}/{entry}"] = path
        else:
            raise PackagingError(f"Lambda code not found: {path}")
    return dict(sorted(files.items()))


def python_files(root: Path) -> dict[str, Path]:
    """Every file under ``root`` except caches, by archive-relative path, in sorted order."""
    files: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.relative_to(root).as_posix()] = path
    return files


def code_archive(files: dict[str, Path], dependencies: Path | None = None) -> pulumi.AssetArchive:
    """An archive of ``files`` (archive path -> file) plus a dependency folder.

    Built file by file so that caches never enter the artifact and its hash is stable.
    """
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        rel: pulumi.FileAsset(str(path)) for rel, path in files.items()
    }
    if dependencies is not None:
        for entry in sorted(p for p in dependencies.iterdir() if not p.name.startswith(".")):
            if entry.is_dir():
                assets[entry.name] = pulumi.FileArchive(str(entry))
            else:
                assets[entry.name] = pulumi.FileAsset(str(entry))
    return pulumi.AssetArchive(assets)


def _cache_root() -> Path:
    root = os.environ.get("REALTIME_SOCKET_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "realtime-socket"
    )
    return Path(root)


def _platform_flags(architecture: str) -> list[str]:
    # pip does not widen an explicit --platform to older manylinux tags, so list the ones
    # Amazon Linux 2023 (glibc 2.34) can run.
    flags: list[str] = []
    for tag in ("manylinux_2_34", "manylinux_2_28", "manylinux_2_17", "manylinux2014"):
        flags += ["--platform", f"{tag}_{_ARCH[architecture]}"]
    return flags


def dependency_dir(requirements: Sequence[str], architecture: str, runtime: str) -> Path:
    """A folder holding ``requirements`` installed for Lambda's ``architecture``/``runtime``.

    Raises:
        PackagingError: when pip cannot produce the wheels.
    """
    if architecture not in _ARCH:
        raise PackagingError(f"unknown architecture {architecture!r}")
    python_version = runtime.removeprefix("python")
    key = hashlib.sha256(
        json.dumps([sorted(requirements), architecture, python_version]).encode()
    ).hexdigest()[:16]
    target = _cache_root() / "deps" / f"{architecture}-py{python_version}-{key}"
    if (target / ".complete").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(staging),
        *_platform_flags(architecture),
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackagingError(
            f"could not build Lambda dependencies {list(requirements)} for {architecture}:\n"
            f"{done.stderr.strip()[-2000:]}"
        )
    for junk in staging.glob("bin"):
        shutil.rmtree(junk)
    (staging / ".complete").write_text(json.dumps(list(requirements)))
    try:
        staging.rename(target)
    except OSError:  # another process finished the same build first
        shutil.rmtree(staging, ignore_errors=True)
    return target
