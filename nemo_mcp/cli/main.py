"""The ``nemo-mcp`` command line.

``nemo-mcp`` serves MCP on stdio (what MCP hosts launch); ``--transport http`` serves
streamable HTTP on 127.0.0.1. Flags override ``NEMO_*`` environment variables, which
override defaults — all read into one :class:`~nemo_mcp.config.Settings`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from nemo_mcp import __version__
from nemo_mcp.config import SKILLS, Settings
from nemo_mcp.errors import NemoError

EPILOG = """\
commands (each has its own --help, e.g. nemo-mcp doctor --help):
  nemo-mcp                      serve MCP on stdio (what an MCP host runs); same as nemo-mcp serve
  nemo-mcp --transport http     serve streamable HTTP at http://127.0.0.1:8765/mcp
  nemo-mcp doctor               check the installation and say what to fix
  nemo-mcp demo                 edit a generated sample lecture end to end, offline
  nemo-mcp local-backend        run only the embedded ffmpeg engine's HTTP API
  nemo-mcp models pull [NAME]   fetch the speech model ahead of time (NEMO_ASR_MODEL)

Every flag has an environment variable (NEMO_BACKEND, NEMO_SKILL, NEMO_API_BASE, NEMO_TOKEN,
NEMO_MCP_HOME, NEMO_UPLOAD_ROOTS, …); flags win. See the README for the full table.
"""

TERMINAL_HINT = (
    "nemo-mcp speaks MCP (JSON-RPC) on stdin/stdout and is waiting for an MCP host, not for typing. "
    "To try it: nemo-mcp doctor, nemo-mcp demo, or npx @modelcontextprotocol/inspector {command}. "
    "Ctrl-C quits."
)

_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "serve MCP on stdio (default) or streamable HTTP",
        "Serve MCP on stdio, which MCP hosts launch, or streamable HTTP with --transport http.",
    ),
    "doctor": (
        "check the installation and say what to fix",
        "Check everything the chosen backend needs and print a fix: under anything that is not right. "
        "With no backend chosen (no --backend, no NEMO_BACKEND) both backends are checked and the "
        "report says which is ready. Exit code 0 when ready, 1 otherwise. Never prints a token.",
    ),
    "demo": (
        "edit a generated sample lecture end to end, offline",
        "Start the embedded ffmpeg engine, make a sample lecture, run the headline workflows on it and "
        "write the MP4s and a chapter list to --out. Needs no account and no network.",
    ),
    "models": (
        "list the speech models, or fetch one ahead of time",
        "List the speech-recognition models (NEMO_ASR_MODEL) and which are downloaded, or fetch one with "
        "`models pull [NAME]` so the first captions need no download.",
    ),
    "local-backend": (
        "run only the embedded engine's HTTP API (for testing)",
        "Run the embedded ffmpeg engine's HTTP API, the same API as the NemoVideo cloud, on 127.0.0.1.",
    ),
}


def _settings_flags(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument(
        "--backend", choices=["cloud", "local"], default=default, help="cloud (NemoVideo) or local (ffmpeg)"
    )
    p.add_argument(
        "--skill", choices=sorted(SKILLS), default=default, help="skill profile sent as X-Skill-Source"
    )
    p.add_argument("--api-base", default=default, help="backend base URL (NEMO_API_BASE)")
    _home_and_debug(p, default)


def _home_and_debug(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("--home", default=default, help="state folder (NEMO_MCP_HOME)")
    p.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="verbose logs on stderr (tokens redacted)",
    )


def _serving_flags(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("--transport", choices=["stdio", "http"], default=default, help="stdio (default) or http")
    _address_flags(p, default, port_help="port for http (default 8765)")
    p.add_argument(
        "--auth-token",
        default=default,
        help="bearer token required from HTTP clients (NEMO_MCP_AUTH_TOKEN); needed off loopback",
    )


def _address_flags(p: argparse.ArgumentParser, default: Any, *, port_help: str) -> None:
    p.add_argument("--host", default=default, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=default, help=port_help)


def _parser() -> argparse.ArgumentParser:
    """The command line: serving flags work with no command (what hosts run), and each command
    has its own parser, so ``nemo-mcp doctor --help`` describes doctor."""
    p = argparse.ArgumentParser(
        prog="nemo-mcp",
        description="Edit video by conversation from any MCP host, through NemoVideo or an offline ffmpeg engine.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"nemo-mcp {__version__}")
    _settings_flags(p, None)
    _serving_flags(p, None)
    p.set_defaults(out=None, engine_key=None, words=[])
    commands = p.add_subparsers(dest="command", metavar="command", title="commands")
    # Flags given after the command land here; SUPPRESS keeps the ones not given from hiding
    # the same flags given before the command.
    sub = argparse.SUPPRESS
    for name, (summary, description) in _COMMANDS.items():
        c = commands.add_parser(name, help=summary, description=description)
        if name == "models":
            _home_and_debug(c, sub)
            c.add_argument(
                "words", nargs="*", metavar="list | pull [NAME]", help="what to do (default: list)"
            )
            continue
        if name == "local-backend":
            _home_and_debug(c, sub)
            _address_flags(c, sub, port_help="port (default 8766)")
            c.add_argument(
                "--engine-key",
                default=sub,
                help="the key clients must send (NEMO_ENGINE_KEY is safer than a flag); default: random",
            )
            continue
        _settings_flags(c, sub)
        if name == "demo":
            c.add_argument("--out", default=sub, help="output folder (default ./nemo-demo)")
        else:
            _serving_flags(c, sub)
    return p


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for flag, name in (
        ("backend", "backend"),
        ("skill", "skill"),
        ("api_base", "api_base"),
        ("debug", "debug"),
        ("transport", "transport"),
        ("host", "host"),
        ("auth_token", "mcp_auth_token"),
    ):
        value = getattr(args, flag)
        if value is not None:
            overrides[name] = value
    if args.home:
        overrides["home"] = args.home
    if args.port is not None and args.command in (None, "serve", "doctor"):
        overrides["port"] = args.port
    return Settings(**overrides)


def _setup_logging(debug: bool) -> None:
    from nemo_mcp.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)  # stdout is the protocol channel
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
    except NemoError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # pydantic validation of a flag or variable
        print(f"nemo-mcp: invalid configuration: {exc}", file=sys.stderr)
        return 2
    _setup_logging(bool(settings.debug))
    try:
        if args.command in (None, "serve"):
            return _serve(settings)
        if args.command == "local-backend":
            return _local_backend(args, settings)
        if args.command == "doctor":
            from nemo_mcp.cli.doctor import run_doctor

            return int(run_doctor(settings, both="backend" not in settings.model_fields_set))
        if args.command == "models":
            from nemo_mcp.cli.models import run_models

            return run_models(settings, args.words)
        if args.command == "demo":
            from nemo_mcp.cli.demo import run_demo

            return int(run_demo(settings, out=args.out))
    except NemoError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


def _local_backend(args: argparse.Namespace, settings: Settings) -> int:
    """Run the engine alone; it answers only callers that send its key, which is printed or given."""
    import os

    from nemo_mcp.engine.http import ENGINE_KEY_HEADER, key_problem, new_engine_key, run_forever
    from nemo_mcp.redact import SECRETS
    from nemo_mcp.service.uploads import UploadPolicy

    key = args.engine_key or os.environ.get("NEMO_ENGINE_KEY", "").strip()
    if key:
        problem = key_problem(key)
        if problem:
            print(f"nemo-mcp: {problem}; leave it unset to get a random one.", file=sys.stderr)
            return 2
    else:
        key = new_engine_key()
        # Printed once, on stderr, for the person who started it; never written to a log or a file.
        print(
            f"nemo-mcp local-backend: clients must send the header {ENGINE_KEY_HEADER}: {key}\n"
            "  (set NEMO_ENGINE_KEY before starting to choose the key yourself)",
            file=sys.stderr,
            flush=True,
        )
    SECRETS.add(key)
    roots = UploadPolicy.default(settings.upload_roots, allow_subtitles=True).roots
    run_forever(settings.home, args.host or "127.0.0.1", args.port or 8766, file_roots=roots, key=key)
    return 0


def _serve(settings: Settings) -> int:
    import anyio

    from nemo_mcp.mcp import build_server

    mcp = build_server(settings)
    _setup_logging(bool(settings.debug))  # MCPServer() configures the root logger; put ours back
    if settings.transport == "stdio":
        from nemo_mcp.mcp.stdio import run_stdio

        if hint := terminal_hint(sys.stdin):
            print(hint, file=sys.stderr, flush=True)

        anyio.run(run_stdio, mcp)
        return 0
    from nemo_mcp.mcp.transport import serve_http

    token = settings.mcp_auth_token.get_secret_value() if settings.mcp_auth_token else None
    anyio.run(lambda: serve_http(mcp, host=settings.host, port=settings.port, auth_token=token))
    return 0


def terminal_hint(stdin: TextIO | None) -> str | None:
    """One line for a person who ran nemo-mcp in a terminal, where it would look hung; None for a host."""
    try:
        interactive = stdin is not None and stdin.isatty()
    except (ValueError, OSError):  # closed or detached
        return None
    if not interactive:
        return None
    command = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "nemo-mcp"
    return TERMINAL_HINT.format(command="nemo-mcp" if command in ("__main__.py", "-c", "") else command)
