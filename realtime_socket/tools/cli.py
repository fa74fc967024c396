"""The ``realtime-socket`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from realtime_socket import contract
from realtime_socket.local import devtokens, model_cache
from realtime_socket.local import model as local_model
from realtime_socket.tools import plan, stack_files
from realtime_socket.tools.recorded import Recording

if TYPE_CHECKING:
    import boto3

    from realtime_socket.local.moto_server import AwsApis
    from realtime_socket.local.server import LocalRuntime, RuntimeOptions
    from realtime_socket.publish import Publisher

__all__ = ["DEV_STATE_DIR", "main"]

#: Where ``realtime-socket dev`` announces itself, in the project folder (``dev-<port>.json``,
#: removed when it stops): how ``realtime-socket publish`` finds the runtime.
DEV_STATE_DIR = ".realtime-socket"


class UsageError(Exception):
    """The command cannot run as asked: exit status 2, with this message."""


class CommandFailed(Exception):
    """The command ran and failed (an AWS error): exit status 1, with this message."""


def _evaluate(project_dir: Path, stack: str) -> tuple[stack_files.StackConfig, Recording]:
    cfg = stack_files.load(project_dir, stack)
    return cfg, _record(cfg)


def _record(cfg: stack_files.StackConfig) -> Recording:
    # Imported here: a start from the cached model never needs Pulumi (0.35 s to import).
    from realtime_socket.tools import recording

    return recording.evaluate(
        cfg.program,
        project=cfg.project,
        stack=cfg.stack,
        config=cfg.config,
        secret_keys=cfg.secret_keys,
    )


def _local_model(
    args: argparse.Namespace,
) -> tuple[stack_files.StackConfig, local_model.LocalModel]:
    """What the runtime serves: the program's evaluation, from the cache while it is current
    (``local/model_cache.py``; ``--no-cache`` evaluates afresh)."""
    project_dir = Path(args.project_dir)
    cfg = stack_files.load(project_dir, args.stack)
    model, _ = model_cache.load_or_build(
        project_dir, cfg, lambda: local_model.build(_record(cfg)), fresh=args.no_cache
    )
    return cfg, model


def _cmd_plan(args: argparse.Namespace) -> int:
    cfg, rec = _evaluate(Path(args.project_dir), args.stack)
    for key in cfg.stand_ins:
        print(f"note: {key} is a local development stand-in (not the stack's secret)")
    print(f"Stack {cfg.project}/{cfg.stack}, evaluated offline under mocks:\n")
    plan.render(rec, sys.stdout)
    return 0


def _wscat_command(
    runtime_url: str, token: str, carriers: Sequence[str], query_parameter: str
) -> str:
    """A ready-to-paste wscat command using the first carrier the stack accepts."""
    room = "room_id=lobby"
    if not carriers or carriers[0] == "query":
        return f'wscat -c "{runtime_url}?{room}&{query_parameter}={token}"'
    if carriers[0] == "header":
        return f'wscat -c "{runtime_url}?{room}" -H "Authorization: Bearer {token}"'
    return f'wscat -c "{runtime_url}?{room}" -s {contract.SUBPROTOCOL} -s {token}'


#: Each stops the runtime cleanly: Ctrl-C, ``kill``/service managers, a closed terminal.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _say(text: str) -> None:
    """Print, unless the terminal is gone (after SIGHUP): stopping must go on regardless."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


def _print_banner(
    runtime: LocalRuntime, model: local_model.LocalModel, cfg: stack_files.StackConfig
) -> None:
    print(f"realtime-socket dev: stack {cfg.project}/{cfg.stack}, offline, API Gateway semantics")
    for key in cfg.stand_ins:
        print(f"note: {key} is a local development stand-in (not the stack's secret)")
    for name in runtime.dev_parameters:
        print(f"note: SSM parameter {name} holds the development secret locally")
    for ns, api in model.apis.items():
        print(f"  {ns:<12} {runtime.ws_url(ns)}   @connections {runtime.management_url(ns)}")
        print(f"  {'':<12} routes: {', '.join(api.routes)}")
        tables = {
            r.function.environment.get(name)
            for r in api.routes.values()
            for name in (contract.Env.TABLE_NAME, contract.Env.HISTORY_TABLE_NAME)
        }
        for table in sorted(t for t in tables if t):  # for backends: Publisher(table_name=...)
            print(f"  {'':<12} table: {table}")
    print(f"  {'AWS APIs':<12} {runtime.aws_endpoint} (DynamoDB, SSM: moto)")
    demo = f"http://{runtime.options.host}:{runtime.port}/"
    print(f"  {'demo page':<12} {demo} (browser client: {demo}realtime-socket.js)")
    first = next(iter(model.apis))
    try:
        authorizer = model.apis[first].connect_authorizer
        env = authorizer.function.environment if authorizer else {}
        # A namespace that checks rooms needs the printed room granted.
        rooms = ["lobby"] if env.get(contract.Env.JWT_ROOMS_CLAIM) else None
        token = devtokens.mint(model, first, sub="alice", rooms=rooms)
        carriers = env.get(contract.Env.JWT_CARRIERS, ",".join(contract.DEFAULT_CARRIERS))
        parameter = env.get(contract.Env.JWT_QUERY_PARAMETER, contract.DEFAULT_QUERY_PARAMETER)
        command = _wscat_command(runtime.ws_url(first), token, carriers.split(","), parameter)
        print("\nTry it (token valid for 1 hour, sub=alice):")
        print(f"  {command}")
        print('  > {"action":"sendmessage","data":"hello"}')
    except devtokens.TokenError as exc:
        print(f"\n{exc}")
    for ns, api in model.apis.items():
        checker = api.connect_authorizer
        if checker and checker.function.environment.get(contract.Env.JWT_ROOMS_CLAIM):
            print(
                f"  {ns} admits only the rooms a token grants: "
                f'realtime-socket token --namespace {ns} --rooms "lobby,team-*"'
            )
    print("\nCtrl-C to stop.", flush=True)


# -- the dev runtime's announcement ------------------------------------------------------


def dev_state_path(project_dir: Path, port: int) -> Path:
    """The file a ``realtime-socket dev`` runtime on ``port`` announces itself in."""
    return project_dir / DEV_STATE_DIR / f"dev-{port}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_state(path: Path) -> dict[str, Any] | None:
    """A state file's content; None when it is missing, unreadable or its runtime is dead."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    pid = state.get("pid")
    if not isinstance(pid, int) or pid <= 0 or not _alive(pid):
        return None
    return state


def _announce(runtime: LocalRuntime, cfg: stack_files.StackConfig, project_dir: Path) -> Path:
    """Write ``dev-<port>.json`` (atomically), after removing those of runtimes now dead."""
    folder = project_dir / DEV_STATE_DIR
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("dev-*.json"):
        if _read_state(stale) is None:  # left by a runtime killed outright (SIGKILL, OOM)
            stale.unlink(missing_ok=True)
    state = {"pid": os.getpid(), "project": cfg.project, "stack": cfg.stack}
    state.update(runtime.endpoints())
    path = dev_state_path(project_dir, runtime.port)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(state, indent=2) + "\n")
    partial.replace(path)
    return path


def _withdraw(path: Path | None) -> None:
    """Remove the announcement, if it is still this process's."""
    if path is None:
        return
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


async def _serve(
    model: local_model.LocalModel,
    options: RuntimeOptions,
    cfg: stack_files.StackConfig,
    project_dir: Path | None = None,
    aws: AwsApis | None = None,
) -> None:
    from realtime_socket.local.server import LocalRuntime

    # Listen for the stop signals first: one arriving while the runtime starts stops it too.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    runtime = LocalRuntime(model, options, aws)
    starting = asyncio.create_task(runtime.start())
    stopping = asyncio.create_task(stop.wait())
    announced: Path | None = None
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a failed start raises here
            if project_dir is not None:  # before the banner: whoever reads it finds the file
                try:
                    announced = _announce(runtime, cfg, project_dir)
                except OSError as exc:  # a read-only project: serve anyway
                    _say(f"note: realtime-socket publish cannot find this runtime: {exc}")
            _print_banner(runtime, model, cfg)
            await stopping
        else:
            starting.cancel()
            await asyncio.wait({starting})
    except BaseException:
        stopping.cancel()
        _withdraw(announced)
        await runtime.stop()
        raise
    _withdraw(announced)
    _say("\nstopping: closing connections, functions and the local AWS APIs...")
    await runtime.stop()
    _say("stopped cleanly")


def _cmd_dev(args: argparse.Namespace) -> int:
    from realtime_socket.local.moto_server import AwsApis  # the standard library only

    aws = AwsApis(args.host)
    management_port = args.management_port
    if management_port is None:
        management_port = args.port + 1 if args.port else 0
    try:
        aws.launch()  # moto starts (2-3 s) while this process imports and reads the program
        try:
            from realtime_socket.local.invoker import readable_output
            from realtime_socket.local.server import RuntimeOptions, print_log
        except ImportError as exc:
            raise OSError(
                f"the local runtime needs its extra: pip install 'realtime-socket[local]' ({exc})"
            ) from exc
        cfg, model = _local_model(args)
        options = RuntimeOptions(
            host=args.host,
            port=args.port,
            management_port=management_port,
            idle_timeout=args.idle_timeout,
            max_duration=args.max_duration,
            deliver_disconnect=not args.lossy_disconnect,
            inject_post_throttle_every=args.chaos_post_429_every,
            log=print_log(),
            handler_output=readable_output(),
            wait_for_prewarm=False,
        )
        asyncio.run(_serve(model, options, cfg, Path(args.project_dir), aws))
    except KeyboardInterrupt:
        # Ctrl-C before ``_serve`` handles the stop signals itself, or while asyncio.run
        # hands it over: whatever had started (the runtime stops its own) is stopped.
        aws.stop()
        _say("stopped cleanly")
        return 0
    except BaseException as exc:
        aws.stop()
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            raise OSError(
                f"port {args.port} or {management_port} is already in use: "
                "choose others with --port and --management-port"
            ) from exc
        raise
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    _, model = _local_model(args)
    claims = dict(item.split("=", 1) for item in args.claim)
    rooms = None if args.rooms is None else [r.strip() for r in args.rooms.split(",") if r.strip()]
    token = devtokens.mint(
        model, args.namespace, sub=args.sub, ttl_seconds=args.ttl, claims=claims, rooms=rooms
    )
    print(token)
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    from realtime_socket.tools import cost

    load = cost.Load(
        connections=args.connections,
        rooms=args.rooms,
        messages_per_second=args.messages_per_second,
        message_bytes=args.message_bytes,
        connected_fraction=args.connected_fraction,
        architecture=args.architecture,
        memory_mb=args.memory,
        extra_rooms_per_connection=args.extra_rooms,
        history_retention_seconds=args.history_retention,
        presence_max_room=args.presence_max_room,
        timeout_seconds=args.timeout,
    )
    prices = cost.load_prices()
    try:
        ours, scan, warnings = cost.estimate(load, prices)
    except ValueError as exc:  # the timeout leaves no time to post at this memory
        raise UsageError(str(exc)) from exc
    appsync = cost.appsync_events(load, prices)
    print(cost.render(load, ours, scan, appsync, warnings, prices))
    return 0


# -- publish ------------------------------------------------------------------------------

#: What publishing needs from a namespace's stack output (or the dev runtime's announcement).
_OUTPUT_KEYS = ("table_name", "management_endpoint")
#: The AWS emulation takes any credentials; these keep boto3 from looking for real ones.
_LOCAL_CREDENTIALS = "local"


@dataclass(frozen=True)
class PublishTarget:
    """Where a publish goes: :class:`~realtime_socket.publish.Publisher`'s arguments."""

    table_name: str
    management_endpoint: str
    region: str | None = None
    #: The dev runtime's AWS emulation (DynamoDB); None: AWS, through boto3's usual chain.
    aws_endpoint: str | None = None
    #: The room history table (room messages get their ``seq``), and its retention.
    history_table: str | None = None
    history_retention_seconds: int = contract.DEFAULT_HISTORY_RETENTION_SECONDS


def _namespace_output(
    outputs: Mapping[str, Any], namespace: str | None, source: str
) -> Mapping[str, Any]:
    """One namespace's output from a stack's outputs (namespace -> dict), checked."""
    if "table_name" in outputs:  # one namespace's output: pulumi stack output --json chat
        output: Any = outputs
    else:
        namespaces = sorted(k for k, v in outputs.items() if isinstance(v, dict))
        if namespace is None and len(namespaces) == 1:
            namespace = namespaces[0]
        if namespace is None:
            raise UsageError(f"pass --namespace: {source} has {', '.join(namespaces) or 'none'}")
        if namespace not in namespaces:
            raise UsageError(
                f"no namespace {namespace!r} in {source}; namespaces: "
                f"{', '.join(namespaces) or 'none'}"
            )
        output = outputs[namespace]
    missing = [key for key in _OUTPUT_KEYS if not output.get(key)]
    if missing:
        which = "" if namespace is None else f" for namespace {namespace!r}"
        raise UsageError(f"{source} lacks {', '.join(missing)}{which}")
    return dict(output)


def _probe(url: str) -> bool:
    """Whether something listens at ``url``'s host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=2):
            return True
    except OSError:
        return False


def _dev_target(args: argparse.Namespace) -> PublishTarget:
    project_dir = Path(args.project_dir)
    path = dev_state_path(project_dir, args.port)
    state = _read_state(path)
    where = f"port {args.port} (project {project_dir.resolve()})"
    if state is None:
        raise UsageError(
            f"no realtime-socket dev runtime is running on {where}: start one with "
            "`realtime-socket dev`, pass the --port it serves on, or name a deployed stack "
            "with --stack-output or --table and --endpoint"
        )
    if state.get("stack") != args.stack:
        raise UsageError(
            f"the realtime-socket dev runtime on {where} serves stack {state.get('stack')!r}, "
            f"not {args.stack!r}"
        )
    source = f"the realtime-socket dev runtime on port {args.port}"
    output = _namespace_output(state.get("namespaces") or {}, args.namespace, source)
    if not _probe(str(output["management_endpoint"])):
        raise UsageError(f"{source} does not answer at {output['management_endpoint']}")
    return PublishTarget(
        table_name=str(output["table_name"]),
        management_endpoint=str(output["management_endpoint"]),
        region=str(state["region"]),
        aws_endpoint=str(state["aws_endpoint"]),
        **_history_of(output),
    )


def _history_of(output: Mapping[str, Any]) -> dict[str, Any]:
    """The history table and retention a namespace's output names (none before history)."""
    retention = output.get("history_retention_seconds", contract.DEFAULT_HISTORY_RETENTION_SECONDS)
    return {
        "history_table": output.get("history_table_name") or None,
        "history_retention_seconds": int(retention),
    }


def resolve_publish_target(args: argparse.Namespace) -> PublishTarget:
    """The publish's target: a deployed stack's, or the dev runtime's of the project."""
    direct = args.table is not None or args.endpoint is not None
    if direct and args.stack_output is not None:
        raise UsageError("--stack-output and --table/--endpoint are alternatives: pass one")
    if direct:
        if not (args.table and args.endpoint):
            raise UsageError(
                "--table and --endpoint go together: the namespace's table_name and "
                "management_endpoint"
            )
        return PublishTarget(
            args.table, args.endpoint, args.region, history_table=args.history_table
        )
    if args.stack_output is not None:
        try:
            outputs = json.loads(Path(args.stack_output).read_text())
        except OSError as exc:
            raise UsageError(f"cannot read --stack-output: {exc}") from exc
        except ValueError as exc:
            raise UsageError(f"--stack-output {args.stack_output} is not JSON: {exc}") from exc
        if not isinstance(outputs, dict):
            raise UsageError(
                f"--stack-output {args.stack_output} is not a JSON object "
                "(pulumi stack output --json)"
            )
        output = _namespace_output(outputs, args.namespace, args.stack_output)
        return PublishTarget(
            str(output["table_name"]),
            str(output["management_endpoint"]),
            args.region,
            **_history_of(output),
        )
    return _dev_target(args)


def _local_session(aws_endpoint: str, region: str) -> boto3.session.Session:
    """A boto3 session whose clients all call the dev runtime's AWS emulation."""
    import boto3

    class LocalSession(boto3.session.Session):
        def client(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["endpoint_url"] = aws_endpoint
            return super().client(*args, **kwargs)

    return LocalSession(
        aws_access_key_id=_LOCAL_CREDENTIALS,
        aws_secret_access_key=_LOCAL_CREDENTIALS,
        region_name=region,
    )


@contextlib.contextmanager
def _aws_errors() -> Iterator[None]:
    """AWS's refusals (no credentials, no table, unreachable endpoint) as exit status 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise CommandFailed(str(exc)) from exc


def _json_argument(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not JSON ({exc}): {text!r}; a string is quoted: '\"hi\"'"
        ) from None


@contextlib.contextmanager
def _publisher(args: argparse.Namespace) -> Iterator[Publisher]:
    """The Publisher for the command's target; bad arguments exit 2, AWS's refusals 1."""
    from realtime_socket.publish import Publisher

    target = resolve_publish_target(args)
    session = (
        _local_session(target.aws_endpoint, target.region or "") if target.aws_endpoint else None
    )
    try:
        with _aws_errors():
            publisher = Publisher(
                target.table_name,
                target.management_endpoint,
                target.region,
                history_table=target.history_table,
                history_retention_seconds=target.history_retention_seconds,
                session=session,
            )
            with publisher:
                yield publisher
    except (ValueError, TypeError) as exc:  # a bad room, user, endpoint or region
        raise UsageError(str(exc)) from exc
    except RuntimeError as exc:  # no AWS credentials to sign with
        raise CommandFailed(str(exc)) from exc


def _cmd_publish(args: argparse.Namespace) -> int:
    with _publisher(args) as publisher:
        result = publisher.publish(args.room, args.data, sender=args.sender)
    print(f"{result.delivered} delivered, {result.gone} gone, {result.failed} failed")
    return 1 if result.failed else 0


def _cmd_request(args: argparse.Namespace) -> int:
    from realtime_socket.publish import NotConnected

    try:
        with _publisher(args) as publisher:
            answer = publisher.request(args.user, args.data, timeout=args.timeout)
    except (NotConnected, TimeoutError) as exc:
        raise CommandFailed(str(exc)) from exc
    print(json.dumps(answer, ensure_ascii=False))
    return 0


def _bounded(kind: type, low: float, high: float) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime-socket", description="Room-based WebSocket services on AWS, locally too."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="print the resource tree the stack program declares")
    p.add_argument("--stack", default="dev", help="stack name (reads Pulumi.<stack>.yaml)")
    p.add_argument("--project-dir", default=".", help="folder holding Pulumi.yaml")
    p.set_defaults(func=_cmd_plan)

    d = commands.add_parser(
        "dev",
        help="serve the stack's WebSocket APIs on localhost",
        description="Serve the stack's WebSocket APIs on localhost with API Gateway's "
        "semantics. The WebSocket port also serves a demo chat page at http://HOST:PORT/ "
        "and the browser client at /realtime-socket.js.",
        epilog="Force the drop API Gateway does at the 2-hour cap (close 1001, Going away), "
        "now: curl -X POST 'http://127.0.0.1:PORT/_dev/drop?namespace=NS&user=SUB' "
        "(every filter optional; connection=ID picks one connection). Loopback only.",
    )
    d.add_argument("--stack", default="dev", help="stack name (reads Pulumi.<stack>.yaml)")
    d.add_argument("--project-dir", default=".", help="folder holding Pulumi.yaml")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8080, help="WebSocket port (0: any free port)")
    d.add_argument(
        "--management-port", type=int, default=None, help="@connections port (default: port+1)"
    )
    d.add_argument(
        "--idle-timeout",
        type=float,
        default=float(contract.IDLE_TIMEOUT_SECONDS),
        help=f"seconds (AWS: {contract.IDLE_TIMEOUT_SECONDS})",
    )
    d.add_argument(
        "--max-duration",
        type=float,
        default=float(contract.MAX_CONNECTION_SECONDS),
        help=f"seconds (AWS: {contract.MAX_CONNECTION_SECONDS}); to drop connections on "
        "demand, see POST /_dev/drop below",
    )
    d.add_argument(
        "--lossy-disconnect",
        action="store_true",
        help="never deliver $disconnect (AWS only promises best effort): test your cleanup",
    )
    d.add_argument(
        "--chaos-post-429-every",
        type=_bounded(int, 0, 10**6),
        default=0,
        metavar="N",
        help="answer every Nth @connections post with 429: test your retries",
    )
    d.add_argument(
        "--no-cache",
        action="store_true",
        help="evaluate the stack program even when its cached evaluation is current",
    )
    d.set_defaults(func=_cmd_dev)

    t = commands.add_parser("token", help="print a development token the local runtime accepts")
    t.add_argument("--sub", default="developer", help="the token's subject (user id)")
    t.add_argument(
        "--namespace",
        default=None,
        help="default: the first namespace (with --rooms, the first that checks rooms)",
    )
    t.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    t.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE")
    t.add_argument(
        "--rooms",
        default=None,
        metavar="ROOM,PREFIX*,...",
        help="rooms the token may join, in the namespace's jwt.rooms_claim "
        '(room ids and prefix* patterns, comma-separated; "" for none)',
    )
    t.add_argument("--stack", default="dev")
    t.add_argument("--project-dir", default=".")
    t.add_argument(
        "--no-cache",
        action="store_true",
        help="evaluate the stack program even when its cached evaluation is current",
    )
    t.set_defaults(func=_cmd_token)

    c = commands.add_parser(
        "cost", help="monthly cost of a load, beside the Scan-based design and AppSync Events"
    )
    c.add_argument("--connections", type=_bounded(int, 1, 10**9), required=True)
    c.add_argument("--rooms", type=_bounded(int, 1, 10**9), required=True)
    c.add_argument("--messages-per-second", type=_bounded(float, 0, 10**7), required=True)
    c.add_argument(
        "--message-bytes",
        type=_bounded(int, 1, contract.MAX_MESSAGE_BYTES),
        required=True,
        help="payload bytes per message (API Gateway's limit is 128 KB)",
    )
    c.add_argument("--connected-fraction", type=_bounded(float, 0.000001, 1), default=1.0)
    c.add_argument("--architecture", choices=["arm64", "x86_64"], default="arm64")
    c.add_argument("--memory", type=_bounded(int, 128, 10240), default=256, help="MB")
    c.add_argument(
        "--timeout",
        type=_bounded(int, 1, contract.INTEGRATION_TIMEOUT_SECONDS),
        default=10,
        metavar="SECONDS",
        help="functions.timeout_seconds (default 10): what one invocation may post before "
        "the broadcast is split across fan-out workers",
    )
    c.add_argument(
        "--extra-rooms",
        type=_bounded(int, 0, 100),
        default=0,
        help="rooms each connection subscribes to beyond the one it joins at connect",
    )
    c.add_argument(
        "--history-retention",
        type=_bounded(int, 0, contract.MAX_HISTORY_RETENTION_SECONDS),
        default=contract.DEFAULT_HISTORY_RETENTION_SECONDS,
        metavar="SECONDS",
        help="history.retention_seconds (default 3600); 0: messages are not stored",
    )
    c.add_argument(
        "--presence-max-room",
        type=_bounded(int, 0, contract.MAX_PRESENCE_ROOM_BOUND),
        default=contract.DEFAULT_PRESENCE_MAX_ROOM,
        metavar="N",
        help="presence.max_room_for_events (default 1000); 0: presence.events is off",
    )
    c.set_defaults(func=_cmd_cost)

    u = commands.add_parser(
        "publish",
        help="send a message to every connection in a room, as your backend would",
        description="Send a message frame (from --sender) to every connection in a room. By "
        "default to the project's `realtime-socket dev` runtime on --port; with --stack-output, "
        "or --table and --endpoint, to a deployed stack (boto3's credential chain). Prints the "
        "counts: delivered, gone (410: rows deleted), failed. Exit status: 0 when no post "
        "failed, 1 when any post failed (or AWS refused the call), 2 for bad arguments or no "
        "runtime to publish to.",
    )
    u.add_argument("--room", required=True, help="the room id")
    u.add_argument(
        "--data", type=_json_argument, required=True, help='the message, as JSON: \'{"text":"hi"}\''
    )
    u.add_argument("--sender", default="server", help="the frame's `from` (default: server)")
    _add_target_arguments(u)
    u.set_defaults(func=_cmd_publish)

    q = commands.add_parser(
        "request",
        help="ask a user's device and print its reply, as your backend would",
        description="Send a request frame to every live connection of --user and print the "
        "data of the first reply, as JSON. Targets as for `publish`. Exit status: 0 with a "
        "reply, 1 when the user has no live connection, no reply came within --timeout, or "
        "AWS refused the call, 2 for bad arguments or no runtime to talk to.",
    )
    q.add_argument("--user", required=True, help="the device's verified token subject (sub)")
    q.add_argument(
        "--data", type=_json_argument, required=True, help="""the request, as JSON: '{"a":1}'"""
    )
    q.add_argument(
        "--timeout", type=_bounded(float, 0.1, 3600), default=5.0, help="seconds (default 5)"
    )
    _add_target_arguments(q)
    q.set_defaults(func=_cmd_request)
    return parser


def _add_target_arguments(command: argparse.ArgumentParser) -> None:
    """Where ``publish`` and ``request`` go: the dev runtime, or a deployed stack."""
    command.add_argument("--namespace", default=None, help="default: the only one, if only one")
    command.add_argument("--stack", default="dev", help="the dev runtime's stack")
    command.add_argument("--project-dir", default=".", help="the dev runtime's project folder")
    command.add_argument("--port", type=int, default=8080, help="the dev runtime's WebSocket port")
    deployed = command.add_argument_group("a deployed stack")
    deployed.add_argument(
        "--stack-output", default=None, metavar="FILE", help="pulumi stack output --json > FILE"
    )
    deployed.add_argument("--table", default=None, help="the namespace's table_name")
    deployed.add_argument(
        "--history-table",
        default=None,
        help="with --table: the namespace's history_table_name (room messages get their seq)",
    )
    deployed.add_argument(
        "--endpoint", default=None, help="the namespace's management_endpoint (@connections)"
    )
    deployed.add_argument(
        "--region", default=None, help="default: the endpoint's, else boto3's (AWS_REGION)"
    )


def _invalid_input(exc: Exception) -> str | None:
    """The message of Pulumi's input validation error (the component's arguments refused),
    else None. Only an evaluation raises it, and then Pulumi is imported."""
    pulumi = sys.modules.get("pulumi")
    if pulumi is not None and isinstance(exc, pulumi.InputPropertiesError):
        return str(exc.message)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        try:
            code: int = args.func(args)
        except Exception as exc:
            message = _invalid_input(exc)
            if message is None:
                raise
            print(f"error: {message}", file=sys.stderr)
            return 2
    except local_model.WiringError as exc:
        print(f"error: the program's wiring would fail on AWS:\n{exc}", file=sys.stderr)
        return 2
    except (stack_files.StackConfigError, devtokens.TokenError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # bad input: exit 2
        return 2
    except (CommandFailed, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # the command ran and failed: exit 1
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
