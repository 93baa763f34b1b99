"""Shared fixtures: the browser harness, paths to the shared reference material."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("IM2TXT_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "reference"
SEED_IMAGES = REFERENCE / "seed-images"
COCO_VOCAB = REFERENCE / "coco-vocab" / "word_counts.txt"
COCO_INDEX_PREFIX = REFERENCE / "coco-vocab" / "model.ckpt-2000000"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"the shared reference material is missing: {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def chromium_available() -> None:
    from browser import CHROMIUM

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
