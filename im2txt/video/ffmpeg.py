"""The ffmpeg binary (imageio-ffmpeg's): processes piping raw frames out of and into it, and the
commands they run."""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

from im2txt.errors import VideoError
from im2txt.video.colour import input_filters, tag_filter, yuv420p_filter

if TYPE_CHECKING:
    from im2txt.video.values import VideoInfo

# AAC bit rate when the input's audio has to be re-encoded.
AAC_BITRATE = "160k"
# Seconds an ffmpeg process may go without taking or giving a frame before it is stopped (a
# hostile file can make a decoder spin), and may take to finish once its input is closed.
STALL_SECONDS = 120.0
# Output file suffix -> ffmpeg muxer: containers that hold H.264 video and AAC audio as written.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# Lines of ffmpeg's log that mean the file itself is damaged.
_DAMAGE = ("partial file", "Invalid NAL", "corrupt", "error while decoding", "Decoding error")


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (imageio-ffmpeg's; IMAGEIO_FFMPEG_EXE overrides it), or a
    VideoError saying that there is none."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as e:  # no binary for this platform, and none configured
        raise VideoError(f"ffmpeg is not available: {_one_line(str(e))}") from None


# --- ffmpeg processes ----------------------------------------------------------------------------


class Process:
    """An ffmpeg child process with a pipe, its log in a temporary file; killed unless finished."""

    def __init__(
        self, command: list[str], name: str, writes: bool = False, stall: float = STALL_SECONDS
    ) -> None:
        self.name = name
        # Closed by __exit__; unlinked at once, so nothing is left behind even on a crash.
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if writes else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if writes else subprocess.PIPE,
                stderr=self.log,
            )
        except OSError as e:  # the binary is missing, not executable, or no process can start
            self.log.close()
            raise VideoError(f"{name}: cannot run ffmpeg ({e.strerror or e})") from None
        # A watchdog kills ffmpeg when no frame has gone in or out for `stall` seconds.
        self.stalled = False
        self._stall = stall
        self._active = time.monotonic()
        self._done = threading.Event()
        threading.Thread(target=self._watch, name="ffmpeg-watchdog", daemon=True).start()

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        if self.process.poll() is None:
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                with suppress(OSError):
                    stream.close()
        self.process.wait()
        self.log.close()

    def read_into(self, buffer: bytearray) -> bool:
        """Fill buffer with the next frame; False at the end of the stream."""
        view, got = memoryview(buffer), 0
        stdout = self.process.stdout  # buffered: Popen's default bufsize
        if not isinstance(stdout, io.BufferedReader):
            raise VideoError(f"{self.name}: this ffmpeg process was started for writing")
        while got < len(buffer):
            n = stdout.readinto(view[got:])
            if not n:
                return False
            got += n
            self._active = time.monotonic()
        return True

    def write(self, data: memoryview) -> None:
        stdin = self.process.stdin
        if stdin is None:
            raise VideoError(f"{self.name}: this ffmpeg process was started for reading")
        try:
            stdin.write(data)
        except BrokenPipeError:
            self._wait()
            message = first_error(self._read_log()) or "no message"
            raise VideoError(f"{self.name}: ffmpeg stopped: {message}") from None
        self._active = time.monotonic()

    def finish(self) -> tuple[int, str]:
        """Close the pipe, wait for ffmpeg; its exit status and log."""
        if self.process.stdin:
            with suppress(BrokenPipeError):
                self.process.stdin.close()
        if self.process.stdout:
            self.process.stdout.read()
        return self._wait(), self._read_log()

    def check(self) -> None:
        """finish(), raising VideoError if ffmpeg failed."""
        code, log = self.finish()
        if code != 0:
            raise VideoError(f"{self.name}: ffmpeg failed: {first_error(log) or f'exit {code}'}")

    def _wait(self) -> int:
        self._active = time.monotonic()  # the time to finish counts from now
        code = self.process.wait()
        if self.stalled:
            raise VideoError(
                f"{self.name}: ffmpeg stopped responding (nothing for {self._stall:.0f} s)"
            )
        return code

    def _watch(self) -> None:
        while not self._done.wait(min(1.0, self._stall)):
            if self.process.poll() is not None:
                return
            if time.monotonic() - self._active > self._stall:
                self.stalled = True
                with suppress(OSError):
                    self.process.kill()
                return

    def _read_log(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


def decode_command(
    info: VideoInfo,
    filters: str,
    pixel_format: str,
    options: Sequence[str] = (),
    script: Path | None = None,
) -> list[str]:
    """ffmpeg decoding the first video stream through `filters` to raw frames on stdout.

    `options` go before the output (e.g. a frame-timestamp file); with `script`, the filters are
    written there and read from it (`-/vf`), so that a long chain fits any command line.
    """
    filters = ",".join([*input_filters(info.pixel_format), filters])
    if script is not None:
        script.write_text(filters, encoding="utf-8")
    return [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", url(Path(info.path)), "-map", "0:V:0",
        *(["-/vf", str(script)] if script is not None else ["-vf", filters]), *options,
        "-f", "rawvideo", "-pix_fmt", pixel_format, "pipe:1",
    ]  # fmt: skip


def render_filters(info: VideoInfo) -> str:
    """Timestamps from 0, square pixels, even sizes, constant frame rate, 8-bit limited-range
    yuv420p in a matrix the encoder can tag (see colour)."""
    width, height = info.output_size
    filters = ["setpts=PTS-STARTPTS"]
    if (width, height) != (info.width, info.height):
        if info.pixel_aspect != 1:
            filters.append(f"scale={width}:{height},setsar=1")
        else:
            # An odd row or column is cropped; a side of one pixel is padded to two.
            filters.append(f"crop={min(width, info.width)}:{min(height, info.height)}:0:0")
            if width > info.width or height > info.height:
                filters.append(f"pad={width}:{height}")
    rate = info.frame_rate
    filters.append(f"fps=fps={rate.numerator}/{rate.denominator}")
    filters.append(yuv420p_filter(info.pixel_format))
    return ",".join(filters)


def check_output(output: str | os.PathLike) -> Path:
    """The output path if a captioned clip can be written there, else VideoError: a container
    that holds H.264 and AAC named by its suffix, in a folder that exists, not a folder itself."""
    output = Path(output)
    if output.is_dir():
        raise VideoError(f"{output}: is a folder; give the captioned clip a file name (.mp4)")
    if output.suffix.lower() not in CONTAINERS:
        kinds = ", ".join(sorted(CONTAINERS))
        raise VideoError(
            f"{output}: the captioned clip is H.264 with AAC audio, which goes in {kinds}; "
            f"not {output.suffix or 'a name without a suffix'}"
        )
    if not output.parent.is_dir():
        raise VideoError(f"{output}: folder {output.parent} does not exist")
    return output


def encode_command(
    info: VideoInfo, output: str | os.PathLike, preset: str, crf: int, container: str
) -> list[str]:
    width, height = info.output_size
    rate = info.frame_rate
    command = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{width}x{height}",
        "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0",
    ]  # fmt: skip
    if info.has_audio:
        command += ["-i", url(Path(info.path)), "-map", "0:v:0", "-map", "1:a:0"]
        if info.audio_codec == "aac":
            command += ["-c:a", "copy"]
        else:
            command += ["-c:a", "aac", "-b:a", AAC_BITRATE]
    command += [
        "-vf", tag_filter(info.pixel_format),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
    ]  # fmt: skip
    if container in ("mp4", "mov"):
        command += ["-movflags", "+faststart"]  # the index first: browsers play at once
    return [*command, "-f", container, url(Path(output))]


def check_decoded(
    info: VideoInfo, count: int, end: float, expected: int, code: int, log: str
) -> None:
    """Raise VideoError when decoding failed, found no frames, or stopped early on damaged data."""
    problem = first_error(log)
    if count == 0:
        if "decoder" in problem.lower():
            raise VideoError(
                f"{info.label}: unsupported video codec {info.video_codec} ({problem})"
            )
        raise VideoError(
            f"{info.label}: no video frames could be decoded" + (f" ({problem})" if problem else "")
        )
    damaged = [line for line in log.splitlines() if any(d in line for d in _DAMAGE)]
    # Fewer samples than the header's duration promises is normal when the audio outlasts the
    # video; with damage reported it means the file is cut short.
    if (damaged or code != 0) and count < expected:
        reason = damaged[0].split("] ")[-1].strip() if damaged else problem
        raise VideoError(
            f"{info.label}: truncated or damaged: the frames stop before {end:.1f} s of "
            f"{info.duration:.1f} s ({reason})"
        )
    if code != 0:
        raise VideoError(f"{info.label}: ffmpeg failed: {problem or f'exit {code}'}")


def first_error(log: str) -> str:
    lines = [line.split("] ")[-1].strip() for line in log.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def url(path: Path) -> str:
    """A local path as an ffmpeg URL ("file:"), so that names with a colon are not protocols."""
    return "file:" + str(path)
