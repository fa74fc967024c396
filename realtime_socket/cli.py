"""The ``realtime-socket`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pulumi

from realtime_socket import engine, plan, stackconfig

__all__ = ["main"]


def _evaluate(project_dir: Path, stack: str) -> tuple[stackconfig.StackConfig, engine.Recording]:
    cfg = stackconfig.load(project_dir, stack)
    recording = engine.evaluate(
        cfg.program,
        project=cfg.project,
        stack=cfg.stack,
        config=cfg.config,
        secret_keys=cfg.secret_keys,
    )
    return cfg, recording


def _cmd_plan(args: argparse.Namespace) -> int:
    cfg, recording = _evaluate(Path(args.project_dir), args.stack)
    for key in cfg.stand_ins:
        print(f"note: {key} is a local development stand-in (not the stack's secret)")
    print(f"Stack {cfg.project}/{cfg.stack}, evaluated offline under mocks:\n")
    plan.render(recording, sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime-socket", description="Room-based WebSocket services on AWS, locally too."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="print the resource tree the stack program declares")
    p.add_argument("--stack", default="dev", help="stack name (reads Pulumi.<stack>.yaml)")
    p.add_argument("--project-dir", default=".", help="folder holding Pulumi.yaml")
    p.set_defaults(func=_cmd_plan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except stackconfig.StackConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except pulumi.InputPropertiesError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
