"""The evaluated program is reused only while nothing it was made from changed."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

from realtime_socket.local import model_cache
from realtime_socket.local.model import LocalFunction, LocalModel
from realtime_socket.tools import cli
from realtime_socket.tools.stack_files import StackConfig
from tests.support.stack_project import copy_project


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, StackConfig]:
    (tmp_path / "__main__.py").write_text("# the program\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "handler.py").write_text("def handler(event, context): ...\n")
    cfg = StackConfig("proj", "dev", tmp_path / "__main__.py", {"proj:size": "1"})
    return tmp_path, cfg


class Builds:
    """A build that says how often it ran and makes a model with a function in ``code/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(self) -> LocalModel:
        self.count += 1
        function = LocalFunction(
            name="f",
            physical_name=f"f-{self.count}",
            handler="handler.handler",
            files={"handler.py": self.folder / "code" / "handler.py"},
            environment={"A": "1"},
            timeout_seconds=3,
            memory_mb=128,
        )
        return LocalModel(apis={}, functions={"f": function}, tables=[], parameters=[])


def _touch(path: Path) -> None:
    """A later modification time, as an editor's save gives (some file systems keep only
    seconds)."""
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 2_000_000_000))


def test_a_second_start_reuses_the_evaluation(project):
    folder, cfg = project
    build = Builds(folder)
    first, cached = model_cache.load_or_build(folder, cfg, build)
    assert not cached
    mode = model_cache.cache_path(folder, cfg.stack).stat().st_mode
    assert mode & 0o077 == 0  # the owner's alone: it holds what the stack files hold
    again, cached = model_cache.load_or_build(folder, cfg, build)
    assert cached and build.count == 1
    assert again == first  # the same functions, files and environment


def test_no_cache_evaluates_afresh_and_keeps_the_new_result(project):
    folder, cfg = project
    build = Builds(folder)
    model_cache.load_or_build(folder, cfg, build)
    model, cached = model_cache.load_or_build(folder, cfg, build, fresh=True)
    assert not cached and build.count == 2 and model.functions["f"].physical_name == "f-2"
    assert model_cache.load_or_build(folder, cfg, build)[0].functions["f"].physical_name == "f-2"


def test_changed_config_evaluates_again(project):
    folder, cfg = project
    build = Builds(folder)
    model_cache.load_or_build(folder, cfg, build)
    cfg.config["proj:size"] = "2"
    assert not model_cache.load_or_build(folder, cfg, build)[1]
    cfg.secret_keys.append("proj:size")
    assert not model_cache.load_or_build(folder, cfg, build)[1]
    assert build.count == 3


def test_an_edited_program_evaluates_again(project):
    folder, cfg = project
    build = Builds(folder)
    model_cache.load_or_build(folder, cfg, build)
    (folder / "__main__.py").write_text("# the program, edited: a longer file\n")
    assert not model_cache.load_or_build(folder, cfg, build)[1]


def test_an_edited_module_the_program_imported_evaluates_again(project, monkeypatch):
    folder, cfg = project
    module = folder / "rs_cache_probe_module.py"
    module.write_text("ROOMS = 1\n")
    monkeypatch.syspath_prepend(str(folder))
    importlib.import_module("rs_cache_probe_module")
    try:
        build = Builds(folder)
        model_cache.load_or_build(folder, cfg, build)
        assert model_cache.load_or_build(folder, cfg, build)[1]
        module.write_text("ROOMS = 2\n")
        _touch(module)
        assert not model_cache.load_or_build(folder, cfg, build)[1]
    finally:
        sys.modules.pop("rs_cache_probe_module", None)


def test_a_new_file_in_a_functions_code_folder_evaluates_again(project):
    folder, cfg = project
    build = Builds(folder)
    model_cache.load_or_build(folder, cfg, build)
    (folder / "code" / "helpers.py").write_text("X = 1\n")
    _touch(folder / "code")
    assert not model_cache.load_or_build(folder, cfg, build)[1]


def test_a_changed_pulumi_variable_evaluates_again(project, monkeypatch):
    folder, cfg = project
    build = Builds(folder)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "one")
    model_cache.load_or_build(folder, cfg, build)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "two")
    assert not model_cache.load_or_build(folder, cfg, build)[1]
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    assert model_cache.load_or_build(folder, cfg, build)[1]


@pytest.mark.parametrize("content", [b"", b"not a pickle", b"\x80\x05N."])
def test_an_unreadable_cache_is_replaced(project, content):
    folder, cfg = project
    path = model_cache.cache_path(folder, cfg.stack)
    path.parent.mkdir()
    path.write_bytes(content)
    build = Builds(folder)
    assert not model_cache.load_or_build(folder, cfg, build)[1]
    assert model_cache.load_or_build(folder, cfg, build)[1]


def test_a_folder_that_cannot_be_written_still_serves(project):
    folder, cfg = project
    (folder / ".realtime-socket").write_text("a file where the folder would be")
    build = Builds(folder)
    model, cached = model_cache.load_or_build(folder, cfg, build)
    assert model.functions["f"].physical_name == "f-1" and not cached
    assert not model_cache.load_or_build(folder, cfg, build)[1]


def test_token_evaluates_the_program_once_then_reads_the_cache(tmp_path, capsys):
    project = copy_project(tmp_path)
    runs = tmp_path / "runs.txt"
    program = project / "__main__.py"
    program.write_text(
        f"open({str(runs)!r}, 'a').write('ran\\n')\n" + program.read_text(), encoding="utf-8"
    )
    token = ["token", "--project-dir", str(project), "--namespace", "chat"]
    assert cli.main(token) == 0
    assert cli.main(token) == 0
    assert runs.read_text().count("ran") == 1
    assert cli.main([*token, "--no-cache"]) == 0
    assert runs.read_text().count("ran") == 2
    tokens = capsys.readouterr().out.split()
    assert len(tokens) == 3 and all(t.count(".") == 2 for t in tokens)
