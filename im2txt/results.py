"""Captioning's results: a Caption, one image's ImageCaptions, and caption_each's CaptionBatch.

Value types only; a notebook shows them through im2txt.display, which knows them by their fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import SupportsIndex, overload

from im2txt import display


@dataclass(frozen=True)
class Caption:
    """One caption of one image; the Captioner returns them best first."""

    # The caption's words, without <S> and </S>.
    words: tuple[str, ...]
    # Sum of the natural-log probabilities of every predicted token, </S> included when complete.
    log_probability: float
    # Probability of each word in `words`, in order (the </S> step is in `end_probability`).
    word_probabilities: tuple[float, ...]
    # Probability of the end token, or None for a partial caption (max length reached first).
    end_probability: float | None = None
    # The beam-search ranking score: log_probability, divided by len ** length_normalization
    # when length normalization is on.
    score: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def probability(self) -> float:
        """exp(log_probability): the joint probability the original run_inference.py printed."""
        return math.exp(self.log_probability)

    @property
    def complete(self) -> bool:
        return self.end_probability is not None

    def _repr_html_(self) -> str:
        return display.caption_html(self)


@dataclass(frozen=True)
class ImageCaptions:
    """The outcome for one image of a lenient batch: captions, or a one-line error."""

    name: str
    captions: tuple[Caption, ...] = ()
    error: str | None = None
    # The file it was read from, when given as a path: where a notebook's thumbnail comes from
    # (a result keeps no pixels). None for bytes, arrays and Pillow images.
    path: Path | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        """The JSON shape shared by the CLI's --json and the app's download."""
        if self.error is not None:
            return {"image": self.name, "error": self.error}
        captions = [
            {"text": c.text, "probability": c.probability, "log_probability": c.log_probability}
            for c in self.captions
        ]
        return {"image": self.name, "captions": captions}

    def __str__(self) -> str:
        return display.image_text(self)

    def _repr_html_(self) -> str:
        return display.image_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


class CaptionBatch(list[ImageCaptions]):
    """caption_each's results: a list, which a notebook shows as a grid of captioned thumbnails."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> ImageCaptions: ...
    @overload
    def __getitem__(self, index: slice) -> CaptionBatch: ...
    def __getitem__(self, index: SupportsIndex | slice) -> ImageCaptions | CaptionBatch:
        # A slice stays a batch, so that results[:4] in a notebook is a grid too.
        if isinstance(index, slice):
            return CaptionBatch(super().__getitem__(index))
        return super().__getitem__(index)

    def __str__(self) -> str:
        return display.batch_text(self)

    def _repr_html_(self) -> str:
        return display.batch_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))
