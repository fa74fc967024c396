"""SigV4 signatures for ``@connections`` posts, with the shared work done once.

botocore's ``SigV4Auth.add_auth`` rebuilds everything for every request: about 180 µs of
CPU per post on this project's machine, most of a broadcast's cost (bench/fanout.py). Yet in
a broadcast only the connection id changes. Here the signing key is derived once per day (it
is scoped to the date, Region and service), the canonical headers and the string to sign's
prefix once per second (``X-Amz-Date`` has one-second resolution), the payload hash once per
broadcast. What is left per post is the canonical path, one SHA-256 and one HMAC (~13 µs).

The path is normalised by botocore's own ``normalize_url_path``, and
tests/handlers/test_sigv4.py checks the headers are byte-for-byte
botocore's for the same request and moment.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Protocol
from urllib.parse import quote, urlsplit

from botocore.utils import normalize_url_path

__all__ = ["ConnectionsSigner", "FrozenCredentials", "payload_hash"]

_ALGORITHM = "AWS4-HMAC-SHA256"
#: ASCII characters ``quote(c, safe="")`` changes, once and as SigV4 encodes the path again.
_QUOTED = {c: quote(chr(c), safe="") for c in range(128) if quote(chr(c), safe="") != chr(c)}
_QUOTED_TWICE = {c: quote(q, safe="/~") for c, q in _QUOTED.items()}
#: Ids the path normalisation would remove rather than keep as a segment.
_DOT_SEGMENTS = frozenset({"", ".", ".."})


class FrozenCredentials(Protocol):
    """botocore's ``ReadOnlyCredentials``: one consistent set, as Lambda's role hands out."""

    access_key: str
    secret_key: str
    token: str | None


def payload_hash(body: bytes) -> str:
    """The hex SHA-256 SigV4 signs for a body (once per broadcast: every post sends it)."""
    return hashlib.sha256(body).hexdigest()


class ConnectionsSigner:
    """Signs POSTs to one ``@connections`` endpoint; not thread-safe (one per engine)."""

    def __init__(self, endpoint: str, region: str, service: str = "execute-api") -> None:
        self.host = _canonical_host(endpoint)
        self.region = region
        self.service = service
        self.base_path = urlsplit(endpoint).path.rstrip("/") + "/@connections/"
        self._canonical_base = _canonical_path(self.base_path)
        self._key_for: tuple[str, str] | None = None  # (secret, day) the key was derived for
        self._key = b""
        self._block_for: tuple[int, str, str, str | None] | None = None  # second + credentials
        self._canonical_tail = ""
        self._to_sign_head = ""
        self._authorization_head = ""
        self._date_headers = ""

    def sign_post(
        self,
        credentials: FrozenCredentials,
        connection_id: str,
        body_hash: str,
        now: float | None = None,
    ) -> tuple[str, str]:
        """The path of ``POST @connections/<id>`` and its signed header lines.

        The header lines (``X-Amz-Date``, the token, ``Authorization``) each end with CRLF,
        ready for the request's head.
        """
        second = int(time.time() if now is None else now)
        if self._block_for != (
            second,
            credentials.access_key,
            credentials.secret_key,
            credentials.token,
        ):
            self._prepare(credentials, second)
        if connection_id.isascii() and connection_id not in _DOT_SEGMENTS:
            # API Gateway's ids (base64 letters): one table lookup per character instead of
            # quote()'s per-call work, twice (the path, then SigV4's encoding of it).
            path = self.base_path + connection_id.translate(_QUOTED)
            canonical_path = self._canonical_base + connection_id.translate(_QUOTED_TWICE)
        else:
            path = self.base_path + quote(connection_id, safe="")
            canonical_path = _canonical_path(path)
        canonical = "POST\n" + canonical_path + self._canonical_tail + body_hash
        to_sign = self._to_sign_head + hashlib.sha256(canonical.encode()).hexdigest()
        signature = hmac.digest(self._key, to_sign.encode(), "sha256").hex()
        return path, f"{self._date_headers}Authorization: {self._authorization_head}{signature}\r\n"

    def _prepare(self, credentials: FrozenCredentials, second: int) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        day = stamp[:8]
        if self._key_for != (credentials.secret_key, day):
            key = hmac.digest(f"AWS4{credentials.secret_key}".encode(), day.encode(), "sha256")
            for part in (self.region, self.service, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            self._key_for, self._key = (credentials.secret_key, day), key
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        token = credentials.token
        names = "host;x-amz-date" + (";x-amz-security-token" if token else "")
        values = f"host:{self.host}\nx-amz-date:{stamp}\n"
        if token:
            values += f"x-amz-security-token:{' '.join(token.split())}\n"
        self._canonical_tail = f"\n\n{values}\n{names}\n"  # the query string is empty
        self._to_sign_head = f"{_ALGORITHM}\n{stamp}\n{scope}\n"
        self._authorization_head = (
            f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature="
        )
        self._date_headers = f"X-Amz-Date: {stamp}\r\n"
        if token:
            self._date_headers += f"X-Amz-Security-Token: {token}\r\n"
        self._block_for = (second, credentials.access_key, credentials.secret_key, token)


def _canonical_host(endpoint: str) -> str:
    """The ``host`` value botocore signs: no default port, no user info."""
    parts = urlsplit(endpoint)
    if parts.port == {"http": 80, "https": 443}.get(parts.scheme):
        return parts.hostname or ""
    return parts.netloc.rsplit("@", 1)[-1]


def _canonical_path(path: str) -> str:
    """The path as SigV4 signs it for every service but S3: normalised, encoded again."""
    return quote(normalize_url_path(path), safe="/~")
