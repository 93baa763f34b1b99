"""How the demo model is trained: steps, batch sizes, learning rates, the number of scenes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingConfig:
    """How the demo model is trained; the defaults made the shipped one (im2txt/demo/model)."""

    # Training scenes, rendered and preprocessed once up front; each step samples batch_size of
    # them, and for each one of its reference captions.
    num_scenes: int = 24000
    batch_size: int = 64
    # Stage 1, the encoder: Adam steps on "which (colour, shape, size) are in the image".
    encoder_steps: int = 3000
    encoder_learning_rate: float = 3e-3
    # Stage 2, the captions: Adam steps of teacher forcing.
    steps: int = 6000
    learning_rate: float = 2e-3
    # Each stage warms its learning rate up linearly, then decays it along a cosine to this
    # fraction of its peak at its last step.
    warmup_steps: int = 100
    final_learning_rate_fraction: float = 0.05
    # Stage 2's step for the encoder's convolutions relative to the others; 0 freezes them.
    encoder_rate_scale: float = 0.0
    # Adam moves every weight by about the learning rate per step whatever its gradient, and the
    # image embedding sums thousands of features: at the full rate its output grows until the
    # LSTM's gates saturate and the image stops mattering.
    image_embedding_rate_scale: float = 0.1
    # Stage 1's step for the image embedding's per-position part relative to its shared part
    # (see Network): small, so that what can be learnt once for every position is.
    positional_rate_scale: float = 0.1
    # Global-norm gradient clipping, as the original's optimizer.clip_gradients = 5.0.
    clip_gradients: float = 5.0
    # Held-out scenes per object count (1, 2 and 3) scored at the end; 0 skips the evaluation.
    eval_scenes_per_count: int = 300
    # Weights are stored as float16 (the loader converts back): half the size, same captions.
    dtype: str = "float16"
    # Progress is reported every this many steps.
    report_every: int = 10
