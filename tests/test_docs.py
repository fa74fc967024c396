"""The docs point at files and tests that exist, and at nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.helpers import ROOT

DOCS = sorted([ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")])
#: `tests/x/test_y.py::test_z`, `test_y.py::test_z` or a path to a repository file.
TEST_REFERENCE = re.compile(r"`((?:[\w/]+/)?test_\w+\.py)::(\w+)")
#: Where the project's reference material lives, outside the repository; built so that this
#: file does not match itself.
OUTSIDE = ("../" + "shared", "shared/" + "reference", "AWS_" + "FACTS")
FILE_REFERENCE = re.compile(r"`((?:realtime_socket|tests|bench|docs)/[\w/.\-]+\.(?:py|json|md))`")


def _test_file(name: str) -> Path:
    """The test module a doc names, by path or (when unique) by file name."""
    if "/" in name:
        return ROOT / name
    found = sorted((ROOT / "tests").rglob(name))
    assert len(found) == 1, f"{name} names {len(found)} test modules"
    return found[0]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_test_the_docs_name_exists(doc: Path) -> None:
    """A doc that cites `test_file.py::test_name` as proof cites a test that is there."""
    missing = []
    for file, test in TEST_REFERENCE.findall(doc.read_text()):
        path = _test_file(file)
        if not path.is_file() or not re.search(rf"def {test}\b", path.read_text()):
            missing.append(f"{file}::{test}")
    assert not missing, f"{doc.name} cites tests that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_file_the_docs_name_exists(doc: Path) -> None:
    """Paths in backticks name files of this repository that exist."""
    missing = [p for p in FILE_REFERENCE.findall(doc.read_text()) if not (ROOT / p).exists()]
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def test_nothing_in_the_repository_points_outside_it() -> None:
    """Code, tests and docs stand on their own: no path reaches above the repository."""
    offenders = []
    for path in ROOT.rglob("*"):
        if any(part.startswith(".") or part in ("node_modules", "build", "dist") for part in
               path.relative_to(ROOT).parts):  # fmt: skip
            continue
        if path.suffix in (".py", ".md", ".yaml", ".toml", ".json") and any(
            marker in path.read_text() for marker in OUTSIDE
        ):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders
