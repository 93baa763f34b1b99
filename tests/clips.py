"""Test clips made with the ffmpeg binary imageio-ffmpeg ships."""

from __future__ import annotations

import subprocess
from pathlib import Path

from im2txt.video.ffmpeg import ffmpeg_exe


def pattern_clip(
    path: Path, seconds: float = 2, rate: str = "25", size: str = "160x120", audio: bool = True
) -> Path:
    """ffmpeg's moving test pattern as H.264 in an MP4, with a sine tone when `audio`."""
    command = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
               "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]  # fmt: skip
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=duration={seconds}", "-c:a", "aac"]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(command, check=True)
    return path
