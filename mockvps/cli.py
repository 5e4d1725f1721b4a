"""`mockvps serve`, `mockvps proxy`, `mockvps conformance`, `mockvps openapi [--check]` and `mockvps coverage`."""

from __future__ import annotations

import argparse
import copy
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from mockvps.app import MockApp

__all__ = ["main"]

DEFAULT_DOCUMENT = Path("openapi/openapi.json")
DEFAULT_CONTROL_DOCUMENT = Path("openapi/control.json")


def _parser() -> argparse.ArgumentParser:
    from mockvps.backend import DEFAULT_BALANCE

    parser = argparse.ArgumentParser(prog="mockvps", description="A local, stateful mock of the VPS.org Servers API.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="start the mock server",
        description="Every flag can also be set "
        "as a MOCKVPS_* environment variable (MOCKVPS_PORT, MOCKVPS_TOKEN, ...).",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000; 0 picks a free one)")
    serve.add_argument("--token", help="token of the default account (default mockvps-dev-token)")
    serve.add_argument("--balance", help=f"balance of the default account (default {DEFAULT_BALANCE})")
    serve.add_argument("--provisioning-delay", type=float, metavar="SECONDS", help="create to active (default 3)")
    serve.add_argument("--action-delay", type=float, metavar="SECONDS", help="start/stop/reboot (default 1)")
    serve.add_argument("--catalog", metavar="FILE", help="JSON file replacing plans, OS images, locations, keys")
    serve.add_argument("--accounts", metavar="FILE", help="JSON file with more accounts and their tokens")
    serve.add_argument("--empty", action="store_true", default=None, help="start without the example servers")
    serve.add_argument("--admin-token", help="protect the control API under /_mockvps/ with this token")
    serve.add_argument("--journal-size", type=int, help="journal entries kept (default 1000)")
    serve.add_argument("--state", metavar="FILE", help="start from a snapshot exported by GET /_mockvps/state")
    serve.add_argument(
        "--state-from",
        metavar="FILE.har",
        help="start with the servers a recording (mockvps proxy --record) last saw, in the default account",
    )
    serve.add_argument("--data-dir", metavar="DIR", help="keep the state across restarts (SQLite in DIR)")
    serve.add_argument(
        "--data-dir-start-over",
        action="store_true",
        default=None,
        help="move a store that cannot be used aside (mockvps.sqlite3.broken-TIME) and start anew",
    )
    serve.add_argument("--max-url-size", type=int, metavar="BYTES", help="longest request URL (default 8192; 414)")
    serve.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="let browsers on this origin (scheme://host:port, or * for any) call the API; repeatable (default: off)",
    )
    serve.add_argument(
        "--page-size",
        type=int,
        metavar="N",
        help="paginate the server list as DRF does, N a page (?page=, ?page_size= up to 100; default: off)",
    )
    serve.add_argument("--log-level", help="uvicorn's log level (default info)")
    serve.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        metavar="NAME",
        help="a Host name to answer besides loopback names and --host (repeatable; '*' for any, '*.example.com' for "
        "its subdomains; default: any name when listening on 0.0.0.0 or ::)",
    )

    proxy = commands.add_parser(
        "proxy",
        help="stand between a client and a service: forward, check both against the documentation, report drift",
        description="A reverse proxy to point a client at instead of the service (the live one, any other "
        "implementation, or a mock): it forwards every request and answer unchanged, checks each against the "
        "contract document and what the session has seen, and reports where the service or the client departs "
        "from the documentation (DIR/drift.md, DIR/drift.json, GET /_mockvps/drift). Needs its extra: "
        "pip install 'mockvps[proxy]'.",
    )
    proxy.add_argument("--upstream", required=True, metavar="URL", help="the service, e.g. https://admin.vps.org")
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    proxy.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0 picks a free one)")
    proxy.add_argument("--report", type=Path, metavar="DIR", help="write drift.md and drift.json here, as they change")
    proxy.add_argument("--record", type=Path, metavar="FILE", help="record the session as HAR 1.2 (tokens redacted)")
    proxy.add_argument("--record-max-bytes", type=int, metavar="BYTES", help="bound of the recording (default 50 MB)")
    proxy.add_argument(
        "--fail-on-drift", action="store_true", help="exit 1 if any departure of severity error was seen"
    )
    proxy.add_argument(
        "--document", type=Path, metavar="FILE", help="the contract document (default: the committed one)"
    )
    proxy.add_argument("--timeout", type=float, metavar="SECONDS", help="wait this long for the upstream (default 60)")
    proxy.add_argument(
        "--transition-timeout",
        type=float,
        metavar="SECONDS",
        help="a documented transition not ended after this long is a departure (default 600)",
    )
    proxy.add_argument("--log-level", default="warning", help="uvicorn's log level (default warning)")

    conformance = commands.add_parser(
        "conformance",
        help="run the contract suite against a service",
        description="Run the contract suite against any implementation of the Servers API, the live service "
        "included. Against a non-loopback URL it only reads unless --allow-writes is given. It checks first that "
        "the service answers and takes the token. Needs the suite's dependencies: "
        "pip install 'mockvps[conformance]'. Options it does not know go to pytest as they are.",
    )
    conformance.add_argument("--base-url", default=os.environ.get("MOCKVPS_BASE_URL"), help="the service to test")
    conformance.add_argument("--token", default=os.environ.get("MOCKVPS_TOKEN"), help="its API token")
    conformance.add_argument("--allow-writes", action="store_true", help="create and delete servers (may cost money)")
    conformance.add_argument("--report", type=Path, metavar="DIR", help="write conformance.md and junit.xml here")
    suite = conformance.add_argument_group("what the suite does (passed on to it)")
    for flag, kind, text in _SUITE_OPTIONS:
        suite.add_argument(flag, type=kind, default=None, help=text)
    suite.add_argument(
        "--as-remote",
        action="store_true",
        default=None,
        help="treat a loopback URL as remote: read-only unless --allow-writes, paced (a rehearsal)",
    )

    document = commands.add_parser(
        "openapi",
        help="write the contract document and the control API's",
        description="Write the contract document (the Servers API as its documentation says, openapi/openapi.json) "
        "and the control API's document (openapi/control.json), as the app emits them. Run it in a checkout.",
    )
    document.add_argument("--output", type=Path, default=DEFAULT_DOCUMENT, help=f"default {DEFAULT_DOCUMENT}")
    document.add_argument(
        "--control-output", type=Path, default=DEFAULT_CONTROL_DOCUMENT, help=f"default {DEFAULT_CONTROL_DOCUMENT}"
    )
    document.add_argument("--check", action="store_true", help="exit 1 if a file differs from what the app emits")

    coverage = commands.add_parser(
        "coverage",
        help="which documented behaviours of the API a running mock's clients have seen",
        description="Ask a running mock which documented behaviours of the Servers API its clients have seen "
        "(statuses of each operation, transitions, refusals, faults), with a hint for each one never seen. "
        "For clients in any language that run the mock as a service; exits 1 below --fail-under.",
    )
    coverage.add_argument("--url", required=True, help="the mock, e.g. http://127.0.0.1:8000")
    coverage.add_argument("--account", help="only this account's requests (default: the whole mock)")
    coverage.add_argument("--format", choices=("table", "md", "json"), default="table", help="default table")
    coverage.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 when less than PCT%% was seen")
    coverage.add_argument(
        "--admin-token",
        default=os.environ.get("MOCKVPS_ADMIN_TOKEN"),
        help="the mock's admin token, if it has one (default: MOCKVPS_ADMIN_TOKEN)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "conformance":
        return _conformance(parser, args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "openapi":
        return _openapi({args.output: "contract", args.control_output: "control"}, args.check)
    if args.command == "proxy":
        return _proxy(parser, args)
    if args.command == "coverage":
        return _coverage(args)
    return _serve(args)


def _proxy(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not args.upstream.startswith(("http://", "https://")):
        parser.error("proxy --upstream must be an http:// or https:// URL")
    try:
        import openapi_core  # noqa: F401
    except ImportError as exc:
        print(f"mockvps proxy needs its extra: pip install 'mockvps[proxy]' ({exc})", file=sys.stderr)
        return 2
    from mockvps.proxy.server import ProxyOptions, run_proxy

    given = {
        "record_max_bytes": args.record_max_bytes,
        "timeout": args.timeout,
        "transition_timeout": args.transition_timeout,
    }
    options = ProxyOptions(
        upstream=args.upstream,
        host=args.host,
        port=args.port,
        report=args.report,
        record=args.record,
        document=args.document,
        fail_on_drift=args.fail_on_drift,
        log_level=args.log_level,
        **{key: value for key, value in given.items() if value is not None},
    )
    return run_proxy(options)


_SUITE_OPTIONS: list[tuple[str, type, str]] = [
    ("--second-token", str, "a token of another account: checks that accounts see none of each other's servers"),
    ("--read-only-token", str, "a token of the same account with servers:read only: checks that writes are 403"),
    ("--profile", str, "fast (default, deterministic) or thorough (more examples, for nightly runs)"),
    ("--max-servers", int, "servers the suite may hold at once (default 3)"),
    ("--rate", float, "requests per second at most (default 5 against a remote service)"),
    ("--transition-timeout", float, "seconds to wait for a status change (default 600)"),
    ("--plan-id", int, "a plan the service offers (default 1)"),
    ("--os-id", int, "an OS image the service offers (default 5)"),
    ("--location", str, "a location the service offers (default us-west)"),
]


def _conformance(parser: argparse.ArgumentParser, args: argparse.Namespace, rest: list[str]) -> int:
    if not args.base_url or not args.token:
        parser.error("conformance needs --base-url and --token (or MOCKVPS_BASE_URL and MOCKVPS_TOKEN)")
    try:
        import pytest

        import mockvps.conformance
    except ImportError as exc:
        print(
            f"mockvps conformance needs the suite's dependencies: pip install 'mockvps[conformance]' ({exc})",
            file=sys.stderr,
        )
        return 2
    from mockvps.conformance.target import precheck

    problem = precheck(args.base_url, args.token)
    if problem is not None:
        print(f"mockvps conformance: {problem}", file=sys.stderr)
        return 2
    suite = Path(mockvps.conformance.__file__).parent
    argv = [
        "-c",
        str(suite / "pytest.ini"),
        "--rootdir",
        str(suite),
        str(suite),
        "-v",
        "--tb=short",
        "--no-header",
        "--base-url",
        args.base_url,
        "--token",
        args.token,
    ]
    if args.allow_writes:
        argv.append("--allow-writes")
    for flag, _, _ in _SUITE_OPTIONS:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            argv += [flag, str(value)]
    if args.as_remote:
        argv.append("--as-remote")
    if args.report:
        argv += ["--report", str(args.report), f"--junitxml={args.report / 'junit.xml'}"]
    return int(pytest.main([*argv, *rest]))


def _coverage(args: argparse.Namespace) -> int:
    import httpx

    from mockvps.coverage_report import load, reaches, render, shortfall
    from mockvps.testing import ControlClient, ControlError

    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        print(f"mockvps coverage: --fail-under {args.fail_under:g}: give a percentage from 0 to 100", file=sys.stderr)
        return 2
    control = ControlClient(args.url, admin_token=args.admin_token)
    try:
        scoped = control.scoped(args.account) if args.account else control
        report = load(scoped.coverage())
    except ControlError as exc:
        detail = exc.body.get("detail", exc.body) if isinstance(exc.body, dict) else exc.body
        account = f" (account {args.account})" if exc.status == 404 and args.account else ""
        print(f"mockvps coverage: {args.url} answered {exc.status}{account}: {detail}", file=sys.stderr)
        return 2
    except (httpx.HTTPError, ValueError) as exc:
        print(f"mockvps coverage: cannot read the coverage of {args.url}: {exc}", file=sys.stderr)
        return 2
    finally:
        control.close()
    sys.stdout.write(render(report, args.format))
    if args.fail_under is not None and not reaches(report, args.fail_under):
        print(shortfall(report, args.fail_under), file=sys.stderr)
        return 1
    return 0


def _openapi(paths: dict[Path, str], check: bool) -> int:
    from mockvps.control.document import control_document
    from mockvps.public.document import contract_document
    from mockvps.shared.openapi import render_document

    documents = {"contract": contract_document, "control": control_document}
    stale = 0
    for path, kind in paths.items():
        text = render_document(documents[kind]())
        if check:
            if not path.exists():
                print(
                    f"{path} not found: run `mockvps openapi --check` in a checkout of mockvps "
                    "(or give --output and --control-output).",
                    file=sys.stderr,
                )
                stale += 1
                continue
            if path.read_text(encoding="utf-8") != text:
                print(f"{path} is out of date: run `mockvps openapi` and commit the result.", file=sys.stderr)
                stale += 1
            else:
                print(f"{path} is up to date.")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 1 if stale else 0


def _serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from mockvps.errors import ConfigurationError
    from mockvps.settings import Settings
    from mockvps.shared.access import is_loopback
    from mockvps.validation import first_problem

    overrides: dict[str, Any] = {
        key: value for key, value in vars(args).items() if key != "command" and value is not None
    }
    try:
        settings = Settings(**overrides)
        from mockvps.app import create_app

        app = create_app(settings)
    except ValidationError as exc:
        print(f"mockvps: invalid setting {first_problem(exc)}", file=sys.stderr)
        return 2
    except ConfigurationError as exc:
        print(f"mockvps: {exc.detail}", file=sys.stderr)
        return 2

    _release_freed_memory()
    import uvicorn

    from mockvps.shared.sockets import listening_socket

    try:
        sock, base = listening_socket(settings.host, settings.port)
    except OSError as exc:
        print(f"mockvps: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    if settings.admin_token is None and not is_loopback(settings.host):
        print(
            f"mockvps: warning: listening on {settings.host} port {port} without an admin token: anyone who can reach "
            "this port can read and change the mock's state; set one with --admin-token (MOCKVPS_ADMIN_TOKEN).",
            file=sys.stderr,
            flush=True,
        )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # Printed once requests are served and signals handled, so a reader of this line can go ahead.
            print(f"mockvps listening on {base}", flush=True)
            print(f"  API:   {base}/api/v1/servers/", flush=True)
            print(f"  docs:  {base}/docs   (Try it out talks to this mock)", flush=True)
            print(f"  dashboard: {base}/_mockvps/ui/", flush=True)
            if settings.cors_origins:
                print(f"  CORS:  browsers on {', '.join(settings.cors_origins)}", flush=True)
            if settings.page_size:
                print(f"  pages: page size {settings.page_size} (?page=N, ?page_size=M up to 100)", flush=True)
            print(f"  token: {settings.token}   (Authorization: Bearer {settings.token})", flush=True)

    def finished(signum: int, frame: object) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler it found:
    # this one, so a requested stop ends with status 0 instead of death by signal.
    signal.signal(signal.SIGTERM, finished)
    signal.signal(signal.SIGINT, finished)
    # Every log line on stdout (uvicorn sends its own to stderr): what containers and CI services expect.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["handlers"]["default"]["stream"] = "ext://sys.stdout"
    try:
        from mockvps.shared.protocol import guarded_protocol

        http: type[asyncio.Protocol] | str = guarded_protocol(settings)
    except ImportError:
        # No httptools for this platform: uvicorn picks h11, whose own limit on an incomplete head (16 KiB) keeps
        # the attack of tests/test_protocol_guard.py cheap, though its refusals are plain text. Without uvloop,
        # uvicorn's loop="auto" runs asyncio's own loop; nothing here depends on which.
        http = "auto"
    config = uvicorn.Config(
        app,
        http=http,
        log_level=settings.log_level,
        log_config=log_config,
        # Access lines are logged at info: below it uvicorn would still build each line's parts, on every request.
        access_log=uvicorn.config.LOG_LEVELS.get(settings.log_level.lower(), logging.INFO) <= logging.INFO,
        server_header=False,
        timeout_graceful_shutdown=1,
    )
    _collect_only_what_serving_makes(app)
    Server(config).run(sockets=[sock])
    return 0


def _collect_only_what_serving_makes(app: MockApp) -> None:
    """Move what start-up made (modules, the catalog, the public API; later the control API) out of the cyclic
    collector's sight: it lives as long as the process, yet every full collection walked all of it.

    A full collection comes each time the tracked objects grow by a quarter, and creates add a server each:
    measured with the control API built, a full collection took 48 ms with no server, 94 ms with 100,000, and
    with start-up frozen 0 and 34 ms, a pause every connection waits through. Frozen objects are still freed
    when their last reference goes (servers deleted, accounts reset); only cycles among them would stay.
    """
    gc.collect()
    gc.freeze()
    app.after_control_built = _freeze_what_is_left


def _freeze_what_is_left() -> None:
    gc.collect()
    gc.freeze()


def _release_freed_memory() -> None:
    """Hand back to the system what loading a big --state file left free (glibc keeps it otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
