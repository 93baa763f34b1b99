"""Tests for im2txt.video.shots on clips made here with known cuts (fixtures.clips.shot_frames).

Every frame carries its index, so that a cut or a sample can be checked to the frame; the expected
times are computed from the frame rate (frame i is shown from i / rate) or, for a variable rate,
from the frames kept, never read back from the code under test.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from fixtures.clips import COLOURS, encode, frame_code, shot_frames
from im2txt.errors import VideoError
from im2txt.results import Caption
from im2txt.video import ShotConfig, VideoConfig, caption_video, find_shots, probe
from im2txt.video.player import CaptionedVideo
from im2txt.video.shots import merge_short_shots, sample_plan
from im2txt.video.shots import shot_frames as decode_samples

NTSC = Fraction(30000, 1001)
# 29.97 fps: a still red shot, a slowly panning blue one, a still green one; cuts at frames 50 and
# 120 (1.668 s and 4.004 s).
CUTS_SHOTS = [("still", "red", 50), ("pan", "blue", 70), ("still", "green", 40)]
# 25 fps: red, a fade through black to blue (fade-out 12, black 8, fade-in 15 frames), blue,
# a yellow shot of 8 frames (0.32 s), green.
FADE_SHOTS = [
    ("still", "red", 40), ("fade-out", "red", 12), ("still", "black", 8),
    ("fade-in", "blue", 15), ("still", "blue", 35), ("still", "yellow", 8),
    ("still", "green", 40),
]  # fmt: skip


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("shots")
    return {
        "cuts": encode(folder / "cuts.mp4", shot_frames(CUTS_SHOTS), "30000/1001"),
        "fade": encode(folder / "fade.mp4", shot_frames(FADE_SHOTS), "25"),
    }


def fade_cut() -> int:
    """The definition: the first fade-in frame whose mean level is back at 12 or over."""
    frames = shot_frames(FADE_SHOTS)
    start = 40 + 12 + 8
    return next(i for i in range(start, len(frames)) if frames[i].mean() >= 12)


class ColourCaptioner:
    """Names the colour at a frame's centre; remembers each frame's index."""

    batch_size = 4

    def __init__(self) -> None:
        self.seen: list[int] = []

    def caption_many(self, images, *, decode=None, progress=None):
        results = []
        for image in images:
            self.seen.append(frame_code(image))
            pixel = image[image.shape[0] // 2, image.shape[1] // 2].astype(int)
            colour = min(COLOURS, key=lambda name: np.abs(pixel - COLOURS[name]).sum())
            results.append([Caption(("a", colour, "shot"), -1.0 - len(self.seen) / 100, (), 0.5)])
        return results


# --- finding cuts --------------------------------------------------------------------------------


def test_hard_cuts_at_29_97_fps_are_found_to_the_frame(clips):
    shots = find_shots(probe(clips["cuts"]))
    assert len(shots.times) == 160
    assert shots.times[:3] == (0, Fraction(1001, 30000), Fraction(2002, 30000))  # exact
    # Nothing inside the still shots or the slow pan: exactly the two cuts, at their first frames.
    assert shots.cuts == (50, 120)
    assert shots.cut_times == pytest.approx([50 / NTSC, 120 / NTSC], abs=1e-9)
    assert shots.end == 160 / NTSC


def test_a_fade_is_one_cut_where_the_picture_comes_back(clips):
    shots = find_shots(probe(clips["fade"]), ShotConfig(min_shot=0))
    expected = fade_cut()
    assert expected == 62  # 2/15 of the blue's level is the first over 12
    fade, *others = shots.cuts
    assert abs(fade - expected) <= 1  # encoding moves levels a little
    assert others == [110, 118]  # the yellow shot's two cuts


def test_a_shot_shorter_than_the_minimum_joins_the_shot_before(clips):
    shots = find_shots(probe(clips["fade"]), ShotConfig(min_shot=0.5))
    assert shots.cuts[1:] == (118,)  # 110-117 (0.32 s) is the end of the blue shot
    assert shots.cut_times[1] == pytest.approx(118 / 25)
    # A shot of exactly the minimum stays (8 frames at 25 fps: 0.32 s, not a float's 0.32000..01).
    assert find_shots(probe(clips["fade"]), ShotConfig(min_shot=0.32)).cuts[1:] == (110, 118)


def test_variable_frame_rate_cuts_are_at_the_frames_own_times(tmp_path):
    # 30 fps frames 0-9, 31-59 and every third from 75: a frame shown for 0.73 s, then cuts at
    # frames 47 (1.5667 s) and 93 (3.1 s).
    shots_in = [("still", "red", 47), ("pan", "blue", 46), ("still", "green", 27)]
    keep = "lt(n\\,10)+gte(n\\,31)*lt(n\\,60)+gte(n\\,75)*not(mod(n\\,3))"
    path = encode(tmp_path / "vfr.mp4", shot_frames(shots_in), "30", keep=keep)
    info = probe(path)
    assert info.variable_frame_rate
    kept = [n for n in range(120) if n < 10 or 31 <= n < 60 or (n >= 75 and n % 3 == 0)]
    shots = find_shots(info)
    assert list(shots.times) == [Fraction(n - kept[0], 30) for n in kept]
    assert shots.cut_times == pytest.approx([47 / 30, 93 / 30], abs=1e-9)
    captions = caption_video(
        ColourCaptioner(), info, settings=VideoConfig(every=1.0, shots=ShotConfig())
    )
    assert [s.text for s in captions.segments] == ["a red shot", "a blue shot", "a green shot"]
    assert [s.start for s in captions.segments] == pytest.approx([0, 47 / 30, 93 / 30])


# --- short shots, plans -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cuts, end, min_shot, kept",
    [
        ([2, 5], 9, 1, [2, 5]),
        ([2, 2.3, 5], 9, 1, [2.3, 5]),  # [2, 2.3) joins the shot before
        ([2, 2.3, 2.6, 5], 9, 1, [2.6, 5]),  # two in a row
        ([0.4, 5], 9, 1, [5]),  # a short first shot joins the next
        ([2, 8.5], 9, 1, [2]),  # a short last shot joins the one before
        ([0.2, 0.5, 0.7], 9, 1, []),  # all one shot
        ([2, 2.3], 9, 0, [2, 2.3]),
    ],
)
def test_merge_short_shots(cuts, end, min_shot, kept):
    assert merge_short_shots(cuts, end, min_shot) == kept


def test_each_shot_is_sampled_from_its_cut():
    times = tuple(Fraction(i, 10) for i in range(100))  # 10 fps, 10 s
    shots = type("S", (), {})()
    shots.times, shots.cuts, shots.end = times, (25, 31), Fraction(10)
    plan = sample_plan(shots, Fraction(2))
    assert plan == [
        (0, 0, 0), (2, 20, 0),
        (Fraction(5, 2), 25, 1),
        (Fraction(31, 10), 31, 2), (Fraction(51, 10), 51, 2), (Fraction(71, 10), 71, 2),
        (Fraction(91, 10), 91, 2),
    ]  # fmt: skip


# --- sampling and segments -----------------------------------------------------------------------


def test_samples_and_segments_follow_the_shots_at_29_97_fps(clips):
    captioner = ColourCaptioner()
    progress = []
    captions = caption_video(
        captioner, clips["cuts"], settings=VideoConfig(every=1.0, shots=ShotConfig()),
        progress=lambda *call: progress.append(call),
    )  # fmt: skip
    cut1, cut2 = Fraction(50) / NTSC, Fraction(120) / NTSC
    times = [0, 1, cut1, cut1 + 1, cut1 + 2, cut2, cut2 + 1]
    assert [s.time for s in captions.samples] == pytest.approx([float(t) for t in times])
    # The frame on screen at each time: frame i is shown from i / 29.97 s.
    assert captioner.seen == [math.floor(t * NTSC) for t in times] == [0, 29, 50, 79, 109, 120, 149]
    assert [s.shot for s in captions.samples] == [0, 0, 1, 1, 1, 2, 2]
    segments = captions.segments
    assert [(s.text, s.shot) for s in segments] == [
        ("a red shot", 0), ("a blue shot", 1), ("a green shot", 2)
    ]  # fmt: skip
    assert [s.start for s in segments] == pytest.approx([0, float(cut1), float(cut2)])
    assert [s.end for s in segments[:2]] == pytest.approx([float(cut1), float(cut2)])
    assert segments[2].end == pytest.approx(160 / float(NTSC), abs=0.006)
    assert captions.cuts == pytest.approx([float(cut1), float(cut2)])
    stages = [call[0] for call in progress]
    assert stages[0] == "shots" and stages[-1] == "captioning"
    assert ("shots", 160, 160) in progress and progress[-1] == ("captioning", 7, 7)
    document = json.loads(CaptionedVideo(captions, Path("x.mp4")).json)
    assert document["cuts"] == pytest.approx([float(cut1), float(cut2)])
    assert [s["shot"] for s in document["segments"]] == [0, 1, 2]


def test_the_same_caption_on_both_sides_of_a_cut_is_two_segments(tmp_path):
    # Red, then blue but for a red band down the middle: the picture changes, the centre (what
    # the captioner reads) does not.
    frames = shot_frames([("still", "red", 80)])
    for frame in frames[40:]:
        frame[:-4, :70] = frame[:-4, 90:] = COLOURS["blue"]
    path = encode(tmp_path / "red.mp4", frames, "25")
    captions = caption_video(ColourCaptioner(), path, settings=VideoConfig(shots=ShotConfig()))
    assert captions.cuts == pytest.approx([40 / 25])
    assert [(s.start, s.text) for s in captions.segments] == [
        (0.0, "a red shot"), (pytest.approx(40 / 25), "a red shot")
    ]  # fmt: skip
    plain = caption_video(ColourCaptioner(), path)
    assert len(plain.segments) == 1 and plain.cuts is None


def test_without_shots_sampling_is_unchanged(clips):
    captions = caption_video(ColourCaptioner(), clips["cuts"], settings=VideoConfig(every=1.0))
    assert [s.time for s in captions.samples] == [0, 1, 2, 3, 4, 5]
    assert all(s.shot is None for s in captions.samples + captions.segments)
    document = json.loads(CaptionedVideo(captions, Path("x.mp4")).json)
    assert document["cuts"] is None and document["segments"][0]["shot"] is None


def test_decoding_samples_stops_ffmpeg_and_leaves_no_files(clips, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    info = probe(clips["cuts"])
    shots = find_shots(info)
    frames = decode_samples(info, shots, Fraction(1, 2))
    first = next(frames)
    assert first[:2] == (0.0, 0) and frame_code(first[2]) == 0
    assert list(tmp_path.iterdir())  # the filter script, while ffmpeg runs
    frames.close()
    assert list(tmp_path.iterdir()) == []


def test_a_bad_config_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        ShotConfig(threshold=0)
    with pytest.raises(ValueError, match="shortest shot"):
        ShotConfig(min_shot=-1)


def test_a_damaged_clip_is_one_line(clips, tmp_path):
    data = clips["cuts"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError) as caught:
        caption_video(ColourCaptioner(), cut, settings=VideoConfig(shots=ShotConfig()))
    assert str(caught.value).startswith(f"{cut}: ") and "\n" not in str(caught.value)


def test_a_rotated_clip_is_cut_and_sampled_upright(clips, tmp_path):
    import subprocess

    from fixtures.clips import ffmpeg_exe

    rotated = tmp_path / "rotated.mp4"
    command = [ffmpeg_exe(), "-v", "error", "-display_rotation", "90", "-i", str(clips["cuts"]),
               "-c", "copy", str(rotated)]  # fmt: skip
    subprocess.run(command, check=True)
    info = probe(rotated)
    assert (info.width, info.height) == (120, 160)
    assert find_shots(info).cuts == (50, 120)
    shapes = []

    class Shapes(ColourCaptioner):
        def caption_many(self, images, *, decode=None, progress=None):
            shapes.extend(image.shape for image in images)
            return super().caption_many([np.rot90(image, -1) for image in images])

    captioner = Shapes()
    captions = caption_video(captioner, info, settings=VideoConfig(every=1.0, shots=ShotConfig()))
    assert set(shapes) == {(160, 120, 3)}
    assert captioner.seen == [0, 29, 50, 79, 109, 120, 149]  # turned back, the same frames
    assert [s.text for s in captions.segments] == ["a red shot", "a blue shot", "a green shot"]
