"""Which Whisper model speech recognition uses, where it lives, and fetching it on first use.

``NEMO_ASR_MODEL`` names a model (``tiny``, ``base.en``, …) or gives the path of a folder
holding a CTranslate2 conversion of one. A named model lives in the per-user cache under
``models/<name>``; it is fetched from the Hugging Face Hub the first time it is needed (or ahead
of time by ``nemo-mcp models pull``), into a temporary folder renamed into place at the end, so
an interrupted download never leaves a half model that looks complete.

Nothing here imports faster-whisper; the hub client is imported only to download.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs

from nemo_mcp.config import DEFAULT_ASR_MODEL, asr_model_setting
from nemo_mcp.engine.media.errors import MediaError

__all__ = [
    "MODEL_REPOS",
    "ModelChoice",
    "Progress",
    "choose_model",
    "ensure_model",
    "language_code",
    "missing_model_message",
    "model_cache_dir",
    "pull_model",
]

# (what, done, total): "download" in bytes, "transcribe" in seconds of sound.
Progress = Callable[[str, float, float], None]

# The CTranslate2 conversions faster-whisper itself downloads, by the names Whisper gives its sizes.
MODEL_REPOS: Final[dict[str, str]] = {
    "tiny": "Systran/faster-whisper-tiny",
    "tiny.en": "Systran/faster-whisper-tiny.en",
    "base": "Systran/faster-whisper-base",
    "base.en": "Systran/faster-whisper-base.en",
    "small": "Systran/faster-whisper-small",
    "small.en": "Systran/faster-whisper-small.en",
    "medium": "Systran/faster-whisper-medium",
    "medium.en": "Systran/faster-whisper-medium.en",
    "large-v3": "Systran/faster-whisper-large-v3",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
}
_MODEL_FILES: Final = [
    "config.json",
    "preprocessor_config.json",
    "model.bin",
    "tokenizer.json",
    "vocabulary.*",
]
_ENGLISH_ONLY_SUFFIX: Final = ".en"


@dataclass(frozen=True)
class ModelChoice:
    """The model recognition will use: its name, its folder, and whether that folder is complete."""

    name: str
    path: Path
    named: bool  # False when the setting gave a folder

    @property
    def present(self) -> bool:
        return (self.path / "model.bin").is_file()

    @property
    def english_only(self) -> bool:
        return self.named and self.name.endswith(_ENGLISH_ONLY_SUFFIX)


def model_cache_dir() -> Path:
    """The per-user folder named models are kept in."""
    return Path(platformdirs.user_cache_dir("nemo-mcp", appauthor=False)) / "models"


def language_code(language: str | None) -> str | None:
    """A project's language as Whisper names it (``zh-CN`` → ``zh``); None for automatic detection."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return None if code in ("", "auto", "detect") else code


def choose_model(spec: str | None = None, language: str | None = None) -> ModelChoice:
    """The model for ``spec`` (the setting when None) and a project in ``language``.

    The default multilingual name becomes its English-only sibling for English projects: at the
    same size and speed the ``.en`` models recognise English better.
    """
    spec = (spec or asr_model_setting()).strip()
    lang = language_code(language)
    looks_like_path = os.sep in spec or spec.startswith((".", "~")) or Path(spec).expanduser().is_dir()
    if looks_like_path:
        folder = Path(spec).expanduser()
        choice = ModelChoice(folder.name, folder, named=False)
        if not choice.present:
            raise MediaError(
                f"NEMO_ASR_MODEL points to {folder}, which holds no CTranslate2 Whisper model (no model.bin). "
                f"Give a model folder, or a name such as {DEFAULT_ASR_MODEL}."
            )
        return choice
    name = spec.lower()
    if name not in MODEL_REPOS:
        raise MediaError(
            f"NEMO_ASR_MODEL={spec!r} is not a Whisper model name: use one of {', '.join(MODEL_REPOS)} "
            "or the path of a CTranslate2 model folder."
        )
    if spec == DEFAULT_ASR_MODEL and lang == "en" and f"{name}{_ENGLISH_ONLY_SUFFIX}" in MODEL_REPOS:
        name += _ENGLISH_ONLY_SUFFIX
    if name.endswith(_ENGLISH_ONLY_SUFFIX) and lang not in (None, "en"):
        raise MediaError(
            f"The speech model {name} understands English only, and this project's language is {lang}: "
            f"set NEMO_ASR_MODEL={name.removesuffix(_ENGLISH_ONLY_SUFFIX)} (multilingual)."
        )
    return ModelChoice(name, model_cache_dir() / name, named=True)


def _byte_progress(on_progress: Progress | None) -> type[Any]:
    """A tqdm class the hub's downloader reports bytes through, relayed to ``on_progress``."""
    from tqdm.auto import tqdm

    lock = threading.Lock()
    totals = {"done": 0.0, "total": 0.0}

    class Relay(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._bytes = kwargs.get("unit") == "B"
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if self._bytes and on_progress is not None and n:
                with lock:
                    totals["done"] += float(n)
                    totals["total"] = max(totals["total"], float(self.total or 0), totals["done"])
                    on_progress("download", totals["done"], totals["total"])
            return None

    return Relay


def pull_model(choice: ModelChoice, on_progress: Progress | None = None) -> Path:
    """Download the named model ``choice`` into the cache (blocking); returns its folder."""
    if choice.present:
        return choice.path
    if not choice.named:
        raise MediaError(
            f"{choice.path} holds no model, and a folder cannot be downloaded: fix NEMO_ASR_MODEL."
        )
    from huggingface_hub import snapshot_download

    choice.path.parent.mkdir(parents=True, exist_ok=True)
    partial = choice.path.with_name(choice.path.name + ".part")
    try:
        snapshot_download(
            MODEL_REPOS[choice.name],
            local_dir=str(partial),
            allow_patterns=_MODEL_FILES,
            tqdm_class=_byte_progress(on_progress),
        )
        shutil.rmtree(partial / ".cache", ignore_errors=True)
        if not (partial / "model.bin").is_file():
            raise OSError("the download holds no model.bin")
        os.replace(partial, choice.path)
    except Exception as exc:  # the hub raises many kinds (offline, HTTP, disk); all get the same advice
        shutil.rmtree(partial, ignore_errors=True)
        raise MediaError(missing_model_message(choice, reason=type(exc).__name__)) from exc
    return choice.path


def missing_model_message(choice: ModelChoice, *, reason: str = "") -> str:
    """What to do when the model is absent and could not be fetched: both fixes, named."""
    why = f" ({reason})" if reason else ""
    return (
        f"Speech recognition needs the Whisper model {choice.name}, which is not on this computer and could "
        f"not be downloaded{why}. Run `nemo-mcp models pull {choice.name}` while online, or upload an .srt "
        'or .vtt subtitle file with the video and say "add captions".'
    )


def ensure_model(choice: ModelChoice, on_progress: Progress | None = None) -> Path:
    """The folder of ``choice``, downloading a named model first if needed (blocking)."""
    return choice.path if choice.present else pull_model(choice, on_progress)
