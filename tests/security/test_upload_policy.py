"""The upload policy: which local files and links may leave this machine."""

from __future__ import annotations

import inspect
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import platformdirs
import pytest

from nemo_mcp.errors import ACCEPTED_FORMATS, MAX_UPLOAD_BYTES, UploadRefused
from nemo_mcp.service import uploads as files
from nemo_mcp.service.uploads import CheckedFile, UploadPolicy, check_url

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /etc/passwd are POSIX")

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 4
SAMPLES: dict[str, bytes] = {
    "mp4": MP4,
    "mov": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",
    "avi": b"RIFF\x24\x00\x00\x00AVI LIST\x00\x00\x00\x00",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01",
    "mkv": b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64",
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00",
    "m4a": b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A isommp42",
    "aac": b"\xff\xf1\x50\x80\x02\x1f\xfc\x21\x00",
}
PEM = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"
SRT = "1\n00:00:01,000 --> 00:00:03,500\nHello, world\n\n2\n00:00:04,000 --> 00:00:06,000\nÜber café\n"
VTT = "WEBVTT\n\n00:01.000 --> 00:03.500\nHello\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    return media


@pytest.fixture
def policy(root: Path) -> UploadPolicy:
    return UploadPolicy([root], cwd=root)


def write(path: Path, data: bytes = MP4) -> Path:
    path.write_bytes(data)
    return path


def refused_before_any_io(policy: UploadPolicy, path_str: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the check as the upload tool must: synchronously, with no client and no network at all.

    The lead's respx test adds "and no request was made"; this shows the policy cannot need one.
    """
    assert not inspect.iscoroutinefunction(policy.check)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the upload policy touched the network")

    with monkeypatch.context() as patch:
        patch.setattr(socket, "socket", no_network)
        patch.setattr(socket, "getaddrinfo", no_network)
        with pytest.raises(UploadRefused) as info:
            policy.check(path_str)
    return str(info.value)


def run_with_timeout(func: Callable[[], object], seconds: float = 5.0) -> BaseException | None:
    """Run ``func`` in a daemon thread and fail the test if it does not return in time."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            func()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the check hung"
    return outcome[0]


# -- what passes ----------------------------------------------------------------------------------------


def test_a_small_mp4_passes_with_its_facts(policy: UploadPolicy, root: Path) -> None:
    """A real MP4 header inside the root is accepted and described from the opened file."""
    path = write(root / "clip.mp4")
    with policy.check(str(path)) as checked:
        assert isinstance(checked, CheckedFile)
        assert (checked.path, checked.name, checked.size) == (path.resolve(), "clip.mp4", len(MP4))
        assert (checked.kind, checked.mime_type, checked.extension) == ("video", "video/mp4", "mp4")
        with checked.open() as stream:
            assert stream.read() == MP4


def test_sample_table_covers_every_accepted_format() -> None:
    """The tests below exercise exactly the formats of the API contract."""
    assert set(SAMPLES) == set(ACCEPTED_FORMATS)


@pytest.mark.parametrize("extension", ACCEPTED_FORMATS)
def test_every_accepted_format_passes_with_a_real_header(
    policy: UploadPolicy, root: Path, extension: str
) -> None:
    """Each accepted extension holding its own kind of header is accepted."""
    with policy.check(str(write(root / f"x.{extension}", SAMPLES[extension]))) as checked:
        assert checked.extension == extension and checked.mime_type


def test_a_mov_that_is_really_mp4_passes(policy: UploadPolicy, root: Path) -> None:
    """Extension and content need only agree on the family: a .mov holding an mp4 ftyp is fine."""
    with policy.check(str(write(root / "phone.MOV"))) as checked:
        assert (checked.kind, checked.extension) == ("video", "mov")


def test_tilde_and_relative_paths_are_resolved(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``~`` expands to the home folder and relative paths resolve against the policy's cwd."""
    monkeypatch.setenv("HOME", str(tmp_path))
    write(root / "clip.mp4")
    policy = UploadPolicy([root], cwd=root)
    with policy.check("~/media/clip.mp4") as a, policy.check("clip.mp4") as b:
        assert a.path == b.path == (root / "clip.mp4").resolve()


def test_a_root_given_through_a_symlink_is_resolved(tmp_path: Path, root: Path) -> None:
    """Roots are resolved too, so a symlinked root still contains its real files."""
    (tmp_path / "link").symlink_to(root)
    with UploadPolicy([tmp_path / "link"]).check(str(write(root / "clip.mp4"))) as checked:
        assert checked.name == "clip.mp4"


# -- the path rules -------------------------------------------------------------------------------------


@posix_only
def test_symlink_to_etc_passwd_inside_a_root_is_refused(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link in an allowed folder is judged by its target: /etc/passwd is outside."""
    (root / "holiday.mp4").symlink_to("/etc/passwd")
    message = refused_before_any_io(policy, str(root / "holiday.mp4"), monkeypatch)
    assert "outside the folders uploads may read from" in message and "NEMO_UPLOAD_ROOTS" in message
    assert "/etc/passwd" not in message


def test_symlink_to_a_real_video_outside_the_roots_is_refused(
    policy: UploadPolicy, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Containment alone refuses a link out of the roots, even to a genuine video."""
    (root / "link.mp4").symlink_to(write(tmp_path / "elsewhere.mp4"))
    assert "outside the folders" in refused_before_any_io(policy, str(root / "link.mp4"), monkeypatch)


def test_sibling_folder_sharing_the_roots_prefix_is_outside(
    policy: UploadPolicy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``<tmp>/media-evil/x.mp4`` is not inside ``<tmp>/media``: containment compares whole components."""
    (tmp_path / "media-evil").mkdir()
    path = write(tmp_path / "media-evil" / "x.mp4")
    assert "outside the folders" in refused_before_any_io(policy, str(path), monkeypatch)


@pytest.mark.parametrize("relative", ["{root}/../secret.mp4", "../secret.mp4", "{root}/sub/../../secret.mp4"])
def test_dot_dot_cannot_escape_a_root(
    policy: UploadPolicy, root: Path, tmp_path: Path, relative: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``..`` is resolved before the containment test, absolute or relative."""
    write(tmp_path / "secret.mp4")
    (root / "sub").mkdir()
    assert "outside the folders" in refused_before_any_io(policy, relative.format(root=root), monkeypatch)


def test_missing_files_outside_the_roots_reveal_nothing(
    policy: UploadPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside the roots every path gets the same answer, so existence cannot be probed."""
    assert "outside the folders" in refused_before_any_io(policy, "/no/such/dir/x.mp4", monkeypatch)


def test_missing_file_inside_a_root_says_so(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing file inside a root is named missing, with how relative paths resolve."""
    message = refused_before_any_io(policy, "nope.mp4", monkeypatch)
    assert "does not exist" in message and str(root) in message


@pytest.mark.parametrize(
    "bad", ["clip\x00.mp4", "clip\n.mp4", "\x1b[31mclip.mp4", "clip\x7f.mp4", "evil\u202e4pm.txt", ""]
)
def test_control_characters_are_refused_before_the_filesystem(
    policy: UploadPolicy, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NUL, line breaks, escapes and bidi overrides are refused without any filesystem call."""

    def untouchable(*args: object, **kwargs: object) -> None:
        raise AssertionError("the filesystem was touched")

    monkeypatch.setattr(Path, "resolve", untouchable)
    monkeypatch.setattr(os, "open", untouchable)
    message = refused_before_any_io(policy, bad, monkeypatch)
    assert "control characters" in message and "plain path" in message
    assert "\x00" not in message and "\x1b" not in message


# -- the file rules -------------------------------------------------------------------------------------


def test_private_key_renamed_mp4_is_refused(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Content decides: a PEM key with a video extension is not video."""
    message = refused_before_any_io(policy, str(write(root / "id_rsa.mp4", PEM)), monkeypatch)
    assert "does not contain video data" in message and "renaming" in message and "convert" in message


def test_image_content_under_a_video_extension_is_refused(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The extension's family must match the content's: a PNG named .mp4 is refused."""
    assert "does not contain video data" in refused_before_any_io(
        policy, str(write(root / "x.mp4", SAMPLES["png"])), monkeypatch
    )


def test_mp4_content_with_a_txt_extension_is_refused(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An extension outside the accepted list is refused whatever the content."""
    message = refused_before_any_io(policy, str(write(root / "notes.txt")), monkeypatch)
    assert "'.txt', which cannot be uploaded" in message and "Accepted formats: mp4" in message


@posix_only
def test_fifo_named_mp4_is_refused_without_hanging(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A named pipe is not a regular file, and checking it never blocks."""
    os.mkfifo(root / "pipe.mp4")
    error = run_with_timeout(lambda: refused_before_any_io(policy, str(root / "pipe.mp4"), monkeypatch))
    assert error is None


@posix_only
def test_fifo_swapped_in_after_the_path_check_is_caught_on_the_descriptor(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a FIFO replaces the file after the stat, the non-blocking open and fstat still refuse it."""
    regular, fifo = write(root / "real.mp4"), root / "swap.mp4"
    os.mkfifo(fifo)
    real_lstat = os.lstat

    def lying_lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        return real_lstat(regular) if Path(str(path)) == fifo else real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "lstat", lying_lstat)
    error = run_with_timeout(lambda: policy.check(str(fifo)))
    assert isinstance(error, UploadRefused) and "not a regular file" in str(error)


def test_directory_named_mp4_is_refused(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder with a media extension is not a file to upload."""
    (root / "x.mp4").mkdir()
    message = refused_before_any_io(policy, str(root / "x.mp4"), monkeypatch)
    assert "not a regular file" in message and "media file itself" in message


def test_sparse_file_one_byte_over_the_limit_is_refused(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500 MB + 1 byte is refused from fstat, before reading it, even with a valid header."""
    path = root / "big.mp4"
    with path.open("wb") as handle:
        handle.write(MP4)
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    message = refused_before_any_io(policy, str(path), monkeypatch)
    assert "over the 500 MB upload limit" in message and "Compress it or trim it" in message


def test_sparse_file_exactly_at_the_limit_passes(policy: UploadPolicy, root: Path) -> None:
    """The limit is inclusive: exactly 500 MB is accepted."""
    path = root / "edge.mp4"
    with path.open("wb") as handle:
        handle.write(MP4)
        handle.truncate(MAX_UPLOAD_BYTES)
    with policy.check(str(path)) as checked:
        assert checked.size == MAX_UPLOAD_BYTES


def test_empty_file_is_refused(policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zero-byte file has nothing to upload."""
    message = refused_before_any_io(policy, str(write(root / "empty.mp4", b"")), monkeypatch)
    assert "is empty" in message and "real file" in message


def test_a_policy_without_roots_refuses_everything(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No roots means no uploads, and the message says how to add one."""
    message = refused_before_any_io(UploadPolicy([]), str(write(root / "clip.mp4")), monkeypatch)
    assert "none configured" in message and "NEMO_UPLOAD_ROOTS" in message


# -- reading what was checked ---------------------------------------------------------------------------


def test_open_reads_the_checked_inode_even_after_a_swap(policy: UploadPolicy, root: Path) -> None:
    """Replacing the path after the check does not change what an upload (or its retry) reads."""
    path = write(root / "clip.mp4")
    with policy.check(str(path)) as checked:
        os.replace(write(root / "other.mp4", PEM), path)
        with checked.open() as first, checked.open() as retry:
            assert first.read(10) == MP4[:10]
            assert retry.read() == MP4  # its own offset, from 0
            assert first.read() == MP4[10:]


def test_open_stops_at_the_checked_size(policy: UploadPolicy, root: Path) -> None:
    """Bytes appended after the check are never read, and the reader reports the checked length."""
    path = write(root / "clip.mp4")
    with policy.check(str(path)) as checked:
        with path.open("ab") as handle:
            handle.write(PEM)
        with checked.open() as stream:
            assert stream.seek(0, os.SEEK_END) == len(MP4)
            stream.seek(0)
            assert stream.read() == MP4


def test_open_after_close_fails(policy: UploadPolicy, root: Path) -> None:
    """A closed CheckedFile cannot hand out readers any more."""
    checked = policy.check(str(write(root / "clip.mp4")))
    checked.close()
    with pytest.raises(ValueError, match="closed"):
        checked.open()


# -- subtitles (local engine only) ----------------------------------------------------------------------


def test_subtitles_are_refused_unless_allowed(
    policy: UploadPolicy, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subtitle files are for the local engine only, and the message says so."""
    message = refused_before_any_io(policy, str(write(root / "a.srt", SRT.encode())), monkeypatch)
    assert "local engine" in message and "NEMO_BACKEND=local" in message


@pytest.mark.parametrize(("name", "text"), [("a.srt", SRT), ("b.vtt", VTT), ("c.srt", "\ufeff" + SRT)])
def test_valid_subtitles_pass_when_allowed(root: Path, name: str, text: str) -> None:
    """UTF-8 SRT and WebVTT files pass a policy that allows subtitles."""
    with UploadPolicy([root], allow_subtitles=True).check(str(write(root / name, text.encode()))) as checked:
        assert checked.kind == "subtitle"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("k.srt", PEM),
        ("b.srt", b"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe"),
        ("v.vtt", SRT.encode()),
        ("m.srt", MP4),
    ],
)
def test_fake_subtitles_are_refused(
    root: Path, name: str, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys, invalid UTF-8, the wrong dialect and binary data are not subtitles."""
    policy = UploadPolicy([root], allow_subtitles=True)
    assert "subtitle file" in refused_before_any_io(policy, str(write(root / name, data)), monkeypatch)


# -- roots ----------------------------------------------------------------------------------------------


def test_default_roots_are_cwd_media_folders_and_extras(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default roots: cwd, existing home media folders, extra roots; never $HOME itself (XDG's disabled dirs)."""
    home = tmp_path / "home"
    for name in ("Movies", "Downloads"):
        (home / name).mkdir(parents=True)
    project, extra = tmp_path / "project", tmp_path / "extra"
    project.mkdir()
    extra.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for finder in (
        "user_videos_dir",
        "user_music_dir",
        "user_pictures_dir",
        "user_downloads_dir",
        "user_desktop_dir",
    ):
        monkeypatch.setattr(platformdirs, finder, lambda: str(home))
    policy = UploadPolicy.default([extra], cwd=project)
    assert policy.roots == (project, home / "Movies", home / "Downloads", extra)


@pytest.mark.parametrize("start", ["/", "home", "parent-of-home"])
def test_default_roots_skip_a_cwd_that_would_expose_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    """A server started in /, in ~ or above it does not get the whole home folder as a root."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    write(home / ".ssh" / "id_rsa.mp4", MP4)  # even a valid-looking file there is unreachable
    monkeypatch.setenv("HOME", str(home))
    for finder in (
        "user_videos_dir",
        "user_music_dir",
        "user_pictures_dir",
        "user_downloads_dir",
        "user_desktop_dir",
    ):
        monkeypatch.setattr(platformdirs, finder, lambda: str(home))
    cwd = {"/": Path("/"), "home": home, "parent-of-home": tmp_path}[start]
    policy = UploadPolicy.default(cwd=cwd)
    assert policy.roots == ()
    with pytest.raises(UploadRefused, match="outside the folders"):
        policy.check("~/.ssh/id_rsa.mp4")


def test_client_roots_only_narrow_the_configured_folders(tmp_path: Path) -> None:
    """Offered folders inside a configured one narrow it; broader ones keep it; unrelated ones add nothing."""
    media, other = tmp_path / "media", tmp_path / "other"
    (media / "my course").mkdir(parents=True)
    other.mkdir()
    policy = UploadPolicy([media], cwd=media)
    narrowed = policy.with_roots(
        [
            (media / "my course").as_uri(),
            other.as_uri(),
            "https://example.com/x",
            "file://server/share",
            "file:///bad%00dir",
        ]
    )
    assert narrowed.roots == ((media / "my course").resolve(),)
    assert narrowed.max_bytes == policy.max_bytes and narrowed.cwd == policy.cwd


@pytest.mark.parametrize("offered", ["file:///", "home", "parent"])
def test_client_root_broader_than_the_configured_folders_widens_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offered: str
) -> None:
    """file:///, the home folder or a parent folder leave exactly the configured folders."""
    home = tmp_path / "home"
    media = home / "Movies"
    (home / ".ssh").mkdir(parents=True)
    media.mkdir()
    write(home / ".ssh" / "id_rsa.mp4")
    monkeypatch.setenv("HOME", str(home))
    uri = {"file:///": "file:///", "home": home.as_uri(), "parent": tmp_path.as_uri()}[offered]
    policy = UploadPolicy([media], cwd=media).with_roots([uri])
    assert policy.roots == (media.resolve(),)
    with pytest.raises(UploadRefused, match="outside the folders"):
        policy.check(str(home / ".ssh" / "id_rsa.mp4"))


def test_client_roots_without_a_local_folder_keep_the_configured_ones(policy: UploadPolicy) -> None:
    """Roots that name no local folder (remote or other schemes) say nothing about files."""
    assert policy.with_roots(["https://example.com/x", "file://server/share"]).roots == policy.roots


# -- links ----------------------------------------------------------------------------------------------


def test_public_https_link_passes() -> None:
    """An https link to a public host is returned unchanged (stripped)."""
    assert check_url("  https://cdn.example.com/a.mp4?x=1 ") == "https://cdn.example.com/a.mp4?x=1"


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://cdn.example.com/a.mp4", "Only https://"),
        ("ftp://cdn.example.com/a.mp4", "Only https://"),
        ("file:///etc/passwd", "Only https://"),
        ("https://user:pw@cdn.example.com/a.mp4", "user name or password"),
        ("https://cdn.example.com/a\x00.mp4", "control characters"),
        ("https://cdn.example.com/a b.mp4", "control characters"),
        ("https://cdn.example.com:99999/a.mp4", "invalid port"),
        ("https://169.254.169.254/latest/meta-data", "private network"),
        ("https://10.0.0.5/x.mp4", "private network"),
        ("https://[::1]/x.mp4", "private network"),
        ("https://[::ffff:192.168.1.1]/x.mp4", "private network"),
        ("https://2130706433/x.mp4", "private network"),
        ("https://0x7f.1/x.mp4", "private network"),
        ("https://localhost/x.mp4", "private network"),
        ("https://intranet/x.mp4", "private network"),
    ],
)
def test_unsafe_links_are_refused(url: str, rule: str) -> None:
    """Links that are not public HTTPS are refused with the rule and the fix."""
    with pytest.raises(UploadRefused, match=rule) as info:
        check_url(url)
    assert "Pass a public https:// link" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/a.mp4",  # another local service (a port scan)
        "http://127.0.0.1:6379/",  # the same host, the wrong port
        "http://localhost:9/a.mp4",
        "http://10.0.0.5/a.mp4",
        "https://cdn.example.com/a.mp4",  # the engine is offline
    ],
)
def test_local_engine_takes_links_only_to_its_own_origin(url: str) -> None:
    """With the local engine, a link is refused unless it names the engine's own scheme, host and port."""
    engine = "http://127.0.0.1:43210"
    with pytest.raises(UploadRefused, match="works offline"):
        check_url(url, engine_origin=engine)
    assert check_url(f"{engine}/files/a.mp4", engine_origin=engine) == f"{engine}/files/a.mp4"


def test_sniffer_refuses_text_and_accepts_mpeg_frame_sync() -> None:
    """Frame-sync MP3 and ADTS count as audio; text does not count as anything."""
    assert files.sniff_kinds(b"\xff\xfb\x90\x64") == {"audio"}
    assert files.sniff_kinds(b"\xff\xf9\x50\x80") == {"audio"}
    assert files.sniff_kinds(PEM[:64]) == frozenset()
