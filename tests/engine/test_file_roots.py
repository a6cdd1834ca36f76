"""The local engine's ``file_roots``: file:// uploads only from allowed folders, symlinks resolved."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_mcp.engine.http import running_backend

pytestmark = pytest.mark.anyio

needs_symlinks = pytest.mark.skipif(os.name == "nt", reason="symlinks need extra rights on Windows")


@dataclass
class Engine:
    http: httpx.AsyncClient
    token: str
    sid: str

    async def upload_url(self, url: str) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/upload-video/nemo_agent/me/{self.sid}",
            json={"urls": [url], "source_type": "url"},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@asynccontextmanager
async def engine(home: Path, roots: list[Path] | None) -> AsyncIterator[Engine]:
    async with (
        running_backend(home, file_roots=roots) as endpoint,
        httpx.AsyncClient(base_url=endpoint.url, headers=endpoint.headers, timeout=60) as http,
    ):
        r = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "roots-test"})
        token = r.json()["data"]["token"]
        r = await http.post(
            "/api/tasks/me/with-session/nemo_agent",
            json={"task_name": "roots"},
            headers={"Authorization": f"Bearer {token}"},
        )
        yield Engine(http, token, r.json()["data"]["session_id"])


@dataclass
class Layout:
    root: Path
    inside: Path
    outside: Path
    sibling: Path


@pytest.fixture
def layout(tmp_path: Path, gap_video: Path) -> Layout:
    root = tmp_path / "media"
    (root / "sub").mkdir(parents=True)
    inside = root / "sub" / "talk.mp4"
    shutil.copyfile(gap_video, inside)
    outside = tmp_path / "private" / "secret.mp4"
    outside.parent.mkdir()
    shutil.copyfile(gap_video, outside)
    # Shares the root's name as a string prefix: a naive startswith() check would let it in.
    sibling = tmp_path / "media-evil" / "x.mp4"
    sibling.parent.mkdir()
    shutil.copyfile(gap_video, sibling)
    return Layout(root, inside, outside, sibling)


def _refused(body: dict[str, Any]) -> str:
    assert body["code"] == 4001, body
    message: str = body["message"]
    assert "file:// URLs may name only files inside the folders" in message
    return message


async def test_file_inside_the_roots_is_used_in_place(tmp_path: Path, layout: Layout) -> None:
    """A file:// URL to a file inside an allowed folder is accepted and referenced where it is."""
    async with engine(tmp_path / "home", [layout.root]) as api:
        body = await api.upload_url(layout.inside.as_uri())
    assert body["code"] == 0, body
    (entry,) = body["data"]["files"]
    assert entry["in_place"] is True
    assert entry["file_type"] == "video"


async def test_outside_and_prefix_sibling_and_dotdot_are_refused(tmp_path: Path, layout: Layout) -> None:
    """Files outside the roots are refused with 4001 naming the rule: a prefix-named sibling and a .. path too."""
    async with engine(tmp_path / "home", [layout.root]) as api:
        outside = _refused(await api.upload_url(layout.outside.as_uri()))
        assert "secret.mp4" in outside
        _refused(await api.upload_url(layout.sibling.as_uri()))
        dotdot = "file://" + str(layout.root) + "/../private/secret.mp4"
        _refused(await api.upload_url(dotdot))
        state = await api.http.get(
            f"/api/state/nemo_agent/me/{api.sid}/latest", headers={"Authorization": f"Bearer {api.token}"}
        )
    assert state.json()["data"]["state"]["video_infos"] == []


async def test_refusal_does_not_reveal_whether_an_outside_file_exists(tmp_path: Path, layout: Layout) -> None:
    """A missing file and an existing one outside the roots get the same refusal, so nothing leaks."""
    async with engine(tmp_path / "home", [layout.root]) as api:
        real = _refused(await api.upload_url(layout.outside.as_uri()))
        ghost = _refused(await api.upload_url(layout.outside.with_name("ghost.mp4").as_uri()))
        wrong_type = _refused(await api.upload_url((layout.outside.parent / "id_rsa").as_uri()))
    assert real.replace("secret.mp4", "X") == ghost.replace("ghost.mp4", "X")
    assert wrong_type.replace("id_rsa", "X") == real.replace("secret.mp4", "X")


@needs_symlinks
async def test_symlinks_are_judged_by_their_target(tmp_path: Path, layout: Layout) -> None:
    """A link inside the roots to a file outside is refused; a link to a file inside is accepted."""
    escape = layout.root / "escape.mp4"
    escape.symlink_to(layout.outside)
    linked_dir = layout.root / "linked"
    linked_dir.symlink_to(layout.outside.parent, target_is_directory=True)
    fine = layout.root / "fine.mp4"
    fine.symlink_to(layout.inside)
    async with engine(tmp_path / "home", [layout.root]) as api:
        _refused(await api.upload_url(escape.as_uri()))
        _refused(await api.upload_url((linked_dir / "secret.mp4").as_uri()))
        ok = await api.upload_url(fine.as_uri())
    assert ok["code"] == 0, ok


@needs_symlinks
async def test_a_root_given_through_a_symlink_still_contains_its_files(
    tmp_path: Path, layout: Layout
) -> None:
    """Roots are resolved too: a root named by a symlink admits the files of the folder it points to."""
    alias = tmp_path / "alias"
    alias.symlink_to(layout.root, target_is_directory=True)
    async with engine(tmp_path / "home", [alias]) as api:
        via_real = await api.upload_url(layout.inside.as_uri())
        via_alias = await api.upload_url((alias / "sub" / "talk.mp4").as_uri())
    assert via_real["code"] == 0, via_real
    assert via_alias["code"] == 0, via_alias


async def test_no_roots_given_keeps_the_old_behaviour(tmp_path: Path, layout: Layout) -> None:
    """Without file_roots (the default) any readable file may be named, as before."""
    async with engine(tmp_path / "home", None) as api:
        body = await api.upload_url(layout.outside.as_uri())
    assert body["code"] == 0, body


async def test_empty_roots_allow_no_file_urls(tmp_path: Path, layout: Layout) -> None:
    """An empty list of roots refuses every file:// URL; uploads of file contents still work."""
    async with engine(tmp_path / "home", []) as api:
        _refused(await api.upload_url(layout.inside.as_uri()))
        with layout.inside.open("rb") as fh:
            r = await api.http.post(
                f"/api/upload-video/nemo_agent/me/{api.sid}",
                files=[("files", ("talk.mp4", fh, "video/mp4"))],
                headers={"Authorization": f"Bearer {api.token}"},
            )
    assert r.json()["code"] == 0, r.text
