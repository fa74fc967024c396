"""Read a Pulumi project's stack config offline, the way the Pulumi CLI hands it to a program.

Pulumi passes config to programs as ``project:key`` -> string, with structured values as
JSON. Values marked ``secure:`` are encrypted by the CLI's secrets provider and cannot be
read here; they, and a missing ``jwtSecret``, get local development stand-ins, and the
caller is told which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DEV_JWT_SECRET", "StackConfig", "StackConfigError", "load", "local_jwt_secret"]

#: Public on purpose: it only ever signs tokens for the local runtime.
DEV_JWT_SECRET = "realtime-socket-local-development-secret-not-for-aws"  # noqa: S105


def local_jwt_secret(readable: str | None) -> str:
    """The JWT secret the local runtime uses: ``readable`` when the stack gives one it can
    read, else the development stand-in.

    The one place the rule lives: a ``secure:`` config value (only the Pulumi CLI can
    decrypt it), a missing ``jwtSecret`` and an SSM parameter the program does not create
    all become :data:`DEV_JWT_SECRET`, for the runtime, its seeded parameters and the
    tokens ``realtime-socket token`` mints alike.
    """
    return DEV_JWT_SECRET if readable is None else readable


class StackConfigError(ValueError):
    """The project or stack file is missing or malformed."""


@dataclass
class StackConfig:
    project: str
    stack: str
    program: Path
    config: dict[str, str]
    secret_keys: list[str] = field(default_factory=list)
    stand_ins: list[str] = field(default_factory=list)

    def get_object(self, key: str) -> Any:
        value = self.config.get(f"{self.project}:{key}")
        return None if value is None else json.loads(value)


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise StackConfigError(f"{path} not found") from exc
    except yaml.YAMLError as exc:
        raise StackConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise StackConfigError(f"{path} must hold a mapping")
    return data


def load(project_dir: Path, stack: str) -> StackConfig:
    """Load ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` from ``project_dir``."""
    project_file = _read_yaml(project_dir / "Pulumi.yaml")
    project = project_file.get("name")
    if not isinstance(project, str):
        raise StackConfigError(f"{project_dir / 'Pulumi.yaml'} has no project name")
    main = project_file.get("main")
    program = project_dir / main if isinstance(main, str) else project_dir
    if program.is_dir():
        program = program / "__main__.py"
    stack_file = _read_yaml(project_dir / f"Pulumi.{stack}.yaml")
    result = StackConfig(project=project, stack=stack, program=program, config={})
    declared = project_file.get("config") or {}
    for key, spec in declared.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(spec, dict) and "default" in spec:
            result.config[full] = _as_string(spec["default"])
        elif not isinstance(spec, dict):
            result.config[full] = _as_string(spec)
    for key, value in (stack_file.get("config") or {}).items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            result.stand_ins.append(full)
            result.secret_keys.append(full)
            result.config[full] = f"local-stand-in-for-{full}"
            continue
        result.config[full] = _as_string(value)
    secret_key = f"{project}:jwtSecret"
    jwt = result.get_object("jwt") or {}
    needs_secret = not (jwt.get("jwks_url") or jwt.get("secret_parameter_name"))
    readable = None if secret_key in result.stand_ins else result.config.get(secret_key)
    if needs_secret and readable is None:
        result.config[secret_key] = local_jwt_secret(readable)
        result.secret_keys.append(secret_key)
        if secret_key not in result.stand_ins:
            result.stand_ins.append(secret_key)
    return result
