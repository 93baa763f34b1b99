"""Image inputs: bit-exact original preprocessing for JPEG, other kinds via Pillow, bad input."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from fixtures.paths import SEED_IMAGES
from im2txt.config import ModelConfig
from im2txt.errors import ImageError
from im2txt.image_loading import DEFAULT_MAX_PIXELS, load_image
from im2txt.image_processing import preprocess, resize_bilinear_legacy


def original_preprocessing(jpeg: bytes) -> np.ndarray:
    """The original graph's ops/image_processing.py at inference, with TF's own ops."""
    image = tf.io.decode_jpeg(jpeg, channels=3)
    image = tf.image.convert_image_dtype(image, tf.float32)
    image = tf.compat.v1.image.resize_bilinear(
        image[None], [346, 346], align_corners=False, half_pixel_centers=False
    )[0]
    image = tf.image.resize_with_crop_or_pad(image, 299, 299)
    return ((image - 0.5) * 2.0).numpy()


def encode(pixels: np.ndarray, fmt: str = "JPEG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus noise: JPEG-realistic content at any size."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width, 1), y * 255 / max(height, 1), (x + y) % 256], axis=2)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "height,width", [(480, 640), (299, 299), (346, 346), (1, 1), (7, 3000), (2000, 1333), (50, 60)]
)
def test_legacy_resize_is_bit_identical_to_tensorflow(height, width):
    pixels = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), np.uint8)
    expected = tf.compat.v1.image.resize_bilinear(
        tf.image.convert_image_dtype(pixels, tf.float32)[None],
        [346, 346],
        align_corners=False,
        half_pixel_centers=False,
    )[0].numpy()
    np.testing.assert_array_equal(resize_bilinear_legacy(pixels, 346, 346), expected)


def test_seed_jpegs_preprocess_exactly_like_the_original_graph():
    photos = sorted(SEED_IMAGES.glob("*.jpg"))
    assert len(photos) >= 6
    for photo in photos:
        jpeg = photo.read_bytes()
        ours = preprocess(load_image(photo).pixels)
        assert ours.dtype == np.float32 and ours.shape == (299, 299, 3)
        np.testing.assert_array_equal(ours, original_preprocessing(jpeg), err_msg=photo.name)
        # bytes and path inputs are the same input
        np.testing.assert_array_equal(load_image(jpeg).pixels, load_image(photo).pixels)


def test_jpeg_is_decoded_by_tensorflow_not_pillow():
    jpeg = encode(scene(120, 160), quality=75)
    ours = load_image(jpeg).pixels
    np.testing.assert_array_equal(ours, tf.io.decode_jpeg(jpeg, channels=3).numpy())


def test_other_formats_and_input_kinds_agree():
    pixels = scene(90, 120)
    png = encode(pixels, "PNG")
    for image in (png, Image.open(io.BytesIO(png)), pixels, encode(pixels, "BMP")):
        np.testing.assert_array_equal(load_image(image).pixels, pixels)
    webp = load_image(encode(pixels, "WEBP", lossless=True)).pixels
    np.testing.assert_array_equal(webp, pixels)
    tiff = load_image(encode(pixels, "TIFF")).pixels
    np.testing.assert_array_equal(tiff, pixels)


def test_small_demo_sizes_without_crop():
    config = ModelConfig(resize_height=128, resize_width=128, image_height=128, image_width=128)
    out = preprocess(scene(100, 200), config)
    assert out.shape == (128, 128, 3)
    assert out.min() >= -1.0 and out.max() <= 1.0


# --- odd colour modes ----------------------------------------------------------------------------


def test_cmyk_jpeg_decodes_like_the_original():
    jpeg = encode(scene(64, 80), "JPEG")
    cmyk = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).convert("CMYK").save(cmyk, "JPEG")
    pixels = load_image(cmyk.getvalue()).pixels
    assert pixels.shape == (64, 80, 3)
    np.testing.assert_array_equal(pixels, tf.io.decode_jpeg(cmyk.getvalue(), channels=3).numpy())
    reference = np.asarray(Image.open(io.BytesIO(cmyk.getvalue())).convert("RGB"), np.int16)
    assert np.abs(pixels.astype(np.int16) - reference).max() <= 3


def test_rgba_png_is_shown_on_white():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)  # opaque red left half, transparent black right half
    pixels = load_image(encode(rgba, "PNG")).pixels
    assert tuple(pixels[5, 5]) == (255, 0, 0)
    assert tuple(pixels[5, 35]) == (255, 255, 255)


def test_16_bit_png_keeps_its_tones():
    grey16 = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(grey16).save(buffer, "PNG")
    pixels = load_image(buffer.getvalue()).pixels
    assert pixels.shape == (64, 64, 3)
    # Scaled to 8 bits, not clipped to white: the middle of the ramp is mid-grey.
    assert 120 <= pixels[32, 0, 0] <= 135
    assert pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255


def test_animated_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    pixels = load_image(buffer.getvalue()).pixels
    assert tuple(pixels[16, 16]) == (255, 0, 0)


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_is_applied(orientation):
    # An upright picture: red top band, blue bottom-left block. Stored transformed so that
    # applying `orientation` shows it upright again, as a phone camera does.
    upright = np.full((60, 90, 3), 255, np.uint8)
    upright[:15] = (255, 0, 0)
    upright[45:, :30] = (0, 0, 255)
    image = Image.fromarray(upright)
    inverse = {
        1: [],
        2: [Image.Transpose.FLIP_LEFT_RIGHT],
        3: [Image.Transpose.ROTATE_180],
        4: [Image.Transpose.FLIP_TOP_BOTTOM],
        5: [Image.Transpose.TRANSPOSE],
        6: [Image.Transpose.ROTATE_90],
        7: [Image.Transpose.TRANSVERSE],
        8: [Image.Transpose.ROTATE_270],
    }[orientation]
    for op in inverse:
        image = image.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    for fmt in ("JPEG", "PNG"):
        buffer = io.BytesIO()
        image.save(buffer, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
        pixels = load_image(buffer.getvalue()).pixels
        assert pixels.shape == upright.shape, (fmt, orientation)
        assert np.abs(pixels[5, 45].astype(int) - (255, 0, 0)).max() < 40, (fmt, orientation)
        assert np.abs(pixels[55, 5].astype(int) - (0, 0, 255)).max() < 40, (fmt, orientation)
        assert np.abs(pixels[55, 85].astype(int) - (255, 255, 255)).max() < 40, (fmt, orientation)


# --- bad input -----------------------------------------------------------------------------------


def test_truncated_jpeg(tmp_path):
    jpeg = encode(scene(200, 300))
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg[: len(jpeg) // 2])
    with pytest.raises(ImageError, match=r"cut\.jpg: corrupt or truncated JPEG"):
        load_image(path)


def test_truncated_png(tmp_path):
    png = encode(scene(200, 300), "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(png[: len(png) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: corrupt or truncated image"):
        load_image(path)


def test_text_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not the pixels you are looking for\n")
    with pytest.raises(ImageError, match=r"notes\.jpg: not an image"):
        load_image(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ImageError, match=r"missing\.jpg: file not found"):
        load_image(tmp_path / "missing.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.jpg: empty file \(0 bytes\)"):
        load_image(tmp_path / "empty.jpg")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but holds almost no data: only the header may be read."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))


def jpeg_with_size(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header is patched to claim width x height."""
    data = bytearray(encode(scene(8, 8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_images_over_the_pixel_limit_are_refused_before_decoding():
    assert DEFAULT_MAX_PIXELS == 65_000_000
    for data in (png_header_only(12000, 9000), jpeg_with_size(20000, 20000)):
        with pytest.raises(ImageError, match=r"over the 65 MP limit"):
            load_image(data, name="huge")
    with pytest.raises(ImageError, match=r"over the 65 MP limit"):
        load_image(np.broadcast_to(np.zeros(3, np.uint8), (8100, 8100, 3)))


@pytest.mark.slow
def test_an_8000x8000_photo_works():
    y, x = np.mgrid[0:8000, 0:8000]
    pixels = np.stack([x % 256, y % 256, (x // 32) % 256], axis=2).astype(np.uint8)
    jpeg = encode(pixels, quality=85)
    del pixels, x, y
    out = preprocess(load_image(jpeg).pixels)
    assert out.shape == (299, 299, 3) and np.isfinite(out).all()
