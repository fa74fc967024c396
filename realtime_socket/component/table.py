"""The connections table: one row per live connection, found by room or by user through an
index."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws

from realtime_socket.component.args import ResolvedArgs
from realtime_socket.component.scope import Scope
from realtime_socket.contract import History, Table

__all__ = ["connections_table", "history_table"]


def _index(name: str, key: str) -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    """A GSI keyed by ``key`` that projects only ``ttl``: reads stay a few bytes per row."""
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=name,
        key_schemas=[
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                attribute_name=key, key_type="HASH"
            ),
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                attribute_name=Table.CONNECTION_ID, key_type="RANGE"
            ),
        ],
        projection_type="INCLUDE",
        non_key_attributes=[Table.TTL],
    )


def _kept(scope: Scope, cfg: ResolvedArgs) -> dict[str, Any]:
    """What both tables share: on-demand billing, TTL on ``ttl`` (both name it so),
    encryption, the backup and deletion switches of ``table``, the namespace's tags."""
    return {
        "billing_mode": "PAY_PER_REQUEST",
        "ttl": aws.dynamodb.TableTtlArgs(attribute_name=Table.TTL, enabled=True),
        "server_side_encryption": aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        "point_in_time_recovery": aws.dynamodb.TablePointInTimeRecoveryArgs(
            enabled=cfg.table.point_in_time_recovery
        ),
        "deletion_protection_enabled": cfg.table.deletion_protection,
        "tags": scope.tags,
        "opts": scope.opts(),
    }


def connections_table(scope: Scope, cfg: ResolvedArgs) -> aws.dynamodb.Table:
    """On-demand, encrypted, with TTL; a room index and a user index.

    The user index serves ``send_to_user`` and ``request`` (and the per-user connection
    cap). Adding it to a table deployed without it is an in-place update: DynamoDB
    backfills a new index online.
    """
    keys = [Table.CONNECTION_ID, Table.ROOM_ID, Table.USER_ID]
    return aws.dynamodb.Table(
        f"{scope.name}-connections-table",
        hash_key=Table.CONNECTION_ID,
        attributes=[aws.dynamodb.TableAttributeArgs(name=key, type="S") for key in keys],
        global_secondary_indexes=[
            _index(Table.ROOM_INDEX, Table.ROOM_ID),
            _index(Table.USER_INDEX, Table.USER_ID),
        ],
        **_kept(scope, cfg),
    )


def history_table(scope: Scope, cfg: ResolvedArgs) -> aws.dynamodb.Table:
    """Each room's seq counter and stored messages: hash ``roomId``, range ``seq``, so one
    strongly consistent Query reads a room's messages in seq order; TTL ends retention."""
    return aws.dynamodb.Table(
        f"{scope.name}-history-table",
        hash_key=History.ROOM_ID,
        range_key=History.SEQ,
        attributes=[
            aws.dynamodb.TableAttributeArgs(name=History.ROOM_ID, type="S"),
            aws.dynamodb.TableAttributeArgs(name=History.SEQ, type="N"),
        ],
        **_kept(scope, cfg),
    )
