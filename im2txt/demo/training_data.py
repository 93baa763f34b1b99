"""The demo model's training data: generated scenes as preprocessed images, labels, caption ids."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from im2txt.config import ModelConfig
from im2txt.demo import scenes
from im2txt.demo.network import (
    NUM_LABELS,
    object_labels,
)
from im2txt.image_processing import preprocess
from im2txt.progress import ImageProgress
from im2txt.vocabulary import END_WORD, START_WORD, Vocabulary

# Training scenes come from SeedSequence((seed, 0)); evaluation.py's held-out ones from another
# stream.
TRAIN_STREAM = 0


@dataclass(frozen=True)
class Dataset:
    images: np.ndarray  # [num_scenes, image_height, image_width, 3] float16, preprocessed
    captions: np.ndarray  # [num_scenes, max_references, max_words + 2] int32: <S> w1 .. wn </S>
    lengths: np.ndarray  # [num_scenes, max_references] tokens incl. <S> and </S>; 0 = no caption
    references: np.ndarray  # [num_scenes] reference captions of each scene
    labels: np.ndarray  # [num_scenes, NUM_LABELS] uint8, object_labels of each scene
    word_counts: Counter


def training_scenes(
    seed: int,
    count: int,
    config: ModelConfig,
    vocab: Vocabulary,
    progress: ImageProgress | None,
) -> Dataset:
    rng = np.random.default_rng(np.random.SeedSequence((seed, TRAIN_STREAM)))
    images = np.empty((count, config.image_height, config.image_width, 3), np.float16)
    labels = np.zeros((count, NUM_LABELS), np.uint8)
    tokenised: list[list[list[int]]] = []
    counts: Counter = Counter()
    for i in range(count):
        scene = scenes.random_scene(rng)
        # The captioner's own preprocessing; float16 keeps 24k scenes in ~2.4 GB (error < 1e-3).
        images[i] = preprocess(scene.image, config)
        labels[i] = object_labels(scene.objects)
        refs = []
        for caption in scene.captions:
            words = [START_WORD, *caption.split(" "), END_WORD]
            counts.update(words)
            refs.append([vocab.word_to_id(w) for w in words])
        tokenised.append(refs)
        if progress and ((i + 1) % 500 == 0 or i + 1 == count):
            progress(i + 1, count)  # scenes rendered, of count
    max_refs = max(len(refs) for refs in tokenised)
    max_tokens = max(len(ids) for refs in tokenised for ids in refs)
    captions = np.zeros((count, max_refs, max_tokens), np.int32)
    lengths = np.zeros((count, max_refs), np.int32)
    for i, refs in enumerate(tokenised):
        for j, ids in enumerate(refs):
            captions[i, j, : len(ids)] = ids
            lengths[i, j] = len(ids)
    references = np.array([len(refs) for refs in tokenised], np.int32)
    return Dataset(images, captions, lengths, references, labels, counts)


def encoder_batch(data: Dataset, rng: np.random.Generator, batch_size: int):
    rows = rng.integers(len(data.images), size=batch_size)
    return data.images[rows].astype(np.float32), data.labels[rows].astype(np.float32)


def caption_batch(data: Dataset, rng: np.random.Generator, batch_size: int):
    """A random batch: images, <S> w1 .. wn (padded), w1 .. wn </S>, and the mask of real words."""
    rows = rng.integers(len(data.images), size=batch_size)
    choice = (rng.random(batch_size) * data.references[rows]).astype(np.int64)
    tokens = data.captions[rows, choice]  # [batch, max tokens]
    lengths = data.lengths[rows, choice]
    time_steps = int(lengths.max()) - 1
    inputs = tokens[:, :time_steps]
    targets = tokens[:, 1 : time_steps + 1]
    mask = (np.arange(time_steps)[None, :] < (lengths - 1)[:, None]).astype(np.float32)
    return data.images[rows].astype(np.float32), inputs, targets, mask
