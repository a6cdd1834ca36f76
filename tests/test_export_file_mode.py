"""Exports are saved with the user's usual file mode (0666 less the umask), not a private 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from nemo_mcp.api.downloads import download_to_file

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(os.name == "nt", reason="POSIX file modes"),
]

LINK = "http://127.0.0.1:8766/renders/render_1.mp4"
# The start of an MP4 (an ftyp box): downloads that do not begin like one are refused.
MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under the umask given as its parameter, then put the old one back."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


async def _export(folder: Path, *, overwrite: bool = False) -> Path:
    with respx.mock() as router:
        router.get(LINK).mock(return_value=httpx.Response(200, content=MP4_BYTES))
        async with httpx.AsyncClient() as client:
            return await download_to_file(
                client,
                LINK,
                folder,
                filename="lesson.mp4",
                auth_header=None,
                api_origin="http://127.0.0.1:8766",
                allow_loopback_http=True,
                overwrite=overwrite,
            )


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], indirect=True, ids=["022", "002", "077"])
async def test_export_mode_follows_the_umask(tmp_path: Path, umask: int) -> None:
    """A saved export has mode 0666 & ~umask: 0644 under 022, 0664 under 002, 0600 under 077."""
    path = await _export(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert sorted(os.listdir(tmp_path)) == ["lesson.mp4"]


@pytest.mark.parametrize("umask", [0o022], indirect=True, ids=["022"])
async def test_overwritten_export_gets_the_usual_mode_too(tmp_path: Path, umask: int) -> None:
    """Replacing an existing file (overwrite=True) gives the new file the umask mode, not the old file's."""
    old = tmp_path / "lesson.mp4"
    old.write_bytes(b"old")
    old.chmod(0o600)
    path = await _export(tmp_path, overwrite=True)
    assert path.read_bytes() == MP4_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
