"""DecodeConfig is the one rule for a valid decoding setting (the command line and the app's
sliders use its bounds)."""

from __future__ import annotations

import math

import pytest

from im2txt.config import (
    MIN_BEAM_SIZE,
    MIN_CAPTION_LENGTH,
    MIN_LENGTH_NORMALIZATION,
    DecodeConfig,
)


def test_the_lowest_valid_settings_are_accepted():
    decode = DecodeConfig(MIN_BEAM_SIZE, MIN_CAPTION_LENGTH, MIN_LENGTH_NORMALIZATION)
    assert (decode.beam_size, decode.max_caption_length) == (1, 1)  # <S> alone, as the original


NOT_NEGATIVE = "length_normalization_factor must not be negative, got "


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"beam_size": 0}, "beam_size must be at least 1, got 0"),
        ({"max_caption_length": 0}, "max_caption_length must be at least 1, got 0"),
        ({"length_normalization_factor": -0.5}, NOT_NEGATIVE + "-0.5"),
        ({"length_normalization_factor": math.nan}, NOT_NEGATIVE + "nan"),
    ],
)  # fmt: skip
def test_settings_below_the_bounds_are_refused(settings, message):
    with pytest.raises(ValueError) as refused:
        DecodeConfig(**settings)
    assert str(refused.value) == message
