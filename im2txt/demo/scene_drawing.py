"""Drawing scenes: backgrounds and anti-aliased filled shapes, as RGB uint8 arrays."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from im2txt.demo.values import Background, SceneObject

# Drawing is done on a mask this many times larger, then box-filtered down: anti-aliased edges.
_SUPERSAMPLE = 4


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
