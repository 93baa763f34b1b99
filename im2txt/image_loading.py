"""Image inputs -> upright RGB uint8 pixels, within a pixel limit and in bounded memory.

JPEG bytes are decoded by TensorFlow's own decoder with default arguments, exactly like the
original graph (Pillow's IDCT differs by a few levels on most pixels). Every other input goes
through Pillow, converted to RGB a band of rows at a time, so that decoding never holds more than
the image in its own mode (at most 4 bytes a pixel) plus its 8-bit RGB copy (3 bytes a pixel).

The pixel limit is a setting: IM2TXT_MAX_PIXELS in the environment (on Streamlit Community Cloud,
a root-level secret of that name), DEFAULT_MAX_PIXELS otherwise. Images over it are refused from
their header, before any pixel is decoded. Decodes across all threads of the process share a
budget of that many pixels, so that sessions uploading large images at once take turns instead of
adding up. Pillow's own process-wide bomb limit (Image.MAX_IMAGE_PIXELS) is left as it is.

Which formats are read is image_formats' (importing it lets Pillow read HEIC). PNG metadata
(ICC profiles, text) is never used, as in the original, whose decode_png ignored it too: a PNG that
Pillow refuses for its metadata alone (a profile inflating past its 1 MB bound for compressed
chunks, PngImagePlugin.MAX_TEXT_CHUNK, which is left as it is) is read again without those chunks,
so they are never inflated at all.
"""

from __future__ import annotations

import io
import os
import re
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from im2txt.errors import ImageError
from im2txt.image_formats import not_read_reason, readable_formats
from im2txt.image_modes import block_mean, to_rgb
from im2txt.memory import give_back_freed_memory

# The pixel limit when IM2TXT_MAX_PIXELS is not set: full-resolution photos of 48-64 MP phone
# cameras fit (9248x6944 is 64.2 MP), their 108 and 200 MP modes do not. At 100 MP the app with the
# COCO model peaked at 2.1 GB, too close to Community Cloud's ~2.7 GB; what each kind of image
# costs at this limit is in bench/bench_upload_memory.py and the README.
DEFAULT_MAX_PIXELS = 65_000_000
MAX_PIXELS_ENV = "IM2TXT_MAX_PIXELS"
# Longest side of a preview (what the app shows): sharp in a laptop column on a 2x screen.
PREVIEW_SIDE = 800

ImageInput = str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# PNG chunks that hold only metadata: an ICC profile and text, compressed or not.
_PNG_METADATA = frozenset({b"iCCP", b"zTXt", b"iTXt", b"tEXt"})
_EXIF_ORIENTATION = 0x0112
# Decodes of at least this many pixels give their freed memory back (give_back_freed_memory).
_TRIM_PIXELS = 4_000_000


@dataclass(frozen=True)
class LoadedImage:
    """An image decoded to RGB uint8, upright, with a name for messages."""

    pixels: np.ndarray  # [height, width, 3] uint8
    name: str


def max_pixels() -> int:
    """The pixel limit in force: IM2TXT_MAX_PIXELS when set (digits, or e.g. "50e6"), else the
    default. A value that is not a positive number is an ImageError naming the setting."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        value = 0
    if value < 1:
        raise ImageError(f"{MAX_PIXELS_ENV}={text!r}: the pixel limit must be a positive number")
    return value


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
    name = _one_line(name or describe(image))
    if isinstance(image, (str, os.PathLike)):
        image = read_image_file(Path(image), name)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return LoadedImage(_decode_bytes(bytes(image), name), name)
    if isinstance(image, Image.Image):
        _check_size(image.width, image.height, name)
        with _BUDGET.hold(image.width * image.height):
            return LoadedImage(_pil_to_rgb(image, name), name)
    if isinstance(image, np.ndarray):
        return LoadedImage(_array_to_rgb(image, name), name)
    raise ImageError(f"{name}: unsupported image type {type(image).__name__}")


# Bytes a decode holds at its peak, per pixel: the image in its own mode (at most 4 bytes a pixel)
# and its 8-bit RGB copy (3), plus the preprocessed copies' share at ordinary photo sizes.
DECODE_BYTES_PER_PIXEL = 8


def decode_peak_bytes(image: ImageInput) -> int:
    """The memory decoding `image` will need at its peak, from its header alone (0 when the header
    cannot be read: load_image then gives the error). Cheap: no pixel is decoded."""
    if isinstance(image, np.ndarray):
        return 2 * image.nbytes
    if isinstance(image, Image.Image):
        return DECODE_BYTES_PER_PIXEL * image.width * image.height
    try:
        source = image if isinstance(image, (str, os.PathLike)) else bytes(image)
        with _open(source) as opened:
            return DECODE_BYTES_PER_PIXEL * opened.width * opened.height
    except Exception:  # not an image, or a header Pillow refuses: load_image says which
        return 0


def image_format(image: str | os.PathLike | bytes) -> str | None:
    """Pillow's name for the format of an image file the library reads ("PNG", "HEIF", ...), from
    its header alone; None when the file is not one."""
    try:
        with _open(image) as opened:
            format_name = opened.format
    except Exception:  # not an image, or one Pillow refuses
        return None
    return format_name if format_name in readable_formats() else None


def preview(image: ImageInput, name: str | None = None, side: int = PREVIEW_SIDE) -> np.ndarray:
    """The image upright, as RGB uint8 at most `side` pixels on its longer side and at least one
    on the shorter: what an app shows beside the captions. ImageError like load_image."""
    name = _one_line(name or describe(image))
    if isinstance(image, (str, os.PathLike)):
        image = read_image_file(Path(image), name)
    if isinstance(image, (bytes, bytearray, memoryview)) and bytes(image[:3]) == _JPEG_MAGIC:
        small = _jpeg_preview(bytes(image), name, side)
        if small is not None:
            return small
    pixels = load_image(image, name).pixels
    height, width = pixels.shape[:2]
    if max(height, width) <= side:
        return pixels
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Averaged over whole blocks first, a band at a time (no full-size copy), then to the size.
    factor = max(1, max(height, width) // side)
    small = block_mean(pixels, min(factor, height), min(factor, width))
    del pixels
    if height * width >= _TRIM_PIXELS:
        give_back_freed_memory()
    return np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BILINEAR))


def _jpeg_preview(data: bytes, name: str, side: int) -> np.ndarray | None:
    """A JPEG decoded by Pillow straight at 1/2, 1/4 or 1/8 of its size (its DCT scaling: no
    full-size pixels at all), upright and shrunk to `side`; None to decode it in full instead."""
    try:
        opened = Image.open(io.BytesIO(data))
        _check_size(opened.width, opened.height, name)
        if not _jpeg_is_complete(data):
            return None  # load_image says why
        orientation = _orientation(opened)
        opened.draft("RGB", (side, side))
        opened.thumbnail((side, side), Image.Resampling.BILINEAR)
        return _apply_orientation(np.asarray(opened.convert("RGB")), orientation)
    except ImageError:
        raise
    except Exception:  # anything Pillow cannot do here, the full decode reports
        return None


# --- the decode budget ---------------------------------------------------------------------------


class _DecodeBudget:
    """Pixels being decoded in the whole process, at most the pixel limit: a decode waits until
    its image fits (one at the limit runs alone; small ones run side by side)."""

    def __init__(self) -> None:
        self._in_use = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        with self._changed:
            wanted = min(pixels, max_pixels())
            self._changed.wait_for(
                lambda: self._in_use == 0 or self._in_use + wanted <= max_pixels()
            )
            self._in_use += wanted
        try:
            yield
        finally:
            with self._changed:
                self._in_use -= wanted
                self._changed.notify_all()


_BUDGET = _DecodeBudget()


# --- reading and decoding ------------------------------------------------------------------------


def read_image_file(path: Path, name: str, max_bytes: int | None = None) -> bytes:
    """A file's bytes (with max_bytes, at most max_bytes + 1 of them, so that a caller can tell
    a larger file without reading it all); one ImageError line naming it when it cannot be read
    or is empty."""
    try:
        with open(path, "rb") as file:
            data = file.read() if max_bytes is None else file.read(max_bytes + 1)
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a folder, not an image") from None
    except OSError as e:
        raise ImageError(f"{name}: cannot read ({e.strerror})") from None
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    return data


def _open(source: bytes | str | os.PathLike) -> Image.Image:
    """Pillow's image for a file's bytes or path, its header read (no pixel decoded); a PNG
    refused for its metadata is opened again without it. Raises what Image.open raises."""
    try:
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except UnidentifiedImageError:
        raise
    except (ValueError, SyntaxError, OSError):
        data = source if isinstance(source, bytes) else _png_file_bytes(source)
        stripped = _png_without_metadata(data) if data else None
        if stripped is None:
            raise
        return Image.open(io.BytesIO(stripped))


def _png_file_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes when it is a PNG, else b"" (a file of any other kind is not read)."""
    with open(path, "rb") as file:
        head = file.read(len(_PNG_MAGIC))
        return head + file.read() if head == _PNG_MAGIC else b""


def _png_without_metadata(data: bytes) -> bytes | None:
    """The PNG without its ICC profile and text chunks; None when `data` is no PNG or has none.

    Chunks are stepped over by their lengths and never inflated; Pillow checks the rest."""
    if not data.startswith(_PNG_MAGIC):
        return None
    kept: list[bytes | memoryview] = [_PNG_MAGIC]
    position, dropped = len(_PNG_MAGIC), False
    view = memoryview(data)
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length  # length, type, data, CRC
        if kind in _PNG_METADATA:
            dropped = True
        else:
            kept.append(view[position:end])
        position = end
        if kind == b"IEND":
            break
    return b"".join(kept) if dropped else None


def _decode_bytes(data: bytes, name: str) -> np.ndarray:
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    try:
        opened = _open(data)  # reads the header only
    except UnidentifiedImageError:
        if data.startswith(_JPEG_MAGIC):  # lossless (SOF3), arithmetic-coded, 12-bit, ...
            raise ImageError(f"{name}: a kind of JPEG that cannot be decoded") from None
        reason = not_read_reason(data) or "not an image (unrecognised file format)"
        raise ImageError(f"{name}: {reason}") from None
    except Image.DecompressionBombError as e:
        # Pillow refuses past twice its own limit (which this library leaves alone) on opening.
        found = re.search(r"\((\d+) pixels\)", str(e))
        pixels = int(found.group(1)) if found else 0
        limit = max_pixels()
        if pixels > limit:
            raise ImageError(
                f"{name}: image is {pixels / 1e6:.0f} MP, over the {limit / 1e6:g} MP limit"
            ) from None
        raise ImageError(f"{name}: over Pillow's pixel limit ({_one_line(str(e))})") from None
    except Exception as e:  # Pillow raises many kinds on broken headers
        raise ImageError(f"{name}: cannot read image header ({_one_line(str(e))})") from None
    not_read = not_read_reason(data, opened.format)
    if not_read is not None:
        opened.close()
        raise ImageError(f"{name}: {not_read}")
    _check_size(opened.width, opened.height, name)
    pixels = opened.width * opened.height
    with _BUDGET.hold(pixels):
        try:
            if data.startswith(_JPEG_MAGIC) and opened.format == "JPEG":
                return _decode_jpeg_like_original(data, opened, name)
            return _pil_to_rgb(opened, name)
        finally:
            opened.close()  # its pixels in their own mode, before the memory is given back
            if pixels >= _TRIM_PIXELS:
                give_back_freed_memory()


def _decode_jpeg_like_original(data: bytes, opened: Image.Image, name: str) -> np.ndarray:
    import tensorflow as tf

    # TensorFlow's decoder logs a stray "Premature end of JPEG data" line on stderr for a cut
    # file before failing: such files are recognised here and never handed to it.
    if not _jpeg_is_complete(data):
        raise ImageError(f"{name}: corrupt or truncated JPEG (the data stops before its end)")
    try:
        pixels = tf.io.decode_jpeg(data, channels=3).numpy()
    except tf.errors.InvalidArgumentError:
        raise ImageError(f"{name}: corrupt or truncated JPEG") from None
    except tf.errors.ResourceExhaustedError:
        raise ImageError(f"{name}: JPEG too large to decode") from None
    return _apply_orientation(pixels, _orientation(opened))


def _jpeg_is_complete(data: bytes) -> bool:
    """Whether the JPEG's image data reaches an end-of-image marker.

    The header's segments (EXIF thumbnails hold whole JPEGs, end marker included) are stepped over
    by their lengths up to the first start-of-scan; past it, entropy-coded data never holds FF D9
    (a data byte FF is always followed by 00), so the first FF D9 there is the real end.
    """
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return True  # not a layout this check knows: let the decoder judge
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return True
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # start of scan
            return data.find(b"\xff\xd9", position + 2 + length) >= 0
        position += 2 + length
    return False


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
    """Decode a Pillow image (its first frame) in its own mode, then convert it to RGB a band of
    rows at a time; the EXIF orientation is applied to the RGB pixels."""
    with suppress(EOFError, AttributeError, ValueError):
        image.seek(0)  # the first frame of an animation
    try:
        orientation = _orientation(image)
        image.load()
        rgb = to_rgb(image)
    except ValueError as e:
        if "conversion" in str(e):  # a mode Pillow cannot turn into RGB
            raise ImageError(f"{name}: unsupported colour mode {image.mode}") from None
        raise ImageError(f"{name}: corrupt or truncated image ({_one_line(str(e))})") from None
    except (OSError, SyntaxError, EOFError, IndexError, KeyError, TypeError) as e:
        raise ImageError(f"{name}: corrupt or truncated image ({_one_line(str(e))})") from None
    except MemoryError:
        raise ImageError(f"{name}: too large to decode") from None
    return _apply_orientation(rgb, orientation)


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
    limit = max_pixels()
    if width * height > limit:
        raise ImageError(
            f"{name}: image is {width}x{height} ({width * height / 1e6:.3g} MP), over the "
            f"{limit / 1e6:g} MP limit"
        )


def _one_line(text: str) -> str:
    """Messages are one line even when a file name or a library's message is not."""
    return " ".join(text.split()) if "\n" in text or "\r" in text else text
