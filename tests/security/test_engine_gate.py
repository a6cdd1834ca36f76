"""The local engine answers only its own client: a real server, called from another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nemo_mcp.engine.http import ENGINE_KEY_HEADER
from tests.security.engine_procs import free_port, stop

# Another process on the same machine: a plain Python child with urllib, nothing of ours loaded.
CALLER = r"""
import json, sys, urllib.request, urllib.error
url, headers = sys.argv[1], json.loads(sys.argv[2])
request = urllib.request.Request(url, method="POST", data=b"", headers=headers)
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as exc:
    status, body = exc.code, exc.read()
print(json.dumps({"status": status, "body": body.decode("utf-8", "replace")}))
"""


def _call(url: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", CALLER, url, json.dumps(headers)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    answer = json.loads(done.stdout)
    return answer["status"], json.loads(answer["body"])


@pytest.fixture
def local_backend(tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """`nemo-mcp local-backend` in its own process, with a key it printed itself."""
    port = free_port()
    env = {**os.environ, "NEMO_MCP_HOME": str(tmp_path / "home"), "NEMO_UPLOAD_ROOTS": str(tmp_path)}
    env.pop("NEMO_ENGINE_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemo_mcp", "local-backend", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        key = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not key:
            line = proc.stderr.readline()
            if ENGINE_KEY_HEADER in line:
                key = line.rsplit(" ", 1)[-1].strip()
        assert key, "local-backend did not print its key"
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:  # until it listens
            try:
                _call(f"{url}/api/auth/anonymous-token", {})
                break
            except subprocess.CalledProcessError:
                time.sleep(0.2)
        yield url, key, proc
    finally:
        stop(proc)


def test_token_is_minted_only_for_a_caller_with_the_key(local_backend: tuple[str, str, object]) -> None:
    """Without the key (or with a wrong one) no token is issued; with it, one is."""
    url, key, _ = local_backend
    mint = f"{url}/api/auth/anonymous-token"
    status, body = _call(mint, {"X-Client-Id": "intruder"})
    assert status == 403 and "data" not in body
    status, body = _call(mint, {"X-Client-Id": "intruder", ENGINE_KEY_HEADER: key[:-1] + "x"})
    assert status == 403 and "data" not in body
    status, body = _call(mint, {"X-Client-Id": "owner", ENGINE_KEY_HEADER: key})
    assert status == 200 and body["code"] == 0
    assert isinstance(body["data"], dict) and str(body["data"]["token"]).startswith("nmv_local_")


def test_foreign_host_and_origin_are_refused_even_with_the_key(
    local_backend: tuple[str, str, object],
) -> None:
    """DNS rebinding (a foreign Host) and a web page (a foreign Origin) get no token, key or not."""
    url, key, _ = local_backend
    mint = f"{url}/api/auth/anonymous-token"
    port = url.rsplit(":", 1)[1]
    good = {"X-Client-Id": "c", ENGINE_KEY_HEADER: key}
    assert _call(mint, {**good, "Host": f"evil.example:{port}"})[0] == 421
    assert _call(mint, {**good, "Origin": "http://evil.example"})[0] == 403
    assert _call(mint, {**good, "Host": f"localhost:{port}"})[0] == 200
    assert _call(mint, {**good, "Origin": f"http://127.0.0.1:{port}"})[0] == 200


def test_every_route_needs_the_key(local_backend: tuple[str, str, object]) -> None:
    """Files, the edit stream and the render proxy refuse a caller without the key before anything else."""
    url, _, _ = local_backend
    routes = ("/files/m/anykey/a.mp4", "/run_sse", "/api/render/proxy/lambda", "/api/footage/nemo_agent/me/1")
    for path in (*routes, "/nowhere"):
        status, body = _call(url + path, {"Authorization": "Bearer nmv_local_x"})
        assert status == 403, path
        assert ENGINE_KEY_HEADER in str(body["detail"])


def test_a_chosen_key_is_taken_from_the_environment(tmp_path: Path) -> None:
    """NEMO_ENGINE_KEY sets the key (and is not printed); a too-short one is refused with the rule."""
    env = {**os.environ, "NEMO_MCP_HOME": str(tmp_path / "home"), "NEMO_ENGINE_KEY": "short"}
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "local-backend", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "at least 16" in done.stderr and "short" not in done.stderr.replace("too-short", "")
