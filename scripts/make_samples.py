"""Regenerate sample_images/: licensed photos, generated scenes, the sample clip and the README.

    pip install scikit-image     # only for the photos, which ship inside its wheel
    python scripts/make_samples.py [--out sample_images]

Everything is deterministic except the clip's bytes, which follow the ffmpeg build.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from im2txt.demo import scene_drawing, scenes, values  # noqa: E402
from im2txt.demo.values import Background, SceneObject  # noqa: E402


@dataclass(frozen=True)
class Photo:
    file: str
    loader: str  # the skimage.data function
    what: str
    source: str
    licence: str


# Licences as stated in each function's docstring in skimage/data/_fetchers.py.
PHOTOS = (
    Photo(
        "astronaut.jpg",
        "astronaut",
        "Astronaut Eileen Collins (portrait)",
        "NASA Great Images database, via scikit-image `skimage.data.astronaut()`",
        "Public domain (NASA; no known copyright restrictions)",
    ),
    Photo(
        "chelsea.jpg",
        "chelsea",
        "Chelsea the cat",
        "Stefan van der Walt, via scikit-image `skimage.data.chelsea()`",
        "CC0 (no copyright restrictions)",
    ),
    Photo(
        "coffee.jpg",
        "coffee",
        "A cup of coffee on a saucer (courtesy of Pikolo Espresso Bar)",
        "Rachel Michetti, via scikit-image `skimage.data.coffee()`",
        "CC0 (no copyright restrictions)",
    ),
    Photo(
        "rocket.jpg",
        "rocket",
        "Launch of DSCOVR on a Falcon 9",
        "SpaceX Photos, via scikit-image `skimage.data.rocket()`",
        "Public domain (released by SpaceX)",
    ),
    Photo(
        "camera.jpg",
        "camera",
        "A man with a camera on a tripod (black and white)",
        "Lav Varshney, via scikit-image `skimage.data.camera()`",
        "CC0 (no copyright restrictions)",
    ),
    Photo(
        "retina.jpg",
        "retina",
        "A human retina (fundus photograph)",
        "Mikael Häggström, via scikit-image `skimage.data.retina()`",
        "CC0 (public domain dedication)",
    ),
)

# Generated scenes: (file, seed, number of objects). Seeds picked for varied, readable scenes.
SCENES = (
    ("scene_one_shape.png", 6, 1),
    ("scene_two_shapes.png", 11, 2),
    ("scene_pair.png", 15, 2),
    ("scene_three_shapes.png", 4, 3),
)

# The clip: 640x360 at 25 fps, a new caption every 2 s.
CLIP_FILE = "shapes.mp4"
CLIP_SIZE = (640, 360)
CLIP_FPS = 25
CLIP_SECONDS = 8.0
_CLIP_BACKGROUND = Background("gradient", (218, 220, 224), (188, 192, 198), angle=20.0)
# A shape's move in or out of the frame lasts this long; it then stays put until the next move.
_MOVE_SECONDS = 0.6
# One soft tone per 2-second segment (C, E, G, C'), so the audio track marks the scene changes.
_TONES_HZ = (261.63, 329.63, 392.0, 523.25)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "sample_images")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for photo in PHOTOS:
        save_photo(photo, out / photo.file)
    captions = {}
    for file, seed, count in SCENES:
        scene = scenes.random_scene(np.random.default_rng(seed), num_objects=count)
        Image.fromarray(scene.image).save(out / file, optimize=True)
        captions[file] = scene.captions
    write_clip(out / CLIP_FILE)
    (out / "README.md").write_text(readme(captions), encoding="utf-8")
    for path in sorted(out.iterdir()):
        print(f"{path.name:28} {path.stat().st_size / 1024:7.1f} KB")
    return 0


def save_photo(photo: Photo, path: Path) -> None:
    from skimage import data  # a dev dependency, needed only here

    pixels = getattr(data, photo.loader)()
    Image.fromarray(pixels).convert("RGB").save(path, quality=85, optimize=True)


# --- the clip ------------------------------------------------------------------------------------


def _eased(t: float, start: float, begin: float, end: float) -> float:
    """From `begin` to `end` over _MOVE_SECONDS after time `start`, smoothly; constant outside."""
    x = min(max((t - start) / _MOVE_SECONDS, 0.0), 1.0)
    return begin + (end - begin) * (3 * x * x - 2 * x * x * x)


def clip_objects(t: float) -> list[SceneObject]:
    """The shapes at time t (seconds): a red circle; a blue square joins on its right; the circle
    leaves; a yellow star drops in above the square. Each move ends on a whole two seconds, so
    the frames sampled at whole seconds each show a settled scene."""
    # Circumradii for a "large" shape (0.23 of the 360-pixel side as the side of the square of
    # equal area): circle r = s / sqrt(pi), square r = s / sqrt(2), star as scenes draws it.
    side = 0.23 * CLIP_SIZE[1]
    circle_r, square_r = side / math.sqrt(math.pi), side / math.sqrt(2.0)
    star_r = side / math.sqrt(5.0 * values.STAR_INNER_RATIO * math.sin(math.radians(36.0)))
    lead = 2.0 - _MOVE_SECONDS  # moves run from here to the next whole two seconds
    x = _eased(t, 2.0 + lead, 190.0, -circle_r - 5)
    objects = [SceneObject("circle", "red", "large", (x, 180.0), circle_r, 0.0)]
    if t >= lead:
        x = _eased(t, lead, CLIP_SIZE[0] + square_r + 5, 450.0)
        objects.append(SceneObject("square", "blue", "large", (x, 230.0), square_r, 0.0))
    if t >= 4.0 + lead:
        y = _eased(t, 4.0 + lead, -star_r - 5, 78.0)
        objects.append(SceneObject("star", "yellow", "large", (450.0, y), star_r, 0.0))
    return objects


def clip_frame(t: float) -> np.ndarray:
    return scene_drawing.render_scene(clip_objects(t), _CLIP_BACKGROUND, CLIP_SIZE)


def clip_audio(t: np.ndarray) -> np.ndarray:
    """[n, 2] stereo samples at times t: one tone per 2-second segment, faded in and out."""
    t = np.asarray(t, dtype=np.float64)
    segment = np.clip((t // 2.0).astype(int), 0, len(_TONES_HZ) - 1)
    local = t - 2.0 * segment
    envelope = np.clip(np.minimum(local / 0.05, (2.0 - local) / 0.3), 0.0, 1.0)
    wave = 0.25 * envelope * np.sin(2.0 * np.pi * np.asarray(_TONES_HZ)[segment] * t)
    return np.stack([wave, wave], axis=-1)


def write_clip(path: Path) -> None:
    from moviepy import AudioClip, VideoClip

    audio = AudioClip(clip_audio, duration=CLIP_SECONDS, fps=44100)
    video = VideoClip(clip_frame, duration=CLIP_SECONDS).with_audio(audio)
    video.write_videofile(
        str(path),
        fps=CLIP_FPS,
        codec="libx264",
        audio_codec="aac",
        audio_bitrate="64k",
        preset="slow",
        pixel_format="yuv420p",
        ffmpeg_params=["-crf", "28", "-movflags", "+faststart"],
        logger=None,
    )


# --- README --------------------------------------------------------------------------------------


def readme(captions: dict[str, tuple[str, ...]]) -> str:
    lines = [
        "# sample_images/",
        "",
        "Written by `python scripts/make_samples.py` (the photos need `pip install scikit-image`,",
        "a development dependency). Try them with `python -m im2txt caption sample_images/`.",
        "",
        "## Photos",
        "",
        "Real photographs, shipped inside the scikit-image package and saved here as JPEG",
        "(quality 85). The demo model only knows generated shapes, so it describes these as shapes",
        "too; the COCO model (see `model/README.md`) captions them properly.",
        "",
        "| file | what | source | licence |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| `{p.file}` | {p.what} | {p.source} | {p.licence} |" for p in PHOTOS]
    lines += [
        "",
        "## Generated scenes",
        "",
        "Made by `im2txt.demo.scenes.random_scene(numpy.random.default_rng(seed), num_objects)`,",
        "the generator the demo model was trained on (these seeds are not among its training",
        "scenes).",
        "Part of this project, under its licence.",
        "",
        "| file | seed, objects | reference captions |",
        "| --- | --- | --- |",
    ]
    for file, seed, count in SCENES:
        refs = "<br>".join(f"`{c}`" for c in captions[file])
        lines.append(f"| `{file}` | {seed}, {count} | {refs} |")
    lines += [
        "",
        "## Clip",
        "",
        f"`{CLIP_FILE}`: {CLIP_SECONDS:g} s, {CLIP_SIZE[0]}x{CLIP_SIZE[1]}, {CLIP_FPS} fps, H.264",
        "(yuv420p) with an AAC audio track of one soft tone per 2-second segment. Drawn with",
        "`im2txt.demo.scene_drawing.render_scene`; part of this project, under its licence.",
        "What happens:",
        "",
        "| time | scene |",
        "| --- | --- |",
        "| 0-2 s | a red circle; at 1.4 s a blue square slides in on its right |",
        "| 2-4 s | the circle and the square; at 3.4 s the circle leaves to the left |",
        "| 4-6 s | the square alone; at 5.4 s a yellow star drops in above it |",
        "| 6-8 s | the square and the star |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
