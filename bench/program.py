"""Program benchmark: evaluating the stack program under the offline engine, by namespaces.

Runs the real __main__.py with the dev stack's config and 1, 10 and 50 namespaces, best of
N runs each; the time per namespace should stay flat (linear growth).

    .venv/bin/python -m bench.program
    .venv/bin/python -m bench.program --quick
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from bench.support import ROOT, results_path, write_results
from realtime_socket.tools import recording, stack_files


def project_with(namespaces: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-program-"))
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, folder / name)
    data = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    data["config"]["realtime-socket:namespaces"] = [{"name": f"ns{i}"} for i in range(namespaces)]
    (folder / "Pulumi.dev.yaml").write_text(yaml.safe_dump(data))
    return folder


def evaluate_once(folder: Path) -> tuple[float, int]:
    cfg = stack_files.load(folder, "dev")
    started = time.perf_counter()
    rec = recording.evaluate(cfg.program, project=cfg.project, stack=cfg.stack,
                                config=cfg.config, secret_keys=cfg.secret_keys)  # fmt: skip
    return time.perf_counter() - started, len(rec.resources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=results_path("program"))
    args = parser.parse_args()
    sizes = [1, 3] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.quick else args.runs
    evaluate_once(project_with(1))  # warm imports and the dependency cache
    rows = []
    for size in sizes:
        folder = project_with(size)
        best, resources = min(evaluate_once(folder) for _ in range(runs))
        rows.append({"namespaces": size, "seconds": best, "resources": resources,
                     "ms_per_namespace": best / size * 1000})  # fmt: skip
    print(f"Stack program under the offline engine (best of {runs})\n")
    print(f"{'namespaces':>10} {'resources':>10} {'seconds':>8} {'ms/namespace':>13}")
    for r in rows:
        print(f"{r['namespaces']:>10} {r['resources']:>10} {r['seconds']:>8.2f} "
              f"{r['ms_per_namespace']:>13.0f}")  # fmt: skip
    growth = (rows[-1]["seconds"] / rows[0]["seconds"]) / (sizes[-1] / sizes[0])
    print(f"\ntime ratio / namespace ratio, {sizes[0]} -> {sizes[-1]}: {growth:.2f} (1.0 = linear)")
    write_results(args.json, {"rows": rows, "growth": growth})


if __name__ == "__main__":
    main()
