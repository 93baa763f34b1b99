"""The public API: load_captioner(path) -> a Captioner, which turns images into Captions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from im2txt.beam_search import Hypothesis
from im2txt.config import DecodeConfig, ModelConfig, ModelInfo
from im2txt.errors import Im2txtError, ModelError
from im2txt.image_loading import ImageInput, describe, load_image
from im2txt.image_processing import preprocess
from im2txt.progress import ImageProgress
from im2txt.results import Caption, CaptionBatch, ImageCaptions
from im2txt.storage import discovery
from im2txt.storage.model_files import read_model
from im2txt.vocabulary import Vocabulary

if TYPE_CHECKING:
    from im2txt.decoder import Decoder, Route
    from im2txt.model import ShowAndTellModel


class Captioner:
    """A loaded model with its vocabulary. Safe to share between threads and sessions."""

    def __init__(
        self,
        model: ShowAndTellModel,
        vocab: Vocabulary,
        info: ModelInfo,
        batch_size: int = 32,
        encoder_batch_size: int = 8,
    ) -> None:
        from im2txt.decoder import Decoder

        self.model = model
        self.vocab = vocab
        self.info = info
        # The beam search: one graph per call, the exact search for ties (see decoder.py).
        self.decoder: Decoder = Decoder(model, vocab.start_id, vocab.end_id)
        # Images preprocessed and searched together (bounds memory for long lists).
        self.batch_size = batch_size
        # Images per encoder call when more than one is waiting: on 2 cores the COCO-size encoder
        # takes ~70 ms an image one at a time and ~47 ms in batches of 4-16 (bench_caption.py),
        # ~110 MB more at its peak; its states differ from one-at-a-time ones by ~1e-5, which
        # left the words alone and moved probabilities by 3e-5 relative at most on 48 photos
        # (tests/test_work_queue.py). A single image is encoded alone, exactly like the original.
        self.encoder_batch_size = encoder_batch_size

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    def caption(
        self,
        image: ImageInput,
        *,
        decode: DecodeConfig | None = None,
    ) -> list[Caption]:
        """Captions of one image, best first. Raises ImageError for an unusable image."""
        return self.caption_many([image], decode=decode)[0]

    def caption_many(
        self,
        images: Sequence[ImageInput],
        *,
        decode: DecodeConfig | None = None,
        progress: ImageProgress | None = None,
    ) -> list[list[Caption]]:
        """Captions of many images, batched; the same as caption() on each; raises on bad input."""
        results = self._caption(images, None, decode or DecodeConfig(), progress, strict=True)
        return [list(result.captions) for result in results]

    def caption_each(
        self,
        images: Sequence[ImageInput],
        *,
        names: Sequence[str] | None = None,
        decode: DecodeConfig | None = None,
        progress: ImageProgress | None = None,
    ) -> CaptionBatch:
        """Like caption_many, but a bad image gives an error entry and the others still run."""
        return CaptionBatch(
            self._caption(images, names, decode or DecodeConfig(), progress, strict=False)
        )

    def warm_up(self) -> None:
        """Trace the TensorFlow functions now, so the first real caption is not slow."""
        size = (self.config.image_height, self.config.image_width, 3)
        with ThreadPoolExecutor(max_workers=1) as pool:
            searching = pool.submit(self.decoder.warm_up)
            self.model.feed_image(np.zeros((1, *size), np.float32))
            searching.result()

    # internals

    def _caption(
        self,
        images: Sequence[ImageInput],
        names: Sequence[str] | None,
        decode: DecodeConfig,
        progress: ImageProgress | None,
        strict: bool,
    ) -> list[ImageCaptions]:
        """Chunks of batch_size images: decoded in two threads while the encoder takes each one
        as it is ready; then one search for the chunk."""
        names = list(names) if names is not None else [describe(image) for image in images]
        route = self.decoder.route(len(images))
        results: list[ImageCaptions] = []
        with ThreadPoolExecutor(max_workers=2) as pool:
            for start in range(0, len(images), self.batch_size):
                chunk = range(start, min(start + self.batch_size, len(images)))
                prepared = [pool.submit(self._prepare, images[i], names[i]) for i in chunk]
                if route.build and start == 0:
                    self._build_search(pool)
                states, errors = self._encode_chunk(chunk, prepared, strict)
                found = self._search(states, decode, route)
                results += [
                    self._result(images[i], names[i], found.get(i), errors.get(i)) for i in chunk
                ]
                if progress:
                    progress(len(results), len(images))
        return results

    def _build_search(self, pool: ThreadPoolExecutor) -> None:
        """The encoder's graph is traced while the images are read; then the search graph is
        traced and optimised beside the first encoder run (tracing holds Python's lock,
        optimising and running do not)."""
        self.model.trace()
        pool.submit(self.decoder.warm_up)

    def _encode_chunk(
        self, chunk: range, prepared: list[Future[np.ndarray]], strict: bool
    ) -> tuple[dict[int, np.ndarray], dict[int, str]]:
        """({index: state}, {index: error}) for a chunk's images, as each is read, in encoder
        batches of encoder_batch_size; strict raises the first image's error instead."""
        states: dict[int, np.ndarray] = {}
        errors: dict[int, str] = {}
        pending: list[tuple[int, np.ndarray]] = []
        for i, future in zip(chunk, prepared, strict=True):
            try:
                pending.append((i, future.result()))
            except Im2txtError as e:
                if strict:
                    raise
                errors[i] = str(e)
            if len(pending) == self.encoder_batch_size or i == chunk[-1]:
                states.update(self._encode(pending))
                pending = []
        return states, errors

    def _search(
        self, states: dict[int, np.ndarray], decode: DecodeConfig, route: Route
    ) -> dict[int, list[Hypothesis]]:
        """{index: hypotheses} for {index: state}, in one search."""
        if not states:
            return {}
        found = self.decoder.search(np.stack(list(states.values())), decode, route)
        return dict(zip(states, found, strict=True))

    def _result(
        self,
        image: ImageInput,
        name: str,
        hypotheses: list[Hypothesis] | None,
        error: str | None,
    ) -> ImageCaptions:
        path = _file_path(image)
        if error is not None:
            return ImageCaptions(name, error=error, path=path)
        captions = tuple(self._to_caption(h) for h in hypotheses or ())
        return ImageCaptions(name, captions, path=path)

    def _prepare(self, image: ImageInput, name: str | None = None) -> np.ndarray:
        return preprocess(load_image(image, name).pixels, self.config)

    def _encode(self, prepared: list[tuple[int, np.ndarray]]) -> dict[int, np.ndarray]:
        """{index: state} for (index, preprocessed image) pairs, in one encoder call."""
        if not prepared:
            return {}
        states = self.model.feed_image(np.stack([pixels for _, pixels in prepared]))
        return {i: state for (i, _), state in zip(prepared, states, strict=True)}

    def _to_caption(self, hypothesis: Hypothesis) -> Caption:
        tokens = list(hypothesis.sentence[1:])  # drop <S>
        probabilities = list(hypothesis.word_probabilities)
        end_probability = None
        if hypothesis.complete:
            tokens.pop()
            end_probability = probabilities.pop()
        return Caption(
            words=tuple(self.vocab.output_word(int(t)) for t in tokens),
            log_probability=float(hypothesis.logprob),
            word_probabilities=tuple(float(p) for p in probabilities),
            end_probability=None if end_probability is None else float(end_probability),
            score=float(hypothesis.score),
        )


def _file_path(image: ImageInput) -> Path | None:
    """The absolute path of an input given as a path (a notebook may change folder before it
    shows the result), else None."""
    if not isinstance(image, (str, os.PathLike)):
        return None
    try:
        return Path(image).absolute()
    except (TypeError, ValueError):  # a bytes path: load_image reports it as an error entry
        return None


def load_captioner(path: str | Path | None = None, vocab: str | Path | None = None) -> Captioner:
    """Load a model: an original checkpoint (folder or prefix), a bundle folder, or the default.

    With no path: a model in the models folder (see storage.locations), else the demo model.
    `vocab` overrides the word_counts.txt found beside the model.
    """
    return Captioner(*load_network(path, vocab))


def load_network(
    path: str | Path | None = None, vocab: str | Path | None = None, variables: bool = False
) -> tuple[ShowAndTellModel, Vocabulary, ModelInfo]:
    """The network built from a model's files (path as for load_captioner), its vocabulary and
    its info; the weights as tf.Variables with `variables` (a SavedModel needs them)."""
    from im2txt.model import ShowAndTellModel

    if path is None:
        path = discovery.default_model().path
    files = read_model(path, vocab)
    try:
        model = ShowAndTellModel(files.config, files.weights, variables=variables)
    except ValueError as e:
        raise ModelError(f"{path}: {e}") from None
    finally:
        files.close()  # the weights are in the model's tensors now
    return model, files.vocabulary, files.info
