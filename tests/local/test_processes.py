"""`realtime-socket dev` leaves nothing behind, however it ends: stopped by SIGINT, SIGTERM or
SIGHUP, or killed with SIGKILL (its processes die with it; the next start removes its folders).

Each runtime runs as a real subprocess in its own session, so every process it started (the
function workers, the moto server) is found by session id, even after it is gone; their code
folders land in a TMPDIR of the test's own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from realtime_socket.local import processes
from tests.support.helpers import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

#: One namespace: 12 functions (10 routes since subscribe, unsubscribe, reply, history and
#: members, the authorizer and the fan-out worker), each prewarmed into one worker, and the
#: moto server.
FUNCTIONS = 12
EXPECTED_CHILDREN = FUNCTIONS + 1


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The repository's own program, with a one-namespace stack to start quickly."""
    folder = tmp_path_factory.mktemp("project")
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, folder / name)
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config = stack["config"]
    config["realtime-socket:namespaces"] = config["realtime-socket:namespaces"][:1]
    (folder / "Pulumi.test.yaml").write_text(yaml.safe_dump(stack))
    return folder


@pytest.fixture
def temp_root(tmp_path) -> Path:
    """The runtimes' TMPDIR: their code folders, and nobody else's, land here."""
    folder = tmp_path / "tmp"
    (folder / "early").mkdir(parents=True)
    return folder


class Dev:
    """One ``realtime-socket dev`` process in its own session, with its own TMPDIR."""

    def __init__(self, project: Path, tmpdir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "realtime_socket", "dev", "--stack", "test", "--port", "0"],
            cwd=project,
            env={**os.environ, "TMPDIR": str(tmpdir)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output = ""

    def wait_until_serving(self, timeout: float = 120) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while "Ctrl-C to stop." not in self.output and time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output += line
        assert "Ctrl-C to stop." in self.output, self.output

    def wait_until_launching(self, timeout: float = 120) -> None:
        """Until its first child (the AWS emulation, launched before the program is even
        evaluated) runs: it is starting, seconds before it serves."""
        deadline = time.monotonic() + timeout
        while not self.children() and self.process.poll() is None:
            assert time.monotonic() < deadline, "no child process appeared"
            time.sleep(0.02)

    def wait_until_warm(self, timeout: float = 120) -> None:
        """Until every function has its environment: they start after it serves."""
        deadline = time.monotonic() + timeout
        while len(self.children()) < EXPECTED_CHILDREN:
            assert time.monotonic() < deadline, self.children()
            time.sleep(0.05)

    def children(self) -> list[int]:
        """Live processes in its session (zombies hold no memory and are not counted)."""
        return [pid for pid in _session(self.process.pid) if pid != self.process.pid]

    def stop_with(self, sig: signal.Signals, timeout: float = 30) -> None:
        os.kill(self.process.pid, sig)  # the runtime alone, as `kill` or a service manager does
        rest, _ = self.process.communicate(timeout=timeout)
        self.output += rest

    def force_kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in _session(self.process.pid):
            os.kill(pid, signal.SIGKILL)


def _session(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(entry.name))
    return pids


def _folders(tmpdir: Path) -> set[str]:
    return {path.name for path in tmpdir.glob("rs-*")}


@pytest.fixture
def started() -> Iterator[list[Dev]]:
    """Runtimes the test started; whatever it leaves running is killed afterwards."""
    runtimes: list[Dev] = []
    yield runtimes
    for dev in runtimes:
        dev.force_kill()


def _wait_until_gone(dev: Dev, timeout: float = 5) -> list[int]:
    deadline = time.monotonic() + timeout
    while dev.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return dev.children()


def _own(dev: Dev, folders: set[str]) -> set[str]:
    """The folders among ``folders`` whose worker processes belong to ``dev``."""
    mine = set()
    for pid in dev.children():
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        mine |= {name for name in folders if any(name.encode() in arg for arg in argv)}
    return mine


def test_every_way_it_ends_leaves_no_process_and_no_folder(project, temp_root, started):
    """SIGKILL takes its processes along and the next start removes its folders (never a live
    runtime's); SIGINT (while starting too), SIGTERM and SIGHUP stop it cleanly, leaving nothing."""
    killed, hung_up = Dev(project, temp_root), Dev(project, temp_root)
    started.extend([killed, hung_up])
    for dev in started:
        dev.wait_until_serving()
        dev.wait_until_warm()
        assert len(dev.children()) == EXPECTED_CHILDREN
    killed_folders = _own(killed, _folders(temp_root))
    live_folders = _own(hung_up, _folders(temp_root))
    assert len(killed_folders) == len(live_folders) == FUNCTIONS

    killed.stop_with(signal.SIGKILL)  # workers are frozen (SIGSTOP) now: they die all the same
    assert _wait_until_gone(killed) == []
    assert killed_folders <= _folders(temp_root)  # nobody could remove them yet

    terminated = Dev(project, temp_root)
    interrupted_early = Dev(project, temp_root / "early")  # its own TMPDIR: its folders alone
    started.extend([terminated, interrupted_early])
    interrupted_early.wait_until_launching()
    interrupted_early.stop_with(signal.SIGINT)
    terminated.wait_until_serving()
    terminated.wait_until_warm()
    folders = _folders(temp_root)
    assert not folders & killed_folders  # removed by the next start
    assert live_folders <= folders  # a live runtime's are kept
    assert len(folders) == 2 * FUNCTIONS

    assert "Ctrl-C to stop." not in interrupted_early.output  # it was stopped while starting
    for dev, sig in [
        (interrupted_early, signal.SIGINT),
        (terminated, signal.SIGTERM),
        (hung_up, signal.SIGHUP),
    ]:
        if dev.process.returncode is None:
            dev.stop_with(sig)
        assert dev.process.returncode == 0, (sig, dev.output)
        assert "stopped cleanly" in dev.output, (sig, dev.output)
        assert dev.children() == [], sig
    assert _folders(temp_root) == set()
    assert _folders(temp_root / "early") == set()


_HOLD_A_FOLDER = """
import os, sys, tempfile
tempfile.tempdir = sys.argv[1]
from realtime_socket.local.processes import OwnedFolder
print(OwnedFolder(sys.argv[2]).path.name, flush=True)
if sys.argv[2] == "dead":
    os._exit(0)  # gone without cleaning up, as after SIGKILL
sys.stdin.read()
"""


def _folder_held_by_a_process(root: Path, name: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_FOLDER, str(root), name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def test_the_sweep_removes_only_folders_whose_owner_is_gone(tmp_path, monkeypatch):
    """A dead owner's folder goes; a live owner's (this process or another) and an ``rs-``
    folder without an owner lock (not ours) stay."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    here = processes.OwnedFolder("here")
    elsewhere, elsewhere_name = _folder_held_by_a_process(tmp_path, "elsewhere")
    dead, dead_name = _folder_held_by_a_process(tmp_path, "dead")
    dead.wait(10)
    (tmp_path / "rs-not-ours").mkdir()
    try:
        assert _folders(tmp_path) == {here.path.name, elsewhere_name, dead_name, "rs-not-ours"}
        assert [path.name for path in processes.remove_leftover_folders()] == [dead_name]
        assert _folders(tmp_path) == {here.path.name, elsewhere_name, "rs-not-ours"}
    finally:
        elsewhere.communicate(timeout=10)
        here.remove()
    assert [path.name for path in processes.remove_leftover_folders()] == [elsewhere_name]
    assert _folders(tmp_path) == {"rs-not-ours"}
