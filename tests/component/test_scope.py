"""Every resource of a socket is marked as its namespace's: by its tags and its paths."""

from __future__ import annotations

from tests.support.helpers import evaluate_socket

PATHED = ("aws:cloudwatch/logGroup:LogGroup", "aws:ssm/parameter:Parameter")


def test_physical_paths_sit_under_the_project_stack_and_namespace(chat_recording):
    """Log groups and the secret parameter live under /realtime-socket/<project>/<stack>/<ns>/."""
    paths = {r.name: r.inputs["name"] for r in chat_recording.resources if r.type in PATHED}
    prefix = "/realtime-socket/realtime-socket/test/chat/"
    assert paths["chat-access-logs"] == f"{prefix}access"
    assert paths["chat-connect-logs"] == f"{prefix}connect"
    assert paths["chat-jwt-secret"] == f"{prefix}jwt-secret"
    assert all(path.startswith(prefix) for path in paths.values())
    # the access log, 11 function log groups (10 routes and the authorizer), the secret
    assert len(set(paths.values())) == len(paths) == 14


def test_every_tagged_resource_carries_the_namespace_and_the_callers_tags():
    """The namespace tag and the caller's tags reach every resource type that takes tags."""
    rec = evaluate_socket("chat", tags={"team": "realtime"})
    tagged = [r for r in rec.resources if "tags" in r.inputs]
    assert {r.type for r in tagged} >= {
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/stage:Stage",
        "aws:dynamodb/table:Table",
        "aws:ssm/parameter:Parameter",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:lambda/function:Function",
    }
    for resource in tagged:
        assert resource.inputs["tags"] == {
            "team": "realtime",
            "realtime-socket:namespace": "chat",
        }, resource.name
