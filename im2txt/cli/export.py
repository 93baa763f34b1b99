"""`export`: the model as a TensorFlow SavedModel that any TensorFlow runtime can serve."""

from __future__ import annotations

import argparse
import sys

from im2txt.cli.common import add_decode_arguments, add_model_arguments, decode_config


def add(commands) -> None:
    parser = commands.add_parser(
        "export",
        help="export the model as a TensorFlow SavedModel (for TensorFlow Serving)",
        description="Write a SavedModel whose serving_default signature takes encoded images "
        "(images: string [batch]) and returns captions (string [batch, beam size], best first) "
        "and log_probabilities (float [batch, beam size]); decoding, preprocessing, the "
        "encoder and the beam search all run in the graph. For TensorFlow Serving, export into "
        "a numbered version folder: MODELS/im2txt/1.",
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="an empty or new folder to write")
    add_model_arguments(parser)
    add_decode_arguments(parser, length_normalization=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from im2txt.export import SIGNATURE, export_model

    decode = decode_config(args)
    exported = export_model(args.out_dir, args.model, decode)
    print(f"Model: {exported.info.name}, {exported.info.vocab_size} words", file=sys.stderr)
    print(
        f"Exported to {exported.path} (signature {SIGNATURE}: images -> captions, "
        f"log_probabilities; beam size {decode.beam_size}, max length "
        f"{decode.max_caption_length})"
    )
    return 0
