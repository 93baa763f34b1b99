"""A captioned clip in one call: caption_video, then render_video."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from im2txt.config import DecodeConfig
from im2txt.video.ffmpeg import check_output
from im2txt.video.probe import VideoInfo, probe
from im2txt.video.render import default_output, render_video
from im2txt.video.sampling import DEFAULT_EVERY, MAX_DURATION, Progress, caption_video
from im2txt.video.segments import CaptionedVideo
from im2txt.video.shots import ShotConfig

if TYPE_CHECKING:
    from im2txt.captioner import Captioner


def make_captioned_video(
    captioner: Captioner,
    video: str | os.PathLike | VideoInfo,
    output: str | os.PathLike | None = None,
    every: float = DEFAULT_EVERY,
    decode: DecodeConfig | None = None,
    max_duration: float | None = MAX_DURATION,
    progress: Progress | None = None,
    thumbnail_width: int | None = None,
    name: str | None = None,
    shots: ShotConfig | None = None,
) -> CaptionedVideo:
    """Caption a clip and render it: caption_video, then render_video to `output`.

    `output` defaults to default_output(path), beside the input; it is checked (see check_output)
    before any work. `name` is what messages call the clip (see probe). With `shots`, each shot
    is sampled from its cut (see caption_video).
    """
    info = video if isinstance(video, VideoInfo) else probe(video, name)
    output = check_output(output if output is not None else default_output(info.path))
    captions = caption_video(
        captioner,
        info,
        every=every,
        decode=decode,
        max_duration=max_duration,
        progress=progress,
        thumbnail_width=thumbnail_width,
        shots=shots,
    )
    render_video(captions.info, captions.segments, output, progress, max_duration=max_duration)
    return CaptionedVideo(captions, output)
