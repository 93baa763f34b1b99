"""A captioned video's segments as subtitle files: SRT, WebVTT, and JSON with every caption.

Cue times are the segments' times rounded to the millisecond, so consecutive cues meet exactly.
A segment whose caption is empty (a model can end a caption at once) gets no cue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from im2txt.results import Caption
    from im2txt.video.values import Segment, VideoCaptions


def to_srt(segments: Sequence[Segment]) -> str:
    """SubRip: numbered cues, "HH:MM:SS,mmm --> HH:MM:SS,mmm", a blank line after each."""
    cues = []
    for number, segment in enumerate(_shown(segments), start=1):
        start, end = timestamp(segment.start, ","), timestamp(segment.end, ",")
        cues.append(f"{number}\n{start} --> {end}\n{segment.text}\n")
    return "\n".join(cues)


def to_vtt(segments: Sequence[Segment]) -> str:
    """WebVTT: the header, then "HH:MM:SS.mmm --> HH:MM:SS.mmm" cues with escaped text."""
    cues = ["WEBVTT\n"]
    for segment in _shown(segments):
        start, end = timestamp(segment.start, "."), timestamp(segment.end, ".")
        cues.append(f"{start} --> {end}\n{_escape_vtt(segment.text)}\n")
    return "\n".join(cues)


def to_json(captions: VideoCaptions) -> str:
    """The clip, its segments (with their alternatives) and every sample, as indented JSON."""
    info = captions.info
    document = {
        "video": {
            "path": info.label,
            "duration": info.duration,
            "fps": info.fps,
            "width": info.width,
            "height": info.height,
            "rotation": info.rotation,
            "video_codec": info.video_codec,
            "audio_codec": info.audio_codec,
        },
        "every": captions.every,
        # Seconds of each detected cut; null when shots were not detected (sampling by time).
        "cuts": list(captions.cuts) if captions.cuts is not None else None,
        "segments": [
            {
                "start": segment.start,
                "end": segment.end,
                **_caption(segment.caption),
                "alternatives": [_caption(c) for c in segment.alternatives],
                "samples": list(segment.samples),
                "shot": segment.shot,
            }
            for segment in captions.segments
        ],
        "samples": [
            {"time": sample.time, "captions": [_caption(c) for c in sample.captions]}
            for sample in captions.samples
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def clock(seconds: float, decimals: int = 1, *, hours: bool = False, separator: str = ".") -> str:
    """The one clock format of times in a clip: mm:ss.s for people (the command line, the Video
    page), h:mm:ss.s from an hour on; with hours=True, always HH:MM:SS (subtitle files).

    Rounded once, to `decimals` places, so that 59.96 s is 01:00.0, never 00:60.0.
    """
    unit = 10**decimals
    ticks = max(0, round(seconds * unit))
    minutes, ticks = divmod(ticks, 60 * unit)
    whole_hours, minutes = divmod(minutes, 60)
    fraction = f"{separator}{ticks % unit:0{decimals}d}" if decimals else ""
    text = f"{minutes:02d}:{ticks // unit:02d}{fraction}"
    if hours:
        return f"{whole_hours:02d}:{text}"
    return f"{whole_hours}:{text}" if whole_hours else text


def timestamp(seconds: float, separator: str = ".") -> str:
    """HH:MM:SS.mmm, as SRT (with "," before the milliseconds) and WebVTT write cue times."""
    return clock(seconds, 3, hours=True, separator=separator)


def _shown(segments: Sequence[Segment]) -> list[Segment]:
    return [segment for segment in segments if segment.text.strip()]


def _caption(caption: Caption) -> dict:
    return {
        "text": caption.text,
        "probability": caption.probability,
        "log_probability": caption.log_probability,
        "word_probabilities": list(caption.word_probabilities),
    }


def _escape_vtt(text: str) -> str:
    # "-->" cannot occur once ">" is escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
