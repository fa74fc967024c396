"""The connections table: keys, indexes, TTL, encryption and its switches."""

from __future__ import annotations

from tests.support.helpers import evaluate_socket


def test_connections_table(chat_recording):
    """A room index and a user index, always (send_to_user and request need the latter),
    each keyed by its attribute and the connection id and projecting only ``ttl``."""
    table = chat_recording.named("chat-connections-table")
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["hashKey"] == "connectionId"
    rooms, users = table.inputs["globalSecondaryIndexes"]
    for index, name, key in ((rooms, "room-index", "roomId"), (users, "user-index", "userId")):
        assert index["name"] == name
        assert index["keySchemas"] == [
            {"attributeName": key, "keyType": "HASH"},
            {"attributeName": "connectionId", "keyType": "RANGE"},
        ]
        assert (index["projectionType"], index["nonKeyAttributes"]) == ("INCLUDE", ["ttl"])
    assert sorted(a["name"] for a in table.inputs["attributes"]) == [
        "connectionId",
        "roomId",
        "userId",
    ]
    assert table.inputs["ttl"] == {"attributeName": "ttl", "enabled": True}
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["deletionProtectionEnabled"] is False


def test_table_switches():
    rec = evaluate_socket(
        "chat", table={"point_in_time_recovery": False, "deletion_protection": True}
    )
    table = rec.named("chat-connections-table")
    assert table.inputs["pointInTimeRecovery"] == {"enabled": False}
    assert table.inputs["deletionProtectionEnabled"] is True
