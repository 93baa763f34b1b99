"""Reading a clip's header: what `ffmpeg -i` prints -> VideoInfo (there is no ffprobe)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from fractions import Fraction
from os import PathLike
from pathlib import Path

from im2txt.errors import VideoError
from im2txt.image_formats import not_read_reason
from im2txt.image_loading import image_format, max_pixels
from im2txt.video.ffmpeg import ffmpeg_exe, url
from im2txt.video.values import VideoInfo

# Nominal frame rates above this are not used for variable-rate clips (see video's docstring).
MAX_VFR_RATE = 60
# Seconds ffmpeg may take to read a header (a normal one takes well under one).
PROBE_SECONDS = 30.0


# Suffixes of the clips people have that the video path reads: phones and cameras (MP4, MOV, 3GP,
# AVCHD's MTS/M2TS), the web (WebM, animated GIF, FLV), desktops (MKV, AVI, WMV, MPEG, Ogg).
# ffmpeg reads by content, not by name; tests/video/test_containers.py writes a clip in each with
# ffmpeg and reads it back. Pages offer these; a file of another kind is still tried.
VIDEO_SUFFIXES = (
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif", ".mpg", ".mpeg", ".ts", ".mts",
    ".m2ts", ".3gp", ".wmv", ".flv", ".ogv",
)  # fmt: skip


# Image formats ffmpeg reads as one-frame "videos".
_IMAGE_FORMATS = re.compile(r"^(image2|\w+_pipe)$")


def probe(path: str | PathLike, name: str | None = None) -> VideoInfo:
    """Read a clip's header with ffmpeg; raises VideoError when it is not a usable video.

    `name` is what messages call the clip (an upload's name rather than a server's temporary
    path); the path by default. Frames over the pixel limit (image_loading.max_pixels) are refused.
    """
    name = " ".join((name or str(path)).split())
    source = Path(path)
    if not source.is_file():
        raise VideoError(f"{name}: " + ("is a folder" if source.is_dir() else "file not found"))
    if source.stat().st_size == 0:
        raise VideoError(f"{name}: empty file (0 bytes)")
    try:
        result = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", url(source)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=PROBE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise VideoError(
            f"{name}: ffmpeg took over {PROBE_SECONDS:.0f} s to read the header"
        ) from None
    except OSError as e:
        raise VideoError(f"{name}: cannot run ffmpeg ({e.strerror or e})") from None
    try:
        info = parse_header(result.stderr.decode("utf-8", "replace"), name)
    except VideoError:
        picture = _picture(source)
        if picture is None:
            raise
        raise VideoError(f"{name}: {picture}") from None
    limit = max_pixels()
    if info.width * info.height > limit:
        raise VideoError(
            f"{name}: frames of {info.width}x{info.height} "
            f"({info.width * info.height / 1e6:.3g} MP), over the {limit / 1e6:g} MP limit"
        )
    return replace(info, path=str(source), name=name)


def _picture(path: Path) -> str | None:
    """What a file that is not a usable video is when it is a picture (ffmpeg reads many images
    as one-frame clips, or as none); None when it is not one."""
    found = image_format(path)
    if found is not None:
        return f"an image ({found}), not a video; caption it as an image"
    with open(path, "rb") as file:
        return not_read_reason(file.read(4096))


_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (\w+): (.*)$")


_DURATION = re.compile(r"^\s*Duration: (?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)")


_INPUT = re.compile(r"^Input #0, (.+?), from '")


_SIZE = re.compile(r"^(\d+)x(\d+)\b")


_SAR = re.compile(r"\bSAR (\d+):(\d+)")


_RATE = re.compile(r"^(\d+(?:\.\d+)?)(k?) (fps|tbr)$")


# "Display Matrix: rotation of -90.00 degrees" (ffmpeg >= 7), "displaymatrix: ..." (ffmpeg 5-6):
# counter-clockwise degrees; "rotate : 90" (older ffmpeg, stream metadata): clockwise.
_DISPLAY_MATRIX = re.compile(r"display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees", re.I)


_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)")


def parse_header(text: str, name: str) -> VideoInfo:
    """A VideoInfo from what `ffmpeg -i FILE` prints on stderr; VideoError for unusable files."""
    try:
        return _parse_header(text, name)
    except (IndexError, ValueError, ZeroDivisionError, StopIteration) as e:
        # ffmpeg prints what a damaged file's bytes say; found by fuzzing (tests).
        raise VideoError(f"{name}: cannot read the video's header ({type(e).__name__})") from None


def _parse_header(text: str, name: str) -> VideoInfo:
    lines = text.splitlines()
    if not any(_INPUT.match(line) for line in lines):
        raise VideoError(f"{name}: {_open_error(lines)}")
    container = next(m.group(1) for m in map(_INPUT.match, lines) if m)
    if _IMAGE_FORMATS.match(container):
        # ffmpeg chose its image reader by the file's name (image2), or by its bytes (X_pipe);
        # probe says first whether the file is an image the library reads.
        if container == "image2":
            raise VideoError(f"{name}: not a video, nor an image (unrecognised file format)")
        kind = container.removesuffix("_pipe").upper()
        raise VideoError(f"{name}: an image ({kind}) this library does not read, not a video")
    duration = None
    for line in lines:
        match = _DURATION.match(line)
        if match and match.group(1) is not None:
            hours, minutes, seconds = match.groups()
            duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    streams = _streams(lines)
    videos = [s for s in streams if s[0] == "Video" and "(attached pic)" not in s[1]]
    audios = [s for s in streams if s[0] == "Audio"]
    if not videos:
        if audios:
            raise VideoError(f"{name}: no video stream, only audio")
        raise VideoError(f"{name}: no video frames (a zero-length or empty clip)")
    _, description, block = videos[0]
    fields = _fields(description)
    codec = fields[0].split()[0]
    if codec == "none":
        tag = re.search(r"\((\w{4}) /", fields[0])
        raise VideoError(
            f"{name}: unsupported video codec" + (f" (FourCC {tag.group(1)})" if tag else "")
        )
    if not duration:
        raise VideoError(f"{name}: zero-length clip (duration {duration or 'unknown'})")
    size = next((m for m in map(_SIZE.match, fields) if m), None)
    if size is None:
        raise VideoError(f"{name}: cannot tell the frame size of the video stream")
    rates = {m.group(3): _rate(m) for m in map(_RATE.match, fields) if m}
    if not rates:
        raise VideoError(f"{name}: cannot tell the frame rate of the video stream")
    average = rates["fps"] if "fps" in rates else rates["tbr"]  # _RATE finds only these two
    nominal = rates.get("tbr", average)
    variable = abs(average - nominal) > Fraction(1, 200) * nominal
    rate = nominal if variable and nominal <= MAX_VFR_RATE else average
    rotation = _rotation(block)
    width, height = int(size.group(1)), int(size.group(2))
    sar = _SAR.search(description)
    aspect = Fraction(int(sar.group(1)), int(sar.group(2))) if sar and int(sar.group(2)) else None
    if rotation in (90, 270):
        width, height = height, width
        aspect = 1 / aspect if aspect else aspect
    return VideoInfo(
        path=name,
        duration=duration,
        frame_rate=rate,
        width=width,
        height=height,
        rotation=rotation,
        video_codec=codec,
        pixel_format=fields[1] if len(fields) > 1 else "",
        audio_codec=_fields(audios[0][1])[0].split()[0] if audios else None,
        variable_frame_rate=variable,
        pixel_aspect=aspect or Fraction(1),
        container=container,
    )


def _streams(lines: list[str]) -> list[tuple[str, str, list[str]]]:
    """(kind, description, the lines below it) for each stream of input 0."""
    streams: list[tuple[str, str, list[str]]] = []
    for line in lines:
        match = _STREAM.match(line)
        if match:
            streams.append((match.group(1), match.group(2), []))
        elif streams and line.startswith("    "):
            streams[-1][2].append(line)
    return streams


def _fields(description: str) -> list[str]:
    """A stream description split at the commas outside parentheses and brackets."""
    fields, depth, start = [], 0, 0
    for i, char in enumerate(description):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            fields.append(description[start:i].strip())
            start = i + 1
    fields.append(description[start:].strip())
    return fields


def _rate(match: re.Match) -> Fraction:
    """A rate as printed by ffmpeg (2 decimals, or "1k"), snapped to n or n * 1000/1001."""
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    for base in (Fraction(1), Fraction(1000, 1001)):
        n = round(value / base)
        if n and abs(float(n * base) - value) <= 0.006:
            return n * base
    return Fraction(value).limit_denominator(1000)


def _rotation(block: list[str]) -> int:
    for line in block:
        match = _DISPLAY_MATRIX.search(line)
        if match:
            return round(-float(match.group(1))) % 360
        match = _ROTATE_TAG.match(line)
        if match:
            return int(match.group(1)) % 360
    return 0


def _open_error(lines: list[str]) -> str:
    text = "\n".join(lines)
    if "moov atom not found" in text and "misdetection possible" not in text:
        return "truncated or unfinished MP4/MOV file (its index, the moov atom, is missing)"
    if "Invalid data found when processing input" in text:
        return "not a video file (ffmpeg cannot read it)"
    if "Permission denied" in text:
        return "cannot read the file (permission denied)"
    last = next((line.strip() for line in reversed(lines) if line.strip()), "no output")
    return f"cannot open the video ({last})"
