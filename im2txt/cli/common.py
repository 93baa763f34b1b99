"""What the commands share: model and decoding arguments, the quiet TensorFlow import, progress."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from im2txt.config import DecodeConfig

_DEFAULTS = DecodeConfig()


# What TensorFlow's C++ side prints on import whatever TF_CPP_MIN_LOG_LEVEL says (it logs before
# its log settings are read): the oneDNN and CUDA notices, the CPU feature note.
_IMPORT_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IW]0000 |To enable the following "
    r"instructions|Instructions for updating|[IWE]0000 .*(cuda|cuInit)|.*(oneDNN|TensorRT|"
    r"cpu_feature_guard))"
)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up notices kept off stderr; anything else it prints (a
    real problem) is passed on. Logs of the commands themselves go to stderr as usual."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # device start-up logs too ("failed call to cuInit")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not _IMPORT_NOISE.match(line):
                    print(line, file=sys.stderr)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="checkpoint folder or prefix, or converted model folder "
        "(default: a model under model/, else the demo model)",
    )


def add_decode_arguments(
    parser: argparse.ArgumentParser, max_length: bool = True, length_normalization: bool = True
) -> None:
    parser.add_argument(
        "--beam-size", type=_decode_setting("beam_size", int), default=_DEFAULTS.beam_size,
        metavar="N",
        help=f"captions kept per step and returned (default {_DEFAULTS.beam_size})",
    )  # fmt: skip
    if max_length:
        parser.add_argument(
            "--max-length", type=_decode_setting("max_caption_length", int),
            default=_DEFAULTS.max_caption_length, metavar="N",
            help="maximum caption length in tokens, <S> and </S> included "
            f"(default {_DEFAULTS.max_caption_length})",
        )  # fmt: skip
    if length_normalization:
        parser.add_argument(
            "--length-normalization", type=_decode_setting("length_normalization_factor", float),
            metavar="F",
            default=_DEFAULTS.length_normalization_factor,
            help="rank complete captions by logprob / length**F (default 0: raw probability)",
        )  # fmt: skip


def _decode_setting(field: str, convert: Callable[[str], int | float]) -> Callable[[str], Any]:
    """An argument type for one DecodeConfig field: the number, checked by DecodeConfig's rule."""

    def parse(text: str) -> int | float:
        value = convert(text)
        try:
            changes: dict[str, Any] = {field: value}  # one field of DecodeConfig, by name
            dataclasses.replace(_DEFAULTS, **changes)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"{field} ")) from None
        return value

    parse.__name__ = convert.__name__  # argparse names the type in "invalid int value: 'x'"
    return parse


def decode_config(args: argparse.Namespace) -> DecodeConfig:
    """The decoding settings on the command line; those a command does not offer keep defaults."""
    given = {
        "beam_size": getattr(args, "beam_size", None),
        "max_caption_length": getattr(args, "max_length", None),
        "length_normalization_factor": getattr(args, "length_normalization", None),
    }
    return dataclasses.replace(_DEFAULTS, **{k: v for k, v in given.items() if v is not None})


def load_model_for(args: argparse.Namespace):
    """Load the model named on the command line, saying on stderr what was loaded."""
    from im2txt.captioner import load_captioner
    from im2txt.storage import discovery
    from im2txt.storage.locations import coco_destination

    if args.model is None:
        for skipped in discovery.skipped_models():
            print(f"Note: {skipped.label} is not used: {skipped.problem}", file=sys.stderr)
    captioner = load_captioner(args.model, getattr(args, "vocab", None))
    info = captioner.info
    print(f"Model: {info.name}, {info.vocab_size} words, {info.source}", file=sys.stderr)
    if info.kind == "demo":
        print(
            "Note: the demo model only knows generated shapes. For photos, get the COCO model: "
            f"python -m im2txt download coco-2m (it goes to {coco_destination()}).",
            file=sys.stderr,
        )
    return captioner


def stage_progress():
    """A progress bar on stderr per stage of the video work ("Shots", "Captioning", "Rendering")."""
    bars = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = stderr_progress(stage.capitalize())
        bars[stage](done, total)

    return report


def stderr_progress(label: str):
    """A progress bar on stderr, redrawn when it moves; one line at the end when not a terminal."""
    drawn = {"filled": -1}
    live = sys.stderr.isatty()

    def report(done: int, total: int) -> None:
        width = 30
        filled = width * min(done, total) // max(total, 1)
        finished = done >= total
        if (live and filled != drawn["filled"]) or finished:
            bar = f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            print(f"\r{bar}" if live else bar, end="\n" if finished else "", file=sys.stderr,
                  flush=True)  # fmt: skip
            drawn["filled"] = filled

    return report


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


class ByteBar:
    """A ByteProgress (im2txt/progress.py) drawn as one updating stderr line, a bar when the size
    is known; finish() ends the line."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.printed = ""

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            width = 30
            filled = width * min(done, total) // total
            bar = f"[{'#' * filled}{'.' * (width - filled)}] "
            text = f"{self.label} {bar}{done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            text = f"{self.label} {done / 1e6:.1f} MB"
        if text != self.printed:
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
            self.printed = text

    def finish(self) -> None:
        if self.printed:
            print(file=sys.stderr)
            self.printed = ""


class FileBars:
    """A FileProgress (im2txt/progress.py) drawn as a ByteBar line per file."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.bar: ByteBar | None = None

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if self.bar is None or name != self.name:
            self.finish()
            self.name, self.bar = name, ByteBar(name)
        self.bar(done, total)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.finish()
        self.name = self.bar = None
