"""Stack config read offline from Pulumi.yaml and Pulumi.<stack>.yaml, as the Pulumi CLI
hands it to a program, with local stand-ins for what only the CLI can decrypt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from realtime_socket.tools import stack_files
from tests.support.stack_project import copy_project


def write_project(
    folder: Path, stack: dict[str, Any], project: dict[str, Any] | None = None
) -> Path:
    """A project named ``demo`` with a ``test`` stack holding ``stack`` as its config."""
    (folder / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "demo", **(project or {})}))
    (folder / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": stack}))
    return folder


def test_secure_values_get_stand_ins_and_are_reported(tmp_path):
    project = copy_project(tmp_path, **{"realtime-socket:jwtSecret": {"secure": "v1:abc"}})
    cfg = stack_files.load(project, "dev")
    assert cfg.stand_ins == ["realtime-socket:jwtSecret"]
    assert cfg.config["realtime-socket:jwtSecret"] == stack_files.DEV_JWT_SECRET
    assert "realtime-socket:jwtSecret" in cfg.secret_keys


def test_local_jwt_secret_is_the_readable_secret_else_the_development_stand_in():
    """A secret the stack gives in the clear is used as is; none means the public stand-in."""
    assert stack_files.local_jwt_secret("from-the-stack") == "from-the-stack"
    assert stack_files.local_jwt_secret("") == ""
    assert stack_files.local_jwt_secret(None) == stack_files.DEV_JWT_SECRET


def test_project_defaults_yield_to_the_stack_and_arrive_as_pulumi_strings(tmp_path):
    """Keys get the project prefix; booleans and structures become what Pulumi passes."""
    declared = {
        "size": {"type": "integer", "default": 1},
        "debug": False,
        "demo:label": {"type": "string", "default": "a"},
    }
    stack = {"aws:region": "eu-west-1", "size": 3, "jwt": {"jwks_url": "https://x/jwks"}}
    write_project(tmp_path, stack, {"config": declared})
    cfg = stack_files.load(tmp_path, "test")
    assert cfg.config == {
        "demo:size": "3",
        "demo:debug": "false",
        "demo:label": "a",
        "aws:region": "eu-west-1",
        "demo:jwt": '{"jwks_url": "https://x/jwks"}',
    }
    assert cfg.get_object("jwt") == {"jwks_url": "https://x/jwks"}
    assert cfg.get_object("absent") is None
    assert (cfg.stand_ins, cfg.secret_keys) == ([], [])


def test_a_missing_jwt_secret_gets_the_stand_in_only_when_the_stack_needs_one(tmp_path):
    """No secret and no other key source: the stand-in, reported; a clear secret is kept."""
    cfg = stack_files.load(write_project(tmp_path, {"jwt": {"issuer": "i"}}), "test")
    assert cfg.config["demo:jwtSecret"] == stack_files.DEV_JWT_SECRET
    assert cfg.stand_ins == cfg.secret_keys == ["demo:jwtSecret"]
    readable = stack_files.load(write_project(tmp_path, {"jwtSecret": "clear-text"}), "test")
    assert readable.config["demo:jwtSecret"] == "clear-text"
    assert readable.stand_ins == []
    parameter = {"jwt": {"secret_parameter_name": "/p"}}
    elsewhere = stack_files.load(write_project(tmp_path, parameter), "test")
    assert "demo:jwtSecret" not in elsewhere.config


@pytest.mark.parametrize(
    ("project_text", "message"),
    [
        (None, "Pulumi.yaml not found"),
        ("name: [unclosed", "Pulumi.yaml is not valid YAML"),
        ("- a list", "Pulumi.yaml must hold a mapping"),
        ("description: no name", "Pulumi.yaml has no project name"),
    ],
    ids=["missing", "invalid-yaml", "not-a-mapping", "no-name"],
)
def test_missing_or_malformed_project_files_are_stack_config_errors(
    tmp_path, project_text, message
):
    """Each way the project file can be unusable is one StackConfigError naming the file."""
    if project_text is not None:
        (tmp_path / "Pulumi.yaml").write_text(project_text)
    with pytest.raises(stack_files.StackConfigError, match=message):
        stack_files.load(tmp_path, "test")


def test_the_program_is_the_main_py_of_the_folder_main_names(tmp_path):
    """``main`` names the program's folder; without it the project folder holds it."""
    assert stack_files.load(write_project(tmp_path, {}), "test").program == (
        tmp_path / "__main__.py"
    )
    (tmp_path / "src").mkdir()
    cfg = stack_files.load(write_project(tmp_path, {}, {"main": "src"}), "test")
    assert cfg.program == tmp_path / "src" / "__main__.py"
