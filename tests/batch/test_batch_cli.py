"""`python -m im2txt batch` without Ray installed: help works, a run says how to install it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fixtures.paths import REPO

_WITHOUT_RAY = (
    "import sys; sys.modules['ray'] = None; from im2txt.cli import main; sys.exit(main())"
)


@pytest.mark.parametrize("argv", [["--help"], ["batch", "--help"]])
def test_help_works_without_ray(argv):
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_RAY, *argv], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "batch" in result.stdout


def test_batch_without_ray_says_how_to_install_it(tmp_path):
    out = tmp_path / "captions.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_RAY, "batch", "sample_images", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        "error: batch needs Ray Data: pip install -r requirements-cluster.txt "
        "(or pip install .[cluster])\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_starts_without_importing_ray_or_tensorflow():
    code = (
        "import sys, im2txt.batch, im2txt.cli; from im2txt.cli import build_parser; "
        "build_parser(); print('ray' in sys.modules, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
