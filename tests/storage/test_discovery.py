"""Finding models under model/: COCO checkpoints, bundles, the demo model, broken folders."""

from __future__ import annotations

import pytest

from fixtures.fake_models import fake_bundle, fake_checkpoint
from im2txt.errors import ModelError
from im2txt.storage import discovery, locations
from im2txt.storage.checkpoint import checkpoint_prefix


def test_nothing_found(tmp_path, monkeypatch):
    # A broken install: not even the shipped demo model is there.
    monkeypatch.setattr(locations, "SHIPPED_DEMO", tmp_path / "no-shipped-demo")
    assert discovery.find_models(tmp_path) == []
    assert discovery.find_models(tmp_path / "does-not-exist") == []
    with pytest.raises(ModelError, match=r"no model in .*: put an im2txt checkpoint .* in .*coco"):
        discovery.default_model(tmp_path)


def test_demo_only(tmp_path):
    fake_bundle(tmp_path / "demo")
    (found,) = discovery.find_models(tmp_path)
    assert (found.kind, found.format, found.usable) == ("demo", "bundle", True)
    assert found.label == "im2txt demo (generated shapes)"
    assert discovery.default_model(tmp_path).path == tmp_path / "demo"


def test_coco_checkpoint_is_preferred_over_the_demo(tmp_path):
    fake_bundle(tmp_path / "demo")
    prefix = fake_checkpoint(tmp_path / "coco")
    chosen = discovery.default_model(tmp_path)
    assert (chosen.path, chosen.format, chosen.kind) == (prefix, "checkpoint", "coco")
    assert chosen.label == "COCO checkpoint model.ckpt-2000000"
    assert [m.kind for m in discovery.find_models(tmp_path)] == ["coco", "demo"]


def test_old_demo_layout_checkpoint_directly_in_model(tmp_path):
    fake_bundle(tmp_path / "demo")
    prefix = fake_checkpoint(tmp_path, step=3000000)
    assert discovery.default_model(tmp_path).path == prefix


def test_highest_step_or_the_state_file_decides(tmp_path):
    folder = tmp_path / "coco"
    fake_checkpoint(folder, step=1000000)
    fake_checkpoint(folder, step=3000000)
    assert discovery.default_model(tmp_path).path.name == "model.ckpt-3000000"
    fake_checkpoint(folder, step=2000000, state="model.ckpt-2000000")
    assert discovery.default_model(tmp_path).path.name == "model.ckpt-2000000"
    # checkpoint_prefix() resolves a folder the same way, state file or not.
    assert checkpoint_prefix(folder).name == "model.ckpt-2000000"
    (folder / "checkpoint").unlink()
    assert checkpoint_prefix(folder).name == "model.ckpt-3000000"


def test_broken_coco_folder_is_reported_and_demo_used(tmp_path):
    fake_bundle(tmp_path / "demo")
    fake_checkpoint(tmp_path / "coco", vocab=False)
    found = discovery.find_models(tmp_path)
    assert found[0].problem and "word_counts.txt is missing" in found[0].problem
    assert discovery.default_model(tmp_path).kind == "demo"


def test_index_without_data_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(locations, "SHIPPED_DEMO", tmp_path / "no-shipped-demo")
    fake_checkpoint(tmp_path / "coco", data=False)
    (found,) = discovery.find_models(tmp_path)
    assert "has no .data-00000-of-00001" in found.problem
    with pytest.raises(ModelError, match=r"no usable model: .*has no \.data"):
        discovery.default_model(tmp_path)


def test_prefix_paths_users_actually_pass(tmp_path):
    prefix = fake_checkpoint(tmp_path / "coco")
    for given in (
        prefix,
        f"{prefix}.index",
        f"{prefix}.data-00000-of-00001",
        f"{prefix}.meta",
        tmp_path / "coco",
    ):
        assert checkpoint_prefix(given) == prefix
    with pytest.raises(ModelError, match=r"no checkpoint in this folder \(found notes.txt\)"):
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "notes.txt").write_text("hi")
        checkpoint_prefix(tmp_path / "empty")
    with pytest.raises(ModelError, match="no such file or folder"):
        checkpoint_prefix(tmp_path / "nowhere" / "model.ckpt-1")


def test_model_root_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    assert discovery.model_root() == tmp_path
    monkeypatch.delenv("IM2TXT_MODEL_DIR")
    assert discovery.model_root().name == "model"
    assert (discovery.model_root() / "README.md").is_file()
