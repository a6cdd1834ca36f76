"""A file uploaded in place cannot be swapped afterwards: every later read checks it is the same file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.engine.test_app import Api, engine

pytestmark = pytest.mark.anyio

SECRET = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot-for-anyone\n"


async def _upload_in_place(api: Api, path: Path) -> tuple[str, dict[str, Any]]:
    sid = await api.new_session()
    return sid, await api.upload_in_place(sid, path)


def _swap_for_symlink(path: Path, target: Path) -> None:
    """Replace ``path`` atomically by a symlink to ``target``, as an attacker racing the engine would."""
    link = path.with_name(path.name + ".swap")
    link.symlink_to(target)
    os.replace(link, path)


@pytest.fixture
def folders(tmp_path: Path, gap_video: Path) -> tuple[Path, Path, Path]:
    """An upload folder holding a lecture, and a secret outside it."""
    media = tmp_path / "media"
    media.mkdir()
    lecture = media / "lecture.mp4"
    shutil.copyfile(gap_video, lecture)
    secret = tmp_path / "id_ed25519"
    secret.write_bytes(SECRET)
    return media, lecture, secret


async def test_an_unchanged_file_is_served_whole(tmp_path: Path, folders: tuple[Path, Path, Path]) -> None:
    """Pinning does not get in the way: the file as uploaded is served byte for byte."""
    media, lecture, _ = folders
    async with engine(tmp_path / "home", file_roots=[media]) as api:
        _, entry = await _upload_in_place(api, lecture)
        r = await api.http.get(entry["cdn_url"])
        assert r.status_code == 200 and r.content == lecture.read_bytes()


async def test_a_symlink_swapped_in_after_upload_is_not_followed(
    tmp_path: Path, folders: tuple[Path, Path, Path]
) -> None:
    """/files, an edit and an export all refuse the swapped file and say to upload it again; the secret is never sent."""
    media, lecture, secret = folders
    async with engine(tmp_path / "home", file_roots=[media], heartbeat_s=0.05) as api:
        sid, entry = await _upload_in_place(api, lecture)
        _swap_for_symlink(lecture, secret)
        assert lecture.read_bytes() == SECRET  # the path now leads to the secret

        served = await api.http.get(entry["cdn_url"])
        assert served.status_code == 409
        assert SECRET not in served.content and "upload it again" in served.json()["detail"]

        stream = await api.edit(sid, "cut out silences")
        (response,) = stream.responses()
        assert response["response"]["ok"] is False
        assert "upload it again" in response["response"]["error"]

        answer = await api.start_render(sid, "r-swapped")
        assert answer["success"] is False and "upload it again" in answer["error"]


async def test_a_file_rewritten_after_upload_is_refused(
    tmp_path: Path, folders: tuple[Path, Path, Path]
) -> None:
    """Same path, same kind of file, other contents (a new inode or a new size): refused all the same."""
    media, lecture, _ = folders
    async with engine(tmp_path / "home", file_roots=[media]) as api:
        _, entry = await _upload_in_place(api, lecture)
        replacement = media / "other.mp4"
        shutil.copyfile(lecture, replacement)
        with replacement.open("ab") as handle:
            handle.write(b"\0" * 10)
        os.replace(replacement, lecture)
        assert (await api.http.get(entry["cdn_url"])).status_code == 409


async def test_uploading_again_after_a_change_works(tmp_path: Path, folders: tuple[Path, Path, Path]) -> None:
    """The advice holds: the changed file uploaded again is pinned afresh and served."""
    media, lecture, _ = folders
    async with engine(tmp_path / "home", file_roots=[media]) as api:
        _, old = await _upload_in_place(api, lecture)
        with lecture.open("ab") as handle:
            handle.write(b"\0" * 10)
        assert (await api.http.get(old["cdn_url"])).status_code == 409
        _, new = await _upload_in_place(api, lecture)
        assert (await api.http.get(new["cdn_url"])).content == lecture.read_bytes()
