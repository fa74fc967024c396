"""What an evaluation of the stack program records: its resources and the stack's exports.

Plain data, apart from :mod:`~realtime_socket.tools.recording` (which runs the program under
Pulumi's mocks) so that reading a recording back, as the local runtime's cached model does,
never imports Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "RecordedResource", "Recording"]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


@dataclass
class RecordedResource:
    """One resource the program declared."""

    urn: str
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str = ""
    custom: bool = True
    dependencies: tuple[str, ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        """An input, falling back to the recorded output."""
        if key in self.inputs:
            return self.inputs[key]
        return self.outputs.get(key, default)


@dataclass
class Recording:
    """Everything one evaluation declared, in registration order, plus the stack's exports."""

    resources: list[RecordedResource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def by_urn(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)
