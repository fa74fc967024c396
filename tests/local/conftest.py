"""A local runtime serving the standard test program, shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.runtime_harness import RunningRuntime, logged_runtime, model_of, standard_program


@pytest.fixture(scope="module")
def standard_model():
    return model_of(standard_program)


@pytest.fixture(scope="module")
def rt(standard_model, tmp_path_factory) -> Iterator[RunningRuntime]:
    with logged_runtime(tmp_path_factory, "handlers", standard_model) as running:
        yield running
