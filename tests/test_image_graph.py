"""The exported model's front end (image_graph.py) against the Captioner's: the same pixels, bit
for bit, from the same bytes; EXIF orientation read from hand-built blocks in both byte orders."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from fixtures.paths import SEED_IMAGES
from im2txt.config import ModelConfig
from im2txt.image_graph import exif_orientation, preprocess_encoded
from im2txt.image_loading import load_image
from im2txt.image_processing import preprocess

COCO = ModelConfig()
SMALL = ModelConfig(resize_height=40, resize_width=40, image_height=32, image_width=32)


def graph_preprocess(data: bytes, config: ModelConfig = COCO) -> np.ndarray:
    return preprocess_encoded(tf.constant(data), config).numpy()


def captioner_preprocess(data: bytes, config: ModelConfig = COCO) -> np.ndarray:
    return preprocess(load_image(data).pixels, config)


def jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def with_exif(data: bytes, orientation: int, order: str = "II", kind: int = 3) -> bytes:
    """JPEG bytes with an APP1 EXIF block, written by hand: TIFF header in `order` ("II" little-,
    "MM" big-endian), IFD0 with a dummy tag and then the orientation tag (type `kind`: 3 SHORT,
    4 LONG). An APP0 segment before it, as cameras write, must be skipped."""
    e = "<" if order == "II" else ">"
    value = struct.pack(f"{e}HH" if kind == 3 else f"{e}I", orientation, *[0] * (kind == 3))
    ifd = struct.pack(f"{e}H", 2)
    ifd += struct.pack(f"{e}HHI", 0x010F, 2, 4) + b"cam\0"  # Make = "cam"
    ifd += struct.pack(f"{e}HHI", 0x0112, kind, 1) + value
    ifd += struct.pack(f"{e}I", 0)  # no next IFD
    tiff = order.encode() + struct.pack(f"{e}HI", 42, 8) + ifd
    app1 = b"Exif\0\0" + tiff
    app0 = b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    segments = b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
    segments += b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    return data[:2] + segments + data[2:]


def scene(height: int, width: int) -> np.ndarray:
    """Distinct quadrants, so that every turn and mirror gives other pixels."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x * y) % 251], axis=2).astype(np.uint8)


def test_seed_photos_preprocess_bit_for_bit_like_the_captioner():
    photos = sorted(SEED_IMAGES.glob("*.jpg"))
    assert len(photos) >= 6
    for photo in photos:
        data = photo.read_bytes()
        np.testing.assert_array_equal(
            graph_preprocess(data), captioner_preprocess(data), err_msg=photo.name
        )


@pytest.mark.parametrize("order", ["II", "MM"])
def test_every_exif_orientation_like_the_captioner(order):
    base = jpeg(scene(48, 64), quality=95)
    seen = []
    for orientation in range(1, 9):
        data = with_exif(base, orientation, order)
        assert Image.open(io.BytesIO(data)).getexif()[0x0112] == orientation  # Pillow reads it
        assert int(exif_orientation(tf.constant(data))) == orientation
        ours = graph_preprocess(data, SMALL)
        np.testing.assert_array_equal(ours, captioner_preprocess(data, SMALL), err_msg=orientation)
        seen.append(ours)
    # The eight orientations give eight different images, so a wrong turn cannot pass.
    assert len({a.tobytes() for a in seen}) == 8


def test_orientation_as_long_and_missing_or_broken_blocks():
    base = jpeg(scene(48, 64))
    assert int(exif_orientation(tf.constant(with_exif(base, 6, "MM", kind=4)))) == 6
    assert int(exif_orientation(tf.constant(base))) == 1  # no EXIF block
    broken = with_exif(base, 6)
    cut = broken.index(b"Exif") + 12  # the TIFF header's IFD offset cut short
    for data in (broken[:cut], broken[:4], b"", b"\xff\xd8\xff\xe1\xff\xff"):
        assert int(exif_orientation(tf.constant(data))) == 1


def test_png_and_greyscale_jpeg_like_the_captioner():
    pixels = scene(50, 70)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    png = buffer.getvalue()
    np.testing.assert_array_equal(graph_preprocess(png), captioner_preprocess(png))
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, 0]).save(buffer, "JPEG")
    grey = buffer.getvalue()
    np.testing.assert_array_equal(graph_preprocess(grey), captioner_preprocess(grey))
