"""RealtimeSocket built as another language builds it: through the provider's ``construct``.

A TypeScript, Go or YAML program sends the component's inputs over gRPC as camelCase plain
values; the provider (``realtime_socket.provider``) maps them back to the Python argument
names and runs the same constructor. These tests feed wire-format inputs through the
server's own deserialization (``ProviderServicer._construct_inputs``) and construct under
the offline recorder's mocks, so no Pulumi CLI is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from google.protobuf import struct_pb2
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from realtime_socket.component.socket import TYPE_TOKEN, RealtimeSocket
from realtime_socket.provider import RealtimeSocketProvider
from realtime_socket.tools.recording import Recording, evaluate
from tests.support.helpers import AUDIENCE, ISSUER, SECRET

SIG, SECRET_SIG = rpc._special_sig_key, rpc._special_secret_sig
Wire = Callable[[str], dict[str, Any]]


def output_value(value: str) -> dict[str, Any]:
    """A secret as SDKs that send output values send it (TypeScript's requireSecret)."""
    return {SIG: rpc._special_output_value_sig, "value": value, "secret": True}


def envelope(value: str) -> dict[str, Any]:
    """A secret in the plain secret envelope, which makes its whole object secret."""
    return {SIG: SECRET_SIG, "value": value}


@pytest.fixture(scope="module")
def provider() -> RealtimeSocketProvider:
    return RealtimeSocketProvider()


def construct(
    provider: RealtimeSocketProvider, wire: dict[str, Any], name: str = "chat"
) -> Recording:
    """Evaluate one construct call of ``wire`` inputs; its state is exported."""

    def program() -> None:
        struct = struct_pb2.Struct()
        struct.update(wire)
        inputs = _sync_await(ProviderServicer._construct_inputs(struct, {}))
        result = provider.construct(name, TYPE_TOKEN, inputs, pulumi.ResourceOptions())
        for key, value in result.state.items():
            pulumi.export(key, value)

    return evaluate(program, project="realtime-socket", stack="test")


def wire_args(secret: Wire = output_value, **more: Any) -> dict[str, Any]:
    return {"jwt": {"issuer": ISSUER, "audience": [AUDIENCE], "secret": secret(SECRET)}, **more}


def python_args(**more: Any) -> dict[str, Any]:
    jwt = {"issuer": ISSUER, "audience": [AUDIENCE], "secret": pulumi.Output.secret(SECRET)}
    return {"jwt": jwt, **more}


def declared(recording: Recording) -> list[tuple[str, str, str, str]]:
    """Each resource as (type, name, parent, inputs), sorted: registration order follows
    when Outputs resolve, not the program. A code archive counts by its kind only."""
    return sorted(
        (r.type, r.name, r.parent, json.dumps(r.inputs, sort_keys=True, default=_kind))
        for r in recording.resources
    )


def _kind(value: object) -> str:
    return f"<{type(value).__name__}>"


def test_construct_declares_what_the_python_constructor_declares(provider):
    """GIVEN the same arguments WHEN built from the wire or in Python THEN the same
    resources, with the same parents and inputs."""
    extra_wire = {"throttling": {"burstLimit": 200, "rateLimit": 500}, "loggingLevel": "OFF"}
    extra_python = {"throttling": {"burst_limit": 200, "rate_limit": 500}, "logging_level": "OFF"}
    from_wire = construct(provider, wire_args(**extra_wire))
    from_python = evaluate(
        lambda: RealtimeSocket("chat", python_args(**extra_python)),  # type: ignore[arg-type]
        project="realtime-socket",
        stack="test",
    )
    assert len(from_wire.resources) > 50
    assert declared(from_wire) == declared(from_python)


@pytest.mark.parametrize("secret", [output_value, envelope], ids=["output-value", "envelope"])
def test_jwt_secret_from_another_language_stays_secret(provider, secret: Wire):
    """jwt.secret reaches SSM as a secret, and appears nowhere else, in either wire form."""
    recording = construct(provider, wire_args(secret))
    parameter = recording.named("chat-jwt-secret")
    assert parameter.inputs["value"] == {SIG: SECRET_SIG, "value": SECRET}
    others = [r for r in recording.resources if r is not parameter]
    assert all(SECRET not in json.dumps(r.inputs, default=_kind) for r in others)
    assert recording.named("chat-authorizer").type == "aws:apigatewayv2/authorizer:Authorizer"


def test_camel_case_and_wire_numbers_reach_the_component(provider):
    """Nested camelCase names map to the declaration's, and integers sent as doubles are
    integers again (a Lambda's memory size must be one)."""
    route = {"handler": "realtime_socket.handlers.ping.handler", "permissions": ["read"]}
    recording = construct(
        provider,
        wire_args(
            throttling={"burstLimit": 200, "rateLimit": 500},
            functions={"memoryMb": 512},
            routes={"echo": route},
            history={"retentionSeconds": 60},
        ),
    )
    settings = recording.named("chat-stage").inputs["defaultRouteSettings"]
    assert (settings["throttlingBurstLimit"], settings["throttlingRateLimit"]) == (200, 500)
    functions = recording.of_type("aws:lambda/function:Function")
    assert functions
    assert all(f.inputs["memorySize"] == 512 for f in functions)
    keys = {r.inputs["routeKey"] for r in recording.of_type("aws:apigatewayv2/route:Route")}
    assert "echo" in keys
    assert recording.exports["historyRetentionSeconds"] == 60


def test_construct_state_is_every_schema_output(provider):
    """The state sent back to the other language holds every output, by its schema name."""
    schema = json.loads(provider.schema or "{}")
    outputs = set(schema["resources"][TYPE_TOKEN]["properties"])
    recording = construct(provider, wire_args())
    assert set(recording.exports) == outputs
    assert recording.exports["url"].startswith("wss://")
    assert recording.exports["customUrl"] is None


def test_invalid_wire_args_are_reported_per_property(provider):
    """Every problem comes back as one InputPropertiesError, as from Python, not as a
    stack trace of the provider."""
    wire = wire_args(stageName="not a stage", functions={"memoryMb": 1})
    with pytest.raises(pulumi.InputPropertiesError) as error:
        construct(provider, wire)
    paths = {e["property_path"] for e in error.value.errors}
    assert paths == {"stage_name", "functions.memory_mb"}


def test_missing_required_argument_names_it(provider):
    """A program that omits jwt learns which input is missing before anything is made."""
    with pytest.raises(pulumi.InputPropertyError) as error:
        construct(provider, {"stageName": "live"})
    assert error.value.property_path == "jwt"
