"""The token: where it comes from before each connection, and how it travels.

API Gateway checks the token only at ``$connect`` and a connection lives no longer than its
token, so a long-lived client asks its provider for a token before every (re)connect. The
carriers are README's ``jwt.carriers`` table: ``query`` (``?token=``, the default),
``protocol`` (``Sec-WebSocket-Protocol: realtime-socket, <token>``) and ``header``
(``Authorization: Bearer <token>``).
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from realtime_socket.contract import CARRIERS, DEFAULT_QUERY_PARAMETER, SUBPROTOCOL

__all__ = ["Carrier", "Credentials", "Handshake", "TokenProvider", "token_claims"]

#: A token, or a function (plain or async) that returns a fresh one.
TokenProvider = str | Callable[[], str] | Callable[[], Awaitable[str]]
Carrier = Literal["query", "protocol", "header"]


@dataclass(frozen=True)
class Handshake:
    """What one connection attempt sends: the URL, extra headers and subprotocols."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    subprotocols: list[str] | None = None
    token: str = field(default="", repr=False)


class Credentials:
    """A token provider and its carrier; :meth:`handshake` is called before each connect."""

    def __init__(
        self,
        token: TokenProvider | None,
        carrier: Carrier = "query",
        query_parameter: str = DEFAULT_QUERY_PARAMETER,
    ) -> None:
        if carrier not in CARRIERS:
            raise ValueError(f"carrier must be one of {', '.join(CARRIERS)}, not {carrier!r}")
        self._token = token
        self.carrier = carrier
        self.query_parameter = query_parameter

    @property
    def refreshable(self) -> bool:
        """Whether a new attempt may bring a different token (a provider, not a string)."""
        return callable(self._token)

    async def token(self) -> str | None:
        provided = self._token() if callable(self._token) else self._token
        if inspect.isawaitable(provided):
            provided = await provided
        if provided is not None and not isinstance(provided, str):
            raise TypeError(f"the token provider returned {type(provided).__name__}, not str")
        return provided

    async def handshake(self, url: str) -> Handshake:
        token = await self.token()
        if token is None:  # the URL carries it already, or the namespace needs none
            query = dict(parse_qsl(urlsplit(url).query))
            return Handshake(url, token=query.get(self.query_parameter, ""))
        if self.carrier == "protocol":
            return Handshake(url, subprotocols=[SUBPROTOCOL, token], token=token)
        if self.carrier == "header":
            return Handshake(url, headers={"Authorization": f"Bearer {token}"}, token=token)
        return Handshake(_with_query(url, self.query_parameter, token), token=token)


def _with_query(url: str, name: str, value: str) -> str:
    """``url`` with the query parameter ``name`` set to ``value`` (replacing any)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def token_claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the server verifies it): the client reads ``sub`` to
    recognise its own messages. Empty for anything that is not a JWT."""
    try:
        payload = token.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return decoded if isinstance(decoded, dict) else {}
