"""Cold-start benchmark: what each function's INIT imports cost, and each artifact's size.

Each handler module is imported in fresh interpreters (``python -S``: only the function's
artifact and the Lambda runtime's own packages on the path, as on Lambda, after the modules
the runtime's bootstrap has already imported), round-robin across the cases, median of N
runs, beside a bare ``import boto3`` measured the same way. The HS256 authorizer must not
load cryptography; the JWKS authorizer shows what loading it costs. ``realtime_socket.publish``
is measured from the source tree with the same runtime packages: what a backend pays to push.

    .venv/bin/python -m bench.coldstart            # 15 runs each
    .venv/bin/python -m bench.coldstart --quick    # 3 runs, as CI runs it
"""

from __future__ import annotations

import argparse
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
    f"import {RUNTIME_PRELOADED}; t = time.perf_counter(); import {{module}}; "
    "print(time.perf_counter() - t, 'cryptography' in sys.modules)"
)


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


def measure_once(module: str, path: list[Path]) -> tuple[float, bool]:
    """Seconds to import ``module`` in a fresh interpreter, and whether cryptography loaded."""
    env = {"PYTHONPATH": os.pathsep.join(map(str, path)), "PATH": os.environ["PATH"],
           "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE.format(module=module)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return float(out[0]), out[1] == "True"


def measure_all(
    cases: list[tuple[str, str, list[Path], Path | None]], runs: int
) -> list[tuple[float, bool]]:
    """Median ms per case, the cases taken round-robin so that drifting load on a shared
    machine weighs on every case alike, not on whichever ran during a busy minute."""
    times: list[list[float]] = [[] for _ in cases]
    crypto = [False] * len(cases)
    for _ in range(runs):
        for i, (_, module, path, _) in enumerate(cases):
            seconds, loaded = measure_once(module, path)
            times[i].append(seconds)
            crypto[i] = crypto[i] or loaded
    return [(statistics.median(t) * 1000, c) for t, c in zip(times, crypto, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=results_path("coldstart"))
    args = parser.parse_args()
    runs = 3 if args.quick else max(11, args.runs)
    local = f"python{sys.version_info.major}.{sys.version_info.minor}"
    runtime = lambda_runtime_dir()
    hmac = packaging.dependency_dir(packaging.HMAC_REQUIREMENTS, "x86_64", local)
    jwks = packaging.dependency_dir(packaging.JWKS_REQUIREMENTS, "x86_64", local)
    hmac_arm = packaging.dependency_dir(packaging.HMAC_REQUIREMENTS, "arm64", "python3.12")
    jwks_arm = packaging.dependency_dir(packaging.JWKS_REQUIREMENTS, "arm64", "python3.12")
    plain = artifact(None)
    cases = [
        ("import boto3 (reference)", "boto3", [runtime], None),
        *[(f"handlers.{m}", f"{HANDLERS}.{m}", [plain, runtime], None)
          for m in ROUTE_MODULES],
        ("handlers.authorizer (HS256)", f"{HANDLERS}.authorizer", [artifact(hmac), runtime],
         hmac_arm),
        ("handlers.authorizer (JWKS)", f"{HANDLERS}.authorizer", [artifact(jwks), runtime],
         jwks_arm),
        ("publish (backends)", PUBLISH, [ROOT, runtime], None),
    ]  # fmt: skip
    results = []
    measured = measure_all(cases, runs)
    base = measured[0][0]
    for (label, module, _, deps), (ms, crypto) in zip(cases, measured, strict=True):
        size = None if module in ("boto3", PUBLISH) else zipped_size(deps)
        results.append({"case": label, "median_ms": ms, "vs_boto3": ms / base,
                        "imports_cryptography": crypto, "artifact_bytes": size})  # fmt: skip
    print(f"Import time in fresh interpreters, median of {runs} runs (Lambda-like path)\n")
    print(f"{'module':<30} {'median ms':>10} {'x boto3':>8} {'crypto':>7} {'artifact':>10}")
    for r in results:
        size = f"{r['artifact_bytes'] / 1024:,.0f} KB" if r["artifact_bytes"] else "-"
        print(f"{r['case']:<30} {r['median_ms']:>10.1f} {r['vs_boto3']:>8.2f} "
              f"{'yes' if r['imports_cryptography'] else 'no':>7} {size:>10}")  # fmt: skip
    hs = next(r for r in results if "HS256" in r["case"])
    if hs["imports_cryptography"]:
        sys.exit("FAIL: the HS256 authorizer imports cryptography")
    write_results(args.json, {"runs": runs, "results": results})


if __name__ == "__main__":
    main()
