"""Local runtime rules that need their own program or runtime: throttling, freezing,
code reloading, and the wiring AWS would reject."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime_socket import RealtimeSocket
from realtime_socket.local.model import WiringError
from tests.support.helpers import jwt_args
from tests.support.runtime_harness import PROBE_CODE, PROBE_ROUTES, RunningRuntime, model_of


def test_stage_throttling_is_enforced_for_connects_and_messages():
    def program() -> None:
        RealtimeSocket(
            "chat",
            {"jwt": jwt_args(), "throttling": {"burst_limit": 4, "rate_limit": 1}},  # type: ignore[typeddict-item]
        )
        pulumi.export("ok", True)

    rt = RunningRuntime(model_of(program))
    try:
        with connect(rt.url()) as ws:  # 1 token
            ws.send(json.dumps({"action": "ping"}))  # 2
            ws.send(json.dumps({"action": "ping"}))  # 3
            ws.send(json.dumps({"action": "ping"}))  # 4
            ws.send(json.dumps({"action": "ping"}))  # throttled
            answers = [json.loads(ws.recv(timeout=10)) for _ in range(4)]
            assert answers.count({"type": "pong"}) == 3
            assert {"message": "Too Many Requests"}.items() <= answers[-1].items()
            with pytest.raises(InvalidStatus) as refused:
                connect(rt.url())
            assert refused.value.response.status_code == 429
            rt.clock.advance(2)  # the bucket refills at 1 request per second
            ws.send(json.dumps({"action": "ping"}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
    finally:
        rt.close()


def _probe_program(code: str) -> None:
    routes = {"forget": {**PROBE_ROUTES["forget"], "code": code},
              "version": {"handler": "probe.version", "code": code, "reply": True}}  # fmt: skip
    RealtimeSocket("chat", {"jwt": jwt_args(), "routes": routes})  # type: ignore[typeddict-item]
    pulumi.export("ok", True)


@pytest.fixture
def probe_copy(tmp_path) -> Path:
    target = tmp_path / "code"
    shutil.copytree(PROBE_CODE, target)
    return target


def test_without_the_freeze_the_late_post_would_arrive(probe_copy):
    """Control for the freeze test in test_runtime_e2e: the same handler, not frozen."""
    rt = RunningRuntime(model_of(lambda: _probe_program(str(probe_copy))), freeze=False)
    try:
        with connect(rt.url()) as ws:
            ws.send(json.dumps({"action": "forget"}))
            assert json.loads(ws.recv(timeout=5)) == {"type": "late"}
    finally:
        rt.close()


def test_handler_code_changes_are_picked_up_without_restart(probe_copy):
    rt = RunningRuntime(model_of(lambda: _probe_program(str(probe_copy))))
    try:
        with connect(rt.url()) as ws:
            ws.send(json.dumps({"action": "version"}))
            assert json.loads(ws.recv(timeout=10)) == {"version": 1}
            source = probe_copy / "probe.py"
            source.write_text(source.read_text().replace('{"version": 1}', '{"version": 2}'))
            time.sleep(0.3)  # the pool checks sources at most every 0.25 s
            ws.send(json.dumps({"action": "version"}))
            assert json.loads(ws.recv(timeout=10)) == {"version": 2}
    finally:
        rt.close()


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
