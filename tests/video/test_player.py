"""A captioned clip in a notebook: the <video> and its subtitle track, parsed back and compared
with the file and the segments; a clip too large to embed, and one whose file is gone."""

from __future__ import annotations

import base64
import html
import math
import re
from fractions import Fraction

import pytest

from fixtures.clips import pattern_clip
from fixtures.html_tree import parse
from im2txt import Caption
from im2txt.video import CaptionedVideo, Sample, VideoCaptions, VideoInfo
from im2txt.video.player import MAX_EMBED_BYTES, video_html
from im2txt.video.sampling import merge_samples


def _caption(*words: str) -> Caption:
    probabilities = tuple(0.5 + 0.05 * i for i in range(len(words)))
    return Caption(words, sum(map(math.log, probabilities)) + math.log(0.9), probabilities, 0.9)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> CaptionedVideo:
    clip = pattern_clip(tmp_path_factory.mktemp("player") / "out.mp4", seconds=3)
    info = VideoInfo(str(clip), 3.0, Fraction(25), 160, 120, 0, "h264", "yuv420p", "aac")
    texts = [("a", "red", "circle"), ("a", "red", "circle"), ("<b>", "&", "-->")]
    samples = tuple(Sample(float(t), (_caption(*words),)) for t, words in enumerate(texts))
    return CaptionedVideo(VideoCaptions(info, 1.0, samples, merge_samples(samples, 3.0)), clip)


def _data(uri: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert uri.startswith(prefix)
    return base64.b64decode(uri.removeprefix(prefix))


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return 3600 * int(hours) + 60 * int(minutes) + float(seconds)


def test_the_clip_and_its_cues_are_embedded(video):
    tree = parse(video._repr_html_())
    player = tree.one("video")
    assert "controls" in player.attrs
    source = player.one("source")
    assert source.attrs["type"] == "video/mp4"
    assert _data(source.attrs["src"], "video/mp4") == video.output.read_bytes()
    track = player.one("track")
    # Offered in the captions menu, not shown over the captions drawn into the picture.
    assert track.attrs["kind"] == "subtitles" and "default" not in track.attrs
    vtt = _data(track.attrs["src"], "text/vtt").decode("utf-8")
    assert vtt.startswith("WEBVTT")
    cues = re.findall(r"([\d:.]+) --> ([\d:.]+)\n(.+)\n", vtt)
    cues_read = [(_seconds(a), _seconds(b), html.unescape(text)) for a, b, text in cues]
    expected = [(s.start, s.end, s.text) for s in video.captions.segments]
    assert cues_read == expected and len(cues_read) == 2


def test_each_segment_has_a_row_with_its_words(video):
    tree = parse(video._repr_html_())
    rows = tree.one("table").one("tbody").all("tr")
    assert len(rows) == len(video.captions.segments)
    for row, segment in zip(rows, video.captions.segments, strict=True):
        words = [span.own_text() for span in row.all("span", "im2txt-word")]
        assert words == list(segment.caption.words)
        start, end = row.all("td")[0].text.split(" – ")
        assert (_seconds(start), _seconds(end)) == (segment.start, segment.end)
    assert tree.all("b", None) == [row.one(cls="im2txt-probability") for row in rows]


def test_a_clip_over_the_limit_is_not_embedded(video):
    size = video.output.stat().st_size
    assert size <= MAX_EMBED_BYTES
    tree = parse(video_html(video, max_bytes=size - 1))
    assert tree.all("video") == []
    note = tree.one(cls="im2txt-no-video").text
    assert str(video.output) in note and f"{size / 1e6:.1f} MB" in note
    assert len(tree.one("tbody").all("tr")) == len(video.captions.segments)
    assert parse(video_html(video, max_bytes=size)).all("video")


def test_a_clip_whose_file_is_gone(video, tmp_path):
    gone = CaptionedVideo(video.captions, tmp_path / "gone.mp4")
    tree = parse(gone._repr_html_())
    assert tree.all("video") == []
    assert "cannot read" in tree.one(cls="im2txt-no-video").text


def test_plain_text_lists_the_segments(video):
    lines = str(video).splitlines()
    assert lines[0] == str(video.output)
    assert len(lines) == 1 + len(video.captions.segments)
    for line, segment in zip(lines[1:], video.captions.segments, strict=True):
        assert line.endswith(f"  {segment.text} (p={segment.probability:f})")
