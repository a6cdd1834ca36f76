"""Tests for nemo_mcp.service.translate: GUI phrases in the backend's text mapped to our tools."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.service.translate import NOTE_CLOSE, NOTE_OPEN, RULES, TOOLS, gui_hints, translate

SUMMARY = 'Timeline (2 tracks): 1. Video: talk (0-10s) 2. Title: "Hi" (0-3s)'


def tools(text: str) -> list[str]:
    """The tools hinted for ``text``, in order."""
    return [hint.tool for hint in gui_hints(text)]


def notes(text: str) -> list[str]:
    """The bodies of the notes ``translate`` added to ``text``."""
    out = translate(text)
    return [part.split(NOTE_CLOSE, 1)[0] for part in out.split(NOTE_OPEN)[1:]]


# --------------------------------------------------------------------------- the table, both languages


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        # click [button] → the tool that does it
        ("Click the Export button to download your video.", "export_video"),
        ("点击导出即可下载视频。", "export_video"),
        ("Click Upload to add another clip.", "upload_media"),
        ("请点击上传按钮添加素材。", "upload_media"),
        ("Open the credits page to see your balance.", "check_credits"),
        ("点击积分查看剩余额度。", "check_credits"),
        ("查看余额。", "check_credits"),
        ("Click New Project to start over.", "new_project"),
        ("点击新建项目重新开始。", "new_project"),
        ("Open the projects list to find it.", "list_projects"),
        ("打开项目列表即可找到。", "list_projects"),
        ("Click Apply to confirm.", "send_edit"),
        ("双击片段进行编辑。", "send_edit"),
        # open [panel] → get_timeline
        ("Open the Audio panel to adjust the volume.", "get_timeline"),
        ("打开音频面板调整音量。", "get_timeline"),
        ("Go to the Text tab to change the font.", "get_timeline"),
        # drag/drop → send_edit
        ("Drag the title to the start of the timeline.", "send_edit"),
        ("Drop the clip onto the timeline.", "send_edit"),
        ("将标题拖拽到开头。", "send_edit"),
        ("把片段拖动到第二轨道。", "send_edit"),
        # dropping files is an upload
        ("Drag your video files here to upload them.", "upload_media"),
        ("拖放文件到此处。", "upload_media"),
        # preview in timeline → the track summary
        ("Preview it in the timeline.", "get_timeline"),
        ("You can preview the result before exporting.", "get_timeline"),
        ("在时间线中预览效果。", "get_timeline"),
        ("预览一下效果。", "get_timeline"),
        # Export button / 导出 → the export workflow
        ("The Export button is at the top right.", "export_video"),
        ("请导出视频。", "export_video"),
    ],
)
def test_table_rows(text: str, tool: str) -> None:
    """Each row of the table, in English and Chinese, points at its tool."""
    assert set(tools(text)) == {tool}
    assert len(notes(text)) == 1
    assert tool in notes(text)[0]


def test_matching_is_case_insensitive() -> None:
    """Upper-case GUI phrases match too."""
    assert tools("CLICK THE EXPORT BUTTON.") == ["export_video"]


def test_specific_rule_wins_over_generic_click() -> None:
    """A click on a known button names its tool, not the generic send_edit."""
    assert tools("点击导出按钮") == ["export_video"]
    assert tools("Double-click the Upload icon.") == ["upload_media"]


def test_hints_carry_phrase_and_reason() -> None:
    """A hint names the phrase found, the tool and why."""
    (hint,) = gui_hints("Done! Click the Export button to download your video.")
    assert hint.phrase == "Click the Export button"
    assert hint.tool == "export_video"
    assert "Export button" in hint.reason
    assert "export_video" in hint.advice


def test_several_hints_in_order() -> None:
    """Hints across sentences come in text order."""
    text = "Click Upload to add a clip. Then open the Audio panel. Finally 点击导出。"
    assert tools(text) == ["upload_media", "get_timeline", "export_video"]


def test_every_rule_names_a_known_tool() -> None:
    """The table refers to every tool the server has, and to nothing else."""
    assert {rule.tool for rule in RULES} == set(TOOLS)


# --------------------------------------------------------------------------- in-place rewriting


def test_note_is_placed_after_its_sentence() -> None:
    """The note follows the GUI sentence; the text around it is kept as it was."""
    text = "Your video is trimmed. Click the Export button to download it. Anything else?"
    out = translate(text)
    head, rest = out.split(" " + NOTE_OPEN, 1)
    assert head == "Your video is trimmed. Click the Export button to download it."
    assert rest.split(NOTE_CLOSE, 1)[1] == " Anything else?"


def test_lines_and_markdown_survive() -> None:
    """Line breaks and list markup stay; the note goes at the end of the GUI line."""
    text = "Steps:\n1. Click **Export**\n2. Pick 1080p\r\n\nDone."
    out = translate(text)
    assert out.startswith("Steps:\n1. Click **Export** " + NOTE_OPEN)
    assert out.endswith(NOTE_CLOSE + "\n2. Pick 1080p\r\n\nDone.")


def test_chinese_note_follows_the_full_stop() -> None:
    """A Chinese sentence gets its note after 。 and the next sentence follows unchanged."""
    out = translate("请点击上传按钮。然后告诉我。")
    assert out.startswith("请点击上传按钮。 " + NOTE_OPEN)
    assert out.endswith(NOTE_CLOSE + "然后告诉我。")


def test_one_note_per_sentence_each_tool_once() -> None:
    """A sentence with two phrases for one tool gets a single piece of advice."""
    assert notes("Open the timeline panel and preview it in the timeline.") == [
        "call get_timeline for a text summary of the tracks"
    ]


def test_two_tools_in_one_sentence() -> None:
    """A sentence with phrases for two tools names both, in text order."""
    (note,) = notes("Go to the Settings tab and drop the file onto the timeline.")
    assert note.index("get_timeline") < note.index("send_edit")


def test_timeline_summary_is_inserted_for_preview() -> None:
    """With a summary supplied, the preview note carries the summary itself."""
    out = translate("Preview it in the timeline.", timeline_summary=SUMMARY)
    assert out == f"Preview it in the timeline. {NOTE_OPEN}the current timeline is: {SUMMARY}{NOTE_CLOSE}"


def test_summary_is_not_used_for_other_rules() -> None:
    """Only preview notes carry the summary."""
    out = translate("Open the Audio panel.", timeline_summary=SUMMARY)
    assert SUMMARY not in out
    assert "get_timeline" in out


def test_summary_cannot_close_the_note() -> None:
    """A summary containing the note's brackets cannot break idempotence."""
    odd = "Timeline (1 track): 1. Text: ⟦x⟧ (0-1s)"
    once = translate("预览一下。", timeline_summary=odd)
    assert translate(once, timeline_summary=odd) == once


@pytest.mark.parametrize(
    "text",
    [
        "This is an open question.",
        "Open source tools were used.",
        "The file is open in another app.",
        "Open the file you sent and check it.",
        "Keep the options open for now.",
        "I highlighted the clicks in your recording.",
        "With a click of a button you could do that elsewhere.",
        "The mouse click sounds were removed.",
        "One-click export is not available.",
        "Here is a preview of the chapters.",
        "I dropped the silent parts.",
        "Export as MP4 for widest compatibility.",
        "I exported the highlights to the timeline as chapters.",
        "It was a drag to render.",
        "视频已导出。",
        "导出成功。",
        "这个问题还没有定论。",
        "",
    ],
)
def test_false_positives_are_left_alone(text: str) -> None:
    """Ordinary prose that merely contains a GUI word is returned unchanged."""
    assert gui_hints(text) == []
    assert translate(text) == text


# --------------------------------------------------------------------------- temporary issue


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Your video is ready. I encountered a temporary issue.", "Your video is ready."),
        (
            "Added captions.\nI encountered a temporary issue while saving. Please try again.",
            "Added captions.",
        ),
        ("Trimmed. Sorry, I've encountered a temporary problem.", "Trimmed."),
        ("已添加字幕。抱歉，我遇到了临时问题。请稍后重试。", "已添加字幕。"),
    ],
)
def test_trailing_temporary_issue_is_dropped(text: str, kept: str) -> None:
    """A trailing temporary-issue sentence after normal text is dropped."""
    assert translate(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "I encountered a temporary issue.",
        "I encountered a temporary issue. Please try again.",
        "我遇到了临时问题。",
        "I encountered a temporary issue. The trim was applied anyway.",
        "Done. I encountered a temporary issue, but the trim was applied.",
    ],
)
def test_temporary_issue_is_kept_when_it_carries_the_reply(text: str) -> None:
    """The sentence stays when it is the whole reply, is not trailing, or adds news."""
    assert translate(text) == text


def test_retry_before_the_issue_is_kept() -> None:
    """Only the trailing block from the temporary-issue sentence on is dropped."""
    assert translate("Done. Please try again. I encountered a temporary issue.") == "Done. Please try again."


# --------------------------------------------------------------------------- idempotence


@pytest.mark.parametrize(
    "text",
    [
        "Click the Export button. Then open the Audio panel. Drag it. Preview it in the timeline.",
        "点击导出。打开时间线面板。拖拽片段。在时间线中预览。",
        "Your video is ready. Click Export. I encountered a temporary issue.",
        "I encountered a temporary issue.",
        "No GUI words at all.",
        "1. Click **Export**\n2. 预览\n",
    ],
)
@pytest.mark.parametrize("summary", [None, SUMMARY])
def test_translating_twice_equals_once(text: str, summary: str | None) -> None:
    """translate(translate(x)) == translate(x)."""
    once = translate(text, timeline_summary=summary)
    assert translate(once, timeline_summary=summary) == once


def test_hints_ignore_earlier_notes() -> None:
    """Hints of translated text are the hints of the original."""
    text = "Click Upload. Then 点击导出。"
    assert gui_hints(translate(text, timeline_summary=SUMMARY)) == gui_hints(text)


_FRAGMENTS = [
    "Click the Export button",
    "open the Audio panel",
    "an open question",
    "drag the clip",
    "preview it in the timeline",
    "点击导出",
    "打开时间线面板",
    "拖拽",
    "预览",
    "I encountered a temporary issue",
    "Please try again",
    "done",
    ". ",
    "。",
    "\n",
    " ",
    "!",
    "⟦",
    "⟧",
]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(_FRAGMENTS), max_size=12), summary=st.none() | st.just(SUMMARY))
def test_idempotent_on_mixed_text(parts: list[str], summary: str | None) -> None:
    """Any mix of GUI phrases, prose and punctuation translates idempotently."""
    once = translate("".join(parts), timeline_summary=summary)
    assert translate(once, timeline_summary=summary) == once
