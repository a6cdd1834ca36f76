"""Hostile paths through the real upload_media tool: each refused, and respx proves no request left."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import respx
from mcp import Client

from nemo_mcp.mcp.server import build_server
from nemo_mcp.service import SessionManager
from nemo_mcp.service.uploads import UploadPolicy

from ..helpers import API, FakeSleep, make_settings

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths and FIFOs")]

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(1024)
PEM = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"


def symlink_to_passwd(media: Path) -> str:
    link = media / "passwd.mp4"
    link.symlink_to("/etc/passwd")
    return str(link)


def sibling_prefix(media: Path) -> str:
    evil = media.parent / (media.name + "-evil")
    evil.mkdir()
    (evil / "x.mp4").write_bytes(MP4)
    return str(evil / "x.mp4")


def dot_dot(media: Path) -> str:
    (media.parent / "outside.mp4").write_bytes(MP4)
    return str(media / ".." / "outside.mp4")


def nul_byte(media: Path) -> str:
    (media / "a.mp4").write_bytes(MP4)
    return str(media / "a.mp4") + "\x00.png"


def private_key(media: Path) -> str:
    (media / "id_rsa.mp4").write_bytes(PEM)
    return str(media / "id_rsa.mp4")


def fifo(media: Path) -> str:
    os.mkfifo(media / "pipe.mp4")
    return str(media / "pipe.mp4")


def over_limit(media: Path) -> str:
    path = media / "big.mp4"
    with path.open("wb") as fh:
        fh.write(MP4)
        fh.truncate(500 * 1024 * 1024 + 1)  # sparse: no disk used
    return str(path)


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "symlink to /etc/passwd": (symlink_to_passwd, "outside"),
    "sibling-prefix folder": (sibling_prefix, "outside"),
    "dot-dot escape": (dot_dot, "outside"),
    "NUL byte": (nul_byte, "control characters"),
    "private key renamed .mp4": (private_key, "does not contain video data"),
    "FIFO": (fifo, "regular file"),
    "500 MB + 1 byte": (over_limit, "500 MB"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_hostile_upload_is_refused_and_no_request_is_made(tmp_path: Path, case: str) -> None:
    """The tool answers with the rule that refused the file, and not one HTTP request leaves the process."""
    make, rule = CASES[case]
    media = tmp_path / "media"
    media.mkdir()
    path = make(media)
    cfg = make_settings(tmp_path / "home")
    fake = FakeSleep()
    server = build_server(
        cfg,
        manager_factory=lambda base: SessionManager(cfg, api_base=base, sleep=fake, clock=fake.clock),
        policy=UploadPolicy([media], cwd=media),
    )
    async with respx.mock(base_url=API, assert_all_called=False) as router, Client(server) as client:
        result = await client.call_tool("upload_media", {"paths": [path]})
        assert not router.calls, [str(c.request.url) for c in router.calls]
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert rule in text, text
