"""Run ``nemo-mcp`` from a scratch copy of the package with a proposed patch applied.

Performance fixes in project code are proposed, not committed from here: each is a diff in
``bench/proposals/``. This copies ``nemo_mcp/`` to ``bench/.cache/proto/<name>/``, applies
``bench/proposals/<name>.diff`` there (the working tree is never touched) and serves it::

    python bench/proto.py serve coalesce-progress        # like `nemo-mcp`, patched
    python bench/edit_stream.py --server-cmd "python bench/proto.py serve coalesce-progress"

``BENCH_FRAGMENT_WINDOW`` (seconds) overrides the coalescing window of that proposal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROPOSALS = ROOT / "bench" / "proposals"
SCRATCH = ROOT / "bench" / ".cache" / "proto"


def prepare(name: str) -> Path:
    """A fresh patched copy of the package; returns the folder to put on sys.path."""
    target = SCRATCH / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "nemo_mcp", target / "nemo_mcp", ignore=shutil.ignore_patterns("__pycache__"))
    diff = (PROPOSALS / f"{name}.diff").read_bytes()
    patch = shutil.which("patch")
    if patch is None:
        raise SystemExit("bench/proto.py needs the `patch` program")
    subprocess.run([patch, "-s", "-p1", "-d", str(target)], input=diff, check=True)
    return target


def serve(name: str, argv: list[str]) -> int:
    sys.path.insert(0, str(SCRATCH / name))
    import nemo_mcp.mcp.server
    from nemo_mcp.cli.main import main

    assert str(SCRATCH) in str(nemo_mcp.mcp.server.__file__), "the patched copy was not imported"
    window = os.environ.get("BENCH_FRAGMENT_WINDOW")
    if window is not None:
        defaults = nemo_mcp.mcp.server.Progress.__init__.__kwdefaults__
        assert defaults is not None
        defaults["window"] = float(window)
    return main(argv)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "prepare":
        print(prepare(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "serve":
        sys.exit(serve(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit(__doc__)
