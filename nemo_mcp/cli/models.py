"""``nemo-mcp models``: which speech model is on this computer, and fetching one ahead of time.

``nemo-mcp models`` lists the model the settings choose and the ones in the cache;
``nemo-mcp models pull [NAME]`` downloads NAME (by default the one the settings choose) with a
progress bar, so the first "add captions" does not wait for it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from nemo_mcp.config import Settings

if TYPE_CHECKING:
    from nemo_mcp.cli.doctor import Check

USAGE = "usage: nemo-mcp models [list | pull [NAME]]   (NAME: tiny, base, small, … or their .en forms)"


def run_models(settings: Settings, words: Sequence[str], *, out: TextIO | None = None) -> int:
    """Run ``models`` with its words (``[]``, ``["list"]``, ``["pull"]`` or ``["pull", NAME]``)."""
    from nemo_mcp.engine.media import MediaError

    stream = out or sys.stdout
    action, *rest = [*words] or ["list"]
    try:
        if action == "list" and not rest:
            return _list(settings, stream)
        if action == "pull" and len(rest) <= 1:
            return _pull(settings, rest[0] if rest else None, stream)
    except MediaError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 1
    print(USAGE, file=sys.stderr)
    return 2


def _list(settings: Settings, stream: TextIO) -> int:
    from nemo_mcp.engine.media import MODEL_REPOS, choose_model, model_cache_dir

    choice = choose_model(settings.asr_model, settings.language)
    state = "present" if choice.present else "not downloaded yet (nemo-mcp models pull)"
    print(f"speech model for {settings.language} projects: {choice.name} — {state}", file=stream)
    folder = model_cache_dir()
    cached = sorted(n for n in MODEL_REPOS if (folder / n / "model.bin").is_file())
    print(f"in {folder}: {', '.join(cached) if cached else 'none'}", file=stream)
    return 0


def _pull(settings: Settings, name: str | None, stream: TextIO) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from nemo_mcp.engine.media import choose_model, pull_model

    choice = choose_model(name or settings.asr_model, settings.language if name is None else None)
    if choice.present:
        print(f"{choice.name} is already at {choice.path}", file=stream)
        return 0
    columns = (
        "{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"downloading {choice.name}", total=None)

        def show(what: str, done: float, total: float) -> None:
            bar.update(task, completed=done, total=total or None)

        path = pull_model(choice, show)
    print(f"{choice.name} is ready at {path}", file=stream)
    return 0


def check_speech_model(settings: Settings) -> Check:
    """For ``doctor``: which speech model the settings choose and whether it is on this computer."""
    from nemo_mcp.cli.doctor import Check
    from nemo_mcp.engine.media import MediaError, choose_model, transcription_available

    label = "speech model"
    if not transcription_available():
        return Check("warn", label, "faster-whisper is not installed", fix="pip install faster-whisper")
    try:
        choice = choose_model(settings.asr_model, settings.language)
    except MediaError as exc:
        return Check("fail", label, str(exc), fix="set NEMO_ASR_MODEL to a model name or folder")
    if choice.present:
        return Check("ok", label, f"{choice.name} at {choice.path}")
    # Not a fault: it is fetched on first use. Said here so an offline machine can fetch it now.
    return Check(
        "ok",
        label,
        f"{choice.name} not downloaded yet: fetched on first use, or now with `nemo-mcp models pull`",
    )
