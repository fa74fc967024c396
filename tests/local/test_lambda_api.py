"""Lambda's Invoke API in the local runtime, as boto3's ``lambda`` client sees it.

The first tests serve :class:`LambdaApi` on the real ``@connections`` server with scripted
pools (no processes); the last ones start a runtime whose program declares a few tiny
functions, and call them the way a handler does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.config import Config

from realtime_socket.local.lambda_api import (
    ASYNC_PAYLOAD_LIMIT,
    FunctionRef,
    LambdaApi,
    parse_function_name,
)
from realtime_socket.local.lambdas import Invocation
from realtime_socket.local.management import ManagementServer
from realtime_socket.local.model import LocalFunction, LocalModel
from realtime_socket.local.server import LocalRuntime, RuntimeOptions
from tests.support.runtime_harness import RunningRuntime

REGION = "us-east-1"
ACCOUNT = "123456789012"
WORKER = "chat-worker-1a2b3c4"  # the scripted function's physical name, Pulumi-style


def lambda_client(endpoint: str) -> Any:
    """boto3's client as a handler builds it, but with the endpoint given and no retries."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
    )


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``check`` until it is truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {check}")
        time.sleep(0.02)
    return value


def function(name: str, physical_name: str, handler: str = "h.handler") -> LocalFunction:
    return LocalFunction(name, physical_name, handler, {}, {}, 3.0, 128)


# -- FunctionName as Lambda reads it ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("my-fn", FunctionRef("my-fn")),
        ("my-fn:$LATEST", FunctionRef("my-fn", qualifier="$LATEST")),
        ("my-fn:live", FunctionRef("my-fn", qualifier="live")),
        (f"{ACCOUNT}:function:my-fn", FunctionRef("my-fn", account=ACCOUNT)),
        (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:my-fn",
            FunctionRef("my-fn", REGION, ACCOUNT),
        ),
        (
            f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:my-fn:$LATEST",
            FunctionRef("my-fn", "eu-west-1", ACCOUNT, "$LATEST"),
        ),
        ("my fn", None),
        ("my-fn/../x", None),
        ("a" * 65, None),
    ],
)
def test_function_names_partial_and_full_arns_are_read_as_lambda_reads_them(value, expected):
    """Name, partial ARN, ARN, each optionally qualified; anything else is no name."""
    assert parse_function_name(value) == expected


# -- the HTTP answers, with scripted pools ---------------------------------------------


class ScriptedPool:
    """A function whose invocations return ``answers`` in turn (the last one repeats);
    ``gate`` (when set) holds each invocation until the test opens it."""

    def __init__(self, *answers: Invocation, gate: threading.Event | None = None) -> None:
        self.answers = list(answers) or [Invocation(result=None)]
        self.gate = gate
        self.events: list[Any] = []

    async def invoke(self, event: Mapping[str, Any]) -> Invocation:
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 10)
        self.events.append(event)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class NoConnections:
    """The ``@connections`` side of the server, unused here."""

    def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> int:
        return 410

    def get_connection(self, namespace: str, stage: str, cid: str) -> None:
        return None

    def delete_connection(self, namespace: str, stage: str, cid: str) -> int:
        return 410


class Served:
    """A LambdaApi mounted on a ManagementServer, on a loop in a thread."""

    def __init__(self, pools: dict[str, ScriptedPool], **options: Any) -> None:
        functions = {name: function(name, f"chat-{name}-1a2b3c4") for name in pools}
        self.log: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.api = LambdaApi(
            functions, pools, region=REGION, account=ACCOUNT, log=self.log.append, **options
        )
        self.server = ManagementServer(NoConnections(), routes=self.api.routes())
        self.call(self.server.start())
        self.client = lambda_client(f"http://127.0.0.1:{self.server.port}")

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def close(self) -> None:
        self.call(self.api.close())
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(pools: dict[str, ScriptedPool], **options: Any) -> Served:
        started.append(Served(pools, **options))
        return started[-1]

    yield start
    for served in started:
        served.close()


def test_a_synchronous_invoke_answers_the_result_with_lambdas_headers(serve):
    """200, the result as the payload, ``$LATEST`` executed; the event is the payload."""
    pool = ScriptedPool(Invocation(result={"sent": 3}))
    served = serve({"worker": pool})
    response = served.client.invoke(FunctionName=WORKER, Payload=b'{"page": 1}')
    assert response["StatusCode"] == 200
    assert json.loads(response["Payload"].read()) == {"sent": 3}
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert pool.events == [{"page": 1}]


def test_a_handler_error_is_200_with_function_error_unhandled(serve):
    """Lambda's error object is the payload; botocore surfaces ``FunctionError``. The log
    line names the error type only, never the message or the payload."""
    error = {"errorType": "KeyError", "errorMessage": "'secret-token'", "stackTrace": ["x"]}
    served = serve({"worker": ScriptedPool(Invocation(error=error))})
    response = served.client.invoke(FunctionName=WORKER, Payload=b'{"t": "tok"}')
    assert (response["StatusCode"], response["FunctionError"]) == (200, "Unhandled")
    assert json.loads(response["Payload"].read()) == error
    assert served.log[-1]["status"] == "error" and served.log[-1]["error"] == "KeyError"
    assert "secret-token" not in json.dumps(served.log) and "tok" not in json.dumps(served.log)


def test_dry_run_is_204_and_runs_nothing(serve):
    pool = ScriptedPool()
    served = serve({"worker": pool})
    response = served.client.invoke(FunctionName=WORKER, InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert pool.events == []


def test_an_empty_payload_is_an_empty_object_and_invalid_json_is_refused(serve):
    """No payload invokes with ``{}``; a body that is not JSON is InvalidRequestContent."""
    pool = ScriptedPool()
    served = serve({"worker": pool})
    served.client.invoke(FunctionName=WORKER)
    with pytest.raises(served.client.exceptions.InvalidRequestContentException):
        served.client.invoke(FunctionName=WORKER, Payload=b"{not json")
    assert pool.events == [{}]


def test_undeclared_names_and_arns_are_not_found(serve):
    """Only declared physical names resolve: not the logical name, not another account's or
    region's function of the same name, not a version or alias; nothing runs."""
    pool = ScriptedPool()
    served = serve({"worker": pool})
    refused = [
        "other-fn",
        "worker",  # the logical name: unknown to Lambda
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other-fn",
        f"arn:aws:lambda:{REGION}:999999999999:function:{WORKER}",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{WORKER}",
        f"{WORKER}:live",
    ]
    for name in refused:
        with pytest.raises(served.client.exceptions.ResourceNotFoundException) as caught:
            served.client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
        assert caught.value.response["Error"]["Message"].startswith("Function not found: arn:")
    assert (pool.events, served.api.counters.accepted) == ([], 0)


def test_a_declared_function_answers_by_arn_partial_arn_and_latest(serve):
    pool = ScriptedPool(Invocation(result="ok"))
    served = serve({"worker": pool})
    names = [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{WORKER}",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{WORKER}:$LATEST",
        f"{ACCOUNT}:function:{WORKER}",
    ]
    for name in names:
        assert served.client.invoke(FunctionName=name)["StatusCode"] == 200
    latest = served.client.invoke(FunctionName=WORKER, Qualifier="$LATEST")
    assert latest["StatusCode"] == 200
    assert len(pool.events) == 4


def test_payload_quotas_are_lambdas(serve):
    """Over 256 KB asynchronous is RequestTooLarge; the same payload synchronous runs."""
    pool = ScriptedPool()
    served = serve({"worker": pool})
    big = json.dumps({"ids": "x" * ASYNC_PAYLOAD_LIMIT}).encode()
    with pytest.raises(served.client.exceptions.RequestTooLargeException):
        served.client.invoke(FunctionName=WORKER, InvocationType="Event", Payload=big)
    assert served.client.invoke(FunctionName=WORKER, Payload=big)["StatusCode"] == 200
    assert served.api.counters.accepted == 0 and len(pool.events) == 1


def test_an_event_is_accepted_before_it_runs(serve):
    """202 while the function is still held; once released it runs, and is counted."""
    gate = threading.Event()
    pool = ScriptedPool(gate=gate)
    served = serve({"worker": pool})
    response = served.client.invoke(
        FunctionName=WORKER, InvocationType="Event", Payload=b'{"page": 2}'
    )
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    assert pool.events == [] and served.api.pending == 1
    gate.set()
    wait_for(lambda: served.api.counters.succeeded == 1)
    assert pool.events == [{"page": 2}]
    assert served.log[-1]["status"] == "ok" and served.log[-1]["attempts"] == 1


def test_a_failing_event_is_retried_twice_then_counted_and_logged_once(serve):
    error = Invocation(error={"errorType": "RuntimeError", "errorMessage": "data: secret"})
    pool = ScriptedPool(error)
    served = serve({"worker": pool}, retry_delays=(0.01, 0.01))
    served.client.invoke(FunctionName=WORKER, InvocationType="Event", Payload=b"7")
    wait_for(lambda: served.api.counters.failures == 1)
    assert pool.events == [7, 7, 7]
    counters = served.api.counters
    assert (counters.attempts, counters.retries, counters.succeeded) == (3, 2, 0)
    assert len(served.log) == 1
    line = served.log[0]
    assert (line["status"], line["attempts"], line["error"]) == ("failed", 3, "RuntimeError")
    assert "secret" not in json.dumps(line)


def test_a_retry_that_succeeds_ends_the_retries(serve):
    fail = Invocation(error={"errorType": "Sandbox.Timedout", "errorMessage": "timed out"})
    pool = ScriptedPool(fail, Invocation(result=None))
    served = serve({"worker": pool}, retry_delays=(0.01, 0.01))
    served.client.invoke(FunctionName=WORKER, InvocationType="Event")
    wait_for(lambda: served.api.counters.succeeded == 1)
    assert (served.api.counters.attempts, served.api.counters.failures) == (2, 0)


def test_close_cancels_invocations_waiting_to_retry(serve):
    """A retry a minute away does not hold up the runtime's stop, nor outlive it."""
    pool = ScriptedPool(Invocation(error={"errorType": "E", "errorMessage": ""}))
    served = serve({"worker": pool}, retry_delays=(60.0, 60.0))
    served.client.invoke(FunctionName=WORKER, InvocationType="Event")
    wait_for(lambda: served.api.counters.attempts == 1)
    started = time.monotonic()
    served.call(served.api.close())
    assert time.monotonic() - started < 1
    assert served.api.pending == 0 and served.api.counters.failures == 0
    with pytest.raises(served.client.exceptions.ServiceException):
        served.client.invoke(FunctionName=WORKER, InvocationType="Event")


# -- the runtime's wiring, without starting it -----------------------------------------


class FakeManagement:
    port = 9001


def test_functions_are_told_the_local_invoke_endpoint():
    """Every function's environment points Lambda's SDK client at the management port."""
    model = LocalModel(apis={}, functions={}, tables=[], parameters=[])
    runtime = LocalRuntime(model, RuntimeOptions(port=8080))
    runtime._management = FakeManagement()  # type: ignore[assignment]
    runtime.aws_endpoint = "http://127.0.0.1:5000"
    env = runtime._function_environment({})
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == "http://127.0.0.1:9001"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert runtime.endpoints()["lambda_endpoint"] == "http://127.0.0.1:9001"


def test_botocore_prefers_the_lambda_endpoint_to_the_general_one(monkeypatch):
    """The handlers' boto3 clients take no endpoint_url: the variables decide."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001")
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
    )
    assert session.client("lambda").meta.endpoint_url == "http://127.0.0.1:9001"
    assert session.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:5000"


# -- through a running runtime ---------------------------------------------------------

HANDLERS = '''
import json
import os
import time
from pathlib import Path

import boto3


def echo(event, context):
    return {"event": event, "name": context.function_name}


def gated(event, context):
    """Wait for the test to open the gate, then leave a mark."""
    deadline = time.time() + 8
    while not Path(event["gate"]).exists() and time.time() < deadline:
        time.sleep(0.01)
    Path(event["done"]).write_text("done")


def boom(event, context):
    with open(event["attempts"], "a") as attempts:
        attempts.write("attempt\\n")
    raise RuntimeError("boom")


def relay(event, context):
    """Hand the event to another function as a handler does: no endpoint_url."""
    answer = boto3.client("lambda").invoke(
        FunctionName=event["target"], Payload=json.dumps(event["payload"]).encode()
    )
    return {
        "endpoint": os.environ["AWS_ENDPOINT_URL_LAMBDA"],
        "answer": json.loads(answer["Payload"].read()),
    }
'''


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Iterator[RunningRuntime]:
    """A runtime whose program declares four functions of one tiny module."""
    folder = tmp_path_factory.mktemp("lambda_api")
    (folder / "handlers.py").write_text(HANDLERS)
    files = {"handlers.py": folder / "handlers.py"}
    functions = {
        name: LocalFunction(
            f"{name}-fn", f"test-{name}-fn-1a2b3c4", f"handlers.{name}", files, {}, 10.0, 128
        )
        for name in ("echo", "gated", "boom", "relay")
    }
    model = LocalModel(
        apis={}, functions={f.name: f for f in functions.values()}, tables=[], parameters=[]
    )
    with (folder / "handlers.log").open("w") as output:
        running = RunningRuntime(
            model, handler_output=output, max_workers=2, async_retry_delays=(0.05, 0.05)
        )
        try:
            yield running
        finally:
            running.close()


@pytest.fixture
def client(runtime: RunningRuntime) -> Any:
    return lambda_client(runtime.runtime.endpoints()["lambda_endpoint"])


def test_the_runtime_invokes_a_declared_function_synchronously(runtime, client):
    response = client.invoke(FunctionName="test-echo-fn-1a2b3c4", Payload=b'{"n": 1}')
    assert response["StatusCode"] == 200
    assert json.loads(response["Payload"].read()) == {
        "event": {"n": 1},
        "name": "test-echo-fn-1a2b3c4",
    }


def test_the_runtime_answers_202_before_the_event_runs_and_then_runs_it(runtime, client, tmp_path):
    gate, done = tmp_path / "gate", tmp_path / "done"
    event = {"gate": str(gate), "done": str(done)}
    response = client.invoke(
        FunctionName="test-gated-fn-1a2b3c4", InvocationType="Event", Payload=json.dumps(event)
    )
    assert response["StatusCode"] == 202
    assert not done.exists()
    gate.touch()
    wait_for(done.exists)


def test_the_runtime_retries_a_failing_event_three_attempts_in_all(runtime, client, tmp_path):
    attempts = tmp_path / "attempts"
    counters = runtime.runtime.lambda_api.counters
    failures = counters.failures
    client.invoke(
        FunctionName="test-boom-fn-1a2b3c4",
        InvocationType="Event",
        Payload=json.dumps({"attempts": str(attempts)}),
    )
    wait_for(lambda: counters.failures == failures + 1, timeout=30)
    assert attempts.read_text().splitlines() == ["attempt"] * 3
    failed = [e for e in runtime.events if e.get("status") == "failed"]
    assert failed[-1]["route"] == "test-boom-fn-1a2b3c4" and failed[-1]["attempts"] == 3


def test_the_runtime_refuses_functions_the_program_does_not_declare(runtime, client):
    """The security property: Invoke runs declared functions only, by name or by ARN."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    for name in ("not-declared", f"{arn}not-declared", "echo-fn"):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.invoke(FunctionName=name, Payload=b"{}")
    assert client.invoke(FunctionName=f"{arn}test-echo-fn-1a2b3c4")["StatusCode"] == 200


def test_the_runtime_refuses_an_async_payload_over_256_kb(runtime, client):
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(
            FunctionName="test-echo-fn-1a2b3c4",
            InvocationType="Event",
            Payload=json.dumps("x" * ASYNC_PAYLOAD_LIMIT),
        )


def test_a_function_process_reaches_the_invoke_api_through_its_environment(runtime, client):
    """AWS_ENDPOINT_URL_LAMBDA is in every pool's environment, with the real port, and a
    handler's own boto3 client (no endpoint_url) invokes another declared function."""
    endpoint = runtime.runtime.endpoints()["lambda_endpoint"]
    assert endpoint == f"http://127.0.0.1:{runtime.runtime.management_port}"
    for pool in runtime.runtime.pools.values():
        assert pool.environment["AWS_ENDPOINT_URL_LAMBDA"] == endpoint
    event = {"target": "test-echo-fn-1a2b3c4", "payload": {"page": 3}}
    response = client.invoke(FunctionName="test-relay-fn-1a2b3c4", Payload=json.dumps(event))
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "endpoint": endpoint,
        "answer": {"event": {"page": 3}, "name": "test-echo-fn-1a2b3c4"},
    }


def test_stopping_the_runtime_leaves_no_invocation_behind(tmp_path):
    """An event waiting to retry is cancelled and awaited by ``stop``, quickly."""
    (tmp_path / "handlers.py").write_text(HANDLERS)
    boom = LocalFunction(
        "boom-fn", "test-boom-fn-1a2b3c4", "handlers.boom",
        {"handlers.py": tmp_path / "handlers.py"}, {}, 10.0, 128,
    )  # fmt: skip
    model = LocalModel(apis={}, functions={"boom-fn": boom}, tables=[], parameters=[])
    running = RunningRuntime(model, async_retry_delays=(60.0, 60.0))
    try:
        api = running.runtime.lambda_api
        lambda_client(running.runtime.lambda_endpoint).invoke(
            FunctionName="test-boom-fn-1a2b3c4",
            InvocationType="Event",
            Payload=json.dumps({"attempts": str(tmp_path / "attempts")}),
        )
        wait_for(lambda: api.counters.attempts == 1 and api.counters.retries == 0, timeout=30)
        assert api.pending == 1
    finally:
        started = time.monotonic()
        running.close()
    assert time.monotonic() - started < 10
    assert api.pending == 0
