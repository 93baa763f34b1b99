"""The beam search as one graph (graph_search.py, decoder.py) against the exact search's goldens.

The fake models of test_beam_search.py are written again in TensorFlow ops. Every result must
equal the hand-computed goldens and the plain re-statement of the original search; where scores
tie, the graph must say so, and the decoder must then take beam_search.py's answer.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from im2txt.beam_search import beam_search, score_denominators
from im2txt.config import DecodeConfig
from im2txt.decoder import Decoder, Route
from test_beam_search import (
    T1,
    T1_GOLDEN,
    T2,
    T3,
    E,
    HashModel,
    S,
    hyp,
    numpy_top,
    reference_beam_search,
    table,
    table_model,
    tie_heavy_rows,
)


class TableModel:
    """test_beam_search.table_model in both forms: state [[table index]], next-word row = that
    table's row for the last word. Counts the numpy calls (the exact search's)."""

    state_size = 1

    def __init__(self, tables: list[np.ndarray]) -> None:
        vocab = max(len(t) for t in tables)
        padded = [np.pad(t, ((0, vocab - len(t)), (0, vocab - len(t)))) for t in tables]
        self.tables = tf.constant(np.stack(padded))
        self.numpy_calls: list[int] = []
        self._numpy_step = table_model(tables, self.numpy_calls)

    def inference_step(self, word_ids, states):
        return self._numpy_step(word_ids, states)

    def inference_step_graph(self, word_ids, states):
        which = tf.cast(states[:, 0], tf.int64)
        return tf.gather_nd(self.tables, tf.stack([which, word_ids], axis=1)), states


class GraphHashModel(HashModel):
    """test_beam_search.HashModel with the same hashing in TensorFlow int64 ops."""

    state_size = 2

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.graph_table = tf.constant(self.table)
        self.numpy_calls = 0

    def inference_step(self, word_ids, states):
        self.numpy_calls += 1
        return self(word_ids, states)

    def inference_step_graph(self, word_ids, states):
        hashes = tf.cast(states, tf.int64)
        multipliers = tf.constant([31, 17], tf.int64)
        word_terms = word_ids[:, None] * tf.constant([7, 13], tf.int64)
        new = (hashes * multipliers + word_terms + 1) % self.MODULUS
        rows = (new[:, 0] + new[:, 1]) % len(self.table)
        return tf.gather(self.graph_table, rows), tf.cast(new, tf.float32)


def run_graph(tables, decode: DecodeConfig):
    """(hypotheses per image, decoder, raw graph result) for images of the table models."""
    model = TableModel(tables)
    decoder = Decoder(model, S, E)
    states = np.arange(len(tables), dtype=np.float32)[:, None]
    raw = decoder._search(
        states, decode.beam_size, decode.max_caption_length, score_denominators(decode)
    )
    return decoder.search(states, decode), decoder, raw, model


@pytest.mark.parametrize(("beam_size", "max_length", "factor", "expected"), T1_GOLDEN)
def test_golden_t1_in_one_graph_call(beam_size, max_length, factor, expected):
    decode = DecodeConfig(beam_size, max_length, factor)
    (result,), decoder, raw, model = run_graph([T1], decode)
    assert result == [hyp(T1, words, factor) for words in expected]
    # Decided by the graph alone: no tie, no call of the numpy inference step.
    assert (decoder.graph_images, decoder.exact_images) == (1, 0)
    assert model.numpy_calls == []
    assert not raw.tied.numpy().any()


def test_ties_are_reported_and_decided_by_the_exact_search():
    # T2, beam 2, max length 4 (test_beam_search.test_ties_lower_id_first_...): SAE, SBE and
    # SADE all have logprob ln .3 + ln .5, and the original drops SADE only because a newcomer
    # equal to the heap's minimum loses. The graph sees the tie at the complete beam's boundary.
    (result,), decoder, raw, model = run_graph([T2], DecodeConfig(2, 4, 0.0))
    assert raw.tied.numpy().tolist() == [True]
    assert result == [hyp(T2, "SAE"), hyp(T2, "SBE")]
    assert (decoder.graph_images, decoder.exact_images) == (0, 1)
    assert model.numpy_calls  # the exact search ran


@pytest.mark.parametrize(
    ("decode", "expected"),
    [
        (DecodeConfig(2, 4, 1.0), ["SADE", "SBE"]),  # SADE evicts the heap's top, SAE
        (DecodeConfig(3, 2, 0.0), ["SA", "SB", "SC"]),  # three equal partial captions
    ],
)
def test_more_ties_come_out_as_the_original_ordered_them(decode, expected):
    (result,), decoder, raw, _ = run_graph([T2], decode)
    assert raw.tied.numpy().tolist() == [True]
    factor = decode.length_normalization_factor
    assert result == [hyp(T2, words, factor) for words in expected]
    assert decoder.exact_images == 1


def test_images_in_one_batch_each_decided_where_it_should_be():
    # T2 ties (above). So does T3, in round 3: SASB and SBSA both have logprob
    # ln .5 + ln .2 + ln 2e-12, summed in two orders, and they meet at the partial beam's
    # boundary. T1 does not: only the T2 and T3 images are searched again.
    results, decoder, raw, _ = run_graph([T1, T2, T3, T1], DecodeConfig(2, 4, 0.0))
    assert results == [
        [hyp(T1, "SBE"), hyp(T1, "SACE")],
        [hyp(T2, "SAE"), hyp(T2, "SBE")],
        [hyp(T3, "SAE"), hyp(T3, "SBE")],
        [hyp(T1, "SBE"), hyp(T1, "SACE")],
    ]
    assert raw.tied.numpy().tolist() == [False, True, True, False]
    assert (decoder.graph_images, decoder.exact_images) == (2, 2)


def test_tiny_probabilities_and_a_beam_wider_than_the_vocabulary():
    (result,), _, raw, _ = run_graph([T3], DecodeConfig(3, 2, 0.0))
    assert result == [hyp(T3, "SA"), hyp(T3, "SB")]
    assert not raw.tied.numpy().any()
    probabilities = table({"S": {"A": 0.7, "E": 0.3}, "A": {"E": 0.9, "A": 0.1}}, vocab=3)
    (result,), _, _, _ = run_graph([probabilities], DecodeConfig(5, 3, 0.0))
    assert result == [hyp(probabilities, "SAE"), hyp(probabilities, "SE")]


def test_settled_images_stop_the_loop_early():
    # test_beam_search.test_early_stop_saves_rounds_and_changes_nothing: with factor 0 nothing
    # can change after round 2; with factor 1 after round 10 (of 19).
    rows = {w: {"E": 0.6, "A": 0.3, "B": 0.1} for w in "SEAB"}
    probabilities = table(rows, vocab=4)
    for factor, rounds in ((0.0, 2), (1.0, 10)):
        results, _, raw, _ = run_graph([probabilities] * 3, DecodeConfig(2, 20, factor))
        expected = [hyp(probabilities, "SE", factor), hyp(probabilities, "SAE", factor)]
        assert results == [expected] * 3
        assert int(raw.rounds) == rounds


def test_values_above_one_switch_the_early_stop_off():
    # test_beam_search.test_early_stop_is_switched_off_by_values_above_one: a "probability" of
    # 50 makes a partial caption that looked beaten win in round 3.
    rows = {"S": {"E": 0.6, "A": 0.3, "B": 0.1}, "A": {"E": 0.6, "B": 0.3, "A": 0.1}}
    rows["B"] = {"E": 50.0, "A": 0.1}
    first = table(rows, vocab=4)
    second = table({**rows, "S": {"B": 0.9, "E": 0.1}}, vocab=4)
    results, _, _, _ = run_graph([first, second], DecodeConfig(2, 4, 0.0))
    assert results[0] == [hyp(first, "SABE"), hyp(first, "SE")]


@pytest.mark.parametrize(("vocab", "seed"), [(10, 0), (4, 1)])
@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0])
def test_equals_the_original_search_on_random_models_with_ties(vocab, seed, factor):
    model = GraphHashModel(seed, vocab, end_id=1)
    decoder = Decoder(model, 0, 1)
    states = model.initial_states(24)
    for beam_size in (1, 2, 3, 5, 10):
        for max_length in (1, 2, 5, 14):
            decode = DecodeConfig(beam_size, max_length, factor)
            expected = [
                reference_beam_search(state, model, 0, 1, beam_size, max_length, factor)
                for state in states
            ]
            assert decoder.search(states, decode) == expected, (beam_size, max_length)
    # A third of the rows are rounded to 1/32: many searches tie, most do not.
    assert decoder.exact_images > 0
    assert decoder.graph_images > 2 * decoder.exact_images


def test_equals_the_exact_search_at_coco_size_with_ties():
    vocab, num_rows = 12000, 64
    rng = np.random.default_rng(4)
    softmax_table = tie_heavy_rows(rng, num_rows, vocab, 3)
    softmax_table[:, 1] = rng.choice([0.0, 0.001, 0.3], size=num_rows)  # </S>, often tied
    graph_table = tf.constant(softmax_table)

    class Model:
        state_size = 1

        def inference_step(self, word_ids, states):
            new = (states.astype(np.int64) * 31 + word_ids[:, None] + 1) % 1_000_003
            return softmax_table[new[:, 0] % num_rows], new.astype(np.float32)

        def inference_step_graph(self, word_ids, states):
            new = (tf.cast(states, tf.int64) * 31 + word_ids[:, None] + 1) % 1_000_003
            return tf.gather(graph_table, new[:, 0] % num_rows), tf.cast(new, tf.float32)

    model = Model()
    decoder = Decoder(model, 0, 1)
    states = rng.integers(0, 1_000_003, size=(100, 1)).astype(np.float32)
    for decode in (DecodeConfig(3, 4, 0.0), DecodeConfig(3, 4, 1.0), DecodeConfig(10, 6, 0.0)):
        expected = [
            reference_beam_search(
                s,
                model.inference_step,
                0,
                1,
                decode.beam_size,
                decode.max_caption_length,
                decode.length_normalization_factor,
                top=numpy_top,
            )
            for s in states
        ]
        assert decoder.search(states, decode) == expected
        assert beam_search(states, model.inference_step, 0, 1, decode) == expected
    assert decoder.graph_images > 0 and decoder.exact_images > 0


def test_no_images():
    decoder = Decoder(TableModel([T1]), S, E)
    assert decoder.search(np.zeros((0, 1), np.float32), DecodeConfig()) == []


def test_the_decoder_routes_a_first_call_for_one_image_step_by_step():
    # The decoder chooses, per call: step by step only for a first call of one image; the graph
    # (to be built while it is not ready) for everything else.
    tables = [table({"S": {"A": 0.7, "E": 0.3}, "A": {"E": 0.9, "A": 0.1}}, vocab=3)]
    decoder = Decoder(TableModel(tables), S, E)
    assert decoder.route(1) == Route(graph=False, build=False)
    assert decoder.route(1) == Route(graph=True, build=True)
    assert Decoder(TableModel(tables), S, E).route(2) == Route(graph=True, build=True)
    decoder.warm_up()
    assert decoder.route(1) == Route(graph=True, build=False)
    states = np.zeros((1, 1), np.float32)
    decode = DecodeConfig(beam_size=2, max_caption_length=3)
    exact = decoder.search(states, decode, Route(graph=False, build=False))
    assert decoder.search(states, decode) == exact
    assert (decoder.graph_images, decoder.exact_images) == (1, 1)


def test_the_captioner_builds_the_graph_unless_its_first_call_is_one_image(tmp_path):
    # One-shot command line: the first caption() searches step by step (building the graph would
    # cost more); the next call and any call for several images use the graph. Same captions.
    from fixtures.paths import SEED_IMAGES
    from fixtures.tiny_model import write_tiny_bundle
    from im2txt import load_captioner

    photos = [str(p) for p in sorted(SEED_IMAGES.glob("*.jpg"))[:3]]
    bundle = write_tiny_bundle(tmp_path / "tiny", seed=3)
    captioner = load_captioner(bundle)
    decoder = captioner.decoder
    first = captioner.caption(photos[0])
    assert (decoder.ready, decoder.graph_images, decoder.exact_images) == (False, 0, 1)
    # The graph's fused ops may round the last bits otherwise on some processors (seen on an AMD
    # EPYC: 1.3e-7 relative on a word's probability): the same words, the same numbers to 1e-6.
    again = captioner.caption(photos[0])
    assert [c.words for c in again] == [c.words for c in first]
    for got, want in zip(again, first, strict=True):
        assert got.word_probabilities == pytest.approx(want.word_probabilities, rel=1e-6)
        assert got.log_probability == pytest.approx(want.log_probability, rel=1e-6)
        assert got.score == pytest.approx(want.score, rel=1e-6)
    assert decoder.ready and (decoder.graph_images, decoder.exact_images) == (1, 1)

    batch = load_captioner(bundle)
    batched = batch.caption_many(photos)[0]  # 3 images a round: other matmul shapes, same text
    assert [c.text for c in batched] == [c.text for c in first]
    assert [c.log_probability for c in batched] == pytest.approx(
        [c.log_probability for c in first], rel=1e-5
    )
    assert (batch.decoder.graph_images, batch.decoder.exact_images) == (3, 0)
