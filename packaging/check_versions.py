"""Check that the package, server.json (and a release tag, if given) name the same version.

    python packaging/check_versions.py                 # package and server.json
    python packaging/check_versions.py --tag v0.2.0    # and the tag being released

Exits 1 naming every place that disagrees, so a release never publishes a server.json that
points at a version PyPI does not have. Reads files only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_version() -> str:
    text = (ROOT / "nemo_mcp" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, flags=re.M)
    if match is None:
        raise SystemExit("nemo_mcp/__init__.py has no __version__")
    return match.group(1)


def mismatches(version: str, server: dict[str, object], tag: str | None) -> list[str]:
    """Each place that names another version than ``version``, as a line to print."""
    found = [("server.json version", server.get("version"))]
    packages = server.get("packages")
    for i, package in enumerate(packages if isinstance(packages, list) else []):
        if isinstance(package, dict) and package.get("registryType") == "pypi":
            found.append((f"server.json packages[{i}].version", package.get("version")))
    if tag is not None:
        found.append((f"tag {tag}", tag.removeprefix("v")))
    return [f"{where} is {value!r}, not {version!r}" for where, value in found if value != version]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", help="the release tag, e.g. v0.2.0")
    args = parser.parse_args(argv)
    version = package_version()
    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    problems = mismatches(version, server, args.tag)
    for problem in problems:
        print(f"version mismatch: {problem}", file=sys.stderr)
    if problems:
        print(
            f"fix: set every version to the package's ({version}, nemo_mcp/__init__.py), or bump that one "
            "and server.json together, then tag v<version>",
            file=sys.stderr,
        )
        return 1
    print(f"versions agree: {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
