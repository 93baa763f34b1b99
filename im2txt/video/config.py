"""VideoConfig: how a clip is captioned, one frozen object passed whole (as DecodeConfig is for
decoding)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from im2txt.config import DecodeConfig
from im2txt.video.shots import ShotConfig

# Seconds between samples.
DEFAULT_EVERY = 1.0
# Longest clip accepted, in seconds (a 10-minute clip at 1 sample a second is 600 captions).
MAX_DURATION = 600.0


@dataclass(frozen=True)
class VideoConfig:
    """The settings of caption_video and make_captioned_video; change with dataclasses.replace."""

    # Seconds between samples (within each shot, from its cut, with `shots`).
    every: float = DEFAULT_EVERY
    # The beam search for each sample.
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    # Find cuts first and sample each shot from its cut (see shots.py); None: sample by time.
    shots: ShotConfig | None = None
    # Longer clips are refused with a VideoError (None: no limit).
    max_duration: float | None = MAX_DURATION
    # Keep each sample's frame shrunk to this width (a timeline's thumbnails); None: keep none.
    thumbnail_width: int | None = None

    def __post_init__(self) -> None:
        if not self.every > 0 or math.isinf(self.every):
            raise ValueError(f"every must be a positive number of seconds, got {self.every}")
