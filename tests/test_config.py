"""Settings: flags over NEMO_* variables over defaults, and the API base rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.cli.main import _parser, _settings
from nemo_mcp.config import DEFAULT_API_BASE, SKILLS, Settings
from nemo_mcp.errors import ConfigError


def settings_for(argv: list[str]) -> Settings:
    return _settings(_parser().parse_args(argv))


def test_defaults_without_flags_or_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With nothing set: cloud backend, the vendor base URL, the documented default skill, stdio."""
    for name in ("NEMO_BACKEND", "NEMO_API_BASE", "NEMO_SKILL", "NEMO_TRANSPORT", "NEMO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEMO_MCP_HOME", str(tmp_path))
    s = settings_for([])
    assert (s.backend, s.api_base, s.skill, s.transport, s.host, s.port) == (
        "cloud",
        DEFAULT_API_BASE,
        "best-video-learn",
        "stdio",
        "127.0.0.1",
        8765,
    )
    assert s.token is None and s.home == tmp_path


def test_variables_override_defaults_and_flags_override_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """NEMO_BACKEND/NEMO_SKILL apply when no flag is given; --backend/--skill win over them."""
    monkeypatch.setenv("NEMO_BACKEND", "local")
    monkeypatch.setenv("NEMO_SKILL", "tutor-video")
    monkeypatch.setenv("NEMO_PORT", "9000")
    from_env = settings_for([])
    from_flags = settings_for(["--backend", "cloud", "--skill", "chapter-generator", "--port", "9100"])
    assert (from_env.backend, from_env.skill, from_env.port) == ("local", "tutor-video", 9000)
    assert (from_flags.backend, from_flags.skill, from_flags.port) == ("cloud", "chapter-generator", 9100)


def test_every_documented_variable_name_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """NEMO_TOKEN, NEMO_API_BASE, NEMO_MCP_HOME, NEMO_SKILL, NEMO_SKILL_PLATFORM and NEMO_BACKEND all land."""
    monkeypatch.setenv("NEMO_TOKEN", "nmv_usr_abcdefgh")
    monkeypatch.setenv("NEMO_API_BASE", "http://127.0.0.1:9999/")
    monkeypatch.setenv("NEMO_MCP_HOME", str(tmp_path))
    monkeypatch.setenv("NEMO_SKILL", "video-making-ai")
    monkeypatch.setenv("NEMO_SKILL_PLATFORM", "cursor")
    monkeypatch.setenv("NEMO_BACKEND", "local")
    monkeypatch.setenv("NEMO_MCP_AUTH_TOKEN", "inbound-secret")
    s = Settings()
    assert s.token is not None and s.token.get_secret_value() == "nmv_usr_abcdefgh"
    assert (s.api_base, s.home, s.skill, s.skill_platform, s.backend) == (
        "http://127.0.0.1:9999",
        tmp_path,
        "video-making-ai",
        "cursor",
        "local",
    )
    assert s.mcp_auth_token is not None and "inbound-secret" not in repr(s)
    assert "nmv_usr_abcdefgh" not in repr(s)


@pytest.mark.parametrize("base", ["http://api.example.com", "ftp://x", "http://10.0.0.5", "nonsense"])
def test_api_base_must_be_https_unless_loopback(base: str) -> None:
    """A non-HTTPS base other than loopback is refused with the fix named."""
    with pytest.raises(ConfigError) as info:
        Settings(api_base=base)
    assert "NEMO_API_BASE" in str(info.value) and "https://" in str(info.value)


@pytest.mark.parametrize(
    "base", ["https://api.example.com", "http://localhost:8000", "http://127.0.0.2:1", "http://[::1]:5"]
)
def test_https_and_loopback_http_bases_are_accepted(base: str) -> None:
    """HTTPS anywhere and plain HTTP on loopback are fine."""
    assert Settings(api_base=base).api_base == base


def test_the_five_skill_profiles_are_the_contract_table() -> None:
    """Exactly the five X-Skill-Source values of the contract, each with a headline workflow."""
    assert set(SKILLS) == {
        "best-video-learn",
        "tutor-video",
        "video-making-ai",
        "video-skill-online",
        "chapter-generator",
    }
    assert all(p.headline and p.version for p in SKILLS.values())


def test_unknown_skill_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """NEMO_SKILL outside the five profiles is a validation error, not a silent default."""
    monkeypatch.setenv("NEMO_SKILL", "nope")
    with pytest.raises(ValueError, match="skill"):
        Settings()


def test_home_comes_only_from_nemo_mcp_home_not_from_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """$HOME is not mistaken for the state folder; without NEMO_MCP_HOME the per-user data dir is used."""
    from nemo_mcp.config import default_home

    monkeypatch.delenv("NEMO_MCP_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().home == default_home()
    assert Settings().home != tmp_path
    assert Settings(home=tmp_path / "x").home == tmp_path / "x"


def test_an_empty_token_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """NEMO_TOKEN="" is ignored rather than sent as an empty bearer token."""
    monkeypatch.setenv("NEMO_TOKEN", "")
    assert Settings().token is None


def test_transport_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """--transport, --host, --port and --auth-token all land in the one settings object."""
    monkeypatch.delenv("NEMO_TRANSPORT", raising=False)
    s = settings_for(
        ["--transport", "http", "--host", "0.0.0.0", "--port", "9001", "--auth-token", "tok-123456"]
    )
    assert (s.transport, s.host, s.port) == ("http", "0.0.0.0", 9001)
    assert s.mcp_auth_token is not None and s.mcp_auth_token.get_secret_value() == "tok-123456"
