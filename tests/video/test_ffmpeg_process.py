"""ffmpeg as a child process when things go wrong: missing, failing to start, hanging, a header
that takes forever; outputs the container cannot be; frames over the pixel limit."""

from __future__ import annotations

import contextlib
import importlib
import os
import stat
import time
from pathlib import Path

import pytest

from fixtures.clips import pattern_clip
from im2txt.errors import VideoError
from im2txt.video import ffmpeg, probe, render_video

probe_module = importlib.import_module(
    "im2txt.video.probe"
)  # the package's `probe` is the function


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return pattern_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=1, audio=True)


def open_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def test_no_ffmpeg_for_the_platform_is_one_line(monkeypatch, clip):
    import imageio_ffmpeg

    def missing():
        raise RuntimeError("No ffmpeg exe could be found.\nInstall ffmpeg on your system.")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.raises(VideoError, match=r"^ffmpeg is not available: No ffmpeg exe could be found"):
        probe(clip)


def test_an_ffmpeg_that_cannot_run_is_one_line_and_leaks_nothing(monkeypatch, tmp_path, clip):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(VideoError, match=r"^clip\.mp4: cannot run ffmpeg \(No such file"):
        probe(clip, name="clip.mp4")
    before = open_files()
    with pytest.raises(VideoError, match=r"^clip\.mp4: cannot run ffmpeg"):
        ffmpeg.Process([str(tmp_path / "no-such-ffmpeg")], "clip.mp4")
    assert open_files() == before  # the log file opened for it is closed again


def fake_ffmpeg(tmp_path: Path, seconds: float) -> Path:
    script = tmp_path / "slow-ffmpeg"
    script.write_text(f"#!/bin/sh\nexec sleep {seconds}\n")  # one process, as ffmpeg is
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_a_header_that_takes_forever_is_given_up(monkeypatch, tmp_path, clip):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake_ffmpeg(tmp_path, 30)))
    monkeypatch.setattr(probe_module, "PROBE_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(VideoError, match=r"^up\.mp4: ffmpeg took over 0 s to read the header"):
        probe(clip, name="up.mp4")
    assert time.monotonic() - started < 10


def test_a_stalled_ffmpeg_is_stopped(tmp_path):
    started = time.monotonic()
    with ffmpeg.Process([str(fake_ffmpeg(tmp_path, 30))], "up.mp4", stall=0.5) as process:
        assert process.read_into(bytearray(16)) is False  # killed: the pipe ends
        with pytest.raises(VideoError, match=r"^up\.mp4: ffmpeg stopped responding"):
            process.finish()
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "name, message",
    [
        ("out.avi", "which goes in .m4v, .mkv, .mov, .mp4; not .avi"),
        ("out", "not a name without a suffix"),
        ("missing/out.mp4", "does not exist"),
    ],
)
def test_outputs_that_cannot_hold_the_clip(clip, tmp_path, name, message):
    with pytest.raises(VideoError, match=message):
        render_video(clip, (), tmp_path / name)
    with pytest.raises(VideoError, match="is a folder"):
        render_video(clip, (), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix, container", [(".mkv", "matroska,webm"), (".mov", "mov,mp4")])
def test_the_container_follows_the_suffix(clip, tmp_path, suffix, container):
    output = render_video(clip, (), tmp_path / f"out{suffix}")
    info = probe(output)
    assert info.container.startswith(container) and info.video_codec == "h264" and info.has_audio


def test_frames_over_the_pixel_limit_are_refused(monkeypatch, clip):
    monkeypatch.setenv("IM2TXT_MAX_PIXELS", "10000")
    with pytest.raises(VideoError, match=r"^c\.mp4: frames of 160x120 \(0.0192 MP\), over the"):
        probe(clip, name="c.mp4")


def test_names_are_one_line(clip):
    assert probe(clip, name="two\nlines.mp4").label == "two lines.mp4"
