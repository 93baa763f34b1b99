"""The beam search as one TensorFlow graph: every round inside a tf.while_loop, no Python between.

It keeps what the original search (beam_search.py) keeps whenever the scores it compares differ:
each round every partial caption is expanded with its beam_size most probable words (top_k puts
the lower id first in a tie, like the original's stable sort), words below 1e-12 are skipped,
new partial captions are the beam_size best by log-probability, complete captions (ending in
</S>) the beam_size best by score over all rounds, and the partial captions come back only when
no caption completed. The original's TopN heap decides what happens when two scores are *equal*
(a newcomer equal to the minimum is dropped, equal scores keep their heap order); a graph of
top_k calls cannot follow that, and its float64 log may differ from Python's math.log in the
last bit. So the search reports, per image, whether it compared two scores closer than
TIE_TOLERANCE anywhere that mattered: at a beam's boundary, or between two captions it returns.
Such an image is decided by beam_search.py, the one source of truth (decoder.py does that); an
exported model, which has no Python, keeps the graph's answer (lower index first).

Rows are compacted every round: the LSTM and the softmax run only on partial captions that can
still change a result. Like beam_search.py, an image stops once no partial caption can beat its
worst complete one; here a partial caption that cannot is also dropped on its own, while others of
its image go on (the result is the same: see the proof in beam_search._settled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

# (word ids int64 [rows], states [rows, state_size]) -> (softmax [rows, vocab], new states).
GraphInferenceStep = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]

# Two scores closer than this (relative) count as tied. The graph's float64 log-probabilities
# differ from math.log sums by at most a few units in the last place per word (~1e-16 relative),
# far below this; scores of different captions are this close in practice only when equal.
TIE_TOLERANCE = 1e-11

# Candidate words less probable than this are never taken (the original's threshold).
_MIN_PROBABILITY = 1e-12
_NO_SCORE = float("-inf")


class GraphSearchResult(NamedTuple):
    """Each image's captions, best first; K = beam_size, T = max_caption_length."""

    # [batch, K, T] int32 word ids from <S>; valid up to `lengths`, then padding.
    tokens: tf.Tensor
    # [batch, K, T] float32: probability of token t (position 0, <S>, holds 1).
    probabilities: tf.Tensor
    # [batch, K] int32: tokens in each caption, <S> (and </S> when complete) included.
    lengths: tf.Tensor
    # [batch, K] float64: sum of the graph's log-probabilities (-inf where no caption).
    log_probabilities: tf.Tensor
    # [batch] int32: captions found, at most K.
    counts: tf.Tensor
    # [batch] bool: complete captions, or the partial fallback.
    complete: tf.Tensor
    # [batch] bool: two scores the result depends on were tied (see TIE_TOLERANCE).
    tied: tf.Tensor
    # int32 scalar: rounds run (each one inference_step over the rows still searching).
    rounds: tf.Tensor


def graph_beam_search(
    initial_states: tf.Tensor,
    inference_step: GraphInferenceStep,
    start_id: int,
    end_id: int,
    beam_size: tf.Tensor | int,
    max_caption_length: tf.Tensor | int,
    denominators: tf.Tensor,
) -> GraphSearchResult:
    """The search over a batch of images, in graph ops (call it inside a tf.function).

    initial_states: [batch, state_size] float32, the states after feed_image.
    denominators: [max_caption_length] float64; a complete caption of n tokens scores
        log-probability / denominators[n - 1] (all ones without length normalization; computed
        in Python by beam_search.score_denominators, so that they equal the original's pow).
    """
    batch = tf.shape(initial_states)[0]
    # Static when known, so that the states reshaped in the loop have a known width.
    state_size = initial_states.shape[1] or tf.shape(initial_states)[1]
    k = tf.convert_to_tensor(beam_size, tf.int32)
    length = tf.convert_to_tensor(max_caption_length, tf.int32)
    denominators = tf.convert_to_tensor(denominators, tf.float64)
    # The largest denominator any complete caption can get bounds every later score (see
    # beam_search._settled); computed over all lengths as there.
    max_denominator = tf.reduce_max(denominators)
    positions = tf.range(length)  # [T]
    beam = tf.range(k)  # [K]

    # Partial captions [batch, K, ...]: only <S> in slot 0 at first; -inf marks an empty slot.
    first = tf.equal(beam, 0)[None, :]  # [1, K]
    partial = (
        tf.fill([batch, k, length], tf.constant(start_id, tf.int32)),
        tf.ones([batch, k, length], tf.float32),
        tf.where(first, tf.constant(0.0, tf.float64), _NO_SCORE) + tf.zeros([batch, 1], tf.float64),
        tf.where(first[:, :, None], initial_states[:, None, :], 0.0),
    )
    complete = (
        tf.zeros([batch, k, length], tf.int32),
        tf.ones([batch, k, length], tf.float32),
        tf.fill([batch, k], tf.constant(_NO_SCORE, tf.float64)),  # log-probabilities
        tf.fill([batch, k], tf.constant(_NO_SCORE, tf.float64)),  # scores
        tf.zeros([batch, k], tf.int32),  # lengths
    )
    flags = (
        tf.ones([batch], tf.bool),  # still searching
        tf.zeros([batch], tf.bool),  # tied
        tf.constant(True),  # every probability so far <= 1, so that the settle bound holds
    )

    def round_(r, partial, complete, flags):
        tokens, probabilities, logprobs, states = partial
        _, tied, bounded = flags
        # This round's rows: the partial captions left (dropped ones have a -inf log-probability).
        rows = tf.reshape(tf.math.is_finite(logprobs), [-1])  # [batch * K]
        row_ids = tf.where(rows)  # [rows, 1] int64
        words = tf.gather_nd(tf.reshape(tf.gather(tokens, r, axis=2), [-1]), row_ids)
        softmax, new_states = inference_step(
            tf.cast(words, tf.int64), tf.gather_nd(tf.reshape(states, [-1, state_size]), row_ids)
        )
        kw = tf.minimum(k, tf.shape(softmax)[1])  # words tried per caption
        top_p, top_id = tf.math.top_k(softmax, kw)  # [rows, kw], lower id first in a tie
        # Back to [batch, K * kw] slots; empty slots get p = 0, which the threshold skips.
        top_p = tf.reshape(tf.scatter_nd(row_ids, top_p, [batch * k, kw]), [batch, k * kw])
        top_id = tf.reshape(tf.scatter_nd(row_ids, top_id, [batch * k, kw]), [batch, k * kw])
        new_states = tf.reshape(tf.scatter_nd(row_ids, new_states, [batch * k, state_size]),
                                [batch, k, state_size])  # fmt: skip
        parent = tf.range(k * kw) // kw  # [K * kw]: the caption each candidate extends
        p64 = tf.cast(top_p, tf.float64)
        logprob = tf.gather(logprobs, parent, axis=1) + tf.math.log(p64)  # [batch, K * kw]
        taken = p64 >= _MIN_PROBABILITY
        ends = tf.equal(top_id, end_id)
        at_new_word = tf.equal(positions, r + 1)  # [T]

        # Partial captions: the K best continuations that do not end.
        candidates = tf.where(taken & ~ends, logprob, _NO_SCORE)
        best, chosen, tie = _top(candidates, k)
        mother = tf.gather(parent, chosen)  # [batch, K]
        tokens_next = tf.where(
            at_new_word, tf.gather(top_id, chosen, batch_dims=1)[:, :, None],
            tf.gather(tokens, mother, batch_dims=1),
        )  # fmt: skip
        probabilities_next = tf.where(
            at_new_word, tf.gather(top_p, chosen, batch_dims=1)[:, :, None],
            tf.gather(probabilities, mother, batch_dims=1),
        )  # fmt: skip
        partial_next = (
            tokens_next,
            probabilities_next,
            best,
            tf.gather(new_states, mother, batch_dims=1),
        )

        # Complete captions: the K best of those kept so far and this round's endings.
        c_tokens, c_probabilities, c_logprobs, c_scores, c_lengths = complete
        endings = tf.where(taken & ends, logprob / denominators[r + 1], _NO_SCORE)
        c_best, c_chosen, c_tie = _top(tf.concat([c_scores, endings], axis=1), k)
        ending_tokens = tf.where(at_new_word, end_id, tf.gather(tokens, parent, axis=1))
        ending_probabilities = tf.where(
            at_new_word, top_p[:, :, None], tf.gather(probabilities, parent, axis=1)
        )
        ending_lengths = tf.fill([batch, k * kw], r + 2)

        def kept(old, new):  # [batch, K, ...] of the K chosen among old + new
            return tf.gather(tf.concat([old, new], axis=1), c_chosen, batch_dims=1)

        complete_next = (
            kept(c_tokens, ending_tokens),
            kept(c_probabilities, ending_probabilities),
            kept(c_logprobs, logprob),
            c_best,
            kept(c_lengths, ending_lengths),
        )

        # Once an image's complete beam is full, a partial caption whose log-probability bounds
        # every descendant's score below the worst complete one can change nothing (see
        # beam_search._settled): it is dropped, with a margin so that a near-tie stays. An image
        # without partial captions left is settled.
        bounded = bounded & (tf.reduce_max(top_p) <= 1.0)
        worst = c_best[:, -1:]  # [batch, 1], -inf until the beam is full
        margin = TIE_TOLERANCE * tf.abs(worst)
        beaten = bounded & (best / max_denominator < worst - margin)
        best = tf.where(beaten, tf.constant(_NO_SCORE, tf.float64), best)
        partial_next = (partial_next[0], partial_next[1], best, partial_next[3])
        searching = tf.math.is_finite(best[:, 0])
        return r + 1, partial_next, complete_next, (searching, tied | tie | c_tie, bounded)

    loop_vars = (tf.constant(0), partial, complete, flags)
    rounds, partial, complete, flags = tf.while_loop(
        lambda r, partial, complete, flags: (r < length - 1) & tf.reduce_any(flags[0]),
        round_,
        loop_vars,
        # Only ranks are fixed: beam_size and lengths may be Python ints or tensors.
        shape_invariants=tf.nest.map_structure(lambda t: tf.TensorShape([None] * t.shape.rank),
                                               loop_vars),
    )  # fmt: skip
    tokens, probabilities, logprobs, _ = partial
    c_tokens, c_probabilities, c_logprobs, c_scores, c_lengths = complete
    has_complete = tf.math.is_finite(c_scores[:, 0])  # [batch]
    pick = has_complete[:, None]
    scores = tf.where(pick, c_scores, logprobs)  # [batch, K], best first
    found = tf.math.is_finite(scores)
    # Equal scores among the returned captions: the original's order is its heap's.
    tied = flags[1] | tf.reduce_any(_near(scores[:, :-1], scores[:, 1:]) & found[:, 1:], axis=1)
    return GraphSearchResult(
        tokens=tf.where(pick[:, :, None], c_tokens, tokens),
        probabilities=tf.where(pick[:, :, None], c_probabilities, probabilities),
        lengths=tf.where(pick, c_lengths, rounds + 1),
        log_probabilities=tf.where(pick, c_logprobs, logprobs),
        counts=tf.reduce_sum(tf.cast(found, tf.int32), axis=1),
        complete=has_complete,
        tied=tied,
        rounds=rounds,
    )


def _top(scores: tf.Tensor, k: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The k best of [batch, n >= k] scores -> (values, indices, tied [batch]): tied when the
    k-th and the (k+1)-th are both real scores closer than TIE_TOLERANCE (who is kept then is
    the heap's decision)."""
    n = tf.shape(scores)[1]
    values, indices = tf.math.top_k(scores, tf.minimum(k + 1, n))
    # A -inf column stands for the (k+1)-th when there are only k candidates.
    padded = tf.pad(values, [[0, 0], [0, 1]], constant_values=_NO_SCORE)
    kth, next_ = padded[:, k - 1], padded[:, k]
    tied = tf.math.is_finite(next_) & _near(kth, next_)
    return values[:, :k], indices[:, :k], tied


def _near(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.abs(a - b) <= TIE_TOLERANCE * tf.maximum(tf.abs(a), tf.abs(b))
