"""The examples and the README: configs parse, name the installed command, use real flags and
settings, and the README documents every setting there is."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import pytest
from pydantic import AliasChoices

import nemo_mcp
from nemo_mcp.cli.main import _parser
from nemo_mcp.config import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
HOST_CONFIGS = {
    "claude_desktop_config.json": "mcpServers",
    "cursor-mcp.json": "mcpServers",
    "vscode-mcp.json": "servers",
}
_VARIABLE = re.compile(r"\bNEMO_[A-Z0-9_]*[A-Z0-9]\b")
# The package reads a few variables outside Settings, straight from the environment.
_ENV_READ = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["'](NEMO_[A-Z0-9_]+)["']""")


def real_variables() -> set[str]:
    """Every NEMO_* variable the package reads: Settings fields, and direct environment reads."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c for c in alias.choices if isinstance(c, str) and c.startswith("NEMO_")}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"NEMO_{name.upper()}")
    for source in Path(nemo_mcp.__file__).parent.rglob("*.py"):
        names |= set(_ENV_READ.findall(source.read_text(encoding="utf-8")))
    return names


def cli_flags() -> set[str]:
    """The long flags of ``nemo-mcp`` (``--help`` aside)."""
    return {
        option
        for action in _parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def _installed(command: str) -> bool:
    bindir = Path(sys.executable).parent
    return any((shutil.which(command), (bindir / command).exists(), (bindir / f"{command}.exe").exists()))


def _check_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(env) <= real_variables(), f"unknown variables: {set(env) - real_variables()}"
    for name in list(os.environ):
        if name.startswith("NEMO_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    Settings()  # raises if a value is invalid


def _is_absolute(command: str) -> bool:
    return PurePosixPath(command).is_absolute() or PureWindowsPath(command).is_absolute()


def _check_entry(entry: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """An absolute nemo-mcp (or uvx running nemo-mcp), real flags and real settings."""
    command, args = entry["command"], list(entry.get("args", []))
    assert _is_absolute(command), f"hosts need an absolute command, not {command!r}"
    name = PurePosixPath(command.replace("\\", "/")).name.removesuffix(".exe")
    if name == "uvx":
        assert args[:1] == ["nemo-mcp"], args
        args = args[1:]
    else:
        assert name == "nemo-mcp", command
    assert _installed("nemo-mcp"), "nemo-mcp is not installed next to this Python or on PATH"
    _parser().parse_args(args)  # exits on an unknown flag or value
    _check_settings(entry.get("env", {}), monkeypatch)


@pytest.mark.parametrize(("name", "key"), HOST_CONFIGS.items())
def test_host_config_runs_the_installed_command(name: str, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each host config is valid JSON naming the installed nemo-mcp, with real flags and settings."""
    servers = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))[key]
    assert list(servers) == ["nemo"]
    entry = servers["nemo"]
    if key == "servers":  # VS Code's format
        assert entry["type"] == "stdio"
    _check_entry(entry, monkeypatch)


def test_vscode_asks_for_the_token_as_a_secret() -> None:
    """Each ${input:…} in the VS Code config has a masked promptString input, and the token uses one."""
    config = json.loads((EXAMPLES / "vscode-mcp.json").read_text(encoding="utf-8"))
    inputs = {i["id"]: i for i in config["inputs"]}
    env = config["servers"]["nemo"]["env"]
    used = {m for value in env.values() for m in re.findall(r"\$\{input:([^}]+)\}", value)}
    assert used and used <= set(inputs)
    assert all(inputs[i]["type"] == "promptString" and inputs[i]["password"] is True for i in used)
    assert re.fullmatch(r"\$\{input:[^}]+\}", env["NEMO_TOKEN"])


def test_every_example_json_is_tested() -> None:
    """No JSON file in examples/ escapes the host-config test."""
    assert {p.name for p in EXAMPLES.glob("*.json")} == set(HOST_CONFIGS)


def _claude_lines(text: str) -> list[list[str]]:
    return [
        shlex.split(line, comments=True)
        for line in text.splitlines()
        if line.strip().startswith("claude mcp add")
    ]


def _check_claude_add(tokens: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if tokens[2] == "add-json":
        rest = [t for t in tokens[3:] if not t.startswith("-") and t != "user"]
        name, config = rest
        assert name == "nemo"
        entry = json.loads(config)
        assert entry["type"] == "stdio"
        _check_entry(entry, monkeypatch)
        return
    assert tokens[2] == "add"
    split = tokens.index("--")
    name: str | None = None
    env: dict[str, str] = {}
    options = iter(tokens[3:split])
    for token in options:
        if token in ("--scope", "-s"):
            next(options)
        elif token in ("-e", "--env"):
            # -e takes several values: the server name must come before it or it is swallowed.
            assert name is not None, f"the server name must precede -e: {shlex.join(tokens)}"
            key, _, value = next(options).partition("=")
            env[key] = value
        else:
            assert name is None, f"unexpected argument {token!r}"
            name = token
    assert name == "nemo"
    _check_entry({"command": tokens[split + 1], "args": tokens[split + 2 :], "env": env}, monkeypatch)


def test_claude_code_commands_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `claude mcp add` line in the examples and README puts the name first and runs nemo-mcp."""
    lines = _claude_lines((EXAMPLES / "claude_code.md").read_text(encoding="utf-8"))
    lines += _claude_lines(README.read_text(encoding="utf-8"))
    assert len(lines) >= 4
    for tokens in lines:
        _check_claude_add(tokens, monkeypatch)


def test_readme_json_blocks_parse() -> None:
    """Every JSON block in the README is valid JSON, so copying one into a host config works."""
    blocks = re.findall(r"```json\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        json.loads(block)


def test_mentioned_variables_are_real() -> None:
    """Every NEMO_* name in the README, examples, server.json and Dockerfile is one the package reads."""
    files = [
        README,
        ROOT / "server.json",
        ROOT / "Dockerfile",
        *(p for p in EXAMPLES.iterdir() if p.is_file()),
    ]
    real = real_variables()
    for path in files:
        unknown = set(_VARIABLE.findall(path.read_text(encoding="utf-8"))) - real
        assert not unknown, f"{path.name} mentions variables nemo-mcp does not read: {sorted(unknown)}"


def test_readme_documents_every_variable_and_flag() -> None:
    """The README's configuration table names every variable the package reads and every flag."""
    text = README.read_text(encoding="utf-8")
    assert {"NEMO_MCP_AUTH_TOKEN", "NEMO_FFMPEG", "NEMO_MCP_HOME"} <= real_variables()
    missing = {v for v in real_variables() if f"`{v}`" not in text}
    assert not missing, f"README lacks {sorted(missing)}"
    missing = {f for f in cli_flags() if f"`{f}" not in text}
    assert not missing, f"README lacks {sorted(missing)}"


@pytest.mark.slow
def test_drive_server_example_runs(tmp_path: Path) -> None:
    """examples/drive_server.py edits a generated clip through the local engine and saves the MP4."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_")}
    env["NEMO_MCP_HOME"] = str(tmp_path / "home")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "drive_server.py"), "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Tools: upload_media, send_edit" in done.stdout
    assert "    … Running trim_video…" in done.stdout  # progress arrived while the edit ran
    assert "The export is ready and saved to" in done.stdout
    exports = list(out.glob("nemo-export-*.mp4"))
    assert len(exports) == 1 and exports[0].stat().st_size > 10_000


@pytest.mark.anyio
async def test_readme_lists_every_tool_resource_and_prompt(tmp_path: Path) -> None:
    """Each tool, resource and prompt the server registers has its name in the README."""
    from mcp import Client

    from nemo_mcp.mcp import build_server

    text = README.read_text(encoding="utf-8")
    async with Client(build_server(Settings(home=tmp_path))) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        names += [str(r.uri) for r in (await client.list_resources()).resources]
        names += [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        names += [p.name for p in (await client.list_prompts()).prompts]
    assert len(names) >= 14
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"README lacks {missing}"
