"""Original TF1 checkpoints -> weights: the name table against the real index, and loud errors."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import tensorflow as tf

from fixtures.paths import COCO_INDEX_PREFIX, COCO_VOCAB
from im2txt import load_captioner
from im2txt.config import ModelConfig
from im2txt.errors import ModelError
from im2txt.storage.checkpoint import BOOKKEEPING, LSTM_ALIASES, read_checkpoint, unused_tensors
from im2txt.weights import count_parameters, weight_shapes
from tests.reference import original_im2txt as oi


def test_name_table_covers_the_real_checkpoint_index_exactly():
    stored = dict(tf.train.list_variables(str(COCO_INDEX_PREFIX)))
    assert len(stored) == 383
    expected = weight_shapes(ModelConfig())
    filled = {}
    for name, shape in stored.items():
        if name in BOOKKEEPING:
            continue
        weight = LSTM_ALIASES.get(name, name)
        assert weight in expected, f"{name} maps to no weight"
        assert tuple(shape) == expected[weight], name
        assert weight not in filled, f"{weight} filled twice"
        filled[weight] = name
    assert set(filled) == set(expected)  # none left over
    assert len(filled) == 382 and set(stored) - set(filled.values()) == {"global_step"}
    # 37,250,560 weights + the global_step counter = 37,250,561 elements x 4 bytes
    # = 149,002,244 bytes, the size of the real .data file.
    assert count_parameters(ModelConfig()) + 1 == 37_250_561
    inception = sum(math.prod(s) for n, s in expected.items() if n.startswith("InceptionV3/"))
    assert inception == 21_802_784  # = Keras InceptionV3(include_top=False)


@pytest.fixture(scope="module")
def zero_weights():
    return {n: np.zeros(s, np.float32) for n, s in weight_shapes(ModelConfig()).items()}


def save(weights, folder, **kwargs):
    return oi.save_original_checkpoint(weights, folder, **kwargs)


def test_all_three_lstm_namings_and_extra_tensors(tmp_path, zero_weights):
    weights = dict(zero_weights)
    weights["lstm/basic_lstm_cell/kernel"] = np.full((1024, 2048), 0.5, np.float32)
    for naming in ("tf0", "tf1.0", "tf1.2"):
        folder = tmp_path / naming
        prefix = save(weights, folder, naming=naming, extra_tensors={"logits/biases/Adam": [0.0]})
        config, loaded = read_checkpoint(folder)
        assert config == ModelConfig()
        assert set(loaded) == set(weights)
        assert (loaded["lstm/basic_lstm_cell/kernel"] == 0.5).all()
        assert unused_tensors(prefix) == ["global_step", "logits/biases/Adam"]


def test_missing_and_misshaped_tensors_are_listed(tmp_path, zero_weights):
    weights = dict(zero_weights)
    del weights["InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/weights"]
    del weights["seq_embedding/map"]
    weights["logits/biases"] = np.zeros(11999, np.float32)
    save(weights, tmp_path)
    with pytest.raises(ModelError) as error:
        read_checkpoint(tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert "not an im2txt checkpoint: 2 missing" in message
    assert "InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/weights" in message
    assert "seq_embedding/map" in message
    assert "1 mis-shaped (logits/biases is [11999], expected [12000])" in message


def test_two_names_for_one_weight_is_an_error(tmp_path, zero_weights):
    extra = {"lstm/basic_lstm_cell/weights": zero_weights["lstm/basic_lstm_cell/kernel"]}
    save(zero_weights, tmp_path, naming="tf1.2", extra_tensors=extra)
    with pytest.raises(ModelError, match=r"both lstm/basic_lstm_cell/kernel and .*/weights"):
        read_checkpoint(tmp_path)


def test_other_vocab_sizes_are_read_from_the_shapes(tmp_path):
    config = ModelConfig(vocab_size=40, embedding_size=8, num_lstm_units=16)
    weights = {n: np.ones(s, np.float32) for n, s in weight_shapes(config).items()}
    save(weights, tmp_path)
    loaded_config, _ = read_checkpoint(tmp_path / "model.ckpt-2000000")
    assert loaded_config == config


def test_vocabulary_that_does_not_fit(tmp_path):
    config = ModelConfig(vocab_size=40, embedding_size=8, num_lstm_units=16)
    save({n: np.ones(s, np.float32) for n, s in weight_shapes(config).items()}, tmp_path)
    shutil.copy(COCO_VOCAB, tmp_path / "word_counts.txt")
    with pytest.raises(ModelError, match=r"vocabulary has 11520 words .* softmax has 40"):
        load_captioner(tmp_path)


def test_missing_vocabulary_and_corrupt_data(tmp_path, zero_weights):
    prefix = save(zero_weights, tmp_path)
    with pytest.raises(ModelError, match=r"no word_counts\.txt beside the checkpoint"):
        load_captioner(tmp_path)
    data = tmp_path / "model.ckpt-2000000.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1_000_000])  # an interrupted download
    with pytest.raises(ModelError, match=r"model\.ckpt-2000000: cannot read"):
        load_captioner(prefix, vocab=COCO_VOCAB)


def test_folder_without_a_checkpoint_says_what_it_found(tmp_path):
    (tmp_path / "model.ckpt-2000000.meta").write_bytes(b"graph")
    (tmp_path / "word_counts.txt").write_text("<S> 1\n</S> 1")
    with pytest.raises(ModelError, match=r"no checkpoint in this folder \(found model.ckpt"):
        load_captioner(tmp_path)
