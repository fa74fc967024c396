"""The declaration machinery: fields read from a TypedDict, values checked against them."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

import pulumi
import pytest

from realtime_socket.component.spec import Problems, Spec, check_section, fields


class Inner(TypedDict):
    size: NotRequired[Annotated[int, Spec(default=3, bounds=(1, 5))]]
    """How many."""


class Sample(TypedDict):
    name: Annotated[str, Spec(pattern=r"[a-z]+", hint="must be lowercase letters")]
    """The name."""
    ratio: NotRequired[Annotated[float, Spec(default=0.5, bounds=(0, 1))]]
    """A fraction."""
    kinds: NotRequired[Annotated[list[Literal["a", "b"]], Spec(default=("a",), unique=True)]]
    """Which kinds."""
    token: NotRequired[pulumi.Input[str]]
    inner: NotRequired[Inner]
    """Nested settings."""


def check(raw):
    problems = Problems()
    values = check_section(problems, "", Sample, raw)
    return values, dict(problems.items)


def test_fields_carry_type_default_bounds_and_docstring():
    """One declaration gives the type, the Spec and the docstring written after the field."""
    by_key = {f.key: f for f in fields(Sample)}
    assert by_key["name"].required and not by_key["ratio"].required
    assert by_key["ratio"].spec.default == 0.5 and by_key["ratio"].spec.bounds == (0, 1)
    assert by_key["name"].doc == "The name."
    assert by_key["token"].doc == ""


def test_defaults_are_filled_in_nested_sections_too():
    """Absent fields get their default; an absent all-optional section gets its defaults."""
    values, problems = check({"name": "x"})
    assert not problems
    assert values == {"name": "x", "ratio": 0.5, "kinds": ("a",), "token": None,
                      "inner": {"size": 3}}  # fmt: skip


def test_every_problem_is_collected_with_its_path():
    """Type, bound, pattern, choice, uniqueness and unknown-key problems, all at once."""
    _, problems = check({"name": "X1", "ratio": 2, "kinds": ["a", "a"], "inner": {"size": 9},
                         "extra": 1})  # fmt: skip
    assert set(problems) == {"name", "ratio", "kinds", "inner.size", "extra"}
    assert problems["name"] == "must be lowercase letters"
    _, problems = check({"name": "x", "kinds": ["c"], "inner": "big"})
    assert set(problems) == {"kinds", "inner"}


@pytest.mark.parametrize("value", [True, "1"])
def test_numbers_refuse_booleans_and_strings(value):
    """``True`` is an int in Python, but never a valid number argument."""
    assert "ratio" in check({"name": "x", "ratio": value})[1]


def test_a_single_string_is_a_one_item_list():
    """Stack config may write ``kinds: b`` for ``[b]``."""
    values, problems = check({"name": "x", "kinds": "b"})
    assert not problems and values["kinds"] == ("b",)


def test_outputs_pass_only_where_the_type_is_a_pulumi_input():
    """An Output in an Input field is kept as is; elsewhere it is reported, never awaited."""
    token = pulumi.Output.secret("t")
    values, problems = check({"name": "x", "token": token})
    assert not problems and values["token"] is token
    _, problems = check({"name": pulumi.Output.from_input("x")})
    assert problems == {"name": "must be a plain value, known before deployment"}


def test_problems_raise_one_input_properties_error():
    """Every problem goes into one InputPropertiesError, each with its property path."""
    problems = Problems()
    problems.add("a", "bad")
    problems.add("b.c", "worse")
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        problems.raise_if_any("Thing 'x'")
    assert "Thing 'x' has 2 invalid argument(s)" in caught.value.message
    assert [e["property_path"] for e in caught.value.errors or []] == ["a", "b.c"]
