"""Shared test helpers: events, tokens and offline evaluation of the component."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from botocore.credentials import Credentials

# One dev identity for tests and benchmarks, re-exported for the tests.
from bench.scenarios.tokens import AUDIENCE as AUDIENCE
from bench.scenarios.tokens import ISSUER as ISSUER
from bench.scenarios.tokens import SECRET as SECRET
from bench.scenarios.tokens import mint as mint
from realtime_socket import RealtimeSocket
from realtime_socket.contract import Table
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.tools.recording import Recording, evaluate

EVENTS = Path(__file__).parent / "events"
ROOT = Path(__file__).resolve().parents[2]


def load_event(name: str, **context: Any) -> dict[str, Any]:
    """An event from tests/support/events, with ``requestContext`` fields overridden."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    event["requestContext"].update(context)
    return copy.deepcopy(event)


class FakeContext:
    function_name = "test-fn"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def jwt_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "secret": SECRET}
    args.update(overrides)
    return args


def socket_program(
    name: str = "chat", on_created: Callable[[RealtimeSocket], None] | None = None, **args: Any
) -> Callable[[], None]:
    def program() -> None:
        socket = RealtimeSocket(name, {"jwt": jwt_args(), **args})  # type: ignore[typeddict-item]
        pulumi.export("url", socket.url)
        pulumi.export("management_endpoint", socket.management_endpoint)
        pulumi.export("custom_url", socket.custom_url)
        pulumi.export("table_name", socket.table_name)
        pulumi.export("api_id", socket.api_id)
        pulumi.export("stage_name", socket.stage_name)
        if on_created:
            on_created(socket)

    return program


def evaluate_socket(name: str = "chat", **args: Any) -> Recording:
    """Evaluate one RealtimeSocket under the offline engine."""
    return evaluate(socket_program(name, **args), project="realtime-socket", stack="test")


def policy_of(recording: Recording, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(recording.named(name).inputs["policy"])
    return doc


class ScriptedConnections:
    """A loopback ``@connections`` endpoint with answers scripted per connection id.

    It is the local runtime's own HTTP server with a recording backend, so the fan-out
    engine is exercised over real sockets, signing and retries included. Unscripted ids
    answer 200; ``script={"B": [429, 429]}`` answers B's first two attempts with 429.
    """

    def __init__(self, script: Mapping[str, list[int]] | None = None) -> None:
        from realtime_socket.local.management import ManagementServer

        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.posts: dict[str, list[bytes]] = {}
        self.attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ManagementServer(self)
        # The server runs on its own loop in a thread, so synchronous tests can call it.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._server.start(), self._loop).result(10)
        self.endpoint = f"http://127.0.0.1:{self._server.port}/chat/live"

    def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> int:
        with self._lock:
            self.attempts[cid] = self.attempts.get(cid, 0) + 1
            statuses = self.script.get(cid)
            status = statuses.pop(0) if statuses else 200
            if status == 200:
                self.posts.setdefault(cid, []).append(data)
        return status

    def get_connection(self, namespace: str, stage: str, cid: str) -> dict[str, Any] | None:
        return None

    def delete_connection(self, namespace: str, stage: str, cid: str) -> int:
        return 410

    def api(self, concurrency: int = 8) -> ConnectionsApi:
        creds = Credentials("AKIDTEST", "secret")
        return ConnectionsApi(self.endpoint, "us-east-1", lambda: creds, concurrency=concurrency)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.posts.get(connection_id, [])]

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def table_items(db: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item of a connections table by hash key (a Scan: for tests only)."""
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = db.scan(**kwargs)
        for item in page.get("Items", []):
            items[item["connectionId"]["S"]] = item
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def memberships(db: Any, table: str) -> set[tuple[str, str]]:
    """The (connection id, room) pairs the table's membership items record."""
    return {
        (key.split("|", 1)[0], item["roomId"]["S"])
        for key, item in table_items(db, table).items()
        if "|" in key
    }


def row_rooms(db: Any, table: str, connection_id: str) -> set[str]:
    """The rooms a connection's row lists (empty when it lists none or is gone)."""
    item = table_items(db, table).get(connection_id) or {}
    return set(item.get("rooms", {}).get("SS", []))


def put_one_room_row(
    db: Any, table: str, cid: str, room: str, user: str, *, ttl_in: int, connected_at: int = 0
) -> None:
    """A row as the one-room release wrote it: ``roomId`` on the connection row itself."""
    db.put_item(
        TableName=table,
        Item={
            Table.CONNECTION_ID: {"S": cid},
            Table.ROOM_ID: {"S": room},
            Table.USER_ID: {"S": user},
            Table.CONNECTED_AT: {"N": str(connected_at)},
            Table.TTL: {"N": str(int(time.time()) + ttl_in)},
        },
    )


def age_connections(db: Any, table: str, ids: list[str] | None = None, seconds: int = 60) -> None:
    """Move connections' ``connectedAt`` back by ``seconds`` (all connection rows, or ``ids``):
    a 410 clean-up leaves connections younger than ``CONNECTING_GRACE_SECONDS`` alone, as
    they may still be in ``$connect``, so tests of the clean-up age theirs first."""
    if ids is None:
        rows = table_items(db, table).values()
        ids = [row[Table.CONNECTION_ID]["S"] for row in rows if Table.CONNECTED_AT in row]
    for cid in ids:
        db.update_item(
            TableName=table,
            Key={Table.CONNECTION_ID: {"S": cid}},
            UpdateExpression="SET #at = #at - :aged",
            ConditionExpression="attribute_exists(#at)",
            ExpressionAttributeNames={"#at": Table.CONNECTED_AT},
            ExpressionAttributeValues={":aged": {"N": str(seconds * 1000)}},
        )


def modules_loaded_by(*modules: str) -> set[str]:
    """Every module a fresh interpreter holds after importing ``modules`` from the repository
    root: what a Lambda function or a device pays at cold start."""
    code = "import json, sys, " + ", ".join(modules) + "; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


def within(modules: set[str], *packages: str) -> set[str]:
    """The modules among ``modules`` that are one of ``packages`` or inside one."""
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


def eventually(check: Callable[[], bool], timeout: float = 10) -> bool:
    """Whether ``check`` holds within ``timeout`` seconds, asked every 50 ms: for state that
    another process writes (a handler's row, an index that catches up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


#: Where a call on the history table is recorded (in place of an index name).
HISTORY = "#history"
_TRANSACT_ACTIONS = {"Update": "UpdateItem", "Put": "PutItem", "Delete": "DeleteItem"}


def record_calls(db: Any, history_table: str) -> list[tuple[str, str | None]]:
    """Every DynamoDB action ``db`` is asked for: (operation, index, or HISTORY)."""
    seen: list[tuple[str, str | None]] = []

    def record(params, model, **_):
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, request),) = item.items()
                where = HISTORY if request["TableName"] == history_table else None
                seen.append((_TRANSACT_ACTIONS[kind], where))
            return
        where = HISTORY if params.get("TableName") == history_table else None
        seen.append((model.name, params.get("IndexName") or where))

    db.meta.events.register("provide-client-params.dynamodb", record)
    return seen
