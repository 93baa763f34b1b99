"""Pillow images of any mode -> 8-bit RGB pixels, converted a band of rows at a time.

Converting a whole 100 MP image at once took several full-size temporaries (16-bit greyscale went
through float64: 800 MB); a band of about _BAND_PIXELS pixels keeps them to a few MB, so that
conversion holds only the image in its own mode and its RGB result.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image

# Pixels converted at once: a band of rows of about this many pixels (a few MB of temporaries).
_BAND_PIXELS = 1 << 20


def to_rgb(image: Image.Image) -> np.ndarray:
    """A decoded Pillow image of any mode -> RGB uint8 [height, width, 3], a band at a time."""
    width, height = image.size
    mode = image.mode
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, _BAND_PIXELS // max(width, 1))
    peak = 65535.0
    if mode == "I":
        # 32-bit greyscale holding 8-bit values is left as it is; anything larger is 16-bit.
        top = max(int(np.asarray(band).max()) for band in _bands(image, rows))
        peak = 65535.0 if top > 255 else 255.0
    for top, band in zip(range(0, height, rows), _bands(image, rows), strict=True):
        out[top : top + band.height] = _band_to_rgb(band, mode, peak)
    return out


def _bands(image: Image.Image, rows: int) -> Iterator[Image.Image]:
    width, height = image.size
    for top in range(0, height, rows):
        yield image.crop((0, top, width, min(top + rows, height)))


def _band_to_rgb(band: Image.Image, mode: str, peak: float) -> np.ndarray:
    if mode == "I" or mode.startswith("I;16"):
        # 16/32-bit greyscale: Pillow's convert("RGB") clips at 255; scale to 8 bits instead.
        values = np.asarray(band).astype(np.float64)
        grey = np.clip(np.round(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        values = np.nan_to_num(np.asarray(band), nan=0.0, posinf=1.0, neginf=0.0)
        grey = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA", "RGBa") or (mode == "P" and "transparency" in band.info):
        # Transparent areas are shown on white, as image viewers do: c * a + 255 * (1 - a).
        rgba = np.asarray(band.convert("RGBA"), dtype=np.uint16)
        alpha = rgba[:, :, 3:]
        return ((rgba[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.asarray(band.convert("RGB"), dtype=np.uint8)


def block_mean(pixels: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Mean of each rows x columns block (the ragged edge dropped): [H // rows, W // columns, 3],
    by Pillow's reduce, a band of rows at a time (no full-size copy)."""
    height, width = pixels.shape[0] // rows, pixels.shape[1] // columns
    out = np.empty((height, width, 3), np.uint8)
    step = max(1, _BAND_PIXELS // max(1, width * columns * rows))
    for top in range(0, height, step):
        band = pixels[top * rows : min(top + step, height) * rows, : width * columns]
        reduced = Image.fromarray(np.ascontiguousarray(band)).reduce((columns, rows))
        out[top : top + reduced.height] = np.asarray(reduced)
    return out
