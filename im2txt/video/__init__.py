"""Captioned videos: frames sampled by time, captioned in batches, merged into segments, drawn back.

info = probe("clip.mp4")                                  # VideoInfo, or a one-line VideoError
captions = caption_video(captioner, "clip.mp4")            # VideoCaptions: samples, segments
render_video(captions.info, captions.segments, "clip_captioned.mp4")
# or both at once, what the app and the command line call:
result = make_captioned_video(captioner, "clip.mp4")    # CaptionedVideo: captions, output
# settings passed whole, as DecodeConfig is for decoding:
settings = VideoConfig(every=0.5, decode=DecodeConfig(beam_size=5), max_duration=None)
result = make_captioned_video(captioner, "clip.mp4", settings=settings)
# a caption for every shot, sampled from its cut (cuts and fades by PySceneDetect):
by_shot = VideoConfig(shots=ShotConfig(min_shot=0.5))
captions = caption_video(captioner, "clip.mp4", settings=by_shot)
"""

from im2txt.video.captioned import make_captioned_video
from im2txt.video.config import DEFAULT_EVERY, MAX_DURATION, VideoConfig
from im2txt.video.player import CaptionedVideo
from im2txt.video.probe import VIDEO_SUFFIXES, probe
from im2txt.video.render import default_output, render_video
from im2txt.video.sampling import caption_video, sample_frames
from im2txt.video.shots import ShotConfig, find_shots
from im2txt.video.values import Sample, Segment, VideoCaptions, VideoInfo

__all__ = [
    "DEFAULT_EVERY",
    "MAX_DURATION",
    "VIDEO_SUFFIXES",
    "CaptionedVideo",
    "Sample",
    "Segment",
    "ShotConfig",
    "VideoCaptions",
    "VideoConfig",
    "VideoInfo",
    "caption_video",
    "default_output",
    "find_shots",
    "make_captioned_video",
    "probe",
    "render_video",
    "sample_frames",
]
