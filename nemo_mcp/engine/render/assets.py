"""The files a render reads besides its media: subtitles, chapters, a font folder, a long graph.

:func:`plan_assets` decides their paths and contents without touching the disk, so the
filter graph and the command can name them; :func:`write_assets` writes them just before
ffmpeg runs. All text (titles, captions, chapter labels, the words on cards) goes into one
ASS file burned in by libass: it wraps long lines, needs no escaping beyond its own, and
costs the same for three captions or three thousand.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nemo_mcp.engine.render.plan import Plan, TextPosition

_FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "DejaVu Sans"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "Liberation Sans"),
    ("/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf", "Liberation Sans"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "Noto Sans"),
    ("/usr/share/fonts/noto/NotoSans-Regular.ttf", "Noto Sans"),
    ("/System/Library/Fonts/Supplemental/Arial.ttf", "Arial"),
    ("/Library/Fonts/Arial.ttf", "Arial"),
    ("/System/Library/Fonts/Helvetica.ttc", "Helvetica"),
    ("C:\\Windows\\Fonts\\arial.ttf", "Arial"),
    ("C:\\Windows\\Fonts\\segoeui.ttf", "Segoe UI"),
)

Font = tuple[Path, str]


@cache
def find_font() -> Font | None:
    """A sans-serif font file and its family name, from the usual places on each system."""
    for candidate, family in _FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path, family
    return None


@dataclass(frozen=True)
class AssetFile:
    """A file to put in place before ffmpeg runs: ``text`` written, or ``copy_of`` copied."""

    path: Path
    text: str | None = None
    copy_of: Path | None = None


@dataclass(frozen=True)
class Assets:
    """Where a render's side files go, and what goes into them."""

    files: tuple[AssetFile, ...] = ()
    subtitles: Path | None = None
    fonts_dir: Path | None = None
    chapters: Path | None = None
    captions: Path | None = None  # soft captions as SubRip, muxed as a subtitle track


# --------------------------------------------------------------------------- subtitles (ASS)


def _ass_time(ms: int) -> str:
    cs = max(0, round(ms / 10))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _ass_text(text: str) -> str:
    """User text as an ASS event: braces and backslashes lose their meaning, newlines stay."""
    # A word joiner after each backslash stops "\N" or "\b1" from being read as a command.
    text = text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")
    return "\\N".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


_ALIGNMENT: dict[TextPosition, int] = {"bottom": 2, "center": 5, "top": 8}
_STYLE_FORMAT = (
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
    "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
)


def _ass_styles(plan: Plan, family: str) -> list[str]:
    w, h = plan.width, plan.height
    margin_v, margin_h = round(h * 0.06), round(w * 0.05)
    size = round(min(w, h) * 0.05)
    pad = max(2, round(size * 0.25))
    # BorderStyle 3: an opaque box behind the text keeps it readable over any picture.
    styles = [
        f"Style: {position},{family},{size},&H00FFFFFF,&H00FFFFFF,&H80000000,&H80000000,"
        f"0,0,0,0,100,100,0,0,3,{pad},0,{alignment},{margin_h},{margin_h},{margin_v},1"
        for position, alignment in _ALIGNMENT.items()
    ]
    styles.append(
        f"Style: card,{family},{size},&H00FFFFFF,&H00FFFFFF,&H64000000,&H00000000,"
        f"1,0,0,0,100,100,0,0,1,{max(1, pad // 2)},0,5,{margin_h},{margin_h},{margin_v},1"
    )
    return styles


def ass_document(plan: Plan, family: str) -> str:
    """The plan's texts as one ASS subtitle document at the canvas's resolution."""
    events = []
    for text in sorted(plan.texts, key=lambda t: (t.layer, t.start_ms)):
        body = _ass_text(text.text) if not text.soft else ""
        if body:
            style = "card" if text.card else text.position
            events.append(
                f"Dialogue: {text.layer},{_ass_time(text.start_ms)},{_ass_time(text.end_ms)},{style},,0,0,0,,"
                f"{{\\fs{text.size}}}{body}"
            )
    head = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {plan.width}",
        f"PlayResY: {plan.height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: None",
    ]
    events_head = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"
    lines = [*head, "", "[V4+ Styles]", _STYLE_FORMAT, *_ass_styles(plan, family), ""]
    return "\n".join([*lines, "[Events]", events_head, *events, ""])


# --------------------------------------------------------------------------- soft captions (SubRip)


def _srt_time(ms: int) -> str:
    ms = max(0, ms)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def srt_document(plan: Plan) -> str:
    """The plan's soft captions as SubRip: the subtitle track's source and the sidecar next to the MP4."""
    cues = sorted((t for t in plan.texts if t.soft), key=lambda t: (t.start_ms, t.end_ms))
    blocks = []
    for number, cue in enumerate(cues, start=1):
        # A blank line would end the cue early: keep the caption's own line breaks, drop empty lines.
        body = "\n".join(line.strip() for line in cue.text.splitlines() if line.strip())
        blocks.append(f"{number}\n{_srt_time(cue.start_ms)} --> {_srt_time(cue.end_ms)}\n{body}\n")
    return "\n".join(blocks)


# --------------------------------------------------------------------------- chapters (ffmetadata)


def _metadata_value(text: str) -> str:
    # ffmetadata treats these as syntax unless escaped with a backslash.
    for ch in ("\\", "=", ";", "#", "\n"):
        text = text.replace(ch, "\\" + ch)
    return text


def chapters_document(plan: Plan) -> str:
    """The plan's chapters as an ``ffmetadata`` file, which players list as chapters."""
    lines = [";FFMETADATA1"]
    for chapter in plan.chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={chapter.start_ms}",
            f"END={chapter.end_ms}",
            f"title={_metadata_value(chapter.title)}",
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- deciding and writing


def plan_assets(plan: Plan, work_dir: Path, font: Font | None) -> Assets:
    """The side files ``plan`` needs inside ``work_dir``, decided without touching the disk."""
    files: list[AssetFile] = []
    subtitles = fonts_dir = chapters = captions = None
    if any(not text.soft for text in plan.texts):
        subtitles = work_dir / "text.ass"
        files.append(AssetFile(subtitles, ass_document(plan, font[1] if font is not None else "Sans")))
        if font is not None:
            # A folder holding only our font: libass loads every file in fontsdir.
            fonts_dir = work_dir / "fonts"
            files.append(AssetFile(fonts_dir / font[0].name, copy_of=font[0]))
    if plan.chapters:
        chapters = work_dir / "chapters.txt"
        files.append(AssetFile(chapters, chapters_document(plan)))
    if any(text.soft for text in plan.texts):
        captions = work_dir / "captions.srt"
        files.append(AssetFile(captions, srt_document(plan)))
    return Assets(tuple(files), subtitles, fonts_dir, chapters, captions)


def write_assets(files: tuple[AssetFile, ...]) -> None:
    """Put every file in place; a font already copied by an earlier render is kept."""
    for item in files:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        if item.text is not None:
            item.path.write_text(item.text, encoding="utf-8")
        elif item.copy_of is not None and not item.path.exists():
            shutil.copyfile(item.copy_of, item.path)
