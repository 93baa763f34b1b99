"""Captioned videos: frames sampled by time, captioned in batches, merged into segments, drawn back.

    info = probe("clip.mp4")                                  # VideoInfo, or a one-line VideoError
    captions = caption_video(captioner, "clip.mp4", every=1.0)  # VideoCaptions: samples, segments
    render_video(captions.info, captions.segments, "clip_captioned.mp4")
    # or both at once, what the app and the command line call:
    result = make_captioned_video(captioner, "clip.mp4")    # CaptionedVideo: captions, output

Sampling. Sample k is taken at t_k = k * every seconds (k = 0, 1, ...) while t_k is before the end
of the video, t measured from the first frame. Its image is the frame on screen at t_k: the last
frame whose presentation time is <= t_k. This holds for any frame rate (29.97 is 30000/1001) and for
variable frame rates, because ffmpeg's fps filter with round=up does exactly this selection on the
frames' own timestamps. Frames come upright: ffmpeg applies the rotation metadata.

Segments. Consecutive samples with the same best caption merge into one segment, from the first
sample's time to the next segment's first sample (the last one to the end of the clip). A segment
shows the captions of its most confident sample (where the shared best caption is most probable).

Rendering. Every frame gets the band of the segment it falls in (see overlay). The clip is decoded
to 8-bit YUV 4:2:0 and encoded straight back (no colour-space conversion), H.264 with x264, yuv420p,
in an MP4 with the index at the front (+faststart) so that browsers start playing at once. The frame
rate is the input's: its nominal rate for a constant-rate clip, and for a variable-rate one its
nominal rate when that is at most 60, else its average, with frames repeated or dropped by
timestamp (ffmpeg's fps filter). The audio is the input's first audio stream: copied when it is
AAC, re-encoded to AAC otherwise; a clip without audio gives a clip without audio. Pixels stay
square (anamorphic video is scaled) and sizes even (yuv420p needs it; an odd row or column is
cropped). The output is written to a temporary name beside it and renamed when complete.

The ffmpeg plumbing (headers, processes, commands) is in im2txt.ffmpeg.
"""

from __future__ import annotations

import bisect
import math
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from im2txt.config import DecodeConfig
from im2txt.errors import VideoError
from im2txt.ffmpeg import (
    Process,
    VideoInfo,
    check_decoded,
    decode_command,
    encode_command,
    probe,
    render_filters,
)
from im2txt.overlay import CaptionBand, caption_band

if TYPE_CHECKING:
    from im2txt.captioner import Caption, Captioner

_DEFAULTS = DecodeConfig()

# Seconds between samples.
DEFAULT_EVERY = 1.0
# Longest clip accepted, in seconds (a 10-minute clip at 1 sample a second is 600 captions).
MAX_DURATION = 600.0
# x264's speed/size trade-off. Rendering a 30 s 720p test pattern on two busy cores at crf 23:
# ultrafast 3.6 s and 24 MB, superfast 6.0 s and 15 MB, veryfast 7.0 s and 8.6 MB, medium (x264's
# default) 15.9 s and 9.5 MB. veryfast is the fastest preset whose files stay small.
X264_PRESET = "veryfast"
# x264's constant quality: 23 is its default; lower is better and larger (18 is visually lossless).
X264_CRF = 23
# Upper bound on the bytes of sampled frames held at once while they wait for the captioner.
SAMPLE_MEMORY = 256 * 2**20

# progress(stage, done, total): stage is "captioning" (samples) or "rendering" (frames). Totals are
# estimates from the header until the last call, where done == total.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, eq=False)
class Frame:
    """A decoded frame and the time it is shown at, in seconds from the first frame."""

    time: float
    pixels: np.ndarray  # [height, width, 3] uint8 RGB


@dataclass(frozen=True)
class Sample:
    """The captions of the frame shown at `time`, best first."""

    time: float
    captions: tuple[Caption, ...]
    # The frame, shrunk to caption_video's thumbnail_width (RGB uint8), when asked for.
    thumbnail: np.ndarray | None = field(default=None, compare=False, repr=False)

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
        from im2txt.subtitles import to_srt

        return to_srt(self.captions.segments)

    @property
    def vtt(self) -> str:
        from im2txt.subtitles import to_vtt

        return to_vtt(self.captions.segments)

    @property
    def json(self) -> str:
        from im2txt.subtitles import to_json

        return to_json(self.captions)


# --- the public functions ------------------------------------------------------------------------


def sample_frames(
    video: str | os.PathLike | VideoInfo, every: float = DEFAULT_EVERY
) -> Iterator[Frame]:
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
    with Process(command, info.path) as decoder:
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
    captioner: Captioner,
    video: str | os.PathLike | VideoInfo,
    every: float = DEFAULT_EVERY,
    beam_size: int = _DEFAULTS.beam_size,
    max_length: int = _DEFAULTS.max_caption_length,
    length_normalization: float = _DEFAULTS.length_normalization_factor,
    max_duration: float | None = MAX_DURATION,
    progress: Progress | None = None,
    thumbnail_width: int | None = None,
) -> VideoCaptions:
    """Caption the frames shown every `every` seconds, in batches, and merge them into segments.

    With thumbnail_width, each Sample keeps its frame shrunk to that width (for timelines).

    Raises VideoError for a clip that cannot be used or is longer than max_duration seconds
    (None: no limit).
    """
    info = video if isinstance(video, VideoInfo) else probe(video)
    check_duration(info, max_duration)
    step = _every_fraction(every)
    expected = max(1, math.ceil(info.duration / step))
    batch = _sample_batch_size(captioner, info)
    samples: list[Sample] = []
    pending: list[Frame] = []

    def caption_pending(last: bool) -> None:
        found = captioner.caption_many(
            [frame.pixels for frame in pending],
            beam_size=beam_size,
            max_length=max_length,
            length_normalization=length_normalization,
        )
        samples.extend(
            Sample(f.time, tuple(c), _thumbnail(f.pixels, thumbnail_width))
            for f, c in zip(pending, found, strict=True)
        )
        pending.clear()
        if progress:
            done = len(samples)
            progress("captioning", done, done if last else max(expected, done + 1))

    with closing(sample_frames(info, float(step))) as frames:
        for frame in frames:
            if len(pending) == batch:
                caption_pending(last=False)
            pending.append(frame)
    caption_pending(last=True)
    # The header's duration is rounded to 10 ms: a last sample at or after it means the clip ends
    # less than 5 ms later (and at most one frame after that sample).
    last = samples[-1].time
    end = max(info.duration, min(last + 1 / info.fps, info.duration + 0.005))
    return VideoCaptions(info, float(step), tuple(samples), merge_samples(samples, end))


def merge_samples(samples: Sequence[Sample], end: float) -> tuple[Segment, ...]:
    """Runs of samples with the same best caption, one segment each; the last one ends at `end`."""
    groups: list[list[int]] = []
    for i, sample in enumerate(samples):
        if groups and samples[groups[-1][0]].best.words == sample.best.words:
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


def render_video(
    video: str | os.PathLike | VideoInfo,
    segments: Sequence[Segment],
    output: str | os.PathLike,
    progress: Progress | None = None,
    preset: str = X264_PRESET,
    crf: int = X264_CRF,
    max_duration: float | None = MAX_DURATION,
) -> Path:
    """Write the clip with each segment's caption drawn on its frames, to `output` (an MP4).

    Returns the output path. Nothing is left at `output` when rendering fails.
    """
    info = video if isinstance(video, VideoInfo) else probe(video)
    check_duration(info, max_duration)
    output = Path(output)
    if output.resolve() == Path(info.path).resolve():
        raise VideoError(f"{output}: the output would overwrite the input")
    if not output.parent.is_dir():
        raise VideoError(f"{output}: folder {output.parent} does not exist")
    decode = decode_command(info, render_filters(info), "yuv420p")
    # ffmpeg creates the file, with the usual permissions; it becomes `output` once complete.
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.part")
    encode = encode_command(info, partial, preset, crf)
    try:
        with (
            Process(decode, info.path) as decoder,
            Process(encode, str(output), writes=True) as encoder,
        ):
            _render_frames(info, segments, decoder, encoder, progress)
            decoder.check()
            encoder.check()
        os.replace(partial, output)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return output


def make_captioned_video(
    captioner: Captioner,
    video: str | os.PathLike | VideoInfo,
    output: str | os.PathLike | None = None,
    every: float = DEFAULT_EVERY,
    beam_size: int = _DEFAULTS.beam_size,
    max_length: int = _DEFAULTS.max_caption_length,
    length_normalization: float = _DEFAULTS.length_normalization_factor,
    max_duration: float | None = MAX_DURATION,
    progress: Progress | None = None,
    thumbnail_width: int | None = None,
) -> CaptionedVideo:
    """Caption a clip and render it: caption_video, then render_video to `output`.

    `output` defaults to default_output(path), beside the input.
    """
    info = video if isinstance(video, VideoInfo) else probe(video)
    output = Path(output) if output is not None else default_output(info.path)
    captions = caption_video(
        captioner,
        info,
        every=every,
        beam_size=beam_size,
        max_length=max_length,
        length_normalization=length_normalization,
        max_duration=max_duration,
        progress=progress,
        thumbnail_width=thumbnail_width,
    )
    render_video(captions.info, captions.segments, output, progress, max_duration=max_duration)
    return CaptionedVideo(captions, output)


def default_output(path: str | os.PathLike) -> Path:
    """Where the captioned clip goes by default: INPUT stem + "_captioned.mp4", beside the input."""
    path = Path(path)
    return path.with_name(f"{path.stem}_captioned.mp4")


def check_duration(info: VideoInfo, max_duration: float | None) -> None:
    """Raise VideoError if the clip is longer than max_duration seconds (None: no limit)."""
    if max_duration is not None and info.duration > max_duration:
        raise VideoError(
            f"{info.path}: the clip is {_minutes(info.duration)} long, over the "
            f"{_minutes(max_duration)} limit"
        )


# --- rendering ---------------------------------------------------------------------------------


def _render_frames(
    info: VideoInfo,
    segments: Sequence[Segment],
    decoder: Process,
    encoder: Process,
    progress: Progress | None,
) -> None:
    """Frames from the decoder, each with its segment's band, into the encoder."""
    width, height = info.output_size
    rate = info.frame_rate
    buffer = bytearray(width * height * 3 // 2)
    view = memoryview(buffer)
    y = np.frombuffer(buffer, np.uint8, width * height).reshape(height, width)
    u = np.frombuffer(buffer, np.uint8, width * height // 4, width * height)
    v = np.frombuffer(buffer, np.uint8, width * height // 4, width * height * 5 // 4)
    u, v = u.reshape(height // 2, width // 2), v.reshape(height // 2, width // 2)
    bands: dict[str, CaptionBand | None] = {}
    total = info.frame_count
    every = max(1, total // 100)
    count = 0
    while decoder.read_into(buffer):
        time = float(count / rate)
        segment = segment_at(segments, time)
        if segment is None and segments and time >= segments[-1].end:
            # The header's duration (the segments' end) can fall short of the last frames.
            segment = segments[-1]
        if segment is not None:
            if segment.text not in bands:
                bands[segment.text] = caption_band(segment.text, width, height)
            band = bands[segment.text]
            if band is not None:
                band.blend_yuv420(y, u, v)
        encoder.write(view)
        count += 1
        if progress and count % every == 0:
            progress("rendering", count, max(total, count + 1))
    if count == 0:
        raise VideoError(f"{info.path}: no video frames could be decoded")
    if progress:
        progress("rendering", count, count)


# --- small helpers -------------------------------------------------------------------------------


def _every_fraction(every: float) -> Fraction:
    """Seconds between samples as an exact fraction, so that sample times are exact."""
    if not every > 0 or math.isinf(every):
        raise ValueError(f"every must be a positive number of seconds, got {every}")
    return Fraction(every).limit_denominator(1000)


def _sample_batch_size(captioner: Captioner, info: VideoInfo) -> int:
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
