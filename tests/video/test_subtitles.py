"""Tests for im2txt.video.subtitles: SRT, WebVTT and JSON from segments."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from im2txt.results import Caption
from im2txt.video.subtitles import clock, timestamp, to_json, to_srt, to_vtt
from im2txt.video.values import Sample, Segment, VideoCaptions, VideoInfo


def caption(text: str, logprob: float = -1.0) -> Caption:
    words = tuple(text.split())
    return Caption(words, logprob, tuple(0.5 for _ in words), 0.5)


SEGMENTS = (
    Segment(0.0, 2.0, caption("a red circle ."), (caption("a circle .", -2.0),), (0, 1)),
    Segment(2.0, 3.0, caption(""), (), (2,)),
    Segment(3.0, 3661.0015, caption("a <b> & c ."), (), (3,)),
)


@pytest.mark.parametrize(
    "seconds, srt, vtt",
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (1.0005, "00:00:01,000", "00:00:01.000"),  # round half to even, in milliseconds
        (61.25, "00:01:01,250", "00:01:01.250"),
        (3661.0015, "01:01:01,002", "01:01:01.002"),
        (-0.0001, "00:00:00,000", "00:00:00.000"),
    ],
)
def test_timestamp(seconds, srt, vtt):
    assert timestamp(seconds, ",") == srt
    assert timestamp(seconds) == vtt


def test_srt_numbers_cues_and_skips_empty_captions():
    assert to_srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:02,000\na red circle .\n"
        "\n"
        "2\n00:00:03,000 --> 01:01:01,002\na <b> & c .\n"
    )


def test_vtt_has_its_header_and_escapes_markup():
    assert to_vtt(SEGMENTS) == (
        "WEBVTT\n"
        "\n"
        "00:00:00.000 --> 00:00:02.000\na red circle .\n"
        "\n"
        "00:00:03.000 --> 01:01:01.002\na &lt;b&gt; &amp; c .\n"
    )


def test_no_segments_gives_empty_files():
    assert to_srt(()) == ""
    assert to_vtt(()) == "WEBVTT\n"


def test_json_holds_segments_alternatives_and_samples():
    info = VideoInfo("clip.mp4", 3661.0, Fraction(30000, 1001), 640, 360, 0, "h264", "yuv420p",
                     "aac")  # fmt: skip
    samples = tuple(Sample(float(i), (s.caption, *s.alternatives)) for i, s in enumerate(SEGMENTS))
    document = json.loads(to_json(VideoCaptions(info, 1.0, samples, SEGMENTS)))
    assert document["video"]["fps"] == pytest.approx(29.97, abs=0.001)
    assert document["video"]["audio_codec"] == "aac" and document["every"] == 1.0
    first = document["segments"][0]
    assert (first["start"], first["end"], first["text"], first["samples"]) == (
        0.0,
        2.0,
        "a red circle .",
        [0, 1],
    )
    assert first["probability"] == pytest.approx(0.36787944)
    assert first["alternatives"][0]["text"] == "a circle ."
    assert first["word_probabilities"] == [0.5, 0.5, 0.5, 0.5]
    assert [s["time"] for s in document["samples"]] == [0.0, 1.0, 2.0]
    assert document["samples"][0]["captions"][1]["log_probability"] == -2.0


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "00:00.0"),
        (59.96, "01:00.0"),  # rounded once: never 00:60.0
        (61.25, "01:01.2"),  # round half to even, in tenths
        (3599.95, "1:00:00.0"),
        (3661.0, "1:01:01.0"),
    ],
)
def test_the_clock_people_read(seconds, expected):
    assert clock(seconds) == expected
