"""im2txt: Google's Show and Tell image captioner in TensorFlow 2.

import im2txt
captioner = im2txt.load_captioner()          # model/ checkpoint, else the demo model
for caption in captioner.caption("photo.jpg"):
    print(caption.text, caption.probability)
"""

from im2txt.captioner import Captioner, load_captioner
from im2txt.config import DecodeConfig, ModelConfig, ModelInfo
from im2txt.errors import Im2txtError, ImageError, ModelError, VideoError
from im2txt.results import Caption, CaptionBatch, ImageCaptions

__all__ = [
    "Caption",
    "CaptionBatch",
    "Captioner",
    "DecodeConfig",
    "Im2txtError",
    "ImageCaptions",
    "ImageError",
    "ModelConfig",
    "ModelError",
    "ModelInfo",
    "VideoError",
    "load_captioner",
]
