"""How much of the host's context one read_footage page takes, for an hour of lecture.

A synthetic reading of a 60-minute lecture (a 14-word sentence every 4 s, a scene every 2
minutes with a heading and body text, a 3 s pause every 5 minutes) is shaped the way the tool
shapes it, laid onto a timeline with two cuts; the script prints the JSON size of the first
page with and without words, and how many pages the whole hour takes.

    python bench/footage_page.py
"""

from __future__ import annotations

import json
import time
from typing import Any

from nemo_mcp.service.footage import DEFAULT_SENTENCES, Window, shape

HOUR_MS = 3_600_000


def hour_reading() -> dict[str, Any]:
    sentences, words = [], []
    for i, start in enumerate(range(1000, HOUR_MS - 4000, 4000)):
        text = [f"word{(i * 14 + k) % 997}" for k in range(14)]
        sentences.append([start, start + 3500, " ".join(text) + "."])
        words += [[start + k * 250, start + k * 250 + 200, w] for k, w in enumerate(text)]
    scenes = [[t, f"Part {t // 120_000 + 1}: a slide heading", ["a bullet point", "another point"]]
              for t in range(0, HOUR_MS, 120_000)]  # fmt: skip
    silences = [[t, t + 3000] for t in range(300_000, HOUR_MS, 300_000)]
    return {"media_id": "m1", "filename": "lecture.mp4", "duration_ms": HOUR_MS, "sentences": sentences,
            "words": words, "scenes": scenes, "silences": silences, "missing": []}  # fmt: skip


def main() -> None:
    reading = hour_reading()
    draft = {"t": [{"tt": 0, "sg": [{"d": 1_200_000, "m": {"src": "m1", "in": 0}},
                                    {"d": 2_000_000, "m": {"src": "m1", "in": 1_500_000}}]}]}  # fmt: skip
    raw = {"media": [reading], "draft": draft}
    began = time.perf_counter()
    page = shape(raw, Window())
    took = time.perf_counter() - began
    with_words = shape(raw, Window(words=True))
    size = len(json.dumps(page.__dict__))
    size_words = len(json.dumps(with_words.__dict__))
    pages = -(-page.total // DEFAULT_SENTENCES)
    print(f"lecture hour: {len(reading['sentences'])} sentences, {len(reading['words'])} words")
    print(
        f"on the cut timeline: {page.total} sentences, {len(page.scenes)} scenes, {len(page.silences)} silences"
    )
    print(
        f"first page ({DEFAULT_SENTENCES} sentences): {size / 1024:.1f} KB; with words: {size_words / 1024:.1f} KB"
    )
    print(f"pages for the whole timeline: {pages}; shaping one page took {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
