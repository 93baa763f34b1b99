"""The command line: argparse over the public API. `python -m im2txt --help` lists the commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from im2txt.config import DecodeConfig

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
_DEFAULTS = DecodeConfig()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
    from im2txt.errors import Im2txtError

    try:
        return args.run(args)
    except Im2txtError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m im2txt",
        description="Caption images and videos with Google's im2txt (Show and Tell) model.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_caption(commands)
    return parser


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="checkpoint folder or prefix, or converted model folder "
        "(default: a model under model/, else the demo model)",
    )


def add_decode_arguments(parser: argparse.ArgumentParser, max_length: bool = True) -> None:
    parser.add_argument(
        "--beam-size", type=_positive_int, default=_DEFAULTS.beam_size, metavar="N",
        help=f"captions kept per step and returned (default {_DEFAULTS.beam_size})",
    )  # fmt: skip
    if max_length:
        parser.add_argument(
            "--max-length", type=_positive_int, default=_DEFAULTS.max_caption_length, metavar="N",
            help="maximum caption length in tokens, <S> and </S> included "
            f"(default {_DEFAULTS.max_caption_length})",
        )  # fmt: skip
        parser.add_argument(
            "--length-normalization", type=_non_negative_float, metavar="F",
            default=_DEFAULTS.length_normalization_factor,
            help="rank complete captions by logprob / length**F (default 0: raw probability)",
        )  # fmt: skip


def load_model_for(args: argparse.Namespace):
    """Load the model named on the command line, saying on stderr what was loaded."""
    from im2txt.captioner import load_captioner

    captioner = load_captioner(args.model, getattr(args, "vocab", None))
    info = captioner.info
    print(f"Model: {info.name} ({info.vocab_size} words) from {info.origin}", file=sys.stderr)
    if info.kind == "demo":
        print(
            "Note: the demo model only knows generated shapes; see README, 'Use the COCO model'.",
            file=sys.stderr,
        )
    return captioner


# --- caption -------------------------------------------------------------------------------------


def _add_caption(commands) -> None:
    parser = commands.add_parser(
        "caption",
        help="caption image files or folders",
        description="Caption images. Folders are walked for image files, in sorted order.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add_model_arguments(parser)
    parser.add_argument(
        "--vocab", metavar="FILE", help="word_counts.txt (default: beside the model)"
    )
    add_decode_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON array on stdout instead of text"
    )
    parser.set_defaults(run=_run_caption)


def image_files(paths: Sequence[str]) -> list[str]:
    """Files named on the command line as given; folders walked for images, sorted."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            walked = []
            for folder, subfolders, names in os.walk(path):
                subfolders.sort()
                walked += [
                    os.path.join(folder, name)
                    for name in names
                    if Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith(".")
                ]
            files += sorted(walked)
        else:
            files.append(path)
    return files


def _run_caption(args: argparse.Namespace) -> int:
    files = image_files(args.paths)
    if not files:
        print(f"error: no image files in {', '.join(args.paths)}", file=sys.stderr)
        return 1
    captioner = load_model_for(args)
    results = captioner.caption_each(
        files,
        names=files,
        beam_size=args.beam_size,
        max_length=args.max_length,
        length_normalization=args.length_normalization,
        progress=_stderr_progress("Captioning") if len(files) > captioner.batch_size else None,
    )
    if args.json:
        out = [result.to_dict() for result in results]
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for result in results:
            if result.error:
                print(f"error: {result.error}", file=sys.stderr)
                continue
            # The original run_inference.py's format.
            print(f"Captions for image {os.path.basename(result.name)}:")
            for i, caption in enumerate(result.captions):
                print(f"  {i}) {caption.text} (p={caption.probability:f})")
    return 1 if any(result.error for result in results) else 0


# --- helpers -------------------------------------------------------------------------------------


def _stderr_progress(label: str):
    def report(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end,
              file=sys.stderr, flush=True)  # fmt: skip

    return report


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value
