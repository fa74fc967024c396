"""Deliver one payload to many connections through the @connections API.

Posts run on a bounded thread pool (the client's HTTP pool is sized to match, see
``clients.management_api``). A 410 Gone removes *that target's* row, never the sender's;
any other failure is counted and logged and the rest of the broadcast goes on. botocore's
standard retry mode has already retried 429 and 5xx answers before we see them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

__all__ = ["FanoutResult", "broadcast", "post"]


@dataclass
class FanoutResult:
    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def post(client: ApiGatewayManagementApiClient, connection_id: str, data: bytes) -> str:
    """Post to one connection; return ``"ok"``, ``"gone"`` or an error code."""
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=data)
    except client.exceptions.GoneException:
        # Caught before ClientError on purpose: the AWS Python sample does it the other way
        # round and its cleanup never runs.
        return "gone"
    except ClientError as exc:
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    except BotoCoreError as exc:
        return type(exc).__name__
    return "ok"


def broadcast(
    client: ApiGatewayManagementApiClient,
    targets: Iterable[str],
    data: bytes,
    concurrency: int,
    on_gone: Callable[[str], None],
) -> FanoutResult:
    """Post ``data`` to every target with at most ``concurrency`` posts in flight."""
    result = FanoutResult()
    ids = list(targets)
    if not ids:
        return result
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(ids)))) as pool:
        outcomes = list(pool.map(lambda cid: post(client, cid, data), ids))
    for cid, outcome in zip(ids, outcomes, strict=True):
        if outcome == "ok":
            result.delivered += 1
        elif outcome == "gone":
            result.gone.append(cid)
            on_gone(cid)
        else:
            result.failed[cid] = outcome
            print(
                json.dumps({"event": "post_failed", "connectionId": cid, "error": outcome}),
                file=sys.stdout,
                flush=True,
            )
    return result
