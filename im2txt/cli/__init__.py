"""The command line: argparse over the public API. `python -m im2txt --help` lists the commands.

One module per command (caption, video, models: download and convert, train_demo, export);
common holds the arguments and progress bars they share.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from im2txt.cli import batch, caption, export, models, serve, train_demo, video
from im2txt.cli.common import import_tensorflow_quietly
from im2txt.errors import Im2txtError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "tensorflow", True):
        import_tensorflow_quietly()
    # Pillow warns about what it can read past (broken EXIF, large images); the command line
    # reports each file's outcome in one line of its own.
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
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
    caption.add(commands)
    video.add(commands)
    models.add_download(commands)
    models.add_convert(commands)
    train_demo.add(commands)
    export.add(commands)
    batch.add(commands)
    serve.add(commands)
    return parser
