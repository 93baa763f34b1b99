"""A tiny random-weights model in the project's bundle format, for tests that need any model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from im2txt.config import ModelConfig, ModelInfo
from im2txt.storage import bundle
from im2txt.weights import weight_shapes

TINY_CONFIG = ModelConfig(
    encoder="small_cnn",
    resize_height=40,
    resize_width=40,
    image_height=32,
    image_width=32,
    encoder_filters=(4, 8),
    embedding_size=16,
    num_lstm_units=16,
    vocab_size=9,  # the 8 words + <UNK>
)
TINY_WORDS = ["<S>", "</S>", "a", "red", "blue", "circle", "square", "."]


def tiny_weights(seed: int = 0, end_bias: float = 0.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = {
        name: rng.normal(0, 0.5, shape).astype(np.float32)
        for name, shape in weight_shapes(TINY_CONFIG).items()
    }
    weights["logits/biases"][1] += end_bias  # </S> is id 1: captions end at varied lengths
    return weights


def write_tiny_bundle(folder: Path, seed: int = 0, kind: str = "custom") -> Path:
    vocab = folder.parent / f"{folder.name}-words.txt"
    folder.parent.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(f"{w} {100 - i}" for i, w in enumerate(TINY_WORDS)))
    info = ModelInfo(name="tiny test model", kind=kind, origin="tests/tiny_model.py", vocab_size=0)
    bundle.write_bundle(folder, TINY_CONFIG, tiny_weights(seed), vocab, info)
    return folder
