"""API Gateway's WebSocket decisions, sans-I/O: data in, actions out.

Each module owns one rule of the managed service and is plain functions or small classes
that never touch a socket, a process or the wall clock (times are passed in). The asyncio
layer (``local/websocket_endpoint.py`` for the WebSocket side, ``local/management.py`` for the
``@connections`` API) only performs the actions they return, as python-websockets splits
``protocol.py`` from ``asyncio/``.

- ``actions``: what the I/O layer is asked to do (accept, reject, invoke, reply, close);
- ``connection``: what API Gateway knows about one connection, and its ids;
- ``handshake``: admission of a handshake, the authorizer and the ``$connect`` outcome;
- ``authorization``: identity sources and the authorizer's policy;
- ``routing``: route selection for a frame and the integration's answer;
- ``events``: the Lambda events API Gateway builds;
- ``frames``: the frames API Gateway itself sends to a client;
- ``throttling``: the stage's token bucket;
- ``timeouts``: the idle timeout and the 2-hour cap;
- ``connections_api``: the ``@connections`` POST, GET and DELETE answers;
- ``chaos``: an opt-in transient 429 on posts, for proving retries.

The service's documented limits:
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
"""

from __future__ import annotations

__all__: list[str] = []
