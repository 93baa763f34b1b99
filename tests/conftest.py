"""Shared fixtures: the browser harness, paths to the test data and the seed photos."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.reference import original_im2txt as oi

REPO = Path(__file__).resolve().parent.parent
# The original demo's photos from ../shared when it is there, else the project's sample photos.
SEED_IMAGES = oi.seed_image_dir()
# KranthiGV's COCO vocabulary and 2M checkpoint index, committed under tests/data/coco (MIT).
COCO_VOCAB = oi.real_vocab_path()
COCO_INDEX_PREFIX = oi.real_checkpoint_prefix()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def chromium_available() -> None:
    from browser import CHROMIUM

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
