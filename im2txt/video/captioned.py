"""A captioned clip in one call: caption_video, then render_video."""

from __future__ import annotations

import os

from im2txt.progress import StageProgress
from im2txt.video.config import VideoConfig
from im2txt.video.ffmpeg import check_output
from im2txt.video.player import CaptionedVideo
from im2txt.video.probe import probe
from im2txt.video.render import default_output, render_video
from im2txt.video.sampling import FrameCaptioner, caption_video
from im2txt.video.values import VideoInfo

# What a make_captioned_video job adds to a server's memory at its peak (the process and its ffmpeg
# children): a fixed part, and per pixel of a frame what the decoders, x264's lookahead and threads
# and the frames waiting for the captioner hold. Measured through the work queue with the
# COCO-size model, 30 s clips at 30 fps, one after another in one process (peak resident size of
# the process and its children, above what it held before the job): 239 MB at 640x360, 303 MB at
# 1280x720, 585 MB at 1920x1080; the estimate gives 239, 369 and 585 (a 720p clip added ~400 MB to
# a whole Streamlit server in bench/bench_visitors.py, its upload included).
JOB_FIXED_BYTES = 196 * 2**20
JOB_BYTES_PER_PIXEL = 188


def make_captioned_video(
    captioner: FrameCaptioner,
    video: str | os.PathLike | VideoInfo,
    output: str | os.PathLike | None = None,
    *,
    settings: VideoConfig | None = None,
    progress: StageProgress | None = None,
    name: str | None = None,
) -> CaptionedVideo:
    """Caption a clip and render it: caption_video, then render_video to `output`.

    `output` defaults to default_output(path), beside the input; it is checked (see check_output)
    before any work. `name` is what messages call the clip (see probe). With `settings.shots`,
    each shot is sampled from its cut (see caption_video). No settings: VideoConfig()'s defaults.
    """
    settings = settings or VideoConfig()
    info = video if isinstance(video, VideoInfo) else probe(video, name)
    output = check_output(output if output is not None else default_output(info.path))
    captions = caption_video(captioner, info, settings=settings, progress=progress)
    render_video(
        captions.info, captions.segments, output, progress, max_duration=settings.max_duration
    )
    return CaptionedVideo(captions, output)


def peak_bytes(info: VideoInfo, thumbnail_width: int | None = None) -> int:
    """The memory make_captioned_video will need at its peak for this clip, from its header:
    what a server admits a job by (see im2txt.work_queue)."""
    width, height = info.output_size
    thumbnails = 0
    if thumbnail_width:
        # One thumbnail a sample, a sample a second at most of the time.
        samples = max(1, round(info.duration)) + 1
        thumbnails = samples * thumbnail_width * round(thumbnail_width * height / width) * 3
    return JOB_FIXED_BYTES + JOB_BYTES_PER_PIXEL * width * height + thumbnails
