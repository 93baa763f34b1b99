"""Decoding: the states after feed_image -> each image's hypotheses, in one TensorFlow call.

The whole beam search runs as one graph (graph_search.py). Its captions become Hypothesis objects
whose numbers are recomputed here exactly as beam_search.py computes them (math.log of each
float32 probability, summed in order; the score divided by the same denominators), so both give
the same floats for the same probabilities. An image whose graph search met tied scores is
searched again by beam_search.py, which follows the original's heap rules for ties:
beam_search.py is the one source of truth, the graph search a faster route to the same answer.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import tensorflow as tf

from im2txt.beam_search import Hypothesis, beam_search, score_denominators
from im2txt.config import DecodeConfig
from im2txt.graph_search import graph_beam_search


class SearchModel(Protocol):
    """What decoding needs of a model: the inference step in numpy and as graph ops (the
    signatures of beam_search.InferenceStep and graph_search.GraphInferenceStep), read-only."""

    @property
    def state_size(self) -> int: ...

    def inference_step(
        self, input_feed: np.ndarray, state_feed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def inference_step_graph(
        self, input_feed: tf.Tensor, state_feed: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]: ...


@dataclass(frozen=True)
class Route:
    """How one captioning call searches: what Decoder.route chose for it."""

    # Search with the graph; else step by step with beam_search.py (the same answers).
    graph: bool
    # The graph is not built yet: the caller may warm_up beside its encoder before searching.
    build: bool


GRAPH = Route(graph=True, build=False)


class Decoder:
    """Beam search for one model; safe to share between threads."""

    def __init__(self, model: SearchModel, start_id: int, end_id: int) -> None:
        self.model = model
        self.start_id = start_id
        self.end_id = end_id
        # One trace serves every DecodeConfig: beam size and lengths are tensors.
        self._search = tf.function(
            self._search_graph,
            input_signature=[
                tf.TensorSpec([None, model.state_size], tf.float32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([None], tf.float64),
            ],
            autograph=False,  # the loop is an explicit tf.while_loop
        )
        self._lock = threading.Lock()
        # True once the search graph has been traced and run (the first call optimises it).
        self.ready = False
        # Images decided by the graph search, and by beam_search.py (after a tie, or asked for)
        # since loading.
        self.graph_images = 0
        self.exact_images = 0
        self._routed = False  # whether a call has been routed yet (see route)

    def warm_up(self) -> None:
        """Trace the search graph and run it once on a blank image (0.3-0.5 s, once)."""
        self._search(
            tf.zeros([1, self.model.state_size], tf.float32),
            tf.constant(1, tf.int32),
            tf.constant(2, tf.int32),
            tf.ones([2], tf.float64),
        )
        self.ready = True

    def route(self, num_images: int) -> Route:
        """How a call that will search num_images images in all should search them.

        A first call for one image (a one-shot command line) searches step by step: building the
        search graph (~0.5 s of CPU) would cost it more than the graph saves. Any other call uses
        the graph, built on the first one that needs it. The answers are the same.
        """
        with self._lock:
            graph = self.ready or self._routed or num_images > 1
            self._routed = True
        return Route(graph=graph, build=graph and not self.ready)

    def search(
        self, initial_states: np.ndarray, decode: DecodeConfig, route: Route = GRAPH
    ) -> list[list[Hypothesis]]:
        """Each image's hypotheses, best first, exactly as beam_search.beam_search returns them.

        initial_states: [num_images, state_size], the states after feed_image.
        route: the call's route (see route); by default the graph.
        """
        initial_states = np.asarray(initial_states, np.float32)
        if len(initial_states) == 0:
            return []
        if not route.graph:
            with self._lock:
                self.exact_images += len(initial_states)
            return self._exact(initial_states, decode)
        denominators = score_denominators(decode)
        found = self._search(
            tf.constant(initial_states),
            tf.constant(decode.beam_size, tf.int32),
            tf.constant(decode.max_caption_length, tf.int32),
            tf.constant(denominators, tf.float64),
        )
        tokens = found.tokens.numpy()
        probabilities = found.probabilities.numpy()
        lengths = found.lengths.numpy().tolist()
        counts = found.counts.numpy().tolist()
        complete = found.complete.numpy().tolist()
        tied = found.tied.numpy().tolist()
        results: list[list[Hypothesis]] = [
            [
                _hypothesis(
                    tokens[image, j, : lengths[image][j]],
                    probabilities[image, j, 1 : lengths[image][j]],
                    complete[image],
                    denominators,
                )
                for j in range(0 if tied[image] else counts[image])
            ]
            for image in range(len(initial_states))
        ]
        again = [image for image in range(len(initial_states)) if tied[image]]
        if again:
            exact = self._exact(initial_states[again], decode)
            for image, hypotheses in zip(again, exact, strict=True):
                results[image] = hypotheses
        self.ready = True
        with self._lock:
            self.exact_images += len(again)
            self.graph_images += len(initial_states) - len(again)
        return results

    def _exact(self, initial_states: np.ndarray, decode: DecodeConfig) -> list[list[Hypothesis]]:
        return beam_search(
            initial_states, self.model.inference_step, self.start_id, self.end_id, decode
        )

    def _search_graph(self, states, beam_size, max_caption_length, denominators):
        return graph_beam_search(
            states,
            self.model.inference_step_graph,
            self.start_id,
            self.end_id,
            beam_size,
            max_caption_length,
            denominators,
        )


def _hypothesis(
    tokens: np.ndarray, probabilities: np.ndarray, complete: bool, denominators: list[float]
) -> Hypothesis:
    """One caption with beam_search.py's arithmetic: float32 probabilities as Python floats,
    math.log summed left to right, the score divided as the original did."""
    word_probabilities = tuple(probabilities.tolist())
    logprob = 0.0
    for p in word_probabilities:
        logprob += math.log(p)
    sentence = tuple(tokens.tolist())
    score = logprob / denominators[len(sentence) - 1] if complete else logprob
    return Hypothesis(sentence, logprob, score, word_probabilities, complete)
