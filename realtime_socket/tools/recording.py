"""An offline engine: evaluate a Pulumi program under Pulumi's mock machinery and record it.

``pulumi preview`` needs the CLI and cloud credentials; this engine needs neither. It runs
the program (a callable or a ``__main__.py``) with a stack's config against a mock resource
monitor that answers like AWS would (ids, ARNs, endpoints), and records every resource with
its inputs, outputs and parent. ``realtime-socket plan``, the local runtime and the tests
all read the same :class:`Recording`.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import runpy
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from realtime_socket.tools.recorded import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    RecordedResource,
    Recording,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "RecordedResource",
    "Recording",
    "RecordingMocks",
    "evaluate",
]


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:7]


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that answer with AWS-shaped ids, ARNs and endpoints and remember every resource."""

    def __init__(self, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> None:
        self.region = region
        self.account = account

    def _arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        physical = inputs.get("name") or f"{name}-{_suffix(name)}"
        resource_id = f"{_suffix(typ + name)}{_suffix(name)}"[:10]
        out: dict[str, Any] = {}
        if typ == "aws:apigatewayv2/api:Api":
            out["apiEndpoint"] = f"wss://{resource_id}.execute-api.{self.region}.amazonaws.com"
            out["executionArn"] = self._arn("execute-api", resource_id)
            out["arn"] = f"arn:aws:apigateway:{self.region}::/apis/{resource_id}"
        elif typ == "aws:lambda/function:Function":
            arn = self._arn("lambda", f"function:{physical}")
            out.update(name=physical, arn=arn, qualifiedArn=f"{arn}:$LATEST")
            out["invokeArn"] = (
                f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            )
            resource_id = physical
        elif typ == "aws:dynamodb/table:Table":
            out.update(name=physical, arn=self._arn("dynamodb", f"table/{physical}"))
            resource_id = physical
        elif typ == "aws:iam/role:Role":
            out.update(name=physical, arn=f"arn:aws:iam::{self.account}:role/{physical}")
            resource_id = physical
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out.update(name=physical, arn=self._arn("logs", f"log-group:{physical}"))
            resource_id = physical
        elif typ == "aws:ssm/parameter:Parameter":
            out.update(name=physical, arn=self._arn("ssm", f"parameter{physical}"))
            resource_id = physical
        elif typ == "aws:apigatewayv2/stage:Stage":
            api = inputs.get("apiId", "")
            stage = inputs.get("name", "")
            out["invokeUrl"] = f"wss://{api}.execute-api.{self.region}.amazonaws.com/{stage}"
            out["executionArn"] = self._arn("execute-api", f"{api}/{stage}")
            resource_id = stage or resource_id
        elif typ == "aws:apigatewayv2/domainName:DomainName":
            config = dict(inputs.get("domainNameConfiguration") or {})
            config["targetDomainName"] = f"d-{resource_id}.execute-api.{self.region}.amazonaws.com"
            config["hostedZoneId"] = "Z1UJRXOUMOOFQ8"
            out["domainNameConfiguration"] = config
            resource_id = inputs.get("domainName", resource_id)
        elif typ == "aws:acm/certificate:Certificate":
            out["arn"] = self._arn("acm", f"certificate/{resource_id}")
            out["domainValidationOptions"] = [
                {
                    "domainName": inputs.get("domainName"),
                    "resourceRecordName": f"_{resource_id}.{inputs.get('domainName')}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{resource_id}.acm-validations.aws.",
                }
            ]
        elif typ == "aws:sns/topic:Topic":
            out["arn"] = self._arn("sns", physical)
            resource_id = out["arn"]  # a topic's id is its ARN
        elif typ == "aws:route53/record:Record":
            out["fqdn"] = inputs.get("name")
        return resource_id, {**inputs, **out}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getRegion:getRegion": {
                "region": self.region,
                "name": self.region,
                "id": self.region,
            },
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/local",
                "id": self.account,
                "userId": "LOCAL",
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
            },
        }
        return answers.get(args.token, {}), []


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """Remembers each registration with its parent and dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = Recording()
        self._root_urn = ""

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            self._root_urn = response.urn
            return response
        registration = self.resources[response.urn]
        self.recording.resources.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                id=registration.id or "",
                inputs=rpc.deserialize_properties(request.object),
                outputs=dict(registration.state),
                parent="" if request.parent == self._root_urn else request.parent,
                custom=bool(request.custom),
                dependencies=tuple(request.dependencies),
            )
        )
        return response


def _ensure_event_loop() -> None:
    """Pulumi's synchronous helpers use the thread's current loop; ``asyncio.run`` elsewhere
    in the process leaves none behind, so provide one."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError("closed")
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def evaluate(
    program: Callable[[], Any] | Path,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> Recording:
    """Run ``program`` under mocks with ``config`` (``project:key`` -> string) and record it.

    Args:
        program: a callable, or the path of a ``__main__.py`` to run as the stack program.
        secret_keys: config keys to treat as secrets.

    Raises:
        Whatever the program raises (validation errors included), unchanged.
    """
    _ensure_event_loop()
    mocks = RecordingMocks(region=region, account=account)
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.settings.ROOT.set(None)  # a fresh root stack resource for every run
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys))

    def run() -> None:
        if isinstance(program, Path):
            folder = str(program.resolve().parent)
            added = folder not in sys.path
            if added:
                sys.path.insert(0, folder)
            try:
                runpy.run_path(str(program), run_name="__main__")
            finally:
                if added:
                    sys.path.remove(folder)
        else:
            program()

    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    pulumi.runtime.settings.SETTINGS.outputs.clear()
    # Pulumi keeps every resource, output and task alive until the program ends, so the
    # cyclic GC rescans a growing heap again and again: with it paused, evaluation time
    # grows linearly with the program and halves (bench/program.py).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _sync_await(pulumi.runtime.stack.run_pulumi_func(run))
    finally:
        if collecting:
            gc.enable()
    root = pulumi.runtime.settings.get_root_resource()
    if root is not None:
        stack_outputs = getattr(root, "outputs", {})
        if stack_outputs:
            resolved = _sync_await(pulumi.Output.from_input(stack_outputs).future())
            monitor.recording.exports.update(resolved or {})
    return monitor.recording
