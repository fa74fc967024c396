"""A local runtime serving the standard test program, shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.runtime_harness import RunningRuntime, model_of, standard_program


@pytest.fixture(scope="module")
def standard_model():
    return model_of(standard_program)


@pytest.fixture(scope="module")
def rt(standard_model, tmp_path_factory) -> Iterator[RunningRuntime]:
    output = (tmp_path_factory.mktemp("handlers") / "handlers.log").open("w")
    running = RunningRuntime(standard_model, handler_output=output)
    running.handler_log = output.name  # type: ignore[attr-defined]
    yield running
    running.close()
    output.close()
