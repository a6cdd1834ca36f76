"""What ships beside the package: server.json for the MCP registry and the Dockerfile.

Docker itself is not run here (CI has no Docker engine): the Dockerfile is parsed and its
essentials checked, and the files it copies are shown to be enough to build the package.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp import __version__

ROOT = Path(__file__).resolve().parent.parent
SERVER_JSON = ROOT / "server.json"
DOCKERFILE = ROOT / "Dockerfile"


def _server() -> dict[str, object]:
    data: dict[str, object] = json.loads(SERVER_JSON.read_text(encoding="utf-8"))
    return data


def test_server_json_versions_match_the_package() -> None:
    """server.json's version and every package version equal nemo_mcp.__version__."""
    data = _server()
    assert data["version"] == __version__
    packages = data["packages"]
    assert isinstance(packages, list) and packages
    assert [p["version"] for p in packages] == [__version__] * len(packages)


def test_server_json_shape() -> None:
    """server.json follows the registry schema's rules for the fields it uses."""
    data = _server()
    assert re.fullmatch(
        r"https://static\.modelcontextprotocol\.io/schemas/\d{4}-\d{2}-\d{2}/server\.schema\.json",
        str(data["$schema"]),
    )
    name = str(data["name"])
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", name) and 3 <= len(name) <= 200
    assert 1 <= len(str(data["description"])) <= 100
    assert 1 <= len(str(data["title"])) <= 100
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (package,) = data["packages"]  # type: ignore[misc]
    assert package["registryType"] == "pypi"
    assert package["identifier"] == project["name"]
    assert package["transport"] == {"type": "stdio"}
    allowed = {
        "name",
        "description",
        "isRequired",
        "isSecret",
        "format",
        "default",
        "choices",
        "value",
        "placeholder",
    }
    for variable in package["environmentVariables"]:
        assert set(variable) <= allowed
        if "default" in variable and "choices" in variable:
            assert variable["default"] in variable["choices"]
    secret = [v["name"] for v in package["environmentVariables"] if v.get("isSecret")]
    assert secret == ["NEMO_TOKEN"]


def test_readme_proves_the_registry_name() -> None:
    """The README (the PyPI description) carries `mcp-name: <name>`, which the registry checks."""
    name = str(_server()["name"])
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"mcp-name: {re.escape(name)}(?:\s|-->|<)", text)


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments) pairs, continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    pairs = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_dockerfile_essentials() -> None:
    """Slim Python 3.11 base, installed from source, ffmpeg from the wheel, non-root, nemo-mcp entrypoint."""
    steps = _instructions()
    keywords = [k for k, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert keywords.count("FROM") == 1
    runs = [(i, arg) for i, (k, arg) in enumerate(steps) if k == "RUN"]
    install = [i for i, arg in runs if "pip install --no-cache-dir ." in arg]
    assert install, "the package must be installed from the source tree"
    # ffmpeg comes from the imageio-ffmpeg wheel; the apt step adds fonts only.
    assert not any(re.search(r"\bapt-get install\b.*\bffmpeg\b", arg) for _, arg in runs)
    users = [(i, arg) for i, (k, arg) in enumerate(steps) if k == "USER"]
    assert users, "the image must not run as root"
    last_user_at, last_user = users[-1]
    assert last_user not in ("root", "0") and not last_user.startswith(("root:", "0:"))
    assert all(i < last_user_at for i in install), "install as root, then drop privileges"
    assert not [i for i, _ in runs if i > last_user_at and "pip" in steps[i][1]]
    (entrypoint,) = [arg for k, arg in steps if k == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["nemo-mcp"]
    exposed = " ".join(arg for k, arg in steps if k == "EXPOSE").split()
    assert "8765" in exposed


def _copied_sources() -> list[str]:
    sources = []
    for keyword, arg in _instructions():
        if keyword == "COPY":
            parts = shlex.split(arg)
            assert not any(p.startswith("--from") for p in parts)
            sources += parts[:-1]
    return sources


def test_dockerignore_keeps_what_the_image_copies() -> None:
    """Every path the Dockerfile copies exists and is not excluded by .dockerignore."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".git", ".venv"} <= set(patterns)
    for source in _copied_sources():
        assert (ROOT / source).exists(), source
        assert not [p for p in patterns if fnmatch.fnmatch(source, p)], source


@pytest.mark.slow
def test_files_the_image_copies_build_the_package(tmp_path: Path) -> None:
    """The files the Dockerfile copies are enough for `pip install .` to build nemo-mcp."""
    src = tmp_path / "src"
    src.mkdir()
    for source in _copied_sources():
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, src / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / source)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in (tmp_path / "dist").glob("*.whl")] == [f"nemo_mcp-{__version__}-py3-none-any.whl"]
    with zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))) as wheel:
        assert "nemo_mcp/mcp/review.html" in wheel.namelist()  # package data: the MCP Apps review view


# -- the release path: LICENSE, registry label, version check, Claude Desktop bundle ---------------


def _script(name: str) -> object:
    """A script under packaging/ loaded as a module (the folder is not a package, and its name
    would shadow the PyPI packaging library)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"nemo_packaging_{name}", ROOT / "packaging" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_license_is_the_mit_text_pyproject_names() -> None:
    """LICENSE holds the MIT licence for the authors pyproject lists."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["license"] == "MIT"
    assert text.startswith("MIT License")
    assert f"Copyright (c) 2025 {project['authors'][0]['name']}" in text


def test_image_carries_the_registry_label() -> None:
    """The Dockerfile labels the image with server.json's name, which the MCP registry checks."""
    labels = " ".join(arg for keyword, arg in _instructions() if keyword == "LABEL")
    assert f'io.modelcontextprotocol.server.name="{_server()["name"]}"' in labels


def test_readme_runs_the_container_as_the_calling_user() -> None:
    """The README's Docker section shows --user with the caller's ids, so exports belong to them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '--user "$(id -u):$(id -g)"' in readme


def test_version_check_names_each_mismatch() -> None:
    """check_versions flags server.json and tag versions that differ from the package's."""
    check: Any = _script("check_versions")
    server = {"version": "0.2.0", "packages": [{"registryType": "pypi", "version": "0.1.0"}]}
    problems = check.mismatches("0.1.0", server, "v0.3.0")
    assert [p.split(" is ")[0] for p in problems] == ["server.json version", "tag v0.3.0"]
    assert check.mismatches(__version__, _server(), f"v{__version__}") == []
    assert check.main([]) == 0


def test_bundle_stages_the_sources_and_the_package_dependencies(tmp_path: Path) -> None:
    """The staged bundle has the manifest at the package version, the sources, and the same dependencies."""
    build: Any = _script("build_bundle")
    staged = build.stage(tmp_path / "mcpb")
    manifest = json.loads((staged / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == __version__
    assert (staged / manifest["server"]["entry_point"]).is_file()
    assert (staged / "src" / "nemo_mcp" / "__init__.py").is_file()
    assert (staged / "src" / "nemo_mcp" / "mcp" / "review.html").is_file()
    assert not list(staged.rglob("__pycache__"))
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bundled = tomllib.loads((staged / "pyproject.toml").read_text(encoding="utf-8"))
    assert bundled["project"]["dependencies"] == ours["dependencies"]
    assert bundled["project"]["requires-python"] == ours["requires-python"]
    assert "build-system" not in bundled and bundled["tool"]["uv"]["package"] is False


def test_bundle_manifest_settings_reach_real_variables() -> None:
    """Each user setting feeds a real NEMO_* variable; the token is a masked secret; tools match the server's."""
    from nemo_mcp.config import Settings

    manifest = json.loads((ROOT / "packaging" / "mcpb" / "manifest.json").read_text(encoding="utf-8"))
    config = manifest["user_config"]
    assert set(config) == {"backend", "nemo_token", "upload_folder", "download_folder"}
    assert config["nemo_token"]["sensitive"] is True and config["nemo_token"]["type"] == "string"
    assert config["upload_folder"]["type"] == config["download_folder"]["type"] == "directory"
    server = manifest["server"]
    assert server["type"] == "uv"
    env = server["mcp_config"]["env"]
    fields = {f"NEMO_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    used = {re.fullmatch(r"\$\{user_config\.(\w+)\}", value).group(1) for value in env.values()}  # type: ignore[union-attr]
    assert used == set(config)
    # Defaults fill every variable: the host leaves an unset ${user_config.X} in place literally.
    assert all("default" in option for option in config.values())
    snapshot = json.loads((ROOT / "tests" / "fixtures" / "tools_list.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in manifest["tools"]] == [t["name"] for t in snapshot["cloud"]["tools"]]
