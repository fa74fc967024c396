"""Logical names of a socket's resources, derived so that every physical name fits AWS.

Pulumi auto-names a resource that has no explicit name: the logical name, ``-`` and 7 hex
digits. For a route's resources the logical name is ``<namespace>-<fragment>-<kind>``, so a
long route key would push the IAM role, the function, the permission's statement id or the
inline policy past AWS's length limits and fail only at deploy time. Here the fragment is
bounded: a key whose fragment would be too long is cut and given a short hash of the whole
key, so distinct keys keep distinct names and every physical name fits.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

__all__ = [
    "AUTONAMED_LIMITS",
    "AUTONAME_SUFFIX",
    "MAX_FRAGMENT",
    "MAX_NAMESPACE",
    "NAMESPACE_PATTERN",
    "child",
    "fit",
    "route_fragment",
]

#: What Pulumi appends to a logical name to make a physical one: ``-`` and 7 hex digits.
AUTONAME_SUFFIX: Final = 8
#: A namespace is the prefix of every name: 1-24 lowercase letters, digits or ``-``.
MAX_NAMESPACE: Final = 24
NAMESPACE_PATTERN: Final = re.compile(rf"^[a-z][a-z0-9-]{{0,{MAX_NAMESPACE - 1}}}$")
#: Auto-named resources of a route or function, by the kind that ends their logical name,
#: with AWS's limit on the physical name: IAM role 64, Lambda function 64, Lambda permission
#: statement id 100, IAM inline policy 128 (see docs/aws-limits.md).
AUTONAMED_LIMITS: Final = {"role": 64, "fn": 64, "permission": 100, "policy": 128}
#: Longest fragment that fits every kind under the longest namespace.
MAX_FRAGMENT: Final = min(
    limit - AUTONAME_SUFFIX - MAX_NAMESPACE - len(f"--{kind}")
    for kind, limit in AUTONAMED_LIMITS.items()
)
_HASH_CHARS = 6


def fit(text: str, length: int, *, source: str | None = None) -> str:
    """``text`` if it has at most ``length`` characters; else cut, with a hash of ``source``."""
    if len(text) <= length:
        return text
    digest = hashlib.sha256((source or text).encode()).hexdigest()[:_HASH_CHARS]
    return f"{text[: length - _HASH_CHARS - 1]}-{digest}"


def route_fragment(route_key: str) -> str:
    """The name fragment of a route: ``$connect`` -> ``connect``, ``orders.get`` ->
    ``orders-get``; a long key is cut to :data:`MAX_FRAGMENT` with a hash of the key."""
    fragment = re.sub(r"[^A-Za-z0-9-]", "-", route_key.lstrip("$")).lower()
    return fit(fragment, MAX_FRAGMENT, source=route_key)


def child(namespace: str, fragment: str, kind: str) -> str:
    """The logical name of one of a route's resources: ``chat-connect-role``."""
    return f"{namespace}-{fragment}-{kind}"
