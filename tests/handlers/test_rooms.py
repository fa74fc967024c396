"""Room authorization: grants, patterns, the claim's accepted shapes and its context encoding."""

from __future__ import annotations

import pytest

from realtime_socket.contract import MAX_ROOM_GRANTS_BYTES
from realtime_socket.handlers import rooms

# -- allowed ------------------------------------------------------------------------------


def test_an_exact_grant_admits_that_room_only():
    """A grant without ``*`` admits exactly the room it names."""
    assert rooms.allowed("lobby", ["lobby"])
    assert not rooms.allowed("lobby2", ["lobby"])
    assert not rooms.allowed("lob", ["lobby"])
    assert not rooms.allowed("other", ["lobby"])


def test_a_prefix_pattern_admits_every_room_starting_with_the_prefix():
    """``team-7*`` admits ``team-7`` itself and any room starting with it, nothing else."""
    grants = ["team-7*"]
    for room in ("team-7", "team-70", "team-7:ops", "team-7.eu"):
        assert rooms.allowed(room, grants), room
    for room in ("team-", "team-8", "xteam-7", "TEAM-7"):
        assert not rooms.allowed(room, grants), room


def test_a_bare_star_admits_every_valid_room():
    """``*`` alone is the empty prefix: every valid room id, but never an invalid one."""
    for room in ("a", "lobby", "x" * 128, "team-1_dev.eu:ops"):
        assert rooms.allowed(room, ["*"])
    for room in ("", "a b", "../etc", "x" * 129, "lobby\n"):
        assert not rooms.allowed(room, ["*"])


def test_no_partial_name_match():
    """A grant is neither a substring nor a suffix match, and a room is not a prefix of it."""
    assert not rooms.allowed("lobby", ["obby"])
    assert not rooms.allowed("my-lobby", ["lobby"])
    assert not rooms.allowed("lobby", ["lobby-*"])
    assert not rooms.allowed("lobby", ["lobby.extra"])


def test_matching_is_case_sensitive():
    """Room ids are case-sensitive, so grants are too."""
    assert not rooms.allowed("Lobby", ["lobby"])
    assert not rooms.allowed("lobby", ["LOBBY"])
    assert not rooms.allowed("Team-7", ["team-*"])


def test_no_grants_admit_no_room():
    """An empty grant list admits nothing (the missing and malformed claims end here)."""
    assert not rooms.allowed("lobby", [])
    assert not rooms.allowed("lobby", ())


def test_a_star_inside_a_grant_is_not_a_wildcard():
    """Only a trailing ``*`` is a pattern: ``team-*-ops`` admits neither room it might mean."""
    assert not rooms.allowed("team-7-ops", ["team-*-ops"])
    assert not rooms.allowed("team-*-ops", ["team-*-ops"])  # not a valid room id either


# -- the claim ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "grants"),
    [
        (["lobby", "team-7*"], ("lobby", "team-7*")),
        ("lobby team-7*", ("lobby", "team-7*")),
        ("lobby,team-7*", ("lobby", "team-7*")),
        (" lobby ,\tteam-7*  ", ("lobby", "team-7*")),
        ("lobby", ("lobby",)),
        (["*"], ("*",)),
        ([], ()),
        ("", ()),
        (["lobby", "lobby"], ("lobby",)),
        (["x" * 128, "x" * 128 + "*"], ("x" * 128, "x" * 128 + "*")),
    ],
)
def test_the_claim_is_a_list_or_a_separated_string(claim, grants):
    """A JSON list of grants, or one string of grants split on spaces and commas."""
    assert rooms.parse_claim(claim) == grants


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        (None, "no rooms claim"),
        (7, "is a int"),
        (True, "is a bool"),
        ({"lobby": True}, "is a dict"),
        (["lobby", 7], "not a string"),
        (["lobby", ["nested"]], "not a string"),
        (["lobby", ""], "1 invalid grant"),
        (["a b"], "1 invalid grant"),
        (["team-*-x"], "1 invalid grant"),
        (["**"], "1 invalid grant"),
        (["lobby\n"], "1 invalid grant"),
        (["x" * 129], "1 invalid grant"),
        (["r\u00e9sum\u00e9"], "1 invalid grant"),
        ("lobby;drop", "1 invalid grant"),
    ],
)
def test_a_missing_or_malformed_claim_is_refused_with_a_log_safe_reason(claim, reason):
    """Anything but a list of valid grants or a string of them grants nothing; the reason
    names the problem, never the value."""
    with pytest.raises(ValueError, match=reason) as caught:
        rooms.parse_claim(claim)
    assert "drop" not in str(caught.value)


def test_a_claim_whose_grants_encode_past_the_bound_is_refused():
    """The context carries at most MAX_ROOM_GRANTS_BYTES of grants: one more byte is refused."""
    # '["r0000",...]' : each grant is 5 characters + 2 quotes + 1 comma.
    fits = [f"r{i:04d}" for i in range((MAX_ROOM_GRANTS_BYTES - 1) // 8)]
    assert len(rooms.encode(fits)) <= MAX_ROOM_GRANTS_BYTES
    assert rooms.parse_claim(fits) == tuple(fits)
    too_many = [*fits, *(f"s{i:04d}" for i in range(8))]
    assert len(rooms.encode(too_many)) > MAX_ROOM_GRANTS_BYTES
    with pytest.raises(ValueError, match=f"more than {MAX_ROOM_GRANTS_BYTES} bytes"):
        rooms.parse_claim(too_many)


# -- the context encoding -------------------------------------------------------------------


def test_grants_round_trip_through_the_context_string():
    """encode gives API Gateway a plain string; decode gives back the same grants."""
    grants = ("lobby", "team-7*", "*")
    text = rooms.encode(grants)
    assert isinstance(text, str)
    assert text == '["lobby","team-7*","*"]'
    assert rooms.decode(text) == grants


@pytest.mark.parametrize(
    "value",
    [
        None,
        7,
        "",
        "lobby",
        "not json[",
        '{"lobby": true}',
        '"lobby"',
        '["lobby", 7]',
        '["' + "x" * MAX_ROOM_GRANTS_BYTES + '"]',
    ],
)
def test_an_unexpected_context_value_grants_nothing(value):
    """decode fails closed: whatever is not our JSON list of strings is no grant at all."""
    assert rooms.decode(value) == ()


def test_decode_drops_invalid_grants():
    """A grant that could not come from parse_claim is ignored, the valid ones kept."""
    assert rooms.decode('["lobby","a b","team-*-x","ops*"]') == ("lobby", "ops*")
