"""Arguments of :class:`realtime_socket.RealtimeSocket`: declared once, validated, resolved.

Args are TypedDicts (plain dicts at run time, so they also come straight from Pulumi config
and stay open to multi-language components). Each field declares its type, and in
``Annotated[..., Spec(...)]`` its default and bounds; the docstring after it is its doc.
:func:`resolve` checks every value against that declaration (:mod:`.spec`) plus the rules
that tie fields together, before any resource is made, and reports every problem at once
in one ``InputPropertiesError``. The README's configuration table is generated from the
same declaration (:mod:`.reference`).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, TypedDict, cast, get_args, get_origin

import pulumi

from realtime_socket import sizing
from realtime_socket.component.naming import NAMESPACE_PATTERN, route_fragment
from realtime_socket.component.spec import (
    Problems,
    Spec,
    accepts_output,
    check_section,
    fields,
    is_section,
)
from realtime_socket.contract import (
    ASYMMETRIC_ALGORITHMS,
    CARRIERS,
    DEFAULT_ALGORITHMS,
    DEFAULT_CARRIERS,
    DEFAULT_FANOUT_CONCURRENCY,
    DEFAULT_HISTORY_RETENTION_SECONDS,
    DEFAULT_LEEWAY_SECONDS,
    DEFAULT_MAX_REPLAY,
    DEFAULT_MAX_ROOMS_PER_CONNECTION,
    DEFAULT_MESSAGE_BURST,
    DEFAULT_MESSAGES_PER_SECOND,
    DEFAULT_PRESENCE_MAX_ROOM,
    DEFAULT_QUERY_PARAMETER,
    HMAC_ALGORITHMS,
    INTEGRATION_TIMEOUT_SECONDS,
    MAX_HISTORY_RETENTION_SECONDS,
    MAX_LEEWAY_SECONDS,
    MAX_PRESENCE_ROOM_BOUND,
    MAX_REPLAY_BOUND,
    MAX_ROOMS_PER_CONNECTION_BOUND,
    ROOM_GRANTS_CONTEXT_KEY,
    TOKEN_EXPIRES_CONTEXT_KEY,
)

__all__ = [
    "BUILTIN_ROUTES",
    "AlarmThresholdsArgs",
    "AlarmsArgs",
    "DomainArgs",
    "FunctionArgs",
    "HistoryArgs",
    "JwtArgs",
    "LimitsArgs",
    "MappingArgs",
    "PresenceArgs",
    "RealtimeSocketArgs",
    "ResolvedAlarmThresholds",
    "ResolvedAlarms",
    "ResolvedArgs",
    "ResolvedFunctions",
    "ResolvedHistory",
    "ResolvedJwt",
    "ResolvedLimits",
    "ResolvedPresence",
    "ResolvedRoute",
    "ResolvedTable",
    "ResolvedThrottling",
    "RouteArgs",
    "TableArgs",
    "ThrottlingArgs",
    "analyzer_view",
    "namespace_problem",
    "resolve",
]

#: Route key -> handler module in handlers/; ``reply`` routes answer through a route response.
BUILTIN_ROUTES: dict[str, tuple[str, bool]] = {
    "$connect": ("connect", False),
    "$disconnect": ("disconnect", False),
    "$default": ("default", True),
    "sendmessage": ("sendmessage", False),
    "history": ("history", False),
    "members": ("members", True),
    "subscribe": ("subscribe", True),
    "unsubscribe": ("unsubscribe", True),
    "reply": ("reply", False),
    "ping": ("ping", True),
}
_MAX_ROUTES = 300  # API Gateway's quota per API
_HOSTNAME = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_MAPPING_KEY = Spec(
    pattern=r"[A-Za-z0-9$\-_.+!*'()]{1,300}",
    hint="must be 1-300 characters of letters, digits and $-_.+!*'()",
)
#: The retention periods CloudWatch Logs accepts, in days.
_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
     2557, 2922, 3288, 3653}
)  # fmt: skip
_RETENTION = Spec(default=30, choices=_RETENTION_DAYS)


def _count(default: int) -> Spec:
    """An alarm threshold: a count of events in one period, never 0 (it would always fire)."""
    return Spec(default=default, bounds=(1, None), hint="must be an integer of at least 1")


#: RFC 7519's registered claims: none of them can list rooms.
_REGISTERED_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")


class JwtArgs(TypedDict):
    """How the ``$connect`` authorizer verifies tokens (RFC 8725 rules are enforced)."""

    issuer: Annotated[str, Spec(bounds=(1, None), hint="must be the token's iss claim value")]
    """The ``iss`` claim every token must carry."""
    audience: Annotated[
        str | list[str],
        Spec(bounds=(1, None), pattern=r".+", hint="must be a string or a list of strings"),
    ]
    """Accepted ``aud`` value(s); a token must carry one of them."""
    algorithms: NotRequired[
        Annotated[
            list[str],
            Spec(default=DEFAULT_ALGORITHMS, bounds=(1, None), hint="must pin an algorithm"),
        ]
    ]
    """Pinned algorithms: all HMAC (``HS*``) or all RSA/EC, never ``none``."""
    secret: NotRequired[
        Annotated[
            pulumi.Input[str],
            Spec(bounds=(32, None), hint="must be at least 32 characters (RFC 7518: 256 bits)"),
        ]
    ]
    """HMAC secret, ideally a Pulumi secret; stored in SSM as a SecureString, never in the
    environment."""
    secret_parameter_name: NotRequired[
        Annotated[str, Spec(pattern=r"/.+", hint="must be an SSM parameter name starting with /")]
    ]
    """An existing SSM SecureString, by name, instead of ``secret``."""
    jwks_url: NotRequired[
        Annotated[str, Spec(pattern=r"https://.+", hint="must be an https:// URL")]
    ]
    """HTTPS JWKS endpoint (Cognito, Auth0...) for RS*/ES*/PS* algorithms; fetched with a
    3 s timeout and cached 5 minutes."""
    carriers: NotRequired[
        Annotated[
            list[str],
            Spec(
                default=DEFAULT_CARRIERS,
                bounds=(1, None),
                choices=frozenset(CARRIERS),
                unique=True,
                hint=f"must be distinct values from {list(CARRIERS)}",
            ),
        ]
    ]
    """Where the token travels: ``query`` (``?token=``, works in browsers), ``header``
    (``Authorization: Bearer``), ``protocol`` (``Sec-WebSocket-Protocol``)."""
    query_parameter: NotRequired[
        Annotated[
            str,
            Spec(
                default=DEFAULT_QUERY_PARAMETER,
                pattern=r"[A-Za-z0-9_.\-]{1,64}",
                hint="must be 1-64 letters, digits or ._-",
            ),
        ]
    ]
    """Query string parameter of the ``query`` carrier."""
    context_claims: NotRequired[
        Annotated[
            list[str],
            Spec(
                default=(),
                pattern=rf"(?!(sub|principalId|{ROOM_GRANTS_CONTEXT_KEY}|"
                rf"{TOKEN_EXPIRES_CONTEXT_KEY})$)"
                r"[A-Za-z0-9_:.\-]{1,64}",
                hint="must be claim names (1-64 letters, digits or _:.-), not sub, "
                f"principalId, {ROOM_GRANTS_CONTEXT_KEY} or {TOKEN_EXPIRES_CONTEXT_KEY}",
            ),
        ]
    ]
    """Scalar claims copied into the authorizer context beside ``sub``."""
    rooms_claim: NotRequired[
        Annotated[
            str,
            Spec(
                pattern=rf"(?!({'|'.join(_REGISTERED_CLAIMS)})$)[A-Za-z0-9_:./\-]{{1,128}}",
                hint="must be a claim name (1-128 letters, digits or _:./-), not one of "
                f"{', '.join(_REGISTERED_CLAIMS)}",
                shown="unset (open rooms)",
            ),
        ]
    ]
    """The claim listing the rooms a token may join: room ids and ``prefix*`` patterns
    (``*`` alone grants every room; matching is exact and case-sensitive), as a list or one
    string separated by spaces or commas. ``$connect`` answers 403 for a room it does not
    grant, and when the claim is missing or malformed. Unset: any valid token can join any
    room."""
    leeway_seconds: NotRequired[
        Annotated[int, Spec(default=DEFAULT_LEEWAY_SECONDS, bounds=(0, MAX_LEEWAY_SECONDS))]
    ]
    """Clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""


class ThrottlingArgs(TypedDict):
    """The stage's default route throttling."""

    burst_limit: NotRequired[Annotated[int, Spec(default=500, bounds=(0, 5000))]]
    """Requests the stage takes at once (the account allows a burst of 5,000)."""
    rate_limit: NotRequired[Annotated[float, Spec(default=1000, bounds=(0, 10000))]]
    """Steady requests per second (the account allows 10,000)."""


class DomainArgs(TypedDict):
    """A custom domain of the socket's own: REGIONAL, TLS 1.2; with a hosted zone, a
    DNS-validated certificate and an alias record are made."""

    name: Annotated[str, Spec(pattern=_HOSTNAME, hint="must be a lowercase DNS name")]
    """For example ``ws.example.com``."""
    certificate_arn: NotRequired[
        Annotated[
            pulumi.Input[str], Spec(pattern=r"arn:aws.*", hint="must be an ACM certificate ARN")
        ]
    ]
    """An existing ACM certificate in the API's region."""
    hosted_zone_id: NotRequired[pulumi.Input[str]]
    """Route 53 zone for the validation and alias records, instead of ``certificate_arn``."""
    mapping_key: NotRequired[Annotated[str, _MAPPING_KEY]]
    """Path under the domain: ``wss://ws.example.com/<key>``."""


class MappingArgs(TypedDict):
    """An API mapping onto a custom domain that already exists (shared by namespaces)."""

    domain_name: Annotated[
        pulumi.Input[str], Spec(pattern=_HOSTNAME, hint="must be a lowercase DNS name")
    ]
    """The shared domain."""
    mapping_key: Annotated[str, _MAPPING_KEY]
    """This namespace's path under it."""


class LimitsArgs(TypedDict):
    """Abuse limits the handlers enforce."""

    messages_per_second: NotRequired[
        Annotated[float, Spec(default=DEFAULT_MESSAGES_PER_SECOND, bounds=(0, 1000))]
    ]
    """Per-connection ``sendmessage`` rate; ``0`` disables the limit."""
    message_burst: NotRequired[
        Annotated[int, Spec(default=DEFAULT_MESSAGE_BURST, bounds=(1, 10000))]
    ]
    """Messages a connection may send at once before the rate applies."""
    max_connections_per_user: NotRequired[
        Annotated[int, Spec(default=0, bounds=(0, 100000), shown="`0` (no cap)")]
    ]
    """Live connections per verified ``sub``, counted on the table's user index."""
    max_rooms_per_connection: NotRequired[
        Annotated[
            int,
            Spec(
                default=DEFAULT_MAX_ROOMS_PER_CONNECTION,
                bounds=(1, MAX_ROOMS_PER_CONNECTION_BOUND),
            ),
        ]
    ]
    """Rooms one connection may be in at once (``?room_id=`` plus ``subscribe``); past it
    ``subscribe`` answers ``too_many_rooms``. The connection row lists its rooms and every
    ``sendmessage`` rewrites that row, so long lists cost write units (one per KB)."""
    allowed_origins: NotRequired[
        Annotated[
            list[str],
            Spec(
                default=(),
                pattern=r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?",
                hint="must be scheme://host[:port] values, with no path",
                shown="any",
            ),
        ]
    ]
    """Browser ``Origin`` values allowed to connect (against cross-site WebSocket
    hijacking); clients that send no ``Origin`` (servers, devices) are always allowed."""
    expected_room_size: NotRequired[
        Annotated[int, Spec(default=0, bounds=(0, 1_000_000), shown="`0` (no expectation)")]
    ]
    """Connections you expect in the largest room: ``pulumi up`` warns when
    ``functions.memory_mb`` and ``functions.timeout_seconds`` cannot broadcast to a room this
    large in one invocation (the model is ``realtime_socket/sizing.py``)."""


class TableArgs(TypedDict):
    """The connections and history tables."""

    point_in_time_recovery: NotRequired[Annotated[bool, Spec(default=True)]]
    """Continuous backups of the tables."""
    deletion_protection: NotRequired[Annotated[bool, Spec(default=False)]]
    """Refuse to delete the tables."""


class HistoryArgs(TypedDict):
    """Room history: what a reconnecting client can replay with ``history``."""

    retention_seconds: NotRequired[
        Annotated[
            int,
            Spec(
                default=DEFAULT_HISTORY_RETENTION_SECONDS,
                bounds=(0, MAX_HISTORY_RETENTION_SECONDS),
                shown="`3600` (1 hour)",
            ),
        ]
    ]
    """How long each room message stays replayable; ``0`` stores none (messages still get
    ``seq``). Each stored message costs write units per KB (see Data model)."""
    max_replay: NotRequired[
        Annotated[int, Spec(default=DEFAULT_MAX_REPLAY, bounds=(1, MAX_REPLAY_BOUND))]
    ]
    """Messages one ``history`` request replays; the client asks again for more."""


class PresenceArgs(TypedDict):
    """Join and leave events; ``members`` answers whatever these are."""

    events: NotRequired[Annotated[bool, Spec(default=True)]]
    """Tell a room's connections when a user's first connection enters it and when the
    last one leaves (``{"type":"presence",…}``)."""
    max_room_for_events: NotRequired[
        Annotated[int, Spec(default=DEFAULT_PRESENCE_MAX_ROOM, bounds=(1, MAX_PRESENCE_ROOM_BOUND))]
    ]
    """Rooms with more connections than this get no events: each event is one post per
    connection, made by the subscribe, unsubscribe or disconnect that caused it."""


class FunctionArgs(TypedDict):
    """Settings shared by every Lambda function of the socket."""

    architecture: NotRequired[Annotated[Literal["arm64", "x86_64"], Spec(default="arm64")]]
    """CPU architecture; dependencies are packaged for it (arm64 is cheaper per GB-s)."""
    runtime: NotRequired[Annotated[Literal["python3.12", "python3.13"], Spec(default="python3.12")]]
    """Lambda's Python runtime."""
    memory_mb: NotRequired[Annotated[int, Spec(default=256, bounds=(128, 10240))]]
    """Memory per function, in MB (CPU grows with it)."""
    timeout_seconds: NotRequired[
        Annotated[int, Spec(default=10, bounds=(1, INTEGRATION_TIMEOUT_SECONDS))]
    ]
    """Function timeout; at most API Gateway's integration limit of 29 s."""
    log_retention_days: NotRequired[Annotated[int, _RETENTION]]
    """Retention of each function's log group, in days."""
    fanout_concurrency: NotRequired[
        Annotated[int, Spec(default=DEFAULT_FANOUT_CONCURRENCY, bounds=(1, 256))]
    ]
    """Posts in flight per broadcast (measured in bench/fanout.py)."""
    fanout_share: NotRequired[
        Annotated[
            int, Spec(default=0, bounds=(0, 1_000_000), shown="`0` (from memory and timeout)")
        ]
    ]
    """Posts one invocation makes; a larger room's broadcast is split across fan-out worker
    invocations. 0: the largest room ``functions.memory_mb`` and ``functions.timeout_seconds``
    serve (``realtime_socket/sizing.py``)."""


class RouteArgs(TypedDict):
    """An extra action route (``{"action": "<route key>"}``)."""

    handler: Annotated[
        str,
        Spec(
            pattern=r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+",
            hint="must be module.function",
        ),
    ]
    """``module.function``: in this package (``realtime_socket.handlers.ping.handler``) or
    in ``code``."""
    code: NotRequired[str]
    """Folder with the caller's own code; default: this package's handlers."""
    permissions: NotRequired[Annotated[list[Literal["read", "write", "publish"]], Spec(default=())]]
    """``read`` (GetItem, Query on the room index), ``write`` (Put/Update/DeleteItem),
    ``publish`` (POST to ``@connections``)."""
    reply: NotRequired[Annotated[bool, Spec(default=False)]]
    """Send the function's return body back to the caller (a route response)."""
    environment: NotRequired[
        Annotated[
            dict[str, str],
            Spec(
                default={},
                pattern=r"[A-Za-z][A-Za-z0-9_]{0,127}",
                hint="must map variable names (a letter, then letters, digits or _) to strings",
            ),
        ]
    ]
    """Extra environment variables of the route's function."""


class AlarmThresholdsArgs(TypedDict):
    """Per alarm kind: the count in one 5-minute period at which the alarm fires."""

    execution_errors: NotRequired[Annotated[int, _count(1)]]
    """API Gateway could not call a function (it failed, timed out or was throttled):
    ``ExecutionError``, always this side's fault."""
    integration_errors: NotRequired[Annotated[int, _count(10)]]
    """Functions answered 4xx/5xx: ``IntegrationError``. Handshakes ``$connect`` refuses
    (a bad origin or room, too many connections) count too, so one is not an outage."""
    function_errors: NotRequired[Annotated[int, _count(1)]]
    """Invocations of one function that failed (an exception, a timeout): Lambda ``Errors``."""
    function_throttles: NotRequired[Annotated[int, _count(1)]]
    """Invocations of one function that Lambda refused for concurrency: ``Throttles``."""
    table_throttles: NotRequired[Annotated[int, _count(1)]]
    """Requests one table throttled, over every operation the handlers use."""
    fanout_failures: NotRequired[Annotated[int, _count(10)]]
    """Posts to ``@connections`` that failed after the handlers' retries (the handlers'
    ``Failed`` metric); clients recover such messages with ``history``."""


class AlarmsArgs(TypedDict):
    """CloudWatch alarms that notify an SNS topic."""

    topic_arn: NotRequired[
        Annotated[
            pulumi.Input[str],
            Spec(pattern=r"arn:aws[a-z-]*:sns:.+", hint="must be an SNS topic ARN"),
        ]
    ]
    """An existing SNS topic to notify (alarm and back to OK)."""
    create_topic: NotRequired[Annotated[bool, Spec(default=False)]]
    """Create a topic for this namespace instead; subscribe to it after ``pulumi up``."""
    thresholds: NotRequired[AlarmThresholdsArgs]
    """Counts in 5 minutes at which each kind of alarm fires."""


class RealtimeSocketArgs(TypedDict):
    """Everything a :class:`RealtimeSocket` can be told; only ``jwt`` is required."""

    jwt: JwtArgs
    """How the ``$connect`` authorizer verifies tokens; the only required argument."""
    stage_name: NotRequired[
        Annotated[
            str,
            Spec(default="live", pattern=r"[A-Za-z0-9_\-]{1,128}", hint="must be 1-128 "
                 "letters, digits, - or _"),
        ]
    ]  # fmt: skip
    """The stage, the last part of the URL."""
    route_selection_expression: NotRequired[
        Annotated[
            str,
            Spec(
                default="$request.body.action",
                pattern=r"\$request\.body\..+",
                hint="must look like $request.body.<field>",
            ),
        ]
    ]
    """Where API Gateway reads a frame's route key."""
    routes: NotRequired[
        Annotated[
            dict[str, RouteArgs],
            Spec(
                default={},
                pattern=r"[A-Za-z0-9_.:\-]{1,128}",
                hint="route keys are 1-128 letters, digits or _.:- and never start with $",
            ),
        ]
    ]
    """Extra action routes beside the built-in ones, by route key."""
    throttling: NotRequired[ThrottlingArgs]
    """The stage's default route throttling."""
    logging_level: NotRequired[Annotated[Literal["OFF", "ERROR", "INFO"], Spec(default="ERROR")]]
    """Execution logging; needs the account's CloudWatch role (``AccountLogging``)."""
    data_trace: NotRequired[Annotated[bool, Spec(default=False)]]
    """Log full message bodies: keep it off in production (they may hold personal data)."""
    detailed_metrics: NotRequired[Annotated[bool, Spec(default=True)]]
    """Per-route CloudWatch metrics."""
    access_log_retention_days: NotRequired[Annotated[int, _RETENTION]]
    """Retention of the stage's JSON access logs, in days."""
    domain: NotRequired[DomainArgs]
    """An own domain: ``{name, certificate_arn | hosted_zone_id, mapping_key?}``."""
    mapping: NotRequired[MappingArgs]
    """A mapping onto a domain shared with other namespaces: ``{domain_name, mapping_key}``."""
    table: NotRequired[TableArgs]
    """The connections and history tables."""
    history: NotRequired[HistoryArgs]
    """Room history and resume."""
    presence: NotRequired[PresenceArgs]
    """Who is in a room: join and leave events."""
    functions: NotRequired[FunctionArgs]
    """Settings shared by every Lambda function of the socket."""
    limits: NotRequired[LimitsArgs]
    """Abuse limits the handlers enforce."""
    alarms: NotRequired[AlarmsArgs]
    """Alarms on API Gateway errors, each function's errors and throttles, table throttles
    and failed fan-out posts, notifying ``topic_arn`` or a topic of its own
    (``create_topic``). Off unless one is given: CloudWatch bills $0.10 a month per metric an
    alarm reads, about $4.40 for a namespace with the built-in routes."""
    dashboard: NotRequired[Annotated[bool, Spec(default=True)]]
    """A CloudWatch dashboard of the namespace: connections, messages, fan-out latency,
    errors and table usage. On by default because it is usually free: an account's first
    3 dashboards of up to 50 metrics cost nothing (this one reads about 23); each further
    one costs $3 a month."""
    tags: NotRequired[Annotated[dict[str, str], Spec(default={})]]
    """Tags on every resource that takes them, beside ``realtime-socket:namespace``."""


# -- the view Pulumi's component analyzer reads ----------------------------------------------


@functools.cache
def analyzer_view(cls: type) -> type:
    """The TypedDict ``cls`` as Pulumi's component analyzer can read it, derived from its
    declaration.

    The analyzer (``pulumi.provider.experimental``) infers the multi-language schema from
    evaluated annotations, and knows neither ``Annotated`` (where each field's ``Spec``
    lives) nor ``Literal`` nor unions other than ``pulumi.Input``. The view has the same
    name, module, qualified name and docstring, so the analyzer reads every field's doc from
    this module's source, and plain types: a ``Literal`` as its values' type (``resolve``
    still checks the values), ``str | list[str]`` as the list, each section as its view.
    """
    annotations: dict[str, Any] = {}
    for field in fields(cls):
        tp = _analyzer_type(field.type)
        annotations[field.key] = tp if field.required else NotRequired[tp]
    view = cast(Any, TypedDict)(cls.__name__, annotations)
    view.__module__, view.__qualname__ = cls.__module__, cls.__qualname__
    view.__doc__ = cls.__doc__
    return cast(type, view)


def _analyzer_type(tp: Any) -> Any:
    """One field's type in the analyzer's vocabulary (see :func:`analyzer_view`)."""
    origin = get_origin(tp)
    if is_section(tp):
        return analyzer_view(tp)
    if origin is Literal:
        return type(get_args(tp)[0])
    if origin is list:
        return types.GenericAlias(list, (_analyzer_type(get_args(tp)[0]),))
    if origin is dict:
        key, value = get_args(tp)
        return types.GenericAlias(dict, (key, _analyzer_type(value)))
    if origin in (typing.Union, types.UnionType) and not accepts_output(tp):
        members = get_args(tp)
        lists = [m for m in members if get_origin(m) is list]
        return _analyzer_type(lists[0] if lists else members[0])
    return tp


# -- resolved arguments: the declaration's values with every default filled in --------------


@dataclass(frozen=True)
class ResolvedJwt:
    issuer: str
    audience: tuple[str, ...]
    algorithms: tuple[str, ...]
    secret: pulumi.Input[str] | None
    secret_parameter_name: str | None
    jwks_url: str | None
    carriers: tuple[str, ...]
    query_parameter: str
    context_claims: tuple[str, ...]
    rooms_claim: str | None
    leeway_seconds: int

    @property
    def is_hmac(self) -> bool:
        return set(self.algorithms) <= HMAC_ALGORITHMS


@dataclass(frozen=True)
class ResolvedRoute:
    key: str
    handler: str
    code: str | None
    permissions: tuple[str, ...]
    reply: bool
    environment: Mapping[str, str]

    @property
    def name_fragment(self) -> str:
        """The route's part of its resources' names (``chat-<fragment>-fn``)."""
        return route_fragment(self.key)


@dataclass(frozen=True)
class ResolvedThrottling:
    burst_limit: int
    rate_limit: float


@dataclass(frozen=True)
class ResolvedTable:
    point_in_time_recovery: bool
    deletion_protection: bool


@dataclass(frozen=True)
class ResolvedHistory:
    retention_seconds: int
    max_replay: int


@dataclass(frozen=True)
class ResolvedPresence:
    events: bool
    max_room_for_events: int

    @property
    def max_room(self) -> int:
        """What the handlers are told: the cap, or 0 when events are off."""
        return self.max_room_for_events if self.events else 0


@dataclass(frozen=True)
class ResolvedFunctions:
    architecture: str
    runtime: str
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    fanout_concurrency: int
    fanout_share: int

    @property
    def posts_per_invocation(self) -> int:
        """``fanout_share``, or what the sizing model gives this memory and timeout."""
        if self.fanout_share:
            return self.fanout_share
        model = sizing.FanoutModel(concurrency=self.fanout_concurrency)
        return model.posts_per_invocation(self.memory_mb, self.timeout_seconds)


@dataclass(frozen=True)
class ResolvedLimits:
    messages_per_second: float
    message_burst: int
    max_connections_per_user: int
    max_rooms_per_connection: int
    allowed_origins: tuple[str, ...]
    expected_room_size: int


@dataclass(frozen=True)
class ResolvedAlarmThresholds:
    execution_errors: int
    integration_errors: int
    function_errors: int
    function_throttles: int
    table_throttles: int
    fanout_failures: int


@dataclass(frozen=True)
class ResolvedAlarms:
    topic_arn: pulumi.Input[str] | None
    create_topic: bool
    thresholds: ResolvedAlarmThresholds

    @property
    def enabled(self) -> bool:
        """Alarms exist only with somewhere to send them: they are not free."""
        return self.topic_arn is not None or self.create_topic


@dataclass(frozen=True)
class ResolvedArgs:
    """Validated args with every default filled in, nested like the args."""

    name: str
    jwt: ResolvedJwt
    stage_name: str
    route_selection_expression: str
    routes: tuple[ResolvedRoute, ...]
    throttling: ResolvedThrottling
    logging_level: str
    data_trace: bool
    detailed_metrics: bool
    access_log_retention_days: int
    domain: Mapping[str, Any] | None
    mapping: Mapping[str, Any] | None
    table: ResolvedTable
    history: ResolvedHistory
    presence: ResolvedPresence
    functions: ResolvedFunctions
    limits: ResolvedLimits
    alarms: ResolvedAlarms
    dashboard: bool
    tags: Mapping[str, str]


# -- rules that tie fields together ------------------------------------------------------------


def namespace_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a namespace, or None: it prefixes every resource name."""
    if isinstance(name, str) and NAMESPACE_PATTERN.fullmatch(name):
        return None
    return f"must be 1-24 lowercase letters, digits or -, starting with a letter; got {name!r}"


def _check_key_source(problems: Problems, jwt: Mapping[str, Any], given: list[str]) -> None:
    """HMAC verifies with one shared secret, RSA/EC with a JWKS; never both, never none."""
    algorithms = set(jwt["algorithms"])
    if any(a.lower() == "none" for a in algorithms):
        problems.add("jwt.algorithms", "'none' is never accepted")
    elif algorithms <= HMAC_ALGORITHMS:
        if "jwks_url" in given:
            problems.add("jwt.jwks_url", "HMAC algorithms verify with a shared secret, not JWKS")
        if not {"secret", "secret_parameter_name"} & set(given):
            problems.add("jwt.secret", "HMAC algorithms need secret or secret_parameter_name")
    elif algorithms <= ASYMMETRIC_ALGORITHMS:
        if "jwks_url" not in given:
            problems.add("jwt.jwks_url", "RSA/EC algorithms need a JWKS URL")
        if {"secret", "secret_parameter_name"} & set(given):
            problems.add("jwt.secret", "a shared secret cannot verify RSA/EC algorithms")
    else:
        unknown = sorted(algorithms - HMAC_ALGORITHMS - ASYMMETRIC_ALGORITHMS)
        reason = f"unsupported: {unknown}" if unknown else "HMAC and RSA/EC must never be mixed"
        problems.add("jwt.algorithms", reason)
    if len(given) > 1:
        problems.add("jwt", f"give exactly one key source, got {given}")


def _check_domain(problems: Problems, args: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    if args.get("domain") is not None and args.get("mapping") is not None:
        problems.add("domain", "give either domain (own domain) or mapping (shared), not both")
    domain = values["domain"]
    if domain and domain["certificate_arn"] is None and domain["hosted_zone_id"] is None:
        problems.add("domain", "needs certificate_arn, or hosted_zone_id to validate a new one")


def _check_alarms(problems: Problems, alarms: Mapping[str, Any] | None) -> None:
    """One place to send alarms to: an existing topic or a new one, not both."""
    if alarms and alarms["topic_arn"] is not None and alarms["create_topic"]:
        problems.add(
            "alarms", "give either topic_arn (an existing topic) or create_topic, not both"
        )


def _routes(problems: Problems, extra: Mapping[str, Any]) -> tuple[ResolvedRoute, ...]:
    """The built-in routes, then the extra ones; names must stay distinct."""
    routes = [
        ResolvedRoute(key, f"realtime_socket.handlers.{module}.handler", None, (), reply, {})
        for key, (module, reply) in BUILTIN_ROUTES.items()
    ]
    fragments = {route.name_fragment for route in routes}
    for key, spec in extra.items():
        if key in BUILTIN_ROUTES:
            problems.add(f"routes.{key}", "is a built-in route")
            continue
        if spec is None:
            continue  # already reported
        route = ResolvedRoute(
            key=key,
            handler=spec["handler"] or "",
            code=spec["code"],
            permissions=tuple(dict.fromkeys(spec["permissions"])),
            reply=spec["reply"],
            environment=dict(spec["environment"]),
        )
        if route.name_fragment in fragments:
            problems.add(
                f"routes.{key}",
                f"resource name fragment {route.name_fragment!r} collides with another route",
            )
        fragments.add(route.name_fragment)
        routes.append(route)
    if len(routes) > _MAX_ROUTES:
        problems.add("routes", f"API Gateway allows at most {_MAX_ROUTES} routes per API")
    return tuple(routes)


def resolve(name: str, args: Mapping[str, Any]) -> ResolvedArgs:
    """Validate ``args`` for a socket called ``name`` and fill in the defaults.

    Raises:
        pulumi.InputPropertiesError: listing every problem found, one per line.
    """
    problems = Problems()
    reason = namespace_problem(name)
    if reason:
        problems.add("name", reason)
    values = check_section(problems, "", RealtimeSocketArgs, args)
    routes: tuple[ResolvedRoute, ...] = ()
    if values is not None:
        raw_jwt = args.get("jwt")
        if values["jwt"] is not None and isinstance(raw_jwt, Mapping):
            given = [k for k in ("secret", "secret_parameter_name", "jwks_url") if raw_jwt.get(k)]
            _check_key_source(problems, values["jwt"], given)
        _check_domain(problems, args, values)
        _check_alarms(problems, values["alarms"])
        routes = _routes(problems, values["routes"] or {})
    problems.raise_if_any(f"RealtimeSocket {name!r}")
    assert values is not None
    return ResolvedArgs(
        name=name,
        jwt=ResolvedJwt(**values["jwt"]),
        stage_name=values["stage_name"],
        route_selection_expression=values["route_selection_expression"],
        routes=routes,
        throttling=ResolvedThrottling(**values["throttling"]),
        logging_level=values["logging_level"],
        data_trace=values["data_trace"],
        detailed_metrics=values["detailed_metrics"],
        access_log_retention_days=values["access_log_retention_days"],
        domain=values["domain"],
        mapping=values["mapping"],
        table=ResolvedTable(**values["table"]),
        history=ResolvedHistory(**values["history"]),
        presence=ResolvedPresence(**values["presence"]),
        functions=ResolvedFunctions(**values["functions"]),
        limits=ResolvedLimits(**values["limits"]),
        alarms=ResolvedAlarms(
            topic_arn=values["alarms"]["topic_arn"],
            create_topic=values["alarms"]["create_topic"],
            thresholds=ResolvedAlarmThresholds(**values["alarms"]["thresholds"]),
        ),
        dashboard=values["dashboard"],
        tags=dict(values["tags"]),
    )
