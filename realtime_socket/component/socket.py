"""``RealtimeSocket``: one authenticated, room-based WebSocket service on AWS.

API Gateway holds the connections, one Lambda function per route handles the events, and a
DynamoDB table records who is connected to which room. Each part is built by its own
module; this one only lists what a namespace is made of.

The annotations here are evaluated (no ``from __future__ import annotations``): Pulumi's
component analyzer reads the outputs' and ``__init__``'s annotations as objects to infer the
multi-language schema (:mod:`realtime_socket.provider`).
"""

import dataclasses

import pulumi
import pulumi_aws as aws

from realtime_socket.component import naming, policies
from realtime_socket.component.alarms import Watched, build_alarms
from realtime_socket.component.api import deploy, management_endpoint, stage_url, websocket_api
from realtime_socket.component.args import (
    RealtimeSocketArgs,
    ResolvedRoute,
    analyzer_view,
    resolve,
)
from realtime_socket.component.authorizer import build_authorizer
from realtime_socket.component.dashboard import build_dashboard
from realtime_socket.component.domain import custom_domain
from realtime_socket.component.fanout_worker import build_fanout_worker, sender_environment
from realtime_socket.component.function import PolicyTargets
from realtime_socket.component.route import build_route, route_environment
from realtime_socket.component.scope import Scope
from realtime_socket.component.sizing_warning import warn_if_undersized
from realtime_socket.component.table import connections_table, history_table

__all__ = ["TYPE_TOKEN", "RealtimeSocket"]

TYPE_TOKEN = "realtime-socket:index:RealtimeSocket"  # noqa: S105 - a Pulumi type token


class RealtimeSocket(pulumi.ComponentResource):
    """A WebSocket API with JWT-authenticated rooms, deployable with one ``pulumi up``.

    Builds the API and its routes ($connect, $disconnect, $default, sendmessage, ping and
    any extra action routes), a REQUEST Lambda authorizer on $connect, one least-privilege
    function per route, a stage with throttling, metrics and JSON access logs, the
    connections table with a room index, a CloudWatch dashboard, and optionally alarms and
    a custom domain or API mapping.
    """

    url: pulumi.Output[str]
    """``wss://`` URL of the stage."""
    management_endpoint: pulumi.Output[str]
    """``https://`` URL of the @connections callback API."""
    custom_url: pulumi.Output[str | None]
    """``wss://`` URL on the custom domain, or None."""
    api_id: pulumi.Output[str]
    """The WebSocket API's id."""
    stage_name: pulumi.Output[str]
    """The stage, the last part of ``url``."""
    table_name: pulumi.Output[str]
    """The connections table: what a Publisher needs to find a room's connections."""
    execution_arn: pulumi.Output[str]
    """The API's execution ARN, for IAM policies that call ``@connections``."""
    table_arn: pulumi.Output[str]
    """The connections table's ARN."""
    history_table_name: pulumi.Output[str]
    """The room history table: seq counters and the messages kept for ``history``."""
    history_table_arn: pulumi.Output[str]
    """The room history table's ARN."""
    history_retention_seconds: int
    """``history.retention_seconds``: a Publisher stores its messages for as long."""
    alarm_topic_arn: pulumi.Output[str | None]
    """The SNS topic the alarms notify (``alarms``): subscribe to it; None when off."""

    def __init__(
        self,
        name: str,
        args: RealtimeSocketArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        cfg = resolve(name, args)  # every problem reported before anything is registered
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._cfg = cfg
        warn_if_undersized(cfg, self)
        self._scope = scope = Scope(name, {"realtime-socket:namespace": name, **cfg.tags}, self)
        api = websocket_api(scope, cfg)
        table = connections_table(scope, cfg)
        history = history_table(scope, cfg)
        self.api_id, self.execution_arn = api.id, api.execution_arn
        self.table_name, self.table_arn = table.name, table.arn
        self.history_table_name, self.history_table_arn = history.name, history.arn
        self.history_retention_seconds = cfg.history.retention_seconds
        self.management_endpoint = management_endpoint(api, cfg.stage_name)
        targets = PolicyTargets(table.arn, api.execution_arn, cfg.stage_name, history.arn)
        authorizer = build_authorizer(scope, cfg, api, targets)
        environment = route_environment(
            cfg, table.name, self.management_endpoint, history_table_name=history.name
        )
        worker = build_fanout_worker(scope, cfg, environment, targets)
        targets = dataclasses.replace(targets, fanout_worker_arn=worker.arn)
        wiring: list[pulumi.CustomResource] = [authorizer]
        for route in cfg.routes:
            extra = sender_environment(cfg, worker) if _is_sendmessage(route) else {}
            wiring += build_route(
                scope, route, cfg,
                api=api, authorizer=authorizer, environment={**environment, **extra},
                targets=targets,
            )  # fmt: skip
        stage = deploy(scope, cfg, api, wiring)
        self.stage_name = stage.name
        self.url = stage_url(api, stage)
        domain_url = custom_domain(
            name, api_id=api.id, stage=stage.id, domain=cfg.domain, mapping=cfg.mapping,
            opts=scope.opts(),
        )  # fmt: skip
        self.custom_url = pulumi.Output.from_input(domain_url)
        watched = Watched(
            api_id=api.id, stage=stage.name, functions=tuple(scope.functions),
            tables={"connections": table.name, "history": history.name},
        )  # fmt: skip
        self.alarm_topic_arn = pulumi.Output.from_input(
            build_alarms(scope, cfg.alarms, watched).topic_arn
        )
        if cfg.dashboard:
            build_dashboard(scope, watched)
        self.register_outputs(
            {
                "url": self.url,
                "management_endpoint": self.management_endpoint,
                "custom_url": self.custom_url,
                "api_id": self.api_id,
                "stage_name": self.stage_name,
                "table_name": self.table_name,
                "history_table_name": self.history_table_name,
                "alarm_topic_arn": self.alarm_topic_arn,
            }
        )

    def grant_publish(self, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let another service's role push to this socket's rooms, and nothing more.

        Grants exactly what :class:`realtime_socket.publish.Publisher` calls:
        ``dynamodb:Query`` on the room and user indexes (a room's or a user's connections),
        ``dynamodb:DeleteItem`` and ``dynamodb:BatchWriteItem`` on the table (to remove the
        rows and room memberships of connections that answered 410, and finished requests),
        ``dynamodb:PutItem`` and ``dynamodb:GetItem`` on pending request items only
        (``request``), ``GetItem``, ``UpdateItem`` and ``PutItem`` on the history table (the
        room's next seq and the stored message) and ``execute-api:ManageConnections`` on
        ``POST @connections`` of this stage.
        """
        stage = self._cfg.stage_name
        policy = pulumi.Output.all(
            self.table_arn, self.execution_arn, self.history_table_arn
        ).apply(
            lambda v: policies.publish_policy(
                table_arn=v[0], execution_arn=v[1], stage=stage, history_table_arn=v[2]
            )
        )
        # Resource._name is the role's logical name: unique in the stack, so a good suffix.
        # The policy's physical name is this name plus Pulumi's suffix, at most 128.
        name = naming.fit(
            f"{self._scope.name}-publish-{role._name}",
            naming.AUTONAMED_LIMITS["policy"] - naming.AUTONAME_SUFFIX,
        )
        return aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=self._scope.opts())


# The analyzer infers the component's inputs from ``__init__``'s ``args`` annotation; it
# cannot read the declaration's ``Annotated`` specs, so it gets the declaration's plain view.
RealtimeSocket.__init__.__annotations__["args"] = analyzer_view(RealtimeSocketArgs)


def _is_sendmessage(route: ResolvedRoute) -> bool:
    """The built-in ``sendmessage``: the one function that hands shares to the worker."""
    return route.code is None and route.handler == "realtime_socket.handlers.sendmessage.handler"
