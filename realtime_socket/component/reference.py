"""The README's configuration table, generated from the argument declaration in ``args``.

Regenerate the README's table after changing an argument::

    .venv/bin/python -m realtime_socket.component.reference --write README.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

from realtime_socket.component.args import RealtimeSocketArgs
from realtime_socket.component.spec import Field, describe, fields, is_section

__all__ = ["END", "START", "config_table", "main", "replace_table"]

START = "<!-- config-table:start -->"
END = "<!-- config-table:end -->"


def _default(field: Field) -> str:
    if field.required:
        return "required"
    if field.spec.shown is not None:
        return field.spec.shown
    value: Any = field.spec.default
    if value is None:
        return ""
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{json.dumps(value)}`"


def _bound(value: float | None) -> str:
    """A bound as the table shows it: integers in full (1000000, not 1e+06)."""
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _kind(field: Field) -> str:
    """The field's type with its bounds or choices."""
    kind = describe(field.type)
    spec = field.spec
    if spec.choices is not None:
        choices = [str(c) for c in sorted(spec.choices)]
        values = ", ".join(choices if len(choices) <= 8 else [*choices[:5], "…", choices[-1]])
        return f"list of: {values}" if kind.startswith("list") else f"one of {values}"
    if spec.bounds is not None and kind in ("integer", "number"):
        low, high = (_bound(b) for b in spec.bounds)
        return f"{kind}, {low}-{high}" if high else f"{kind}, at least {low}"
    return kind


def _rows(cls: type, prefix: str) -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default, meaning) for every field, nested sections flattened."""
    for field in fields(cls):
        key = f"{prefix}{field.key}"
        nested = field.type if is_section(field.type) else None
        if get_origin(field.type) is dict and is_section(get_args(field.type)[1]):
            nested = get_args(field.type)[1]
        if field.doc or not nested:
            yield key, _kind(field), _default(field), field.doc.replace("``", "`")
        if nested is not None:
            inner = f"{key}.<key>." if get_origin(field.type) is dict else f"{key}."
            yield from _rows(nested, inner)


def config_table() -> str:
    """The Markdown table of every argument of ``RealtimeSocketArgs``."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for row in _rows(RealtimeSocketArgs, ""):
        key, kind, default, doc = (cell.replace("|", "\\|") for cell in row)
        lines.append(f"| `{key}` | {kind} | {default} | {doc} |")
    return "\n".join(lines) + "\n"


def replace_table(text: str) -> str:
    """``text`` with the part between the markers replaced by the generated table."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not (start and end):
        raise ValueError(f"the text has no {START} ... {END} markers")
    return f"{head}{START}\n{config_table()}{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table, or ``--write`` it into a Markdown file between the markers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", type=Path, help="Markdown file to update in place")
    options = parser.parse_args(argv)
    if options.write is None:
        sys.stdout.write(config_table())
        return 0
    options.write.write_text(replace_table(options.write.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
