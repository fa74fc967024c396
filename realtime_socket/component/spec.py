"""Arguments declared once: each TypedDict field's type, default, bounds and doc.

A field's annotation carries its type and, in ``Annotated[..., Spec(...)]``, its default
and bounds; the docstring written after the field is its doc. :func:`check_section` checks
a plain dict against that declaration and fills in the defaults; the README's
configuration table (:mod:`realtime_socket.component.reference`) is generated from it.

Values of fields typed ``pulumi.Input[...]`` that are Pulumi Outputs (a secret, an ARN from
another resource) pass through untouched: they are unknown until deployment.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys
import textwrap
import types
import typing
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, Required, get_args, get_origin

import pulumi

__all__ = [
    "Field",
    "Problems",
    "Spec",
    "accepts_output",
    "check_section",
    "describe",
    "fields",
    "is_section",
]


@dataclass(frozen=True)
class Spec:
    """How one field is checked and defaulted.

    ``bounds`` limit a number's value, a string's length or a list's item count (``None``
    for no limit on that side); ``pattern`` must match every string (the value, each list
    item, each mapping key); ``hint`` is the reason given when a bound, pattern or choice
    fails; ``shown`` is how the reference shows the default when the value itself won't do.
    """

    default: Any = None
    bounds: tuple[float | None, float | None] | None = None
    pattern: str | None = None
    choices: frozenset[Any] | None = None
    unique: bool = False
    hint: str | None = None
    shown: str | None = None


_NO_SPEC = Spec()
#: ``pulumi.Input[T]`` holds a forward reference to ``Output[T]``; these resolve it.
_PULUMI_NAMES = {"Output": pulumi.Output, "T": typing.TypeVar("T")}


@dataclass(frozen=True)
class Field:
    """One declared field: its key, its type (without ``NotRequired``/``Annotated``)."""

    key: str
    type: Any
    spec: Spec
    required: bool
    doc: str


class Problems:
    """Every problem found, reported at once in one ``InputPropertiesError``."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append((path, reason))

    def raise_if_any(self, what: str) -> None:
        if not self.items:
            return
        lines = "\n".join(f"  - {path}: {reason}" for path, reason in self.items)
        raise pulumi.InputPropertiesError(
            f"{what} has {len(self.items)} invalid argument(s):\n{lines}",
            [{"property_path": path, "reason": reason} for path, reason in self.items],
        )


def _docstrings(cls: type) -> dict[str, str]:
    """The string literal written after each field of ``cls``, read from its source."""
    source = textwrap.dedent(inspect.getsource(cls))
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for field, after in zip(body.body, [*body.body[1:], None], strict=True):
        if not (isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)):
            continue
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[field.target.id] = " ".join(str(after.value.value).split())
    return docs


@functools.cache
def fields(cls: type) -> tuple[Field, ...]:
    """The declared fields of a TypedDict, in declaration order."""
    hints = typing.get_type_hints(
        cls, vars(sys.modules[cls.__module__]), _PULUMI_NAMES, include_extras=True
    )
    docs = _docstrings(cls)
    result = []
    for key, hint in hints.items():
        required = True
        if get_origin(hint) in (NotRequired, Required):
            required = get_origin(hint) is Required
            (hint,) = get_args(hint)
        spec = _NO_SPEC
        if get_origin(hint) is Annotated:
            hint, *extras = get_args(hint)
            spec = next((e for e in extras if isinstance(e, Spec)), _NO_SPEC)
        result.append(Field(key, hint, spec, required, docs.get(key, "")))
    return tuple(result)


def is_section(tp: Any) -> bool:
    """A nested TypedDict (``throttling``, ``jwt``...)."""
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _plain_type(tp: Any) -> Any:
    """``pulumi.Input[str]`` -> ``str``; ``str | list[str]`` -> ``list[str]`` (a single
    string is accepted wherever a list is)."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        members = [m for m in get_args(tp) if get_origin(m) not in (pulumi.Output, Awaitable)]
        lists = [m for m in members if get_origin(m) is list]
        return lists[0] if lists else members[0]
    return tp


def accepts_output(tp: Any) -> bool:
    """Fields typed ``pulumi.Input[...]`` take Outputs."""
    return get_origin(tp) in (typing.Union, types.UnionType) and any(
        get_origin(m) is pulumi.Output for m in get_args(tp)
    )


def describe(tp: Any) -> str:
    """A reader's name for a type: ``integer``, ``list of strings``, ``one of a, b``."""
    tp = _plain_type(tp)
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(tp))
    if origin in (list, dict):
        item = describe(get_args(tp)[-1])
        kind = "list" if origin is list else "map"
        return f"{kind} of: {item[7:]}" if item.startswith("one of ") else f"{kind} of {item}s"
    if is_section(tp):
        return "object"
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return names.get(tp, str(tp))


class _Checker:
    """Checks values against field declarations, collecting problems."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def section(self, path: str, cls: type, raw: Any) -> dict[str, Any] | None:
        """The section's values with defaults filled in; None if it failed or is absent."""
        if not isinstance(raw, Mapping):
            self.problems.add(path or "args", "must be an object")
            return None
        declared = fields(cls)
        for key in raw:
            if key not in {f.key for f in declared}:
                self.problems.add(_join(path, str(key)), "unknown argument")
        return {f.key: self.field(_join(path, f.key), f, raw.get(f.key)) for f in declared}

    def field(self, path: str, field: Field, value: Any) -> Any:
        if value is None:
            if field.required:
                self.problems.add(path, "is required")
                return None
            if is_section(field.type) and all(not f.required for f in fields(field.type)):
                return self.section(path, field.type, {})
            return field.spec.default
        if isinstance(value, pulumi.Output):
            if accepts_output(field.type):
                return value
            self.problems.add(path, "must be a plain value, known before deployment")
            return field.spec.default
        ok, checked = self.value(path, _plain_type(field.type), field.spec, value)
        return checked if ok else field.spec.default

    def value(self, path: str, tp: Any, spec: Spec, value: Any) -> tuple[bool, Any]:
        if is_section(tp):
            checked = self.section(path, tp, value)
            return checked is not None, checked
        origin = get_origin(tp)
        if origin is list:
            return self._list(path, get_args(tp)[0], spec, value)
        if origin is dict:
            return self._dict(path, get_args(tp)[1], spec, value)
        if origin is Literal:
            spec = Spec(choices=frozenset(get_args(tp)), hint=spec.hint)
            tp = str
        return self._scalar(path, tp, spec, value)

    def _scalar(self, path: str, tp: Any, spec: Spec, value: Any) -> tuple[bool, Any]:
        wrong_type = isinstance(value, bool) != (tp is bool) or not isinstance(
            value, int | float if tp is float else tp
        )
        if wrong_type:
            self.problems.add(path, spec.hint or f"must be {_a(describe(tp))}, got {value!r}")
            return False, None
        if spec.choices is not None and value not in spec.choices:
            choices = sorted(spec.choices)
            self.problems.add(path, spec.hint or f"must be one of {choices}, got {value!r}")
            return False, None
        if not _within(spec, len(value) if tp is str else value):
            low, high = spec.bounds or (None, None)
            reason = f"must be {_a(describe(tp))} from {low} to {high}, got {value!r}"
            self.problems.add(path, spec.hint or reason)
            return False, None
        if tp is str and not _matches(spec, value):
            self.problems.add(path, spec.hint or f"does not match {spec.pattern}")
            return False, None
        return True, float(value) if tp is float else value

    def _list(self, path: str, item: Any, spec: Spec, value: Any) -> tuple[bool, Any]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, Sequence) or isinstance(items, bytes):
            self.problems.add(path, spec.hint or f"must be a {describe(list[item])}")
            return False, None
        if not _within(spec, len(items)) or (spec.unique and len(set(items)) != len(items)):
            self.problems.add(path, spec.hint or "has the wrong number of items")
            return False, None
        item_spec = Spec(pattern=spec.pattern, choices=spec.choices, hint=spec.hint)
        results = [self.value(path, item, item_spec, i) for i in items]
        return all(ok for ok, _ in results), tuple(v for _, v in results)

    def _dict(self, path: str, item: Any, spec: Spec, value: Any) -> tuple[bool, Any]:
        if not isinstance(value, Mapping):
            self.problems.add(path, f"must be a {describe(dict[str, item])}")
            return False, None
        checked: dict[str, Any] = {}
        ok = True
        for key, entry in value.items():
            if not isinstance(key, str) or not _matches(spec, key):
                self.problems.add(_join(path, str(key)), spec.hint or "invalid key")
                ok = False
                continue
            entry_ok, checked[key] = self.value(_join(path, key), item, _NO_SPEC, entry)
            ok = ok and entry_ok
        return ok, checked


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _within(spec: Spec, size: float) -> bool:
    low, high = spec.bounds or (None, None)
    return (low is None or size >= low) and (high is None or size <= high)


def _matches(spec: Spec, text: str) -> bool:
    return spec.pattern is None or re.fullmatch(spec.pattern, text) is not None


def check_section(problems: Problems, path: str, cls: type, raw: Any) -> dict[str, Any] | None:
    """Check ``raw`` against the TypedDict ``cls``; every problem goes to ``problems``.

    Returns the values with every default filled in (nested sections as dicts, lists as
    tuples), or None when ``raw`` is not a mapping.
    """
    return _Checker(problems).section(path, cls, raw)
