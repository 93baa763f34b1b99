"""Tests of im2txt.beam_search: hand-computed goldens on table models, and parity with a plain
per-image re-statement of the original sort-based CaptionGenerator.beam_search."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math

import numpy as np
import pytest

from im2txt.beam_search import Hypothesis, _top_words, beam_search
from im2txt.config import DecodeConfig

# Word ids of the table models. S = <S>, E = </S>.
S, E, A, B, C, D = range(6)
NAMES = {"S": S, "E": E, "A": A, "B": B, "C": C, "D": D}


def f32(x: float) -> float:
    """The probability the search sees for x: a float32 softmax value, as a Python float."""
    return float(np.float32(x))


def table(rows: dict[str, dict[str, float]], vocab: int) -> np.ndarray:
    """[vocab, vocab] float32: row = last word, column = next word; unlisted entries are 0."""
    out = np.zeros((vocab, vocab), np.float32)
    for last, row in rows.items():
        for word, p in row.items():
            out[NAMES[last], NAMES[word]] = p
    return out


# T1: no ties among the words that matter. Each row sums to 1; the comments give the costs
# (-ln p) of each row's top three.
T1 = table(
    {
        "S": {"A": 0.5, "B": 0.4, "E": 0.06, "C": 0.03, "S": 0.01},  # A .693, B .916, E 2.813
        "A": {"C": 0.7, "E": 0.2, "B": 0.05, "A": 0.04, "S": 0.01},  # C .357, E 1.609, B 2.996
        "B": {"E": 0.65, "C": 0.3, "A": 0.03, "B": 0.01, "S": 0.01},  # E .431, C 1.204, A 3.507
        "C": {"E": 0.6, "A": 0.3, "B": 0.05, "C": 0.04, "S": 0.01},  # E .511, A 1.204, B 2.996
        "E": {w: 0.2 for w in "SEABC"},  # never expanded
    },
    vocab=5,
)

# T2: ties. After S, A, B and C tie at .3; after A, E and D tie at .5; after B, E and C tie.
# p(E | D) = 1, so S A D E has exactly the logprob of S A E (log 1 = 0).
T2 = table(
    {
        "S": {"A": 0.3, "B": 0.3, "C": 0.3, "E": 0.1},
        "A": {"E": 0.5, "D": 0.5},
        "B": {"E": 0.5, "C": 0.5},
        "C": {"A": 0.6, "E": 0.4},
        "D": {"E": 1.0},
        "E": {w: 1 / 6 for w in "SEABCD"},
    },
    vocab=6,
)

# T3: tiny probabilities. float32(1e-12) is 9.99999996e-13, below 1e-12: the original compared a
# numpy float32 scalar with a Python float, which numpy 1.x did in float64, so C is skipped.
T3 = table(
    {
        "S": {"A": 0.5, "B": 2e-12, "C": 1e-12},
        "A": {w: 0.2 for w in "SEABC"},
        "B": {w: 0.2 for w in "SEABC"},
    },
    vocab=5,
)


def table_model(tables: list[np.ndarray], calls: list[int] | None = None):
    """A fake inference_step whose state is [[index of the image's table]] and whose next-word
    distribution is that table's row for the last word. Records batch sizes in `calls`."""

    vocab = max(len(t) for t in tables)  # smaller tables padded with p = 0 words
    padded = [np.pad(t, ((0, 0), (0, vocab - len(t)))) for t in tables]

    def inference_step(word_ids: np.ndarray, states: np.ndarray):
        assert word_ids.dtype == np.int64
        if calls is not None:
            calls.append(len(word_ids))
        which = states[:, 0].astype(np.int64)
        softmax = np.stack([padded[t][w] for t, w in zip(which, word_ids, strict=True)])
        return softmax, states.copy()

    return inference_step


def run_tables(tables, decode: DecodeConfig, early_stop: bool = True, calls=None):
    states = np.arange(len(tables), dtype=np.float32)[:, None]
    return beam_search(states, table_model(tables, calls), S, E, decode, early_stop=early_stop)


def hyp(probabilities: np.ndarray, words: str, factor: float = 0.0) -> Hypothesis:
    """The hypothesis for a path through a table, e.g. "SACE": its logprob is the sum, left to
    right, of math.log of each step's probability; complete when it ends with E."""
    ids = tuple(NAMES[w] for w in words)
    steps = [f32(probabilities[prev, word]) for prev, word in itertools.pairwise(ids)]
    logprob = 0.0
    for p in steps:
        logprob += math.log(p)
    complete = ids[-1] == E and len(ids) > 1
    score = logprob / len(ids) ** factor if complete and factor > 0 else logprob
    return Hypothesis(ids, logprob, score, tuple(steps), complete)


# (beam_size, max_caption_length, factor, expected captions best first) for T1.
# Working (costs are -logprob; f1 scores are -cost / len):
#   beam 1: S -> A (.693) -> C (1.050) -> E (1.561). With fewer than 4 tokens it never ends, so
#           the partial caption comes back with all its words.
#   beam 2: round 1: SA .693, SB .916.
#           round 2: SB -> SBE 1.347 (complete), SBC 2.120; SA -> SAC 1.050, SAE 2.302 (complete).
#           round 3: SBC -> SBCE 2.631; SAC -> SACE 1.561.
#           f0 keeps SBE 1.347, SACE 1.561.  f1: SBE .449, SAE .767, SBCE .658, SACE .390 ->
#           SACE, SBE (normalisation puts the longer caption first).
#   beam 3: round 1: SA .693, SB .916, SE 2.813 (complete; f1 2.813/2 = 1.406). With max length
#           2 that complete caption is the whole answer even though partial ones are likelier.
#           round 2: SB -> SBE 1.347, SBC 2.120, SBA 4.423; SA -> SAC 1.050, SAE 2.302, SAB 3.689.
#           Partial beam: SAC, SBC, SAB (SBA 4.423 is pushed out).
#           round 3: SAB -> SABE 4.120; SBC -> SBCE 2.631; SAC -> SACE 1.561.
#           f0 complete: SBE 1.347, SACE 1.561, SAE 2.302 (SE 2.813, SBCE 2.631, SABE 4.120 out).
#           f1: SACE .390, SBE .449, SBCE .658 (SAE .767, SABE 4.120/4 = 1.030, SE 1.406 out).
T1_GOLDEN = [
    (1, 1, 0.0, ["S"]),
    (1, 2, 0.0, ["SA"]),
    (1, 3, 0.0, ["SAC"]),
    (1, 4, 0.0, ["SACE"]),
    (1, 4, 1.0, ["SACE"]),
    (2, 1, 0.0, ["S"]),
    (2, 2, 0.0, ["SA", "SB"]),
    (2, 3, 0.0, ["SBE", "SAE"]),
    (2, 3, 1.0, ["SBE", "SAE"]),
    (2, 4, 0.0, ["SBE", "SACE"]),
    (2, 4, 1.0, ["SACE", "SBE"]),
    (3, 1, 0.0, ["S"]),
    (3, 2, 0.0, ["SE"]),
    (3, 2, 1.0, ["SE"]),
    (3, 3, 0.0, ["SBE", "SAE", "SE"]),
    (3, 3, 1.0, ["SBE", "SAE", "SE"]),
    (3, 4, 0.0, ["SBE", "SACE", "SAE"]),
    (3, 4, 1.0, ["SACE", "SBE", "SBCE"]),
]


@pytest.mark.parametrize("early_stop", [True, False])
@pytest.mark.parametrize(("beam_size", "max_length", "factor", "expected"), T1_GOLDEN)
def test_golden_t1(beam_size, max_length, factor, expected, early_stop):
    decode = DecodeConfig(beam_size, max_length, factor)
    (result,) = run_tables([T1], decode, early_stop)
    assert result == [hyp(T1, words, factor) for words in expected]


def test_golden_t1_values_spelled_out():
    # beam 2, max length 4, factor 1: SACE = ln .5 + ln .7 + ln .6 over 4 tokens.
    (result,) = run_tables([T1], DecodeConfig(2, 4, 1.0))
    best = result[0]
    assert best.sentence == (S, A, C, E)
    assert best.complete
    assert best.word_probabilities == (f32(0.5), f32(0.7), f32(0.6))
    assert best.logprob == pytest.approx(math.log(0.5 * 0.7 * 0.6), rel=1e-7)
    assert best.score == pytest.approx(math.log(0.21) / 4, rel=1e-7)


def test_ties_lower_id_first_and_equal_newcomer_discarded():
    # Beam 2. Round 1: A, B, C tie at .3 after S; the lower ids A and B are taken. SA and SB have
    # equal scores ln .3; heap array [SA, SB].
    # Round 2: SA -> E .5, D .5 (tie: E, id 1, before D, id 5): SAE complete, SAD partial, both
    # X = ln .3 + ln .5. SB -> E, C: SBE complete (X), SBC partial (X). Complete heap [SAE, SBE].
    # Round 3: SAD -> E 1.0: SADE = X + ln 1 = X, equal to the minimum, so it is discarded;
    # the next word after D has p = 0 and is skipped. SBC -> A .6 (partial), E .4: SBCE < X.
    # Result: SAE, SBE in heap order (the sort is stable).
    (result,) = run_tables([T2], DecodeConfig(2, 4, 0.0))
    assert result == [hyp(T2, "SAE"), hyp(T2, "SBE")]
    assert result[0].logprob == result[1].logprob == math.log(f32(0.3)) + math.log(0.5)
    # Had an equal newcomer won, SADE would be in the result.
    assert hyp(T2, "SADE").score == result[0].score


def test_ties_with_length_normalization_evict_heap_top():
    # As above with factor 1: X = ln .3 + ln .5 = -1.897. SAE, SBE score X/3 = -.632;
    # SADE scores X/4 = -.474 > X/3 and replaces the heap's top, SAE (pushed first).
    # SBCE = (X + ln .4)/4 = -.703 < -.632 is discarded.
    (result,) = run_tables([T2], DecodeConfig(2, 4, 1.0))
    assert result == [hyp(T2, "SADE", 1.0), hyp(T2, "SBE", 1.0)]


def test_three_way_tie_at_the_beam_boundary():
    # Beam 3, max length 2: after S, A, B, C tie at .3 and E is .1: A, B, C in id order, all
    # partial, equal scores, stable order.
    (result,) = run_tables([T2], DecodeConfig(3, 2, 0.0))
    assert result == [hyp(T2, "SA"), hyp(T2, "SB"), hyp(T2, "SC")]


def test_tiny_probabilities_are_skipped():
    # Beam 3, max length 2: top 3 after S are A .5, B 2e-12, C float32(1e-12) < 1e-12 (skipped).
    (result,) = run_tables([T3], DecodeConfig(3, 2, 0.0))
    assert result == [hyp(T3, "SA"), hyp(T3, "SB")]
    assert result[1].word_probabilities == (f32(2e-12),)


def test_beam_wider_than_vocabulary():
    # Vocab S, E, A; beam 5 > 3 words. After S: A .7, E .3, S 0 (skipped) -> SA, SE (.3).
    # After A: E .9 -> SAE .63; A .1 -> SAA (partial). Result SAE (ln .7 + ln .9), SE (ln .3).
    probabilities = table({"S": {"A": 0.7, "E": 0.3}, "A": {"E": 0.9, "A": 0.1}}, vocab=3)
    (result,) = run_tables([probabilities], DecodeConfig(5, 3, 0.0))
    assert result == [hyp(probabilities, "SAE"), hyp(probabilities, "SE")]


def test_images_in_one_batch_match_their_goldens():
    decode = DecodeConfig(2, 4, 0.0)
    calls: list[int] = []
    results = run_tables([T1, T2, T3, T1], decode, calls=calls)
    assert results == [
        [hyp(T1, "SBE"), hyp(T1, "SACE")],
        [hyp(T2, "SAE"), hyp(T2, "SBE")],
        # T3 after S: A .5, B 2e-12 -> SA, SB; their rows are uniform (.2), so the top two are
        # S and E (lowest ids): SBS, SBE (complete), SAS, SAE (complete). Round 3 expands SBS
        # and SAS from row S again, whose top two (A, B) hold no E: the complete beam stays.
        [hyp(T3, "SAE"), hyp(T3, "SBE")],
        [hyp(T1, "SBE"), hyp(T1, "SACE")],
    ]
    # Round 1: one row per image; round 2: two partial captions per image. After round 2, T2's
    # complete beam is full with minimum X and its partials SAD, SBC are at X too: nothing can
    # beat X any more (an equal score is discarded), so T2 leaves and round 3 has 6 rows.
    # (T3 goes on: its partial SAS = ln .5 + ln .2 is above its minimum, SBE.)
    assert calls == [4, 8, 6]


# ---------------------------------------------------------------------------------------------
# The reference: the original algorithm, per image, unbatched, written plainly.
# ---------------------------------------------------------------------------------------------


class RefCaption:
    def __init__(self, sentence, state, logprob, score, word_probabilities):
        self.sentence = sentence
        self.state = state
        self.logprob = logprob
        self.score = score
        self.word_probabilities = word_probabilities

    def __lt__(self, other):
        return self.score < other.score

    def __eq__(self, other):
        return self.score == other.score


class RefTopN:
    def __init__(self, n):
        self.n = n
        self.data = []

    def size(self):
        return len(self.data)

    def push(self, x):
        if len(self.data) < self.n:
            heapq.heappush(self.data, x)
        else:
            heapq.heappushpop(self.data, x)

    def extract(self, sort=False):
        data = self.data
        self.data = None
        if sort:
            data.sort(reverse=True)
        return data

    def reset(self):
        self.data = []


def python_top(row, k):
    words_and_probs = list(enumerate(row))
    words_and_probs.sort(key=lambda x: -x[1])
    return words_and_probs[:k]


def numpy_top(row, k):
    ids = np.argsort(-row, kind="stable")[:k]
    return list(zip(ids.tolist(), row[ids], strict=True))


def reference_beam_search(
    initial_state,
    inference_step,
    start_id,
    end_id,
    beam_size,
    max_caption_length,
    factor,
    top=python_top,
    batch_sizes=None,
):
    partial_captions = RefTopN(beam_size)
    partial_captions.push(RefCaption([start_id], initial_state, 0.0, 0.0, []))
    complete_captions = RefTopN(beam_size)
    for _ in range(max_caption_length - 1):
        partial_list = partial_captions.extract()
        partial_captions.reset()
        input_feed = np.array([c.sentence[-1] for c in partial_list], dtype=np.int64)
        state_feed = np.array([c.state for c in partial_list])
        if batch_sizes is not None:
            batch_sizes.append(len(partial_list))
        softmax, new_states = inference_step(input_feed, state_feed)
        for i, partial in enumerate(partial_list):
            for w, p in top(softmax[i], beam_size):
                # float(p): numpy 1.x compared a float32 scalar with a Python float in float64.
                if float(p) < 1e-12:
                    continue
                sentence = [*partial.sentence, w]
                logprob = partial.logprob + math.log(p)
                score = logprob
                probs = [*partial.word_probabilities, float(p)]
                if w == end_id:
                    if factor > 0:
                        score /= len(sentence) ** factor
                    target = complete_captions
                else:
                    target = partial_captions
                target.push(RefCaption(sentence, new_states[i], logprob, score, probs))
        if partial_captions.size() == 0:
            break
    complete = complete_captions.size() > 0
    if not complete:
        complete_captions = partial_captions
    return [
        Hypothesis(tuple(c.sentence), c.logprob, c.score, tuple(c.word_probabilities), complete)
        for c in complete_captions.extract(sort=True)
    ]


class HashModel:
    """A random fake model. The state holds two integer hashes of the words so far (exact in
    float32); the next word's distribution is the row of a random table the new hashes pick.
    Rows are peaked with a varied chance of </S>; every third row is rounded to multiples of
    1/32, which makes exact ties, exactly equal scores and zeros (the 1e-12 skip)."""

    MODULUS = 1_000_003

    def __init__(self, seed: int, vocab: int, end_id: int, num_rows: int = 101):
        rng = np.random.default_rng(seed)
        logits = rng.normal(size=(num_rows, vocab)) * rng.uniform(1.0, 4.0, size=(num_rows, 1))
        logits[:, end_id] += rng.uniform(-3.0, 2.0, size=num_rows)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        probabilities[::3] = np.round(probabilities[::3] * 32) / 32
        self.table = probabilities.astype(np.float32)
        self.rng = rng

    def initial_states(self, num_images: int) -> np.ndarray:
        return self.rng.integers(0, self.MODULUS, size=(num_images, 2)).astype(np.float32)

    def __call__(self, word_ids: np.ndarray, states: np.ndarray):
        hashes = states.astype(np.int64)
        new = (hashes * [31, 17] + word_ids[:, None] * [7, 13] + 1) % self.MODULUS
        softmax = self.table[(new[:, 0] + new[:, 1]) % len(self.table)]
        return softmax, new.astype(np.float32)


@pytest.mark.parametrize(("vocab", "seed"), [(10, 0), (4, 1)])
@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0])
def test_batched_search_equals_reference_per_image(vocab, seed, factor):
    model = HashModel(seed, vocab, end_id=1)
    states = model.initial_states(24)
    for beam_size in range(1, 6):
        for max_length in (1, 2, 5, 14):
            decode = DecodeConfig(beam_size, max_length, factor)
            expected = [
                reference_beam_search(state, model, 0, 1, beam_size, max_length, factor)
                for state in states
            ]
            for early_stop in (True, False):
                assert beam_search(states, model, 0, 1, decode, early_stop) == expected, (
                    beam_size,
                    max_length,
                    early_stop,
                )


def test_one_inference_step_per_round_with_every_running_image():
    model = HashModel(2, 10, end_id=1)
    states = model.initial_states(30)
    decode = DecodeConfig(beam_size=3, max_caption_length=12)
    per_image: list[list[int]] = []
    for state in states:
        sizes: list[int] = []
        reference_beam_search(state, model, 0, 1, 3, 12, 0.0, batch_sizes=sizes)
        per_image.append(sizes)
    calls: list[int] = []

    def counting(word_ids, states):
        calls.append(len(word_ids))
        return model(word_ids, states)

    beam_search(states, counting, 0, 1, decode, early_stop=False)
    rounds = max(len(sizes) for sizes in per_image)
    expected = [sum(s[r] for s in per_image if r < len(s)) for r in range(rounds)]
    assert calls == expected
    assert calls[0] == 30


def test_early_stop_saves_rounds_and_changes_nothing():
    # Every row: E .6, A .3, B .1 (beam 2: E and A). Round 1: SE complete (ln .6 = -.511), SA.
    # Round 2: SAE complete (ln .3 + ln .6 = -1.715): complete beam full, min -1.715; the only
    # partial, SAA, has logprob 2 ln .3 = -2.408 <= -1.715, so with factor 0 the image stops
    # after 2 calls instead of 19.
    # Factor 1: min complete score is SAE's -1.715/3 = -.572 (SE: -.511/2 = -.255); after round r
    # the partial A^r has logprob r ln .3 = -1.204 r, and the bound is that over 20 tokens:
    # r = 9 gives -.542 > -.572 (go on), r = 10 gives -.602 <= -.572 (stop): 10 calls.
    rows = {w: {"E": 0.6, "A": 0.3, "B": 0.1} for w in "SEAB"}
    probabilities = table(rows, vocab=4)
    for factor, expected_calls in ((0.0, 2), (1.0, 10)):
        decode = DecodeConfig(2, 20, factor)
        stopped: list[int] = []
        full: list[int] = []
        early = run_tables([probabilities] * 3, decode, early_stop=True, calls=stopped)
        late = run_tables([probabilities] * 3, decode, early_stop=False, calls=full)
        expected = [hyp(probabilities, "SE", factor), hyp(probabilities, "SAE", factor)]
        assert early == late == [expected] * 3
        assert len(stopped) == expected_calls
        assert len(full) == 19


def test_early_stop_leaves_the_batch_image_by_image():
    # One image stops after 2 rounds (the table above); a T1 image runs its 3 rounds alone after.
    settled = table({w: {"E": 0.6, "A": 0.3, "B": 0.1} for w in "SEABC"}, vocab=5)
    calls: list[int] = []
    results = run_tables([settled, T1], DecodeConfig(2, 4, 0.0), calls=calls)
    assert results[1] == [hyp(T1, "SBE"), hyp(T1, "SACE")]
    # Round 1: one row each; round 2: SA of the first image, SB and SA of T1; round 3: T1 only.
    assert calls == [2, 3, 2]
    calls.clear()
    assert run_tables([settled, T1], DecodeConfig(2, 4, 0.0), False, calls) == results
    assert calls == [2, 3, 3]


def test_early_stop_is_switched_off_by_values_above_one():
    # The bound assumes log p <= 0. Image 1 (beam 2): round 1 SE (ln .6), SA; round 2 SAE
    # (ln .3 + ln .6 = -1.715) fills the complete beam and the partial SAB (2 ln .3 = -2.408)
    # is below it, so the bound would stop the image; but in round 3 B -> E has "p" = 50 and
    # SABE = -2.408 + ln 50 = +1.504 wins. Image 2 meets that 50 in round 2 (S -> B -> E), so
    # the search stops trusting the bound before image 1 would have left.
    rows = {"S": {"E": 0.6, "A": 0.3, "B": 0.1}, "A": {"E": 0.6, "B": 0.3, "A": 0.1}}
    rows["B"] = {"E": 50.0, "A": 0.1}
    first = table(rows, vocab=4)
    second = table({**rows, "S": {"B": 0.9, "E": 0.1}}, vocab=4)
    decode = DecodeConfig(2, 4, 0.0)
    results = run_tables([first, second], decode, early_stop=True)
    assert results == run_tables([first, second], decode, early_stop=False)
    assert results[0] == [hyp(first, "SABE"), hyp(first, "SE")]


# ---------------------------------------------------------------------------------------------
# Top-k at COCO size.
# ---------------------------------------------------------------------------------------------


def tie_heavy_rows(rng: np.random.Generator, num_rows: int, vocab: int, k: int) -> np.ndarray:
    """[num_rows, vocab] float32 rows whose k-th largest value is shared by many words."""
    rows = (rng.random((num_rows, vocab)) * 1e-5).astype(np.float32)
    for row in rows:
        kind = rng.integers(4)
        if kind == 0:
            row[:] = 1.0 / vocab  # all tied
            continue
        if kind == 1:
            continue  # (almost surely) no ties
        above = rng.integers(0, k)  # words strictly above the tied value
        tied = rng.choice(vocab, size=rng.integers(k + 1, 60), replace=False)
        row[tied] = 0.001
        row[rng.choice(vocab, size=above, replace=False)] = rng.uniform(0.01, 0.5, size=above)
    return rows


def test_top_words_equals_full_stable_sort_at_coco_size():
    rng = np.random.default_rng(3)
    probabilities = tie_heavy_rows(rng, 300, 12000, 3)
    full_sort = np.argsort(-probabilities, axis=1, kind="stable")
    naive_differs = False
    for k in (1, 2, 3, 5):
        expected = full_sort[:, :k]
        assert np.array_equal(_top_words(probabilities, k), expected)
        # Without the boundary fix (argpartition, then order the candidates) some rows differ:
        candidates = np.argpartition(probabilities, 12000 - k, axis=1)[:, 12000 - k :]
        candidate_probabilities = np.take_along_axis(probabilities, candidates, axis=1)
        order = np.lexsort((candidates, -candidate_probabilities), axis=1)
        naive = np.take_along_axis(candidates, order, axis=1)
        naive_differs |= not np.array_equal(naive, expected)
    assert naive_differs
    assert np.array_equal(
        _top_words(probabilities[:5, :4], 7),
        np.argsort(-probabilities[:5, :4], axis=1, kind="stable"),
    )


def test_search_at_coco_size_with_ties():
    # 100 images x beam 3 = 300 rows of 12000 words in rounds 2 and 3.
    vocab, num_rows = 12000, 64
    rng = np.random.default_rng(4)
    softmax_table = tie_heavy_rows(rng, num_rows, vocab, 3)
    softmax_table[:, 1] = rng.choice([0.0, 0.001, 0.3], size=num_rows)  # </S>, often tied

    def model(word_ids, states):
        new = (states.astype(np.int64) * 31 + word_ids[:, None] + 1) % 1_000_003
        return softmax_table[new[:, 0] % num_rows], new.astype(np.float32)

    states = rng.integers(0, 1_000_003, size=(100, 1)).astype(np.float32)
    for decode in (DecodeConfig(3, 4, 0.0), DecodeConfig(3, 4, 1.0)):
        expected = [
            reference_beam_search(
                s, model, 0, 1, 3, 4, decode.length_normalization_factor, top=numpy_top
            )
            for s in states
        ]
        assert beam_search(states, model, 0, 1, decode) == expected


def test_decode_config_defaults_are_the_originals():
    decode = DecodeConfig()
    assert dataclasses.astuple(decode) == (3, 20, 0.0)
