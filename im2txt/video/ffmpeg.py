"""The ffmpeg binary (imageio-ffmpeg's): processes piping raw frames out of and into it, and the
commands they run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from im2txt.video.probe import VideoInfo

import re
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import IO

from im2txt.errors import VideoError

# AAC bit rate when the input's audio has to be re-encoded.
AAC_BITRATE = "160k"
# Lines of ffmpeg's log that mean the file itself is damaged.
_DAMAGE = ("partial file", "Invalid NAL", "corrupt", "error while decoding", "Decoding error")


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (imageio-ffmpeg's; IMAGEIO_FFMPEG_EXE overrides it)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# --- the header ----------------------------------------------------------------------------------


# --- ffmpeg processes ----------------------------------------------------------------------------


class Process:
    """An ffmpeg child process with a pipe, its log in a temporary file; killed unless finished."""

    def __init__(self, command: list[str], name: str, writes: bool = False) -> None:
        self.name = name
        # Closed by __exit__; unlinked at once, so nothing is left behind even on a crash.
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if writes else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if writes else subprocess.PIPE,
            stderr=self.log,
        )

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc_info) -> None:
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
        while got < len(buffer):
            n = self.process.stdout.readinto(view[got:])
            if not n:
                return False
            got += n
        return True

    def write(self, data: memoryview) -> None:
        try:
            self.process.stdin.write(data)
        except BrokenPipeError:
            self.process.wait()
            message = first_error(self._read_log()) or "no message"
            raise VideoError(f"{self.name}: ffmpeg stopped: {message}") from None

    def finish(self) -> tuple[int, str]:
        """Close the pipe, wait for ffmpeg; its exit status and log."""
        if self.process.stdin:
            with suppress(BrokenPipeError):
                self.process.stdin.close()
        if self.process.stdout:
            self.process.stdout.read()
        return self.process.wait(), self._read_log()

    def check(self) -> None:
        """finish(), raising VideoError if ffmpeg failed."""
        code, log = self.finish()
        if code != 0:
            raise VideoError(f"{self.name}: ffmpeg failed: {first_error(log) or f'exit {code}'}")

    def _read_log(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


def decode_command(info: VideoInfo, filters: str, pixel_format: str) -> list[str]:
    return [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", url(Path(info.path)),
        "-map", "0:V:0", "-vf", filters,
        "-f", "rawvideo", "-pix_fmt", pixel_format, "pipe:1",
    ]  # fmt: skip


def render_filters(info: VideoInfo) -> str:
    """Timestamps from 0, square pixels, even sizes, constant frame rate."""
    width, height = info.output_size
    filters = ["setpts=PTS-STARTPTS"]
    if (width, height) != (info.width, info.height):
        if info.pixel_aspect != 1:
            filters.append(f"scale={width}:{height},setsar=1")
        else:
            filters.append(f"crop={width}:{height}:0:0")
    rate = info.frame_rate
    filters.append(f"fps=fps={rate.numerator}/{rate.denominator}")
    return ",".join(filters)


def encode_command(info: VideoInfo, output: str, preset: str, crf: int) -> list[str]:
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
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        *_colour_options(info.pixel_format),
        "-movflags", "+faststart", "-f", "mp4", url(Path(output)),
    ]  # fmt: skip
    return command


def _colour_options(pixel_format: str) -> list[str]:
    """Tag the output with the input's colour space, so that players show the same colours."""
    inside = re.search(r"\((.*)\)", pixel_format)
    options = ["-color_range", "tv"]
    for token in inside.group(1).split(", ") if inside else []:
        names = token.split("/")
        if len(names) == 1 and not re.fullmatch(r"bt709|bt470bg|smpte170m|smpte240m", token):
            continue
        space, primaries, transfer = (names * 3)[:3] if len(names) == 1 else names
        for option, value in (
            ("-colorspace", space),
            ("-color_primaries", primaries),
            ("-color_trc", transfer),
        ):
            if value != "unknown" and value != "reserved":
                options += [option, value]
    return options


def check_decoded(
    info: VideoInfo, count: int, end: float, expected: int, code: int, log: str
) -> None:
    """Raise VideoError when decoding failed, found no frames, or stopped early on damaged data."""
    problem = first_error(log)
    if count == 0:
        if "decoder" in problem.lower():
            raise VideoError(f"{info.path}: unsupported video codec {info.video_codec} ({problem})")
        raise VideoError(
            f"{info.path}: no video frames could be decoded" + (f" ({problem})" if problem else "")
        )
    damaged = [line for line in log.splitlines() if any(d in line for d in _DAMAGE)]
    # Fewer samples than the header's duration promises is normal when the audio outlasts the
    # video; with damage reported it means the file is cut short.
    if (damaged or code != 0) and count < expected:
        reason = damaged[0].split("] ")[-1].strip() if damaged else problem
        raise VideoError(
            f"{info.path}: truncated or damaged: the frames stop before {end:.1f} s of "
            f"{info.duration:.1f} s ({reason})"
        )
    if code != 0:
        raise VideoError(f"{info.path}: ffmpeg failed: {problem or f'exit {code}'}")


def first_error(log: str) -> str:
    lines = [line.split("] ")[-1].strip() for line in log.splitlines() if line.strip()]
    return lines[0] if lines else ""


def url(path: Path) -> str:
    """A local path as an ffmpeg URL ("file:"), so that names with a colon are not protocols."""
    return "file:" + str(path)
