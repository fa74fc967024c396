"""``Function``: each Lambda function with its own role, inline policy and log group."""

from __future__ import annotations

import json

from tests.support.helpers import evaluate_socket
from tests.support.recorded_socket import ROUTES


def test_each_function_part_holds_its_function_role_policy_and_logs(chat_recording):
    """A Function component owns exactly one function, role, inline policy and log group."""
    rec = chat_recording
    for role in [*ROUTES.values(), "authorizer"]:
        part = rec.named(f"chat-{role}-function")
        owned = sorted(r.name for r in rec.resources if r.parent == part.urn)
        assert owned == sorted(f"chat-{role}-{kind}" for kind in ("fn", "logs", "policy", "role"))


def test_functions_runtime_architecture_env_and_logs(chat_recording):
    rec = chat_recording
    table = rec.named("chat-connections-table")
    for role in [*ROUTES.values(), "authorizer"]:
        fn = rec.named(f"chat-{role}-fn")
        assert fn.inputs["runtime"] == "python3.12"
        assert fn.inputs["architectures"] == ["arm64"]
        assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (256, 10)
        assert fn.inputs["role"] == rec.named(f"chat-{role}-role").outputs["arn"]
        logs = rec.named(f"chat-{role}-logs")
        assert fn.inputs["loggingConfig"]["logGroup"] == logs.outputs["name"]
        assert fn.inputs["loggingConfig"]["logFormat"] == "JSON"  # records carry the request id
        assert logs.inputs["retentionInDays"] == 30
        if role != "authorizer":
            env = fn.inputs["environment"]["variables"]
            assert env["TABLE_NAME"] == table.outputs["name"]
            assert env["ROOM_INDEX_NAME"] == "room-index"
            assert env["MANAGEMENT_ENDPOINT"] == rec.exports["management_endpoint"]


def test_function_overrides():
    rec = evaluate_socket(
        "chat",
        functions={
            "architecture": "x86_64",
            "runtime": "python3.13",
            "memory_mb": 1024,
            "timeout_seconds": 29,
            "log_retention_days": 90,
            "fanout_concurrency": 100,
        },
    )
    fn = rec.named("chat-sendmessage-fn")
    assert fn.inputs["architectures"] == ["x86_64"]
    assert fn.inputs["runtime"] == "python3.13"
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (1024, 29)
    assert fn.inputs["environment"]["variables"]["FANOUT_CONCURRENCY"] == "100"
    assert rec.named("chat-sendmessage-logs").inputs["retentionInDays"] == 90


def test_roles_trust_only_lambda(chat_recording):
    for role in chat_recording.of_type("aws:iam/role:Role"):
        doc = json.loads(role.inputs["assumeRolePolicy"])
        assert doc["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]


def test_every_function_has_its_own_role(chat_recording):
    roles = [fn.inputs["role"] for fn in chat_recording.of_type("aws:lambda/function:Function")]
    # 10 routes (subscribe, unsubscribe, reply, history and members joined the 5) and the
    # authorizer
    assert len(roles) == len(set(roles)) == 12
