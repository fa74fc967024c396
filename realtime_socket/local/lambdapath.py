"""The import path a Lambda Python runtime gives a function, rebuilt on this machine.

On Lambda a function sees its own artifact and the runtime's boto3 (with botocore and their
dependencies), nothing else. Benchmarks and tests use this to import handlers the way Lambda
does, so that a package present here but absent there (cryptography, say) cannot hide in.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

__all__ = ["RUNTIME_PACKAGES", "runtime_dir"]

#: What the Lambda Python runtimes ship besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def runtime_dir() -> Path:
    """A folder of symlinks to this environment's copies of the runtime's packages."""
    target = Path(tempfile.mkdtemp(prefix="lambda-runtime-"))
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        os.symlink(source, target / source.name)
    return target
