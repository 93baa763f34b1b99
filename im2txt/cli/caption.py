"""`caption`: image files and folders -> captions, in run_inference.py's format or JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys

from im2txt.batch.inputs import image_files
from im2txt.cli.common import (
    add_decode_arguments,
    add_model_arguments,
    decode_config,
    load_model_for,
    stderr_progress,
)


def add(commands) -> None:
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files = image_files(args.paths)
    if not files:
        print(f"error: no image files in {', '.join(args.paths)}", file=sys.stderr)
        return 1
    captioner = load_model_for(args)
    results = captioner.caption_each(
        files,
        names=files,
        decode=decode_config(args),
        progress=stderr_progress("Captioning") if len(files) > captioner.batch_size else None,
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
