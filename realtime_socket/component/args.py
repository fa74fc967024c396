"""Arguments of :class:`realtime_socket.RealtimeSocket`, their defaults and their validation.

Args are TypedDicts (plain dicts at run time, so they also come straight from Pulumi config
and stay open to multi-language components). :func:`resolve` checks every plain value before
any resource is made and reports every problem at once in one ``InputPropertiesError``.
Values that are Pulumi Outputs (a secret, a certificate ARN from another resource) are
passed through unchecked: they are unknown until deployment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

import pulumi

__all__ = [
    "BUILTIN_ROUTES",
    "DomainArgs",
    "FunctionArgs",
    "JwtArgs",
    "LimitsArgs",
    "MappingArgs",
    "RealtimeSocketArgs",
    "ResolvedArgs",
    "RouteArgs",
    "TableArgs",
    "ThrottlingArgs",
    "resolve",
]

# Mirrors handlers/tokens.py (the component never imports Lambda code); a test keeps them equal.
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
CARRIERS = ("header", "query", "protocol")
MAX_LEEWAY_SECONDS = 30

#: Route key -> handler module in handlers/; ``reply`` routes answer through a route response.
BUILTIN_ROUTES: dict[str, tuple[str, bool]] = {
    "$connect": ("connect", False),
    "$disconnect": ("disconnect", False),
    "$default": ("default", True),
    "sendmessage": ("sendmessage", False),
    "ping": ("ping", True),
}

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
_ROUTE_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_STAGE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MAPPING_KEY = re.compile(r"^[A-Za-z0-9$\-_.+!*'()]{1,300}$")
_CLAIM = re.compile(r"^[A-Za-z0-9_:.\-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_RETENTION_DAYS = frozenset(
    {
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    }
)
_RUNTIMES = ("python3.12", "python3.13")
_PERMISSIONS = ("read", "write", "publish")
_MAX_ROUTES = 300  # API Gateway quota per API


class JwtArgs(TypedDict):
    """How the ``$connect`` authorizer verifies tokens (RFC 8725 rules are enforced)."""

    issuer: str
    """Required ``iss`` claim value."""
    audience: str | list[str]
    """Accepted ``aud`` value(s); a token must carry one of them."""
    algorithms: NotRequired[list[str]]
    """Pinned algorithms, all HMAC (HS*) or all RSA/EC; default ``["HS256"]``."""
    secret: NotRequired[pulumi.Input[str]]
    """HMAC secret, ideally a Pulumi secret; stored as an SSM SecureString, never in env."""
    secret_parameter_name: NotRequired[str]
    """Use an existing SSM SecureString (by name) instead of ``secret``."""
    jwks_url: NotRequired[str]
    """HTTPS JWKS endpoint (Cognito, Auth0...) for RSA/EC algorithms."""
    carriers: NotRequired[list[Literal["header", "query", "protocol"]]]
    """Where the token travels: ``header`` (Authorization: Bearer), ``query`` (``?token=``),
    ``protocol`` (Sec-WebSocket-Protocol). Default ``["query"]``, which browsers can use."""
    query_parameter: NotRequired[str]
    """Query parameter of the ``query`` carrier; default ``token``."""
    context_claims: NotRequired[list[str]]
    """Extra claims copied into the authorizer context beside ``sub``."""
    leeway_seconds: NotRequired[int]
    """Clock skew tolerance, 0-30 s; default 5."""


class ThrottlingArgs(TypedDict):
    """Stage default route throttling (the account allows 10,000 rps, burst 5,000)."""

    burst_limit: NotRequired[int]
    """Default 500."""
    rate_limit: NotRequired[float]
    """Requests per second; default 1000."""


class DomainArgs(TypedDict):
    """A custom domain owned by this socket (REGIONAL, TLS 1.2)."""

    name: str
    """For example ``ws.example.com``."""
    certificate_arn: NotRequired[pulumi.Input[str]]
    """An existing ACM certificate in the API's region; else one is made, DNS-validated."""
    hosted_zone_id: NotRequired[pulumi.Input[str]]
    """Route53 zone: validation records and an alias record are created in it."""
    mapping_key: NotRequired[str]
    """Optional path under the domain (``wss://ws.example.com/<key>``)."""


class MappingArgs(TypedDict):
    """An API mapping onto a custom domain that already exists (shared by namespaces)."""

    domain_name: pulumi.Input[str]
    mapping_key: str


class LimitsArgs(TypedDict):
    """Abuse limits enforced by the handlers."""

    messages_per_second: NotRequired[float]
    """Per-connection sendmessage rate, 0 to disable; default 10."""
    message_burst: NotRequired[int]
    """Messages a connection may send at once before the rate applies; default 20."""
    max_connections_per_user: NotRequired[int]
    """Live connections per verified ``sub``; 0 (default) for no cap. Adds a user index."""
    allowed_origins: NotRequired[list[str]]
    """Browser ``Origin`` values allowed to connect (against cross-site WebSocket
    hijacking); default: any. Clients that send no Origin (servers, devices) are allowed."""


class TableArgs(TypedDict):
    point_in_time_recovery: NotRequired[bool]
    """Default True."""
    deletion_protection: NotRequired[bool]
    """Default False."""


class FunctionArgs(TypedDict):
    """Settings shared by every Lambda function of the socket."""

    architecture: NotRequired[Literal["arm64", "x86_64"]]
    """Default ``arm64`` (cheaper per GB-second)."""
    runtime: NotRequired[str]
    """``python3.12`` (default) or ``python3.13``."""
    memory_mb: NotRequired[int]
    """128-10240; default 256."""
    timeout_seconds: NotRequired[int]
    """1-29 (API Gateway's integration limit); default 10."""
    log_retention_days: NotRequired[int]
    """A CloudWatch retention value; default 30."""
    fanout_concurrency: NotRequired[int]
    """Posts in flight per broadcast, 1-256; default 64 (see bench/fanout.py)."""


class RouteArgs(TypedDict):
    """An extra action route (``{"action": "<route key>"}``)."""

    handler: str
    """``module.function``: in this package (``realtime_socket.handlers.ping.handler``) or
    in ``code``."""
    code: NotRequired[str]
    """Folder with the caller's own code; default: this package's handlers/."""
    permissions: NotRequired[list[Literal["read", "write", "publish"]]]
    """``read`` (GetItem/Query), ``write`` (Put/Update/DeleteItem), ``publish`` (POST)."""
    reply: NotRequired[bool]
    """Send the function's return body to the caller (route response); default False."""
    environment: NotRequired[dict[str, str]]


class RealtimeSocketArgs(TypedDict):
    """Everything a :class:`RealtimeSocket` can be told; only ``jwt`` is required."""

    jwt: JwtArgs
    stage_name: NotRequired[str]
    """Default ``live``."""
    route_selection_expression: NotRequired[str]
    """Default ``$request.body.action``."""
    routes: NotRequired[dict[str, RouteArgs]]
    """Extra action routes beside the built-in ones."""
    throttling: NotRequired[ThrottlingArgs]
    logging_level: NotRequired[Literal["OFF", "ERROR", "INFO"]]
    """Execution logging; needs the account CloudWatch role. Default ``ERROR``."""
    data_trace: NotRequired[bool]
    """Log full message bodies; default False (they may hold personal data)."""
    detailed_metrics: NotRequired[bool]
    """Per-route CloudWatch metrics; default True."""
    access_log_retention_days: NotRequired[int]
    """Default 30."""
    domain: NotRequired[DomainArgs]
    mapping: NotRequired[MappingArgs]
    table: NotRequired[TableArgs]
    functions: NotRequired[FunctionArgs]
    limits: NotRequired[LimitsArgs]
    tags: NotRequired[dict[str, str]]


@dataclass(frozen=True)
class ResolvedRoute:
    key: str
    handler: str
    code: str | None
    permissions: tuple[str, ...]
    reply: bool
    environment: Mapping[str, str]

    @property
    def role(self) -> str:
        """Resource-name fragment: ``$connect`` -> ``connect``, ``orders.get`` -> ``orders-get``."""
        return re.sub(r"[^A-Za-z0-9-]", "-", self.key.lstrip("$")).lower()


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
    leeway_seconds: int

    @property
    def is_hmac(self) -> bool:
        return set(self.algorithms) <= HMAC_ALGORITHMS


@dataclass(frozen=True)
class ResolvedArgs:
    """Validated args with every default filled in."""

    name: str
    jwt: ResolvedJwt
    stage_name: str
    route_selection_expression: str
    routes: tuple[ResolvedRoute, ...]
    burst_limit: int
    rate_limit: float
    logging_level: str
    data_trace: bool
    detailed_metrics: bool
    access_log_retention_days: int
    domain: Mapping[str, Any] | None
    mapping: Mapping[str, Any] | None
    point_in_time_recovery: bool
    deletion_protection: bool
    architecture: str
    runtime: str
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    fanout_concurrency: int
    rate_per_second: float = 10.0
    rate_burst: int = 20
    max_connections_per_user: int = 0
    allowed_origins: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append((path, reason))

    def raise_if_any(self, name: str) -> None:
        if not self.items:
            return
        lines = "\n".join(f"  - {path}: {reason}" for path, reason in self.items)
        raise pulumi.InputPropertiesError(
            f"RealtimeSocket {name!r} has {len(self.items)} invalid argument(s):\n{lines}",
            [{"property_path": path, "reason": reason} for path, reason in self.items],
        )


def _plain(value: Any) -> bool:
    return not isinstance(value, pulumi.Output)


def _int_in(problems: _Problems, path: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(path, f"must be an integer from {low} to {high}, got {value!r}")
        return low
    return value


def _bool(problems: _Problems, path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        problems.add(path, f"must be true or false, got {value!r}")
        return False
    return value


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _unknown_keys(problems: _Problems, path: str, given: Mapping[str, Any], allowed: Any) -> None:
    for key in given:
        if key not in allowed.__annotations__:
            problems.add(f"{path}.{key}" if path else key, "unknown argument")


def _resolve_jwt(problems: _Problems, raw: Any) -> ResolvedJwt:
    if not isinstance(raw, Mapping):
        problems.add("jwt", "is required: issuer, audience and a key source")
        raw = {}
    else:
        _unknown_keys(problems, "jwt", raw, JwtArgs)
    issuer = raw.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        problems.add("jwt.issuer", "is required (the token's iss claim)")
    audience = _str_list(raw.get("audience"))
    if not audience or not all(audience):
        problems.add("jwt.audience", "is required: a string or a list of strings")
    algorithms = _str_list(raw.get("algorithms", ["HS256"])) or []
    algs = set(algorithms)
    secret = raw.get("secret")
    parameter = raw.get("secret_parameter_name")
    jwks_url = raw.get("jwks_url")
    sources = [s for s in ("secret", "secret_parameter_name", "jwks_url") if raw.get(s)]
    if not algorithms:
        problems.add("jwt.algorithms", "must pin at least one algorithm")
    elif any(a.lower() == "none" for a in algorithms):
        problems.add("jwt.algorithms", "'none' is never accepted")
    elif algs <= HMAC_ALGORITHMS:
        if jwks_url:
            problems.add("jwt.jwks_url", "HMAC algorithms verify with a shared secret, not JWKS")
        if not (secret or parameter):
            problems.add("jwt.secret", "HMAC algorithms need secret or secret_parameter_name")
    elif algs <= ASYMMETRIC_ALGORITHMS:
        if not jwks_url:
            problems.add("jwt.jwks_url", "RSA/EC algorithms need a JWKS URL")
        if secret or parameter:
            problems.add("jwt.secret", "a shared secret cannot verify RSA/EC algorithms")
    else:
        unknown = sorted(algs - HMAC_ALGORITHMS - ASYMMETRIC_ALGORITHMS)
        reason = (
            f"unsupported: {unknown}"
            if unknown
            else "HMAC and RSA/EC algorithms must never be mixed in one verifier"
        )
        problems.add("jwt.algorithms", reason)
    if len(sources) > 1:
        problems.add("jwt", f"give exactly one key source, got {sources}")
    if jwks_url is not None and (
        not isinstance(jwks_url, str) or not jwks_url.startswith("https://")
    ):
        problems.add("jwt.jwks_url", "must be an https:// URL")
    if parameter is not None and (not isinstance(parameter, str) or not parameter.startswith("/")):
        problems.add("jwt.secret_parameter_name", "must be an SSM parameter name starting with /")
    if secret is not None and isinstance(secret, str) and len(secret) < 32:
        problems.add("jwt.secret", "must be at least 32 characters (RFC 7518 §3.2: 256 bits)")
    carriers = _str_list(raw.get("carriers", ["query"])) or []
    if (
        not carriers
        or any(c not in CARRIERS for c in carriers)
        or len(set(carriers)) != len(carriers)
    ):
        problems.add("jwt.carriers", f"must be distinct values from {list(CARRIERS)}")
    query_parameter = raw.get("query_parameter", "token")
    if not isinstance(query_parameter, str) or not re.match(
        r"^[A-Za-z0-9_.\-]{1,64}$", query_parameter
    ):
        problems.add("jwt.query_parameter", "must be 1-64 letters, digits or ._-")
    claims = _str_list(raw.get("context_claims", [])) or []
    for claim in claims:
        if not _CLAIM.match(claim) or claim in ("sub", "principalId"):
            problems.add("jwt.context_claims", f"invalid or reserved claim name {claim!r}")
    leeway = _int_in(
        problems, "jwt.leeway_seconds", raw.get("leeway_seconds", 5), 0, MAX_LEEWAY_SECONDS
    )
    return ResolvedJwt(
        issuer=issuer if isinstance(issuer, str) else "",
        audience=tuple(audience or ()),
        algorithms=tuple(algorithms),
        secret=secret,
        secret_parameter_name=parameter if isinstance(parameter, str) else None,
        jwks_url=jwks_url if isinstance(jwks_url, str) else None,
        carriers=tuple(carriers),
        query_parameter=query_parameter if isinstance(query_parameter, str) else "token",
        context_claims=tuple(claims),
        leeway_seconds=leeway,
    )


def _resolve_routes(problems: _Problems, raw: Any) -> tuple[ResolvedRoute, ...]:
    routes = [
        ResolvedRoute(key, f"realtime_socket.handlers.{module}.handler", None, (), reply, {})
        for key, (module, reply) in BUILTIN_ROUTES.items()
    ]
    if raw is None:
        return tuple(routes)
    if not isinstance(raw, Mapping):
        problems.add("routes", "must map route keys to route settings")
        return tuple(routes)
    roles = {r.role for r in routes}
    for key, spec in raw.items():
        path = f"routes.{key}"
        if not isinstance(key, str) or not _ROUTE_KEY.match(key):
            problems.add(
                path, "route keys are 1-128 letters, digits or _.:- and never start with $"
            )
            continue
        if key in BUILTIN_ROUTES:
            problems.add(path, "is a built-in route")
            continue
        if not isinstance(spec, Mapping):
            problems.add(path, "must be an object with a handler")
            continue
        _unknown_keys(problems, path, spec, RouteArgs)
        handler = spec.get("handler")
        if not isinstance(handler, str) or not _HANDLER.match(handler):
            problems.add(f"{path}.handler", "must be module.function")
        code = spec.get("code")
        if code is not None and not isinstance(code, str):
            problems.add(f"{path}.code", "must be a folder path")
        permissions = _str_list(spec.get("permissions", [])) or []
        for perm in permissions:
            if perm not in _PERMISSIONS:
                problems.add(f"{path}.permissions", f"{perm!r} is not one of {list(_PERMISSIONS)}")
        env = spec.get("environment", {})
        if not isinstance(env, Mapping) or not all(
            isinstance(k, str) and _ENV_NAME.match(k) and isinstance(v, str) for k, v in env.items()
        ):
            problems.add(f"{path}.environment", "must map variable names to strings")
            env = {}
        route = ResolvedRoute(
            key=key,
            handler=handler if isinstance(handler, str) else "",
            code=code if isinstance(code, str) else None,
            permissions=tuple(dict.fromkeys(permissions)),
            reply=_bool(problems, f"{path}.reply", spec.get("reply", False)),
            environment=dict(env),
        )
        if route.role in roles:
            problems.add(path, f"resource name fragment {route.role!r} collides with another route")
        roles.add(route.role)
        routes.append(route)
    if len(routes) > _MAX_ROUTES:
        problems.add("routes", f"API Gateway allows at most {_MAX_ROUTES} routes per API")
    return tuple(routes)


def _resolve_domain(problems: _Problems, domain: Any, mapping: Any) -> None:
    if domain is not None and mapping is not None:
        problems.add("domain", "give either domain (own domain) or mapping (shared), not both")
    if domain is not None:
        if not isinstance(domain, Mapping):
            problems.add("domain", "must be an object with a name")
            return
        _unknown_keys(problems, "domain", domain, DomainArgs)
        name = domain.get("name")
        if not isinstance(name, str) or not _HOSTNAME.match(name):
            problems.add("domain.name", f"must be a lowercase DNS name, got {name!r}")
        cert = domain.get("certificate_arn")
        if cert is None and domain.get("hosted_zone_id") is None:
            problems.add("domain", "needs certificate_arn, or hosted_zone_id to validate a new one")
        if isinstance(cert, str) and not cert.startswith("arn:aws"):
            problems.add("domain.certificate_arn", "must be an ACM certificate ARN")
        key = domain.get("mapping_key")
        if key is not None and (not isinstance(key, str) or not _MAPPING_KEY.match(key)):
            problems.add("domain.mapping_key", "1-300 characters of letters, digits and $-_.+!*'()")
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            problems.add("mapping", "must be an object with domain_name and mapping_key")
            return
        _unknown_keys(problems, "mapping", mapping, MappingArgs)
        dn = mapping.get("domain_name")
        if dn is None or (_plain(dn) and (not isinstance(dn, str) or not _HOSTNAME.match(dn))):
            problems.add("mapping.domain_name", f"must be a lowercase DNS name, got {dn!r}")
        key = mapping.get("mapping_key")
        if not isinstance(key, str) or not _MAPPING_KEY.match(key):
            problems.add(
                "mapping.mapping_key", "1-300 characters of letters, digits and $-_.+!*'()"
            )


def resolve(name: str, args: Mapping[str, Any]) -> ResolvedArgs:
    """Validate ``args`` for a socket called ``name`` and fill in the defaults.

    Raises:
        pulumi.InputPropertiesError: listing every problem found, one per line.
    """
    problems = _Problems()
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(
            "name",
            f"must be 1-24 lowercase letters, digits or -, starting with a letter; got {name!r}",
        )
    if not isinstance(args, Mapping):
        problems.add("args", "must be a RealtimeSocketArgs mapping")
        args = {}
    _unknown_keys(problems, "", args, RealtimeSocketArgs)
    jwt = _resolve_jwt(problems, args.get("jwt"))
    stage = args.get("stage_name", "live")
    if not isinstance(stage, str) or not _STAGE.match(stage):
        problems.add("stage_name", "must be 1-128 letters, digits, - or _")
    rse = args.get("route_selection_expression", "$request.body.action")
    if not isinstance(rse, str) or not rse.startswith("$request.body."):
        problems.add("route_selection_expression", "must look like $request.body.<field>")
    routes = _resolve_routes(problems, args.get("routes"))
    throttling = args.get("throttling", {}) or {}
    if isinstance(throttling, Mapping):
        _unknown_keys(problems, "throttling", throttling, ThrottlingArgs)
    else:
        problems.add("throttling", "must be an object")
        throttling = {}
    burst = _int_in(problems, "throttling.burst_limit", throttling.get("burst_limit", 500), 0, 5000)
    rate = throttling.get("rate_limit", 1000)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 10000:
        problems.add("throttling.rate_limit", f"must be a number from 0 to 10000, got {rate!r}")
        rate = 0
    level = args.get("logging_level", "ERROR")
    if level not in ("OFF", "ERROR", "INFO"):
        problems.add("logging_level", f"must be OFF, ERROR or INFO, got {level!r}")
    access_retention = args.get("access_log_retention_days", 30)
    if access_retention not in _RETENTION_DAYS:
        problems.add("access_log_retention_days", f"must be one of {sorted(_RETENTION_DAYS)}")
    _resolve_domain(problems, args.get("domain"), args.get("mapping"))
    table = args.get("table", {}) or {}
    if isinstance(table, Mapping):
        _unknown_keys(problems, "table", table, TableArgs)
    fns = args.get("functions", {}) or {}
    if isinstance(fns, Mapping):
        _unknown_keys(problems, "functions", fns, FunctionArgs)
    architecture = fns.get("architecture", "arm64")
    if architecture not in ("arm64", "x86_64"):
        problems.add("functions.architecture", f"must be arm64 or x86_64, got {architecture!r}")
    runtime = fns.get("runtime", "python3.12")
    if runtime not in _RUNTIMES:
        problems.add("functions.runtime", f"must be one of {list(_RUNTIMES)}, got {runtime!r}")
    retention = fns.get("log_retention_days", 30)
    if retention not in _RETENTION_DAYS:
        problems.add("functions.log_retention_days", f"must be one of {sorted(_RETENTION_DAYS)}")
    limits = args.get("limits", {}) or {}
    if isinstance(limits, Mapping):
        _unknown_keys(problems, "limits", limits, LimitsArgs)
    else:
        problems.add("limits", "must be an object")
        limits = {}
    msg_rate = limits.get("messages_per_second", 10)
    if (
        isinstance(msg_rate, bool)
        or not isinstance(msg_rate, int | float)
        or not 0 <= msg_rate <= 1000
    ):
        problems.add(
            "limits.messages_per_second", f"must be a number from 0 to 1000, got {msg_rate!r}"
        )
        msg_rate = 0
    burst_msgs = _int_in(
        problems, "limits.message_burst", limits.get("message_burst", 20), 1, 10000
    )
    per_user = _int_in(
        problems,
        "limits.max_connections_per_user",
        limits.get("max_connections_per_user", 0),
        0,
        100000,
    )
    origins = _str_list(limits.get("allowed_origins", [])) or []
    for origin in origins:
        if not re.match(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$", origin):
            problems.add(
                "limits.allowed_origins", f"{origin!r} is not scheme://host[:port] (no path)"
            )
    tags = args.get("tags", {}) or {}
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        problems.add("tags", "must map strings to strings")
        tags = {}
    resolved = ResolvedArgs(
        name=name,
        jwt=jwt,
        stage_name=stage if isinstance(stage, str) else "live",
        route_selection_expression=rse if isinstance(rse, str) else "",
        routes=routes,
        burst_limit=burst,
        rate_limit=float(rate),
        logging_level=str(level),
        data_trace=_bool(problems, "data_trace", args.get("data_trace", False)),
        detailed_metrics=_bool(problems, "detailed_metrics", args.get("detailed_metrics", True)),
        access_log_retention_days=int(access_retention)
        if access_retention in _RETENTION_DAYS
        else 30,
        domain=args.get("domain"),
        mapping=args.get("mapping"),
        point_in_time_recovery=_bool(
            problems, "table.point_in_time_recovery", table.get("point_in_time_recovery", True)
        ),
        deletion_protection=_bool(
            problems, "table.deletion_protection", table.get("deletion_protection", False)
        ),
        architecture=str(architecture),
        runtime=str(runtime),
        memory_mb=_int_in(problems, "functions.memory_mb", fns.get("memory_mb", 256), 128, 10240),
        timeout_seconds=_int_in(
            problems, "functions.timeout_seconds", fns.get("timeout_seconds", 10), 1, 29
        ),
        log_retention_days=int(retention) if retention in _RETENTION_DAYS else 30,
        fanout_concurrency=_int_in(
            problems, "functions.fanout_concurrency", fns.get("fanout_concurrency", 64), 1, 256
        ),
        rate_per_second=float(msg_rate),
        rate_burst=burst_msgs,
        max_connections_per_user=per_user,
        allowed_origins=tuple(origins),
        tags=dict(tags),
    )
    problems.raise_if_any(str(name))
    return resolved
