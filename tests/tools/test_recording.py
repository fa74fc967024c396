"""The offline engine: a Pulumi program run under mocks that answer like AWS, recorded."""

from __future__ import annotations

import sys

import pulumi
import pulumi_aws as aws
import pytest

from realtime_socket.tools.recording import RecordedResource, Recording, evaluate


class Part(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Part", name, None, opts)
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=f"{name}-connections",
            attributes=[{"name": "id", "type": "S"}],
            hash_key="id",
            billing_mode="PAY_PER_REQUEST",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


def test_each_resource_is_recorded_with_parent_dependencies_and_aws_shaped_outputs():
    """Children point at their component; top-level ones at nothing; ARNs are AWS's shape."""

    def program() -> None:
        first = Part("one")
        Part("two", pulumi.ResourceOptions(depends_on=[first]))

    rec = evaluate(program, project="proj", stack="test", region="eu-west-1")
    one, two = rec.of_type("test:index:Part")
    assert (one.parent, one.custom) == ("", False)
    table = rec.named("one-table")
    assert table.parent == one.urn and table.custom
    assert table.id == "one-connections"
    assert table.outputs["arn"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/one-connections"
    assert table.get("hashKey") == "id" and table.get("arn") == table.outputs["arn"]
    assert two.dependencies == (table.urn,)  # depending on a component: on its children
    assert rec.by_urn(table.urn) is table


def test_config_reaches_the_program_and_its_exports_are_recorded():
    """``project:key`` config is what ``pulumi.Config`` reads; secret keys stay readable."""

    def program() -> None:
        config = pulumi.Config()
        pulumi.export("greeting", config.require("greeting"))
        pulumi.export("token", config.require_secret("token"))

    rec = evaluate(
        program,
        project="proj",
        stack="test",
        config={"proj:greeting": "hello", "proj:token": "t0k"},
        secret_keys=["proj:token"],
    )
    assert rec.exports == {"greeting": "hello", "token": "t0k"}
    assert rec.resources == []


def test_a_program_file_runs_as_main_with_its_folder_importable(tmp_path):
    """A ``__main__.py`` imports its sibling modules, and ``sys.path`` is restored after."""
    (tmp_path / "sibling.py").write_text("VALUE = 42\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\nimport sibling\n\n"
        "if __name__ == '__main__':\n    pulumi.export('value', sibling.VALUE)\n"
    )
    before = list(sys.path)
    rec = evaluate(tmp_path / "__main__.py", project="proj", stack="test")
    assert rec.exports == {"value": 42}
    assert sys.path == before
    sys.modules.pop("sibling", None)


def test_what_the_program_raises_reaches_the_caller_unchanged():
    """Validation errors are the program's own exceptions, not an engine failure."""

    class Refused(ValueError):
        pass

    def program() -> None:
        raise Refused("namespaces: must not be empty")

    with pytest.raises(Refused, match="must not be empty"):
        evaluate(program, project="proj", stack="test")


def test_named_finds_exactly_one_resource_or_says_how_many():
    """A missing name and a name used twice are both KeyErrors with the count."""
    twin = RecordedResource("urn:a", "t", "twin", "1", {}, {})
    rec = Recording([twin, RecordedResource("urn:b", "t", "twin", "2", {}, {})])
    with pytest.raises(KeyError, match="2 resources named 'twin'"):
        rec.named("twin")
    with pytest.raises(KeyError, match="0 resources named 'nobody'"):
        rec.named("nobody")
    with pytest.raises(KeyError):
        rec.by_urn("urn:c")
