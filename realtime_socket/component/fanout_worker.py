"""The fan-out worker: a function ``sendmessage`` hands shares of a big room's broadcast to.

It has its own role (POST to ``@connections``, delete the rows of connections that answered
410, and presence's grants when events are on); ``sendmessage``'s role may invoke this
function and no other. Lambda invokes it asynchronously and retries a failed invocation up
to twice; a message older than :data:`MAX_EVENT_AGE_SECONDS` is dropped rather than posted
late (clients that missed it catch up with ``history``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from realtime_socket.component import naming, packaging, policies
from realtime_socket.component.args import ResolvedArgs
from realtime_socket.component.function import Function, FunctionSpec, PolicyTargets
from realtime_socket.component.scope import Scope
from realtime_socket.contract import Env

__all__ = [
    "FRAGMENT",
    "HANDLER",
    "MAX_EVENT_AGE_SECONDS",
    "build_fanout_worker",
    "sender_environment",
]

FRAGMENT = "fanout-worker"
HANDLER = "realtime_socket.handlers.fanout_worker.handler"
#: Lambda's asynchronous retries (2) with a short event age: a broadcast delivered minutes
#: late is worse than one the client fills from history.
MAX_RETRY_ATTEMPTS = 2
MAX_EVENT_AGE_SECONDS = 300


def build_fanout_worker(
    scope: Scope,
    cfg: ResolvedArgs,
    environment: Mapping[str, pulumi.Input[str]],
    targets: PolicyTargets,
) -> Function:
    """The worker function, with Lambda's asynchronous invocation settings for it."""
    grants = policies.FANOUT_WORKER_GRANTS
    if cfg.presence.events:  # a 410 clean-up announces the leaves of the users it removes
        grants = grants + policies.PRESENCE_GRANTS
    spec = FunctionSpec(
        fragment=FRAGMENT,
        handler=HANDLER,
        code=packaging.code_archive(packaging.handler_files()),
        grants=grants,
        environment=environment,
    )
    worker = Function(scope, spec, cfg.functions, targets)
    aws.lambda_.FunctionEventInvokeConfig(
        naming.child(scope.name, FRAGMENT, "async"),
        function_name=worker.name,
        maximum_retry_attempts=MAX_RETRY_ATTEMPTS,
        maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
        opts=scope.opts(),
    )
    return worker


def sender_environment(cfg: ResolvedArgs, worker: Function) -> dict[str, pulumi.Input[str]]:
    """What ``sendmessage`` is told: the worker to hand shares to, and a share's size."""
    return {
        Env.FANOUT_FUNCTION: worker.name,
        Env.FANOUT_SHARE: str(cfg.functions.posts_per_invocation),
    }
