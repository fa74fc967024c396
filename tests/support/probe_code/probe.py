"""Test-only Lambda handlers that expose what the local runtime hands a function."""

from __future__ import annotations

import json
import os
import threading
import time

import boto3


def echo(event, context):
    """Answer with the event itself, so tests can check its shape."""
    return {"statusCode": 200, "body": json.dumps({"type": "echo", "event": event})}


def boom(event, context):
    raise RuntimeError("unhandled failure in a handler")


def slow(event, context):
    time.sleep(30)
    return {"statusCode": 200, "body": "too late"}


def fire_and_forget(event, context):
    """Post to the caller from a thread and return at once: on Lambda the post never runs."""
    connection_id = event["requestContext"]["connectionId"]
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["MANAGEMENT_ENDPOINT"])

    def later():
        time.sleep(0.3)
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"late"}')

    threading.Thread(target=later).start()
    return {"statusCode": 200}


def version(event, context):
    return {"statusCode": 200, "body": json.dumps({"version": 1})}
