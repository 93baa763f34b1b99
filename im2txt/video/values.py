"""The video package's values: a clip's VideoInfo, and its captions (Samples merged into Segments).

Value types only, below every other module of the package: probing makes a VideoInfo, sampling
makes Samples and merges them into Segments (sampling.py), rendering and subtitles read them.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from im2txt.results import Caption


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg's header says about a clip."""

    path: str
    # Seconds, to 10 ms: the container's duration (its longest stream).
    duration: float
    # Frames per second the clip is sampled and rendered at (exact for 30000/1001 and friends).
    frame_rate: Fraction
    # Size of the frames as shown: after rotation, in (possibly non-square) pixels.
    width: int
    height: int
    # Degrees clockwise a player turns the stored frames (phones: 90 for portrait clips).
    rotation: int
    video_codec: str
    # What ffmpeg prints for the pixel format, e.g. "yuv420p(tv, bt709, progressive)".
    pixel_format: str
    audio_codec: str | None
    # The header's average frame rate differs from its nominal one (a variable-rate clip).
    # Only MP4/MOV headers tell; other containers report the average for both.
    variable_frame_rate: bool = False
    # Width / height of one pixel; 1 for square pixels.
    pixel_aspect: Fraction = Fraction(1)
    # ffmpeg's name for the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    container: str = ""
    # What messages call the clip (an upload's own name); the path when not given.
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.path

    @property
    def fps(self) -> float:
        return float(self.frame_rate)

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def frame_count(self) -> int:
        """Frames in the clip, estimated from the duration and frame rate."""
        return max(1, round(self.duration * self.frame_rate))

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of the rendered clip: square pixels, even sizes."""
        width = int(self.width * self.pixel_aspect) if self.pixel_aspect != 1 else self.width
        return (max(2, width - width % 2), max(2, self.height - self.height % 2))


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
