"""Self-test of the original-im2txt reference (tests/reference/original_im2txt.py)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.reference import original_im2txt as oi

SEED = 0


@pytest.fixture(scope="module")
def vocab():
    return oi.OriginalVocabulary(oi.real_vocab_path())


@pytest.fixture(scope="module")
def weights(vocab):
    return oi.random_weights(SEED, num_words=len(vocab))


@pytest.fixture(scope="module")
def model(weights):
    m = oi.OriginalModel()
    oi.assign_weights(m, weights)
    yield m
    m.close()


def _real_index():
    prefix = str(oi.real_checkpoint_prefix())
    shapes = {name: tuple(shape) for name, shape in tf.train.list_variables(prefix)}
    dtypes = tf.train.load_checkpoint(prefix).get_variable_to_dtype_map()
    return shapes, dtypes


# ------------------------------------------------------------------------- variable inventory


def test_inception_table_matches_spec_counts():
    assert len(oi.INCEPTION_LAYERS) == 94
    shapes = oi.variable_shapes()
    trunk = sum(math.prod(s) for n, s in shapes.items() if n.startswith("InceptionV3/"))
    total = sum(math.prod(s) for s in shapes.values())  # global_step counts as one element
    assert trunk == 21_802_784
    assert total == 37_250_561  # x 4 bytes = the 149,002,244-byte .data file
    assert len(shapes) == 383


def test_graph_variables_match_real_checkpoint_index(model):
    real_shapes, real_dtypes = _real_index()
    assert len(real_shapes) == 383
    ours = model.variable_shapes()
    assert len(ours) == 383
    # BasicLSTMCell in TF 2.21 creates the TF >= 1.2 names; the real (TF 1.0) file has the others.
    assert "lstm/basic_lstm_cell/kernel" in ours and "lstm/basic_lstm_cell/bias" in ours
    assert "lstm/basic_lstm_cell/weights" in real_shapes
    assert "lstm/basic_lstm_cell/biases" in real_shapes
    exact = {n: s for n, s in real_shapes.items() if not n.startswith("lstm/")}
    assert {n: s for n, s in ours.items() if not n.startswith("lstm/")} == exact
    assert {oi.canonical_name(n): s for n, s in real_shapes.items()} == ours
    # dtypes: everything float32 except the int32 global_step, in both.
    assert real_dtypes["global_step"] == tf.int32
    assert model.variables["global_step"].dtype.base_dtype == tf.int32
    assert all(d == tf.float32 for n, d in real_dtypes.items() if n != "global_step")
    assert oi.variable_shapes(naming="tf1.0") == real_shapes


def test_graph_has_original_tensor_names(model):
    g = model.graph
    expected = {
        "image_feed:0": (tf.string, []),
        "input_feed:0": (tf.int64, [None]),
        "lstm/initial_state:0": (tf.float32, [1, 1024]),
        "lstm/state_feed:0": (tf.float32, [None, 1024]),
        "lstm/state:0": (tf.float32, [None, 1024]),
        "softmax:0": (tf.float32, [None, 12000]),
    }
    for name, (dtype, shape) in expected.items():
        t = g.get_tensor_by_name(name)
        assert t.dtype == dtype and t.shape.as_list() == shape, name
    assert model.endpoints["Mixed_7c"].shape.as_list() == [1, 8, 8, 2048]
    assert model.endpoints["inception_output"].shape.as_list() == [1, 2048]


# ------------------------------------------------------------------------- checkpoints


def test_saved_checkpoints_use_each_naming_and_restore(tmp_path, weights, model):
    slots = {"logits/weights/Momentum": np.ones((512, 12000), np.float32)}
    for naming in ("tf0", "tf1.0", "tf1.2"):
        directory = tmp_path / naming
        prefix = oi.save_original_checkpoint(
            weights, directory, naming, extra_tensors=slots if naming == "tf0" else None
        )
        assert prefix == str(directory / "model.ckpt-2000000")
        assert (directory / "model.ckpt-2000000.index").exists()
        assert (directory / "model.ckpt-2000000.data-00000-of-00001").exists()
        assert tf.train.latest_checkpoint(str(directory)) == prefix
        assert (
            'model_checkpoint_path: "model.ckpt-2000000"' in (directory / "checkpoint").read_text()
        )
        listed = {n: tuple(s) for n, s in tf.train.list_variables(prefix)}
        expected = oi.variable_shapes(naming=naming)
        if naming == "tf0":
            expected["logits/weights/Momentum"] = (512, 12000)
        assert listed == expected
        reader = tf.train.load_checkpoint(prefix)
        assert reader.get_variable_to_dtype_map()["global_step"] == tf.int32
        assert int(reader.get_tensor("global_step")) == 2000000
    kernel, _ = oi.LSTM_NAMES["tf0"]
    np.testing.assert_array_equal(
        tf.train.load_checkpoint(str(tmp_path / "tf0" / "model.ckpt-2000000")).get_tensor(kernel),
        weights[oi.LSTM_KERNEL],
    )
    # A state-file-less save, and a restore (directory form, TF 0.x names, extra slot ignored).
    prefix = oi.save_original_checkpoint(
        weights, tmp_path / "nostate", "tf1.2", step=7, write_state_file=False
    )
    assert prefix.endswith("model.ckpt-7") and not (tmp_path / "nostate" / "checkpoint").exists()
    try:
        assert model.restore(tmp_path / "tf0") == str(tmp_path / "tf0" / "model.ckpt-2000000")
        restored = model.get_weights()
        assert int(restored["global_step"]) == 2000000
        for name, value in weights.items():
            np.testing.assert_array_equal(restored[name], value, err_msg=name)
    finally:
        oi.assign_weights(model, weights)


# ------------------------------------------------------------------------- graph semantics


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _lstm(weights, x, c, h):
    z = np.concatenate([x, h], axis=1) @ weights[oi.LSTM_KERNEL] + weights[oi.LSTM_BIAS]
    i, j, f, o = np.split(z, 4, axis=1)
    c = c * _sigmoid(f + 1.0) + _sigmoid(i) * np.tanh(j)
    return c, np.tanh(c) * _sigmoid(o)


def test_graph_matches_spec_math(model, weights):
    jpeg = oi.seed_photo("cat.jpg")
    got = model.image_intermediates(
        jpeg, ["resized_image", "image", "Mixed_7c", "inception_output", "image_embedding"]
    )
    assert got["resized_image"].shape == (346, 346, 3)
    np.testing.assert_allclose(
        got["image"][0], (got["resized_image"][23:322, 23:322] - 0.5) * 2.0, atol=1e-6
    )
    np.testing.assert_allclose(
        got["image"][0], oi.preprocess_image_eager(jpeg).numpy(), rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(
        got["inception_output"], got["Mixed_7c"].mean(axis=(1, 2)), rtol=1e-4, atol=1e-5
    )
    embedding = got["inception_output"] @ weights["image_embedding/weights"]
    np.testing.assert_allclose(got["image_embedding"], embedding, rtol=1e-4, atol=1e-4)

    zeros = np.zeros((1, 512), np.float32)
    c0, h0 = _lstm(weights, got["image_embedding"], zeros, zeros)
    state = model.feed_image(jpeg)
    assert state.shape == (1, 1024)
    np.testing.assert_allclose(state, np.concatenate([c0, h0], 1), rtol=1e-4, atol=1e-5)

    words = np.array([1, 0, 7], np.int64)
    states = np.repeat(state, 3, axis=0) * np.array([[1.0], [0.5], [-1.0]], np.float32)
    softmax, new_state = model.inference_step(words, states)
    assert softmax.shape == (3, 12000) and new_state.shape == (3, 1024)
    x = weights["seq_embedding/map"][words]
    c, h = _lstm(weights, x, states[:, :512], states[:, 512:])
    np.testing.assert_allclose(new_state, np.concatenate([c, h], 1), rtol=1e-4, atol=1e-5)
    logits = h @ weights["logits/weights"] + weights["logits/biases"]
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(softmax, expected, rtol=1e-3, atol=1e-6)


def test_random_weights_are_deterministic():
    a = oi.random_weights(3, vocab_size=50, end_id=2)
    b = oi.random_weights(3, vocab_size=50, end_id=2)
    c = oi.random_weights(4, vocab_size=50, end_id=2)
    assert list(a) == list(b)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["logits/weights"], c["logits/weights"])
    assert set(a) == set(oi.variable_shapes(vocab_size=50)) - {"global_step"}
    assert all(v.dtype == np.float32 for v in a.values())
    assert {k: v.shape for k, v in a.items()} == {
        k: s for k, s in oi.variable_shapes(vocab_size=50).items() if k != "global_step"
    }


def test_random_weights_give_lively_captions(model, vocab):
    line = re.compile(r"^  [0-2]\) .* \(p=\d+\.\d{6}\)$")
    best_texts, best_lengths, mean_word_probs = [], [], []
    for name in oi.seed_image_names():
        jpeg = oi.seed_image_bytes(name)
        std = float(model.image_intermediates(jpeg, ["Mixed_7c"])["Mixed_7c"].std())
        assert 0.1 < std < 10.0, (name, std)
        captions = oi.original_beam_search(model, vocab, jpeg, beam_size=3)
        assert 1 <= len(captions) <= 3
        scores = [c.score for c in captions]
        assert scores == sorted(scores, reverse=True)
        assert all(c.sentence[0] == vocab.start_id for c in captions)
        assert all(len(c.sentence) <= 20 for c in captions)
        lines = oi.format_original(captions, vocab, filename=f"/x/{name}")
        assert lines[0] == f"Captions for image {name}:"
        assert all(line.match(x) for x in lines[1:]), lines
        best = captions[0]
        words = oi.caption_words(best, vocab)
        best_texts.append(" ".join(words))
        best_lengths.append(len(words))
        mean_word_probs.append(math.exp(best.logprob / (len(best.sentence) - 1)))
    assert len(set(best_texts)) >= 4, best_texts
    assert len(set(best_lengths)) >= 3, best_lengths
    assert min(mean_word_probs) > 0.1, mean_word_probs


# ------------------------------------------------------------------------- beam search (fake model)


class _TableModel:
    """Next-word distribution depends only on the previous word (row of ``table``)."""

    def __init__(self, table):
        self.table = np.asarray(table, np.float32)
        self.steps = 0

    def feed_image(self, _jpeg):
        return np.zeros((1, 4), np.float32)

    def inference_step(self, input_feed, state_feed):
        self.steps += 1
        return self.table[np.asarray(input_feed)], np.asarray(state_feed) + 1.0


class _FakeVocab:
    start_id, end_id = 0, 1

    def id_to_word(self, i):
        return f"w{i}"


def test_beam_search_ties_and_partial_fallback():
    # From <S>: ids 2..5 equally likely; the stable sort keeps the lowest three ids.
    table = np.zeros((6, 6))
    table[:, 2:6] = 0.25
    captions = oi.original_beam_search(_TableModel(table), _FakeVocab(), b"", max_caption_length=2)
    assert [c.sentence for c in captions] == [[0, 2], [0, 3], [0, 4]]
    assert all(math.isclose(c.logprob, math.log(0.25)) for c in captions)
    # No end word ever: 19 rounds, partial captions returned; the original print drops a word.
    fake = _TableModel(table)
    captions = oi.original_beam_search(fake, _FakeVocab(), b"")
    assert fake.steps == 19 and all(len(c.sentence) == 20 for c in captions)
    assert oi.format_original(captions[:1], _FakeVocab())[0].count("w") == 18
    assert len(oi.caption_texts(captions[:1], _FakeVocab())[0].split()) == 19


def test_beam_search_completes_and_normalizes():
    table = np.zeros((6, 6))
    table[0] = [0, 0.1, 0.6, 0.3, 0, 0]  # <S> -> mostly w2
    table[2] = [0, 0.5, 0, 0, 0.5, 0]  # w2 -> </S> or w4
    table[3] = [0, 0.9, 0, 0, 0, 0.1]
    table[4] = [0, 1.0, 0, 0, 0, 0]
    table[5] = [0, 1.0, 0, 0, 0, 0]
    captions = oi.original_beam_search(_TableModel(table), _FakeVocab(), b"")
    got = [(c.sentence, round(math.exp(c.logprob), 6)) for c in captions]
    # The two 0.3 captions tie; heap order decides: partials come out of the heap lowest score
    # first, so [0,3,...] is expanded before [0,2,...], and heappushpop + the stable reverse sort
    # put the later-pushed [0,2,4,</S>] first.
    assert got == [([0, 2, 4, 1], 0.3), ([0, 2, 1], 0.3), ([0, 3, 1], 0.27)]
    lines = oi.format_original(captions, _FakeVocab())
    assert lines == ["  0) w2 w4 (p=0.300000)", "  1) w2 (p=0.300000)", "  2) w3 (p=0.270000)"]
    normalized = oi.original_beam_search(
        _TableModel(table), _FakeVocab(), b"", length_normalization_factor=1.0
    )
    for c in normalized:
        assert math.isclose(c.score, c.logprob / len(c.sentence))
    assert normalized[0].sentence == [0, 2, 4, 1]


# ------------------------------------------------------------------------- vocabulary


def test_real_vocabulary(vocab):
    assert len(vocab) == 11520
    assert (vocab.word_to_id("a"), vocab.start_id, vocab.end_id) == (0, 1, 2)
    assert vocab.unk_id == 11519 and vocab.id_to_word(11519) == "<UNK>"
    assert vocab.id_to_word(11999) == "<UNK>" and vocab.id_to_word(3) == "."
    assert vocab.word_to_id("no-such-word") == 11519


def test_vocab_round_trips(tmp_path, vocab):
    raw = oi.real_vocab_path().read_bytes()
    pairs = [(w, int(c)) for w, c in (line.split(" ") for line in raw.decode().split("\n"))]
    plain = tmp_path / "plain.txt"
    oi.write_vocab(pairs, plain, "plain")
    assert plain.read_bytes() == raw  # byte-identical to build_mscoco_data.py's output
    as_bytes = tmp_path / "bytes.txt"
    oi.write_vocab(pairs, as_bytes, "bytes")
    text = as_bytes.read_text()
    assert text.startswith("b'a' 969108\nb'<S>' 586368\nb'</S>' 586368\n")
    assert '\nb"\'s" ' in text and not text.endswith("\n")
    loaded = oi.OriginalVocabulary(as_bytes)
    assert loaded.reverse_vocab == vocab.reverse_vocab

    small = [("</S>", 9), ("<S>", 9), ("café", 5), ("'s", 4), ("<UNK>", 1)]
    for fmt in ("plain", "bytes"):
        path = tmp_path / f"small-{fmt}.txt"
        oi.write_vocab(dict(small), path, fmt)
        v = oi.OriginalVocabulary(path)
        assert v.reverse_vocab == [w for w, _ in small]  # <UNK> present: not appended
        assert (v.start_id, v.end_id, v.unk_id) == (1, 0, 4)
    bad = tmp_path / "bad.txt"
    oi.write_vocab([("a", 3), ("</S>", 2)], bad, "plain")
    with pytest.raises(AssertionError):
        oi.OriginalVocabulary(bad)


def test_synthetic_jpeg():
    a, b = oi.synthetic_jpeg(5, (64, 48)), oi.synthetic_jpeg(5, (64, 48))
    assert a == b and a[:2] == b"\xff\xd8"
    assert tuple(tf.io.decode_jpeg(a).shape) == (48, 64, 3)
    assert oi.synthetic_jpeg(6, 32) != oi.synthetic_jpeg(7, 32)
