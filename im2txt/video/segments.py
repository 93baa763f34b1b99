"""A clip's captions: samples, and the segments they merge into.

Segments. Consecutive samples with the same best caption (and of the same shot, when shots were
detected) merge into one segment, from the first sample's time to the next segment's first sample
(the last one to the end of the clip). A shot's first sample is at its cut, so every shot starts a
segment there. A segment shows the captions of its most confident sample (where the shared best
caption is most probable).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from im2txt.results import Caption

from im2txt.video import player
from im2txt.video.subtitles import to_json, to_srt, to_vtt

if TYPE_CHECKING:
    from im2txt.video.probe import VideoInfo


@dataclass(frozen=True)
class Sample:
    """The captions of the frame shown at `time`, best first."""

    time: float
    captions: tuple[Caption, ...]
    # The frame, shrunk to caption_video's thumbnail_width (RGB uint8), when asked for.
    thumbnail: np.ndarray | None = field(default=None, compare=False, repr=False)
    # The shot the frame is in (0, 1, ...), when shots were detected.
    shot: int | None = None

    @property
    def best(self) -> Caption:
        return self.captions[0]


@dataclass(frozen=True)
class Segment:
    """A stretch of the clip with one best caption: from start (inclusive) to end, in seconds."""

    start: float
    end: float
    # The best caption of the segment's most confident sample, and that sample's other captions.
    caption: Caption
    alternatives: tuple[Caption, ...]
    # Indices of the samples merged into this segment, in VideoCaptions.samples.
    samples: tuple[int, ...]
    # The shot the segment is in, when shots were detected.
    shot: int | None = None

    @property
    def text(self) -> str:
        return self.caption.text

    @property
    def probability(self) -> float:
        return self.caption.probability


@dataclass(frozen=True)
class VideoCaptions:
    """A clip's captions: every sample, and the samples merged into segments."""

    info: VideoInfo
    # Seconds between samples.
    every: float
    samples: tuple[Sample, ...]
    segments: tuple[Segment, ...]
    # Seconds from the first frame to each detected cut (after merging short shots); None when
    # shots were not detected.
    cuts: tuple[float, ...] | None = None

    def segment_at(self, time: float) -> Segment | None:
        """The segment shown at `time` seconds, or None outside the clip."""
        return segment_at(self.segments, time)


@dataclass(frozen=True)
class CaptionedVideo:
    """make_captioned_video's result: the captions and the rendered clip."""

    captions: VideoCaptions
    output: Path

    @property
    def srt(self) -> str:
        return to_srt(self.captions.segments)

    @property
    def vtt(self) -> str:
        return to_vtt(self.captions.segments)

    @property
    def json(self) -> str:
        return to_json(self.captions)

    def __str__(self) -> str:
        return player.video_text(self)

    def _repr_html_(self) -> str:
        return player.video_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def merge_samples(samples: Sequence[Sample], end: float) -> tuple[Segment, ...]:
    """Runs of samples with the same best caption in the same shot, one segment each; the last
    one ends at `end`."""
    groups: list[list[int]] = []
    for i, sample in enumerate(samples):
        first = samples[groups[-1][0]] if groups else None
        if first and (first.shot, first.best.words) == (sample.shot, sample.best.words):
            groups[-1].append(i)
        else:
            groups.append([i])
    segments = []
    for n, group in enumerate(groups):
        chosen = samples[max(group, key=lambda i: samples[i].best.log_probability)]
        stop = samples[groups[n + 1][0]].time if n + 1 < len(groups) else end
        segments.append(
            Segment(
                start=samples[group[0]].time,
                end=stop,
                caption=chosen.best,
                alternatives=chosen.captions[1:],
                samples=tuple(group),
                shot=chosen.shot,
            )
        )
    return tuple(segments)


def segment_at(segments: Sequence[Segment], time: float) -> Segment | None:
    """The segment with start <= time < end (the last one includes its end), or None."""
    # Sample times are exact multiples of `every`, frame times exact fractions of the frame rate;
    # the tolerance only absorbs float rounding, far below a frame.
    time += 1e-6
    index = bisect.bisect_right([segment.start for segment in segments], time) - 1
    if index < 0:
        return None
    segment = segments[index]
    last = index == len(segments) - 1
    return segment if time < segment.end or (last and time <= segment.end + 2e-6) else None
