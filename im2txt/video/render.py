"""Rendering a captioned clip: every frame with its segment's caption band, H.264 in MP4.

Rendering. Every frame gets the band of the segment it falls in (see overlay). The clip is decoded
to 8-bit YUV 4:2:0 and encoded straight back (no colour-space conversion), H.264 with x264, yuv420p,
in an MP4 with the index at the front (+faststart) so that browsers start playing at once. The frame
rate is the input's: its nominal rate for a constant-rate clip, and for a variable-rate one its
nominal rate when that is at most 60, else its average, with frames repeated or dropped by
timestamp (ffmpeg's fps filter). The audio is the input's first audio stream: copied when it is
AAC, re-encoded to AAC otherwise; a clip without audio gives a clip without audio. Pixels stay
square (anamorphic video is scaled) and sizes even (yuv420p needs it; an odd row or column is
cropped). The output is written to a temporary name beside it and renamed when complete.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from im2txt.errors import VideoError
from im2txt.progress import StageProgress
from im2txt.video.config import MAX_DURATION
from im2txt.video.ffmpeg import (
    CONTAINERS,
    Process,
    check_output,
    decode_command,
    encode_command,
    render_filters,
)
from im2txt.video.overlay import CaptionBand, caption_band
from im2txt.video.probe import probe
from im2txt.video.sampling import check_duration
from im2txt.video.values import Segment, VideoInfo, segment_at

# x264's speed/size trade-off. Rendering a 30 s 720p test pattern on two busy cores at crf 23:
# ultrafast 3.6 s and 24 MB, superfast 6.0 s and 15 MB, veryfast 7.0 s and 8.6 MB, medium (x264's
# default) 15.9 s and 9.5 MB. veryfast is the fastest preset whose files stay small.
X264_PRESET = "veryfast"


# x264's constant quality: 23 is its default; lower is better and larger (18 is visually lossless).
X264_CRF = 23


def render_video(
    video: str | os.PathLike | VideoInfo,
    segments: Sequence[Segment],
    output: str | os.PathLike,
    progress: StageProgress | None = None,
    preset: str = X264_PRESET,
    crf: int = X264_CRF,
    max_duration: float | None = MAX_DURATION,
) -> Path:
    """Write the clip with each segment's caption drawn on its frames, to `output`: an MP4 (or
    MOV, or MKV, as its suffix says; see check_output).

    Returns the output path. Nothing is left at `output` when rendering fails.
    """
    info = video if isinstance(video, VideoInfo) else probe(video)
    check_duration(info, max_duration)
    output = check_output(output)
    if output.resolve() == Path(info.path).resolve():
        raise VideoError(f"{output}: the output would overwrite the input")
    decode = decode_command(info, render_filters(info), "yuv420p")
    # ffmpeg creates the file, with the usual permissions; it becomes `output` once complete.
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.part")
    encode = encode_command(info, partial, preset, crf, CONTAINERS[output.suffix.lower()])
    try:
        # Both are named after the input: the output's name is the caller's own.
        with (
            Process(decode, info.label) as decoder,
            Process(encode, info.label, writes=True) as encoder,
        ):
            _render_frames(info, segments, decoder, encoder, progress)
            decoder.check()
            encoder.check()
        try:
            os.replace(partial, output)
        except OSError as e:
            raise VideoError(f"{output}: cannot write ({e.strerror})") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return output


def default_output(path: str | os.PathLike) -> Path:
    """Where the captioned clip goes by default: INPUT stem + "_captioned.mp4", beside the input."""
    path = Path(path)
    return path.with_name(f"{path.stem}_captioned.mp4")


def _render_frames(
    info: VideoInfo,
    segments: Sequence[Segment],
    decoder: Process,
    encoder: Process,
    progress: StageProgress | None,
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
        raise VideoError(f"{info.label}: no video frames could be decoded")
    if progress:
        progress("rendering", count, count)
