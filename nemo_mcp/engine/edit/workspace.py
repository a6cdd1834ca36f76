"""The executor's workbench: the session's state and the shared steps its handlers build on.

Handlers (one per operation kind, in ``cuts``, ``sections``, ``texts`` and ``finishing``) read and change
``ws.state.draft`` through these helpers: what is on the spine, the refusals when there is
nothing to work on, the slow facts laid onto the timeline, and :meth:`Workspace.refresh`,
which re-derives everything that follows the spine after an edit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from nemo_mcp.draft import ops
from nemo_mcp.draft.ops import Interval, TimedText
from nemo_mcp.engine.edit.state import Analyzer, EditRefused, EditState, MediaRef

__all__ = ["CHAPTER_TITLE_MS", "Outcome", "Workspace"]

CHAPTER_TITLE_MS: Final = 3000

# What a handler returns: the sentence for the reply, and extra fields for the functionResponse.
Outcome = tuple[str, dict[str, Any]]


class Workspace:
    """A session's edit state and the analyzer of its media, with the steps handlers share."""

    def __init__(self, state: EditState, analyzer: Analyzer) -> None:
        self.state = state
        self.analyzer = analyzer
        #: Why speech recognition failed in this instruction: later steps neither retry it nor
        #: repeat the whole reason in the reply.
        self.speech_failure: str | None = None

    def speech_unavailable(self, exc: Exception) -> str:
        """The reason to put in the reply: in full the first time, a pointer back after that."""
        if self.speech_failure is None:
            self.speech_failure = str(exc)
            return self.speech_failure
        return "see above"

    @property
    def draft(self) -> dict[str, Any]:
        return self.state.draft

    def total(self) -> int:
        return ops.timeline_ms(self.draft)

    def spine_media(self) -> list[MediaRef]:
        seen: dict[str, MediaRef] = {}
        for piece in ops.pieces(self.draft):
            if piece.src and piece.src in self.state.media and piece.src not in seen:
                seen[piece.src] = self.state.media[piece.src]
        return list(seen.values())

    def require_timeline(self, what: str) -> int:
        total = self.total()
        if not ops.pieces(self.draft) or total <= 0:
            raise EditRefused(
                f"There is nothing on the timeline to {what} yet: upload a video (mp4, mov, webm …) first."
            )
        return total

    def require_videos(self, what: str, *, sound: bool = False) -> list[MediaRef]:
        self.require_timeline(what)
        media = self.spine_media()
        videos = [r for r in media if r.kind == "video"]
        if sound:
            videos = [r for r in videos if r.info.has_audio]
        if videos:
            return videos
        stills = [r.filename for r in media if r.kind == "image"]
        silent = [r.filename for r in media if r.kind == "video" and not r.info.has_audio]
        if sound and silent:
            raise EditRefused(
                f"To {what} I need a video with sound, and {', '.join(silent)} has no audio track."
            )
        if stills:
            raise EditRefused(
                f"To {what} I need a video{' with sound' if sound else ''}, but the timeline holds only "
                f"still images ({', '.join(stills)}). Upload a video, then ask again."
            )
        raise EditRefused(f"To {what} I need a video on the timeline: upload one first.")

    async def timeline_silences(self, *, noise_db: float, min_silence_ms: int) -> list[Interval]:
        by_src: dict[str, list[Interval]] = {}
        for ref in self.spine_media():
            if ref.kind in ("video", "audio") and ref.info.has_audio:
                by_src[ref.media_id] = await self.analyzer.silences(
                    ref, noise_db=noise_db, min_silence_ms=min_silence_ms
                )
        return ops.map_source_intervals(self.draft, by_src, min_ms=min_silence_ms)

    async def timeline_scenes(self) -> list[int]:
        by_src: dict[str, list[int]] = {}
        for ref in self.spine_media():
            if ref.kind == "video":
                by_src[ref.media_id] = await self.analyzer.scenes(ref)
        return ops.map_source_points(self.draft, by_src)

    def _source_changes(self) -> list[int]:
        spine = ops.pieces(self.draft)
        return [b.start for a, b in itertools.pairwise(spine) if a.src != b.src]

    async def candidates(self) -> list[tuple[int, float]]:
        """Good places to start a chapter or a segment, weighted."""
        # A change of clip or of slide is where the video's own structure breaks, and chapter
        # titles are read off the slide shown there: within the tolerance it beats any pause
        # (at most 1.2), or a lecture's chapters drift off its slides as the even split drifts.
        out: list[tuple[int, float]] = [(t, 2.5) for t in self._source_changes()]
        out += [(t, 2.0) for t in await self.timeline_scenes()]
        for a, b in await self.timeline_silences(noise_db=-35.0, min_silence_ms=600):
            # The middle of a pause; longer pauses are stronger breaks.
            out.append(((a + b) // 2, 0.6 + min(0.6, (b - a) / 5000)))
        return out

    def _timeline_cues(self) -> list[TimedText]:
        track = ops.find_track(self.draft, ops.TEXT, "caption")
        if track is not None:
            return [
                TimedText(
                    ops.as_int(s.get("s")),
                    ops.as_int(s.get("s")) + ops.as_int(s.get("d")),
                    str(ops.peek_meta(s).get("text", "")),
                )
                for s in ops.segments(track)
            ]
        return []

    async def title_cues(self) -> list[TimedText]:
        cues = self._timeline_cues()
        if cues:
            return cues
        by_src = await self.caption_sources(transcribe=False)
        return ops.timeline_cues(self.draft, by_src) if by_src else []

    def refresh(self) -> None:
        """Re-derive what follows the spine: duration, captions, music, the YouTube list."""
        captions = self.state.private.get("captions")
        if isinstance(captions, dict) and ops.find_track(self.draft, ops.TEXT, "caption") is not None:
            by_src = {k: [TimedText(int(a), int(b), str(t)) for a, b, t in v] for k, v in captions.items()}
            track = ops.find_track(self.draft, ops.TEXT, "caption")
            assert track is not None
            track["sg"] = ops.caption_segments(ops.timeline_cues(self.draft, by_src))
        ops.sync_bgm(self.draft)
        total = ops.update_duration(self.draft)
        chapters = ops.peek_meta(self.draft).get("chapters")
        if isinstance(chapters, list) and chapters:
            pairs = [
                (ops.as_int(c.get("s")), str(c.get("title", ""))) for c in chapters if isinstance(c, dict)
            ]
            result = ops.youtube_chapters(pairs, total)
            self.state.outputs["youtube_chapters"] = result.text
            self.state.outputs["youtube_chapter_problems"] = list(result.problems)
            shown = ops.find_track(self.draft, ops.TEXT, "chapter")
            if shown is not None:
                shown["sg"] = self._chapter_title_segments(pairs, total)
        elif "youtube_chapters" in self.state.outputs:
            self.state.outputs["youtube_chapters"] = None
            self.state.outputs["youtube_chapter_problems"] = []

    @staticmethod
    def _chapter_title_segments(pairs: Sequence[tuple[int, str]], total: int) -> list[dict[str, Any]]:
        ends = [*(p[0] for p in pairs[1:]), total]
        return [
            {"s": s, "d": min(CHAPTER_TITLE_MS, e - s), "m": {"text": title, "position": "top"}}
            for (s, title), e in zip(pairs, ends, strict=True)
            if e - s > 0
        ]

    # -- operations ---------------------------------------------------------------------
    # Each returns (sentence for the reply, extra fields for the functionResponse).

    def apply_keep(self, keep: Sequence[Interval]) -> int:
        before = self.total()
        ops.keep_ranges(self.draft, keep)
        self.refresh()
        return before - self.total()

    async def caption_sources(
        self, *, transcribe: bool, source: str | None = None
    ) -> dict[str, list[TimedText]]:
        videos = [r for r in self.spine_media() if r.kind == "video"]
        subs = [r for r in self.state.media.values() if r.kind == "subtitle"]
        if source:
            wanted = Path(source).name.lower()
            subs = [r for r in subs if r.filename.lower() == wanted]
            if not subs:
                raise EditRefused(f"There is no uploaded subtitle file called {Path(source).name}.")
        out: dict[str, list[TimedText]] = {}
        unpaired = list(subs)
        for video in videos:
            stem = Path(video.filename).stem.lower()
            match = next((s for s in unpaired if Path(s.filename).stem.lower() == stem), None)
            if match:
                unpaired.remove(match)
                out[video.media_id] = await self.analyzer.subtitles(match)
        for video in videos:
            if video.media_id not in out and unpaired:
                out[video.media_id] = await self.analyzer.subtitles(unpaired.pop(0))
        if transcribe and not out and self.analyzer.can_transcribe():
            for video in videos:
                if video.info.has_audio:
                    out[video.media_id] = await self.analyzer.transcribe(video)
        return out

    def project_title(self) -> str:
        if self.state.title and self.state.title.lower() not in ("project", "untitled", ""):
            return self.state.title
        media = self.spine_media()
        if media:
            return Path(media[0].filename).stem.replace("_", " ").replace("-", " ").strip().title()
        return "Untitled"
