"""``nemo-mcp doctor``: check an installation and say what to fix.

Each check prints one line with a mark — ``✓`` fine, ``!`` works but worth a look, ``✗`` broken —
and, under anything that is not fine, a ``fix:`` line. The output goes to stdout because this is
a command for a person at a terminal, not the MCP server. Nothing printed contains a token, nor
any part of one: a token is only ever described as set or not, with its length or expiry date.

The exit code is 0 when everything the chosen backend needs is in place, 1 otherwise; things the
backend does not need (ffmpeg for the cloud) are reported with ``!`` and do not fail the run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Literal, TextIO

import anyio
import httpx

from nemo_mcp import __version__
from nemo_mcp.config import Backend, Settings, is_loopback_host
from nemo_mcp.errors import AuthError, NemoError
from nemo_mcp.redact import redact
from nemo_mcp.service import backend_key
from nemo_mcp.service.store import Store, store_fix

Status = Literal["ok", "warn", "fail"]

MIN_PYTHON = (3, 11)
REQUIRED_ENCODERS = ("libx264", "aac")
REQUIRED_FILTERS = ("drawtext", "subtitles", "silencedetect", "scdet", "loudnorm")
CLOUD_TIMEOUT_S = 5.0
LOCAL_TIMEOUT_S = 60.0
FFMPEG_TIMEOUT_S = 30.0
MAX_ROOTS_SHOWN = 6
_MARKS: dict[Status, tuple[str, str]] = {"ok": ("✓", "OK"), "warn": ("!", "!"), "fail": ("✗", "X")}


@dataclass(frozen=True)
class Check:
    """The outcome of one check: a mark, what was checked, what was found and how to fix it."""

    status: Status
    label: str
    detail: str
    fix: str | None = None


def check_speech_model(settings: Settings) -> Check:
    """Which speech model the settings choose and whether it is here (see :mod:`nemo_mcp.cli.models`)."""
    from nemo_mcp.cli.models import check_speech_model as check

    return check(settings)


def run_doctor(settings: Settings, *, out: TextIO | None = None, both: bool = False) -> int:
    """Run the checks, print one line each, return the exit code.

    ``both`` (a first run: no backend chosen in a flag or ``NEMO_BACKEND``) checks the local and
    the cloud backend and passes when either is ready, saying which; otherwise only
    ``settings.backend`` is checked.
    """
    stream = out or sys.stdout
    marks = _marks_for(stream)
    # Nothing below prints a token; this is the last guard. Masking a short value (an empty
    # NEMO_TOKEN, say) would shred every line, and no real token is that short.
    values = [s.get_secret_value() for s in (settings.token, settings.mcp_auth_token) if s is not None]
    secrets = [v for v in values if len(v.strip()) >= 6]

    def show(line: str) -> None:
        for value in secrets:
            line = line.replace(value, "[redacted]")
        print(line, file=stream, flush=True)

    backends: tuple[Backend, ...] = ("local", "cloud") if both else (settings.backend,)
    if both:
        show(
            "nemo-mcp doctor: no backend chosen (--backend or NEMO_BACKEND), so both are checked; "
            f"state folder {settings.home}"
        )
    else:
        show(f"nemo-mcp doctor: {settings.backend} backend, state folder {settings.home}")
    common: list[Check] = []
    failed: dict[str, int] = {b: 0 for b in backends}

    def report(check: Check, section: list[Check]) -> None:
        section.append(check)
        show(f"{marks[check.status]} {check.label}: {check.detail}")
        if check.fix and check.status != "ok":
            show(f"    fix: {check.fix}")

    report(check_python(), common)
    report(check_packages(), common)
    store_check, store = check_store(settings)
    report(store_check, common)
    try:
        if settings.transport == "http":
            report(check_http(settings), common)
        report(check_upload_roots(settings), common)
        for backend in backends:
            if both:
                show(f"{backend} backend ({_ABOUT_BACKEND[backend]}):")
            section: list[Check] = []
            for check in _backend_checks(settings.model_copy(update={"backend": backend}), store, both=both):
                report(check, section if both else common)
            failed[backend] = sum(c.status == "fail" for c in section)
    finally:
        if store is not None:
            store.close()
    return _verdict(settings, common, failed, marks, show)


_ABOUT_BACKEND = {"local": "offline, ffmpeg on this computer", "cloud": "NemoVideo over the internet"}


def _backend_checks(settings: Settings, store: Store | None, *, both: bool) -> Iterator[Check]:
    """What one backend needs; ffmpeg and fonts are only notes for the cloud, which renders remotely."""
    local = settings.backend == "local"
    if local or not both:
        yield from check_ffmpeg(needed=local)
    if local:
        yield check_font()
        yield check_speech_model(settings)
    yield check_local_engine(settings) if local else check_cloud(settings.api_base)
    if store is not None:
        if not both or local:  # the client id is shared; say it once
            yield check_client_id(store)
        yield check_token(settings, store)


def _verdict(
    settings: Settings,
    common: list[Check],
    failed: dict[str, int],
    marks: dict[Status, str],
    show: Callable[[str], None],
) -> int:
    warned = sum(c.status == "warn" for c in common)
    note = f" ({warned} note{'s' if warned != 1 else ''} marked {marks['warn']})" if warned else ""
    shared = sum(c.status == "fail" for c in common)
    if len(failed) == 1:
        problems = shared + failed[settings.backend]
        if problems:
            show(
                f"Not ready: {problems} problem{'s' if problems != 1 else ''} marked {marks['fail']} "
                f"for the {settings.backend} backend{note}."
            )
            return 1
        show(f"Ready: everything the {settings.backend} backend needs is in place{note}.")
        return 0
    ready = [b for b, n in failed.items() if n == 0]
    if shared or not ready:
        problems = shared + (0 if ready else min(failed.values()))
        show(
            f"Not ready: {problems} problem{'s' if problems != 1 else ''} marked {marks['fail']} "
            f"stand in the way of both backends{note}."
        )
        return 1
    if len(ready) == 2:
        show(
            "Ready: both backends work. The cloud one is the default; set NEMO_BACKEND=local in the host "
            f'config\'s "env" to edit offline{note}.'
        )
        return 0
    other = "cloud" if ready[0] == "local" else "local"
    how = "NEMO_BACKEND=local" if ready[0] == "local" else "NEMO_BACKEND=cloud (the default)"
    show(
        f"Ready: the {ready[0]} backend works (the {other} one does not, see {marks['fail']} above). "
        f'Use it with {how} in the host config\'s "env", or --backend {ready[0]}{note}.'
    )
    return 0


def _marks_for(stream: TextIO) -> dict[Status, str]:
    # A Windows console on a legacy code page cannot print ✓ and ✗; fall back to plain letters.
    encoding = getattr(stream, "encoding", None)
    if not encoding:  # an in-memory text stream takes any character
        return {status: fancy for status, (fancy, _) in _MARKS.items()}
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return {status: plain for status, (_, plain) in _MARKS.items()}
    return {status: fancy for status, (fancy, _) in _MARKS.items()}


def _quote(path: Path | str) -> str:
    return f'"{path}"' if os.name == "nt" else shlex.quote(str(path))


def _reason(exc: BaseException, limit: int = 160) -> str:
    """A short, token-free account of an exception."""
    text = " ".join(str(exc).split()) or "no details"
    text = redact(f"{type(exc).__name__}: {text}")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- Python and packages --------------------------------------------------------------------


def check_python() -> Check:
    """Python 3.11 or newer."""
    version = ".".join(str(n) for n in sys.version_info[:3])
    if sys.version_info[:2] >= MIN_PYTHON:
        return Check("ok", "Python", version)
    return Check(
        "fail", "Python", f"{version} is too old", fix="install Python 3.11 or newer, then nemo-mcp again"
    )


def _leading_ints(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:2])


def check_packages() -> Check:
    """The versions of nemo-mcp and of the MCP SDK it runs on (2.3 or newer, below 3)."""
    try:
        mcp_version = metadata.version("mcp")
    except metadata.PackageNotFoundError:
        return Check(
            "fail",
            "packages",
            f"nemo-mcp {__version__}, but the mcp package is missing",
            fix="reinstall nemo-mcp so its dependencies come with it: pip install --force-reinstall nemo-mcp",
        )
    detail = f"nemo-mcp {__version__}, mcp {mcp_version}"
    if not (2, 3) <= _leading_ints(mcp_version) < (3,):
        return Check(
            "fail",
            "packages",
            f"{detail} (nemo-mcp needs mcp 2.3 or newer, below 3)",
            fix='pip install "mcp>=2.3,<3"',
        )
    return Check("ok", "packages", detail)


# -- the state store ------------------------------------------------------------------------


def check_store(settings: Settings) -> tuple[Check, Store | None]:
    """The state file opens, and (on POSIX) only this user can read it and list its folder."""
    path = settings.store_path
    folder = path.parent
    existed = path.exists()
    try:
        store = Store(path)
    except NemoError as exc:
        return Check("fail", "state store", exc.user_message, fix=store_fix(path, exc)), None
    except sqlite3.Error as exc:
        what = "is read-only" if "readonly" in str(exc).lower() else "is damaged or locked"
        return Check("fail", "state store", f"{path} {what} ({_reason(exc)})", fix=store_fix(path, exc)), None
    try:
        store.get_meta("schema_version")
    except sqlite3.Error as exc:
        store.close()
        return Check(
            "fail", "state store", f"{path} cannot be read ({_reason(exc)})", fix=store_fix(path, exc)
        ), None

    how = "opened" if existed else "created"
    if os.name == "nt":  # POSIX modes mean nothing there; the folder is private to the user profile
        return Check("ok", "state store", f"{path} ({how})"), store
    file_mode = stat.S_IMODE(path.stat().st_mode)
    folder_mode = stat.S_IMODE(folder.stat().st_mode)
    detail = f"{path} ({how}; file {file_mode:04o}, folder {folder_mode:04o})"
    if file_mode & 0o077:
        return (
            Check(
                "fail",
                "state store",
                f"{detail}: other users can read the token in it",
                fix=f"chmod 600 {_quote(path)}",
            ),
            store,
        )
    if folder_mode & 0o077:
        return (
            Check(
                "warn",
                "state store",
                f"{detail}: other users can list the folder",
                fix=f"chmod 700 {_quote(folder)}",
            ),
            store,
        )
    return Check("ok", "state store", detail), store


def check_client_id(store: Store) -> Check:
    """Whether this installation's client id is kept (the backend ties the free token to it)."""
    if store.get_meta("client_id"):
        return Check("ok", "client id", "kept in the state store")
    return Check("ok", "client id", "none yet; one is made on first start and kept")


def check_token(settings: Settings, store: Store) -> Check:
    """Which token will be used, described without showing any of it."""
    if settings.token is not None:
        value = settings.token.get_secret_value()
        if not value.strip():
            return Check(
                "fail",
                "token",
                "NEMO_TOKEN is set but empty, so every request would be refused",
                fix="remove NEMO_TOKEN from the configuration to use a free anonymous token, or put yours in it",
            )
        if value != value.strip():
            return Check(
                "warn",
                "token",
                f"set in NEMO_TOKEN ({len(value)} characters), with spaces or a line break around it",
                fix="paste the token again without surrounding spaces or line breaks",
            )
        return Check(
            "ok", "token", f"set in NEMO_TOKEN ({len(value)} characters); no anonymous token is used"
        )
    key = backend_key(settings, settings.api_base)
    stored = store.get_token(key)
    if stored is None:
        if settings.backend == "local":
            return Check("ok", "token", "none yet; the local engine issues one on first use")
        return Check(
            "ok", "token", "none yet; a free anonymous one (100 credits, 7 days) is requested on first use"
        )
    kind = "one from the local engine" if settings.backend == "local" else "an anonymous one"
    if stored.expires_at is None:
        return Check("ok", "token", f"{kind} is kept (no expiry given)")
    when = datetime.fromtimestamp(stored.expires_at, tz=UTC).strftime("%Y-%m-%d")
    if stored.expired(time.time(), margin=0):
        return Check("ok", "token", f"the kept one expired on {when}; a new one is requested on next use")
    return Check("ok", "token", f"{kind} is kept, valid until {when}")


# -- ffmpeg ---------------------------------------------------------------------------------


def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(
        list(argv), capture_output=True, text=True, errors="replace", timeout=FFMPEG_TIMEOUT_S, check=False
    )
    return done.stdout


def _names(listing: str) -> set[str]:
    """The second column of ``ffmpeg -encoders`` or ``-filters``: the names."""
    return {parts[1] for line in listing.splitlines() if len(parts := line.split()) >= 2}


def _bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # a wheel without a binary for this platform raises RuntimeError, or worse
        return None
    return exe if isinstance(exe, str) and exe else None


def check_ffmpeg(*, needed: bool) -> list[Check]:
    """Where ffmpeg is, its version, and whether it has the encoders and filters the engine uses."""
    bad: Status = "fail" if needed else "warn"
    why = "" if needed else " (only the local backend needs it)"
    try:
        from nemo_mcp.engine.ffmpeg import FFmpegNotFound, find_ffmpeg
    except ImportError as exc:
        return [
            Check(
                bad,
                "ffmpeg",
                f"the lookup code cannot be loaded ({_reason(exc)}){why}",
                fix="reinstall nemo-mcp: pip install --force-reinstall nemo-mcp",
            )
        ]
    try:
        exe = find_ffmpeg()
    except FFmpegNotFound as exc:
        return [Check(bad, "ffmpeg", f"not found{why}", fix=str(exc))]

    if os.environ.get("NEMO_FFMPEG", "").strip():
        source = f"from NEMO_FFMPEG ({exe})"
    elif shutil.which("ffmpeg") == exe:
        source = f"on PATH ({exe})"
    else:
        source = "the copy bundled with nemo-mcp"
    try:
        first = (_run([exe, "-hide_banner", "-version"]).splitlines() or [""])[0]
        encoders = _names(_run([exe, "-hide_banner", "-encoders"]))
        filters = _names(_run([exe, "-hide_banner", "-filters"]))
    except (OSError, subprocess.SubprocessError) as exc:
        return [
            Check(
                bad,
                "ffmpeg",
                f"{exe} could not be run ({_reason(exc)}){why}",
                fix="point NEMO_FFMPEG at a working ffmpeg, or unset it to use the bundled one",
            )
        ]
    match = re.search(r"version\s+(\S+)", first)
    version = match.group(1) if match else "of unknown version"
    if m := re.match(r"n?(\d+(?:\.\d+)+)", version):
        version = m.group(1)
    found = Check("ok", "ffmpeg", f"{version}, {source}")

    wanted = [*REQUIRED_ENCODERS, *REQUIRED_FILTERS]
    missing = [n for n in REQUIRED_ENCODERS if n not in encoders] + [
        n for n in REQUIRED_FILTERS if n not in filters
    ]
    if not missing:
        return [found, Check("ok", "ffmpeg features", ", ".join(wanted))]
    bundled = _bundled_ffmpeg()
    fix = (
        f"use a complete build: set NEMO_FFMPEG={_quote(bundled)} (the copy bundled with nemo-mcp)"
        if bundled and bundled != exe
        else "install an ffmpeg built with libx264, libfreetype and libass, and set NEMO_FFMPEG to it"
    )
    return [found, Check(bad, "ffmpeg features", f"missing {', '.join(missing)}{why}", fix=fix)]


def check_font() -> Check:
    """A font file for titles and captions, which the local engine burns in with libass."""
    from nemo_mcp.engine.render.assets import find_font

    found = find_font()
    if found is not None:
        path, family = found
        return Check("ok", "font", f"{family} ({path}) for titles and captions")
    return Check(
        "warn",
        "font",
        "none of DejaVu Sans, Liberation Sans, Noto Sans, Arial or Segoe UI found: edits that add titles or "
        "captions will fail, the rest works",
        fix=(
            "install one: sudo apt install fonts-dejavu-core (Debian, Ubuntu), sudo dnf install dejavu-sans-fonts "
            "(Fedora); macOS and Windows have Arial already"
        ),
    )


# -- backends -------------------------------------------------------------------------------


def check_cloud(api_base: str, *, timeout: float = CLOUD_TIMEOUT_S) -> Check:
    """An HTTPS GET of the base URL: any HTTP answer means the service can be reached."""
    started = time.monotonic()
    fix = (
        "check the internet connection, a proxy (HTTPS_PROXY) or a firewall; NEMO_API_BASE if you changed "
        "it; or edit offline with --backend local"
    )
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            response = http.get(api_base + "/")
    except httpx.TimeoutException:
        return Check("fail", "backend", f"{api_base} did not answer within {timeout:g} s", fix=fix)
    except httpx.HTTPError as exc:
        return Check("fail", "backend", f"{api_base} is unreachable ({_reason(exc)})", fix=fix)
    took = time.monotonic() - started
    detail = f"{api_base} answered (HTTP {response.status_code}) in {took:.1f} s"
    if response.status_code >= 500:
        return Check("warn", "backend", detail, fix="the service has a problem on its side; try again later")
    return Check("ok", "backend", detail)


async def _probe_local(settings: Settings) -> str:
    from nemo_mcp.engine.http import running_backend
    from nemo_mcp.service import SessionManager

    with anyio.fail_after(LOCAL_TIMEOUT_S):
        async with running_backend(settings.home) as engine:
            manager = SessionManager(settings, api_base=engine.url, engine_headers=engine.headers)
            try:
                credits = await manager.credits()
            finally:
                await manager.aclose()
    if (credits.model_extra or {}).get("unlimited"):
        return "unlimited"
    return f"{credits.available:g} available" if credits.available is not None else "not reported"


def _innermost(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, which task groups wrap errors in."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def check_local_engine(settings: Settings) -> Check:
    """Start the embedded engine on 127.0.0.1 and ask it for the credit balance."""
    fix = "reinstall nemo-mcp (pip install --force-reinstall nemo-mcp); run with --debug for details"
    try:
        import nemo_mcp.engine.http  # noqa: F401  (only to tell "missing" apart from "broken")
    except ImportError as exc:
        return Check("fail", "local engine", f"cannot be loaded ({_reason(exc)})", fix=fix)
    try:
        credits = anyio.run(_probe_local, settings)
    except Exception as exc:  # a diagnostic reports whatever went wrong instead of crashing on it
        inner = _innermost(exc)
        if isinstance(inner, TimeoutError):
            return Check("fail", "local engine", f"did not answer within {LOCAL_TIMEOUT_S:g} s", fix=fix)
        if isinstance(inner, AuthError) and settings.token is not None:
            return Check(
                "fail",
                "local engine",
                "refused the token in NEMO_TOKEN, which is meant for the NemoVideo cloud",
                fix="unset NEMO_TOKEN when you use --backend local; the local engine issues its own token",
            )
        if isinstance(inner, NemoError):
            return Check("fail", "local engine", inner.user_message, fix=fix)
        return Check("fail", "local engine", f"failed to start ({_reason(inner)})", fix=fix)
    return Check("ok", "local engine", f"started on 127.0.0.1 and answered; credits {credits}")


def check_http(settings: Settings) -> Check:
    """Where ``--transport http`` would listen, and that it is guarded when others can reach it."""
    url = f"http://{settings.host}:{settings.port}/mcp"
    token = settings.mcp_auth_token.get_secret_value().strip() if settings.mcp_auth_token else ""
    guarded = "; clients must send the bearer token in NEMO_MCP_AUTH_TOKEN" if token else ""
    if is_loopback_host(settings.host):
        return Check("ok", "HTTP transport", f"{url}, this computer only{guarded}")
    if not token:
        return Check(
            "fail",
            "HTTP transport",
            f"{url} can be reached from other machines, and NEMO_MCP_AUTH_TOKEN is not set",
            fix="set NEMO_MCP_AUTH_TOKEN to a long random string (openssl rand -hex 32), or listen on 127.0.0.1",
        )
    return Check("ok", "HTTP transport", f"{url}{guarded}")


# -- uploads --------------------------------------------------------------------------------


def check_upload_roots(settings: Settings) -> Check:
    """The folders upload_media may read from, as the server would compute them here."""
    from nemo_mcp.service.uploads import UploadPolicy

    fix = "set NEMO_UPLOAD_ROOTS to the folders that hold your videos (separated by ':', or ';' on Windows)"
    absent = [p for p in settings.upload_roots if not Path(p).expanduser().is_dir()]
    roots = UploadPolicy.default(settings.upload_roots).roots
    shown = ", ".join(str(r) for r in roots[:MAX_ROOTS_SHOWN])
    if len(roots) > MAX_ROOTS_SHOWN:
        shown += f" and {len(roots) - MAX_ROOTS_SHOWN} more"
    if absent:
        return Check(
            "warn",
            "upload folders",
            f"NEMO_UPLOAD_ROOTS names missing folders: {', '.join(str(p) for p in absent)}",
            fix="create them or correct NEMO_UPLOAD_ROOTS",
        )
    if not roots:
        return Check("warn", "upload folders", "none: uploads of local files will be refused", fix=fix)
    return Check("ok", "upload folders", shown)
