"""The README's configuration table is the one the argument declaration generates."""

from __future__ import annotations

import pytest

from realtime_socket.component import reference
from realtime_socket.component.args import RealtimeSocketArgs
from realtime_socket.component.spec import fields, is_section
from tests.support.helpers import ROOT

REGENERATE = ".venv/bin/python -m realtime_socket.component.reference --write README.md"


def test_readme_table_matches_the_declaration():
    """Fails when an argument's type, default, bounds or doc changed without the README."""
    readme = (ROOT / "README.md").read_text()
    assert reference.START in readme and reference.END in readme
    assert reference.replace_table(readme) == readme, (
        f"README.md's configuration table is out of date; regenerate it with: {REGENERATE}"
    )


def test_every_declared_field_has_a_row_and_a_doc():
    """Nothing is left out of the reference, and no field goes undocumented."""
    table = reference.config_table()

    def walk(cls: type, prefix: str) -> None:
        for field in fields(cls):
            key = f"{prefix}{field.key}"
            assert f"| `{key}` |" in table
            assert field.doc, f"{key} has no docstring"
            if is_section(field.type):
                walk(field.type, f"{key}.")

    walk(RealtimeSocketArgs, "")


def test_defaults_and_bounds_come_from_the_declaration():
    """Rows show the declared default and bounds (a few spot checks of the rendering)."""
    table = reference.config_table()
    assert '| `jwt.carriers` | list of: header, protocol, query | `["query"]` |' in table
    assert "| `throttling.burst_limit` | integer, 0-5000 | `500` |" in table
    assert "| `jwt.issuer` | string | required |" in table


def test_replace_table_refuses_text_without_markers():
    """Writing into a file without the markers fails instead of appending a table."""
    with pytest.raises(ValueError, match="markers"):
        reference.replace_table("# no table here\n")
