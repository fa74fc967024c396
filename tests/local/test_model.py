"""What the local runtime serves, read from a recording: APIs, routes, authorizers and
the wiring AWS would reject (each refused with the resource named)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from realtime_socket.local.model import WiringError, build, declared_parameters, unsecret
from tests.support.runtime_harness import model_of

_SECRET = "4dabf18193072939515e22adb298388d"


# -- wiring AWS would reject --------------------------------------------------------------


def _bare_api(extra) -> None:
    """A hand-wired WebSocket API (no component), so each test can break one link."""
    role = aws.iam.Role("role", assume_role_policy="{}")
    fn = aws.lambda_.Function(
        "fn", role=role.arn, runtime="python3.12", handler="realtime_socket.handlers.ping.handler",
        code=pulumi.AssetArchive({}),
    )  # fmt: skip
    api = aws.apigatewayv2.Api(
        "api", protocol_type="WEBSOCKET", route_selection_expression="$request.body.action"
    )
    integration = aws.apigatewayv2.Integration(
        "integration", api_id=api.id, integration_type="AWS_PROXY", integration_uri=fn.invoke_arn
    )
    aws.apigatewayv2.Stage("stage", api_id=api.id, name="live")
    extra(api, fn, integration)
    pulumi.export("ok", True)


def test_route_without_a_permission_is_refused():
    def wiring(api, fn, integration):
        aws.apigatewayv2.Route(
            "ping-route", api_id=api.id, route_key="ping",
            target=integration.id.apply(lambda i: f"integrations/{i}"),
        )  # fmt: skip

    with pytest.raises(WiringError, match="function fn has no lambda:InvokeFunction permission"):
        model_of(lambda: _bare_api(wiring))


def test_route_targeting_a_missing_integration_is_refused():
    def wiring(api, fn, integration):
        aws.apigatewayv2.Route(
            "ping-route", api_id=api.id, route_key="ping", target="integrations/nope"
        )

    with pytest.raises(WiringError, match=r"route ping-route .* targets 'integrations/nope'"):
        model_of(lambda: _bare_api(wiring))


def test_authorizer_on_a_message_route_is_refused():
    def wiring(api, fn, integration):
        authorizer = aws.apigatewayv2.Authorizer(
            "auth", api_id=api.id, authorizer_type="REQUEST", authorizer_uri=fn.invoke_arn,
            identity_sources=["route.request.header.Authorization"],
        )  # fmt: skip
        aws.apigatewayv2.Route(
            "ping-route", api_id=api.id, route_key="ping", authorization_type="CUSTOM",
            authorizer_id=authorizer.id,
            target=integration.id.apply(lambda i: f"integrations/{i}"),
        )  # fmt: skip
        aws.lambda_.Permission(
            "perm", function=fn.name, action="lambda:InvokeFunction",
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda a: f"{a}/*"),
        )  # fmt: skip

    with pytest.raises(WiringError, match=r"route ping-route .ping. has an authorizer"):
        model_of(lambda: _bare_api(wiring))


def test_correct_hand_wiring_is_accepted():
    def wiring(api, fn, integration):
        aws.apigatewayv2.Route(
            "ping-route", api_id=api.id, route_key="ping",
            target=integration.id.apply(lambda i: f"integrations/{i}"),
        )  # fmt: skip
        aws.lambda_.Permission(
            "perm", function=fn.name, action="lambda:InvokeFunction",
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda a: f"{a}/*/ping"),
        )  # fmt: skip

    model = model_of(lambda: _bare_api(wiring))
    assert list(model.apis["api"].routes) == ["ping"]


def test_the_component_is_read_as_declared(chat_recording):
    """Routes with their functions, route responses, the $connect authorizer, the stage."""
    api = build(chat_recording).apis["chat"]
    assert {"$connect", "$disconnect", "$default", "sendmessage", "ping"} <= set(api.routes)
    assert api.routes["ping"].reply and not api.routes["sendmessage"].reply
    assert api.connect_authorizer is not None
    assert api.connect_authorizer.identity_sources
    assert (api.stage, api.route_selection_expression) == ("live", "$request.body.action")


def test_secrets_are_unwrapped_recursively():
    """Pulumi's secret envelope disappears at any depth."""
    wrapped = {"a": {_SECRET: "1", "value": [{_SECRET: "1", "value": "s"}]}, "b": 2}
    assert unsecret(wrapped) == {"a": ["s"], "b": 2}


def test_declared_parameters_by_name(chat_recording):
    """The program's SSM parameters, name to readable value."""
    (value,) = declared_parameters(build(chat_recording)).values()
    assert value == "s" * 48
