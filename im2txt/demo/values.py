"""The demo's values: the scenes' words and objects, how training is set, what it reports.

Value types only, below every other module of im2txt.demo: scenes.py generates Scenes,
scene_drawing.py draws them, scene_grammar.py captions them, evaluation.py scores a captioner on
them (EvalReport), training.py trains with a TrainingConfig and reports a DemoReport, which
model_card.py writes up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from im2txt.config import ModelConfig
    from im2txt.demo.bleu import Bleu

# --- the scenes' words and objects ---------------------------------------------------------------

RGB = tuple[int, int, int]

# Fill colours, far apart (pairwise RGB distance >= 90; the closest pairs are orange-red and
# orange-yellow) so the jitter below never makes one look like another.
COLOURS: dict[str, RGB] = {
    "red": (220, 40, 40),
    "orange": (240, 125, 20),
    "yellow": (240, 215, 40),
    "green": (40, 165, 60),
    "blue": (40, 90, 225),
    "purple": (145, 60, 190),
}


SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")


SIZES: tuple[str, ...] = ("small", "large")


BACKGROUND_KINDS: tuple[str, ...] = ("plain", "gradient", "texture")

# Inner radius of the five-pointed star over its outer radius (0.38 is the regular star; a fatter
# star stays recognisable when small).
STAR_INNER_RATIO = 0.45
# Area of each shape with circumradius 1.
UNIT_AREA: dict[str, float] = {
    "circle": math.pi,
    "square": 2.0,
    "triangle": 3.0 * math.sqrt(3.0) / 4.0,
    "star": 5.0 * STAR_INNER_RATIO * math.sin(math.radians(36.0)),
}


@dataclass(frozen=True)
class SceneObject:
    """One filled shape. Coordinates are pixels; pixel (i, j) covers [i, i+1) x [j, j+1)."""

    shape: str
    colour: str
    size: str
    # Centre (x, y): the circle's centre, the polygon's centroid.
    center: tuple[float, float]
    # Circumradius in pixels: the circle's radius, the distance from centre to each (outer) vertex.
    radius: float
    # Degrees, clockwise on screen; 0 is an axis-aligned square, a triangle or star pointing up.
    rotation: float = 0.0
    # The fill actually drawn: the nominal colour plus jitter. Defaults to COLOURS[colour].
    rgb: RGB | None = None

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; expected one of {SHAPES}")
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}; expected one of {tuple(COLOURS)}")
        if self.size not in SIZES:
            raise ValueError(f"unknown size {self.size!r}; expected one of {SIZES}")
        if self.rgb is None:
            object.__setattr__(self, "rgb", COLOURS[self.colour])

    def vertices(self) -> np.ndarray | None:
        """The polygon's corners, [n, 2] as (x, y); None for a circle."""
        if self.shape == "circle":
            return None
        if self.shape == "square":
            angles, radii = np.arange(4) * 90.0 - 135.0, np.ones(4)
        elif self.shape == "triangle":
            angles, radii = np.arange(3) * 120.0 - 90.0, np.ones(3)
        else:
            angles = np.arange(10) * 36.0 - 90.0
            radii = np.where(np.arange(10) % 2 == 0, 1.0, STAR_INNER_RATIO)
        theta = np.radians(angles + self.rotation)
        radii = radii * self.radius
        x, y = self.center
        return np.stack([x + radii * np.cos(theta), y + radii * np.sin(theta)], axis=1)

    def bounds(self) -> tuple[float, float, float, float]:
        """Tight bounding box (x0, y0, x1, y1)."""
        points = self.vertices()
        if points is None:
            x, y = self.center
            return (x - self.radius, y - self.radius, x + self.radius, y + self.radius)
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        return (float(x0), float(y0), float(x1), float(y1))

    @property
    def area(self) -> float:
        """Area in square pixels."""
        return UNIT_AREA[self.shape] * self.radius**2


@dataclass(frozen=True)
class Background:
    """What lies behind the shapes; its seed fixes the noise, so every render is the same."""

    kind: str  # "plain", "gradient" or "texture"
    colour: RGB
    # Gradient: the colour at the far end; plain and texture: equal to `colour`.
    end_colour: RGB
    # Gradient direction or stripe direction (the stripes run across it), degrees.
    angle: float = 0.0
    # Texture: standard deviation of grey-level noise, and amplitude and period (pixels) of stripes.
    noise: float = 0.0
    stripes: float = 0.0
    period: float = 8.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in BACKGROUND_KINDS:
            raise ValueError(
                f"unknown background {self.kind!r}; expected one of {BACKGROUND_KINDS}"
            )


@dataclass(frozen=True, eq=False)
class Scene:
    """A rendered scene, its objects in caption order, its captions canonical first."""

    image: np.ndarray  # [height, width, 3] uint8 RGB
    objects: tuple[SceneObject, ...]
    captions: tuple[str, ...]
    # Where objects[0] lies relative to objects[1] ("left" or "above"); None unless two objects.
    relation: str | None
    background: Background

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return (self.image.shape[1], self.image.shape[0])


# --- training and its report ---------------------------------------------------------------------


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


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int

    @property
    def rate(self) -> float:
        return self.correct / self.total if self.total else float("nan")


@dataclass(frozen=True)
class EvalReport:
    """Scores of a captioner's top (beam search) caption on generated scenes."""

    # One-object scenes whose top caption names that object's colour and shape and nothing else.
    one_object: Accuracy
    # Two-object scenes whose top caption names both objects (colour and shape; "two red circles"
    # for a pair of the same kind) and nothing else.
    two_object: Accuracy
    # Three-object scenes whose top caption names all three and nothing else.
    three_object: Accuracy
    # Two-object scenes of different kinds whose top caption states a relation ("X to the left of
    # Y", "X above Y", or the inverse): those where it is the scene's relation between X and Y.
    relation: Accuracy
    # Corpus BLEU-4 of the top captions against every scene's reference captions.
    bleu: Bleu


@dataclass(frozen=True)
class DemoReport:
    """What train_demo made and how well it does."""

    out: Path
    seed: int
    training: TrainingConfig
    config: ModelConfig
    parameters: int
    # Mean training loss over the last report_every steps.
    final_loss: float
    # Wall-clock seconds: rendering the scenes, training, evaluation.
    seconds: float
    train_seconds: float
    evaluation: EvalReport | None
    # Bytes of the files in `out` (weights, vocabulary, config, model card).
    size_bytes: int = 0
    files: tuple[str, ...] = field(default=())
