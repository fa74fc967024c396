"""The README's device (`## Devices`), run as written against `realtime-socket dev`: it
answers `realtime-socket request`, and after the server closes its connection it connects
again and answers the next request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from realtime_socket.contract import Table
from realtime_socket.handlers import connections
from realtime_socket.tools import cli
from tests.support.dev_process import DevProcess
from tests.support.helpers import ROOT
from tests.support.stack_project import copy_project

DEVICE_SUB = "device-42"
#: The README promises a device of about twenty lines.
MAX_DEVICE_LINES = 25


def readme_device() -> str:
    """The first ```python block after the README's `## Devices` heading."""
    section = (ROOT / "README.md").read_text().split("\n## Devices\n", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "## Devices has no ```python block"
    return found.group(1)


def test_the_readme_device_is_about_twenty_lines() -> None:
    """The device the README shows stays short enough to be the promised ~20 lines."""
    lines = readme_device().rstrip("\n").splitlines()
    assert len(lines) <= MAX_DEVICE_LINES, f"{len(lines)} lines:\n" + "\n".join(lines)


@dataclass
class Telemetry:
    """The dev runtime's telemetry namespace: where the device connects and requests go."""

    project: Path
    port: int
    url: str
    table: str
    management_endpoint: str
    db: Any
    management: Any

    def device_connections(self) -> set[str]:
        return set(connections.user_connections(self.db, self.table, Table.USER_INDEX, DEVICE_SUB))

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A `realtime-socket` command run from the project folder, as the README shows."""
        return subprocess.run(
            [sys.executable, "-m", "realtime_socket", *args],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def request_temperature(self) -> subprocess.CompletedProcess[str]:
        return self.cli(
            "request", "--port", str(self.port), "--namespace", "telemetry",
            "--user", DEVICE_SUB, "--data", '{"read":"temp"}',
        )  # fmt: skip


@pytest.fixture(scope="module")
def telemetry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Telemetry]:
    """`realtime-socket dev` on free ports, serving a copy of the project."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    dev = DevProcess([sys.executable, "-m", "realtime_socket", "dev", "--port", "0"], cwd=project)
    try:
        dev.wait_for("Ctrl-C to stop.")
        port = int(re.search(r"ws://127\.0\.0\.1:(\d+)/telemetry", dev.output).group(1))  # type: ignore[union-attr]
        state = json.loads(cli.dev_state_path(project, port).read_text())
        output = state["namespaces"]["telemetry"]
        local = {
            "region_name": state["region"],
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }
        yield Telemetry(
            project=project,
            port=port,
            url=output["url"],
            table=output["table_name"],
            management_endpoint=output["management_endpoint"],
            db=boto3.client("dynamodb", endpoint_url=state["aws_endpoint"], **local),
            management=boto3.client(
                "apigatewaymanagementapi", endpoint_url=output["management_endpoint"], **local
            ),
        )
    finally:
        dev.kill()


def _wait_for_device(
    telemetry: Telemetry, device: subprocess.Popen[str], other_than: set[str]
) -> str:
    """The device's one live connection, once it is a new one (not in ``other_than``)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = telemetry.device_connections()
        if live and not live & other_than:
            assert len(live) == 1, live
            return live.pop()
        if device.poll() is not None:
            pytest.fail(f"the device exited with {device.returncode}")
        time.sleep(0.1)
    pytest.fail(f"no new connection of {DEVICE_SUB} (live: {telemetry.device_connections()})")


def test_the_readme_device_answers_requests_and_reconnects_after_a_server_close(
    telemetry: Telemetry, tmp_path: Path
) -> None:
    """Run verbatim, the device answers {"read":"temp"} with {"temp": 21.5}; closed from the
    server side it connects again by itself and answers the next request."""
    script = tmp_path / "device.py"
    script.write_text(readme_device())
    minted = telemetry.cli("token", "--namespace", "telemetry", "--sub", DEVICE_SUB)
    assert minted.returncode == 0, minted.stderr
    env = {**os.environ, "TOKEN": minted.stdout.strip(), "URL": telemetry.url}
    log = (tmp_path / "device.log").open("w")
    device = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        first = _wait_for_device(telemetry, device, other_than=set())
        done = telemetry.request_temperature()
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        assert json.loads(done.stdout) == {"temp": 21.5}

        # What API Gateway does at the 2-hour limit, or a backend with DeleteConnection.
        telemetry.management.delete_connection(ConnectionId=first)
        second = _wait_for_device(telemetry, device, other_than={first})
        assert second != first
        done = telemetry.request_temperature()
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        assert json.loads(done.stdout) == {"temp": 21.5}
        assert device.poll() is None  # still running: it never gave up
    finally:
        device.kill()
        device.wait()
        log.close()
        print((tmp_path / "device.log").read_text())  # shown by pytest when the test fails
