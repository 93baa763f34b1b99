"""Shots: where the picture changes, found by PySceneDetect in a small decode of every frame.

Detection. Every frame is decoded once, scaled to DETECT_WIDTH pixels wide, and fed to two of
PySceneDetect's detectors. AdaptiveDetector finds hard cuts: a frame whose change from the frame
before (ContentDetector's mean hue, saturation and brightness difference) is at least `threshold`
times the mean change of the two frames either side of it, and at least 15 of 255. Comparing a
frame with its neighbours rather than with a fixed level is what keeps camera motion and slow pans
from being cut (a fixed-level ContentDetector cuts a fast pan). ThresholdDetector finds fades
through black, which change too little from frame to frame to be cuts: a fade out and back in is
one cut, at the first frame of the fade-in whose mean level is back over FADE_LEVEL (its
fade_bias +1). The new shot starts where its picture starts to show; the black ends the shot
before. AdaptiveDetector's cuts from or to a frame darker than FADE_LEVEL are dropped: as a picture
fades its saturation stays up, so the step to black looks like a cut (and a cut between two black
frames is no change of picture). Cross-dissolves are not looked for.

Times. ffmpeg writes each frame's timestamp and time base to a file as it decodes
(-stats_enc_pre), so a cut's time is its first frame's exact presentation time from the first
frame: 29.97 fps and variable frame rates need no rounding. The clip ends one frame (at the
nominal rate) after its last frame's time.

Short shots. A cut is dropped when the shot it starts lasts less than `min_shot` seconds (to the
next detected cut or the end): the short shot becomes the end of the shot before it, so that no
shot's first sample is a flash or a stray frame. A first shot shorter than `min_shot` has nothing
before it and joins the next one.

Samples. Shot i, from cut c_i to cut c_(i+1), is sampled at c_i, c_i + every, c_i + 2 every, ...
before c_(i+1): the frame on screen at each time (the last frame shown at or before it), as in
sampling. A second pass decodes the clip and lets through only the frames wanted, marked by their
times (sendcmd switches a setpts on around them; select drops the rest).
"""

from __future__ import annotations

import bisect
import itertools
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from im2txt.errors import VideoError
from im2txt.progress import StageProgress
from im2txt.video.ffmpeg import Process, check_decoded, decode_command, url
from im2txt.video.values import VideoInfo

# Width of the frames the detectors see; PySceneDetect scales to about this width by default too.
DETECT_WIDTH = 256
# AdaptiveDetector's default ratio of a frame's change to its neighbours' (PySceneDetect's).
DEFAULT_THRESHOLD = 3.0
# Seconds: shorter shots merge into a neighbour (PySceneDetect's default is 15 frames).
DEFAULT_MIN_SHOT = 0.5
# Mean 8-bit level under which a frame counts as black for fades (PySceneDetect's default).
FADE_LEVEL = 12
# Detection frames between progress reports.
PROGRESS_EVERY = 15


@dataclass(frozen=True)
class ShotConfig:
    """How shots are found: the cut threshold and the shortest shot kept."""

    # AdaptiveDetector's adaptive_threshold: how many times its neighbours' change a frame's
    # change must be to be a cut. Lower finds more cuts.
    threshold: float = DEFAULT_THRESHOLD
    # Seconds; shorter shots merge into a neighbour (0: keep every cut).
    min_shot: float = DEFAULT_MIN_SHOT

    def __post_init__(self) -> None:
        if not 0 < self.threshold < float("inf"):
            raise ValueError(f"the scene threshold must be more than 0, got {self.threshold}")
        if not 0 <= self.min_shot < float("inf"):
            raise ValueError(f"the shortest shot must be 0 s or more, got {self.min_shot}")


@dataclass(frozen=True)
class Shots:
    """What the detection pass found: every frame's time and the frames that start shots."""

    # Seconds from the first frame to each frame, exact: [frames].
    times: tuple[Fraction, ...]
    # Indices in `times` of the first frames of shots 1, 2, ... (shot 0 starts at frame 0).
    cuts: tuple[int, ...]
    # Seconds to the end of the last frame.
    end: Fraction

    @property
    def cut_times(self) -> tuple[float, ...]:
        return tuple(float(self.times[i]) for i in self.cuts)


def find_shots(
    info: VideoInfo,
    shots: ShotConfig | None = None,
    progress: StageProgress | None = None,
) -> Shots:
    """Decode every frame small, detect cuts and fades, drop the cuts of too-short shots.

    progress("shots", frames done, frames expected) is called as frames are read. Raises
    VideoError when the clip turns out to be truncated, damaged or without frames.
    """
    shots = shots or ShotConfig()
    times, found = _detect(info, shots.threshold, progress)
    end = times[-1] + 1 / info.frame_rate
    index = {times[i]: i for i in sorted(found, reverse=True)}  # equal times: the first frame
    # As a decimal fraction: 0.4 s must keep a shot of exactly 10 frames at 25 fps.
    min_shot = Fraction(shots.min_shot).limit_denominator(1000)
    kept = merge_short_shots(sorted({times[i] for i in found}), end, min_shot)
    return Shots(tuple(times), tuple(index[t] for t in kept), end)


def merge_short_shots(
    cuts: Sequence[Fraction], end: Fraction, min_shot: Fraction
) -> list[Fraction]:
    """The cuts (sorted times) left when every shot lasts at least min_shot: a cut whose shot is
    shorter (to the next cut or `end`) is dropped; then cuts too close to the start."""
    following = [*cuts[1:], end][: len(cuts)]
    kept = [cut for cut, after in zip(cuts, following, strict=True) if after - cut >= min_shot]
    while kept and kept[0] < min_shot:
        kept.pop(0)
    return kept


def sample_plan(shots: Shots, every: Fraction) -> list[tuple[Fraction, int, int]]:
    """(time, frame index, shot) of every sample: each shot from its cut, every `every` s."""
    starts = [Fraction(0), *(shots.times[i] for i in shots.cuts)]
    plan = []
    for shot, (start, stop) in enumerate(zip(starts, [*starts[1:], shots.end], strict=True)):
        k = 0
        while (time := start + k * every) < stop:
            plan.append((time, bisect.bisect_right(shots.times, time) - 1, shot))
            k += 1
    return plan


def shot_frames(
    info: VideoInfo, shots: Shots, every: Fraction
) -> Iterator[tuple[float, int, np.ndarray]]:
    """(time, shot, RGB frame [height, width, 3]) of each sample of sample_plan, in time order,
    decoded in one pass. A generator: closing it stops ffmpeg and removes its files."""
    plan = sample_plan(shots, every)
    wanted = sorted({index for _, index, _ in plan})
    marks = _marks(shots.times, wanted)
    filters = f"setpts=PTS-STARTPTS,sendcmd=c='{marks}',setpts@pick=-1,select=gte(pts\\,0)"
    frame_bytes = info.width * info.height * 3
    count, position = 0, 0
    with tempfile.TemporaryDirectory(prefix="im2txt-shots-") as folder:
        # The marks grow with the clip: read from a file, they fit any command line.
        command = decode_command(
            info, filters, "rgb24", ["-fps_mode", "passthrough"], Path(folder) / "filters.txt"
        )
        with Process(command, info.label) as decoder:
            for index in wanted:
                buffer = bytearray(frame_bytes)
                if not decoder.read_into(buffer):
                    break
                count += 1
                pixels = np.frombuffer(buffer, np.uint8).reshape(info.height, info.width, 3)
                while position < len(plan) and plan[position][1] == index:
                    time, _, shot = plan[position]
                    yield float(time), shot, pixels
                    position += 1
            code, log = decoder.finish()
    end = float(plan[position][0]) if position < len(plan) else float(shots.end)
    check_decoded(info, count, end, len(wanted), code, log)
    if count < len(wanted):
        raise VideoError(f"{info.label}: frames went missing between the two decoding passes")


def _marks(times: Sequence[Fraction], wanted: Sequence[int]) -> str:
    """sendcmd intervals that switch the pick filter on for the wanted frames: from half-way
    after the frame before each run of wanted frames to half-way before the frame after it."""
    intervals = []
    runs = itertools.groupby(enumerate(wanted), key=lambda pair: pair[1] - pair[0])
    for _, run in runs:
        indices = [index for _, index in run]
        first, last = indices[0], indices[-1]
        start = (times[first - 1] + times[first]) / 2 if first else Fraction(0)
        stop = (times[last] + times[last + 1]) / 2 if last + 1 < len(times) else times[last] + 1
        # Microseconds: sendcmd's resolution, far below the half-frame margin either side.
        intervals.append(
            f"{float(start):.6f}-{float(stop):.6f} [enter] setpts@pick expr PTS, "
            "[leave] setpts@pick expr -1;"
        )
    return " ".join(intervals)


def _detect(
    info: VideoInfo, threshold: float, progress: StageProgress | None
) -> tuple[list[Fraction], set[int]]:
    """Every frame's time, and the frames the detectors start a shot at (before merging)."""
    # PySceneDetect brings OpenCV: ~0.5 s to import, and only shot detection needs it.
    from scenedetect import AdaptiveDetector, FrameTimecode, ThresholdDetector

    width = min(DETECT_WIDTH, info.width)
    height = max(1, round(width * info.height / info.width))
    # min_scene_len 0: short shots are merge_short_shots' business, in seconds.
    cuts = AdaptiveDetector(adaptive_threshold=threshold, min_scene_len=0)
    fades = ThresholdDetector(threshold=FADE_LEVEL, min_scene_len=0, fade_bias=1.0)
    found: dict[AdaptiveDetector | ThresholdDetector, set[int]] = {cuts: set(), fades: set()}
    levels = []  # each frame's mean level, as ThresholdDetector measures it
    expected = info.frame_count
    buffer = bytearray(width * height * 3)  # the detectors keep what they compute, not frames
    frame = np.frombuffer(buffer, np.uint8).reshape(height, width, 3)
    count = 0
    with tempfile.TemporaryDirectory(prefix="im2txt-shots-") as folder:
        stamps = Path(folder) / "times.txt"
        options = [
            "-fps_mode", "passthrough",  # every frame once, at its own time
            "-enc_time_base", "filter",  # timestamps in the stream's own time base, unrounded
            "-stats_enc_pre", url(stamps), "-stats_enc_pre_fmt", "{tb} {pts}",
        ]  # fmt: skip
        filters = f"setpts=PTS-STARTPTS,scale={width}:{height}:flags=area"
        with Process(decode_command(info, filters, "bgr24", options), info.label) as decoder:
            while decoder.read_into(buffer):
                timecode = FrameTimecode(count, fps=info.frame_rate)
                for detector, frames in found.items():
                    frames.update(c.frame_num for c in detector.process_frame(timecode, frame))
                levels.append(frame.mean())
                count += 1
                if progress and count % PROGRESS_EVERY == 0:
                    progress("shots", count, max(expected, count + 1))
            if count:
                last = FrameTimecode(count - 1, fps=info.frame_rate)
                for detector, frames in found.items():
                    frames.update(c.frame_num for c in detector.post_process(last))
            code, log = decoder.finish()
        check_decoded(info, count, count / info.fps, expected, code, log)
        lines = stamps.read_text(encoding="utf-8").split()
    times = [Fraction(tb) * int(pts) for tb, pts in zip(lines[::2], lines[1::2], strict=True)]
    if len(times) != count:
        raise VideoError(f"{info.label}: ffmpeg timed {len(times)} of {count} frames")
    # A damaged stream's timestamps can step back; the frame on screen is then the later one.
    times = list(itertools.accumulate(times, max))
    if progress:
        progress("shots", count, count)
    lit = {i for i in found[cuts] if 0 < i < count and min(levels[i - 1 : i + 1]) >= FADE_LEVEL}
    return times, lit | {i for i in found[fades] if 0 < i < count}
