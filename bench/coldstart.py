"""Cold-start benchmark: what each function's INIT imports cost, and each artifact's size.

Each handler module is imported in fresh interpreters (``python -S``: only the function's
artifact and the Lambda runtime's own packages on the path, as on Lambda, after the modules
the runtime's bootstrap has already imported), round-robin across the cases, median of N
runs, beside a bare ``import boto3`` measured the same way. The HS256 authorizer must not
load cryptography; the JWKS authorizer shows what loading it costs. ``realtime_socket.publish``
is measured from the source tree with the same runtime packages: what a backend pays to push.

The metrics cases weigh the hand-written EMF emitter (``handlers/metrics.py``) against
Powertools for AWS Lambda's ``Metrics`` and ``Logger``, which the Lambda runtime does not ship
(the artifact or a layer would carry it): alone, and after ``boto3`` and the handlers' own
modules, which every route function has imported anyway, so the "in a handler" cases are what
each adds to a real cold start. Powertools from source is how this project's artifacts would
ship it (no bytecode, like the handlers); ``.pyc`` is the best case of a layer built with
bytecode. The issue's rule: Powertools unless it costs more than 30 ms. Powertools is taken
from this environment (``pip install aws-lambda-powertools``); without it those cases are
skipped.

    .venv/bin/python -m bench.coldstart            # 15 runs each
    .venv/bin/python -m bench.coldstart --quick    # 1 run, as CI runs it
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.support import ROOT, lambda_runtime_dir, results_path, write_results
from realtime_socket.component import packaging

HANDLERS = "realtime_socket.handlers"
ROUTE_MODULES = (
    "connect", "disconnect", "sendmessage", "history", "members", "subscribe", "unsubscribe",
    "reply", "ping", "default", "fanout_worker",
)  # fmt: skip
#: Not in any artifact: what a backend (or a user's Lambda function) imports to push.
PUBLISH = "realtime_socket.publish"
#: What the Lambda Python runtime's bootstrap (awslambdaric) has imported before it loads a
#: handler, so a handler is not charged for them.
RUNTIME_PRELOADED = "importlib, json, logging, os, sys, time, traceback"
PROBE = (
    f"import {RUNTIME_PRELOADED}; {{setup}}; t = time.perf_counter(); {{statement}}; "
    "print(time.perf_counter() - t, 'cryptography' in sys.modules)"
)
#: The emitter the handlers use, and what Powertools' documentation has a function import.
EMITTER = f"{HANDLERS}.metrics"
POWERTOOLS = "from aws_lambda_powertools import Logger, Metrics"
#: Powertools' own packages; jmespath, its other dependency, is in the runtime already.
POWERTOOLS_PACKAGES = ("aws_lambda_powertools", "typing_extensions")
#: What every route function has imported before it would import either: its measure is
#: what the emitter or Powertools adds to a real cold start.
HANDLER_BASE = f"import boto3, {HANDLERS}.observability"
#: The issue's rule: Powertools unless its import costs more than this at cold start.
POWERTOOLS_BUDGET_MS = 30


def artifact(deps: Path | None) -> Path:
    """The function's artifact laid out as Lambda unpacks it: the package's Lambda slice
    (``realtime_socket/handlers/`` and what they import) plus dependencies."""
    folder = Path(tempfile.mkdtemp(prefix=f"coldstart-{deps.name if deps else 'plain'}-"))
    for rel, file in packaging.handler_files().items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).symlink_to(file)
    if deps is not None:
        for entry in deps.iterdir():
            if not entry.name.startswith("."):
                (folder / entry.name).symlink_to(entry)
    return folder


def zipped_size(deps: Path | None) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, path in packaging.handler_files().items():
            archive.write(path, rel)
        if deps is not None:
            for rel, path in packaging.python_files(deps).items():
                if not rel.startswith("."):
                    archive.write(path, rel)
    return len(buffer.getvalue())


def installed(names: tuple[str, ...], *, bytecode: bool) -> Path | None:
    """A folder holding this environment's copies of ``names`` (symlinks), or None when one
    is not installed.

    ``bytecode=False`` leaves every ``.pyc`` out, as this project's artifacts ship (pip's
    ``--no-compile``; Lambda's ``/var/task`` is read-only, so Python compiles the sources at
    every cold start, as it does the handlers'). ``bytecode=True`` is the best case, a layer
    built with bytecode for the runtime's Python: packages bring their ``__pycache__`` and a
    one-file module's ``.pyc`` is linked beside it.
    """
    folder = Path(tempfile.mkdtemp(prefix="coldstart-extra-"))
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            return None
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            if bytecode:
                (folder / origin.parent.name).symlink_to(origin.parent)
                continue
            for rel, file in packaging.python_files(origin.parent).items():
                (folder / origin.parent.name / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / origin.parent.name / rel).symlink_to(file)
            continue
        (folder / origin.name).symlink_to(origin)
        compiled = Path(importlib.util.cache_from_source(str(origin)))
        if bytecode and compiled.is_file():
            (folder / "__pycache__").mkdir(exist_ok=True)
            (folder / "__pycache__" / compiled.name).symlink_to(compiled)
    return folder


def measure_once(module: str, path: list[Path], setup: str = "pass") -> tuple[float, bool]:
    """Seconds to import ``module`` (or run an ``import``/``from`` statement) in a fresh
    interpreter after ``setup`` (not timed), and whether cryptography loaded."""
    statement = module if module.startswith(("import ", "from ")) else f"import {module}"
    env = {"PYTHONPATH": os.pathsep.join(map(str, path)), "PATH": os.environ["PATH"],
           "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE.format(setup=setup, statement=statement)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return float(out[0]), out[1] == "True"


#: A case: label, module (or import statement), import path, the dependency folder whose
#: size is reported (None: the plain artifact), and untimed setup.
Case = tuple[str, str, list[Path], Path | None, str]


def measure_all(cases: list[Case], runs: int) -> list[tuple[float, bool]]:
    """Median ms per case, the cases taken round-robin so that drifting load on a shared
    machine weighs on every case alike, not on whichever ran during a busy minute."""
    times: list[list[float]] = [[] for _ in cases]
    crypto = [False] * len(cases)
    for _ in range(runs):
        for i, (_, module, path, _, setup) in enumerate(cases):
            seconds, loaded = measure_once(module, path, setup)
            times[i].append(seconds)
            crypto[i] = crypto[i] or loaded
    return [(statistics.median(t) * 1000, c) for t, c in zip(times, crypto, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=results_path("coldstart"))
    args = parser.parse_args()
    runs = 1 if args.quick else max(11, args.runs)
    local = f"python{sys.version_info.major}.{sys.version_info.minor}"
    runtime = lambda_runtime_dir()
    hmac = packaging.dependency_dir(packaging.HMAC_REQUIREMENTS, "x86_64", local)
    jwks = packaging.dependency_dir(packaging.JWKS_REQUIREMENTS, "x86_64", local)
    hmac_arm = packaging.dependency_dir(packaging.HMAC_REQUIREMENTS, "arm64", "python3.12")
    jwks_arm = packaging.dependency_dir(packaging.JWKS_REQUIREMENTS, "arm64", "python3.12")
    plain = artifact(None)
    cases: list[Case] = [
        ("import boto3 (reference)", "boto3", [runtime], None, "pass"),
        *[(f"handlers.{m}", f"{HANDLERS}.{m}", [plain, runtime], None, "pass")
          for m in ROUTE_MODULES],
        ("handlers.authorizer (HS256)", f"{HANDLERS}.authorizer", [artifact(hmac), runtime],
         hmac_arm, "pass"),
        ("handlers.authorizer (JWKS)", f"{HANDLERS}.authorizer", [artifact(jwks), runtime],
         jwks_arm, "pass"),
        ("publish (backends)", PUBLISH, [ROOT, runtime], None, "pass"),
        ("metrics: EMF emitter", EMITTER, [plain, runtime], None, "pass"),
        ("metrics: EMF, in a handler", EMITTER, [plain, runtime], None, HANDLER_BASE),
    ]  # fmt: skip
    shipped = installed(POWERTOOLS_PACKAGES, bytecode=False)
    compiled = installed(POWERTOOLS_PACKAGES, bytecode=True)
    if shipped is None or compiled is None:
        print("aws-lambda-powertools is not installed: its cases are skipped\n")
    else:
        cases += [
            ("metrics: Powertools", POWERTOOLS, [plain, shipped, runtime], None, "pass"),
            ("metrics: Powertools, in a handler", POWERTOOLS, [plain, shipped, runtime],
             None, HANDLER_BASE),
            ("metrics: Powertools .pyc, in a handler", POWERTOOLS,
             [plain, compiled, runtime], None, HANDLER_BASE),
        ]  # fmt: skip
    results = []
    measured = measure_all(cases, runs)
    base = measured[0][0]
    for (label, module, _, deps, _), (ms, crypto) in zip(cases, measured, strict=True):
        size = None if module in ("boto3", PUBLISH) or "metrics" in label else zipped_size(deps)
        results.append({"case": label, "median_ms": ms, "vs_boto3": ms / base,
                        "imports_cryptography": crypto, "artifact_bytes": size})  # fmt: skip
    print(f"Import time in fresh interpreters, median of {runs} runs (Lambda-like path)\n")
    print(f"{'module':<38} {'median ms':>10} {'x boto3':>8} {'crypto':>7} {'artifact':>10}")
    for r in results:
        size = f"{r['artifact_bytes'] / 1024:,.0f} KB" if r["artifact_bytes"] else "-"
        print(f"{r['case']:<38} {r['median_ms']:>10.1f} {r['vs_boto3']:>8.2f} "
              f"{'yes' if r['imports_cryptography'] else 'no':>7} {size:>10}")  # fmt: skip
    by_case = {r["case"]: r["median_ms"] for r in results}
    if "metrics: Powertools, in a handler" in by_case:
        extra = by_case["metrics: Powertools, in a handler"]
        best = by_case["metrics: Powertools .pyc, in a handler"]
        choice = "Powertools" if extra <= POWERTOOLS_BUDGET_MS else "the EMF emitter"
        print(f"\nPowertools adds {extra:.1f} ms to a handler's cold start as the artifact "
              f"ships it ({best:.1f} ms with bytecode; the EMF emitter "
              f"{by_case['metrics: EMF, in a handler']:.1f} ms); budget "
              f"{POWERTOOLS_BUDGET_MS} ms: {choice}")  # fmt: skip
    hs = next(r for r in results if "HS256" in r["case"])
    if hs["imports_cryptography"]:
        sys.exit("FAIL: the HS256 authorizer imports cryptography")
    write_results(args.json, {"runs": runs, "results": results})


if __name__ == "__main__":
    main()
