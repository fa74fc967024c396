#!/usr/bin/env bash
# Runs this example project's tests against realtime-socket's wheel, as a user's project
# would: the wheel built from this checkout is installed into a throwaway venv, and the tests
# run from this folder with the checkout nowhere on sys.path (test_installed.py checks it).
#
# The dependencies (pulumi, pulumi-aws, pytest, ...) are the ones the development venv holds,
# reached through a .pth file: downloading pulumi-aws again would cost minutes, and a .pth
# line adds a folder without running that folder's own .pth files, so the checkout's
# editable install stays invisible. `pip check` then proves the wheel's declared
# dependencies are met by what the tests ran with.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$python" -m build --wheel --outdir "$tmp/dist" "$repo" >/dev/null
"$python" -m venv "$tmp/venv"
deps="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
site="$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$deps" >"$site/_development_dependencies.pth"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-index \
    "$tmp"/dist/realtime_socket-*.whl
"$tmp/venv/bin/python" -m pip check --disable-pip-version-check >/dev/null
cd "$here"
env -u PYTHONPATH "$tmp/venv/bin/python" -m pytest -q
