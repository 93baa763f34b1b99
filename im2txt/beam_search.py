"""The beam search over word ids, batched over many images; knows nothing of TF or images.

It reproduces the original im2txt ``CaptionGenerator.beam_search`` (the sort-based version, before
the 2019 top-k slice bug) exactly, per image, ties included, but runs all images together: every
round makes one ``inference_step`` call holding the partial captions of every image still running.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from im2txt.config import DecodeConfig

# (word_ids int64 [batch], states [batch, state_size]) -> (softmax [batch, vocab], new states)
InferenceStep = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

# Candidate words less probable than this are never taken (the original's threshold).
_MIN_PROBABILITY = 1e-12

_DEFAULT_DECODE = DecodeConfig()


@dataclass(frozen=True)
class Hypothesis:
    """One caption of one image as word ids, with the numbers the search ranked it by."""

    # Word ids, starting with start_id; ends with end_id when complete.
    sentence: tuple[int, ...]
    # Sum of math.log of each chosen word's probability (float64, in the order the words came).
    logprob: float
    # The ranking score: logprob, or logprob / len(sentence) ** length_normalization_factor for
    # a complete hypothesis when the factor is positive.
    score: float
    # Probability of each token after start_id, in order (one fewer than the sentence's tokens).
    word_probabilities: tuple[float, ...]
    # True when the sentence ended with end_id; False for the partial-caption fallback.
    complete: bool


class _Entry:
    """A hypothesis inside the search. Ordered by score only, like the original Caption, so that
    heapq and list.sort break ties exactly as the original did."""

    __slots__ = ("logprob", "row", "score", "sentence", "word_probabilities")

    def __init__(
        self,
        sentence: tuple[int, ...],
        logprob: float,
        score: float,
        word_probabilities: tuple[float, ...],
        row: int,
    ) -> None:
        self.sentence = sentence
        self.logprob = logprob
        self.score = score
        self.word_probabilities = word_probabilities
        # Row of this hypothesis's LSTM state in the states array of the round that made it.
        self.row = row

    def __lt__(self, other: _Entry) -> bool:
        return self.score < other.score


class _TopN:
    """The original TopN: a min-heap of at most n entries."""

    __slots__ = ("heap", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self.heap: list[_Entry] = []

    def accepts(self, score: float) -> bool:
        """Whether push() would change the heap: heappushpop hands back, untouched, a newcomer
        that is not above the minimum (so one equal to the minimum is discarded)."""
        return len(self.heap) < self.n or self.heap[0].score < score

    def push(self, entry: _Entry) -> None:
        if len(self.heap) < self.n:
            heapq.heappush(self.heap, entry)
        else:
            heapq.heappushpop(self.heap, entry)

    def extract(self, sort: bool = False) -> list[_Entry]:
        """The entries in heap-array order, or best score first (a stable sort) when sort=True."""
        data = self.heap
        self.heap = []
        if sort:
            data.sort(reverse=True)
        return data


def beam_search(
    initial_states: np.ndarray,
    inference_step: InferenceStep,
    start_id: int,
    end_id: int,
    decode: DecodeConfig = _DEFAULT_DECODE,
    early_stop: bool = True,
) -> list[list[Hypothesis]]:
    """Captions for each image, best score first, at most decode.beam_size per image.

    initial_states: [num_images, state_size], the states after feed_image.
    inference_step: one LSTM step for a batch of (previous word, state) rows; it must treat rows
        independently and return probabilities (softmax values, each <= 1).
    early_stop: stop an image as soon as no later round can change its result (see _settled);
        the result is the same either way, only the number of rows computed changes.

    An image whose search found no complete caption gets its partial captions instead (never a
    mix), as the original did.
    """
    initial_states = np.asarray(initial_states)
    num_images = initial_states.shape[0]
    beam_size = decode.beam_size
    factor = decode.length_normalization_factor
    # Largest denominator any complete score can get, for the early-stop bound (see _settled).
    # Taken over every possible length rather than as max_caption_length ** factor, so that the
    # bound holds even if the computed power were not monotone in its last bit.
    max_denominator = max(score_denominators(decode))

    partial_captions = [_TopN(beam_size) for _ in range(num_images)]
    complete_captions = [_TopN(beam_size) for _ in range(num_images)]
    for image in range(num_images):
        partial_captions[image].push(_Entry((start_id,), 0.0, 0.0, (), image))
    running = list(range(num_images))
    states = initial_states  # the array every partial entry's `row` points into

    for _ in range(decode.max_caption_length - 1):
        if not running:
            break
        # Rows of this round: each running image's partial captions, in heap-array order.
        beams = [(image, entry) for image in running for entry in partial_captions[image].extract()]
        word_ids = np.array([entry.sentence[-1] for _, entry in beams], dtype=np.int64)
        rows = np.array([entry.row for _, entry in beams], dtype=np.int64)
        softmax, new_states = inference_step(word_ids, states[rows])
        softmax, new_states = np.asarray(softmax), np.asarray(new_states)
        if softmax.ndim != 2 or softmax.shape[0] != len(beams):
            raise ValueError(
                f"inference_step returned softmax of shape {softmax.shape} for {len(beams)} rows"
            )
        top_ids = _top_words(softmax, beam_size)  # [rows, min(beam_size, vocab)]
        top_probabilities = np.take_along_axis(softmax, top_ids, axis=1)
        if early_stop and top_probabilities.size and top_probabilities[:, 0].max() > 1.0:
            # Not probabilities: the bound below relies on log p <= 0.
            early_stop = False
        # Python ints and floats: the float64 comparisons and sums of the original, which did
        # `p < 1e-12` and `logprob + math.log(p)` on numpy float32 scalars under numpy 1.x.
        for row, ((image, entry), ids, probabilities) in enumerate(
            zip(beams, top_ids.tolist(), top_probabilities.tolist(), strict=True)
        ):
            for w, p in zip(ids, probabilities, strict=True):
                if p < _MIN_PROBABILITY:
                    continue
                logprob = entry.logprob + math.log(p)
                score = logprob
                if w == end_id:
                    length = len(entry.sentence) + 1
                    if factor > 0:
                        score /= length**factor
                    target = complete_captions[image]
                else:
                    target = partial_captions[image]
                if target.accepts(score):
                    target.push(
                        _Entry(
                            (*entry.sentence, w),
                            logprob,
                            score,
                            (*entry.word_probabilities, p),
                            row,
                        )
                    )
        states = new_states
        running = [
            image
            for image in running
            if partial_captions[image].heap
            and not (
                early_stop
                and _settled(partial_captions[image], complete_captions[image], max_denominator)
            )
        ]

    results = []
    for image in range(num_images):
        is_complete = bool(complete_captions[image].heap)
        chosen = complete_captions[image] if is_complete else partial_captions[image]
        results.append(
            [
                Hypothesis(e.sentence, e.logprob, e.score, e.word_probabilities, is_complete)
                for e in chosen.extract(sort=True)
            ]
        )
    return results


def score_denominators(decode: DecodeConfig) -> list[float]:
    """What a complete caption of n tokens (<S> and </S> counted) has its log-probability divided
    by to rank it, for n = 1 .. max_caption_length: n ** length_normalization_factor, or 1.0
    without length normalization (dividing by 1.0 changes no float)."""
    factor = decode.length_normalization_factor
    return [n**factor if factor > 0 else 1.0 for n in range(1, decode.max_caption_length + 1)]


def _settled(partial: _TopN, complete: _TopN, max_denominator: float) -> bool:
    """True when no later round can change this image's result, so it may leave the batch.

    Proof. The result is complete.extract(sort=True) once `complete` holds any entry, and a push
    into a full TopN changes nothing (not even the heap-array order) unless the newcomer's score
    is strictly above the current minimum; the minimum never decreases. Every later complete
    caption descends from a partial caption now in `partial`, with logprob L. Each further word
    adds math.log(p) <= 0 (p <= 1), and float addition of a non-positive number never increases a
    sum, so its final logprob L' <= L <= 0. With factor 0 its score is L' <= L. With factor f > 0
    its score is L' / n**f for its length n <= max_caption_length; as L' <= 0, dividing by the
    largest denominator D (>= n**f) gives the largest value, and float division is monotone, so
    score <= L' / D <= L / D. (A longer caption always scores at least as well, so a partial's
    current length gives no tighter bound.) Hence, once `complete` is full and
    max(L) / D <= its minimum score (D = 1 when f = 0), every later push is discarded.
    """
    if len(complete.heap) < complete.n:
        return False
    best_logprob = max(entry.logprob for entry in partial.heap)
    return best_logprob / max_denominator <= complete.heap[0].score


def _top_words(probabilities: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k most probable words of each row, most probable first: [rows, min(k, vocab)].

    Equal to the first k of a stable sort by descending probability (ties: lower id first), as
    the original did by sorting the whole row, without sorting whole rows.
    """
    vocab = probabilities.shape[1]
    if k >= vocab:
        return np.argsort(-probabilities, axis=1, kind="stable")
    # The k largest of each row, unordered. Among words tied with the k-th largest value,
    # argpartition keeps arbitrary ones; rows where that matters are fixed below.
    candidates = np.argpartition(probabilities, vocab - k, axis=1)[:, vocab - k :]
    candidates.sort(axis=1)  # by id, so the stable sort next puts the lower id first in a tie
    candidate_probabilities = np.take_along_axis(probabilities, candidates, axis=1)
    order = np.argsort(-candidate_probabilities, axis=1, kind="stable")
    top = np.take_along_axis(candidates, order, axis=1)
    kth = np.take_along_axis(probabilities, top[:, -1:], axis=1)  # [rows, 1], the k-th largest
    # Every word above the k-th value is among the candidates; a word equal to it may not be.
    tied_in_row = (probabilities == kth).sum(axis=1, dtype=np.int32)  # [rows]
    left_out = tied_in_row > (candidate_probabilities == kth).sum(axis=1)
    for row in np.flatnonzero(left_out):
        above = int((candidate_probabilities[row] > kth[row, 0]).sum())
        # top[row, :above] already holds the words above the k-th value in the right order; the
        # rest are the lowest ids among all words equal to it.
        top[row, above:] = np.flatnonzero(probabilities[row] == kth[row, 0])[: k - above]
    return top
