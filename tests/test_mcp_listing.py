"""What the server advertises (tools, prompts, resources, instructions) matches a committed snapshot.

The snapshot was taken before the MCP layer was split into modules, so a refactor that changes any
name, description, schema or annotation fails here. To accept a deliberate change, regenerate it with
``python -m tests.test_mcp_listing`` and review the diff.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.mcp import build_server
from nemo_mcp.service.uploads import UploadPolicy

from .helpers import make_settings

SNAPSHOT = Path(__file__).resolve().parent / "fixtures" / "tools_list.json"

pytestmark = pytest.mark.anyio


def _dump(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]


async def listing(home: Path) -> dict[str, Any]:
    """Everything a client sees before its first call, for the cloud and the local backend."""
    out: dict[str, Any] = {}
    for backend in ("cloud", "local"):
        server = build_server(make_settings(home, backend=backend), policy=UploadPolicy([home]))
        out[backend] = {
            "instructions": server.instructions,
            "tools": _dump(await server.list_tools()),
            "prompts": _dump(await server.list_prompts()),
            "resources": _dump(await server.list_resources()),
            "resource_templates": _dump(await server.list_resource_templates()),
        }
    return out


async def test_listing_matches_snapshot(tmp_path: Path) -> None:
    """tools/list, prompts/list, resources/list and the instructions are unchanged, field by field."""
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    actual = await listing(tmp_path)
    for backend in ("cloud", "local"):
        assert [t["name"] for t in actual[backend]["tools"]] == [
            t["name"] for t in expected[backend]["tools"]
        ]
        for got, want in zip(actual[backend]["tools"], expected[backend]["tools"], strict=True):
            assert got["inputSchema"] == want["inputSchema"], got["name"]
            assert got["outputSchema"] == want["outputSchema"], got["name"]
            assert got == want, got["name"]
    assert actual == expected


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        data = asyncio.run(listing(Path(home)))
    SNAPSHOT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
