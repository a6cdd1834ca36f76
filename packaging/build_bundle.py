"""Build the Claude Desktop bundle (.mcpb) of nemo-mcp.

    python packaging/build_bundle.py            # stage build/mcpb/ only
    python packaging/build_bundle.py --pack     # then validate and pack with the official mcpb CLI

The bundle uses the manifest's "uv" server type: it carries the nemo_mcp sources and a
pyproject.toml that lists the same runtime dependencies as the package, and the host (Claude
Desktop) installs Python and those dependencies with uv. The "python" type would need every
dependency bundled for each platform, which compiled ones (PyAV, PocketSphinx, pydantic-core)
rule out. The version comes from nemo_mcp/__init__.py, so the bundle always matches the source.

This script reads files only; it does not import nemo_mcp. --pack runs the mcpb CLI installed
by `npm ci --prefix packaging`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "packaging"
sys.path.insert(0, str(HERE))  # the sibling script, also when this one is loaded by path

from check_versions import package_version as version  # noqa: E402

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def bundle_pyproject(project: dict[str, object], ver: str) -> str:
    """A pyproject for uv: the package's runtime dependencies, and no build step of its own."""
    deps = project["dependencies"]
    assert isinstance(deps, list)
    lines = [
        "[project]",
        'name = "nemo-mcp-bundle"',
        f'version = "{ver}"',
        f"requires-python = {json.dumps(project['requires-python'])}",
        "dependencies = [",
        *(f"  {json.dumps(d)}," for d in deps),
        "]",
        "",
        "[tool.uv]",
        "package = false  # the sources sit next to the entry point; nothing to build",
        "",
    ]
    return "\n".join(lines)


def stage(out: Path) -> Path:
    """Write the bundle's files into ``out`` (emptied first) and return it."""
    ver = version()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if out.exists():
        shutil.rmtree(out)
    (out / "src").mkdir(parents=True)
    manifest = json.loads((HERE / "mcpb" / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = ver
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / "pyproject.toml").write_text(bundle_pyproject(project, ver), encoding="utf-8")
    shutil.copy2(HERE / "mcpb" / "server.py", out / "src" / "server.py")
    shutil.copytree(ROOT / "nemo_mcp", out / "src" / "nemo_mcp", ignore=IGNORED)
    for name in ("LICENSE", "README.md"):
        shutil.copy2(ROOT / name, out / name)
    return out


def mcpb_cli() -> list[str]:
    exe = HERE / "node_modules" / ".bin" / ("mcpb.cmd" if sys.platform == "win32" else "mcpb")
    if not exe.exists():
        raise SystemExit("the mcpb CLI is not installed: run  npm ci --prefix packaging")
    return [str(exe)]


def pack(staged: Path, dist: Path) -> Path:
    """Validate the manifest and pack the bundle with the official CLI."""
    cli = mcpb_cli()
    subprocess.run([*cli, "validate", str(staged / "manifest.json")], check=True)
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / f"nemo-mcp-{version()}.mcpb"
    subprocess.run([*cli, "pack", str(staged), str(target)], check=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mcpb", help="staging folder")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the .mcpb goes")
    parser.add_argument("--pack", action="store_true", help="validate and pack with the mcpb CLI")
    args = parser.parse_args()
    staged = stage(args.out)
    print(f"staged {staged}")
    if args.pack:
        print(f"packed {pack(staged, args.dist)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
