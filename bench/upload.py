"""Upload: a large sparse MP4 to a loopback server that discards the body; ours vs curl.

Ours is ``NemoClient.upload_files`` over the file as the upload tool hands it over (a
``CheckedFile`` from ``UploadPolicy.check``), with a no-op progress callback, in its own
process so that its peak RSS can be read: VmHWM is reset (``/proc/self/clear_refs``) after
a small warm-up upload, and the growth is VmHWM minus the RSS before the big upload.
The reference is ``curl -F files=@file`` to the same server. The server is a plain
thread-per-connection socket server in a separate process reading into one 4 MiB buffer
(several GB/s on loopback), so it is not the bottleneck.

Modes used internally: ``--serve`` (the discard server) and ``--client URL FILE``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import Row, arg_parser, banner, bench_env, emit, median, proc_status, reset_peak_rss, url_process

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
MiB = 2**20
BAR_THROUGHPUT = 0.9
BAR_RSS = 64 * MiB
UPLOAD_PATH = "/api/upload-video/nemo_agent/me/bench-session"
CURL = shutil.which("curl") or "/usr/bin/curl"


# -- the discard server --------------------------------------------------------------------------


def _handle(conn: socket.socket) -> None:
    buf = bytearray(4 * MiB)
    view = memoryview(buf)
    with conn:
        pending = b""
        while True:  # keep-alive: one request after another
            while b"\r\n\r\n" not in pending:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                pending += chunk
            head, pending = pending.split(b"\r\n\r\n", 1)
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                headers[key.strip().lower()] = value.strip()
            if headers.get(b"expect", b"").lower() == b"100-continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            remaining = int(headers.get(b"content-length", b"0")) - len(pending)
            pending = b""
            while remaining > 0:
                n = conn.recv_into(view, min(len(buf), remaining))
                if not n:
                    return
                remaining -= n
            body = json.dumps(
                {"code": 0, "message": "ok", "data": {"files": [{"filename": "f.mp4", "file_type": "video"}]}}
            ).encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )


def serve() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{server.getsockname()[1]}", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_handle, args=(conn,), daemon=True).start()


# -- our client, in its own process --------------------------------------------------------------


async def _client(url: str, path: Path) -> dict[str, float]:
    from pydantic import SecretStr

    from nemo_mcp.api.client import NemoClient
    from nemo_mcp.api.multipart import PathSource
    from nemo_mcp.config import SKILLS
    from nemo_mcp.service.uploads import UploadPolicy

    policy = UploadPolicy([path.parent])
    small = path.with_name("warmup.mp4")
    small.write_bytes(MP4_HEAD + bytes(2 * MiB))
    token = SecretStr("bench-token")

    async def on_progress(sent: int, total: int) -> None:
        return None

    async with NemoClient(base_url=url, profile=SKILLS["best-video-learn"], client_id="bench") as client:
        await client.upload_files(token, "bench-session", [PathSource(small)], on_progress=on_progress)
        with policy.check(str(path)) as checked:
            base = proc_status()["VmRSS"]
            reset_peak_rss()
            start = time.perf_counter()
            await client.upload_files(token, "bench-session", [checked], on_progress=on_progress)
            elapsed = time.perf_counter() - start
            peak = proc_status()["VmHWM"]
    return {"seconds": elapsed, "rss_growth": peak - base, "rss_base": base}


def run_ours(url: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--client", url, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=bench_env(),
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_curl(url: str, path: Path) -> float:
    out = subprocess.run(
        [
            CURL, "-sS", "--fail", "-o", "/dev/null", "-w", "%{time_total}",
            "-F", f"files=@{path};type=video/mp4", url + UPLOAD_PATH,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout)


def make_sparse(path: Path, size: int) -> None:
    with path.open("wb") as fh:
        fh.write(MP4_HEAD)
        fh.truncate(size)


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--serve", action="store_true", help=__import__("argparse").SUPPRESS)
    p.add_argument("--client", nargs=2, metavar=("URL", "FILE"), help=__import__("argparse").SUPPRESS)
    p.add_argument("--repeats", type=int, default=None)
    args = p.parse_args()
    if args.serve:
        serve()
        return
    if args.client:
        print(json.dumps(asyncio.run(_client(args.client[0], Path(args.client[1])))))
        return
    size = (64 if args.quick else 500) * MiB
    repeats = args.repeats or (3 if args.quick else 7)
    banner(f"upload of {size // MiB} MiB to a discarding loopback server", args.quick)
    with (
        tempfile.TemporaryDirectory(prefix="nemo-bench-up-") as tmp,
        url_process([sys.executable, __file__, "--serve"], env=bench_env()) as url,
    ):
        path = Path(tmp) / "big.mp4"
        make_sparse(path, size)
        run_curl(url, path)  # warm-up
        ours_s: list[float] = []
        curl_s: list[float] = []
        growth: list[float] = []
        for i in range(repeats):
            for who in ("ours", "curl") if i % 2 == 0 else ("curl", "ours"):
                if who == "curl":
                    curl_s.append(run_curl(url, path))
                else:
                    r = run_ours(url, path)
                    ours_s.append(r["seconds"])
                    growth.append(r["rss_growth"])
                    base = r["rss_base"]
            print(
                f"  run {i + 1}: ours {size / ours_s[-1] / MiB:7.0f} MiB/s  curl {size / curl_s[-1] / MiB:7.0f} MiB/s"
            )
    ours_tp = size / median(ours_s)
    curl_tp = size / median(curl_s)
    ratio = ours_tp / curl_tp
    worst = max(growth)
    print(f"ours : median {ours_tp / MiB:.0f} MiB/s ({median(ours_s):.2f} s)")
    print(f"curl : median {curl_tp / MiB:.0f} MiB/s ({median(curl_s):.2f} s)")
    print(f"ratio {ratio:.2f}x (bar >= {BAR_THROUGHPUT}x)")
    print(f"peak RSS growth during the upload: max {worst / MiB:.1f} MiB over {len(growth)} runs "
          f"(process RSS before: {base / MiB:.0f} MiB; bar < {BAR_RSS // MiB} MiB)")  # fmt: skip
    emit(
        [
            Row(
                f"Upload throughput, {size // MiB} MiB",
                f"{ours_tp / MiB:.0f} MiB/s",
                f"{curl_tp / MiB:.0f} MiB/s (curl -F)",
                ratio,
                f"≥ {BAR_THROUGHPUT}×",
                ratio >= BAR_THROUGHPUT,
            ),
            Row(
                "Upload peak-RSS growth",
                f"{worst / MiB:.1f} MiB",
                "–",
                None,
                f"< {BAR_RSS // MiB} MiB",
                worst < BAR_RSS,
                "worst of all runs",
            ),
        ]
    )


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
