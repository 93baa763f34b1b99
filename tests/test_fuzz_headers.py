"""Bounded fuzzing of the header readers: images (Pillow's and the JPEG check, then decoding) and
videos (ffmpeg's header text, and whole damaged clips). Whatever the bytes, the outcome is pixels
of the right shape or one line naming the file; never another exception. Deterministic: hypothesis
derandomized, no example database."""

from __future__ import annotations

import io
import struct
import subprocess
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from im2txt.errors import ImageError, VideoError
from im2txt.image_loading import load_image, max_pixels
from im2txt.video.ffmpeg import ffmpeg_exe
from im2txt.video.probe import parse_header, probe
from im2txt.video.values import VideoInfo


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def _image(fmt: str, mode: str = "RGB", **options) -> bytes:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (16, 24, 3), np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


SEEDS = {
    "png": _image("PNG"),
    "png16": _image("PNG", "I;16"),
    "rgba.png": _image("PNG", "RGBA"),
    "jpeg": _image("JPEG"),
    "progressive.jpeg": _image("JPEG", progressive=True),
    "gif": _image("GIF"),
    "bmp": _image("BMP"),
    "tiff": _image("TIFF"),
    "float.tiff": _image("TIFF", "F"),
    "webp": _image("WEBP", lossless=True),
}


def mutated(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


# Most edits land in the first 64 bytes, where sizes, modes and lengths are.
EDITS = st.lists(
    st.tuples(st.integers(0, 63) | st.integers(0, 4000), st.integers(0, 255)), max_size=6
)


@fuzz(1000)
@given(seed=st.sampled_from(sorted(SEEDS)), edits=EDITS, cut=st.none() | st.integers(0, 4000))
def test_image_headers(seed, edits, cut):
    data = mutated(SEEDS[seed], edits, cut)
    try:
        pixels = load_image(data, "fuzzed.bin").pixels
    except ImageError as e:
        message = str(e)
        assert message.startswith("fuzzed.bin: ") and "\n" not in message, message
    else:
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
        assert 0 < pixels.shape[0] * pixels.shape[1] <= max_pixels()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@fuzz(300)
@given(
    width=st.integers(0, 2**31 - 1) | st.integers(0, 300),
    height=st.integers(0, 2**31 - 1) | st.integers(0, 300),
    depth=st.sampled_from([1, 2, 4, 8, 16]) | st.integers(0, 255),
    colour=st.sampled_from([0, 2, 3, 4, 6]) | st.integers(0, 255),
    interlace=st.integers(0, 2),
    rows=st.binary(max_size=600),
)
def test_png_headers_with_valid_checksums(width, height, depth, colour, interlace, rows):
    """Well-formed chunks (right lengths and CRCs) with any header values: what byte flips
    rarely reach, as a flipped chunk fails its CRC first."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", bytes(range(48)))
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )
    try:
        pixels = load_image(data, "fuzzed.png").pixels
    except ImageError as e:
        assert str(e).startswith("fuzzed.png: ") and "\n" not in str(e), str(e)
    else:
        assert pixels.shape == (height, width, 3) and pixels.dtype == np.uint8


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1",
         "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


@pytest.fixture(scope="module")
def header(clip, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("header") / "clip.mp4"
    path.write_bytes(clip)
    command = [ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    return subprocess.run(command, capture_output=True, text=True).stderr


TEXT_EDITS = st.lists(
    st.tuples(
        st.integers(0, 2000),
        st.sampled_from(["", "0", "-1", "99999999999", "N/A", ",", "(", ")", "x", ":", "\n", " "]),
    ),
    max_size=8,
)


@fuzz(400)
@given(edits=TEXT_EDITS, drop=st.sets(st.integers(0, 30), max_size=4))
def test_video_header_text(header, edits, drop):
    lines = [line for i, line in enumerate(header.splitlines()) if i not in drop]
    text = "\n".join(lines)
    for position, insert in edits:
        position %= max(1, len(text))
        text = text[:position] + insert + text[position + 1 :]
    try:
        info = parse_header(text, "fuzzed.mp4")
    except VideoError as e:
        assert str(e).startswith("fuzzed.mp4: ") and "\n" not in str(e), str(e)
    else:
        assert isinstance(info, VideoInfo) and info.duration > 0 and info.frame_rate > 0
        assert info.width >= 0 and info.height >= 0


@pytest.mark.slow
@fuzz(40)
@given(edits=st.lists(st.tuples(st.integers(0, 6000), st.integers(0, 255)), max_size=6),
       cut=st.none() | st.integers(0, 6000))  # fmt: skip
def test_damaged_clips(clip, tmp_path_factory, edits, cut):
    path = tmp_path_factory.mktemp("fuzz") / "upload.mp4"
    path.write_bytes(mutated(clip, edits, cut) or b"\0")
    try:
        info = probe(path, name="fuzzed.mp4")
    except VideoError as e:
        assert str(e).startswith("fuzzed.mp4: ") and "\n" not in str(e), str(e)
    else:
        assert info.width * info.height > 0
