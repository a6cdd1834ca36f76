"""completion/complete: prompt arguments with a closed set, and project ids in the timeline template."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.types import PromptReference, ResourceTemplateReference

from nemo_mcp.config import Settings
from nemo_mcp.mcp import build_server
from nemo_mcp.mcp.completions import MAX_VALUES, matching
from nemo_mcp.mcp.prompts import PROMPT_CHOICES, TIMELINE_TEMPLATE
from nemo_mcp.service import backend_key
from nemo_mcp.service.store import ProjectRecord, Store

from .helpers import make_settings

pytestmark = pytest.mark.anyio


async def test_server_advertises_completions(tmp_path: Path) -> None:
    """The initialize result lists the completions capability, so hosts know to ask."""
    async with Client(build_server(make_settings(tmp_path))) as client:
        assert client.server_capabilities.completions is not None


@pytest.mark.parametrize(
    ("prompt", "argument", "typed", "first"),
    [
        ("video-skill-online", "platform", "", "youtube"),
        ("video-skill-online", "platform", "TIK", "tiktok"),
        ("video-skill-online", "platform", "reels", "instagram reels"),
        ("chapter-generator", "language", "f", "fr"),
        ("best-video-learn", "segment_minutes", "5", "5-8"),
        ("best-video-learn", "captions", "n", "no"),
        ("video-making-ai", "seconds", "3", "30"),
        ("video-making-ai", "music_volume", "1", "10%"),
    ],
)
async def test_prompt_argument_completion(
    tmp_path: Path, prompt: str, argument: str, typed: str, first: str
) -> None:
    """A closed-set prompt argument completes to the matching values, prefix matches first."""
    async with Client(build_server(make_settings(tmp_path))) as client:
        result = await client.complete(PromptReference(name=prompt), {"name": argument, "value": typed})
    values = result.completion.values
    assert values[0] == first
    assert set(values) <= set(PROMPT_CHOICES[prompt][argument])
    assert result.completion.total == len(values)


async def test_every_closed_set_names_real_prompt_arguments(tmp_path: Path) -> None:
    """Each prompt and argument in PROMPT_CHOICES exists on the server, and defaults come first."""
    server = build_server(make_settings(tmp_path))
    prompts = {p.name: p for p in await server.list_prompts()}
    for name, arguments in PROMPT_CHOICES.items():
        declared = {a.name for a in prompts[name].arguments or []}
        assert set(arguments) <= declared, name
    assert PROMPT_CHOICES["chapter-generator"]["language"][0] == Settings.model_fields["language"].default


async def test_free_text_and_unknown_arguments_get_no_values(tmp_path: Path) -> None:
    """summary_points is free text and an unknown prompt has no arguments: both answer an empty list."""
    async with Client(build_server(make_settings(tmp_path))) as client:
        free = await client.complete(
            PromptReference(name="tutor-video"), {"name": "summary_points", "value": "a"}
        )
        unknown = await client.complete(PromptReference(name="nope"), {"name": "x", "value": ""})
        nothing = await client.complete(
            PromptReference(name="video-skill-online"), {"name": "platform", "value": "zzz"}
        )
    assert free.completion.values == [] and unknown.completion.values == []
    assert nothing.completion.values == []


async def test_timeline_project_ids_come_from_the_store(tmp_path: Path) -> None:
    """The session_id of the timeline template completes to this backend's known projects, newest first."""
    settings = make_settings(tmp_path)
    key = backend_key(settings, settings.api_base)
    store = Store(settings.store_path, clock=iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).__next__)
    store.add_project(ProjectRecord(session_id="5529798706024415232", backend=key))
    store.add_project(ProjectRecord(session_id="5529798706024415999", backend=key))
    store.add_project(ProjectRecord(session_id="7000000000000000001", backend="local"))
    store.close()
    ref = ResourceTemplateReference(uri=TIMELINE_TEMPLATE)
    async with Client(build_server(settings)) as client:
        every = await client.complete(ref, {"name": "session_id", "value": ""})
        some = await client.complete(ref, {"name": "session_id", "value": "552979870602441599"})
        other = await client.complete(ref, {"name": "nope", "value": ""})
    assert every.completion.values == ["5529798706024415999", "5529798706024415232"]
    assert some.completion.values == ["5529798706024415999"]
    assert other.completion.values == []


def test_answers_are_capped_at_the_protocol_limit() -> None:
    """More than 100 matches send 100 values with the true total and has_more set."""
    result = matching((f"v{i}" for i in range(250)), "v")
    assert len(result.values) == MAX_VALUES
    assert (result.total, result.has_more) == (250, True)
