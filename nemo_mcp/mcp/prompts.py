"""What the server offers besides tools: the instructions, the five skill prompts and the resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.prompts.base import Message, UserMessage

from nemo_mcp import draft
from nemo_mcp.config import SKILLS
from nemo_mcp.errors import ACCEPTED_FORMATS, MAX_UPLOAD_BYTES, NemoError
from nemo_mcp.mcp.context import AppState, Ctx
from nemo_mcp.mcp.outputs import FormatsResource, TimelineResource

INSTRUCTIONS = """\
nemo-mcp edits video by conversation. Work in this order: upload_media (local files or URLs), \
then send_edit with plain-language instructions, then export_video for the finished MP4.
- Concrete instructions work better than vague ones ("cut silences longer than 1 s, then add \
captions" rather than "make it better"). Shorter source clips process faster.
- For lessons, 3-5 minute learning segments help retention. MP4 is the most compatible export.
- Before cutting, chaptering or titling, call read_footage: it gives what is said (timed sentences), the slides' headings and the long silences, so you can write exact instructions ("cut 1:05-1:20 where I repeat myself", "chapters at 0:00 Welcome, 2:10 …"). Page with start.
- After an edit, call preview to see frames as they will export (titles, captions, crops): one \
contact sheet costs about the tokens of one large frame.
- get_timeline shows the tracks; check_credits explains the balance.
- Keep tokens, ids and raw JSON out of the chat: describe results in words.
- A long export returns a render_id: call export_video again with it to keep waiting."""


# -- prompts ------------------------------------------------------------------------------------


def lecture_segments(segment_minutes: str = "3-5", captions: str = "yes") -> list[Message]:
    cap = " with captions" if captions.lower() not in ("no", "false", "0") else ""
    return [
        UserMessage(
            f"Break this lecture into short learning segments of {segment_minutes} minutes with chapter "
            f"titles{cap}, then export a 1080p MP4. Upload the lecture first if it is not in the project."
        )
    ]


def tutorial_polish(summary_points: str = "") -> list[Message]:
    extra = f" Summary points: {summary_points}." if summary_points else ""
    return [
        UserMessage(
            "Add chapter titles, highlight clicks, and insert a summary slide at the end of my screen "
            f"recording, then export it as MP4.{extra}"
        )
    ]


def highlight_reel(seconds: str = "60", music_volume: str = "20%") -> list[Message]:
    return [
        UserMessage(
            f"Cut out silences, add background music at {music_volume}, and export as a {seconds}-second "
            "highlight reel. Upload the clips and the music file first."
        )
    ]


def youtube_ready(platform: str = "youtube") -> list[Message]:
    return [UserMessage(f"Trim the intro, add captions, and export for {platform}.")]


def youtube_chapters(language: str = "en") -> list[Message]:
    return [
        UserMessage(
            "Generate chapters with timestamps and titles for my YouTube video, following YouTube's rules "
            f"(first at 0:00, at least three, each 10 s or longer). Write the titles in language '{language}'."
        )
    ]


#: Each prompt and the skill whose name, title and description it is published under.
PROMPTS: tuple[tuple[Callable[..., list[Message]], str], ...] = (
    (lecture_segments, "best-video-learn"),
    (tutorial_polish, "tutor-video"),
    (highlight_reel, "video-making-ai"),
    (youtube_ready, "video-skill-online"),
    (youtube_chapters, "chapter-generator"),
)


#: The values a host may offer for each prompt argument with a closed set, first the default.
#: Free-text arguments (summary_points) have none. The platform words are ones the local
#: engine's grammar maps to a format; the cloud agent understands them too.
PROMPT_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "best-video-learn": {
        "segment_minutes": ("3-5", "2-3", "5-8", "8-10"),
        "captions": ("yes", "no"),
    },
    "video-making-ai": {
        "seconds": ("60", "15", "30", "45", "90", "120"),
        "music_volume": ("20%", "10%", "15%", "30%", "40%", "50%"),
    },
    "video-skill-online": {
        "platform": ("youtube", "youtube shorts", "tiktok", "instagram reels", "instagram", "square"),
    },
    "chapter-generator": {
        "language": (
            "en",
            "es",
            "fr",
            "de",
            "it",
            "pt",
            "nl",
            "pl",
            "tr",
            "ru",
            "ar",
            "hi",
            "ja",
            "ko",
            "zh",
        ),
    },
}


def add_prompts(mcp: MCPServer[Any]) -> None:
    """Register the skill prompts."""
    for fn, skill in PROMPTS:
        profile = SKILLS[skill]
        mcp.prompt(name=skill, title=profile.title, description=profile.description)(fn)


# -- resources ----------------------------------------------------------------------------------

TIMELINE_TEMPLATE = "nemo://projects/{session_id}/timeline"


async def project_timeline(session_id: str, ctx: Ctx) -> TimelineResource:
    """The project's timeline: a summary line and the draft JSON."""
    state: AppState = ctx.request_context.lifespan_context
    try:
        sid, st = await state.manager.state(session_id)
    except NemoError as exc:
        raise ResourceError(exc.user_message) from None
    return {"project": sid, "summary": draft.summarize(st.state.draft), "draft": st.state.draft}


def formats() -> FormatsResource:
    """Accepted upload types, the size limit and the export format."""
    return {
        "upload_types": list(ACCEPTED_FORMATS),
        "subtitles_local_engine": ["srt", "vtt"],
        "max_upload_mb": MAX_UPLOAD_BYTES // 2**20,
        "export": {"format": "mp4", "video": "H.264", "audio": "AAC", "max_resolution": "1080x1920"},
    }


def add_resources(mcp: MCPServer[Any]) -> None:
    """Register the timeline template and the formats resource."""
    mcp.resource(
        TIMELINE_TEMPLATE,
        name="project-timeline",
        title="Project timeline",
        mime_type="application/json",
    )(project_timeline)
    mcp.resource(
        "nemo://formats", name="formats", title="Accepted formats and limits", mime_type="application/json"
    )(formats)
