"""What every resource of one socket shares: its namespace, its tags and its parent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from realtime_socket.component.function import Function

__all__ = ["Scope"]


@dataclass(frozen=True)
class Scope:
    """Where a builder puts its resources: under ``parent``, tagged, named after ``name``."""

    name: str
    tags: Mapping[str, str]
    parent: pulumi.Resource
    functions: list[Function] = field(default_factory=list, compare=False)
    """Every :class:`Function` built in this scope, in order: what the alarms and the
    dashboard watch, so a function added later is never left unwatched."""

    def opts(self, *, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        """Options of a child resource; ``depends_on`` adds ordering Pulumi cannot infer."""
        return pulumi.ResourceOptions(parent=self.parent, depends_on=list(depends_on) or None)

    def invoke_opts(self) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(parent=self.parent)

    def path(self, leaf: str) -> str:
        """A stack-unique physical path: ``/realtime-socket/<project>/<stack>/<name>/<leaf>``."""
        return f"/realtime-socket/{pulumi.get_project()}/{pulumi.get_stack()}/{self.name}/{leaf}"
