"""Colour metadata through rendering: tags the encoder takes, and the picture's colours kept, judged
by ffmpeg itself decoding the input and the rendered clip to RGB (each by its own tags)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from im2txt.video import probe, render_video
from im2txt.video.colour import tag_filter
from im2txt.video.ffmpeg import ffmpeg_exe


@pytest.mark.parametrize(
    "pixel_format, tags",
    [
        ("yuv420p(tv, bt709, progressive)",
         "colorspace=bt709:color_primaries=bt709:color_trc=bt709"),
        ("yuv420p(progressive)", ""),
        # RGB: converted by the render's scale to BT.709; untagged RGB is sRGB.
        ("gbrp(pc, gbr/unknown/unknown, progressive)",
         "colorspace=bt709:color_primaries=bt709:color_trc=iec61966-2-1"),
        ("rgb24", "colorspace=bt709:color_primaries=bt709:color_trc=iec61966-2-1"),
        ("yuv420p(tv, fcc/bt470m/bt470m, progressive)",
         "colorspace=fcc:color_primaries=bt470m:color_trc=bt470m"),
        ("yuv420p10le(tv, bt2020nc/bt2020/smpte2084, progressive)",
         "colorspace=bt2020nc:color_primaries=bt2020:color_trc=smpte2084"),
        # A matrix swscale cannot read is read as BT.709.
        ("yuv420p(tv, ycgco/unknown/unknown, progressive)", "colorspace=bt709"),
        ("yuvj420p(pc, bt470bg/unknown/unknown)", "colorspace=bt470bg"),
    ],
)  # fmt: skip
def test_tag_filter(pixel_format, tags):
    assert tag_filter(pixel_format) == "setparams=range=tv" + (f":{tags}" if tags else "")


def ffmpeg(*args: str) -> bytes:
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    return subprocess.run(command, capture_output=True, check=True).stdout


def centre_colour(path: Path) -> np.ndarray:
    """The mean RGB of the centre of the first frame, as ffmpeg shows the file."""
    info = probe(path)
    raw = ffmpeg("-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    frame = np.frombuffer(raw, np.uint8).reshape(info.height, info.width, 3)
    h, w = info.height, info.width
    return frame[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].reshape(-1, 3).mean(axis=0)


# Saturated and dark colours: a wrong matrix or range moves them by far more than 8 levels.
COLOURS = ["0xC81E32", "0x2846B4", "0x202020"]


@pytest.mark.parametrize(
    "name, encode",
    [
        ("rgb.mp4", ["-c:v", "libx264rgb", "-preset", "ultrafast"]),
        ("gbrp.webm", ["-c:v", "libvpx-vp9", "-pix_fmt", "gbrp", "-deadline", "realtime"]),
        ("full_range.avi", ["-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "2"]),
        ("full_range.mp4", ["-c:v", "libx264", "-pix_fmt", "yuvj420p", "-color_range", "pc"]),
        ("bt709.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-colorspace", "bt709",
                       "-color_primaries", "bt709", "-color_trc", "bt709"]),
        ("bt601.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-colorspace", "smpte170m"]),
    ],
)  # fmt: skip
@pytest.mark.parametrize("colour", COLOURS)
def test_rendered_colours_are_the_inputs(tmp_path, name, encode, colour):
    source = tmp_path / name
    ffmpeg("-f", "lavfi", "-i", f"color=c={colour}:size=64x48:rate=10:duration=0.5",
           *encode, str(source))  # fmt: skip
    output = render_video(source, (), tmp_path / "out.mp4")  # no caption: only the picture
    assert (
        probe(output).pixel_format.startswith("yuv420p(") and "pc" not in probe(output).pixel_format
    )
    difference = np.abs(centre_colour(output) - centre_colour(source)).max()
    assert difference <= 6, (centre_colour(source), centre_colour(output))
