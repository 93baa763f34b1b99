"""Tests for im2txt.demo scenes: the generated training scenes, their captions, their rendering."""

from __future__ import annotations

import collections
import itertools
import math

import numpy as np
import pytest

from im2txt.demo.scene_drawing import render_background, render_scene
from im2txt.demo.scene_grammar import (
    COLOURS,
    SHAPES,
    caption_vocabulary,
    relation_between,
    scene_captions,
)
from im2txt.demo.scenes import (
    ASPECT_RATIOS,
    BACKGROUND_KINDS,
    COLOUR_JITTER,
    ORDER_MARGIN,
    SIZE_RANGES,
    Background,
    SceneObject,
    random_background,
    random_scene,
)

NUM_SCENES = 1000


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(20240611)
    return [random_scene(rng) for _ in range(NUM_SCENES)]


def _objects(scenes):
    return [obj for scene in scenes for obj in scene.objects]


def test_same_seed_gives_same_scenes():
    first = [random_scene(np.random.default_rng(7)) for _ in range(3)]
    again = [random_scene(np.random.default_rng(7)) for _ in range(3)]
    other = random_scene(np.random.default_rng(8))
    for a, b in zip(first, again, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
        assert a.captions == b.captions
        assert a.objects == b.objects
        assert a.background == b.background
    assert other.image.tobytes() != first[0].image.tobytes()


def test_every_colour_shape_size_count_and_background_is_common(scenes):
    objects = _objects(scenes)
    for name, values, expected in [
        ("colour", [obj.colour for obj in objects], list(COLOURS)),
        ("shape", [obj.shape for obj in objects], list(SHAPES)),
        ("size", [obj.size for obj in objects], ["small", "large"]),
        ("background", [scene.background.kind for scene in scenes], list(BACKGROUND_KINDS)),
    ]:
        counts = collections.Counter(values)
        assert sorted(counts) == sorted(expected), name
        mean = len(values) / len(expected)
        assert all(0.75 * mean <= n <= 1.25 * mean for n in counts.values()), (name, counts)
    per_count = collections.Counter(len(scene.objects) for scene in scenes)
    assert all(per_count[n] >= 0.2 * NUM_SCENES for n in (1, 2, 3)), per_count


def test_captions_use_the_small_vocabulary(scenes):
    vocabulary = caption_vocabulary()
    assert len(vocabulary) == len(set(vocabulary)) < 60
    used = set()
    for scene in scenes:
        assert len(scene.captions) >= 2
        assert len(set(scene.captions)) == len(scene.captions)
        for caption in scene.captions:
            assert caption == caption.lower() and caption.endswith(" .")
            words = caption.split(" ")
            assert set(words) <= set(vocabulary), caption
            used.update(words)
    # The grammar's every word occurs in 1000 scenes: the vocabulary holds nothing unused.
    assert used == set(vocabulary)


def test_captions_name_every_object(scenes):
    for scene in scenes:
        canonical = scene.captions[0]
        for obj in scene.objects:
            noun = f"{obj.colour} {obj.shape}"
            assert noun in canonical or f"{obj.colour} {obj.shape}s" in canonical, canonical


def test_relation_matches_geometry(scenes):
    phrases = {"left": "to the left of", "above": "above"}
    relations = collections.Counter()
    for scene in scenes:
        if len(scene.objects) != 2:
            assert scene.relation is None
            xs = [obj.center[0] for obj in scene.objects]
            assert xs == sorted(xs)  # listed left to right, visibly so
            assert all(b - a >= ORDER_MARGIN * scene.size[0] for a, b in itertools.pairwise(xs))
            continue
        a, b = scene.objects
        relations[scene.relation] += 1
        width, height = scene.size
        dx, dy = b.center[0] - a.center[0], b.center[1] - a.center[1]
        if scene.relation == "left":
            assert a.bounds()[2] <= b.bounds()[0]
            assert abs(dx) >= 2 * abs(dy) and abs(dx) / width >= 2 * abs(dy) / height
        else:
            assert scene.relation == "above"
            assert a.bounds()[3] <= b.bounds()[1]
            assert abs(dy) >= 2 * abs(dx) and abs(dy) / height >= 2 * abs(dx) / width
        related = (
            f"a {a.size} {a.colour} {a.shape} {phrases[scene.relation]} "
            f"a {b.size} {b.colour} {b.shape} ."
        )
        assert related in scene.captions
    assert min(relations["left"], relations["above"]) >= 0.35 * sum(relations.values())


def test_object_centres_show_their_colour(scenes):
    for scene in scenes:
        for obj in scene.objects:
            nominal = np.asarray(COLOURS[obj.colour])
            assert np.abs(np.asarray(obj.rgb) - nominal).max() <= COLOUR_JITTER
            x, y = obj.center
            pixel = scene.image[int(y), int(x)].astype(int)
            assert np.abs(pixel - np.asarray(obj.rgb)).max() <= 2
            nearest = min(COLOURS, key=lambda name: np.linalg.norm(pixel - COLOURS[name]))
            assert nearest == obj.colour


def test_objects_stay_inside_the_frame_and_apart(scenes):
    for scene in scenes[:300]:
        width, height = scene.size
        boxes = [obj.bounds() for obj in scene.objects]
        for x0, y0, x1, y1 in boxes:
            assert 0 < x0 < x1 < width and 0 < y0 < y1 < height
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        # Nothing is drawn on the border: it is pure background.
        background = render_background(scene.background, scene.size)
        for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
            np.testing.assert_array_equal(scene.image[edge], background[edge])


def test_small_and_large_are_clearly_separated(scenes):
    scales = collections.defaultdict(list)
    for scene in scenes:
        short = min(scene.size)
        for obj in scene.objects:
            scales[obj.size].append(math.sqrt(obj.area) / short)
            assert 2 * math.sqrt(obj.area / math.pi) >= 0.12 * short  # as wide as a circle would be
            if obj.shape == "circle":
                assert 2 * obj.radius >= 0.12 * short
    assert max(scales["small"]) <= SIZE_RANGES["small"][1] + 1e-9
    assert min(scales["large"]) >= SIZE_RANGES["large"][0] - 1e-9
    assert min(scales["large"]) / max(scales["small"]) >= 1.5 - 1e-9


def test_image_sizes_and_aspect_ratios_vary(scenes):
    aspects = collections.Counter()
    for scene in scenes:
        width, height = scene.size
        assert scene.image.shape == (height, width, 3) and scene.image.dtype == np.uint8
        assert min(width, height) >= 96 and max(width, height) <= 320
        aspect = width / height
        assert 3 / 4 - 0.01 <= aspect <= 16 / 9 + 0.01
        aspects[min(ASPECT_RATIOS, key=lambda r: abs(r - aspect))] += 1
    assert set(aspects) == set(ASPECT_RATIOS)
    assert len({scene.size for scene in scenes}) > 100


def test_background_kinds_look_like_their_names():
    rng = np.random.default_rng(3)
    for _ in range(20):
        plain, gradient, texture = (random_background(rng, kind) for kind in BACKGROUND_KINDS)
        image = render_background(plain, (120, 90)).astype(int)
        assert (image == plain.colour).all()
        image = render_background(gradient, (120, 90)).astype(int)
        steps = np.abs(np.diff(image, axis=1)).max(), np.abs(np.diff(image, axis=0)).max()
        assert max(steps) <= 2  # smooth
        corners = image[[0, 0, -1, -1], [0, -1, 0, -1]].sum(axis=1)
        assert corners.max() - corners.min() >= 3 * 30
        image = render_background(texture, (120, 90)).astype(int)
        spread = image.std(axis=(0, 1))
        assert spread.min() >= 1.5 and spread.max() <= 10
        assert np.abs(image.mean(axis=(0, 1)) - texture.colour).max() <= 2
        for background in (plain, gradient, texture):
            pixels = render_background(background, (60, 40)).reshape(-1, 1, 3).astype(int)
            palette = np.asarray(list(COLOURS.values()))[None]
            assert np.linalg.norm(pixels - palette, axis=2).min() >= 80
            assert np.ptp(pixels.mean(axis=0)) <= 30  # greyish
    assert (render_background(texture, (50, 30)) == render_background(texture, (50, 30))).all()


def test_random_scene_honours_its_arguments():
    rng = np.random.default_rng(5)
    scene = random_scene(rng, num_objects=2, size=(200, 100), background="gradient")
    assert scene.size == (200, 100) and len(scene.objects) == 2
    assert scene.background.kind == "gradient" and scene.relation in ("left", "above")
    assert random_scene(rng, num_objects=3, size=(96, 96)).relation is None
    with pytest.raises(ValueError):
        random_scene(rng, num_objects=4)


def _obj(shape, colour, size, x=0.0, y=0.0, radius=10.0):
    return SceneObject(shape, colour, size, (x, y), radius)


def test_caption_grammar_examples():
    red, blue = _obj("circle", "red", "small"), _obj("square", "blue", "large")
    assert scene_captions([red, blue], "left") == (
        "a small red circle to the left of a large blue square .",
        "a blue square to the right of a red circle .",
        "a red circle and a blue square .",
    )
    green = [_obj("triangle", "green", "small"), _obj("triangle", "green", "large")]
    assert scene_captions(green, "above") == (
        "two green triangles .",
        "a small green triangle above a large green triangle .",
        "a green triangle below another green triangle .",
    )
    assert scene_captions([_obj("star", "orange", "large")]) == (
        "a large orange star .",
        "an orange star .",
    )
    assert scene_captions([red, blue, _obj("circle", "red", "small")]) == (
        "two red circles and a blue square .",
        "a small red circle , a large blue square and a small red circle .",
        "a blue square and two red circles .",
    )
    yellow = _obj("triangle", "yellow", "small")
    assert scene_captions([red, blue, yellow])[0] == (
        "a red circle , a blue square and a yellow triangle ."
    )
    stars = [_obj("star", "purple", "small")] * 2 + [_obj("star", "purple", "large")]
    assert scene_captions(stars) == (
        "three purple stars .",
        "a small purple star , a small purple star and a large purple star .",
    )
    with pytest.raises(ValueError):
        scene_captions([red, blue, yellow], "left")
    with pytest.raises(ValueError):
        scene_captions([])


def test_relation_between_needs_a_clear_dominant_axis():
    def at(x, y):
        return _obj("circle", "red", "small", x, y, radius=5.0)

    assert relation_between(at(20, 50), at(80, 55), (100, 100)) == "left"
    assert relation_between(at(80, 55), at(20, 50), (100, 100)) == "right"
    assert relation_between(at(50, 10), at(45, 80), (100, 100)) == "above"
    assert relation_between(at(45, 80), at(50, 10), (100, 100)) == "below"
    assert relation_between(at(20, 20), at(70, 70), (100, 100)) is None  # diagonal
    assert relation_between(at(20, 50), at(27, 51), (100, 100)) is None  # extents overlap
    # 2.5x wider than tall in pixels, but not once a 320x100 image is stretched to a square.
    assert relation_between(at(100, 30), at(200, 70), (320, 100)) is None


def test_render_scene_draws_anti_aliased_shapes_even_off_frame():
    background = Background("plain", (200, 200, 200), (200, 200, 200))
    circle = SceneObject("circle", "blue", "large", (32.0, 24.0), 12.0)
    image = render_scene([circle], background, (64, 48)).astype(int)
    assert image.shape == (48, 64, 3)
    assert (image[24, 32] == COLOURS["blue"]).all()
    red_channel = image[..., 0]
    blended = (red_channel > COLOURS["blue"][0]) & (red_channel < 200)
    assert blended.sum() >= 20  # a soft edge, not a staircase
    half_out = SceneObject("square", "red", "large", (-2.0, 20.0), 15.0, rotation=10.0)
    image = render_scene([half_out], background, (64, 48))
    assert (image[20, 0] == COLOURS["red"]).all()
    gone = SceneObject("star", "green", "small", (-50.0, -50.0), 10.0)
    assert (render_scene([gone], background, (64, 48)) == 200).all()
