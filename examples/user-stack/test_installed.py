"""The tests above ran against an installed realtime-socket, not a checkout of it."""

import sys
from pathlib import Path

import realtime_socket


def test_realtime_socket_comes_from_this_environment() -> None:
    """`make user-test` installs the wheel into a throwaway venv: the package must be there."""
    package = Path(realtime_socket.__file__).resolve()
    assert package.is_relative_to(Path(sys.prefix).resolve()), package
    assert "site-packages" in package.parts
