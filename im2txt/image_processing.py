"""Image inputs -> the float32 [height, width, 3] in [-1, 1] the encoder reads, as the original did.

JPEG bytes are decoded by TensorFlow's own decoder with default arguments, exactly like the
original graph (Pillow's IDCT differs by a few levels on most pixels). Every other input goes
through Pillow to RGB. Then, for every input, the original's preprocessing:
float in [0, 1] -> TF1 bilinear resize (align_corners=False, half_pixel_centers=False) to
resize_height x resize_width -> central crop to image_height x image_width -> (x - 0.5) * 2.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from im2txt.config import ModelConfig
from im2txt.errors import ImageError

# File suffixes of the image formats the library reads (folders are searched for these).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
# Anything larger is refused before decoding: 100 MP of RGB is 300 MB before any conversion.
MAX_PIXELS = 100_000_000

# Pillow's own bomb check fires at ~89 MP; ours is the one that applies.
Image.MAX_IMAGE_PIXELS = None

ImageInput = str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray

_COCO = ModelConfig()
_JPEG_MAGIC = b"\xff\xd8\xff"
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class LoadedImage:
    """An image decoded to RGB uint8, upright, with a name for messages."""

    pixels: np.ndarray  # [height, width, 3] uint8
    name: str


def describe(image: ImageInput) -> str:
    """A short name for an image input, for messages and results."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    if isinstance(image, Image.Image):
        return getattr(image, "filename", "") or f"<PIL image {image.width}x{image.height}>"
    if isinstance(image, np.ndarray):
        return f"<array {'x'.join(map(str, image.shape))}>"
    return f"<{len(image)} bytes>"


def load_image(image: ImageInput, name: str | None = None) -> LoadedImage:
    """Decode any supported input to upright RGB uint8; raises ImageError with a one-line reason."""
    name = name or describe(image)
    if isinstance(image, (str, os.PathLike)):
        image = _read_file(Path(image), name)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return LoadedImage(_decode_bytes(bytes(image), name), name)
    if isinstance(image, Image.Image):
        _check_size(image.width, image.height, name)
        return LoadedImage(_pil_to_rgb(image, name), name)
    if isinstance(image, np.ndarray):
        return LoadedImage(_array_to_rgb(image, name), name)
    raise ImageError(f"{name}: unsupported image type {type(image).__name__}")


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


def _read_file(path: Path, name: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a folder, not an image") from None
    except OSError as e:
        raise ImageError(f"{name}: cannot read ({e.strerror})") from None
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    return data


def _decode_bytes(data: bytes, name: str) -> np.ndarray:
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    try:
        opened = Image.open(io.BytesIO(data))  # reads the header only
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image (unrecognised file format)") from None
    except Exception as e:  # Pillow raises many kinds on broken headers
        raise ImageError(f"{name}: cannot read image header ({e})") from None
    _check_size(opened.width, opened.height, name)
    if data.startswith(_JPEG_MAGIC):
        return _decode_jpeg_like_original(data, opened, name)
    return _pil_to_rgb(opened, name)


def _decode_jpeg_like_original(data: bytes, opened: Image.Image, name: str) -> np.ndarray:
    import tensorflow as tf

    try:
        pixels = tf.io.decode_jpeg(data, channels=3).numpy()
    except tf.errors.InvalidArgumentError:
        raise ImageError(f"{name}: corrupt or truncated JPEG") from None
    return _apply_orientation(pixels, _orientation(opened))


def _orientation(opened: Image.Image) -> int:
    try:
        return int(opened.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not stop captioning
        return 1


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn decoded pixels upright per the EXIF orientation tag (values 1-8)."""
    if orientation in (2, 4, 5, 7):  # mirrored variants: flip, then rotate like the plain ones
        pixels = pixels[:, ::-1]
        orientation = {2: 1, 4: 3, 5: 8, 7: 6}[orientation]
    # 3: upside down; 6: needs 90 degrees clockwise; 8: needs 90 degrees counter-clockwise.
    turns = {3: 2, 6: -1, 8: 1}.get(orientation, 0)
    return np.ascontiguousarray(np.rot90(pixels, turns))


def _pil_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    with contextlib.suppress(EOFError, AttributeError):
        image.seek(0)  # the first frame of an animation
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            # 16/32-bit greyscale: Pillow's convert("RGB") clips at 255; scale to 8 bits instead.
            values = np.asarray(image, dtype=np.float64)
            peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
            grey = np.clip(np.round(values * (255.0 / peak)), 0, 255).astype(np.uint8)
            return np.repeat(grey[:, :, None], 3, axis=2)
        if image.mode == "F":
            grey = np.clip(np.round(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)
            return np.repeat(grey[:, :, None], 3, axis=2)
        if image.mode in ("RGBA", "LA", "PA") or (
            image.mode == "P" and "transparency" in image.info
        ):
            # Transparent areas are shown on white, as image viewers do.
            rgba = image.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            canvas.alpha_composite(rgba)
            image = canvas
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{name}: corrupt or truncated image ({e})") from None


def _array_to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"{name}: expected an RGB array of shape [height, width, 3]")
    _check_size(array.shape[1], array.shape[0], name)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.dtype != np.uint8:
        raise ImageError(f"{name}: expected uint8 pixels, got {array.dtype}")
    return np.ascontiguousarray(array[:, :, :3])


def _check_size(width: int, height: int, name: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name}: image is {width}x{height} ({width * height / 1e6:.0f} MP), over the "
            f"{MAX_PIXELS / 1e6:.0f} MP limit"
        )
