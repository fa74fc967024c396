"""The exact actions and resources of every IAM policy the component writes."""

from __future__ import annotations

import json

import pytest

from realtime_socket.component import policies
from tests.support.helpers import evaluate_socket
from tests.support.recorded_socket import arns_of as _arns
from tests.support.recorded_socket import statements_of as _statements

#: The routes that announce presence events, and what announcing adds to their policy.
PRESENCE_ROUTES = ("connect", "disconnect", "subscribe", "unsubscribe", "sendmessage")


@pytest.fixture(scope="module")
def lean_recording():
    """The ``chat`` socket with ``presence.events`` off: each route's own grants only."""
    return evaluate_socket("chat", presence={"events": False})


def test_connect_may_only_put_items_and_roll_them_back(lean_recording):
    """PutItem: the row and the room's membership; DeleteItem: undo them if one fails."""
    table, _, logs = _arns(lean_recording, "connect")
    assert _statements(lean_recording, "connect") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:PutItem", "dynamodb:DeleteItem"): [table],
    }


def test_disconnect_may_only_delete_items(lean_recording):
    """DeleteItem: the row (naming its rooms); BatchWriteItem: its memberships."""
    table, _, logs = _arns(lean_recording, "disconnect")
    assert _statements(lean_recording, "disconnect") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem"): [table],
    }


def _history_arn(recording) -> str:
    return str(recording.named("chat-history-table").outputs["arn"])


def _worker_arn(recording) -> str:
    return str(recording.named("chat-fanout-worker-fn").outputs["arn"])


def _post_and_delete(execution: str) -> list[str]:
    """POST (frames) and DELETE (closing a connection whose token expired) on this stage."""
    return [f"{execution}/live/POST/@connections/*", f"{execution}/live/DELETE/@connections/*"]


def test_subscribe_and_unsubscribe_only_update_the_row_and_write_memberships(lean_recording):
    """Both answer through the route response, so they post to @connections only to refuse
    an expired token (and DELETE to close it); subscribe reads the room's last seq (GetItem on
    the history table) for its answer."""
    history = _history_arn(lean_recording)
    for role, actions, extra in (
        (
            "subscribe",
            ("dynamodb:UpdateItem", "dynamodb:PutItem"),
            {("dynamodb:GetItem",): [history]},
        ),
        ("unsubscribe", ("dynamodb:DeleteItem", "dynamodb:UpdateItem"), {}),
    ):
        table, execution, logs = _arns(lean_recording, role)
        assert _statements(lean_recording, role) == {
            ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
            actions: [table],
            ("execute-api:ManageConnections",): _post_and_delete(execution),
            **extra,
        }


def test_members_reads_the_callers_row_the_room_index_and_the_members_rows(chat_recording):
    """GetItem (the caller's row), BatchGetItem (the members' users), Query on the room index;
    it writes nothing, and @connections only for an expired token."""
    table, execution, logs = _arns(chat_recording, "members")
    assert _statements(chat_recording, "members") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:GetItem", "dynamodb:BatchGetItem"): [table],
        ("dynamodb:Query",): [f"{table}/index/room-index"],
        ("execute-api:ManageConnections",): _post_and_delete(execution),
    }


def test_history_reads_the_callers_row_the_room_history_and_posts(chat_recording):
    """GetItem on the caller's row (members only), GetItem + Query on the history table,
    POST for the replayed frames; it writes nothing."""
    table, execution, logs = _arns(chat_recording, "history")
    assert _statements(chat_recording, "history") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:GetItem",): [table],
        ("dynamodb:GetItem", "dynamodb:Query"): [_history_arn(chat_recording)],
        ("execute-api:ManageConnections",): _post_and_delete(execution),
    }


def test_sendmessage_reads_its_row_queries_the_room_index_and_posts(lean_recording):
    table, execution, logs = _arns(lean_recording, "sendmessage")
    assert _statements(lean_recording, "sendmessage") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        (
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        ): [table],
        ("dynamodb:Query",): [f"{table}/index/room-index"],
        # the room's next seq: the counter read, then one transaction of the counter's
        # Update and the message's Put (IAM checks those actions)
        ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"): [
            _history_arn(lean_recording)
        ],
        ("execute-api:ManageConnections",): _post_and_delete(execution),
        # hands shares of a big room to its namespace's fan-out worker, and to no other
        ("lambda:InvokeFunction",): [_worker_arn(lean_recording)],
    }


def test_the_fanout_worker_posts_and_cleans_its_410s_and_invokes_nothing(
    lean_recording, chat_recording
):
    table, execution, logs = _arns(lean_recording, "fanout-worker")
    assert _statements(lean_recording, "fanout-worker") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem"): [table],
        ("execute-api:ManageConnections",): [f"{execution}/live/POST/@connections/*"],
    }
    # with presence on, its 410 clean-up announces leaves: presence's grants, no more
    table, execution, logs = _arns(chat_recording, "fanout-worker")
    statements = _statements(chat_recording, "fanout-worker")
    assert statements[
        ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem")
    ] == [table]
    assert not any("lambda:InvokeFunction" in actions for actions in statements)


def test_only_sendmessage_may_invoke_the_fanout_worker(chat_recording):
    worker = _worker_arn(chat_recording)
    invokers = []
    for policy in chat_recording.of_type("aws:iam/rolePolicy:RolePolicy"):
        document = json.loads(policy.inputs["policy"])
        for statement in document["Statement"]:
            actions = statement["Action"]
            if any(a.startswith("lambda:") for a in actions):
                assert actions == ["lambda:InvokeFunction"] and statement["Resource"] == [worker]
                invokers.append(policy.name)
    assert invokers == ["chat-sendmessage-policy"]


def test_presence_adds_exactly_its_grants_to_the_routes_that_announce(
    chat_recording, lean_recording
):
    """With presence on (the default): the user index and the room index (Query),
    BatchGetItem of memberships, DeleteItem + BatchWriteItem for 410s found while announcing,
    and POST; nothing else changes, and the other routes are as lean as without it."""
    table, execution, _ = _arns(chat_recording, "connect")
    added = {
        ("dynamodb:BatchGetItem", None),
        ("dynamodb:DeleteItem", None),
        ("dynamodb:BatchWriteItem", None),
        ("dynamodb:Query", "room-index"),
        ("dynamodb:Query", "user-index"),
        ("execute-api:ManageConnections", "POST"),
    }

    def grants(recording, role):
        """(action, index or @connections method) pairs; None for the table itself."""
        pairs = set()
        for actions, resources in _statements(recording, role).items():
            for action in actions:
                for resource in resources:
                    if resource == table:
                        pairs.add((action, None))
                    elif "/index/" in resource:
                        pairs.add((action, resource.rsplit("/", 1)[1]))
                    elif resource.startswith(execution):
                        pairs.add((action, resource.split("/")[2]))
                    else:
                        pairs.add((action, resource))
        return pairs

    for role in ("connect", "disconnect", "subscribe", "unsubscribe", "sendmessage", "members",
                 "history", "reply", "ping", "default"):  # fmt: skip
        lean = grants(lean_recording, role)
        expected = lean | added if role in PRESENCE_ROUTES else lean
        assert grants(chat_recording, role) == expected, role
    assert set(PRESENCE_ROUTES) == policies.PRESENCE_ROUTES


def test_publish_queries_both_indexes_deletes_gone_rows_and_posts():
    """grant_publish's policy: Publisher also deletes 410 rows (DeleteItem, naming their
    rooms) and their memberships (BatchWriteItem); request writes and reads only items
    keyed ``request#...`` (the LeadingKeys condition), so a backend cannot forge a row.

    tests/test_publish.py checks the Publisher's calls against this policy.
    """
    table = "arn:aws:dynamodb:us-east-1:111122223333:table/t"
    execution = "arn:aws:execute-api:us-east-1:111122223333:abc123"
    history = "arn:aws:dynamodb:us-east-1:111122223333:table/h"
    document = json.loads(
        policies.publish_policy(
            table_arn=table, execution_arn=execution, stage="live", history_table_arn=history
        )
    )
    statements = {tuple(s["Action"]): s for s in document["Statement"]}
    assert {actions: s["Resource"] for actions, s in statements.items()} == {
        ("dynamodb:Query",): [f"{table}/index/room-index", f"{table}/index/user-index"],
        ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem"): [table],
        ("dynamodb:PutItem", "dynamodb:GetItem"): [table],
        ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"): [history],
        ("execute-api:ManageConnections",): [f"{execution}/live/POST/@connections/*"],
    }
    assert statements[("dynamodb:PutItem", "dynamodb:GetItem")]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["request#*"]}
    }
    conditioned = [s for s in document["Statement"] if "Condition" in s]
    assert len(conditioned) == 1


def test_ping_and_default_only_write_logs_and_close_expired_connections(chat_recording):
    """No table access; @connections only to refuse an expired token and close it."""
    for role in ("ping", "default"):
        _, execution, logs = _arns(chat_recording, role)
        assert _statements(chat_recording, role) == {
            ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
            ("execute-api:ManageConnections",): _post_and_delete(execution),
        }


def test_authorizer_reads_only_its_secret_parameter(chat_recording):
    _, _, logs = _arns(chat_recording, "authorizer")
    parameter = chat_recording.named("chat-jwt-secret").outputs["arn"]
    assert _statements(chat_recording, "authorizer") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("ssm:GetParameter",): [parameter],
    }


def test_extra_route_permissions_map_to_exact_grants():
    from tests.support.helpers import evaluate_socket

    rec = evaluate_socket(
        "chat",
        routes={
            "r": {"handler": "realtime_socket.handlers.ping.handler", "permissions": ["read"]},
            "w": {
                "handler": "realtime_socket.handlers.ping.handler",
                "permissions": ["write", "publish"],
            },
            "n": {"handler": "realtime_socket.handlers.ping.handler"},
        },
    )
    table, execution, _ = _arns(rec, "r")
    read = _statements(rec, "r")
    assert read[("dynamodb:GetItem",)] == [table]
    assert read[("dynamodb:Query",)] == [f"{table}/index/room-index"]
    # the built-in ping handler closes expired connections wherever it is routed
    assert read[("execute-api:ManageConnections",)] == _post_and_delete(execution)
    assert len(read) == 4
    write = _statements(rec, "w")
    assert write[("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")] == [table]
    assert write[("execute-api:ManageConnections",)] == _post_and_delete(execution)
    assert len(write) == 3
    assert len(_statements(rec, "n")) == 2


def test_no_policy_has_a_bare_wildcard_action_or_resource(chat_recording):
    for policy in chat_recording.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                assert "*" not in action, policy.name
            for resource in statement["Resource"]:
                assert resource != "*" and not resource.endswith(":*:*"), policy.name
