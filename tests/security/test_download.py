"""Saving exported videos: redirects, credentials, size caps and leftovers."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from nemo_mcp.api.downloads import download_to_file, safe_filename
from nemo_mcp.errors import DownloadRefused, TransportError

pytestmark = pytest.mark.anyio

API = "https://api.nemo.test"
EXPORT = f"{API}/exports/render_1.mp4"
CDN_LINK = "https://cdn.example/out/render_1.mp4?X-Amz-Signature=s3cr3tsig&Expires=9"
TOKEN = "Bearer nmv_usr_topsecret"
BODY = os.urandom(3 * 1024 * 1024 + 17)
ADDRESSES = {
    "api.nemo.test": ["93.184.216.34"],
    "cdn.example": ["151.101.1.1", "2a04:4e42::1"],
    "rebound.example": ["151.101.1.2", "10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
}


async def fake_resolve(host: str, port: int) -> Sequence[str]:
    """DNS for the tests: a fixed table, and no real lookups ever."""
    if host not in ADDRESSES:
        raise socket.gaierror(socket.EAI_NONAME, "unknown host")
    return ADDRESSES[host]


class Body(httpx.AsyncByteStream):
    """A response body fed in chunks, which can then fail or stall mid-stream."""

    def __init__(
        self, chunks: Sequence[bytes], *, fail: Exception | None = None, stall: bool = False
    ) -> None:
        self.chunks, self.fail, self.stall = chunks, fail, stall

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail is not None:
            raise self.fail
        if self.stall:
            await anyio.sleep_forever()


@pytest.fixture
def router() -> Iterator[respx.Router]:
    with respx.mock(assert_all_called=False) as mocked:
        yield mocked


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


async def fetch(url: str, dest: Path, client_headers: dict[str, str] | None = None, **options: Any) -> Path:
    """Call download_to_file as the cloud client does, with the fake resolver."""
    settings: dict[str, Any] = {
        "filename": "export.mp4",
        "auth_header": TOKEN,
        "api_origin": API,
        "allow_loopback_http": False,
        "resolve": fake_resolve,
        "require_mp4": False,  # these tests are about the links and the files; the MP4 check has its own
    }
    async with httpx.AsyncClient(headers=client_headers) as client:
        return await download_to_file(client, url, dest, **(settings | options))


def redirect(location: str) -> httpx.Response:
    return httpx.Response(302, headers={"Location": location})


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# -- success --------------------------------------------------------------------------------------------


async def test_download_is_byte_exact_and_leaves_only_the_final_file(
    router: respx.Router, dest: Path
) -> None:
    """The body lands under the given name, complete, with progress reported, and nothing else is left."""
    chunks = [BODY[i : i + 512 * 1024] for i in range(0, len(BODY), 512 * 1024)]
    headers = {"Content-Length": str(len(BODY))}
    route = router.get(EXPORT).mock(return_value=httpx.Response(200, headers=headers, stream=Body(chunks)))
    progress: list[tuple[int, int | None]] = []

    async def on_progress(done: int, total: int | None) -> None:
        progress.append((done, total))

    path = await fetch(EXPORT, dest, on_progress=on_progress)
    assert path == dest.resolve() / "export.mp4" and path.read_bytes() == BODY
    assert listing(dest) == ["export.mp4"]
    assert progress == [(n, len(BODY)) for n in (1 << 20, 2 << 20, 3 << 20, len(BODY))]
    assert route.calls.last.request.headers["Authorization"] == TOKEN


async def test_cross_origin_redirect_drops_the_authorization_header(router: respx.Router, dest: Path) -> None:
    """The API hop carries the token; the CDN hop carries no Authorization and no cookies."""
    api = router.get(EXPORT).mock(return_value=redirect(CDN_LINK))
    cdn = router.get(host="cdn.example", path="/out/render_1.mp4").mock(
        return_value=httpx.Response(200, content=BODY)
    )
    await fetch(EXPORT, dest, client_headers={"Authorization": TOKEN, "Cookie": "session=abc"})
    assert api.calls.last.request.headers["Authorization"] == TOKEN
    sent = cdn.calls.last.request.headers
    assert "Authorization" not in sent and "Cookie" not in sent
    assert (dest / "export.mp4").read_bytes() == BODY


async def test_same_host_on_another_port_is_another_origin(router: respx.Router, dest: Path) -> None:
    """Origin means scheme, host and port: :8443 on the API host gets no token."""
    router.get(EXPORT).mock(return_value=redirect("https://api.nemo.test:8443/file.mp4"))
    other = router.get("https://api.nemo.test:8443/file.mp4").mock(
        return_value=httpx.Response(200, content=b"x")
    )
    await fetch(EXPORT, dest)
    assert "Authorization" not in other.calls.last.request.headers


async def test_five_redirects_are_followed(router: respx.Router, dest: Path) -> None:
    """A chain of exactly max_redirects hops still downloads."""
    for hop in range(5):
        router.get(f"{API}/r{hop}").mock(return_value=redirect(f"/r{hop + 1}"))
    router.get(f"{API}/r5").mock(return_value=httpx.Response(200, content=b"done"))
    assert (await fetch(f"{API}/r0", dest)).read_bytes() == b"done"


async def test_loopback_http_is_allowed_for_the_local_engine(router: respx.Router, dest: Path) -> None:
    """With allow_loopback_http the local engine's http://127.0.0.1 link downloads."""
    router.get("http://127.0.0.1:8765/renders/a.mp4").mock(return_value=httpx.Response(200, content=b"local"))
    path = await fetch(
        "http://127.0.0.1:8765/renders/a.mp4",
        dest,
        allow_loopback_http=True,
        api_origin="http://127.0.0.1:8765",
    )
    assert path.read_bytes() == b"local"


# -- redirect and address rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "rule"),
    [
        ("http://169.254.169.254/latest/meta-data/", "is not HTTPS"),
        ("https://169.254.169.254/latest/meta-data/", "private, loopback or link-local"),
        ("https://10.0.0.5/x", "private, loopback or link-local"),
        ("https://[::ffff:10.0.0.5]/x", "private, loopback or link-local"),
        ("https://[fe80::1]/x", "private, loopback or link-local"),
        ("https://2130706433/x", "private, loopback or link-local"),
        ("https://localhost/x", "private, loopback or link-local"),
        ("https://0.0.0.0/x", "private, loopback or link-local"),
        ("https://224.0.0.1/x", "private, loopback or link-local"),
        ("https://rebound.example/x", "private, loopback or link-local"),
        ("https://metadata.example/x", "private, loopback or link-local"),
        ("https://user:pw@cdn.example/x", "user name or password"),
        ("file:///etc/passwd", "is not HTTPS"),
    ],
)
async def test_redirect_to_a_forbidden_target_is_refused_and_never_requested(
    router: respx.Router, dest: Path, location: str, rule: str
) -> None:
    """Every hop is re-checked before it is requested; refused targets see no request at all."""
    router.get(EXPORT).mock(return_value=redirect(location))
    trap = router.route(path__regex=r"^/(latest|x)").mock(return_value=httpx.Response(200, content=b"secret"))
    with pytest.raises(DownloadRefused, match=rule):
        await fetch(EXPORT, dest)
    assert not trap.called
    assert listing(dest) == []


async def test_a_first_url_to_a_private_address_is_refused(router: respx.Router, dest: Path) -> None:
    """The first URL gets the same checks as the hops after it."""
    trap = router.get("https://10.0.0.5/x").mock(return_value=httpx.Response(200))
    with pytest.raises(DownloadRefused):
        await fetch("https://10.0.0.5/x", dest)
    assert not trap.called


async def test_plain_http_is_refused_off_loopback_even_for_the_local_engine(
    router: respx.Router, dest: Path
) -> None:
    """allow_loopback_http admits http:// to loopback only."""
    trap = router.get("http://cdn.example/a.mp4").mock(return_value=httpx.Response(200))
    with pytest.raises(DownloadRefused, match="is not HTTPS"):
        await fetch("http://cdn.example/a.mp4", dest, allow_loopback_http=True)
    assert not trap.called


async def test_six_redirects_are_refused(router: respx.Router, dest: Path) -> None:
    """A chain longer than max_redirects stops before requesting the sixth target."""
    for hop in range(6):
        router.get(f"{API}/r{hop}").mock(return_value=redirect(f"{API}/r{hop + 1}"))
    final = router.get(f"{API}/r6").mock(return_value=httpx.Response(200, content=b"too far"))
    with pytest.raises(DownloadRefused, match="more than 5 times"):
        await fetch(f"{API}/r0", dest)
    assert not final.called and listing(dest) == []


async def test_refusals_never_quote_tokens_or_query_strings(router: respx.Router, dest: Path) -> None:
    """Error texts show scheme and host only, and never the auth header."""
    router.get(EXPORT).mock(
        return_value=redirect("https://10.0.0.5/x?X-Amz-Signature=s3cr3tsig&token=abcdefgh")
    )
    with pytest.raises(DownloadRefused) as refused:
        await fetch(EXPORT, dest)
    router.get(host="cdn.example").mock(return_value=httpx.Response(403))
    with pytest.raises(TransportError) as failed:
        await fetch(CDN_LINK, dest)
    for text in (str(refused.value), str(failed.value)):
        assert "s3cr3tsig" not in text and "topsecret" not in text and "abcdefgh" not in text
    assert "HTTP 403" in str(failed.value) and "Export again" in str(failed.value)


# -- nothing left behind --------------------------------------------------------------------------------


async def test_connection_dropped_mid_body_leaves_nothing(router: respx.Router, dest: Path) -> None:
    """A ReadError halfway through removes the partial file: no .part, no final file."""
    body = Body([BODY[:1_500_000]], fail=httpx.ReadError("connection reset"))
    router.get(EXPORT).mock(
        return_value=httpx.Response(200, headers={"Content-Length": str(len(BODY))}, stream=body)
    )
    with pytest.raises(TransportError, match="broke off"):
        await fetch(EXPORT, dest)
    assert listing(dest) == []


async def test_body_shorter_than_its_content_length_leaves_nothing(router: respx.Router, dest: Path) -> None:
    """A stream that ends early, without an error, is still an incomplete download."""
    body = Body([BODY[:1000]])
    router.get(EXPORT).mock(return_value=httpx.Response(200, headers={"Content-Length": "5000"}, stream=body))
    with pytest.raises(TransportError, match="ended after 1000 of 5000 bytes"):
        await fetch(EXPORT, dest)
    assert listing(dest) == []


async def test_declared_size_over_the_cap_is_refused_up_front(router: respx.Router, dest: Path) -> None:
    """A Content-Length above max_bytes is refused before any byte is written."""
    router.get(EXPORT).mock(return_value=httpx.Response(200, content=BODY))
    with pytest.raises(DownloadRefused, match="larger than the"):
        await fetch(EXPORT, dest, max_bytes=len(BODY) - 1)
    assert listing(dest) == []


async def test_undeclared_body_over_the_cap_is_stopped_while_streaming(
    router: respx.Router, dest: Path
) -> None:
    """Without Content-Length the bytes are counted, and the overrun removes the partial file."""
    router.get(EXPORT).mock(return_value=httpx.Response(200, stream=Body([b"x" * 4096] * 10)))
    with pytest.raises(DownloadRefused, match="Raise max_bytes"):
        await fetch(EXPORT, dest, max_bytes=10_000)
    assert listing(dest) == []


async def test_cancellation_mid_download_leaves_nothing(router: respx.Router, dest: Path) -> None:
    """Cancelling a stalled download deletes its temporary file."""
    router.get(EXPORT).mock(return_value=httpx.Response(200, stream=Body([b"x" * 4096], stall=True)))
    with anyio.move_on_after(0.3) as scope:
        await fetch(EXPORT, dest)
    assert scope.cancelled_caught and listing(dest) == []


async def test_failing_progress_callback_leaves_nothing(router: respx.Router, dest: Path) -> None:
    """An exception from on_progress propagates and the partial file is removed."""
    router.get(EXPORT).mock(return_value=httpx.Response(200, content=BODY))

    async def on_progress(done: int, total: int | None) -> None:
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="went away"):
        await fetch(EXPORT, dest, on_progress=on_progress)
    assert listing(dest) == []


# -- the destination ------------------------------------------------------------------------------------


async def test_existing_file_is_not_overwritten_by_default(router: respx.Router, dest: Path) -> None:
    """An existing target is refused before any request, naming overwrite=True; the old file survives."""
    (dest / "export.mp4").write_bytes(b"keep me")
    route = router.get(EXPORT).mock(return_value=httpx.Response(200, content=BODY))
    with pytest.raises(DownloadRefused, match="overwrite=True"):
        await fetch(EXPORT, dest)
    assert not route.called and (dest / "export.mp4").read_bytes() == b"keep me"


async def test_overwrite_true_replaces_the_file(router: respx.Router, dest: Path) -> None:
    """With overwrite=True the new body replaces the old file atomically."""
    (dest / "export.mp4").write_bytes(b"old")
    router.get(EXPORT).mock(return_value=httpx.Response(200, content=BODY))
    assert (await fetch(EXPORT, dest, overwrite=True)).read_bytes() == BODY
    assert listing(dest) == ["export.mp4"]


async def test_file_appearing_during_the_download_is_not_clobbered(router: respx.Router, dest: Path) -> None:
    """The no-overwrite rule holds at publish time too, and the temporary file is removed."""

    async def on_progress(done: int, total: int | None) -> None:
        (dest / "export.mp4").write_bytes(b"raced in")

    router.get(EXPORT).mock(return_value=httpx.Response(200, content=BODY))
    with pytest.raises(DownloadRefused, match="already exists"):
        await fetch(EXPORT, dest, on_progress=on_progress)
    assert listing(dest) == ["export.mp4"] and (dest / "export.mp4").read_bytes() == b"raced in"


async def test_filename_cannot_climb_out_of_the_folder(router: respx.Router, dest: Path) -> None:
    """``../../x.mp4`` is saved as ``x.mp4`` inside the destination folder."""
    router.get(EXPORT).mock(return_value=httpx.Response(200, content=b"data"))
    path = await fetch(EXPORT, dest, filename="../../x.mp4")
    assert path == dest.resolve() / "x.mp4" and listing(dest) == ["x.mp4"]
    assert listing(dest.parent) == ["exports"]


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../x.mp4", "x.mp4"),
        ("..\\..\\x.mp4", "x.mp4"),
        ("/etc/cron.d/job", "job"),
        (".bashrc", "bashrc"),
        ("..", "export.mp4"),
        ("", "export.mp4"),
        ("a\x00b\nc.mp4", "abc.mp4"),
        ("evil\u202egpj.mp4", "evilgpj.mp4"),
        ('what?*:".mp4', "what____.mp4"),
        ("CON.mp4", "_CON.mp4"),
        ("trailing. . ", "trailing"),
    ],
)
def test_safe_filename(given: str, safe: str) -> None:
    """Names lose folders, leading dots, control and bidi characters, and Windows-reserved forms."""
    assert safe_filename(given) == safe


def test_safe_filename_keeps_the_extension_of_long_names() -> None:
    """Long names are cut to 200 bytes without losing the extension."""
    name = safe_filename("é" * 300 + ".mp4")
    assert len(name.encode()) <= 200 and name.endswith(".mp4")


@pytest.mark.parametrize("kind", ["missing", "file"])
async def test_destination_must_be_an_existing_folder(
    router: respx.Router, tmp_path: Path, kind: str
) -> None:
    """A missing folder, or a file given as the folder, is refused with a clear message."""
    target = tmp_path / "nowhere"
    if kind == "file":
        target.write_bytes(b"")
    with pytest.raises(DownloadRefused, match="does not exist or is not a folder"):
        await fetch(EXPORT, target)


async def test_unresolvable_host_is_a_transport_error(router: respx.Router, dest: Path) -> None:
    """A name that does not resolve is a network problem, not a policy refusal."""
    with pytest.raises(TransportError, match="Could not resolve"):
        await fetch("https://nowhere.example/a.mp4", dest)
