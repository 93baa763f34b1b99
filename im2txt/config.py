"""Model and decoding configuration: frozen dataclasses with the paper's defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network. Defaults are the original im2txt ``configuration.ModelConfig``."""

    # Which image encoder sits in front of the decoder: "inception_v3" (the COCO model) or
    # "small_cnn" (the project's demo model trained on generated scenes).
    encoder: str = "inception_v3"
    # Preprocessing: the image is stretched to resize_height x resize_width (aspect ratio not kept),
    # then centrally cropped to image_height x image_width and scaled to [-1, 1].
    resize_height: int = 346
    resize_width: int = 346
    image_height: int = 299
    image_width: int = 299
    # Output channels of the small_cnn encoder's conv layers (each 3x3, stride 2, ReLU);
    # ignored by inception_v3, whose depths are fixed.
    encoder_filters: tuple[int, ...] = ()
    # Width of the image embedding and of the word embeddings (the LSTM input size).
    embedding_size: int = 512
    # LSTM hidden size; the flat state fed between steps is concat(c, h): 2 * num_lstm_units.
    num_lstm_units: int = 512
    # Softmax width. The COCO model uses 12000, more than its 11,520 words; ids past the
    # vocabulary are never produced in practice and decode to "<UNK>".
    vocab_size: int = 12000
    # Added to the forget gate at run time by BasicLSTMCell; not stored in checkpoints.
    forget_bias: float = 1.0
    # slim's batch_norm epsilon in Inception v3.
    batch_norm_epsilon: float = 0.001

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model config fields: {', '.join(unknown)}")
        values = dict(values)
        if "encoder_filters" in values:
            values["encoder_filters"] = tuple(values["encoder_filters"])
        return cls(**values)


# What a valid DecodeConfig is: the one rule the command line's argument types and the app's
# sliders use too. max_caption_length 1 is the original's: the search stops at <S>, giving one
# empty partial caption (the original's golden beam-search tests run it).
MIN_BEAM_SIZE = 1
MIN_CAPTION_LENGTH = 1
MIN_LENGTH_NORMALIZATION = 0.0


@dataclass(frozen=True)
class DecodeConfig:
    """Beam search settings. Defaults are those of the original ``CaptionGenerator``."""

    # Partial captions kept per step, and candidate next words tried per partial caption.
    beam_size: int = 3
    # Maximum tokens in a caption including <S> and </S>: max_caption_length - 1 expansion rounds.
    max_caption_length: int = 20
    # Complete captions score logprob / len(sentence) ** factor; 0 ranks by raw log-probability.
    length_normalization_factor: float = 0.0

    def __post_init__(self) -> None:
        if self.beam_size < MIN_BEAM_SIZE:
            raise ValueError(f"beam_size must be at least {MIN_BEAM_SIZE}, got {self.beam_size}")
        if self.max_caption_length < MIN_CAPTION_LENGTH:
            raise ValueError(
                f"max_caption_length must be at least {MIN_CAPTION_LENGTH}, "
                f"got {self.max_caption_length}"
            )
        if not self.length_normalization_factor >= MIN_LENGTH_NORMALIZATION:  # NaN too
            raise ValueError(
                "length_normalization_factor must not be negative, "
                f"got {self.length_normalization_factor}"
            )


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is, for people: shown by the app's sidebar and the CLI."""

    # A short name, e.g. "im2txt COCO (model.ckpt-2000000)" or "im2txt demo (generated shapes)".
    name: str
    # "coco" for checkpoints of the original model, "demo" for the project's shapes model.
    kind: str
    # Where the weights came from: a file path, and for bundles the origin recorded at conversion.
    origin: str
    # Words in the vocabulary, <UNK> included.
    vocab_size: int
    # Number of weights (floats) in the network.
    parameters: int = 0
    # How the weights were stored: "float32" or "float16".
    dtype: str = "float32"
    # A sentence or two on what the model knows and does not.
    description: str = ""
    # Where it was loaded from: the bundle folder or the checkpoint prefix.
    source: str = ""
