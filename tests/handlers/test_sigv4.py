"""The shared-work SigV4 signer signs exactly as botocore's SigV4Auth does."""

from __future__ import annotations

import datetime
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from realtime_socket.handlers.sigv4 import ConnectionsSigner, payload_hash

MOMENT = datetime.datetime(2026, 11, 29, 23, 59, 59, tzinfo=datetime.UTC)
ENDPOINT = "https://abc.execute-api.eu-west-1.amazonaws.com/live"
BODY = b'{"type":"message","data":"hi"}'


def botocore_headers(monkeypatch, creds, url, body, moment):
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: moment.replace(tzinfo=None))
    request = AWSRequest("POST", url, data=body)
    SigV4Auth(creds, "execute-api", "eu-west-1").add_auth(request)
    return {k: v for k, v in request.headers.items() if k != "Content-Length"}


def ours(signer, creds, connection_id, body, moment):
    path, block = signer.sign_post(creds, connection_id, payload_hash(body), moment.timestamp())
    assert block.endswith("\r\n")
    return path, dict(line.split(": ", 1) for line in block[:-2].split("\r\n"))


def assert_signed_as_botocore(monkeypatch, endpoint, creds, connection_id, moment=MOMENT):
    signer = ConnectionsSigner(endpoint, "eu-west-1")
    path, headers = ours(signer, creds, connection_id, BODY, moment)
    base = urlsplit(endpoint).path
    assert path == f"{base}/@connections/{quote(connection_id, safe='')}"
    origin = endpoint[: len(endpoint) - len(base)]
    assert headers == botocore_headers(monkeypatch, creds, origin + path, BODY, moment)


@pytest.mark.parametrize(
    "endpoint",
    [
        ENDPOINT,
        "https://abc.execute-api.eu-west-1.amazonaws.com:443/live",
        "https://ws.example.com:8443/prod~1",
        "http://127.0.0.1:8080/chat/live",
        "https://ws.example.com/a/./b//c",
    ],
)
@pytest.mark.parametrize("token", [None, "session-token", "FwoGZX  with   spaces"])
@pytest.mark.parametrize("connection_id", ["Cz8aXe1ZIAMCJXQ=", "a/b+=", "..", "é", ""])
def test_headers_are_botocores(monkeypatch, endpoint, token, connection_id):
    creds = Credentials("AKIDTEST", "secret/key+", token)
    assert_signed_as_botocore(monkeypatch, endpoint, creds, connection_id)


@pytest.mark.parametrize("code", range(128))
def test_every_ascii_character_in_an_id_is_encoded_as_botocore_does(monkeypatch, code):
    """The table-driven path for ASCII ids must match botocore's quote() character by
    character, in the path sent and in the path signed."""
    creds = Credentials("AKIDTEST", "secret", None)
    assert_signed_as_botocore(monkeypatch, ENDPOINT, creds, f"id{chr(code)}x")


def test_the_key_follows_the_day_and_the_credentials(monkeypatch):
    """Cached work never outlives what it was derived from: the date, the credentials."""
    url = f"{ENDPOINT}/@connections/c1"
    signer = ConnectionsSigner(ENDPOINT, "eu-west-1")
    first = Credentials("AKID1", "secret-1", "t1")
    rotated = Credentials("AKID2", "secret-2", "t2")
    steps = [
        (first, MOMENT),
        (first, MOMENT + datetime.timedelta(seconds=1)),  # the next day
        (rotated, MOMENT + datetime.timedelta(seconds=1)),  # same second, new role session
        (Credentials("AKID2", "secret-3", "t2"), MOMENT + datetime.timedelta(seconds=1)),
    ]
    for creds, moment in steps:
        _, got = ours(signer, creds, "c1", b"x", moment)
        assert got == botocore_headers(monkeypatch, creds, url, b"x", moment)
    assert "/20261130/" in got["Authorization"]


def test_a_different_body_gets_a_different_signature():
    signer, creds = ConnectionsSigner(ENDPOINT, "eu-west-1"), Credentials("A", "s")
    _, one = ours(signer, creds, "c1", b"one", MOMENT)
    _, two = ours(signer, creds, "c1", b"two", MOMENT)
    assert one["Authorization"] != two["Authorization"]
