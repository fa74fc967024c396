"""Pulumi mocks for the unit tests of a stack that uses :class:`RealtimeSocket`.

Pulumi's unit-testing guide (https://www.pulumi.com/docs/using-pulumi/testing/unit/) runs
a program against mocks that echo each resource's inputs back. The component evaluates
under those too, but ARNs, endpoints and the policies built from them then stay empty.
:class:`Mocks` answers as AWS would (the same answers as ``realtime-socket plan``'s
offline engine) and remembers every resource by namespace, so a test can ask what one
socket declared::

    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    ...  # run the program inside a @pulumi.runtime.test function
    assert "sendmessage" in mocks.routes("chat")

Needs pulumi and pulumi-aws, never the Pulumi CLI or an AWS account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from realtime_socket.component.socket import TYPE_TOKEN as SOCKET_TYPE
from realtime_socket.tools.recording import DEFAULT_ACCOUNT, DEFAULT_REGION, RecordingMocks

__all__ = ["FUNCTION_TYPE", "NAMESPACE_TAG", "POLICY_TYPE", "ROUTE_TYPE", "MockedResource", "Mocks"]

#: The tag the component puts on every resource that takes tags.
NAMESPACE_TAG = "realtime-socket:namespace"
FUNCTION_TYPE = "aws:lambda/function:Function"
ROUTE_TYPE = "aws:apigatewayv2/route:Route"
POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy"
#: Inputs that name another resource of the same socket (by id or name), for the resources
#: that take no tags: integrations, routes, the stage's deployment, role policies,
#: permissions.
_REFERENCES = ("apiId", "role", "function")


@dataclass(frozen=True)
class MockedResource:
    """One resource the program declared, as the mocks saw it."""

    type: str
    name: str
    id: str | None
    inputs: dict[str, Any]
    """Resolved inputs, in Pulumi's wire names (``apiId``, ``routeKey``, ``architectures``)."""
    outputs: dict[str, Any]
    namespace: str | None
    """The ``RealtimeSocket`` it belongs to; None for resources of no socket."""


class Mocks(RecordingMocks):
    """AWS-shaped ids, ARNs and endpoints per resource type, answers to the invokes the
    component makes (``getCallerIdentity``, ``getRegion``, ``getPartition``), and a record
    of every resource and invoke, to assert on after the program has run."""

    def __init__(self, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> None:
        super().__init__(region=region, account=account)
        self.resources: list[MockedResource] = []
        """Every resource in registration order, components included."""
        self.calls: list[str] = []
        """The token of every invoke, in order (``aws:index/getRegion:getRegion``)."""
        self._owners: dict[str, str] = {}

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        namespace = self._namespace_of(args.typ, args.name, args.inputs)
        if namespace is not None:
            for key in (resource_id, outputs.get("name"), outputs.get("arn")):
                if isinstance(key, str):
                    self._owners[key] = namespace
        self.resources.append(
            MockedResource(args.typ, args.name, resource_id, dict(args.inputs), outputs, namespace)
        )
        return resource_id, outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append(args.token)
        return super().call(args)

    def _namespace_of(self, typ: str, name: str, inputs: dict[str, Any]) -> str | None:
        """By the socket's own name, its tag, a reference to a resource already attributed,
        or else (components, domain resources) the longest socket name that prefixes the
        resource's name: every child is named ``<namespace>-<role>``. The mocks are never
        told a resource's parent, so only that last rule can err: with sockets ``a`` and
        ``a-b``, a component of ``a`` for an extra route ``b-x`` counts as ``a-b``'s."""
        if typ == SOCKET_TYPE:
            return name
        tags = inputs.get("tags")
        if isinstance(tags, dict) and isinstance(tags.get(NAMESPACE_TAG), str):
            return str(tags[NAMESPACE_TAG])
        for key in _REFERENCES:
            value = inputs.get(key)
            if isinstance(value, str) and value in self._owners:
                return self._owners[value]
        sockets = {r.name for r in self.resources if r.type == SOCKET_TYPE}
        prefixes = [socket for socket in sockets if name.startswith(f"{socket}-")]
        return max(prefixes, key=len, default=None)

    def resources_of(self, namespace: str, type_: str | None = None) -> list[MockedResource]:
        """The resources of one socket, optionally of one type token only."""
        return [
            r
            for r in self.resources
            if r.namespace == namespace and (type_ is None or r.type == type_)
        ]

    def named(self, name: str) -> MockedResource:
        """The one resource with this logical name (``chat-sendmessage-fn``)."""
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def routes(self, namespace: str) -> set[str]:
        """The socket's route keys (``$connect``, ``sendmessage``, ...)."""
        return {str(r.inputs["routeKey"]) for r in self.resources_of(namespace, ROUTE_TYPE)}

    def functions(self, namespace: str) -> dict[str, MockedResource]:
        """The socket's Lambda functions by logical name, the authorizer's included."""
        return {r.name: r for r in self.resources_of(namespace, FUNCTION_TYPE)}

    def policies(self, namespace: str) -> dict[str, dict[str, Any]]:
        """The socket's inline IAM policy documents, parsed, by logical name of the policy.

        A document that had not resolved (an unknown in a preview) is left out.
        """
        return {
            r.name: json.loads(r.inputs["policy"])
            for r in self.resources_of(namespace, POLICY_TYPE)
            if isinstance(r.inputs.get("policy"), str)
        }
