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
from typing import Any

from nemo_mcp import __version__
from nemo_mcp.config import SKILLS, Settings
from nemo_mcp.errors import NemoError

EPILOG = """\
commands:
  nemo-mcp                      serve MCP on stdio (what an MCP host runs)
  nemo-mcp --transport http     serve streamable HTTP at http://127.0.0.1:8765/mcp
  nemo-mcp local-backend        run only the embedded ffmpeg engine's HTTP API
  nemo-mcp doctor               check the installation and say what to fix
  nemo-mcp demo                 edit a generated sample lecture end to end, offline
  nemo-mcp models pull [NAME]   fetch the speech model ahead of time (NEMO_ASR_MODEL)

Every flag has an environment variable (NEMO_BACKEND, NEMO_SKILL, NEMO_API_BASE, NEMO_TOKEN,
NEMO_MCP_HOME, NEMO_UPLOAD_ROOTS, …); flags win. See the README for the full table.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nemo-mcp",
        description="Edit video by conversation from any MCP host, through NemoVideo or an offline ffmpeg engine.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"nemo-mcp {__version__}")
    p.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "local-backend", "doctor", "demo", "models"],
        help=argparse.SUPPRESS,
    )
    p.add_argument("words", nargs="*", help=argparse.SUPPRESS)  # models: list | pull [NAME]
    p.add_argument("--transport", choices=["stdio", "http"], default=None, help="stdio (default) or http")
    p.add_argument("--host", default=None, help="address to bind for http (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=None, help="port for http (default 8765) or local-backend (8766)"
    )
    p.add_argument(
        "--backend", choices=["cloud", "local"], default=None, help="cloud (NemoVideo) or local (ffmpeg)"
    )
    p.add_argument(
        "--skill", choices=sorted(SKILLS), default=None, help="skill profile sent as X-Skill-Source"
    )
    p.add_argument("--api-base", default=None, help="backend base URL (NEMO_API_BASE)")
    p.add_argument("--home", default=None, help="state folder (NEMO_MCP_HOME)")
    p.add_argument(
        "--auth-token",
        default=None,
        help="bearer token required from HTTP clients (NEMO_MCP_AUTH_TOKEN); needed off loopback",
    )
    p.add_argument("--out", default=None, help="output folder for demo (default ./nemo-demo)")
    p.add_argument(
        "--debug", action="store_true", default=None, help="verbose logs on stderr (tokens redacted)"
    )
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
    if args.port is not None and args.command == "serve":
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
    if args.words and args.command != "models":
        parser.error(f"unexpected words after {args.command}: {' '.join(args.words)}")
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
        if args.command == "serve":
            return _serve(settings)
        if args.command == "local-backend":
            from nemo_mcp.engine.http import run_forever
            from nemo_mcp.service.uploads import UploadPolicy

            roots = UploadPolicy.default(settings.upload_roots, allow_subtitles=True).roots
            run_forever(settings.home, args.host or "127.0.0.1", args.port or 8766, file_roots=roots)
            return 0
        if args.command == "doctor":
            from nemo_mcp.cli.doctor import run_doctor

            return int(run_doctor(settings))
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


def _serve(settings: Settings) -> int:
    import anyio

    from nemo_mcp.mcp import build_server

    mcp = build_server(settings)
    _setup_logging(bool(settings.debug))  # MCPServer() configures the root logger; put ours back
    if settings.transport == "stdio":
        from nemo_mcp.mcp.stdio import run_stdio

        anyio.run(run_stdio, mcp)
        return 0
    from nemo_mcp.mcp.transport import serve_http

    token = settings.mcp_auth_token.get_secret_value() if settings.mcp_auth_token else None
    anyio.run(lambda: serve_http(mcp, host=settings.host, port=settings.port, auth_token=token))
    return 0
