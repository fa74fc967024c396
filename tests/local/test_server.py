"""The runtime's lifecycle side without starting it: what the handlers' environment says,
and the URLs it hands out."""

from __future__ import annotations

from realtime_socket.contract import Env
from realtime_socket.local.model import LocalModel, build
from realtime_socket.local.server import LocalRuntime, RuntimeOptions
from tests.local.gateway.factories import api


class FakeManagement:
    port = 9001


def test_functions_see_local_endpoints_in_place_of_aws():
    """API Gateway URLs of the program's APIs point at the runtime; AWS SDKs at moto."""
    chat = api()
    chat.api_id = "abc123"
    model = LocalModel(apis={"chat": chat}, functions={}, tables=[], parameters=[])
    runtime = LocalRuntime(model, RuntimeOptions(port=8080))
    runtime._management = FakeManagement()  # type: ignore[assignment]
    runtime.aws_endpoint = "http://127.0.0.1:5000"
    env = runtime._function_environment(
        {
            Env.MANAGEMENT_ENDPOINT: "https://abc123.execute-api.eu-west-1.amazonaws.com/live",
            "URL": "wss://abc123.execute-api.eu-west-1.amazonaws.com/live",
            "OTHER": "https://zzz.execute-api.eu-west-1.amazonaws.com/live",
        }
    )
    assert env[Env.MANAGEMENT_ENDPOINT] == "http://127.0.0.1:9001/chat/live"
    assert env["URL"] == "ws://127.0.0.1:8080/chat"
    assert env["OTHER"] == "https://zzz.execute-api.eu-west-1.amazonaws.com/live"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["AWS_ACCESS_KEY_ID"] == "local"
    assert runtime.management_url("chat") == "http://127.0.0.1:9001/chat/live"


def test_dev_warms_what_a_handshake_runs_before_it_serves(chat_recording):
    """``realtime-socket dev`` serves before all its functions are warm, but not before the
    authorizer and ``$connect``: a first client's handshake never waits for a cold start.
    Every other function is warmed after, each once."""
    model = build(chat_recording)
    runtime = LocalRuntime(model, RuntimeOptions(wait_for_prewarm=False))
    # in reverse name order, so that sorting by name would not pass for the split
    runtime.pools = {name: name for name in sorted(model.functions, reverse=True)}  # type: ignore[misc]
    handshake, rest = runtime._handshake_pools()
    connect = model.apis["chat"].routes["$connect"]
    assert connect.authorizer is not None
    assert handshake == [connect.authorizer.function.name, connect.function.name]
    assert sorted([*handshake, *rest]) == sorted(model.functions)
