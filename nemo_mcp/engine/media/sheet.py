"""A contact sheet: pictures in a grid with their times drawn on, as one JPEG of at most 1 MB.

An assistant reads one image of a dozen frames for about the tokens of one large frame, and a
course creator scans it at a glance; so each picture keeps a useful size (the grid is chosen to
make the cells as large as the sheet allows) and its time is written in a dark box in its corner,
large enough to read when the sheet is shown small. The JPEG is made smaller (quality first,
then size) until it fits the limit, so even noise-like footage gives an image a host accepts.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

#: Hosts refuse or shrink larger images; every sheet is at most this many bytes.
MAX_SHEET_BYTES = 1_000_000
#: The sheet fits in this box, and a single frame in the larger one: the long side is the most
#: assistants read without scaling the picture down (1568 px for Claude).
SHEET_BOX = (1568, 1200)
FRAME_BOX = (1568, 1568)
GAP = 6
_QUALITIES = (82, 72, 60, 48, 36)
_BACKGROUND = (24, 24, 24)


@dataclass(frozen=True)
class Cell:
    """Where one picture lies in the sheet, in pixels."""

    time_s: float
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Sheet:
    """The finished JPEG and where each picture is inside it."""

    jpeg: bytes
    width: int
    height: int
    cells: tuple[Cell, ...]
    quality: int


def grid(count: int, aspect: float, box: tuple[int, int] = SHEET_BOX) -> tuple[int, int, int, int]:
    """(columns, rows, cell width, cell height) giving the largest cells of shape ``aspect`` in ``box``."""
    best = (1, count, 2, 2)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        w = min((box[0] - GAP * (cols - 1)) / cols, (box[1] - GAP * (rows - 1)) / rows * aspect)
        cw, ch = int(w) // 2 * 2, int(w / aspect) // 2 * 2
        if cw * ch > best[2] * best[3]:
            best = (cols, rows, cw, ch)
    return best


def cell_box(count: int, width: int, height: int, *, single: bool = False) -> tuple[int, int]:
    """The largest size a picture of ``width`` x ``height`` takes in a sheet of ``count``."""
    aspect = width / max(1, height)
    if single:
        return FRAME_BOX
    _, _, cw, ch = grid(count, aspect)
    return cw, ch


def clock(seconds: float) -> str:
    """A time as a reader of a timeline writes it: 0:07.5, 12:03.0, 1:02:03.0."""
    tenths = round(max(0.0, seconds) * 10)
    s, t = divmod(tenths, 10)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}.{t}" if h else f"{m}:{s:02d}.{t}"


@cache
def _font(size: int) -> Any:
    from PIL import ImageFont

    from nemo_mcp.engine.render.assets import find_font

    found = find_font()
    if found is not None:
        try:
            return ImageFont.truetype(str(found[0]), size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def _label(image: Image, text: str) -> None:
    """``text`` in a dark box in the upper left corner (captions sit at the bottom), never tiny."""
    from PIL import ImageDraw

    size = max(14, min(40, round(min(image.width, image.height) * 0.09)))
    font = _font(size)
    draw = ImageDraw.Draw(image, "RGBA")
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(3, size // 4)
    x, y = 2 * pad, 2 * pad
    draw.rectangle((x - pad, y - pad, x + right - left + pad, y + bottom - top + pad), fill=(0, 0, 0, 190))
    draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255, 255))


def _encode(sheet: Image, quality: int) -> bytes:
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _fitted(canvas: Image, limit: int) -> tuple[bytes, Image, int]:
    """The canvas as a JPEG within ``limit`` bytes: lower quality first, then a smaller picture."""
    image = canvas
    while True:
        for quality in _QUALITIES:
            data = _encode(image, quality)
            if len(data) <= limit:
                return data, image, quality
        # Still too big at the lowest quality (noise): shrink by the square root of the excess.
        factor = max(0.5, min(0.9, math.sqrt(limit / len(data)) * 0.95))
        image = image.resize((max(16, round(image.width * factor)), max(16, round(image.height * factor))))


def make_sheet(
    pictures: Sequence[tuple[float, Image]], *, single: bool = False, limit: int = MAX_SHEET_BYTES
) -> Sheet:
    """A sheet of ``pictures`` ((time in seconds, picture) each, in reading order), at most ``limit`` bytes."""
    from PIL import Image as PILImage

    if not pictures:
        raise ValueError("a sheet needs at least one picture")
    first = pictures[0][1]
    if single or len(pictures) == 1:
        cols, rows, cw, ch = 1, 1, first.width, first.height
    else:
        cols, rows, cw, ch = grid(len(pictures), first.width / max(1, first.height))
    width, height = cols * cw + GAP * (cols - 1), rows * ch + GAP * (rows - 1)
    canvas = PILImage.new("RGB", (width, height), _BACKGROUND)
    cells = []
    for index, (time_s, picture) in enumerate(pictures):
        tile = picture.convert("RGB")
        if tile.size != (cw, ch):  # fitted inside the cell, centred, keeping its shape
            tile.thumbnail((cw, ch))
        _label(tile, clock(time_s))
        row, col = divmod(index, cols)
        x = col * (cw + GAP) + (cw - tile.width) // 2
        y = row * (ch + GAP) + (ch - tile.height) // 2
        canvas.paste(tile, (x, y))
        cells.append(Cell(round(time_s, 3), x, y, tile.width, tile.height))
    data, image, quality = _fitted(canvas, limit)
    if image is not canvas:  # shrunk to fit: the cells shrink with it
        f = image.width / canvas.width
        cells = [
            Cell(c.time_s, round(c.x * f), round(c.y * f), round(c.w * f), round(c.h * f)) for c in cells
        ]
    return Sheet(data, image.width, image.height, tuple(cells), quality)
