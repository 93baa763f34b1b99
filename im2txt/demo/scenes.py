"""Generated captioned scenes: coloured shapes on light backgrounds, the demo captioner's data.

A scene holds 1-3 filled shapes (circle, square, triangle, star) in six colours and two sizes, at
random positions, rotations and scales, on a plain, gradient or lightly textured background, at
image sizes from 96 to 320 pixels a side and aspect ratios from 3:4 to 16:9. Every scene comes with
two or three reference captions. The generator favours learnability: shapes never overlap and stay
inside the frame, the background is light grey and far from every shape colour, colour jitter is
small, "small" and "large" differ by at least 1.5x in linear size, and the relation between two
objects is only stated when the dominant axis is clear both in pixels and after the image is
stretched to a square.

Their captions follow scene_grammar.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from im2txt.demo.scene_drawing import render_scene
from im2txt.demo.scene_grammar import INVERSE_RELATION, relation_between, scene_captions
from im2txt.demo.values import (
    BACKGROUND_KINDS,
    COLOURS,
    RGB,
    SHAPES,
    SIZES,
    UNIT_AREA,
    Background,
    Scene,
    SceneObject,
)

# Object size as the side of the square of equal area, as a fraction of the image's shorter side.
# Every shape of a given side has the same area; the largest "small" is 1.5x under the smallest
# "large" in linear size (2.25x in area). A small circle is >= 13% of the shorter side across.
SIZE_RANGES: dict[str, tuple[float, float]] = {"small": (0.115, 0.14), "large": (0.21, 0.26)}
# Largest per-channel deviation of a shape's fill from its nominal colour.
COLOUR_JITTER = 10

# Random image sizes: the shorter side in pixels, and width / height. The longest side is <= 320.
SHORT_SIDE_RANGE = (96, 180)
ASPECT_RATIOS: tuple[float, ...] = (3 / 4, 1.0, 4 / 3, 3 / 2, 16 / 9)
# Probability of 1, 2 and 3 objects when the caller does not choose.
OBJECT_COUNT_WEIGHTS = (0.3, 0.4, 0.3)
# Chance that a further object copies the colour and shape of an earlier one, so count captions
# ("two red circles") are common enough to learn.
REPEAT_PROBABILITY = 0.25
# Three objects are listed left to right; their centres must differ by this fraction of the width
# so that the order is visible.
ORDER_MARGIN = 0.06
# Empty space between object bounding boxes, and between a box and the border, as a fraction of
# the shorter side.
GAP_FRACTION = 0.05
EDGE_FRACTION = 0.02
# Background: grey level range, per-channel tint and minimum RGB distance to every shape colour.
_BACKGROUND_LEVELS = (165, 236)
_BACKGROUND_TINT = 12
_BACKGROUND_MIN_DISTANCE = 110.0
_MAX_LAYOUT_ATTEMPTS = 400
_ATTEMPTS_PER_DRAW = 40


def random_background(rng: np.random.Generator, kind: str | None = None) -> Background:
    """A light, low-saturation background of the given kind (random when None)."""
    kind = str(rng.choice(BACKGROUND_KINDS)) if kind is None else kind
    colour = _background_colour(rng)
    if kind == "plain":
        return Background("plain", colour, colour)
    if kind == "gradient":
        end = _background_colour(rng)
        while abs(sum(end) - sum(colour)) < 3 * 35:
            end = _background_colour(rng)
        return Background("gradient", colour, end, angle=float(rng.uniform(0.0, 360.0)))
    with_stripes = rng.random() < 0.5
    return Background(
        "texture",
        colour,
        colour,
        angle=float(rng.uniform(0.0, 180.0)),
        noise=float(rng.uniform(2.5, 5.0)),
        stripes=float(rng.uniform(3.0, 6.0)) if with_stripes else 0.0,
        period=float(rng.uniform(5.0, 14.0)),
        seed=int(rng.integers(2**31)),
    )


def random_image_size(rng: np.random.Generator) -> tuple[int, int]:
    """A random (width, height): shorter side in SHORT_SIDE_RANGE, aspect from ASPECT_RATIOS."""
    short = int(rng.integers(SHORT_SIDE_RANGE[0], SHORT_SIDE_RANGE[1] + 1))
    aspect = float(rng.choice(ASPECT_RATIOS))
    if aspect >= 1.0:
        return (round(short * aspect), short)
    return (short, round(short / aspect))


def random_scene(
    rng: np.random.Generator,
    num_objects: int | None = None,
    size: tuple[int, int] | None = None,
    background: str | None = None,
) -> Scene:
    """A random scene of `num_objects` (1-3) shapes on a `background` kind at size (width, height).

    Each argument left as None is drawn from `rng`; the same generator state gives the same scene.
    """
    if num_objects is None:
        num_objects = int(rng.choice([1, 2, 3], p=OBJECT_COUNT_WEIGHTS))
    if not 1 <= num_objects <= 3:
        raise ValueError(f"num_objects must be 1, 2 or 3, got {num_objects}")
    size = random_image_size(rng) if size is None else (int(size[0]), int(size[1]))
    spec = random_background(rng, background)
    objects, relation = _layout(rng, num_objects, size)
    image = render_scene(objects, spec, size)
    return Scene(image, objects, scene_captions(objects, relation), relation, spec)


def _layout(
    rng: np.random.Generator, num_objects: int, size: tuple[int, int]
) -> tuple[tuple[SceneObject, ...], str | None]:
    """Objects placed inside the frame without touching, in caption order, and their relation."""
    width, height = size
    short = min(width, height)
    edge, gap = max(2.0, EDGE_FRACTION * short), GAP_FRACTION * short
    # Two objects: aim for a horizontal or vertical relation with equal odds, else take any.
    axis = rng.choice(["horizontal", "vertical"]) if num_objects == 2 else None
    wanted = {"horizontal": ("left", "right"), "vertical": ("above", "below"), None: ()}[axis]
    drawn: list[SceneObject] = []
    for attempt in range(_MAX_LAYOUT_ATTEMPTS):
        if attempt % _ATTEMPTS_PER_DRAW == 0:
            drawn = _draw_objects(rng, num_objects, short)
        placed = []
        for obj in drawn:
            x0, y0, x1, y1 = obj.bounds()  # drawn at the origin
            low_x, high_x = edge - x0, width - edge - x1
            low_y, high_y = edge - y0, height - edge - y1
            if high_x < low_x or high_y < low_y:
                break
            center = (float(rng.uniform(low_x, high_x)), float(rng.uniform(low_y, high_y)))
            placed.append(dataclasses.replace(obj, center=center))
        if len(placed) < num_objects or not _apart(placed, gap):
            continue
        if num_objects == 1:
            return (placed[0],), None
        if num_objects == 3:
            ordered = tuple(sorted(placed, key=lambda obj: obj.center[0]))
            xs = [obj.center[0] for obj in ordered]
            if min(xs[1] - xs[0], xs[2] - xs[1]) < ORDER_MARGIN * width:
                continue
            return ordered, None
        relation = relation_between(placed[0], placed[1], size)
        if relation is None or (attempt < _MAX_LAYOUT_ATTEMPTS // 2 and relation not in wanted):
            continue
        if relation in ("right", "below"):
            return (placed[1], placed[0]), INVERSE_RELATION[relation]
        return (placed[0], placed[1]), relation
    raise RuntimeError(f"could not place {num_objects} objects in a {width}x{height} image")


def _draw_objects(rng: np.random.Generator, count: int, short: int) -> list[SceneObject]:
    """Random shapes, colours, sizes and rotations, centred at the origin."""
    objects: list[SceneObject] = []
    for _ in range(count):
        if objects and rng.random() < REPEAT_PROBABILITY:
            model = objects[int(rng.integers(len(objects)))]
            shape, colour = model.shape, model.colour
        else:
            shape, colour = str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS)))
        size = str(rng.choice(SIZES))
        side = rng.uniform(*SIZE_RANGES[size]) * short
        jitter = rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3)
        red, green, blue = (int(v) for v in np.clip(np.add(COLOURS[colour], jitter), 0, 255))
        rgb = (red, green, blue)
        rotation = 0.0 if shape == "circle" else float(rng.uniform(0.0, 360.0))
        radius = float(side / math.sqrt(UNIT_AREA[shape]))
        objects.append(SceneObject(shape, colour, size, (0.0, 0.0), radius, rotation, rgb))
    return objects


def _apart(objects: list[SceneObject], gap: float) -> bool:
    """True when no two bounding boxes, each grown by gap / 2, intersect."""
    boxes = [obj.bounds() for obj in objects]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap:
                return False
    return True


def _background_colour(rng: np.random.Generator) -> RGB:
    """A light grey with a faint tint, far from every shape colour."""
    while True:
        level = rng.integers(*_BACKGROUND_LEVELS)
        tint = rng.integers(-_BACKGROUND_TINT, _BACKGROUND_TINT + 1, size=3)
        colour = np.clip(level + tint, 0, 255)
        distances = [np.linalg.norm(colour - np.asarray(c)) for c in COLOURS.values()]
        if min(distances) >= _BACKGROUND_MIN_DISTANCE:
            return (int(colour[0]), int(colour[1]), int(colour[2]))
