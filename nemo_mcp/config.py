"""Settings and skill profiles.

One :class:`Settings` object reads everything: command-line flags (passed in as
overrides), ``NEMO_*`` environment variables, then defaults, in that order.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo

from nemo_mcp.errors import ConfigError

DEFAULT_API_BASE = "https://mega-api-prod.nemovideo.ai"
APP_NAME = "nemo_agent"

SkillName = Literal[
    "best-video-learn", "tutor-video", "video-making-ai", "video-skill-online", "chapter-generator"
]
Backend = Literal["cloud", "local"]
Transport = Literal["stdio", "http"]

# Whisper "base" (the English-only base.en for English projects): on a two-core laptop it
# transcribes a lecture several times faster than it plays, with far fewer errors than "tiny" on
# real voices; "small" is about three times slower again. A 145 MB download, fetched once.
DEFAULT_ASR_MODEL = "base"


@dataclass(frozen=True)
class SkillProfile:
    """One of the vendor's five skills: its attribution id and its headline workflow."""

    source: SkillName
    title: str
    version: str
    headline: str
    description: str


SKILLS: dict[str, SkillProfile] = {
    p.source: p
    for p in (
        SkillProfile(
            "best-video-learn",
            "Best Video Learn",
            "1.0.0",
            "break this lecture into short learning segments with chapter titles and captions",
            "Turn a long lecture into 3-5 minute learning segments with chapter titles and captions.",
        ),
        SkillProfile(
            "tutor-video",
            "Tutor Video",
            "1.0.0",
            "add chapter titles, highlight clicks, and insert a summary slide at the end",
            "Polish a screen-recorded tutorial: chapter titles, highlights and a closing summary slide.",
        ),
        SkillProfile(
            "video-making-ai",
            "Video Making AI",
            "1.0.0",
            "cut out silences, add background music, and export as a 60-second highlight reel",
            "Make a tight highlight reel: silences cut, background music, a target length.",
        ),
        SkillProfile(
            "video-skill-online",
            "Video Skill Online",
            "1.0.0",
            "trim the intro, add captions, and export for YouTube",
            "Prepare a video for YouTube: trim the intro, add captions, export at 1920x1080.",
        ),
        SkillProfile(
            "chapter-generator",
            "Chapter Generator",
            "1.0.0",
            "generate chapters with timestamps and titles for my YouTube video",
            "Generate YouTube chapters with timestamps and titles.",
        ),
    )
}
DEFAULT_SKILL: SkillName = "best-video-learn"


def names_localhost(host: str | None) -> bool:
    """Whether ``host`` is ``localhost`` or a name under ``.localhost`` (resolved or not)."""
    name = (host or "").lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, any address in 127.0.0.0/8 or ``::1``, and a ``*.localhost`` name
    that resolves to loopback addresses only.

    A ``*.localhost`` name is not trusted for its spelling: RFC 6761 asks resolvers to keep it
    on loopback, but not every resolver does, and a name that reaches another host must not
    get loopback's trust (plain HTTP, no token).
    """
    if not host:
        return False
    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    if name.endswith(".localhost"):
        return _resolves_to_loopback(name)
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolves_to_loopback(name: str) -> bool:
    import socket

    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = {str(info[4][0]).split("%")[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def check_api_base(url: str) -> str:
    """Validate a backend base URL: HTTPS, or plain HTTP to a loopback host only."""
    parts = urlsplit(url.strip())
    if parts.scheme == "https" and parts.hostname:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url.strip().rstrip("/")
    raise ConfigError(
        f"NEMO_API_BASE must be an https:// URL (plain http:// is allowed only for 127.0.0.1 or localhost); "
        f"got {parts.scheme or 'no scheme'}://{parts.hostname or ''}. Fix the value or unset it to use "
        f"{DEFAULT_API_BASE}."
    )


def asr_model_setting() -> str:
    """``NEMO_ASR_MODEL`` as the engine reads it (the engine runs without a :class:`Settings`)."""
    return os.environ.get("NEMO_ASR_MODEL", "").strip() or DEFAULT_ASR_MODEL


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("nemo-mcp", appauthor=False))


def _environment(fields: dict[str, FieldInfo]) -> dict[str, str]:
    """The set, non-empty ``NEMO_*`` variables of ``fields``, by field name (names matched in any case).

    A field's variable is its ``validation_alias`` where it has one (``home`` is NEMO_MCP_HOME,
    never the unrelated HOME), else its name upper-cased after ``NEMO_``.
    """
    found = {name.upper(): value for name, value in os.environ.items() if name[:5].upper() == "NEMO_"}
    values: dict[str, str] = {}
    for name, field in fields.items():
        alias = field.validation_alias
        value = found.get(alias if isinstance(alias, str) else f"NEMO_{name.upper()}", "")
        if value.strip():
            values[name] = value
    return values


class Settings(BaseModel):
    """Every knob of nemo-mcp. Environment variables are the field names with ``NEMO_`` in front.

    Values given to the constructor (the command line's flags) win over the environment, which
    wins over the defaults. A small reader of our own rather than pydantic-settings: that package
    cost about 20 ms of every start-up, for a job of twenty lines.
    """

    # populate_by_name: Settings(home=…) works, while only NEMO_MCP_HOME is read from the
    # environment (an alias "home" would also match the unrelated HOME variable).
    model_config = ConfigDict(extra="ignore", validate_default=True, populate_by_name=True)

    token: SecretStr | None = Field(
        default=None, description="Your own NemoVideo token (else a free anonymous one)."
    )
    api_base: str = Field(default=DEFAULT_API_BASE, description="Backend base URL.")
    home: Path = Field(
        default_factory=default_home,
        validation_alias="NEMO_MCP_HOME",
        description="Folder for the state store (tokens, projects, renders).",
    )
    skill: SkillName = Field(default=DEFAULT_SKILL, description="Skill profile sent as X-Skill-Source.")
    skill_version: str | None = Field(default=None, description="Override of X-Skill-Version.")
    skill_platform: str | None = Field(default=None, description="Override of the detected X-Skill-Platform.")
    backend: Backend = Field(
        default="cloud", description="cloud (NemoVideo) or local (embedded ffmpeg engine)."
    )
    language: str = Field(default="en", description="Language code for new projects.")
    upload_roots: list[Path] = Field(
        default_factory=list,
        description="Extra folders uploads may read from (os.pathsep-separated in the env).",
    )
    download_dir: Path | None = Field(default=None, description="Default folder for downloaded exports.")
    download_roots: list[Path] = Field(
        default_factory=list,
        description=(
            "Extra folders export_video may save into (os.pathsep-separated in the env); by default only "
            "the download folder and the upload folders."
        ),
    )
    sse_idle_timeout: float = Field(
        default=300.0, gt=0, description="Seconds without bytes before a stream is dead."
    )
    sse_total_timeout: float = Field(
        default=900.0, gt=0, description="Total cap of one edit stream (15 minutes)."
    )
    max_event_bytes: int = Field(
        default=4 * 1024 * 1024, gt=1024, description="Largest SSE line or event accepted."
    )
    request_timeout: float = Field(
        default=60.0, gt=0, description="Overall deadline of an ordinary request, repeats included."
    )
    transport: Transport = Field(default="stdio", description="stdio (what MCP hosts launch) or http.")
    host: str = Field(default="127.0.0.1", description="Address the HTTP transport binds.")
    port: int = Field(default=8765, ge=0, le=65535, description="Port of the HTTP transport.")
    mcp_auth_token: SecretStr | None = Field(
        default=None,
        validation_alias="NEMO_MCP_AUTH_TOKEN",
        description="Bearer token HTTP clients must send to this server (required off loopback).",
    )
    heartbeat_interval: float = Field(
        default=4.0, gt=0, description="Seconds of silence before a 'still working' progress line."
    )
    wait_budget: float = Field(
        default=40.0,
        gt=0,
        le=3600,
        description="Longest a tool call waits before it returns how to pick the work up (hosts stop at 60 s).",
    )
    debug: bool = Field(default=False, description="Verbose logs on stderr (tokens stay redacted).")
    asr_model: str = Field(
        default=DEFAULT_ASR_MODEL,
        description="Speech model: a Whisper name (tiny, base, small, … or .en forms) or a CTranslate2 folder.",
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_environment(type(self).model_fields), **values})

    @field_validator("api_base")
    @classmethod
    def _check_base(cls, value: str) -> str:
        return check_api_base(value)

    @field_validator("upload_roots", "download_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [p for p in value.split(os.pathsep) if p.strip()]
        return value

    @property
    def profile(self) -> SkillProfile:
        return SKILLS[self.skill]

    @property
    def store_path(self) -> Path:
        return self.home / "state.sqlite3"
