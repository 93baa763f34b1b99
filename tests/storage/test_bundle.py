"""The project's model folder: convert_model from a COCO-size original checkpoint, lazy reading,
and the one-line errors of a damaged or foreign bundle."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from fixtures.paths import COCO_VOCAB
from fixtures.tiny_model import TINY_CONFIG, TINY_WORDS, tiny_weights, write_tiny_bundle
from im2txt import cli, load_captioner
from im2txt.config import ModelInfo
from im2txt.errors import ModelError
from im2txt.storage import discovery
from im2txt.storage.bundle import BundleWeights, read_bundle, read_bundle_meta, write_bundle
from im2txt.storage.checkpoint import read_checkpoint
from im2txt.storage.convert import convert_model
from im2txt.weights import count_parameters
from tests.reference import original_im2txt as oi

GITHUB_FILE_LIMIT = 100 * 1024 * 1024  # bytes; GitHub refuses larger files


# --- a COCO-size original checkpoint, converted both ways ----------------------------------------


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> dict[str, Path]:
    """An original-format checkpoint with the lively random weights of tests/reference (TF 1.0
    names, the real COCO vocabulary), its float32 and float16 conversions, and a float32 bundle
    of the checkpoint's weights rounded to float16 and back."""
    root = tmp_path_factory.mktemp("coco")
    vocab = oi.OriginalVocabulary(oi.real_vocab_path())
    weights = oi.random_weights(0, num_words=len(vocab))
    prefix = Path(oi.save_original_checkpoint(weights, root / "checkpoint", naming="tf1.0"))
    shutil.copy(COCO_VOCAB, root / "checkpoint" / "word_counts.txt")
    convert_model(root / "checkpoint", root / "float32")
    convert_model(prefix, root / "float16", dtype="float16")
    config, original = read_checkpoint(prefix)
    rounded = {n: original[n].astype(np.float16).astype(np.float32) for n in original}
    info = ModelInfo(name="rounded", kind="coco", origin="test", vocab_size=0)
    write_bundle(root / "rounded", config, rounded, COCO_VOCAB, info)
    return {
        "checkpoint": prefix,
        "float32": root / "float32",
        "float16": root / "float16",
        "rounded": root / "rounded",
    }


@pytest.fixture(scope="module")
def captions(coco) -> dict[str, list]:
    """Beam-3 captions of the six seed photos by each form of the model, one loaded at a time."""
    photos = [oi.seed_image_bytes(name) for name in oi.seed_image_names()]
    assert len(photos) >= 6
    found = {}
    for form, path in coco.items():
        captioner = load_captioner(path)
        found[form] = captioner.caption_many(photos)
        del captioner
    return found


def test_float32_bundle_holds_the_checkpoints_weights_exactly(coco):
    _, original = read_checkpoint(coco["checkpoint"])
    _, converted, _ = read_bundle(coco["float32"])
    assert set(converted) == set(original)
    for name in original:
        assert np.array_equal(converted[name], original[name]), name


def test_float32_bundle_captions_exactly_like_the_checkpoint(captions):
    # Same weights, same code: the same captions with bit-identical probabilities.
    assert captions["float32"] == captions["checkpoint"]


def test_float16_bundle_adds_nothing_to_the_rounding_of_its_weights(captions):
    # The float16 model is exactly the float32 model with each weight rounded to float16: every
    # caption and probability equal. Whether rounding changes a caption is the model's own
    # sensitivity: these random weights are far more sensitive than trained ones (their Inception
    # amplifies the 0.05 % rounding into ~3 % on the LSTM state; see the issue-7 report), so the
    # equality of top captions with float32 is checked on the real checkpoint, below.
    assert captions["float16"] == captions["rounded"]


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("IM2TXT_COCO_CHECKPOINT"),
    reason="set IM2TXT_COCO_CHECKPOINT to a real COCO checkpoint folder to compare float16 on it",
)
def test_float16_gives_the_float32_top_captions_with_the_real_checkpoint(tmp_path):
    source = Path(os.environ["IM2TXT_COCO_CHECKPOINT"])
    photos = [oi.seed_image_bytes(name) for name in oi.seed_image_names()]
    found = {}
    for dtype in ("float32", "float16"):
        convert_model(source, tmp_path / dtype, dtype=dtype)
        found[dtype] = load_captioner(tmp_path / dtype).caption_many(photos)
    assert [c[0].text for c in found["float16"]] == [c[0].text for c in found["float32"]]


def test_float16_fits_in_a_github_repository(coco):
    data = coco["checkpoint"].parent / "model.ckpt-2000000.data-00000-of-00001"
    float32 = (coco["float32"] / "weights.npz").stat().st_size
    float16 = (coco["float16"] / "weights.npz").stat().st_size
    # 37,250,560 weights: 149,002,240 bytes as float32, 74,501,120 as float16, plus one .npy
    # header and zip entry per tensor (382).
    assert data.stat().st_size == 149_002_244  # + the int32 global_step
    assert 149_002_240 < float32 < 149_002_240 + 382 * 400
    assert 74_501_120 < float16 < 74_501_120 + 382 * 400
    assert float16 < GITHUB_FILE_LIMIT


def test_converted_model_describes_itself(coco):
    _, info = read_bundle_meta(coco["float16"])
    assert info.name == "im2txt COCO (model.ckpt-2000000, float16)"
    assert (info.kind, info.dtype, info.origin) == ("coco", "float16", str(coco["checkpoint"]))
    assert sorted(os.listdir(coco["float16"])) == ["config.json", "weights.npz", "word_counts.txt"]
    assert (coco["float16"] / "word_counts.txt").read_bytes() == COCO_VOCAB.read_bytes()
    found = discovery.inspect_folder(coco["float16"])
    assert (found.format, found.label, found.usable) == ("bundle", info.name, True)
    assert not [p for p in coco["float16"].parent.iterdir() if p.name.startswith(".")]


def test_read_bundle_is_lazy_and_widens_float16(coco):
    _, weights, _ = read_bundle(coco["float16"])
    assert isinstance(weights, BundleWeights) and isinstance(weights, Mapping)
    _, float32, _ = read_bundle(coco["float32"])
    kernel = weights["lstm/basic_lstm_cell/kernel"]
    assert kernel.dtype == np.float32
    expected = float32["lstm/basic_lstm_cell/kernel"].astype(np.float16).astype(np.float32)
    assert np.array_equal(kernel, expected)
    assert len(weights) == 382 and "global_step" not in weights
    with pytest.raises(KeyError):
        weights["no/such/weight"]
    weights.close()


# --- convert_model on the tiny model -------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_tiny_bundle(tmp_path / "tiny")


def test_bundle_to_bundle_and_back(tiny, tmp_path):
    info = convert_model(tiny, tmp_path / "half", dtype="float16")
    assert (info.name, info.dtype) == ("tiny test model (float16)", "float16")
    assert info.vocab_size == len(TINY_WORDS) + 1  # with <UNK>
    back = convert_model(tmp_path / "half", tmp_path / "full")
    assert back.name == "tiny test model (float32)"
    image = np.full((40, 40, 3), 120, np.uint8)
    assert load_captioner(tmp_path / "full").caption(image)


def test_an_existing_destination_is_refused_unless_empty(tiny, tmp_path):
    dst = tmp_path / "taken"
    dst.mkdir()
    (dst / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match=r"taken: already exists and is not empty") as error:
        convert_model(tiny, dst)
    assert "\n" not in str(error.value)
    assert os.listdir(dst) == ["notes.txt"]
    (dst / "notes.txt").unlink()
    convert_model(tiny, dst)  # an empty folder is fine
    assert sorted(os.listdir(dst)) == ["config.json", "weights.npz", "word_counts.txt"]


def test_float16_overflow_names_the_tensor_and_leaves_nothing(tmp_path):
    weights = tiny_weights()
    weights["logits/biases"][3] = 1e5
    vocab = write_tiny_bundle(tmp_path / "ok").parent / "ok-words.txt"
    info = ModelInfo(name="big", kind="custom", origin="test", vocab_size=0)
    write_bundle(tmp_path / "big", TINY_CONFIG, weights, vocab, info)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ModelError, match=r"logits/biases: holds 100000, beyond float16's range"):
        convert_model(tmp_path / "big", tmp_path / "half", dtype="float16")
    assert sorted(os.listdir(tmp_path)) == before  # no half-written bundle, no staging folder
    with pytest.raises(ModelError, match=r"beyond float16's range"):
        write_bundle(tmp_path / "direct", TINY_CONFIG, weights, vocab, info, dtype="float16")


def test_vocabulary_override_and_mismatch(tiny, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("<S> 5\n</S> 4\nhello 3")
    info = convert_model(tiny, tmp_path / "other-words", vocab=words)
    assert info.vocab_size == 4  # with <UNK>
    with pytest.raises(
        ModelError, match=rf"vocabulary has 11520 words .* softmax has {TINY_CONFIG.vocab_size}:"
    ):
        convert_model(tiny, tmp_path / "too-many", vocab=COCO_VOCAB)
    assert not (tmp_path / "too-many").exists()


def test_checkpoint_without_vocabulary(coco, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in coco["checkpoint"].parent.glob("model.ckpt-*"):
        (bare / path.name).symlink_to(path)
    with pytest.raises(ModelError, match=r"no word_counts\.txt beside the checkpoint.*--vocab"):
        convert_model(bare, tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["bare"]  # nothing written


# --- damaged and foreign bundles: one line each --------------------------------------------------


def _edit_config(folder: Path, **changes) -> None:
    path = folder / "config.json"
    meta = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("garbage weights", r"weights\.npz: cannot read weights \(not a complete \.npz archive\)"),
        ("truncated weights", r"weights\.npz: cannot read weights \(not a complete \.npz"),
        ("flipped byte", r"weights\.npz: cannot read \S+ \(Bad CRC-32"),
        ("no weights", r"tiny: weights\.npz is missing"),
        ("no config", r"tiny: no checkpoint in this folder \(found weights\.npz, word_counts"),
        ("config not json", r"config\.json: cannot read"),
        ("no model section", r"config\.json: bad model config \('model'\)"),
        ("unknown field", r"bad model config \(unknown model config fields: wings\)"),
        ("newer version", r"config\.json: made by a newer im2txt \(format version 2\)"),
        ("odd version", r"config\.json: bad format version '1'"),
        ("other format", r"config\.json: not an im2txt-bundle config"),
    ],
)
def test_damaged_bundles_fail_in_one_line(tiny, damage, message):
    weights = tiny / "weights.npz"
    if damage == "garbage weights":
        weights.write_bytes(b"not a zip at all" * 10)
    elif damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:-200])
    elif damage == "flipped byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 3] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "no weights":
        weights.unlink()
    elif damage == "no config":
        (tiny / "config.json").unlink()
    elif damage == "config not json":
        (tiny / "config.json").write_text("{format: im2txt")
    elif damage == "no model section":
        _edit_config(tiny, model=None)
    elif damage == "unknown field":
        _edit_config(tiny, model={**TINY_CONFIG.to_dict(), "wings": 2})
    elif damage == "newer version":
        _edit_config(tiny, version=2)
    elif damage == "odd version":
        _edit_config(tiny, version="1")
    elif damage == "other format":
        _edit_config(tiny, format="keras")
    with pytest.raises(ModelError, match=message) as error:
        load_captioner(tiny)
    assert "\n" not in str(error.value)


def test_read_bundle_says_what_is_missing(tmp_path):
    with pytest.raises(ModelError, match=r"nothing: no config\.json \(not a converted model\)"):
        read_bundle(tmp_path / "nothing")


# --- the command line ------------------------------------------------------------------------


def test_cli_convert(capsys, tiny, tmp_path):
    status = cli.main(["convert", str(tiny), str(tmp_path / "half"), "--dtype", "float16"])
    out, _ = capsys.readouterr()
    assert status == 0
    words, weights = len(TINY_WORDS) + 1, count_parameters(TINY_CONFIG)
    assert out.startswith(
        f"Converted tiny test model (float16): {words} words, {weights:,} weights, "
    )
    assert out.strip().endswith(f"MB, in {tmp_path / 'half'}")

    status = cli.main(["convert", str(tiny), str(tmp_path / "half")])
    _, err = capsys.readouterr()
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("error: ") and "half: already exists and is not empty" in err


def test_cli_convert_rejects_other_dtypes(capsys, tiny, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["convert", str(tiny), str(tmp_path / "x"), "--dtype", "int8"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'int8'" in capsys.readouterr().err
