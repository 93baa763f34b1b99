"""The caption band burnt into video frames: one caption laid out once, blended into many frames.

A band is white text, wrapped to the frame width, on a semi-transparent black strip across the
bottom of the frame. The font is the one Pillow ships (Aileron Regular, embedded in Pillow >= 10.1
and used by ``ImageFont.load_default(size)``): no font file to find or download. It has ASCII
characters only (no accents); others are drawn as boxes. The text size follows the frame: 4.5% of
its height, or of 3/4 of its width when that is less (portrait frames, where text as tall would
wrap into many short lines), and never below 10 pixels.

Everything that depends only on the caption and the frame size is computed once, when the band is
made, so that blending a frame touches only the band's rows with a multiply and an add per sample.
Frames are blended in place, either RGB or the Y, U and V planes of 8-bit YUV 4:2:0 in limited
range (the encoder's input, so that the video pipeline never converts colour spaces). White and
black are greys, which have the same Y, U and V in every YUV matrix (BT.601, BT.709, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Text height (the font's nominal pixel size) as a fraction of the frame's height, or of 3/4 of its
# width when that is less.
FONT_FRACTION = 0.045
MIN_FONT_PIXELS = 10
# Lines shown at most; a longer caption ends in "..." (Aileron has no ellipsis glyph).
MAX_LINES = 3
# Opacity of the black strip behind the text: the picture stays visible, the text stays readable
# even over white.
BAND_OPACITY = 0.6
# Left and right margin for the text, as a fraction of the frame width.
MARGIN_FRACTION = 0.04
# Line spacing and the strip's padding above and below the text, in font sizes.
LINE_SPACING = 1.25
PADDING = 0.4
# Fixed-point scale of the blend planes: out = (frame * keep + add + 128) >> 8, in uint16. Sums
# stay far below 2**16: keep + add / 255 is at most about 256, and frame <= 255.
_SHIFT = 8


@dataclass(frozen=True, eq=False)
class CaptionBand:
    """A caption laid out for one frame size; blend_* draw it into frames of that size."""

    text: str
    # The frame size the band was laid out for.
    frame_width: int
    frame_height: int
    # First frame row the strip covers; it covers every row below too.
    top: int
    # The lines drawn, after wrapping (and shortening, past MAX_LINES).
    lines: tuple[str, ...]
    font_size: int
    # Coverage of the strip over the frame: [rows, width] float32 in [0, 1].
    alpha: np.ndarray = field(repr=False)
    # Brightness of what is drawn, premultiplied by alpha: [rows, width] float32 in [0, 1]
    # (0 over the black strip, the text's coverage where the text is).
    light: np.ndarray = field(repr=False)
    # Integer blend planes for RGB and for Y: out = (frame * keep + add) >> 8, and for the
    # half-size U and V planes of 4:2:0.
    _keep: np.ndarray = field(repr=False)
    _add_rgb: np.ndarray = field(repr=False)
    _add_y: np.ndarray = field(repr=False)
    _keep_uv: np.ndarray = field(repr=False)
    _add_uv: np.ndarray = field(repr=False)

    def blend_rgb(self, frame: np.ndarray) -> None:
        """Draw the band into an RGB uint8 frame [frame_height, frame_width, 3], in place."""
        self._check(frame.shape[:2], (self.frame_height, self.frame_width))
        rows = frame[self.top :]
        blended = rows * self._keep[..., None] + self._add_rgb[..., None]
        rows[:] = (blended + (1 << (_SHIFT - 1))) >> _SHIFT

    def blend_yuv420(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """Draw the band into the planes of a yuv420p frame (limited range), in place."""
        self._check(y.shape, (self.frame_height, self.frame_width))
        rows = y[self.top :]
        rows[:] = (rows * self._keep + self._add_y + (1 << (_SHIFT - 1))) >> _SHIFT
        for plane in (u, v):
            rows = plane[self.top // 2 :]
            rows[:] = (rows * self._keep_uv + self._add_uv + (1 << (_SHIFT - 1))) >> _SHIFT

    @staticmethod
    def _check(shape: tuple[int, ...], expected: tuple[int, int]) -> None:
        if tuple(shape) != expected:
            raise ValueError(
                f"the band was made for {expected} (height, width) frames, got {shape}"
            )


def font_size(width: int, height: int) -> int:
    """The caption's font size in pixels for a frame of this size."""
    return max(MIN_FONT_PIXELS, round(FONT_FRACTION * min(height, 0.75 * width)))


def caption_band(text: str, width: int, height: int) -> CaptionBand | None:
    """Lay out `text` for width x height frames; None when there is nothing to draw.

    For the 4:2:0 blend both sizes must be even (the video pipeline makes them so).
    """
    text = " ".join(text.split())
    if not text or width < 1 or height < 1:
        return None
    size = font_size(width, height)
    font = _font(size)
    margin = round(MARGIN_FRACTION * width)
    lines = wrap(text, font, max(1, width - 2 * margin), MAX_LINES)
    line_height = round(LINE_SPACING * size)
    padding = round(PADDING * size)
    rows = min(height, len(lines) * line_height + 2 * padding)
    # Start the strip on an even row so that it covers whole 4:2:0 chroma rows.
    top = (height - rows) // 2 * 2
    rows = height - top

    mask = Image.new("L", (width, rows), 0)
    draw = ImageDraw.Draw(mask)
    for i, line in enumerate(lines):
        # Anchor "mm": the line's centre (half way between ascender and descender) at the centre
        # of its slot, so that every line sits at the same height whatever its letters.
        y = rows - padding - (len(lines) - i - 0.5) * line_height
        draw.text((width / 2, y), line, fill=255, font=font, anchor="mm")
    text_alpha = np.asarray(mask, dtype=np.float32) / 255.0  # [rows, width]
    alpha = BAND_OPACITY * (1.0 - text_alpha) + text_alpha
    light = text_alpha  # white text over a black strip, premultiplied

    scale = float(1 << _SHIFT)
    keep = np.rint(scale * (1.0 - alpha)).astype(np.uint16)
    # Y of black is 16 and of white 235 in limited range: premultiplied Y = 16 alpha + 219 light.
    add_y = np.rint(scale * (16.0 * alpha + 219.0 * light)).astype(np.uint16)
    alpha_uv = _half(alpha)
    keep_uv = np.rint(scale * (1.0 - alpha_uv)).astype(np.uint16)
    add_uv = np.rint(scale * 128.0 * alpha_uv).astype(np.uint16)  # greys: U = V = 128
    return CaptionBand(
        text=text,
        frame_width=width,
        frame_height=height,
        top=top,
        lines=tuple(lines),
        font_size=size,
        alpha=alpha,
        light=light,
        _keep=keep,
        _add_rgb=np.rint(scale * 255.0 * light).astype(np.uint16),
        _add_y=add_y,
        _keep_uv=keep_uv,
        _add_uv=add_uv,
    )


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int, max_lines: int) -> list[str]:
    """Words greedily filled into lines at most max_width pixels wide, at most max_lines lines.

    A word wider than a line gets a line of its own (and is clipped by the frame). Text that does
    not fit ends in "...".
    """
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and font.getlength(last + "...") > max_width:
        last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
    kept[-1] = last + "..."
    return kept


def _half(plane: np.ndarray) -> np.ndarray:
    """Mean over 2x2 blocks, the edge repeated for odd sizes: [ceil(h / 2), ceil(w / 2)]."""
    rows, width = plane.shape
    padded = np.pad(plane, ((0, rows % 2), (0, width % 2)), mode="edge")
    return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).mean(axis=(1, 3))


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        # Pillow built without FreeType has only a fixed 11-pixel bitmap font.
        raise RuntimeError("Pillow was built without FreeType: cannot draw captions on videos")
    return font
