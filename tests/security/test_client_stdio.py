"""The hardened stdio reader: request ids of the wrong type get an answer, and no id is answered twice.

A real ``nemo-mcp`` process on stdio, driven line by line (``tests/test_bad_input.RawServer``).
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from ..test_bad_input import fake_and_server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("rid", ["1.5", "true", "[]", "-2.0"])
async def test_request_id_of_the_wrong_type_gets_an_invalid_request_answer(tmp_path: Path, rid: str) -> None:
    """A request whose id is a float, a boolean or a list is refused with -32600 (null id), not run silently."""
    async with fake_and_server(tmp_path) as srv:
        await srv.send_raw(b'{"jsonrpc":"2.0","id":' + rid.encode() + b',"method":"ping"}\n')
        await srv.settle()
        assert [e["error"]["code"] for e in srv.null_id_errors] == [-32600]
        assert "string or an integer" in srv.null_id_errors[0]["error"]["message"]


async def test_duplicate_id_while_the_first_runs_is_refused_and_answered_once(tmp_path: Path) -> None:
    """A second request reusing a running request's id gets -32600 under a null id; the id is answered once."""
    async with fake_and_server(tmp_path, frame_gap_ms=150) as srv:
        edit = {"name": "send_edit", "arguments": {"instruction": "trim the intro"}}
        first = {"jsonrpc": "2.0", "id": 60, "method": "tools/call", "params": edit}
        await srv.send(first)
        await srv.send(first)  # the same id, while the first edit is still streaming
        answer = await srv.answer(60, timeout=30)
        assert "result" in answer, answer
        await srv.settle()
        assert len(srv.by_id[60]) == 1
        assert [e["error"]["code"] for e in srv.null_id_errors] == [-32600]
        assert "already in use" in srv.null_id_errors[0]["error"]["message"]
        # Once answered, the id is free again.
        again = {"jsonrpc": "2.0", "id": 61, "method": "ping"}
        await srv.send(again)
        with anyio.fail_after(15):
            assert (await srv.answer(61)).get("result") == {}
