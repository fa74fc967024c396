"""IAM policy documents as pure functions of ARNs.

Least privilege per function: only the DynamoDB actions it calls, on the table or its room
index, and ``execute-api:ManageConnections`` only for the @connections methods it uses.
No statement ever has a bare ``*`` action or resource.

The documents are built from whatever ARNs resolve: AWS always gives them, but the generic
mocks of Pulumi's unit-testing guide give none, and a user's own tests must still evaluate.
A statement whose ARN is missing keeps its actions and names no resource, so it can only
ever grant less (IAM refuses an empty ``Resource``), never more.
IAM for the callback API: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from realtime_socket.contract import Table

__all__ = [
    "FANOUT_WORKER_GRANTS",
    "PARAMETER_GRANTS",
    "PERMISSION_GRANTS",
    "PRESENCE_GRANTS",
    "PRESENCE_ROUTES",
    "ROOM_INDEX",
    "ROUTE_GRANTS",
    "USER_INDEX",
    "Grants",
    "account_logging_policy",
    "assume_role_policy",
    "function_policy",
    "manage_connections_arns",
    "publish_policy",
]


ROOM_INDEX = Table.ROOM_INDEX
USER_INDEX = Table.USER_INDEX
#: Taking a room's next seq: GetItem of the counter, then a TransactWriteItems of the
#: counter's Update and the message's Put (IAM checks the underlying UpdateItem and PutItem;
#: UpdateItem alone when history is off).
HISTORY_APPEND = ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem")


def _union(a: Sequence[str], b: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*a, *b]))  # order-preserving


class Grants:
    """What one function may do: actions on the connections table, per index of it, on the
    history table, @connections methods, actions on the JWT secret's SSM parameter, and on
    the fan-out worker function."""

    def __init__(
        self,
        table: Sequence[str] = (),
        indexes: Mapping[str, Sequence[str]] | None = None,
        connections: Sequence[str] = (),
        history: Sequence[str] = (),
        parameter: Sequence[str] = (),
        invoke: Sequence[str] = (),
    ) -> None:
        self.table = tuple(table)
        self.indexes = {name: tuple(actions) for name, actions in (indexes or {}).items()}
        self.connections = tuple(connections)
        self.history = tuple(history)
        self.parameter = tuple(parameter)
        self.invoke = tuple(invoke)

    def __add__(self, other: Grants) -> Grants:
        indexes = dict(self.indexes)
        for name, actions in other.indexes.items():
            indexes[name] = _union(indexes.get(name, ()), actions)
        return Grants(
            _union(self.table, other.table),
            indexes,
            _union(self.connections, other.connections),
            _union(self.history, other.history),
            _union(self.parameter, other.parameter),
            _union(self.invoke, other.invoke),
        )


#: Every built-in route but ``$connect`` and ``$disconnect`` refuses the frames of a
#: connection whose token expired: an error frame (POST), then the connection closed
#: (DELETE). See ``handlers/expiry.py``.
EXPIRY_GRANTS = Grants(connections=["POST", "DELETE"])

#: Grants of the built-in routes' functions, by handler module.
ROUTE_GRANTS: dict[str, Grants] = {
    # PutItem: the row and the membership of ?room_id=; DeleteItem: the row again when the
    # membership write fails.
    "connect": Grants(table=["dynamodb:PutItem", "dynamodb:DeleteItem"]),
    # DeleteItem (ALL_OLD): the row, naming its rooms; BatchWriteItem: their memberships.
    "disconnect": Grants(table=["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]),
    "sendmessage": Grants(
        # UpdateItem: read the sender's row and count the message against its rate limit
        # (GetItem when the limit is off); DeleteItem + BatchWriteItem: delete the rows and
        # memberships of connections that answered 410.
        table=[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        ],
        indexes={ROOM_INDEX: ["dynamodb:Query"]},
        connections=["POST"],
        history=HISTORY_APPEND,
        # InvokeFunction (asynchronous): hand shares of a big room to the fan-out worker.
        invoke=["lambda:InvokeFunction"],
    )
    + EXPIRY_GRANTS,
    # UpdateItem: add the room to the row's set (conditional on the limit); PutItem: the
    # membership; GetItem on the history table: the room's last seq for the answer. Answers
    # go back through the route response: @connections only for expired tokens.
    "subscribe": Grants(
        table=["dynamodb:UpdateItem", "dynamodb:PutItem"], history=["dynamodb:GetItem"]
    )
    + EXPIRY_GRANTS,
    # GetItem: the caller's row (only members may replay a room); GetItem + Query on the
    # history table: the counter, the binary search for the first live message, the replay;
    # POST: the replayed frames and the closing history frame.
    "history": Grants(
        table=["dynamodb:GetItem"],
        connections=["POST"],
        history=["dynamodb:GetItem", "dynamodb:Query"],
    )
    + EXPIRY_GRANTS,
    # GetItem: the caller's row (only members may ask); Query on the room index and
    # BatchGetItem of the members' rows: their users. Answers through the route response.
    "members": Grants(
        table=["dynamodb:GetItem", "dynamodb:BatchGetItem"],
        indexes={ROOM_INDEX: ["dynamodb:Query"]},
    )
    + EXPIRY_GRANTS,
    # DeleteItem: the membership; UpdateItem: the room out of the row's set.
    "unsubscribe": Grants(table=["dynamodb:DeleteItem", "dynamodb:UpdateItem"]) + EXPIRY_GRANTS,
    # UpdateItem: store the answer on the pending request (conditional); POST: error frames
    # back to the caller.
    "reply": Grants(table=["dynamodb:UpdateItem"], connections=["POST"]) + EXPIRY_GRANTS,
    "ping": EXPIRY_GRANTS,
    "default": EXPIRY_GRANTS,
}

#: What announcing a presence event takes (``presence.events``, see ``handlers/presence.py``):
#: Query the user index for the user's other connections and BatchGetItem their memberships
#: of the room (consistent), Query the room index and POST to its connections, and delete
#: the rows and memberships of those that answered 410 (DeleteItem + BatchWriteItem).
PRESENCE_GRANTS = Grants(
    table=["dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
    indexes={ROOM_INDEX: ["dynamodb:Query"], USER_INDEX: ["dynamodb:Query"]},
    connections=["POST"],
)
#: The handler modules that announce presence events: entering or leaving a room, and the
#: fan-out's 410 clean-up.
PRESENCE_ROUTES = frozenset({"connect", "disconnect", "subscribe", "unsubscribe", "sendmessage"})

#: The fan-out worker (``handlers/fanout_worker.py``): POST its share of a broadcast, then
#: delete the rows and memberships of connections that answered 410 (DeleteItem +
#: BatchWriteItem), as ``sendmessage`` does for its own share.
FANOUT_WORKER_GRANTS = Grants(
    table=["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"], connections=["POST"]
)

#: The authorizer's grant when its HMAC secret is an SSM SecureString.
PARAMETER_GRANTS = Grants(parameter=["ssm:GetParameter"])

#: Grants an extra route gets for each permission it declares.
PERMISSION_GRANTS: dict[str, Grants] = {
    "read": Grants(table=["dynamodb:GetItem"], indexes={ROOM_INDEX: ["dynamodb:Query"]}),
    "write": Grants(table=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
    "publish": Grants(connections=["POST"]),
}


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def manage_connections_arns(
    execution_arn: str | None, stage: str, methods: Sequence[str]
) -> list[str]:
    """``{executionArn}/{stage}/{METHOD}/@connections/*`` for each method used."""
    return [
        arn
        for method in methods
        for arn in _under(execution_arn, f"/{stage}/{method}/@connections/*")
    ]


def _under(arn: str | None, *paths: str) -> list[str]:
    """``arn`` followed by each of ``paths`` (``arn`` alone without any); none while ``arn``
    has not resolved (generic test mocks), rather than a ``None/...`` string."""
    if arn is None:
        return []
    return [f"{arn}{path}" for path in paths or ("",)]


def _statement(actions: Sequence[str], resources: Sequence[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def function_policy(
    *,
    log_group_arn: str | None,
    grants: Grants,
    table_arn: str | None = None,
    execution_arn: str | None = None,
    stage: str | None = None,
    ssm_parameter_arn: str | None = None,
    history_table_arn: str | None = None,
    fanout_worker_arn: str | None = None,
) -> str:
    """The inline policy of one function's role: a statement per kind of grant."""
    statements = [
        _statement(["logs:CreateLogStream", "logs:PutLogEvents"], _under(log_group_arn, ":*"))
    ]
    if grants.table:
        statements.append(_statement(grants.table, _under(table_arn)))
    for index, actions in grants.indexes.items():
        statements.append(_statement(actions, _under(table_arn, f"/index/{index}")))
    if grants.history:
        statements.append(_statement(grants.history, _under(history_table_arn)))
    if grants.connections:
        assert stage, "@connections grants are scoped to a stage"
        statements.append(
            _statement(
                ["execute-api:ManageConnections"],
                manage_connections_arns(execution_arn, stage, grants.connections),
            )
        )
    if grants.parameter:
        statements.append(_statement(grants.parameter, _under(ssm_parameter_arn)))
    if grants.invoke:
        statements.append(_statement(grants.invoke, _under(fanout_worker_arn)))
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def publish_policy(
    *,
    table_arn: str | None,
    execution_arn: str | None,
    stage: str,
    history_table_arn: str | None,
) -> str:
    """What ``grant_publish`` gives another service: exactly what ``Publisher`` calls.

    ``publish`` and ``send_to_user`` Query the room or the user index, post to the
    connections found, and delete the rows (DeleteItem, naming their rooms) and memberships
    (BatchWriteItem) of those that answered 410, as the ``sendmessage`` fan-out does.
    ``request`` also writes, reads and deletes its pending request item: PutItem and
    GetItem are held to keys starting ``request#`` (``dynamodb:LeadingKeys``), so a
    backend can never forge or read a connection's row. ``publish`` takes the room's next
    seq on the history table, as ``sendmessage`` does.
    """
    requests_only = {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{Table.REQUEST_PREFIX}*"]}
    }
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                _statement(
                    ["dynamodb:Query"],
                    _under(table_arn, f"/index/{ROOM_INDEX}", f"/index/{USER_INDEX}"),
                ),
                _statement(["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"], _under(table_arn)),
                {
                    **_statement(["dynamodb:PutItem", "dynamodb:GetItem"], _under(table_arn)),
                    "Condition": requests_only,
                },
                _statement(HISTORY_APPEND, _under(history_table_arn)),
                _statement(
                    ["execute-api:ManageConnections"],
                    manage_connections_arns(execution_arn, stage, ["POST"]),
                ),
            ],
        }
    )


def account_logging_policy(partition: str | None, region: str | None, account: str | None) -> str:
    """What API Gateway needs to write execution logs, scoped to its own log groups."""
    groups = None
    if None not in (partition, region, account):
        groups = f"arn:{partition}:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                _statement(
                    [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                        "logs:GetLogEvents",
                        "logs:FilterLogEvents",
                    ],
                    _under(groups, "", ":log-stream:*"),
                )
            ],
        }
    )
