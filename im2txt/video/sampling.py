"""Sampling a clip by time and captioning the samples in batches.

Sampling. Sample k is taken at t_k = k * every seconds (k = 0, 1, ...) while t_k is before the end
of the video, t measured from the first frame. Its image is the frame on screen at t_k: the last
frame whose presentation time is <= t_k. This holds for any frame rate (29.97 is 30000/1001) and for
variable frame rates, because ffmpeg's fps filter with round=up does exactly this selection on the
frames' own timestamps. Frames come upright: ffmpeg applies the rotation metadata.

Shots. With a ShotConfig, cuts are detected first and each shot is sampled from its cut, every
`every` seconds (shots.py); segments then never span a cut.

Segments. Consecutive samples with the same best caption (and of the same shot, when shots were
detected) merge into one segment, from the first sample's time to the next segment's first sample
(the last one to the end of the clip). A shot's first sample is at its cut, so every shot starts a
segment there. A segment shows the captions of its most confident sample (where the shared best
caption is most probable).

The values are in values.py, rendering in render.py; the ffmpeg plumbing is in ffmpeg.py and
probe.py.
"""

from __future__ import annotations

import math
import os
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import numpy as np
from PIL import Image

from im2txt.config import DecodeConfig
from im2txt.errors import VideoError
from im2txt.progress import StageProgress
from im2txt.results import Caption
from im2txt.video.config import DEFAULT_EVERY, VideoConfig
from im2txt.video.ffmpeg import Process, check_decoded, decode_command
from im2txt.video.probe import probe
from im2txt.video.shots import find_shots, sample_plan, shot_frames
from im2txt.video.values import Sample, Segment, VideoCaptions, VideoInfo


class FrameCaptioner(Protocol):
    """What video needs of a captioner: the captions of a batch of frames, as
    Captioner.caption_many gives them (the work queue's lane offers the same call)."""

    def caption_many(
        self, images: Sequence[np.ndarray], *, decode: DecodeConfig | None = None
    ) -> list[list[Caption]]: ...


# Upper bound on the bytes of sampled frames held at once while they wait for the captioner.
SAMPLE_MEMORY = 256 * 2**20


@dataclass(frozen=True, eq=False)
class Frame:
    """A decoded frame and the time it is shown at, in seconds from the first frame."""

    time: float
    pixels: np.ndarray  # [height, width, 3] uint8 RGB
    # The shot it is in, when shots were detected.
    shot: int | None = None


# --- the public functions ------------------------------------------------------------------------


def sample_frames(
    video: str | os.PathLike | VideoInfo, every: float = DEFAULT_EVERY
) -> Generator[Frame]:
    """The frames shown at t = 0, every, 2 * every, ... before the end, decoded one pass.

    A generator: frames are decoded as they are consumed; closing it stops ffmpeg. Raises
    VideoError when the clip turns out to be truncated, damaged or without frames.
    """
    info = video if isinstance(video, VideoInfo) else probe(video)
    step = _every_fraction(every)
    rate = 1 / step
    filters = f"setpts=PTS-STARTPTS,fps=fps={rate.numerator}/{rate.denominator}:round=up"
    command = decode_command(info, filters, "rgb24")
    frame_bytes = info.width * info.height * 3
    count = 0
    with Process(command, info.label) as decoder:
        while True:
            buffer = bytearray(frame_bytes)
            if not decoder.read_into(buffer):
                break
            pixels = np.frombuffer(buffer, np.uint8).reshape(info.height, info.width, 3)
            yield Frame(float(count * step), pixels)
            count += 1
        code, log = decoder.finish()
    check_decoded(info, count, float(count * step), math.ceil(info.duration / step), code, log)


def caption_video(
    captioner: FrameCaptioner,
    video: str | os.PathLike | VideoInfo,
    *,
    settings: VideoConfig | None = None,
    progress: StageProgress | None = None,
) -> VideoCaptions:
    """Caption the frames shown every `settings.every` seconds, in batches, and merge them into
    segments.

    With `settings.shots`, cuts are detected first and each shot is sampled every `every` seconds
    from its cut (see shots.py). With settings.thumbnail_width, each Sample keeps its frame shrunk
    to that width.

    Raises VideoError for a clip that cannot be used or is longer than settings.max_duration
    seconds (None: no limit). No settings: VideoConfig()'s defaults.
    """
    settings = settings or VideoConfig()
    info = video if isinstance(video, VideoInfo) else probe(video)
    check_duration(info, settings.max_duration)
    step = _every_fraction(settings.every)
    expected = max(1, math.ceil(info.duration / step))
    cuts = None
    if settings.shots is None:
        frames: Generator[Frame] = sample_frames(info, float(step))
    else:
        found = find_shots(info, settings.shots, progress)
        cuts = found.cut_times
        expected = len(sample_plan(found, step))
        frames = (Frame(t, pixels, shot) for t, shot, pixels in shot_frames(info, found, step))
    batch = _sample_batch_size(captioner, info)
    samples: list[Sample] = []
    pending: list[Frame] = []

    def caption_pending(last: bool) -> None:
        found = captioner.caption_many([frame.pixels for frame in pending], decode=settings.decode)
        samples.extend(
            Sample(f.time, tuple(c), _thumbnail(f.pixels, settings.thumbnail_width), f.shot)
            for f, c in zip(pending, found, strict=True)
        )
        pending.clear()
        if progress:
            done = len(samples)
            progress("captioning", done, done if last else max(expected, done + 1))

    with closing(frames):
        for frame in frames:
            if len(pending) == batch:
                caption_pending(last=False)
            pending.append(frame)
    caption_pending(last=True)
    # The header's duration is rounded to 10 ms: a last sample at or after it means the clip ends
    # less than 5 ms later (and at most one frame after that sample).
    last = samples[-1].time
    end = max(info.duration, min(last + 1 / info.fps, info.duration + 0.005))
    return VideoCaptions(info, float(step), tuple(samples), merge_samples(samples, end), cuts)


def check_duration(info: VideoInfo, max_duration: float | None) -> None:
    """Raise VideoError if the clip is longer than max_duration seconds (None: no limit)."""
    if max_duration is not None and info.duration > max_duration:
        raise VideoError(
            f"{info.label}: the clip is {_minutes(info.duration)} long, over the "
            f"{_minutes(max_duration)} limit"
        )


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


# --- small helpers -------------------------------------------------------------------------------


def _every_fraction(every: float) -> Fraction:
    """Seconds between samples as an exact fraction, so that sample times are exact."""
    if not every > 0 or math.isinf(every):
        raise ValueError(f"every must be a positive number of seconds, got {every}")
    return Fraction(every).limit_denominator(1000)


def _sample_batch_size(captioner: FrameCaptioner, info: VideoInfo) -> int:
    """Frames captioned together: the captioner's batch, fewer for very large frames."""
    frame_bytes = info.width * info.height * 3
    return max(1, min(getattr(captioner, "batch_size", 32), SAMPLE_MEMORY // frame_bytes))


def _minutes(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _thumbnail(pixels: np.ndarray, width: int | None) -> np.ndarray | None:
    if not width:
        return None
    image = Image.fromarray(pixels)
    height = max(1, round(image.height * width / image.width))
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
