"""The repository's own stack program, evaluated offline, and copies of it to vary config."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from realtime_socket.tools import stack_files
from realtime_socket.tools.recording import Recording, evaluate
from tests.support.helpers import ROOT


def run_stack(project_dir: Path = ROOT, stack: str = "dev") -> Recording:
    """Evaluate ``project_dir``'s program with ``Pulumi.<stack>.yaml``, as the CLI does."""
    cfg = stack_files.load(project_dir, stack)
    return evaluate(
        cfg.program,
        project=cfg.project,
        stack=cfg.stack,
        config=cfg.config,
        secret_keys=cfg.secret_keys,
    )


def copy_project(tmp_path: Path, namespaces: list[Any] | None = None, **config: Any) -> Path:
    """The project and its dev stack in ``tmp_path``, with namespaces or config replaced."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    data = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    if namespaces is not None:
        data["config"]["realtime-socket:namespaces"] = namespaces
    data["config"].update(config)
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(data))
    return tmp_path
