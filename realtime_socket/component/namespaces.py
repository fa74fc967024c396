"""Turn the stack's Pulumi config into one ``RealtimeSocketArgs`` per namespace.

Config (``Pulumi.<stack>.yaml``, project ``realtime-socket``)::

    realtime-socket:jwt:          {issuer, audience, algorithms?, carriers?, ...}  (JwtArgs)
    realtime-socket:jwtSecret:    secret string (HS*), set with `pulumi config set --secret`
    realtime-socket:defaults:     RealtimeSocketArgs fields shared by every namespace
    realtime-socket:namespaces:   [{name, ...RealtimeSocketArgs fields}, ...]

Keys inside the objects are the component's own argument names (snake_case), so the
configuration reference and the component reference are one and the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pulumi

from realtime_socket.component.args import RealtimeSocketArgs, namespace_problem

__all__ = ["namespaces_from_config"]


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: a namespace's nested settings refine the defaults."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def namespaces_from_config(config: pulumi.Config) -> list[tuple[str, RealtimeSocketArgs]]:
    """Read and check the namespaces list; the component validates each one's settings.

    Raises:
        pulumi.InputPropertiesError: the list is missing, malformed or has duplicate names.
    """
    raw = config.get_object("namespaces")
    jwt = dict(config.get_object("jwt") or {})
    defaults = config.get_object("defaults") or {}
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, list) or not raw:
        problems.append(("namespaces", "must be a non-empty list of {name: ...} objects"))
        raw = []
    if not isinstance(defaults, Mapping):
        problems.append(("defaults", "must be an object of RealtimeSocketArgs fields"))
        defaults = {}
    if not (jwt.get("jwks_url") or jwt.get("secret_parameter_name")):
        secret = config.get_secret("jwtSecret")
        if secret is None:
            problems.append(
                ("jwtSecret", "is required for HMAC tokens: pulumi config set --secret jwtSecret")
            )
        else:
            jwt["secret"] = secret
    seen: set[str] = set()
    result: list[tuple[str, RealtimeSocketArgs]] = []
    for index, entry in enumerate(raw):
        path = f"namespaces[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            problems.append((path, "must be an object with a name"))
            continue
        name = entry["name"]
        reason = namespace_problem(name)
        if reason:
            problems.append((f"{path}.name", reason))
        if name in seen:
            problems.append((f"{path}.name", f"duplicate namespace {name!r}"))
        seen.add(name)
        settings = _merge(defaults, {k: v for k, v in entry.items() if k != "name"})
        settings["jwt"] = _merge(jwt, settings.get("jwt", {}))
        result.append((name, cast(RealtimeSocketArgs, settings)))
    if problems:
        lines = "\n".join(f"  - {p}: {r}" for p, r in problems)
        raise pulumi.InputPropertiesError(
            f"stack config has {len(problems)} problem(s):\n{lines}",
            [{"property_path": p, "reason": r} for p, r in problems],
        )
    return result
