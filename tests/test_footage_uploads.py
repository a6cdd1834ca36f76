"""Where files uploaded to the cloud lie on this computer, kept so read_footage can analyse them here."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nemo_mcp.api.models import UploadedFile
from nemo_mcp.service.footage import remember_uploads
from nemo_mcp.service.store import Store
from nemo_mcp.service.uploads import UploadPolicy


def _manager(tmp_path: Path) -> Any:
    return SimpleNamespace(store=Store(tmp_path / "state.db"), backend="cloud")


def test_each_uploaded_file_is_kept_under_the_backends_address(tmp_path: Path) -> None:
    """Two files, two answers: each path is kept with the backend's address, size and time, per project."""
    paths = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for p in paths:
        p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    checked = [UploadPolicy([tmp_path]).check(str(p)) for p in paths]
    answers = [UploadedFile(filename=p.name, cdn_url=f"https://cdn.test/{p.name}") for p in paths]
    mgr = _manager(tmp_path)
    try:
        remember_uploads(mgr, "sid1", checked, answers)
        kept = mgr.store.list_uploads("cloud", "sid1")
        assert [(r.filename, r.media_url, Path(r.path)) for r in kept] == [
            (p.name, f"https://cdn.test/{p.name}", p.resolve()) for p in paths
        ]
        assert kept[0].size == paths[0].stat().st_size and kept[0].mtime_ns == paths[0].stat().st_mtime_ns
        assert mgr.store.list_uploads("cloud", "other") == []
    finally:
        for c in checked:
            c.close()
        mgr.store.close()


def test_an_answer_that_does_not_match_the_files_keeps_nothing(tmp_path: Path) -> None:
    """One file sent, two records back: which is which cannot be told, so nothing is guessed."""
    path = tmp_path / "a.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    checked = [UploadPolicy([tmp_path]).check(str(path))]
    answers = [UploadedFile(filename="a.mp4", cdn_url="https://cdn.test/1"), UploadedFile(filename="x.mp4")]
    mgr = _manager(tmp_path)
    try:
        remember_uploads(mgr, "sid1", checked, answers)
        assert mgr.store.list_uploads("cloud", "sid1") == []
    finally:
        checked[0].close()
        mgr.store.close()
