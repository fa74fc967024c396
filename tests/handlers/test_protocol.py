"""protocol.py: the room id rule, frame encoding, the frames and the action body parser."""

from __future__ import annotations

import importlib
import json
import time

import pytest

from realtime_socket.handlers import protocol


@pytest.mark.parametrize("room", ["a", "x" * 128, "team-1_dev.eu:ops"])
def test_valid_room_ids_are_returned_unchanged(room):
    """A room id inside the rule comes back as it was given."""
    assert protocol.validate_room_id(room) == room


@pytest.mark.parametrize("room", [None, ""])
def test_a_missing_room_id_is_refused_as_required(room):
    """No room id, or an empty one, is refused with a reason that says it is required."""
    with pytest.raises(ValueError, match="room_id query parameter is required"):
        protocol.validate_room_id(room)


@pytest.mark.parametrize(
    "room", ["x" * 129, "a/b", "room id", "tab\there", "nul\u0000", "r\u00e9sum\u00e9"]
)
def test_a_malformed_room_id_is_refused_with_the_rule(room):
    """Anything outside 1-128 of letters, digits and -_.: is refused, and the reason says so."""
    with pytest.raises(ValueError, match="1-128 characters"):
        protocol.validate_room_id(room)


def test_a_room_id_ending_in_a_newline_is_refused():
    """A trailing control character is refused like any other (``room_id=lobby%0A``)."""
    with pytest.raises(ValueError):
        protocol.validate_room_id("lobby\n")


def test_encode_is_compact_utf8():
    """Frames are sent without spaces and with UTF-8 text unescaped: the bytes that are billed."""
    assert protocol.encode({"a": "\u00e9", "b": [1, 2]}) == '{"a":"\u00e9","b":[1,2]}'.encode()


def test_error_frame_has_a_type_a_stable_code_and_a_message():
    """The error frame is exactly the shape clients are told to expect."""
    assert protocol.error_frame("rate_limited", "slow down") == {
        "type": "error",
        "code": "rate_limited",
        "message": "slow down",
    }


def test_message_frames_carry_room_sender_data_a_unique_id_and_a_millisecond_time():
    """Each message frame names its room and sender, and gets its own id and a ms timestamp."""
    before = int(time.time() * 1000)
    first = protocol.message_frame("lobby", "alice", {"text": "hi"})
    second = protocol.message_frame("lobby", "alice", {"text": "hi"})
    after = int(time.time() * 1000)
    assert {k: first[k] for k in ("type", "room", "from", "data")} == {
        "type": "message",
        "room": "lobby",
        "from": "alice",
        "data": {"text": "hi"},
    }
    assert first["id"] != second["id"]
    assert before <= first["ts"] <= after
    json.dumps(first)  # JSON-serialisable as it is


@pytest.mark.parametrize("body", [None, "", "not json", "[1, 2]", '"text"', "42", "null"])
def test_anything_but_a_json_object_parses_to_none(body):
    """Only a JSON object is an action body; every other body is None."""
    assert protocol.parse_action_body(body) is None


@pytest.mark.parametrize(
    "body",
    [
        '{"data":NaN}',
        '{"data":Infinity}',
        '{"data":[-Infinity]}',
        '{"data":"\\ud800"}',
        '{"data":{"k":"x\\udfff"}}',
    ],
)
def test_what_is_not_rfc_8259_json_parses_to_none(body):
    """NaN, Infinity and a lone surrogate escape (not encodable as UTF-8) are no action body:
    other clients' JSON parsers would choke on them, or encoding would crash the handler."""
    assert protocol.parse_action_body(body) is None


def test_an_escaped_surrogate_pair_is_one_character():
    """A pair of surrogate escapes is a valid character and parses to it."""
    assert protocol.parse_action_body('{"data":"\\ud83d\\ude00"}') == {"data": "\U0001f600"}


def test_encode_refuses_nan():
    """A server-side frame holding NaN is refused rather than sent as non-JSON."""
    with pytest.raises(ValueError):
        protocol.encode({"data": float("nan")})


def test_a_json_object_parses_to_its_dict():
    """A JSON object body comes back as the dict it encodes."""
    assert protocol.parse_action_body('{"action":"ping","n":1}') == {"action": "ping", "n": 1}


@pytest.mark.parametrize("action", protocol.SUPPORTED_ACTIONS)
def test_every_supported_action_has_a_handler(action):
    """$default names the supported actions; each of them is a handler module with a handler."""
    module = importlib.import_module(f"realtime_socket.handlers.{action}")
    assert callable(module.handler)


def test_reply_is_a_supported_action() -> None:
    """Devices answer server requests with ``reply``, so $default names it among the actions."""
    assert "reply" in protocol.SUPPORTED_ACTIONS


def test_request_frame_is_type_id_and_data_only() -> None:
    """A server request carries its id for the device to echo in ``reply``, and the data."""
    frame = protocol.request_frame("0123456789abcdef" * 2, {"q": [1, "\u00e9"]})
    assert frame == {"type": "request", "id": "0123456789abcdef" * 2, "data": {"q": [1, "\u00e9"]}}
    assert json.loads(protocol.encode(frame)) == frame


def test_a_message_to_a_user_has_a_null_room() -> None:
    """A message sent to a user's connections (not to a room) carries ``"room": null``."""
    frame = protocol.message_frame(None, "backend", "hi")
    assert frame["room"] is None
    assert json.loads(protocol.encode(frame))["room"] is None
