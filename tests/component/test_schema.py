"""The multi-language schema: inferred in-process, committed, complete, and what examples use.

Other languages see ``RealtimeSocket`` only through the schema Pulumi's component analyzer
infers (``realtime_socket.provider``), so every argument of the declaration must be in it
with its type, requiredness and doc, and the committed schema.json must be the inferred one.
"""

from __future__ import annotations

import collections.abc
import difflib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case

from realtime_socket.component.args import RealtimeSocketArgs
from realtime_socket.component.socket import TYPE_TOKEN, RealtimeSocket
from realtime_socket.component.spec import accepts_output, fields, is_section
from realtime_socket.provider import NAME, REGENERATE, schema

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool}


@pytest.fixture(scope="module")
def inferred() -> dict[str, Any]:
    """The schema as the provider serves it to ``pulumi package add``."""
    result: dict[str, Any] = json.loads(schema())
    return result


def _token(section: type) -> str:
    return f"{NAME}:index:{section.__name__}"


def _object(inferred: dict[str, Any], section: type) -> tuple[dict[str, Any], list[str]]:
    """(properties, required) of the component's inputs or of a section's type."""
    if section is RealtimeSocketArgs:
        resource = inferred["resources"][TYPE_TOKEN]
        return resource["inputProperties"], resource.get("requiredInputs", [])
    declared = inferred["types"][_token(section)]
    return declared["properties"], declared.get("required", [])


def _sections(section: type = RealtimeSocketArgs) -> list[type]:
    """Every TypedDict of the declaration, the top one first."""
    found = [section]
    for field in fields(section):
        for tp in (field.type, *get_args(field.type)):
            if is_section(tp) and tp not in found:
                found += [s for s in _sections(tp) if s not in found]
    return found


def _declared_shape(tp: Any) -> dict[str, Any]:
    """What the schema must say of a declared type: Pulumi's type, and ``plain`` unless an
    Output may flow in (``pulumi.Input``)."""
    if accepts_output(tp):
        wrappers = (pulumi.Output, collections.abc.Awaitable)
        plain = next(m for m in get_args(tp) if get_origin(m) not in wrappers)
        return {**_declared_shape(plain), "plain": False}
    origin = get_origin(tp)
    if is_section(tp):
        return {"$ref": f"#/types/{_token(tp)}", "plain": True}
    if origin is Literal:
        return _declared_shape(type(get_args(tp)[0]))
    if origin in (typing.Union, types.UnionType):  # str | list[str]: other languages send lists
        return _declared_shape(next(m for m in get_args(tp) if get_origin(m) is list))
    if origin is list:
        return {"type": "array", "items": _declared_shape(get_args(tp)[0]), "plain": True}
    if origin is dict:
        value = _declared_shape(get_args(tp)[1])
        return {"type": "object", "additionalProperties": value, "plain": True}
    names = {v: k for k, v in PACKAGE_TYPES.items()}
    return {"type": names[tp], "plain": True}


def _schema_shape(prop: dict[str, Any]) -> dict[str, Any]:
    shape: dict[str, Any] = {"plain": bool(prop.get("plain"))}
    for key in ("type", "$ref"):
        if key in prop:
            shape[key] = prop[key]
    for key in ("items", "additionalProperties"):
        if key in prop:
            shape[key] = _schema_shape(prop[key])
    return shape


def _words(text: str) -> str:
    return " ".join(text.replace("``", "`").split())


def test_committed_schema_is_the_inferred_one() -> None:
    """GIVEN the declaration WHEN the schema is inferred THEN schema.json holds exactly it."""
    committed = (ROOT / "schema.json").read_text()
    fresh = schema()
    if committed != fresh:
        diff = "".join(
            list(difflib.unified_diff(
                committed.splitlines(keepends=True), fresh.splitlines(keepends=True),
                "schema.json (committed)", "schema.json (inferred)",
            ))[:40]
        )  # fmt: skip
        pytest.fail(f"schema.json is stale; regenerate it with\n    {REGENERATE}\n{diff}")


def test_pulumis_own_analyzer_reads_the_component(inferred: dict[str, Any]) -> None:
    """``ComponentProvider([RealtimeSocket])``, as ``component_provider_host`` builds it,
    infers the same inputs and outputs (it used to fail on string annotations)."""
    upstream = json.loads(ComponentProvider([RealtimeSocket], NAME, version="0.1.0").schema or "")
    ours, theirs = inferred["resources"][TYPE_TOKEN], upstream["resources"][TYPE_TOKEN]
    for key in ("inputProperties", "requiredInputs", "properties", "required"):
        assert set(theirs[key]) == set(ours[key]), key
    assert set(upstream["types"]) == set(inferred["types"])


def test_schema_has_one_component_and_a_type_per_section(inferred: dict[str, Any]) -> None:
    """The component is the only resource; each nested section is one object type."""
    assert list(inferred["resources"]) == [TYPE_TOKEN]
    assert inferred["resources"][TYPE_TOKEN]["isComponent"] is True
    sections = _sections()[1:]
    assert len(sections) == 12
    assert set(inferred["types"]) == {_token(s) for s in sections}
    assert inferred["name"] == NAME


@pytest.mark.parametrize("section", _sections(), ids=lambda s: s.__name__)
def test_every_argument_has_its_type_requiredness_and_doc(
    inferred: dict[str, Any], section: type
) -> None:
    """Every declared field, and nothing else, is a property of the same shape and doc."""
    properties, required = _object(inferred, section)
    declared = {camel_case(f.key): f for f in fields(section)}
    assert set(properties) == set(declared)
    assert set(required) == {key for key, f in declared.items() if f.required}
    for key, field in declared.items():
        prop = properties[key]
        assert _schema_shape(prop) == _declared_shape(field.type), key
        assert field.doc, f"{section.__name__}.{field.key} has no doc"
        assert _words(prop["description"]) == _words(field.doc), key
    if section is not RealtimeSocketArgs:
        assert inferred["types"][_token(section)]["description"]


def test_jwt_secret_is_an_input_not_a_plain_value(inferred: dict[str, Any]) -> None:
    """Other languages may pass a secret Output for jwt.secret (a plain field could not)."""
    secret = inferred["types"][_token(fields(RealtimeSocketArgs)[0].type)]["properties"]["secret"]
    assert secret["type"] == "string"
    assert "plain" not in secret


def test_every_output_is_in_the_schema_with_a_doc(inferred: dict[str, Any]) -> None:
    """Each annotated attribute of RealtimeSocket is an output; only None-able ones optional."""
    resource = inferred["resources"][TYPE_TOKEN]
    outputs = {k: v for k, v in RealtimeSocket.__annotations__.items() if not k.startswith("_")}
    assert len(outputs) == 12
    assert set(resource["properties"]) == {camel_case(k) for k in outputs}
    optional = {
        camel_case(k)
        for k, tp in outputs.items()
        if type(None) in get_args(get_args(tp)[0] if get_origin(tp) is pulumi.Output else tp)
    }
    assert optional == {"customUrl", "alarmTopicArn"}
    assert set(resource["required"]) == set(resource["properties"]) - optional
    for key, prop in resource["properties"].items():
        assert prop.get("description"), f"output {key} has no doc"
        assert "``" not in prop["description"]


def _check_properties(
    inferred: dict[str, Any], values: dict[str, Any], section: type, path: str
) -> list[str]:
    """Property names in ``values`` the schema does not have, and required ones missing."""
    properties, required = _object(inferred, section)
    by_key = {camel_case(f.key): f for f in fields(section)}
    problems = [f"{path}{key}: missing" for key in required if key not in values]
    for key, value in values.items():
        if key not in properties:
            problems.append(f"{path}{key}: not in the schema")
            continue
        field_type = by_key[key].type
        if is_section(field_type):
            problems += _check_properties(inferred, value, field_type, f"{path}{key}.")
        elif get_origin(field_type) is dict and is_section(get_args(field_type)[1]):
            for entry, spec in value.items():
                inner = f"{path}{key}.{entry}."
                problems += _check_properties(inferred, spec, get_args(field_type)[1], inner)
    return problems


def test_yaml_example_names_only_properties_of_the_schema(inferred: dict[str, Any]) -> None:
    """examples/yaml uses the component with inputs and outputs the schema has."""
    text = (ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text()
    program = yaml.safe_load(text)
    assert program["runtime"] == "yaml"
    tokens = {TYPE_TOKEN, TYPE_TOKEN.replace(":index:", ":")}
    sockets = {n: r for n, r in program["resources"].items() if r["type"] in tokens}
    assert sockets, "the example declares no RealtimeSocket"
    for name, resource in sockets.items():
        assert _check_properties(inferred, resource["properties"], RealtimeSocketArgs, "") == []
        used = re.findall(rf"\$\{{{re.escape(name)}\.(\w+)\}}", text)
        assert used, "the example exports no output of the socket"
        assert set(used) <= set(inferred["resources"][TYPE_TOKEN]["properties"])


def test_typescript_example_names_only_properties_of_the_schema(
    inferred: dict[str, Any],
) -> None:
    """examples/typescript's program spells arguments and outputs as the schema does (keys
    of its object literals, ``.name`` reads of the socket)."""
    source = (ROOT / "examples" / "typescript" / "index.ts").read_text()
    known = {"realtimeSocket", "RealtimeSocket", "pulumi", "Config", "requireSecret"}
    for section in _sections():
        known |= set(_object(inferred, section)[0])
    known |= set(inferred["resources"][TYPE_TOKEN]["properties"])
    keys = set(re.findall(r"^\s*(\w+):", source, re.MULTILINE))
    reads = set(re.findall(r"\bchat\.(\w+)", source))
    assert keys and reads
    assert keys - known == set()
    assert reads <= set(inferred["resources"][TYPE_TOKEN]["properties"])
