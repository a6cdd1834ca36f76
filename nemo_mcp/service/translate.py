"""GUI translation: the backend's replies rewritten for an assistant that has tools, not a GUI.

The backend writes as if the user sat in front of its web editor ("click the Export
button", "打开时间线面板", "drag the clip"). The assistant using this server has only the
MCP tools, so each sentence that asks for a GUI action gets a note appended in place
telling the assistant which tool does it::

    Click the Export button to download. ⟦no GUI here: call export_video to render …⟧

Rules (one table, :data:`RULES`, in priority order; patterns are case-insensitive; the
Chinese ones need no word boundaries):

- "click [button]" / "点击…" → the action is done through the API: the tool that does it
  (Export/导出 → ``export_video``, Upload/上传 → ``upload_media``, credits/积分/余额 →
  ``check_credits``, New project/新建项目 → ``new_project``, project list/项目列表 →
  ``list_projects``); any other button → ask for the action with ``send_edit``;
- "open [panel]" / "打开…面板" → ``get_timeline`` to see the current state;
- "drag/drop" / "拖拽/拖动" → send the change as a new instruction with ``send_edit``;
- "preview in timeline" / "在时间线中预览" / "预览" → the track summary: ``get_timeline``, or
  the summary itself when the caller supplies one;
- "Export button" / "导出" → the export workflow (``export_video``).

A rule fires only on a GUI-ish phrase: "open" needs an object such as panel/tab/menu or a
known panel name, so "an open question" is left alone. Matches that overlap a match of an
earlier rule are dropped, and one sentence gets one note naming each tool once.

A trailing "I encountered a temporary issue…" (plus any "please try again") after an
otherwise normal reply is dropped (vendor guidance: it can be ignored); when it is the
whole reply it stays. Notes from an earlier pass are removed before translating, so
``translate(translate(x)) == translate(x)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["RULES", "TOOLS", "Hint", "Rule", "gui_hints", "translate"]

TOOLS: Final = (
    "upload_media",
    "send_edit",
    "get_timeline",
    "check_credits",
    "export_video",
    "new_project",
    "list_projects",
)

NOTE_OPEN: Final = "⟦no GUI here: "
NOTE_CLOSE: Final = "⟧"


@dataclass(frozen=True, slots=True)
class Hint:
    """A GUI phrase found in the backend's text and what to do instead."""

    phrase: str
    tool: str
    reason: str
    advice: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the translation table: patterns (EN and ZH) → tool and advice."""

    name: str
    tool: str
    reason: str
    advice: str
    pattern: re.Pattern[str]


# --------------------------------------------------------------------------- pattern pieces

# Quote or emphasis marks around a button label: "Export", 'Export', **Export**, 「导出」, [Export].
_Q = r"[\"'“”‘’「」『』【】\[\]*`]*"
# Up to three label words before the GUI object ("the blue Export button", "the Audio panel"),
# never a function word, so "open for the timeline" or "click Apply to export" do not chain.
_STOP = r"(?:to|and|then|or|for|in|on|of|with|at|from|into|onto|by|a|an|the|this|that|it|is|your|you)\b"
_WORDS = rf"(?:(?!{_STOP}){_Q}[\w-]+{_Q}\s+){{0,3}}"
# A click-like verb used as a verb: "click", "double-click", not "a click" or "one-click".
_NOT_NOUN = r"(?<![\w-])(?<!\ba\s)(?<!\bone\s)(?<!\bthe\s)(?<!\beach\s)(?<!\bmouse\s)(?<!\bsingle\s)"
_CLICK = rf"(?:\b(?:double|right)-|{_NOT_NOUN})click\b"
_VERB = rf"(?:{_CLICK}|\b(?:tap|press|hit|select|choose|use))(?:\s+on)?\s+(?:the\s+|your\s+)?{_WORDS}{_Q}"
_BUTTON = r"(?:\s+(?:button|icon|option|link|tab|menu(?:\s+item)?))?"
_PANEL = (
    r"(?:panel|tab|menu|window|pane|sidebar|inspector|drawer|dialog|toolbar|settings|library|"
    r"editor|timeline|preview|player|properties|track\s+list|layers)"
)
_ZH_CLICK = r"(?:点击|单击|双击|点按|按下|点|按|选择|使用)\s*" + _Q
_ZH_PANEL = (
    r"(?:面板|窗口|菜单|标签页?|选项卡|时间线|时间轴|设置|素材库|媒体库|属性|编辑器|侧边栏|轨道|图层|预览)"
)


def _rule(name: str, tool: str, reason: str, advice: str, patterns: Sequence[str]) -> Rule:
    pattern = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE | re.MULTILINE)
    return Rule(name, tool, reason, advice, pattern)


_UPLOAD_ADVICE: Final = "call upload_media with a local file path or a URL"

RULES: Final[tuple[Rule, ...]] = (
    _rule(
        "export",
        "export_video",
        "there is no Export button here; exporting runs through the API",
        "call export_video to render the video and get its download link",
        [
            rf"{_VERB}(?:export|download|render)\b(?:\s+(?:video|mp4))?{_Q}{_BUTTON}",
            r"\bclick\s+(?:here|the\s+link|this\s+link|the\s+button)\s+to\s+(?:download|export)\b",
            rf"\b{_Q}(?:export|download){_Q}\s+(?:button|icon|option|menu|tab|panel|dialog|window)\b",
            rf"{_ZH_CLICK}(?:导出|下载|渲染)(?:按钮|按键|键|图标)?",
            r"(?:导出|下载)(?:按钮|按键|键|图标|选项)",
            r"(?<!已)(?<!已经)导出(?!成功|完成|失败|中|了)",
        ],
    ),
    _rule(
        "upload",
        "upload_media",
        "there is no upload button here; files go through the API",
        _UPLOAD_ADVICE,
        [
            rf"{_VERB}(?:upload|import|add\s+(?:media|files?|videos?|clips?))\b{_Q}{_BUTTON}",
            rf"\b{_Q}(?:upload|import){_Q}\s+(?:button|icon|area|zone|panel|dialog|page)\b",
            (
                r"\bdrag\b[^.!?\n]{0,40}?\b(?:files?|videos?|clips?|media|footage)\b[^.!?\n]{0,30}?"
                r"\b(?:here|upload\s+(?:area|zone|box))\b"
            ),
            rf"{_ZH_CLICK}(?:上传|导入|添加素材|添加文件|添加视频)",
            r"(?:上传|导入)(?:按钮|按键|图标|区域|区|窗口|页面)",
            r"拖(?:拽|动|放)?(?:文件|视频|素材)(?:到|至)(?:此处|这里|上传区)",
        ],
    ),
    _rule(
        "credits",
        "check_credits",
        "there is no credits page here; the balance is read through the API",
        "call check_credits to see the balance",
        [
            (
                r"\b(?:click|open|check|view|see|visit|go\s+to|top\s+up)\s+(?:on\s+)?(?:the\s+|your\s+)?"
                rf"(?:remaining\s+|available\s+|account\s+|credit\s+)?{_Q}(?:credits?|balance|billing)\b{_Q}"
                r"(?:\s+(?:page|panel|tab|button|menu|section|screen))?"
            ),
            r"\b(?:credits?|balance|billing)\s+(?:page|panel|tab|button|menu|section|screen)\b",
            r"(?:点击|打开|查看|进入|前往|充值)\s*[^。！？，,\n]{0,4}?(?:积分|余额)",
            r"(?:积分|余额)(?:页面|面板|按钮|页|中心|栏)",
        ],
    ),
    _rule(
        "new_project",
        "new_project",
        "there is no New Project button here",
        "call new_project to start a fresh project",
        [
            rf"{_VERB}(?:new|create)\s+project\b{_Q}{_BUTTON}",
            r"\bnew\s+project\s+(?:button|icon|option|menu)\b",
            rf"{_ZH_CLICK}(?:新建项目|新项目|创建项目)",
            r"(?:新建|创建新?)项目",
        ],
    ),
    _rule(
        "projects",
        "list_projects",
        "there is no project list page here",
        "call list_projects to see the projects",
        [
            (
                r"\b(?:open|go\s+to|click|visit|check)\s+(?:on\s+)?(?:the\s+|your\s+)?(?:my\s+)?"
                rf"{_Q}projects?{_Q}\s+(?:list|page|panel|tab|menu|library|dashboard)\b"
            ),
            rf"{_VERB}my\s+projects\b{_Q}{_BUTTON}",
            r"(?:我的)?项目(?:列表|面板|页面|库)",
        ],
    ),
    _rule(
        "preview",
        "get_timeline",
        "there is no preview player here; the timeline is described in text",
        "call get_timeline for a text summary of the tracks",
        [
            (
                r"\bpreview\s+(?:it\s+|this\s+|them\s+|the\s+\w+\s+|your\s+\w+\s+)?in\s+(?:the\s+)?"
                r"(?:timeline|preview(?:\s+window)?|player|editor)\b"
            ),
            rf"(?:{_CLICK}|\b(?:press|hit|tap))(?:\s+on)?\s+(?:the\s+)?{_Q}(?:preview|play)\b{_Q}{_BUTTON}",
            r"\bpreview\s+(?:window|panel|pane|player|button|area)\b",
            r"(?:\b(?:can|to|please|then|now|and)\s+|^[\s\-*•>]*)preview\s+(?:it|this|that|the|your)\b",
            r"(?:在)?时间[线轴](?:中|上|里)?预览",
            rf"(?:点击|单击|点)\s*{_Q}播放",
            r"预览(?!版)",
        ],
    ),
    _rule(
        "open",
        "get_timeline",
        "there are no panels here; the state is read through the API",
        "call get_timeline to see the current state",
        [
            (
                r"(?<!\ban\s)(?<!\bis\s)(?<!\bare\s)(?<!\bwas\s)(?<!\bstays\s)(?<!\bremains\s)"
                rf"\bopen\s+(?:up\s+)?(?:the\s+|your\s+)?{_WORDS}{_Q}{_PANEL}\b"
            ),
            (
                r"\b(?:go|switch|navigate|head)\s+(?:over\s+|back\s+)?to\s+(?:the\s+|your\s+)?"
                rf"{_WORDS}{_Q}{_PANEL}\b"
            ),
            rf"打开\s*[^。！？，,\n]{{0,8}}?{_ZH_PANEL}(?:面板|窗口|页面)?",
            r"(?:切换|进入|前往)(?:到|至)?\s*[^。！？，,\n]{0,8}?(?:面板|标签页?|选项卡|菜单)",
        ],
    ),
    _rule(
        "drag",
        "send_edit",
        "nothing can be dragged here; edits are sent as instructions",
        "send the change as a new instruction with send_edit",
        [
            r"(?<![\w-])(?<!\ba\s)drag(?:ged|ging|s)?\b(?:[\s-]*(?:and|&|n)[\s-]*drop)?",
            (
                r"\bdrop(?:ping)?\b[^.!?\n]{0,40}?\b(?:on|onto|into|in)\s+(?:the\s+)?"
                r"(?:timeline|track|canvas|area|zone|window|player|panel)\b"
            ),
            r"拖(?:拽|动|放|入|到|至|曳)",
        ],
    ),
    _rule(
        "click",
        "send_edit",
        "there are no buttons here; the backend performs actions on request",
        "ask for that action with send_edit",
        [
            rf"{_CLICK}(?:\s+on)?(?:\s+(?:the\s+)?{_Q}[\w-]+{_Q}(?:\s+(?:button|icon|tab|link|menu|option))?)?",
            r"\b(?:press|tap|hit)\s+(?:the\s+)?" + _Q + r"[\w -]{1,30}?" + _Q + r"\s+(?:button|icon|key)\b",
            r"(?:点击|单击|双击|点按)",
        ],
    ),
)


# --------------------------------------------------------------------------- sentences


# A sentence: up to a terminator (and any closing quote), a line end, or the end of the text.
_SENTENCE: Final = re.compile(
    r"\S[^\r\n]*?(?:[.!?…]+[\"'”’)\]」』）]*(?=\s|\Z)|[。！？；]+[\"'”’)\]」』）]*|(?=[\r\n])|\Z)"
)
_NOTE: Final = re.compile(" ?" + re.escape(NOTE_OPEN) + "[^" + NOTE_CLOSE + "]*" + NOTE_CLOSE)
_TEMPORARY: Final = re.compile(
    r"\bencountered\s+(?:a\s+|some\s+)?temporary\s+(?:issue|problem|error|glitch)"
    r"|遇到(?:了)?(?:一个|一些|点)?(?:临时|暂时)(?:性)?(?:的)?(?:问题|错误|故障)",
    re.IGNORECASE,
)
# "…a temporary issue, but the trim was applied" carries news: keep it.
_BUT: Final = re.compile(r"\b(?:but|however|though|although)\b|但|不过", re.IGNORECASE)
_RETRY: Final = re.compile(
    r"^(?:please\s+)?(?:try\s+again|retry)\b|^请?(?:稍后)?(?:再试|重试)", re.IGNORECASE
)


def _sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    for match in _SENTENCE.finditer(text):
        yield match.span()


def _strip_notes(text: str) -> str:
    """The text without the notes an earlier :func:`translate` added."""
    return _NOTE.sub("", text)


def _drop_trailing_temporary(text: str) -> str:
    """Drop the trailing "temporary issue" sentences, unless they are the whole reply."""
    spans = list(_sentence_spans(text))
    cut: int | None = None
    for index in range(len(spans) - 1, -1, -1):
        sentence = text[slice(*spans[index])]
        if _TEMPORARY.search(sentence) and not _BUT.search(sentence):
            cut = index
        elif not _RETRY.search(sentence):
            break
    if not cut:  # nothing to drop (None), or the temporary issue is all there is (0)
        return text
    return text[: spans[cut][0]].rstrip()


# --------------------------------------------------------------------------- matching


def _matches(sentence: str) -> list[tuple[int, int, Rule]]:
    """Rule matches in one sentence, earlier rules winning overlaps, in table order."""
    taken: list[tuple[int, int, Rule]] = []
    for rule in RULES:
        for match in rule.pattern.finditer(sentence):
            start, end = match.span()
            if end > start and not any(start < e and s < end for s, e, _ in taken):
                taken.append((start, end, rule))
    return taken


def _hint(sentence: str, start: int, end: int, rule: Rule) -> Hint:
    return Hint(sentence[start:end].strip(), rule.tool, rule.reason, rule.advice)


def gui_hints(text: str) -> list[Hint]:
    """Every GUI phrase in ``text`` with the tool to call instead, in text order."""
    clean = _strip_notes(text)
    hints: list[Hint] = []
    for first, last in _sentence_spans(clean):
        sentence = clean[first:last]
        found = sorted(_matches(sentence), key=lambda item: item[0])
        hints += [_hint(sentence, start, end, rule) for start, end, rule in found]
    return hints


def _advice(rule: Rule, timeline_summary: str | None) -> str:
    if rule.name == "preview" and timeline_summary:
        summary = timeline_summary.replace("⟦", "[").replace(NOTE_CLOSE, "]")
        return f"the current timeline is: {summary.strip()}"
    return rule.advice


def _note(sentence: str, timeline_summary: str | None) -> str:
    """The note for one sentence ("" when it has no GUI phrase): each tool once."""
    chosen: dict[str, tuple[int, Rule]] = {}
    for start, _end, rule in _matches(sentence):  # table order: the best rule per tool first
        chosen.setdefault(rule.tool, (start, rule))
    if not chosen:
        return ""
    ordered = sorted(chosen.values(), key=lambda item: item[0])
    advice = "; ".join(_advice(rule, timeline_summary) for _start, rule in ordered)
    return f" {NOTE_OPEN}{advice}{NOTE_CLOSE}"


def translate(text: str, *, timeline_summary: str | None = None) -> str:
    """``text`` with a tool note after each GUI sentence; the rest is kept as it was."""
    clean = _drop_trailing_temporary(_strip_notes(text))
    pieces: list[str] = []
    done = 0
    for first, last in _sentence_spans(clean):
        sentence = clean[first:last]
        pieces += [clean[done:first], sentence, _note(sentence, timeline_summary)]
        done = last
    pieces.append(clean[done:])
    return "".join(pieces)
