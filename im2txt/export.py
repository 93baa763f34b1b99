"""The exported model: a TensorFlow SavedModel that turns encoded images into captions, no Python.

Its serving_default signature:

    images             tf.string  [batch]             encoded JPEG or PNG bytes (GIF, BMP too)
    captions           tf.string  [batch, beam_size]  best first, "" where fewer were found
    log_probabilities  tf.float32 [batch, beam_size]  natural log of each caption's probability
                                                      (-inf where fewer were found)

Everything is in the graph: decoding and the original preprocessing (image_graph.py), the
encoder one image at a time (as the Captioner runs it, so the same bits come out), the beam
search (graph_search.py) and the words. The weights are variables. Any TensorFlow runtime
serves it (TensorFlow Serving, tf.saved_model.load, the C++ or Java APIs); nothing of im2txt is
needed. Where two captions' scores tie exactly the graph keeps the lower index, which may differ
from the original's heap order that the Captioner follows (beam_search.py is the reference).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from im2txt.beam_search import score_denominators
from im2txt.captioner import load_network
from im2txt.config import DecodeConfig, ModelInfo
from im2txt.errors import ModelError
from im2txt.graph_search import graph_beam_search
from im2txt.image_graph import preprocess_encoded
from im2txt.model import ShowAndTellModel
from im2txt.vocabulary import UNKNOWN_WORD, Vocabulary

SIGNATURE = "serving_default"


@dataclass(frozen=True)
class ExportedModel:
    """What export_model wrote."""

    path: Path
    info: ModelInfo
    decode: DecodeConfig


class CaptionModule(tf.Module):
    """The SavedModel's root: the weights as variables and the serving function."""

    def __init__(self, model: ShowAndTellModel, vocab: Vocabulary, decode: DecodeConfig) -> None:
        super().__init__(name="im2txt")
        self.model_weights = model.variables  # tracked, so saved under variables/
        self._model = model
        self._decode = decode
        self._start_id = vocab.start_id
        self._end_id = vocab.end_id
        # Word of every softmax id; ids past the vocabulary read "<UNK>" (Vocabulary.id_to_word).
        size = model.config.vocab_size
        self._words = tf.constant([vocab.id_to_word(i) for i in range(size)] or [UNKNOWN_WORD])
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None], tf.string, name="images")],
            autograph=False,
        )

    def _serve(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        config = self._model.config
        state_size = 2 * config.num_lstm_units

        def encode(data):
            pixels = preprocess_encoded(data, config)
            return self._model.feed_image_graph(pixels[None])[0]  # [state_size]

        # One image at a time: one decoded photo in memory, and the Captioner's encoder batches.
        states = tf.map_fn(
            encode,
            images,
            fn_output_signature=tf.TensorSpec([state_size], tf.float32),
            parallel_iterations=1,
        )
        decode = self._decode
        found = graph_beam_search(
            states,
            self._model.inference_step_graph,
            self._start_id,
            self._end_id,
            decode.beam_size,
            decode.max_caption_length,
            tf.constant(score_denominators(decode), tf.float64),
        )
        # The words after <S>, without the </S> of a complete caption, in found slots only.
        positions = tf.range(decode.max_caption_length)[None, None, :]
        ends = found.lengths - tf.cast(found.complete, tf.int32)[:, None]  # [batch, K]
        slots = tf.range(decode.beam_size)[None, :] < found.counts[:, None]  # [batch, K]
        keep = (positions >= 1) & (positions < ends[:, :, None]) & slots[:, :, None]
        words = tf.ragged.boolean_mask(tf.gather(self._words, found.tokens), keep)
        captions = tf.strings.reduce_join(words, axis=-1, separator=" ").to_tensor()
        shape = [None, decode.beam_size]
        return {
            "captions": tf.ensure_shape(captions, shape),
            "log_probabilities": tf.ensure_shape(
                tf.cast(found.log_probabilities, tf.float32), shape
            ),
        }


def export_model(
    out_dir: str | Path,
    model_path: str | Path | None = None,
    decode: DecodeConfig | None = None,
) -> ExportedModel:
    """Write the model at model_path (default: the one load_captioner picks) as a SavedModel in
    out_dir, which must be empty or absent. Raises ModelError when it cannot."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ModelError(f"{out_dir}: already exists and is not an empty folder")
    decode = decode or DecodeConfig()
    model, vocabulary, info = load_network(model_path, variables=True)
    module = CaptionModule(model, vocabulary, decode)
    signature = module.serve.get_concrete_function()
    tf.saved_model.save(module, str(out_dir), signatures={SIGNATURE: signature})
    return ExportedModel(out_dir, info, dataclasses.replace(decode))
