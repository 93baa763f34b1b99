"""A captioned clip: make_captioned_video's CaptionedVideo, and its notebook HTML: a <video> of
the rendered file with its WebVTT subtitles.

The clip and its cues are embedded as data: URIs, so the output still plays once the file is gone
(a notebook may render into a temporary folder) and when the notebook is opened elsewhere. Only
clips up to `max_bytes` are embedded: Jupyter's server drops an output over about 3 MB (its
iopub rate limit, 1 MB/s over 3 s), and base64 adds a third. A larger clip gets a line saying so
and where the file is. Either way the segments follow as a table.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from im2txt.display import caption_html
from im2txt.video.subtitles import timestamp, to_json, to_srt, to_vtt
from im2txt.video.values import VideoCaptions

# Largest clip embedded: 2 MB is 2.7 MB as base64, under Jupyter's ~3 MB.
MAX_EMBED_BYTES = 2_000_000

# The containers render_video writes, by the output's suffix.
_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
}
_NOTE = "color:#888;font-size:85%"


@dataclass(frozen=True)
class CaptionedVideo:
    """make_captioned_video's result: the captions and the rendered clip."""

    captions: VideoCaptions
    output: Path

    @property
    def srt(self) -> str:
        return to_srt(self.captions.segments)

    @property
    def vtt(self) -> str:
        return to_vtt(self.captions.segments)

    @property
    def json(self) -> str:
        return to_json(self.captions)

    def __str__(self) -> str:
        return video_text(self)

    def _repr_html_(self) -> str:
        return video_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def video_html(video: CaptionedVideo, max_bytes: int = MAX_EMBED_BYTES) -> str:
    """The player (or why there is none), then one table row per segment."""
    return f'<div class="im2txt-video">{_player(video, max_bytes)}{_segments(video)}</div>'


def video_text(video: CaptionedVideo) -> str:
    """The output file, then `start --> end  caption (p=...)` per segment."""
    lines = [str(video.output)]
    for segment in video.captions.segments:
        span = f"{timestamp(segment.start)} --> {timestamp(segment.end)}"
        lines.append(f"  {span}  {segment.text} (p={segment.probability:f})")
    return "\n".join(lines)


def _player(video: CaptionedVideo, max_bytes: int) -> str:
    path = Path(video.output)
    file = html.escape(str(path))
    try:
        size = path.stat().st_size
        data = path.read_bytes() if size <= max_bytes else None
    except OSError as e:
        reason = html.escape(e.strerror or type(e).__name__)
        return f'<p class="im2txt-no-video" style="{_NOTE}">{file}: cannot read ({reason})</p>'
    if data is None:
        return (
            f'<p class="im2txt-no-video" style="{_NOTE}">{file} is {size / 1e6:.1f} MB, over the '
            f"{max_bytes / 1e6:g} MB embedded in a notebook: open the file in a player, or embed "
            "it anyway with IPython.display.HTML(im2txt.video.player.video_html(video, "
            "max_bytes=...)).</p>"
        )
    mime = _TYPES.get(path.suffix.lower(), "video/mp4")
    clip = base64.b64encode(data).decode("ascii")
    cues = base64.b64encode(to_vtt(video.captions.segments).encode("utf-8")).decode("ascii")
    # The picture has the captions drawn in (the original demo's output): the subtitles are
    # there for the player's captions menu, not turned on over them (two captions at once).
    return (
        '<video controls preload="metadata" style="max-width:100%">'
        f'<source src="data:{mime};base64,{clip}" type="{mime}">'
        '<track kind="subtitles" label="captions" srclang="en" '
        f'src="data:text/vtt;base64,{cues}">'
        "</video>"
    )


def _segments(video: CaptionedVideo) -> str:
    rows = [
        f'<tr><td style="white-space:nowrap">{timestamp(s.start)} – {timestamp(s.end)}</td>'
        f"<td>{caption_html(s.caption)}</td></tr>"
        for s in video.captions.segments
    ]
    return (
        '<table class="im2txt-segments" style="text-align:left">'
        "<thead><tr><th>time</th><th>caption</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
