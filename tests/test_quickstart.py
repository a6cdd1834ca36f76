"""The README's quickstart install, run as a newcomer would: a clean clone, a fresh virtual
environment, the README's own ``pip install`` line, then ``nemo-mcp demo`` (the quickstart's
"run it" command), ``nemo-mcp --version`` and ``nemo-mcp doctor --backend local`` from that
environment.

It clones what is committed (``git clone`` of the repository), so uncommitted work is not
tested. ``QUICKSTART_SOURCE`` may name another repository or clone to test instead.
pip installs the dependencies from the package index, through pip's cache when it has them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(os.environ.get("QUICKSTART_SOURCE") or ROOT)


def _quickstart_lines() -> list[str]:
    """The commands of the README's quickstart block, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- quickstart -->\s*```sh\n(.*?)```", text, flags=re.S)
    assert match, "the README has no quickstart block"
    return [part.strip() for line in match.group(1).splitlines() for part in line.split("#")[0].split("&&")]


def _run(
    argv: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
def test_readme_quickstart_installs_from_a_clean_clone(tmp_path: Path) -> None:
    """A fresh venv plus the README's pip line on a clean clone gives a nemo-mcp whose demo and doctor pass."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    head = _run(["git", "-C", str(SOURCE), "rev-parse", "--verify", "--quiet", "HEAD"], cwd=tmp_path)
    if head.returncode != 0:
        pytest.skip(f"{SOURCE} has no commits yet: the quickstart test installs what is committed")

    lines = _quickstart_lines()
    assert "nemo-mcp demo" in lines
    (pip_line,) = [line for line in lines if line.startswith("pip install")]
    assert pip_line == "pip install ./nemo-mcp"

    clone = _run(["git", "clone", "--quiet", str(SOURCE), str(tmp_path / "nemo-mcp")], cwd=tmp_path)
    assert clone.returncode == 0, clone.stderr
    venv = tmp_path / "nemo-env"
    made = _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")

    installed = _run(
        [str(python), "-m", *shlex.split(pip_line), "--quiet", "--disable-pip-version-check"], cwd=tmp_path
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_")}
    env["NEMO_MCP_HOME"] = str(tmp_path / "state")
    command = str(bindir / ("nemo-mcp.exe" if os.name == "nt" else "nemo-mcp"))
    work = tmp_path / "work"
    work.mkdir()

    cloned_init = (tmp_path / "nemo-mcp" / "nemo_mcp" / "__init__.py").read_text(encoding="utf-8")
    version = re.search(r'__version__ = "([^"]+)"', cloned_init)
    assert version
    shown = _run([command, "--version"], cwd=work, env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"nemo-mcp {version.group(1)}"

    demo = _run([command, "demo"], cwd=work, env=env)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    outputs = sorted(p.name for p in (work / "nemo-demo").iterdir())
    assert "chapters.txt" in outputs and sum(name.endswith(".mp4") for name in outputs) >= 2, outputs

    doctor = _run([command, "doctor", "--backend", "local"], cwd=work, env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "✓ local engine: started on 127.0.0.1 and answered" in doctor.stdout
    assert doctor.stdout.rstrip().endswith("Ready: everything the local backend needs is in place.")
