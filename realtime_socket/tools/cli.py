"""The ``realtime-socket`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

from realtime_socket import contract
from realtime_socket.local import devtokens
from realtime_socket.local import model as local_model
from realtime_socket.tools import plan, recording, stack_files

if TYPE_CHECKING:
    from realtime_socket.local.server import LocalRuntime, RuntimeOptions

__all__ = ["main"]


def _evaluate(project_dir: Path, stack: str) -> tuple[stack_files.StackConfig, recording.Recording]:
    cfg = stack_files.load(project_dir, stack)
    rec = recording.evaluate(
        cfg.program,
        project=cfg.project,
        stack=cfg.stack,
        config=cfg.config,
        secret_keys=cfg.secret_keys,
    )
    return cfg, rec


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
        tables = {r.function.environment.get(contract.Env.TABLE_NAME) for r in api.routes.values()}
        for table in sorted(t for t in tables if t):  # for backends: Publisher(table_name=...)
            print(f"  {'':<12} table: {table}")
    print(f"  {'AWS APIs':<12} {runtime.aws_endpoint} (DynamoDB, SSM: moto)")
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


async def _serve(
    model: local_model.LocalModel, options: RuntimeOptions, cfg: stack_files.StackConfig
) -> None:
    from realtime_socket.local.server import LocalRuntime

    # Listen for the stop signals first: one arriving while the runtime starts stops it too.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    runtime = LocalRuntime(model, options)
    starting = asyncio.create_task(runtime.start())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a failed start raises here
            _print_banner(runtime, model, cfg)
            await stopping
        else:
            starting.cancel()
            await asyncio.wait({starting})
    except BaseException:
        stopping.cancel()
        await runtime.stop()
        raise
    _say("\nstopping: closing connections, functions and the local AWS APIs...")
    await runtime.stop()
    _say("stopped cleanly")


def _cmd_dev(args: argparse.Namespace) -> int:
    try:
        from realtime_socket.local.server import RuntimeOptions, print_log
    except ImportError as exc:
        raise OSError(
            f"the local runtime needs its extra: pip install 'realtime-socket[local]' ({exc})"
        ) from exc
    cfg, rec = _evaluate(Path(args.project_dir), args.stack)
    model = local_model.build(rec)
    management_port = args.management_port
    if management_port is None:
        management_port = args.port + 1 if args.port else 0
    options = RuntimeOptions(
        host=args.host,
        port=args.port,
        management_port=management_port,
        idle_timeout=args.idle_timeout,
        max_duration=args.max_duration,
        deliver_disconnect=not args.lossy_disconnect,
        inject_post_throttle_every=args.chaos_post_429_every,
        log=print_log(),
    )
    try:
        asyncio.run(_serve(model, options, cfg))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise OSError(
                f"port {args.port} or {management_port} is already in use: "
                "choose others with --port and --management-port"
            ) from exc
        raise
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    _, rec = _evaluate(Path(args.project_dir), args.stack)
    model = local_model.build(rec)
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
    )
    prices = cost.load_prices()
    ours, scan, warnings = cost.estimate(load, prices)
    print(cost.render(load, ours, scan, warnings, prices))
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

    d = commands.add_parser("dev", help="serve the stack's WebSocket APIs on localhost")
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
        help=f"seconds (AWS: {contract.MAX_CONNECTION_SECONDS})",
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
    t.set_defaults(func=_cmd_token)

    c = commands.add_parser("cost", help="monthly cost of a load, beside the Scan-based design")
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
    c.set_defaults(func=_cmd_cost)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except stack_files.StackConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except pulumi.InputPropertiesError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except local_model.WiringError as exc:
        print(f"error: the program's wiring would fail on AWS:\n{exc}", file=sys.stderr)
        return 2
    except devtokens.TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
