"""Reading models: nothing left open after loading, an unreadable state file is not fatal."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from fixtures.tiny_model import write_tiny_bundle
from im2txt import load_captioner
from im2txt.storage import checkpoint, discovery


def open_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def test_loading_a_bundle_leaves_its_weights_file_closed(tmp_path):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs Linux's /proc")
    folder = write_tiny_bundle(tmp_path / "tiny")
    captioner = load_captioner(folder)
    assert captioner.info.vocab_size == 9
    assert str(folder / "weights.npz") not in open_files()


def test_an_unreadable_checkpoint_state_file_is_not_fatal(tmp_path, monkeypatch):
    """The `checkpoint` file is read on every page (the sidebar finds the model); a permission
    error there broke every page."""
    folder = tmp_path / "coco"
    folder.mkdir()
    for name in ("model.ckpt-1.index", "model.ckpt-1.data-00000-of-00001", "word_counts.txt"):
        (folder / name).write_bytes(b"")
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1"\n')
    real = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "checkpoint":
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    assert checkpoint.chosen_checkpoint(folder, [folder / "model.ckpt-1"]) is None
    found = discovery.inspect_folder(folder)
    assert found is not None and found.path == folder / "model.ckpt-1"
