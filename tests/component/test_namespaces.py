"""Stack config becomes one argument set per namespace, with every config problem at once."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from realtime_socket.component.namespaces import namespaces_from_config
from realtime_socket.tools.recording import evaluate
from tests.support.helpers import AUDIENCE, ISSUER, SECRET

JWT = {"issuer": ISSUER, "audience": AUDIENCE}


def read(**config: Any) -> list[tuple[str, Any]]:
    """``namespaces_from_config`` over ``realtime-socket:<key>`` values (JSON unless a string)."""
    found: list[tuple[str, Any]] = []

    def program() -> None:
        found.extend(namespaces_from_config(pulumi.Config("realtime-socket")))

    values = {
        f"realtime-socket:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
    }
    evaluate(
        program,
        project="realtime-socket",
        stack="test",
        config=values,
        secret_keys=["realtime-socket:jwtSecret"],
    )
    return found


def test_each_namespace_refines_the_defaults_and_shares_the_jwt():
    """Nested settings merge key by key over the defaults; every namespace gets the jwt."""
    found = read(
        jwt=JWT,
        jwtSecret=SECRET,
        defaults={"throttling": {"burst_limit": 100, "rate_limit": 50}, "stage_name": "v1"},
        namespaces=[
            {"name": "chat", "throttling": {"burst_limit": 7}},
            {"name": "alerts", "jwt": {"leeway_seconds": 5}},
        ],
    )
    assert [name for name, _ in found] == ["chat", "alerts"]
    chat, alerts = (dict(settings) for _, settings in found)
    assert chat["throttling"] == {"burst_limit": 7, "rate_limit": 50}
    assert alerts["throttling"] == {"burst_limit": 100, "rate_limit": 50}
    assert chat["stage_name"] == alerts["stage_name"] == "v1"
    assert alerts["jwt"]["leeway_seconds"] == 5 and "leeway_seconds" not in chat["jwt"]
    for settings in (chat, alerts):
        assert (settings["jwt"]["issuer"], settings["jwt"]["audience"]) == (ISSUER, AUDIENCE)
        assert isinstance(settings["jwt"]["secret"], pulumi.Output)  # still a Pulumi secret


def test_every_config_problem_is_reported_at_once():
    """A bad list, bad defaults and a missing secret are one error, each problem by its path."""
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        read(
            jwt=JWT,
            defaults=["not", "an", "object"],
            namespaces=[{"name": "Chat"}, {"name": "ok"}, {"name": "ok"}, {"nome": "x"}],
        )
    assert {e["property_path"] for e in caught.value.errors or []} == {
        "defaults",
        "jwtSecret",
        "namespaces[0].name",
        "namespaces[2].name",
        "namespaces[3]",
    }
    assert "5 problem(s)" in caught.value.message


@pytest.mark.parametrize(
    "key_source",
    [{"jwks_url": "https://idp.example.com/jwks"}, {"secret_parameter_name": "/team/jwt"}],
)
def test_a_key_source_other_than_a_secret_needs_no_jwt_secret(key_source):
    """With a JWKS URL or an existing parameter, no jwtSecret is asked for or added."""
    ((name, settings),) = read(jwt={**JWT, **key_source}, namespaces=[{"name": "chat"}])
    assert name == "chat"
    assert settings["jwt"] == {**JWT, **key_source}
