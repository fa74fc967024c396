"""One local runtime for the client tests (starting one costs seconds on a small machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realtime_socket import RealtimeSocket
from tests.client.support import TINY_MAX_REPLAY
from tests.support.helpers import jwt_args
from tests.support.runtime_harness import RunningRuntime, logged_runtime, model_of


def _program() -> None:
    """``chat`` takes the token by every carrier and pages history by TINY_MAX_REPLAY;
    ``brief`` keeps no history, so a client that missed messages gets a Gap at once. Neither
    limits the message rate: tests send bursts."""
    unlimited = {"messages_per_second": 0}
    RealtimeSocket(
        "chat",
        {
            "jwt": jwt_args(carriers=["query", "protocol", "header"]),
            "history": {"max_replay": TINY_MAX_REPLAY},
            "limits": unlimited,
        },  # type: ignore[typeddict-item]
    )
    RealtimeSocket(
        "brief",
        {"jwt": jwt_args(), "history": {"retention_seconds": 0}, "limits": unlimited},  # type: ignore[typeddict-item]
    )


@pytest.fixture(scope="package")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    with logged_runtime(tmp_path_factory, "client", model_of(_program)) as running:
        yield running
