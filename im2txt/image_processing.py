"""Image pixels -> the float32 [height, width, 3] in [-1, 1] the encoder reads, as the original did.

Decoding any input to RGB uint8 is image_loading's. Then, for every input, the original's
preprocessing:
float in [0, 1] -> TF1 bilinear resize (align_corners=False, half_pixel_centers=False) to
resize_height x resize_width -> central crop to image_height x image_width -> (x - 0.5) * 2.
"""

from __future__ import annotations

import numpy as np

from im2txt.config import ModelConfig

_COCO = ModelConfig()


def preprocess(pixels: np.ndarray, config: ModelConfig = _COCO) -> np.ndarray:
    """RGB uint8 [H, W, 3] -> float32 [image_height, image_width, 3] in [-1, 1]."""
    top = (config.resize_height - config.image_height) // 2
    left = (config.resize_width - config.image_width) // 2
    if top < 0 or left < 0:
        raise ValueError("image size must not exceed the resize size")
    # Only the pixels the central crop keeps are resized: each output pixel depends on its own
    # sample points alone, so they come out as in the whole resized image.
    crop = resize_bilinear_legacy(
        pixels,
        config.resize_height,
        config.resize_width,
        window=(top, left, config.image_height, config.image_width),
    )
    np.subtract(crop, np.float32(0.5), out=crop)
    np.multiply(crop, np.float32(2.0), out=crop)
    return crop


def resize_bilinear_legacy(
    pixels: np.ndarray,
    height: int,
    width: int,
    window: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """uint8 [H, W, C] -> float32 [height, width, C] in [0, 1], bit-identical to
    tf.compat.v1.image.resize_bilinear(convert_image_dtype(pixels), align_corners=False,
    half_pixel_centers=False); or only its (top, left, rows, columns) `window`.

    TF1's kernel samples output row y at input row y * (H / height) and interpolates between its
    floor and ceil, so only two input rows (and columns) per output row (column) matter: those are
    gathered first, and only they are converted to float. An 8000x8000 photo then costs a few MB
    instead of the 768 MB a float copy of the whole image would take.
    """
    top, bottom, y_lerp = _legacy_sample_points(height, pixels.shape[0])
    left, right, x_lerp = _legacy_sample_points(width, pixels.shape[1])
    if window is not None:
        row, column, rows, columns = window
        top, bottom, y_lerp = (a[row : row + rows] for a in (top, bottom, y_lerp))
        left, right, x_lerp = (a[column : column + columns] for a in (left, right, x_lerp))
    channels = pixels.shape[2]
    # The kernel lerps along x first, in each of the two sampled rows, then along y. A sampled
    # row's x-lerp is the same for every output row that uses it, so each is computed once.
    sampled, which = np.unique(np.concatenate([top, bottom]), return_inverse=True)
    band = np.take(pixels, sampled, axis=0)  # [sampled rows, W, C] uint8
    scale = np.float32(1.0 / 255.0)  # convert_image_dtype multiplies by 1 / dtype max
    lo = np.take(band, left, axis=1).astype(np.float32).reshape(len(sampled), -1)
    hi = np.take(band, right, axis=1).astype(np.float32).reshape(len(sampled), -1)
    lo *= scale
    hi *= scale
    # [sampled rows, columns * C]: lo + (hi - lo) * x_lerp, x_lerp repeated per channel.
    hi -= lo
    hi *= np.repeat(x_lerp, channels)
    lo += hi
    upper = np.take(lo, which[: len(top)], axis=0)  # [rows, columns * C]
    lower = np.take(lo, which[len(top) :], axis=0)
    lower -= upper
    lower *= y_lerp[:, None]
    upper += lower
    return upper.reshape(len(top), len(left), channels)


def _legacy_sample_points(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = np.float32(in_size) / np.float32(out_size)
    position = np.arange(out_size, dtype=np.float32) * scale
    floor = np.floor(position)
    lower = floor.astype(np.int64)
    upper = np.minimum(np.ceil(position).astype(np.int64), in_size - 1)
    return lower, upper, (position - floor).astype(np.float32)
