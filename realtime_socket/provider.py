"""``RealtimeSocket`` as a Pulumi provider, for programs in TypeScript, Go, YAML, C# or Java.

Pulumi's component analyzer (``pulumi.provider.experimental``) infers the package schema from
the component's annotations (:func:`realtime_socket.component.args.analyzer_view`) and the
docstrings after each field. ``pulumi package add <this repository>`` runs this module
through ``PulumiPlugin.yaml`` (``plugin/__main__.py``), asks for that schema and generates an
SDK in the consumer's language; ``pulumi up`` then sends each ``RealtimeSocket`` here to be
constructed (:meth:`RealtimeSocketProvider.construct`).

``schema.json`` at the repository root is the committed schema (the test compares it with
the inferred one). Regenerate it after changing an argument or an output::

    .venv/bin/python -m realtime_socket.provider --schema > schema.json
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import json
import sys
from collections.abc import Sequence
from typing import Any, get_args, get_origin

import pulumi
from pulumi.provider import main as serve
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from realtime_socket.component.args import RealtimeSocketArgs
from realtime_socket.component.socket import RealtimeSocket
from realtime_socket.component.spec import accepts_output, fields, is_section

__all__ = ["NAME", "REGENERATE", "RealtimeSocketProvider", "main", "schema"]

#: The package name: the first part of ``realtime-socket:index:RealtimeSocket``.
NAME = "realtime-socket"
#: The command that rewrites the committed schema.json, from the repository root.
REGENERATE = ".venv/bin/python -m realtime_socket.provider --schema > schema.json"


def _version() -> str:
    """The installed distribution's version: the schema's, and the generated SDKs'."""
    try:
        return importlib.metadata.version(NAME)
    except importlib.metadata.PackageNotFoundError:  # a bare checkout on sys.path
        return "0.0.0"


class RealtimeSocketProvider(ComponentProvider):
    """Hosts :class:`RealtimeSocket` only (``AccountLogging`` takes no args, so other
    languages create API Gateway's account role themselves)."""

    def __init__(self) -> None:
        super().__init__([RealtimeSocket], NAME, version=_version())
        self.schema = json.dumps(_tidy(json.loads(self.schema or "{}")))

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        """Build the component from another language's inputs (camelCase, plain dicts).

        Numbers arrive as doubles (protobuf's ``Struct`` has no integers) and the analyzer's
        mapping turns only top-level ones back into ``int``: :func:`_section` does it at every
        depth, where the declaration says ``int``.

        A secret nested in an object (``jwt.secret``) may arrive as the whole object marked
        secret: the engine's wire format can push secretness up to the enclosing object, and
        the analyzer's mapping would then drop the object. :func:`_spread_secret` hands it on
        as a plain dict again, its ``pulumi.Input`` fields secret.

        Raises:
            pulumi.InputPropertiesError: the arguments' problems, unwrapped from the
                analyzer's ``ComponentInitError`` so that the engine reports them per
                property, as it does for the Python constructor.
        """
        spread = {key: _spread_secret(value, key) for key, value in inputs.items()}
        try:
            return super().construct(
                name, resource_type, _section(spread, RealtimeSocketArgs), options
            )
        except ComponentInitError as error:
            if isinstance(error.inner, pulumi.InputPropertiesError):
                raise error.inner from None
            raise


def _section(values: dict[str, Any], section: type) -> dict[str, Any]:
    """Wire values of ``section`` (camelCase keys) as its declaration types them."""
    declared = {camel_case(f.key): f.type for f in fields(section)}
    return {k: _typed(v, declared[k]) if k in declared else v for k, v in values.items()}


def _typed(value: Any, tp: Any) -> Any:
    """One wire value: an integral double where an ``int`` is declared becomes an ``int``
    again (``resolve`` refuses ``512.0`` for a Lambda's memory); anything else unchanged."""
    origin = get_origin(tp)
    if is_section(tp) and isinstance(value, dict):
        return _section(value, tp)
    if origin is dict and isinstance(value, dict):
        return {k: _typed(v, get_args(tp)[1]) for k, v in value.items()}
    if origin is list and isinstance(value, list):
        return [_typed(v, get_args(tp)[0]) for v in value]
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _spread_secret(value: Any, key: str) -> Any:
    """The top-level input ``key``, its secretness moved down to the fields that take
    Outputs when it is a secret object; otherwise unchanged."""
    field = next((f for f in fields(RealtimeSocketArgs) if camel_case(f.key) == key), None)
    secret = _secret_value(value)
    if field is None or not is_section(field.type) or not isinstance(secret, dict):
        return value
    return _secret_fields(value, secret, field.type, ())


def _secret_fields(
    whole: pulumi.Output[Any], values: dict[str, Any], section: type, path: tuple[str, ...]
) -> dict[str, Any]:
    """The fields of a secret object: those that take Outputs read from ``whole`` (so they
    stay secret and keep its dependencies), the others as plain values (``resolve`` refuses
    Outputs there: they are needed before deployment)."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        field = next((f for f in fields(section) if camel_case(f.key) == key), None)
        here = (*path, key)
        if field is not None and accepts_output(field.type):
            result[key] = whole.apply(functools.partial(_dig, here))
        elif field is not None and is_section(field.type) and isinstance(value, dict):
            result[key] = _secret_fields(whole, value, field.type, here)
        else:
            result[key] = value  # an unknown key: ``resolve`` reports it
    return result


def _dig(path: tuple[str, ...], value: Any) -> Any:
    for key in path:
        value = value[key]
    return value


def _secret_value(value: Any) -> Any:
    """The value of a secret Output the server built from a wire value, else None.

    The server (``ProviderServicer._select_value``) builds it from an already resolved
    future, so it can be read without awaiting (construct is synchronous). In a preview its
    Output-taking fields may be unknown: they are only ever read through ``apply``.
    """
    if not isinstance(value, pulumi.Output):
        return None
    data = value._data
    if not data.done() or data.cancelled() or data.exception() is not None:
        return None
    resolved = data.result()
    return resolved.value if resolved.is_secret else None


def _tidy(node: Any) -> Any:
    """The schema with Markdown descriptions: docstring indentation removed, ``x`` for
    reStructuredText's ````x````, and no copy of a field's description on its items."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    tidied: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            tidied[key] = inspect.cleandoc(value).replace("``", "`")
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            tidied[key] = _tidy({k: v for k, v in value.items() if k != "description"})
        else:
            tidied[key] = _tidy(value)
    return tidied


def schema() -> str:
    """The package schema as schema.json holds it: indented JSON with a final newline."""
    return json.dumps(json.loads(RealtimeSocketProvider().schema or "{}"), indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``--schema``: print the schema; otherwise serve the provider to the Pulumi engine
    (whose address is the first argument)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--schema"]:
        sys.stdout.write(schema())
        return 0
    serve(RealtimeSocketProvider(), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
