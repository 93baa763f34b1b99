"""Each kind of file the pages offer as a clip (VIDEO_SUFFIXES), written by ffmpeg with a codec
such files carry, is read by the video path: its header and its frames."""

from __future__ import annotations

import subprocess

import pytest

from im2txt.video import VIDEO_SUFFIXES, probe, sample_frames
from im2txt.video.ffmpeg import ffmpeg_exe

H264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
# AVCHD (.mts, .m2ts): transport stream packets with a 4-byte timestamp each (192 bytes).
M2TS = (*H264, "-f", "mpegts", "-mpegts_m2ts_mode", "1")
# What ffmpeg writes for each suffix: the codec and, where the suffix does not say, the container.
WRITE = {
    ".mp4": H264,
    ".m4v": (*H264, "-f", "mp4"),  # Apple's .m4v is an MP4 (ffmpeg's own m4v is raw MPEG-4)
    ".mov": H264,
    ".mkv": H264,
    ".webm": ("-c:v", "libvpx", "-deadline", "realtime"),
    ".avi": ("-c:v", "mpeg4"),
    ".gif": (),
    ".mpg": ("-c:v", "mpeg2video"),
    ".mpeg": ("-c:v", "mpeg1video", "-f", "mpeg"),
    ".ts": H264,
    ".mts": M2TS,
    ".m2ts": M2TS,
    ".3gp": H264,
    ".wmv": ("-c:v", "wmv2"),
    ".flv": ("-c:v", "flv"),
    ".ogv": ("-c:v", "libtheora"),
}


def test_every_suffix_offered_is_tried_here():
    assert set(WRITE) == set(VIDEO_SUFFIXES)


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_the_video_path_reads_it(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    # 25 fps: MPEG-1 and MPEG-2 allow only the broadcast rates.
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
         "testsrc2=size=160x120:rate=25:duration=2", *WRITE[suffix], str(path)],
        check=True,
    )  # fmt: skip
    info = probe(path)
    assert (info.width, info.height) == (160, 120)
    assert info.duration == pytest.approx(2, abs=0.1)
    frames = list(sample_frames(info, every=0.5))
    assert len(frames) == 4
