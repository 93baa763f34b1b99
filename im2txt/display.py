"""How caption results look in a notebook: HTML cards with a thumbnail, or their plain text.

The results' `_repr_html_` and `_repr_pretty_` methods call these; Jupyter finds those methods by
name, so the library imports nothing of Jupyter or IPython. Every text that reaches the HTML (file
names, error messages, words of any vocabulary) goes through html.escape.

Thumbnails are made when a result is shown, from the file it was captioned from (results of
inputs given as paths keep the path): a result holds no pixels, so a batch of a thousand images
costs no more memory than their captions. Inputs given as bytes, arrays or Pillow images have no
file to show and get their name only.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from im2txt.errors import Im2txtError
from im2txt.image_loading import preview


# What these functions read of im2txt.results' Caption and ImageCaptions, whose notebook methods
# call them: described here by their fields, so that the value types' module stays below this one.
class CaptionFields(Protocol):
    @property
    def words(self) -> tuple[str, ...]: ...
    @property
    def word_probabilities(self) -> tuple[float, ...]: ...
    @property
    def end_probability(self) -> float | None: ...
    @property
    def log_probability(self) -> float: ...
    @property
    def text(self) -> str: ...
    @property
    def probability(self) -> float: ...
    @property
    def complete(self) -> bool: ...


class ImageFields(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def captions(self) -> Sequence[CaptionFields]: ...
    @property
    def error(self) -> str | None: ...
    @property
    def path(self) -> Path | None: ...


# Longest side of a thumbnail: sharp in a ~300-pixel grid cell on a 2x screen, ~15 KB as JPEG.
THUMBNAIL_SIDE = 320
# Images of a batch shown as cards; the rest are counted. A notebook keeps its outputs, and
# Jupyter's server drops an output over about 3 MB (its iopub rate limit): 100 thumbnails stay
# well under it.
MAX_SHOWN = 100
# JPEG quality of every picture shown (see jpeg_bytes).
JPEG_QUALITY = 80

_GRID = (
    "display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));"
    "gap:12px;align-items:start"
)
_CARD = "border:1px solid #8884;border-radius:6px;padding:8px;margin:0"
_WORD = "color:#000;border-radius:3px;padding:0 2px;margin:1px 0;display:inline-block"
_SUB = "font-size:65%;color:#444;margin-left:1px"
_NOTE = "color:#888;font-size:85%"


def caption_html(caption: CaptionFields) -> str:
    """One caption: its words, each tinted by its probability (shown under it), then how it ends
    (the end token's probability, or a mark for a partial caption), then the joint probability."""
    words = [
        f'<span class="im2txt-word" title="p={p:.6f}" style="{_WORD};background:{word_colour(p)}">'
        f'{html.escape(word)}<sub style="{_SUB}">{_percent(p)}</sub></span>'
        for word, p in zip(caption.words, caption.word_probabilities, strict=True)
    ]
    if not words:
        words = ['<i class="im2txt-empty">(empty caption)</i>']
    if caption.end_probability is not None:
        p = caption.end_probability
        ending = (
            f'<span class="im2txt-end" title="p={p:.6f}" style="{_NOTE}">'
            f'end<sub style="{_SUB}">{_percent(p)}</sub></span>'
        )
    else:
        ending = (
            '<span class="im2txt-partial" title="the maximum length was reached before the end" '
            f'style="{_NOTE}">… partial</span>'
        )
    total = (
        f'<b class="im2txt-probability" title="log p = {caption.log_probability:.4f}">'
        f"p={caption.probability:.6f}</b>"
    )
    return f'<span class="im2txt-caption">{" ".join(words)} {ending} {total}</span>'


def image_html(result: ImageFields) -> str:
    """One image's card: its thumbnail and name, then its captions best first, or its error."""
    name = html.escape(result.name)
    parts = [f'<figure class="im2txt-image" style="{_CARD}">']
    if result.error is not None:
        parts.append(f"<figcaption><b>{name}</b></figcaption>")
        parts.append(
            f'<p class="im2txt-error" style="color:#c00">{html.escape(result.error)}</p></figure>'
        )
        return "".join(parts)
    parts.append(_thumbnail_html(result))
    parts.append(f"<figcaption><b>{name}</b></figcaption>")
    parts.append('<ol class="im2txt-captions" style="margin:4px 0;padding-left:1.6em">')
    parts += [f'<li style="margin:3px 0">{caption_html(c)}</li>' for c in result.captions]
    parts.append("</ol></figure>")
    return "".join(parts)


def batch_html(results: Sequence[ImageFields], max_shown: int = MAX_SHOWN) -> str:
    """A grid of image cards, the first `max_shown` of them; a line counts the rest."""
    errors = sum(result.error is not None for result in results)
    summary = f"{_count(len(results), 'image')}, {_count(errors, 'error')}"
    parts = [f'<div class="im2txt-batch"><p style="{_NOTE}">{summary}</p>']
    parts.append(f'<div style="{_GRID}">')
    parts += [image_html(result) for result in results[:max_shown]]
    parts.append("</div>")
    if len(results) > max_shown:
        rest = len(results) - max_shown
        parts.append(
            f'<p class="im2txt-more" style="{_NOTE}">{_count(rest, "more image")} not shown: '
            f"show one with results[i], or print(results) for all of them as text.</p>"
        )
    parts.append("</div>")
    return "".join(parts)


def caption_text(caption: CaptionFields) -> str:
    """`text (p=0.040413)` as the original run_inference.py printed it, marked when partial."""
    mark = "" if caption.complete else " [partial]"
    return f"{caption.text} (p={caption.probability:f}){mark}"


def image_text(result: ImageFields) -> str:
    """The image's name, then its numbered captions, or `error: ...`."""
    if result.error is not None:
        return f"{result.name}\n  error: {result.error}"
    lines = [result.name]
    lines += [f"  {i}) {caption_text(c)}" for i, c in enumerate(result.captions)]
    return "\n".join(lines)


def batch_text(results: Sequence[ImageFields]) -> str:
    return "\n".join(image_text(result) for result in results) if results else "(no images)"


def word_colour(probability: float) -> str:
    """A light background from red (0) through yellow to green (1): readable under black text."""
    hue = round(120 * min(max(probability, 0.0), 1.0))
    return f"hsl({hue},80%,82%)"


def thumbnail_uri(path: str | Path, side: int = THUMBNAIL_SIDE) -> str:
    """The image upright, at most `side` pixels on its longer side, as a JPEG data: URI.
    ImageError (one line) when the file cannot be read as an image."""
    return jpeg_data_uri(preview(path, str(path), side=side))


def jpeg_bytes(pixels: np.ndarray) -> bytes:
    """RGB uint8 pixels as a JPEG: every picture the notebooks and the app show (thumbnails,
    previews, timeline frames). Quality 80: a 320-pixel thumbnail is ~15 KB (85 made it ~16%
    larger, for a notebook that Jupyter cuts off at about 3 MB of output) and looks the same."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def jpeg_data_uri(pixels: np.ndarray) -> str:
    """RGB uint8 pixels as a JPEG data: URI, for an <img> in HTML."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(pixels)).decode("ascii")


def _thumbnail_html(result: ImageFields) -> str:
    if result.path is None:
        return ""
    try:
        uri = thumbnail_uri(result.path)
    except Im2txtError as e:  # the file moved or changed since it was captioned
        return f'<p class="im2txt-no-picture" style="{_NOTE}">no picture: {html.escape(str(e))}</p>'
    return (
        f'<img class="im2txt-thumbnail" src="{uri}" alt="{html.escape(result.name)}" '
        'style="display:block;max-width:100%;max-height:240px;margin:0 auto 6px">'
    )


def _percent(probability: float) -> str:
    return f"{100 * probability:.0f}%"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
