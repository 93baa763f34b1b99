"""Generated captioned scenes: coloured shapes on light backgrounds, the demo captioner's data.

A scene holds 1-3 filled shapes (circle, square, triangle, star) in six colours and two sizes, at
random positions, rotations and scales, on a plain, gradient or lightly textured background, at
image sizes from 96 to 320 pixels a side and aspect ratios from 3:4 to 16:9. Every scene comes with
two or three reference captions. The generator favours learnability: shapes never overlap and stay
inside the frame, the background is light grey and far from every shape colour, colour jitter is
small, "small" and "large" differ by at least 1.5x in linear size, and the relation between two
objects is only stated when the dominant axis is clear both in pixels and after the image is
stretched to a square.

Caption grammar. Tokens are lower case and separated by single spaces; a caption ends " ." as in
COCO. Objects are listed in the order given (random scenes order them left to right; for two objects
the left, or upper, one comes first, so the stored relation is "left" or "above").

    noun     := colour shape                        red circle
    sized    := size colour shape                   small red circle
    np(x)    := article x   ("an" before a vowel)   a red circle, an orange star
    group    := np(noun) | count colour plural      two red circles
    list     := group | group "and" group | group "," group "and" group
    relation := "to the left of" | "to the right of" | "above" | "below"

    one object       1. np(sized) .                   a small red circle .
                     2. np(noun) .                    a red circle .
    two, related     1. np(sized A) rel np(sized B) . a small red circle to the left of a large
                                                      blue square .
                     2. np(B) inverse-rel np(A) .     a blue square to the right of a red circle .
                     3. list .                        a red circle and a blue square .
    two identical    1. list .                        two green triangles .
    (same colour     2. np(sized A) rel np(sized B) . a small green triangle above a large green
     and shape)                                       triangle .
                     3. np(B) inverse-rel "another"   a green triangle below another green
                        noun(A) .                     triangle .
    three, or two    1. list, groups in order of      two red circles and a blue square .
    unrelated           first appearance .
                     2. every np(sized), in order .   a small red circle , a large blue square
                                                      and a small red circle .
                     3. list, groups reversed, when   a blue square and two red circles .
                        different from 1 .
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

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

# Relation of objects[0] to objects[1] -> its words, and the same relation seen from objects[1].
RELATIONS: dict[str, str] = {
    "left": "to the left of",
    "right": "to the right of",
    "above": "above",
    "below": "below",
}
INVERSE_RELATION: dict[str, str] = {
    "left": "right",
    "right": "left",
    "above": "below",
    "below": "above",
}

# Object size as the side of the square of equal area, as a fraction of the image's shorter side.
# Every shape of a given side has the same area; the largest "small" is 1.5x under the smallest
# "large" in linear size (2.25x in area). A small circle is >= 13% of the shorter side across.
SIZE_RANGES: dict[str, tuple[float, float]] = {"small": (0.115, 0.14), "large": (0.21, 0.26)}
# Inner radius of the five-pointed star over its outer radius (0.38 is the regular star; a fatter
# star stays recognisable when small).
STAR_INNER_RATIO = 0.45
# Area of each shape with circumradius 1.
_UNIT_AREA: dict[str, float] = {
    "circle": math.pi,
    "square": 2.0,
    "triangle": 3.0 * math.sqrt(3.0) / 4.0,
    "star": 5.0 * STAR_INNER_RATIO * math.sin(math.radians(36.0)),
}
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
# Two objects are "left of" each other only if |dx| >= RELATION_MARGIN * |dy|, both in pixels and
# in coordinates normalised by the image size (the model sees the image stretched to a square),
# and their extents along that axis are disjoint; likewise for "above".
RELATION_MARGIN = 2.0
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
# Drawing is done on a mask this many times larger, then box-filtered down: anti-aliased edges.
_SUPERSAMPLE = 4
_MAX_LAYOUT_ATTEMPTS = 400
_ATTEMPTS_PER_DRAW = 40


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
        return _UNIT_AREA[self.shape] * self.radius**2


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


def caption_vocabulary() -> list[str]:
    """Every word the caption grammar can produce, each once."""
    words = ["a", "an", "another", "two", "three", *SIZES, *COLOURS, *SHAPES]
    words += [_plural(shape) for shape in SHAPES]
    for phrase in RELATIONS.values():
        words += phrase.split()
    words += ["and", ",", "."]
    return list(dict.fromkeys(words))


def scene_captions(
    objects: tuple[SceneObject, ...] | list[SceneObject], relation: str | None = None
) -> tuple[str, ...]:
    """Reference captions for objects in the given order, canonical first (see module docstring).

    `relation` says where objects[0] lies relative to objects[1]; only for two objects.
    """
    objects = tuple(objects)
    if not 1 <= len(objects) <= 3:
        raise ValueError(f"captions describe 1 to 3 objects, got {len(objects)}")
    if relation is not None and (len(objects) != 2 or relation not in RELATIONS):
        raise ValueError(f"relation {relation!r} needs two objects and one of {tuple(RELATIONS)}")
    if len(objects) == 1:
        (only,) = objects
        variants = [_noun_phrase(only, sized=True), _noun_phrase(only, sized=False)]
    elif relation is not None:
        first, second = objects
        words = RELATIONS[relation].split()
        inverse = RELATIONS[INVERSE_RELATION[relation]].split()
        related = _noun_phrase(first, sized=True) + words + _noun_phrase(second, sized=True)
        if _kind(first) == _kind(second):
            reverse = _noun_phrase(second, sized=False) + inverse + ["another", *_kind(first)]
            variants = [_group_list(objects), related, reverse]
        else:
            reverse = _noun_phrase(second, sized=False) + inverse + _noun_phrase(first, sized=False)
            variants = [related, reverse, _group_list(objects)]
    else:
        listed = _join([_noun_phrase(obj, sized=True) for obj in objects])
        variants = [_group_list(objects), listed, _group_list(objects, reverse=True)]
    return tuple(dict.fromkeys(" ".join(words) + " ." for words in variants))


def relation_between(
    first: SceneObject, second: SceneObject, size: tuple[int, int], margin: float = RELATION_MARGIN
) -> str | None:
    """Where `first` clearly lies relative to `second` in an image of size (width, height), or None.

    The dominant axis of the displacement must win by `margin` both in pixels and in coordinates
    normalised by the image size, and the two objects' extents along it must not overlap.
    """
    width, height = size
    dx = second.center[0] - first.center[0]
    dy = second.center[1] - first.center[1]
    a, b = first.bounds(), second.bounds()
    if abs(dx) >= margin * abs(dy) and abs(dx) / width >= margin * abs(dy) / height:
        if a[2] <= b[0]:
            return "left"
        if b[2] <= a[0]:
            return "right"
    if abs(dy) >= margin * abs(dx) and abs(dy) / height >= margin * abs(dx) / width:
        if a[3] <= b[1]:
            return "above"
        if b[3] <= a[1]:
            return "below"
    return None


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


def render_background(background: Background, size: tuple[int, int]) -> np.ndarray:
    """The background alone, [height, width, 3] uint8."""
    width, height = size
    base = np.asarray(background.colour, dtype=np.float32)
    if background.kind == "plain":
        return np.broadcast_to(base.astype(np.uint8), (height, width, 3)).copy()
    theta = math.radians(background.angle)
    xs = (np.arange(width, dtype=np.float32) + 0.5) * math.cos(theta)
    ys = (np.arange(height, dtype=np.float32) + 0.5) * math.sin(theta)
    along = xs[None, :] + ys[:, None]  # [height, width], distance along the angle
    if background.kind == "gradient":
        low, high = along.min(), along.max()
        t = (along - low) / max(float(high - low), 1e-6)
        end = np.asarray(background.end_colour, dtype=np.float32)
        image = base + t[..., None] * (end - base)
    else:
        noise_rng = np.random.default_rng(background.seed)
        shade = noise_rng.standard_normal((height, width), dtype=np.float32) * background.noise
        if background.stripes:
            shade += background.stripes * np.sin(along * (2.0 * math.pi / background.period))
        image = base + shade[..., None]
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def render_scene(
    objects: tuple[SceneObject, ...] | list[SceneObject],
    background: Background,
    size: tuple[int, int],
) -> np.ndarray:
    """Draw `objects` in order (later on top) over `background`: [height, width, 3] uint8 RGB.

    Objects may lie partly or wholly outside the frame (a clip can move shapes in and out); only
    random_scene keeps them inside.
    """
    image = render_background(background, size)
    for obj in objects:
        _draw(image, obj)
    return image


def _draw(image: np.ndarray, obj: SceneObject) -> None:
    """Blend one anti-aliased shape into image, in place."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = obj.bounds()
    left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
    right, bottom = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    if right <= left or bottom <= top:
        return
    s = _SUPERSAMPLE
    mask = Image.new("L", ((right - left) * s, (bottom - top) * s), 0)
    draw = ImageDraw.Draw(mask)
    points = obj.vertices()
    # Supersampled pixel k covers [k, k+1) and is filled when its centre k + 0.5 is inside.
    if points is None:
        cx, cy = (obj.center[0] - left) * s - 0.5, (obj.center[1] - top) * s - 0.5
        r = obj.radius * s
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    else:
        scaled = (points - (left, top)) * s - 0.5
        draw.polygon([tuple(p) for p in scaled.tolist()], fill=255)
    alpha = np.asarray(mask.reduce(s), dtype=np.float32)[..., None] * (1.0 / 255.0)
    region = image[top:bottom, left:right].astype(np.float32)
    fill = np.asarray(obj.rgb, dtype=np.float32)
    image[top:bottom, left:right] = (region + alpha * (fill - region) + 0.5).astype(np.uint8)


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
        rgb = tuple(int(v) for v in np.clip(np.add(COLOURS[colour], jitter), 0, 255))
        rotation = 0.0 if shape == "circle" else float(rng.uniform(0.0, 360.0))
        radius = float(side / math.sqrt(_UNIT_AREA[shape]))
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


def _kind(obj: SceneObject) -> list[str]:
    return [obj.colour, obj.shape]


def _plural(shape: str) -> str:
    return shape + "s"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _noun_phrase(obj: SceneObject, sized: bool) -> list[str]:
    words = ([obj.size] if sized else []) + _kind(obj)
    return [_article(words[0]), *words]


def _group_list(objects: tuple[SceneObject, ...], reverse: bool = False) -> list[str]:
    """Objects grouped by colour and shape, groups in order of first appearance."""
    counts: dict[tuple[str, str], int] = {}
    for obj in objects:
        counts[(obj.colour, obj.shape)] = counts.get((obj.colour, obj.shape), 0) + 1
    groups = []
    for (colour, shape), count in counts.items():
        if count == 1:
            groups.append([_article(colour), colour, shape])
        else:
            groups.append([("two", "three")[count - 2], colour, _plural(shape)])
    return _join(groups[::-1] if reverse else groups)


def _join(phrases: list[list[str]]) -> list[str]:
    """p; p and q; p , q and r."""
    words: list[str] = []
    for i, phrase in enumerate(phrases):
        if i == len(phrases) - 1 and i > 0:
            words.append("and")
        elif i > 0:
            words.append(",")
        words += phrase
    return words
