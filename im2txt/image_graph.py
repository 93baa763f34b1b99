"""Encoded image bytes -> the encoder's input, in TensorFlow ops (the exported model's front end).

The same pixels as the Captioner's image loading and preprocessing give, without Python. JPEG:
TensorFlow's decoder with its default arguments (the original graph's decode_jpeg), then the EXIF
orientation applied as the Captioner's loader applies it. Other formats (PNG, GIF, BMP):
decode_image to RGB; unlike the Captioner, an alpha channel is dropped rather than shown on white
(the original's decode_png(channels=3) did the same) and PNG orientation tags are not read. Then
the original preprocessing with TensorFlow's own kernels: float in [0, 1], TF1 bilinear resize
(align_corners=False, half_pixel_centers=False), central crop, (x - 0.5) * 2.
"""

from __future__ import annotations

import tensorflow as tf

from im2txt.config import ModelConfig

_ORIENTATION_TAG = 0x0112
# Per EXIF orientation 0-8 (0 and unknown values: as 1): mirror first, then turn counter-clockwise
# this many quarter turns (the Captioner loader's _apply_orientation in table form).
_MIRRORED = (False, False, True, False, True, True, False, True, False)
_QUARTER_TURNS = (0, 0, 0, 2, 2, 1, 3, 3, 1)


def preprocess_encoded(data: tf.Tensor, config: ModelConfig) -> tf.Tensor:
    """Encoded image bytes (scalar string) -> float32 [image_height, image_width, 3] in [-1, 1]."""
    pixels = tf.cond(
        tf.io.is_jpeg(data),
        lambda: upright(tf.io.decode_jpeg(data, channels=3), exif_orientation(data)),
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
    )
    image = tf.image.convert_image_dtype(pixels, tf.float32)
    # The TF1 kernel itself (tf.compat.v1.image.resize_bilinear, without its deprecation notice).
    image = tf.raw_ops.ResizeBilinear(
        images=image[None],
        size=[config.resize_height, config.resize_width],
        align_corners=False,
        half_pixel_centers=False,
    )[0]
    top = (config.resize_height - config.image_height) // 2
    left = (config.resize_width - config.image_width) // 2
    image = image[top : top + config.image_height, left : left + config.image_width]
    return (image - 0.5) * 2.0


def upright(pixels: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """uint8 [height, width, 3] turned upright for an EXIF orientation (1-8; others: as is)."""
    index = tf.where((orientation >= 0) & (orientation <= 8), orientation, 0)
    mirrored = tf.gather(tf.constant(_MIRRORED), index)
    pixels = tf.cond(mirrored, lambda: tf.reverse(pixels, axis=[1]), lambda: pixels)
    return tf.image.rot90(pixels, tf.gather(tf.constant(_QUARTER_TURNS), index))


def exif_orientation(data: tf.Tensor) -> tf.Tensor:
    """The orientation tag of a JPEG's EXIF block (int32 scalar), 1 when it has none.

    Walks the segments after SOI until the first APP1 "Exif\\0\\0" one (or the image data),
    then reads IFD0 of its TIFF block in the block's byte order, as Pillow's getexif() does.
    Reads past the end see zeros, so a truncated or broken block gives 1, never an error.
    """
    raw = tf.cast(tf.io.decode_raw(data, tf.uint8), tf.int32)
    size = tf.size(raw)
    padded = tf.concat([raw, tf.zeros([16], tf.int32)], axis=0)

    def byte(i):
        inside = (i >= 0) & (i < size)
        return tf.where(inside, tf.gather(padded, tf.clip_by_value(i, 0, size)), 0)

    exif_header = tf.constant([0x45, 0x78, 0x69, 0x66, 0, 0])  # "Exif\0\0"

    def scanning(position, tiff):
        marker = byte(position + 1)
        # 0xDA: start of scan (image data follows), 0xD9: end of image.
        return (tiff < 0) & (byte(position) == 0xFF) & (marker != 0xDA) & (marker != 0xD9)

    def next_segment(position, tiff):
        marker = byte(position + 1)
        length = byte(position + 2) * 256 + byte(position + 3)
        header = byte(position + 4 + tf.range(6))
        is_exif = tf.equal(marker, 0xE1) & tf.reduce_all(tf.equal(header, exif_header))
        fill = tf.equal(marker, 0xFF)  # a fill byte before a marker
        step = tf.where(fill, 1, 2 + length)
        return position + step, tf.where(is_exif, position + 10, -1)

    _, tiff = tf.while_loop(
        scanning, next_segment, (tf.constant(2), tf.constant(-1)), maximum_iterations=size
    )
    little = tf.equal(byte(tiff), 0x49)  # "II"; "MM" is big-endian

    def u16(i):
        return tf.where(little, byte(i) + byte(i + 1) * 256, byte(i) * 256 + byte(i + 1))

    def u32(i):
        return tf.where(little, u16(i) + u16(i + 2) * 65536, u16(i) * 65536 + u16(i + 2))

    ifd = tiff + u32(tiff + 4)
    readable = (tiff >= 0) & (ifd >= 0) & (ifd < size)
    count = tf.where(readable, tf.minimum(u16(ifd), (size - ifd) // 12), 0)
    entries = ifd + 2 + 12 * tf.range(count)  # [count]
    matches = tf.where(tf.equal(u16(entries), _ORIENTATION_TAG))[:, 0]
    entry = tf.gather(entries, matches[:1])  # [0 or 1]
    kind = u16(entry + 2)
    value = tf.where(tf.equal(kind, 4), u32(entry + 8), u16(entry + 8))  # LONG, else SHORT
    found = tf.size(entry) > 0
    return tf.where(found, tf.reduce_sum(value), 1)
