"""Tests for im2txt.video.overlay: the caption band's layout, blended into RGB and YUV frames."""

from __future__ import annotations

import numpy as np
import pytest

from im2txt.video.overlay import (
    BAND_OPACITY,
    MAX_LINES,
    MIN_FONT_PIXELS,
    _font,
    caption_band,
    font_size,
    wrap,
)

LONG = "a small red circle to the left of a large blue square ."


@pytest.mark.parametrize(
    "size, expected",
    [
        ((1280, 720), 32),  # 4.5% of the height
        ((1920, 1080), 49),
        ((720, 1280), 24),  # portrait: 4.5% of 3/4 of the width
        ((160, 120), MIN_FONT_PIXELS),
    ],
)
def test_font_size_follows_the_frame(size, expected):
    assert font_size(*size) == expected


@pytest.mark.parametrize("size", [(1280, 720), (640, 360), (160, 120), (720, 1280), (96, 96)])
def test_band_fits_the_frame(size):
    width, height = size
    band = caption_band(LONG, width, height)
    font = _font(band.font_size)
    assert 1 <= len(band.lines) <= MAX_LINES
    assert all(font.getlength(line) <= width for line in band.lines)
    assert " ".join(band.lines).replace("...", "") in LONG
    assert band.top % 2 == 0 and 0 <= band.top < height
    assert band.alpha.shape == band.light.shape == (height - band.top, width)
    # A semi-transparent strip, opaque only where the text is.
    assert band.alpha.min() == pytest.approx(BAND_OPACITY)
    assert band.alpha.max() > 0.95 and band.light.max() > 0.9


def test_short_caption_on_a_wide_frame_is_one_line():
    band = caption_band("a red circle .", 1280, 720)
    assert band.lines == ("a red circle .",)
    assert 720 - band.top == pytest.approx(1.25 * 32 + 2 * 0.4 * 32, abs=2)


def test_empty_caption_draws_nothing():
    assert caption_band("", 640, 360) is None
    assert caption_band("   ", 640, 360) is None


def test_wrap_shortens_what_does_not_fit():
    font = _font(20)
    words = " ".join(["word"] * 40)
    lines = wrap(words, font, 200, 3)
    assert len(lines) == 3 and lines[-1].endswith("...")
    assert all(font.getlength(line) <= 200 for line in lines)
    assert wrap("supercalifragilistic", font, 20, 3) == ["supercalifragilistic"]


def test_blend_rgb_changes_only_the_band():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    original = frame.copy()
    band = caption_band("a red circle .", 160, 120)
    band.blend_rgb(frame)
    assert np.array_equal(frame[: band.top], original[: band.top])
    expected = original[band.top :] * (1 - band.alpha[..., None]) + 255 * band.light[..., None]
    assert np.abs(frame[band.top :] - expected).max() <= 1.0  # 8-bit fixed point
    with pytest.raises(ValueError, match="made for"):
        band.blend_rgb(np.zeros((100, 160, 3), np.uint8))


def test_blend_yuv420_matches_the_rgb_blend_for_greys():
    # Over a grey picture the band is grey: Y follows the RGB blend (16-235 range), U and V stay.
    band = caption_band(LONG, 320, 240)
    level = 180
    y = np.full((240, 320), 16 + round(219 * level / 255), np.uint8)
    u = np.full((120, 160), 128, np.uint8)
    v = u.copy()
    band.blend_yuv420(y, u, v)
    rgb = np.full((240, 320, 3), level, np.uint8)
    band.blend_rgb(rgb)
    expected_y = 16 + 219 * rgb[..., 0].astype(float) / 255
    assert np.abs(y - expected_y).max() <= 1.5
    assert np.all(u == 128) and np.all(v == 128)
    assert np.all(y[: band.top] == y[0, 0])


def test_blend_yuv420_darkens_chroma_towards_neutral():
    band = caption_band("a", 64, 64)
    y = np.full((64, 64), 100, np.uint8)
    u = np.full((32, 32), 200, np.uint8)
    v = np.full((32, 32), 50, np.uint8)
    band.blend_yuv420(y, u, v)
    rows = slice(band.top // 2, None)
    assert np.all(u[: band.top // 2] == 200) and np.all(v[: band.top // 2] == 50)
    assert u[rows].max() < 200 and u[rows].min() >= 128
    assert v[rows].min() > 50 and v[rows].max() <= 128
