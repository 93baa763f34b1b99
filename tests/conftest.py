"""Shared fixtures: the browser harness, paths to the test data and the seed photos."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fixtures.paths import COCO_INDEX_PREFIX, COCO_VOCAB, REPO, SEED_IMAGES

__all__ = ["COCO_INDEX_PREFIX", "COCO_VOCAB", "REPO", "SEED_IMAGES"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The app's work queue counts the process's resident size when it starts as the server's fixed
# memory. In this process that is hundreds of tests' models and caches, not one server's, so the
# pages' queue gets room to spare; admission itself is tested in tests/test_work_queue.py with the
# fixed part given, and bench/bench_visitors.py measures a real server against the default.
os.environ.setdefault("IM2TXT_MEMORY_BUDGET_MB", "100000")


@pytest.fixture(scope="session")
def chromium_available() -> None:
    from fixtures.browser import CHROMIUM

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory) -> dict[str, Path]:
    """Every kind of fixtures.hostile, written once per test run: name -> path."""
    from fixtures.hostile import write_corpus

    return write_corpus(tmp_path_factory.mktemp("hostile"))
