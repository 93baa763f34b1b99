"""Training the demo model on generated scenes (its scores on held-out ones: evaluation.py).

The demo model is the COCO model's decoder (image_embedding, seq_embedding, LSTM, logits, the
same beam search) behind a small convolutional encoder ("small_cnn"), trained here on
scenes.random_scene in two stages, as the original's Inception v3 came trained on ImageNet:

1. The encoder learns which coloured shapes an image holds, through two classifier heads that
   are dropped afterwards: one on its feature map max-pooled over positions, one on the image
   embedding.
2. The captions, by teacher forcing as in the original im2txt: the image embedding goes through
   the LSTM first (output discarded), then <S> w1 ... wn predicts w1 ... wn </S>; a masked
   cross-entropy, gradients clipped by global norm, the encoder frozen.

The maths is model.py's (small_cnn_features, lstm_cell) over trainable variables named as in
weights.weight_shapes, so the result is an ordinary bundle, written with its model card.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsFloat

import numpy as np

from im2txt.config import ModelConfig, ModelInfo
from im2txt.demo.adam import Adam, learning_rate_at
from im2txt.demo.evaluation import evaluate, held_out_scenes
from im2txt.demo.model_card import DEMO_DESCRIPTION, DEMO_NAME, model_card, training_command
from im2txt.demo.network import (
    DEMO_CONFIG,
    EMBEDDING_HEAD_BIASES,
    EMBEDDING_HEAD_WEIGHTS,
    HEAD_BIASES,
    HEAD_WEIGHTS,
    POSITIONAL_EMBEDDING,
    Network,
    demo_words,
    initial_weights,
)
from im2txt.demo.training_data import (
    TRAIN_STREAM,
    Dataset,
    caption_batch,
    encoder_batch,
    training_scenes,
)
from im2txt.demo.values import DemoReport, TrainingConfig
from im2txt.storage import bundle
from im2txt.vocabulary import Vocabulary
from im2txt.weights import count_parameters


@dataclass(frozen=True)
class Progress:
    """One progress report of train_demo, for a progress bar."""

    # "scenes" (rendering the training scenes), "encoder" (stage 1), "captions" (stage 2) or
    # "evaluating" (the held-out scenes).
    stage: str
    done: int
    total: int
    # Training stages: the mean loss over the steps since the last report.
    loss: float | None = None


ProgressCallback = Callable[[Progress], None]


# --- training ------------------------------------------------------------------------------------


def train_demo(
    out: str | Path,
    seed: int = 0,
    steps: int | None = None,
    progress: ProgressCallback | None = None,
    training: TrainingConfig = TrainingConfig(),
    config: ModelConfig = DEMO_CONFIG,
) -> DemoReport:
    """Train the demo captioner and write it as a bundle in `out`, with its model card.

    Two stages (see the module docstring): the encoder and image embedding learn which coloured
    shapes an image holds, then the decoder learns the captions with the encoder frozen.
    `progress` is called every training.report_every steps of each stage, and while scenes are
    rendered and scored; the library never prints.

    Deterministic: the same seed, settings and machine give the same weights (the scenes, the
    initial weights and the batches come from numpy generators seeded from `seed`, and TensorFlow
    op determinism is on while training). `steps` overrides training.steps.
    """
    started = time.perf_counter()
    if steps is not None:
        training = dataclasses.replace(training, steps=steps)
    vocab = Vocabulary(demo_words())
    if len(vocab) > config.vocab_size:
        raise ValueError(f"vocab_size {config.vocab_size} < {len(vocab)} words")

    def scenes_made(done: int, total: int) -> None:
        if progress:
            progress(Progress("scenes", done, total))

    data = training_scenes(seed, training.num_scenes, config, vocab, scenes_made)
    rng = np.random.default_rng(np.random.SeedSequence((seed, TRAIN_STREAM, 1)))
    net = Network(config, initial_weights(config, rng), rng)

    train_started = time.perf_counter()
    with _op_determinism():
        final_loss = _train(net, data, rng, training, progress)
    train_seconds = time.perf_counter() - train_started

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vocab_path = out / bundle.VOCAB_FILE
    vocab.write(vocab_path, [data.word_counts.get(word, 0) for word in vocab.words[:-1]])
    info = ModelInfo(
        name=DEMO_NAME,
        kind="demo",
        origin=f"trained by `{training_command(seed, training)}`",
        vocab_size=len(vocab),
        description=DEMO_DESCRIPTION,
    )
    bundle.write_bundle(out, config, net.weights(), vocab_path, info, dtype=training.dtype)

    evaluation = None
    if training.eval_scenes_per_count:
        from im2txt.captioner import load_captioner

        captioner = load_captioner(out)
        held_out = [
            scene
            for count in (1, 2, 3)
            for scene in held_out_scenes(training.eval_scenes_per_count, count)
        ]
        evaluation = evaluate(
            captioner,
            held_out,
            progress=_stage_reporter("evaluating", progress),
        )
    report = DemoReport(
        out=out,
        seed=seed,
        training=training,
        config=config,
        parameters=count_parameters(config),
        final_loss=final_loss,
        seconds=time.perf_counter() - started,
        train_seconds=train_seconds,
        evaluation=evaluation,
    )
    card = out / "README.md"
    card.write_text(model_card(report), encoding="utf-8")
    files = tuple(sorted(p.name for p in out.iterdir() if p.is_file()))
    # Once more with the size in the card (its own few bytes of difference do not show).
    report = dataclasses.replace(
        report, files=files, size_bytes=sum((out / name).stat().st_size for name in files)
    )
    card.write_text(model_card(report), encoding="utf-8")
    return report


def _train(
    net: Network,
    data: Dataset,
    rng: np.random.Generator,
    training: TrainingConfig,
    progress: ProgressCallback | None,
) -> float:
    """Both stages; the mean caption loss of the last report_every steps."""
    import tensorflow as tf

    v = net.variables
    # Stage 1: the encoder, the image embedding and the two heads.
    encoder_names = [
        *net.encoder_names,
        *net.embedding_names,
        HEAD_WEIGHTS,
        HEAD_BIASES,
        EMBEDDING_HEAD_WEIGHTS,
        EMBEDDING_HEAD_BIASES,
    ]
    adam = Adam(
        [v[n] for n in encoder_names],
        training.clip_gradients,
        [_positional_scale(n, training) for n in encoder_names],
    )
    encoder_step = tf.function(
        lambda images, labels, rate: adam.minimize(lambda: net.encoder_loss(images, labels), rate)
    )
    _run_stage(
        "encoder",
        training.encoder_steps,
        lambda step: encoder_step(
            *map(tf.constant, encoder_batch(data, rng, training.batch_size)),
            _rate(step, training.encoder_steps, training.encoder_learning_rate, training),
        ),
        training,
        progress,
    )
    # Stage 2: captions. A frozen encoder (rate scale 0) is left out of the gradient altogether.
    names = [*net.decoder_names, *net.embedding_names]
    if training.encoder_rate_scale > 0:
        names += net.encoder_names
    scales = [
        training.encoder_rate_scale
        if n in net.encoder_names
        else training.image_embedding_rate_scale
        if n in net.embedding_names
        else 1.0
        for n in names
    ]
    caption_adam = Adam([v[n] for n in names], training.clip_gradients, scales)
    caption_step = tf.function(
        lambda images, inputs, targets, mask, rate: caption_adam.minimize(
            lambda: net.caption_loss(images, inputs, targets, mask), rate
        )
    )
    final_loss = _run_stage(
        "captions",
        training.steps,
        lambda step: caption_step(
            *map(tf.constant, caption_batch(data, rng, training.batch_size)),
            _rate(step, training.steps, training.learning_rate, training),
        ),
        training,
        progress,
    )
    return final_loss


@contextlib.contextmanager
def _op_determinism():
    """TensorFlow op determinism while training, then as it was before: left on, it would make
    any unseeded random op later in the process raise (tf_slim's initialisers, for one). Every
    random number of the training itself comes from seeded numpy generators."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config  # the only way to switch it off

    was_on = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()


def _positional_scale(name: str, training: TrainingConfig) -> float:
    return training.positional_rate_scale if name == POSITIONAL_EMBEDDING else 1.0


def _rate(step: int, steps: int, peak: float, training: TrainingConfig):
    import tensorflow as tf

    final = peak * training.final_learning_rate_fraction
    rate = learning_rate_at(step, steps, peak, final, training.warmup_steps)
    return tf.constant(rate, tf.float32)


def _run_stage(
    stage: str,
    steps: int,
    run_step: Callable[[int], SupportsFloat],  # the step's loss (a scalar tensor)
    training: TrainingConfig,
    progress: ProgressCallback | None,
) -> float:
    """Run `steps` steps; the mean loss of the last report_every of them."""
    recent: list[float] = []
    mean_loss = float("nan")
    for step in range(steps):
        recent.append(float(run_step(step)))
        if (step + 1) % training.report_every == 0 or step + 1 == steps:
            mean_loss = float(np.mean(recent))
            recent = []
            if progress:
                progress(Progress(stage, step + 1, steps, mean_loss))
    return mean_loss


# --- model card ----------------------------------------------------------------------------------


def _stage_reporter(stage: str, progress: ProgressCallback | None):
    """A (done, total) callback that reports as `stage`, or None without a progress callback."""
    if progress is None:
        return None
    return lambda done, total: progress(Progress(stage, done, total))
