"""The widgets the pages share: decoding settings in the sidebar, upload limits, sample files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from im2txt.config import (
    MIN_BEAM_SIZE,
    MIN_CAPTION_LENGTH,
    MIN_LENGTH_NORMALIZATION,
    DecodeConfig,
)
from im2txt.image_formats import readable_suffixes
from im2txt.video.probe import VIDEO_SUFFIXES

DEFAULTS = DecodeConfig()


SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"


# Every format the library reads. The Image page's uploader takes any file, though: one it cannot
# read gets the library's own line saying what it is and what to do, where a `type` list would
# refuse it with a reason shown only on hover ("files are not allowed").
IMAGE_TYPES = sorted(suffix.lstrip(".") for suffix in readable_suffixes())
# The formats the uploader's label names: what phones, cameras and the web save.
COMMON_IMAGE_TYPES = ["jpg", "png", "heic", "webp", "avif", "gif", "tiff"]


# What the Video page offers: the suffixes the video path reads (animated GIF among them).
VIDEO_TYPES = [suffix.lstrip(".") for suffix in VIDEO_SUFFIXES]


@dataclass(frozen=True)
class DecodeSettings:
    decode: DecodeConfig
    # How many of the decode.beam_size captions to show.
    captions_shown: int


def decode_controls(max_length: bool = True, length_normalization: bool = True) -> DecodeSettings:
    """Beam-search settings in the sidebar, defaulting to the engine's (DecodeConfig), each
    slider starting at DecodeConfig's lowest valid value; a setting not offered keeps its
    default."""
    with st.sidebar:
        st.subheader("Captioning")
        beam_size = st.slider(
            "Beam size", MIN_BEAM_SIZE, 10, DEFAULTS.beam_size, key="beam_size",
            help="Captions kept at each step of the search (the original used 3).",
        )  # fmt: skip
        captions_shown = st.slider(
            "Captions to show", 1, beam_size, beam_size, key="captions_shown"
        )
        length = DEFAULTS.max_caption_length
        normalization = DEFAULTS.length_normalization_factor
        if max_length:
            length = st.slider("Maximum caption length", MIN_CAPTION_LENGTH, 40, length,
                               key="max_length",
                               help="In tokens, counting the start and end markers.")  # fmt: skip
        if length_normalization:
            normalization = st.slider(
                "Length normalization", MIN_LENGTH_NORMALIZATION, 2.0, normalization, 0.1,
                key="length_normalization",
                help="0 ranks captions by probability (favours short ones); higher values "
                "divide the log-probability by length ** value.",
            )  # fmt: skip
    return DecodeSettings(DecodeConfig(beam_size, length, normalization), captions_shown)


def upload_limit_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def sample_files(suffixes: set[str]) -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in suffixes)
