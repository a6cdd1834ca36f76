"""The state store: private file modes, persistence, and render records that survive restarts."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from nemo_mcp.service.store import ProjectRecord, RenderRecord, Store


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_store_files_are_private_even_under_umask_000(tmp_path: Path) -> None:
    """The database, its WAL side files and its folder are 0600/0700 with umask 000."""
    home = tmp_path / "home"
    store = Store(home / "state.sqlite3")
    store.save_token("cloud", SecretStr("nmv_usr_x1234567"), user_id="u", expires_at=None)
    files = [p for p in home.iterdir() if p.name.startswith("state.sqlite3")]
    assert {p.name for p in files} >= {"state.sqlite3", "state.sqlite3-wal"}
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
    assert mode(home) == 0o700
    store.close()


def test_an_existing_world_readable_store_is_tightened(tmp_path: Path) -> None:
    """A store file left 0644 by an older tool is made 0600 when opened."""
    path = tmp_path / "state.sqlite3"
    path.touch()
    os.chmod(path, 0o644)
    Store(path).close()
    assert mode(path) == 0o600


def test_client_id_token_projects_and_renders_survive_reopening(tmp_path: Path) -> None:
    """Everything written is there after the store is closed and opened again."""
    path = tmp_path / "state.sqlite3"
    store = Store(path, clock=lambda: 100.0)
    cid = store.client_id()
    store.save_token("cloud", SecretStr("nmv_usr_abcdefgh"), user_id="anon_1", expires_at=500.0)
    store.add_project(ProjectRecord(session_id="s1", backend="cloud", title="Lecture"))
    store.set_current_project("cloud", "s1")
    store.save_render(
        RenderRecord(render_id="render_1", backend="cloud", session_id="s1", status="processing")
    )
    store.close()

    again = Store(path, clock=lambda: 200.0)
    token = again.get_token("cloud")
    assert again.client_id() == cid
    assert token is not None and token.token.get_secret_value() == "nmv_usr_abcdefgh"
    assert token.expired(600.0) and not token.expired(150.0)
    assert again.current_project("cloud") == "s1"
    assert [p.title for p in again.list_projects("cloud")] == ["Lecture"]
    render = again.get_render("cloud", "render_1")
    assert render is not None and render.status == "processing" and render.created == 100.0
    again.close()


def test_backends_are_kept_apart(tmp_path: Path) -> None:
    """Projects and tokens of the local engine never mix with the cloud's."""
    store = Store(tmp_path / "s.sqlite3")
    store.add_project(ProjectRecord(session_id="a", backend="local"))
    store.save_token("local", SecretStr("nmv_local_abcdef"), user_id=None, expires_at=None)
    assert store.list_projects("cloud:https://x") == []
    assert store.get_token("cloud:https://x") is None
    store.close()


def test_unwritable_home_gives_a_config_error_naming_the_fix(tmp_path: Path) -> None:
    """A store path under a file (not a folder) fails with advice about NEMO_MCP_HOME."""
    from nemo_mcp.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as info:
        Store(blocker / "state.sqlite3")
    assert "NEMO_MCP_HOME" in str(info.value)
