"""Tokens: the three carriers on the wire, and a provider asked again on every reconnect."""

from __future__ import annotations

import asyncio
from typing import get_args
from urllib.parse import parse_qs, urlsplit

import pytest

from realtime_socket.client import Carrier, ClientOptions, connect
from realtime_socket.client.auth import Credentials, token_claims
from realtime_socket.contract import CARRIERS
from tests.client.support import FAST, next_events, token, until, url
from tests.support.runtime_harness import RunningRuntime


def test_each_carrier_puts_the_token_where_the_readme_says() -> None:
    """query replaces a token already in the URL and keeps the rest; protocol offers
    ["realtime-socket", token]; header sends Authorization: Bearer."""

    async def main() -> None:
        base = "ws://h/chat?room_id=lobby&token=old"
        query = await Credentials("T", "query").handshake(base)
        assert parse_qs(urlsplit(query.url).query) == {"room_id": ["lobby"], "token": ["T"]}
        assert (query.headers, query.subprotocols) == ({}, None)
        protocol = await Credentials("T", "protocol").handshake("ws://h/chat")
        assert (protocol.url, protocol.subprotocols) == ("ws://h/chat", ["realtime-socket", "T"])
        header = await Credentials("T", "header").handshake("ws://h/chat")
        assert header.headers == {"Authorization": "Bearer T"} and header.url == "ws://h/chat"
        named = await Credentials("T", "query", "jwt").handshake("ws://h/chat")
        assert urlsplit(named.url).query == "jwt=T"
        carried = await Credentials(None).handshake(base)
        assert (carried.url, carried.token) == (base, "old")

    asyncio.run(main())
    assert set(get_args(Carrier)) == set(CARRIERS)
    with pytest.raises(ValueError, match="carrier"):
        Credentials("T", "cookie")  # type: ignore[arg-type]


def test_a_provider_may_be_sync_or_async_and_must_return_a_string() -> None:
    """Plain and async providers both work; one returning a non-string raises TypeError."""

    async def async_token() -> str:
        return "A"

    async def main() -> None:
        assert await Credentials(lambda: "S").token() == "S"
        assert await Credentials(async_token).token() == "A"
        with pytest.raises(TypeError, match="not str"):
            await Credentials(lambda: 42).token()  # type: ignore[arg-type,return-value]

    asyncio.run(main())


def test_token_claims_reads_a_jwt_unverified_and_nothing_else() -> None:
    """A JWT's sub is read without its key; anything else has no claims."""
    assert token_claims(token("zoe"))["sub"] == "zoe"
    assert token_claims("not.a-jwt") == {} and token_claims("") == {}


@pytest.mark.parametrize("carrier", CARRIERS)
def test_every_carrier_connects_and_a_reconnect_asks_the_provider_again(
    rt: RunningRuntime, carrier: Carrier
) -> None:
    """With each carrier (``chat`` accepts all three), a sync provider is called once per
    connection: again after a drop, and the new connection sends as the same user."""
    calls: list[str] = []

    def provider() -> str:
        calls.append(token(f"via-{carrier}"))
        return calls[-1]

    async def main() -> None:
        room = f"carried-{carrier}"
        async with connect(
            url(rt), token=provider, rooms=[room], carrier=carrier, options=FAST
        ) as client:
            assert (await client.send(room, 1)).user == f"via-{carrier}"
            assert client._link is not None
            client._link.abort()
            await until(lambda: client.connections == 2)
            assert len(calls) == 2
            again = await client.send(room, 2)
            assert (again.user, again.seq) == (f"via-{carrier}", 2)
            assert [m.seq for m in await next_events(client, 2)] == [1, 2]  # type: ignore[union-attr]

    asyncio.run(main())


def test_a_provider_token_is_renewed_before_it_expires(rt: RunningRuntime) -> None:
    """Tokens valid for expiry_margin + 3 s: the client opens a new connection (asking the
    provider) two to three seconds in, long before the server would close it, and its
    messages continue exactly once across the switch."""
    margin = 60.0
    calls: list[str] = []

    def provider() -> str:
        calls.append(token("renewer", ttl=margin + 3))
        return calls[-1]

    async def main() -> None:
        options = ClientOptions(expiry_margin=margin, backoff_base=0.02, answer_timeout=10)
        async with connect(url(rt), token=token("warmer"), rooms=["renewed"], options=FAST):
            pass  # cold functions could take longer than the token's 3 s to connect
        async with connect(url(rt), token=provider, rooms=["renewed"], options=options) as client:
            first = await client.send("renewed", "before")
            await until(lambda: client.connections == 2)
            assert len(calls) == 2
            second = await client.send("renewed", "after")
            assert await next_events(client, 2) == [first, second]

    asyncio.run(main())
