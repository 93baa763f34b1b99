"""A model on disk (original checkpoint or bundle) -> its config, lazy weights, vocabulary and info.

The one place that finds a model's vocabulary and checks that it fits the model's softmax; loading
(captioner), converting (bundle) and checking a download (install) all read models through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from im2txt.config import ModelConfig, ModelInfo
from im2txt.errors import ModelError
from im2txt.storage import bundle, checkpoint
from im2txt.vocabulary import VOCAB_NAME, Vocabulary
from im2txt.weights import count_parameters


@dataclass(frozen=True)
class ModelFiles:
    config: ModelConfig
    # Weight name -> array, read on access (a checkpoint reader or an open .npz).
    weights: Mapping[str, np.ndarray]
    vocabulary: Vocabulary
    vocab_path: Path
    # vocab_size, parameters and source filled in.
    info: ModelInfo
    # "bundle" or "checkpoint".
    format: str

    def close(self) -> None:
        """Release the weights file (a bundle's open .npz) once the weights have been read."""
        if isinstance(self.weights, bundle.BundleWeights):
            self.weights.close()


def read_model(path: str | Path, vocab: str | Path | None = None) -> ModelFiles:
    """Read a bundle folder, or an original checkpoint (folder or prefix); ModelError on any
    problem. `vocab` overrides the word_counts.txt found beside the model."""
    path = Path(path)
    if path.is_dir() and bundle.is_bundle(path):
        config, weights, info = bundle.read_bundle(path)
        vocab_path = Path(vocab) if vocab else path / bundle.VOCAB_FILE
        source, form = path, "bundle"
    else:
        prefix = checkpoint.checkpoint_prefix(path)
        config, weights = checkpoint.read_checkpoint(prefix)
        vocab_path = Path(vocab) if vocab else _vocab_beside(prefix)
        source, form = prefix, "checkpoint"
        info = ModelInfo(
            name=f"im2txt COCO checkpoint {prefix.name}",
            kind="coco",
            origin=str(prefix),
            vocab_size=0,
            description="The original Show and Tell model in its TF1 checkpoint.",
        )
    try:
        vocabulary = Vocabulary.from_file(vocab_path)
        if len(vocabulary) > config.vocab_size:
            raise ModelError(
                f"{vocab_path}: vocabulary has {len(vocabulary)} words (with <UNK>) but the "
                f"model's softmax has {config.vocab_size}: this vocabulary does not belong to "
                "this model"
            )
    except ModelError:
        if isinstance(weights, bundle.BundleWeights):
            weights.close()  # nothing of a rejected folder stays open
        raise
    info = replace(
        info,
        vocab_size=len(vocabulary),
        parameters=count_parameters(config),
        source=str(source),
    )
    return ModelFiles(config, weights, vocabulary, vocab_path, info, form)


def _vocab_beside(prefix: Path) -> Path:
    """The checkpoint's word_counts.txt: beside it, or one folder up."""
    for folder in (prefix.parent, prefix.parent.parent):
        candidate = folder / VOCAB_NAME
        if candidate.is_file():
            return candidate
    raise ModelError(
        f"{prefix}: no {VOCAB_NAME} beside the checkpoint; put the vocabulary it was "
        "trained with there, or pass it explicitly (--vocab)"
    )
