"""The contract between the component, the Lambda code, the local runtime and the CLI.

Every name and number that crosses a boundary is written here once: the environment
variables the component sets and the handlers read, the table's key, attribute and index
names, API Gateway's limits, the token rules and the defaults. The module imports nothing
but the standard library, because it ships inside every Lambda artifact.

AWS facts the numbers come from are in ``docs/aws-limits.md`` with links to AWS's pages.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "ASYNC_INVOKE_PAYLOAD_BYTES",
    "CARRIERS",
    "CONNECTIONS_API_ERRORS",
    "CONNECTION_TTL_SECONDS",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_CARRIERS",
    "DEFAULT_FANOUT_CONCURRENCY",
    "DEFAULT_HISTORY_RETENTION_SECONDS",
    "DEFAULT_LEEWAY_SECONDS",
    "DEFAULT_MAX_REPLAY",
    "DEFAULT_MAX_ROOMS_PER_CONNECTION",
    "DEFAULT_MESSAGES_PER_SECOND",
    "DEFAULT_MESSAGE_BURST",
    "DEFAULT_PRESENCE_MAX_ROOM",
    "DEFAULT_QUERY_PARAMETER",
    "HMAC_ALGORITHMS",
    "IDLE_TIMEOUT_SECONDS",
    "INTEGRATION_TIMEOUT_SECONDS",
    "MAX_CONNECTION_SECONDS",
    "MAX_FRAME_BYTES",
    "MAX_HISTORY_RETENTION_SECONDS",
    "MAX_LEEWAY_SECONDS",
    "MAX_MESSAGE_BYTES",
    "MAX_PRESENCE_ROOM_BOUND",
    "MAX_REPLAY_BOUND",
    "MAX_REPLY_BYTES",
    "MAX_ROOMS_PER_CONNECTION_BOUND",
    "MAX_ROOM_GRANTS_BYTES",
    "MAX_TOKEN_BYTES",
    "REQUEST_ID_PATTERN",
    "REQUEST_TTL_MARGIN_SECONDS",
    "ROOM_GRANTS_CONTEXT_KEY",
    "ROOM_ID_PATTERN",
    "ROOM_PATTERN_SUFFIX",
    "SUBPROTOCOL",
    "TOKEN_EXPIRES_CONTEXT_KEY",
    "Env",
    "History",
    "Metrics",
    "Table",
]


class Env:
    """Environment variable names: set by the component, read by the handlers."""

    TABLE_NAME: Final = "TABLE_NAME"
    ROOM_INDEX_NAME: Final = "ROOM_INDEX_NAME"
    USER_INDEX_NAME: Final = "USER_INDEX_NAME"
    MANAGEMENT_ENDPOINT: Final = "MANAGEMENT_ENDPOINT"
    CONNECTION_TTL_SECONDS: Final = "CONNECTION_TTL_SECONDS"
    FANOUT_CONCURRENCY: Final = "FANOUT_CONCURRENCY"
    #: The ``RealtimeSocket``'s name (``chat``): the metrics' ``Namespace`` dimension. Set on
    #: every function; Pulumi suffixes physical names, so the function's own cannot stand in.
    SOCKET_NAMESPACE: Final = "SOCKET_NAMESPACE"
    #: The fan-out worker function a big broadcast hands shares of its room to; unset: the
    #: receiving invocation posts to the whole room itself.
    FANOUT_FUNCTION: Final = "FANOUT_FUNCTION"
    #: Posts one invocation makes; a room beyond it is split across fan-out workers
    #: (``functions.fanout_share``, by default from ``realtime_socket/sizing.py``).
    FANOUT_SHARE: Final = "FANOUT_SHARE"
    #: Per-connection sendmessage rate (``limits.messages_per_second``), 0 disables it.
    MESSAGES_PER_SECOND: Final = "MESSAGES_PER_SECOND"
    #: Messages a connection may send at once (``limits.message_burst``).
    MESSAGE_BURST: Final = "MESSAGE_BURST"
    MAX_CONNECTIONS_PER_USER: Final = "MAX_CONNECTIONS_PER_USER"
    #: Rooms one connection may be in at once (``limits.max_rooms_per_connection``).
    MAX_ROOMS_PER_CONNECTION: Final = "MAX_ROOMS_PER_CONNECTION"
    ALLOWED_ORIGINS: Final = "ALLOWED_ORIGINS"
    JWT_ALGORITHMS: Final = "JWT_ALGORITHMS"
    JWT_ISSUER: Final = "JWT_ISSUER"
    JWT_AUDIENCE: Final = "JWT_AUDIENCE"
    JWT_CARRIERS: Final = "JWT_CARRIERS"
    JWT_QUERY_PARAMETER: Final = "JWT_QUERY_PARAMETER"
    JWT_CONTEXT_CLAIMS: Final = "JWT_CONTEXT_CLAIMS"
    #: The claim listing the rooms a token may join (``jwt.rooms_claim``); set on the
    #: authorizer (which reads the claim) and the route functions (``$connect`` enforces
    #: it). Empty or unset: rooms are open.
    JWT_ROOMS_CLAIM: Final = "JWT_ROOMS_CLAIM"
    #: The room history table: every room's seq counter and its stored messages.
    HISTORY_TABLE_NAME: Final = "HISTORY_TABLE_NAME"
    #: How long a message stays replayable (``history.retention_seconds``); 0: not stored.
    HISTORY_RETENTION_SECONDS: Final = "HISTORY_RETENTION_SECONDS"
    #: Messages one ``history`` request replays at most (``history.max_replay``).
    HISTORY_MAX_REPLAY: Final = "HISTORY_MAX_REPLAY"
    #: Rooms of at most this many connections get presence events
    #: (``presence.max_room_for_events``); 0: ``presence.events`` is off.
    PRESENCE_MAX_ROOM: Final = "PRESENCE_MAX_ROOM"
    JWT_LEEWAY_SECONDS: Final = "JWT_LEEWAY_SECONDS"
    JWT_JWKS_URL: Final = "JWT_JWKS_URL"
    JWT_SECRET_PARAMETER: Final = "JWT_SECRET_PARAMETER"  # noqa: S105 - a name, not a secret


class Table:
    """The connections table: key, attributes and indexes.

    Three kinds of item share the hash key ``connectionId``:

    - the connection row, keyed by the connection id: ``userId``, ``connectedAt``, ``ttl``,
      the rate limiter's attributes and ``rooms``, the string set of rooms it is in. It has
      no ``roomId``, so it is not in the room index.
    - one membership per (connection, room), keyed ``<connection id>|<room>``
      (:data:`MEMBERSHIP_SEPARATOR`) with ``roomId`` and the row's ``ttl``: the room index
      lists exactly these, so a broadcast Queries only the room's members.
    - one pending server request, keyed ``request#<id>`` (:data:`REQUEST_PREFIX`): the
      connections it was sent to (``targets``), a short ``ttl`` and, once a device answers,
      ``reply`` (the answer's JSON) and ``repliedBy``. It has neither ``roomId`` nor
      ``userId``, so neither index lists it.

    A row written before several rooms per connection (``roomId`` on the row itself, no
    ``|`` in its key) is still a member of its room: the fan-out reads the key's part
    before ``|``, which is the whole key.
    """

    #: Hash key: API Gateway's connection id, or ``<connection id>|<room>`` for a membership.
    CONNECTION_ID: Final = "connectionId"
    #: The room of a membership item (hash key of the room index).
    ROOM_ID: Final = "roomId"
    #: The connection row's string set of the rooms it is in (absent when it is in none).
    ROOMS: Final = "rooms"
    #: The verified ``sub`` of the connection's token (on the connection row only, so the
    #: user index counts connections, not memberships).
    USER_ID: Final = "userId"
    #: Epoch milliseconds.
    CONNECTED_AT: Final = "connectedAt"
    #: Epoch seconds; DynamoDB's TTL attribute, on every item.
    TTL: Final = "ttl"
    #: A pending request's connections (string set): only these may answer it.
    TARGETS: Final = "targets"
    #: A pending request's answer: the ``data`` of the ``reply`` frame, as JSON text.
    REPLY: Final = "reply"
    #: The connection that answered a pending request.
    REPLIED_BY: Final = "repliedBy"
    #: Starts a pending request's key; connection ids (base64) never contain ``#``.
    REQUEST_PREFIX: Final = "request#"
    #: Between the connection id and the room in a membership's key: room ids cannot hold
    #: it (:data:`ROOM_ID_PATTERN`) and connection ids (base64) never do.
    MEMBERSHIP_SEPARATOR: Final = "|"
    #: GSI hash ``roomId``, range ``connectionId``, projecting only ``ttl``.
    ROOM_INDEX: Final = "room-index"
    #: GSI hash ``userId``, range ``connectionId``, projecting only ``ttl``: a user's
    #: connections, for ``send_to_user``, ``request`` and the per-user connection cap.
    USER_INDEX: Final = "user-index"


class Metrics:
    """CloudWatch metrics the handlers emit (Embedded Metric Format) and the alarms and the
    dashboard read: one namespace, dimensioned by the socket's namespace name."""

    NAMESPACE: Final = "RealtimeSocket"
    #: The dimension every metric carries: the ``RealtimeSocket``'s name (``chat``).
    DIMENSION: Final = "Namespace"
    #: A refusal's reason, on ``REFUSED`` only.
    REASON_DIMENSION: Final = "Reason"
    #: Per broadcast (sendmessage, a fan-out worker's share, Publisher): posts that got 2xx,
    #: 410 Gone, failed after retries, and the retries made.
    DELIVERED: Final = "Delivered"
    GONE: Final = "Gone"
    FAILED: Final = "Failed"
    RETRIES: Final = "Retries"
    #: Seconds one broadcast's posting took (a unit of Seconds).
    FANOUT_SECONDS: Final = "FanoutSeconds"
    #: Shares handed to fan-out workers.
    HANDOFFS: Final = "Handoffs"
    #: ``$connect`` accepted, and connects or messages refused (with ``Reason``).
    CONNECTS: Final = "Connects"
    REFUSED: Final = "Refused"


class History:
    """The room history table: hash ``roomId``, range ``seq`` (a number).

    - the counter ``(R, 0)``: ``last``, the last seq given in room R. It has no ``ttl``, so
      a room's seq never starts over, however long it is silent.
    - one message ``(R, n)`` per stored message: ``frame``, the message frame as sent (JSON
      text, with its ``seq``), and ``ttl``, when it leaves retention.

    The counter and the message are written in one transaction, so stored seqs have no
    gaps, and a strongly consistent Query reads a room's messages in seq order.
    """

    ROOM_ID: Final = "roomId"
    SEQ: Final = "seq"
    #: The counter's attribute: the last seq given in the room.
    LAST: Final = "last"
    #: A stored message's frame, as JSON text.
    FRAME: Final = "frame"
    TTL: Final = "ttl"
    #: The counter's range key value; messages start at 1.
    COUNTER_SEQ: Final = 0


# -- API Gateway's WebSocket limits -----------------------------------------------------------

#: A message (all its frames) and a ``@connections`` POST body; larger is close 1009 / 413.
MAX_MESSAGE_BYTES: Final = 128 * 1024
#: One WebSocket frame; larger closes the connection with 1009.
MAX_FRAME_BYTES: Final = 32 * 1024
#: API Gateway closes every connection after 2 hours.
MAX_CONNECTION_SECONDS: Final = 2 * 3600
#: ...and after 10 minutes without a message.
IDLE_TIMEOUT_SECONDS: Final = 10 * 60
#: An integration (a Lambda invocation) answers within 29 seconds or fails.
INTEGRATION_TIMEOUT_SECONDS: Final = 29
#: Rows outlive the 2-hour cap by 10 minutes, so a late ``$disconnect`` still finds them;
#: then DynamoDB's TTL removes what ``$disconnect`` missed.
CONNECTION_TTL_SECONDS: Final = MAX_CONNECTION_SECONDS + 600

#: The ``@connections`` API's error types by HTTP status (the ``x-amzn-ErrorType`` header):
#: the local runtime answers with them and the fan-out engine names failures by them.
CONNECTIONS_API_ERRORS: Final = {
    400: "BadRequestException",
    403: "ForbiddenException",
    404: "NotFoundException",
    410: "GoneException",
    413: "PayloadTooLargeException",
    429: "LimitExceededException",
}

# -- tokens ------------------------------------------------------------------------------------

HMAC_ALGORITHMS: Final = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
DEFAULT_ALGORITHMS: Final = ("HS256",)
#: Where a token may travel: ``Authorization: Bearer``, ``?token=``, ``Sec-WebSocket-Protocol``.
CARRIERS: Final = ("header", "query", "protocol")
#: Browsers cannot set headers on a WebSocket handshake; the query string works everywhere.
DEFAULT_CARRIERS: Final = ("query",)
DEFAULT_QUERY_PARAMETER: Final = "token"
DEFAULT_LEEWAY_SECONDS: Final = 5
MAX_LEEWAY_SECONDS: Final = 30
#: Anything longer is refused before parsing; API Gateway's own header limit is 10 KB.
MAX_TOKEN_BYTES: Final = 8192

# -- the client protocol -----------------------------------------------------------------------

#: Room ids: 1-128 letters, digits and ``-_.:``; keeps keys, logs and URLs unambiguous.
#: Use ``fullmatch``: ``match`` would let ``$`` accept a trailing newline.
ROOM_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
#: The application subprotocol a browser offers beside its token
#: (``new WebSocket(url, ["realtime-socket", token])``); ``$connect`` echoes it.
SUBPROTOCOL: Final = "realtime-socket"

# -- server requests and device replies --------------------------------------------------------

#: A request id: 32 lowercase hex digits (a UUID4's ``hex``). Use ``fullmatch``.
REQUEST_ID_PATTERN: Final = re.compile(r"[0-9a-f]{32}")
#: The most bytes a ``reply`` frame's ``data`` may encode to (compact JSON). Browsers send a
#: message as one frame, and API Gateway closes a frame over 32 KB with 1009: this leaves
#: 256 bytes for the ``{"action":"reply","id":…,"data":…}`` envelope, so every reply within
#: the limit fits one frame. The answer is stored in the pending request's item (a write
#: unit per KB). Larger answers are ``reply_too_large``.
MAX_REPLY_BYTES: Final = MAX_FRAME_BYTES - 256
#: A pending request's item lives this long past the caller's timeout (DynamoDB's TTL then
#: removes it if the caller died before deleting it); the reply handler ignores it past
#: ``ttl`` either way.
REQUEST_TTL_MARGIN_SECONDS: Final = 60

# -- room authorization (``jwt.rooms_claim``) ---------------------------------------------------

#: A grant ending in this matches every room that starts with what precedes it; ``*`` alone
#: matches every room. Anything else matches one room exactly (case-sensitive).
ROOM_PATTERN_SUFFIX: Final = "*"
#: The authorizer context key holding the token's room grants as a compact JSON list of
#: strings (context values must be strings, numbers or booleans). Token claims copied by
#: ``jwt.context_claims`` may not use this name.
ROOM_GRANTS_CONTEXT_KEY: Final = "roomGrants"
#: The authorizer context key holding the token's ``exp`` (epoch seconds): every later event
#: of the connection carries it, so each handler can refuse a connection whose token has
#: expired, and ``$connect`` ends the connection's rows with it. ``jwt.context_claims`` may
#: not use this name either.
TOKEN_EXPIRES_CONTEXT_KEY: Final = "tokenExpires"  # noqa: S105 - a name, not a secret
#: Most bytes the encoded grants may take in the authorizer's answer, which API Gateway
#: caps at 8 KB in all; a claim whose grants encode longer grants no room.
MAX_ROOM_GRANTS_BYTES: Final = 2048

# -- defaults the component applies and the handlers fall back to ------------------------------

#: Posts in flight per broadcast (``bench/fanout.py`` measured the curve).
DEFAULT_FANOUT_CONCURRENCY: Final = 64
#: Lambda's request payload quota for asynchronous invocations (``InvocationType=Event``):
#: a fan-out worker's share of a room must fit in it beside the frame.
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
ASYNC_INVOKE_PAYLOAD_BYTES: Final = 256 * 1024
DEFAULT_MESSAGES_PER_SECOND: Final = 10
DEFAULT_MESSAGE_BURST: Final = 20
#: Rooms one connection may be in at once (``limits.max_rooms_per_connection``).
DEFAULT_MAX_ROOMS_PER_CONNECTION: Final = 20
#: How long a room message stays replayable (``history.retention_seconds``): an hour covers
#: the 2-hour reconnect and ordinary network drops with room to spare.
DEFAULT_HISTORY_RETENTION_SECONDS: Final = 3600
#: At most a week: resuming after longer is a reload, not a replay.
MAX_HISTORY_RETENTION_SECONDS: Final = 7 * 24 * 3600
#: Messages one ``history`` request replays (``history.max_replay``); the client asks again
#: from the last one for more.
DEFAULT_MAX_REPLAY: Final = 500
#: Each replayed message is one ``@connections`` POST within the 29-second integration.
MAX_REPLAY_BOUND: Final = 1000
#: Presence events go to rooms of at most this many connections
#: (``presence.max_room_for_events``): each join or leave is one POST per member.
DEFAULT_PRESENCE_MAX_ROOM: Final = 1000
#: A join in a room this big is that many POSTs inside the subscribe that caused it.
MAX_PRESENCE_ROOM_BOUND: Final = 10_000
#: The most ``limits.max_rooms_per_connection`` accepts: the connection row carries the
#: set, and every ``sendmessage`` updates that row (one write unit per KB), so 100 rooms of
#: up to 128 bytes keep it near 13 KB at worst; a disconnect deletes at most 4 batches.
MAX_ROOMS_PER_CONNECTION_BOUND: Final = 100
