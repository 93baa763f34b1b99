"""`download` and `convert`: getting a model onto disk and into the project's format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from im2txt.cli.common import ByteProgress
from im2txt.storage import discovery, download
from im2txt.storage.bundle import WEIGHTS_FILE
from im2txt.storage.convert import convert_model


def add_download(commands) -> None:
    parser = commands.add_parser(
        "download",
        help="download a model archive and install it in the models folder",
        description="Download a .tar.gz, .tgz or .zip of an im2txt checkpoint folder (or of a "
        "converted model) with its word_counts.txt, check that it loads, and put it where the "
        "app and the other commands look first. Nothing is left behind if any step fails.",
    )
    parser.add_argument("url", metavar="URL", help="http:// or https:// link to the archive")
    parser.add_argument(
        "--sha256", metavar="HEX", help="the archive's expected SHA-256, checked before unpacking"
    )
    parser.add_argument(
        "--dest",
        metavar="DIR",
        help="folder to install into (default: coco/ in the models folder: model/ in a checkout, "
        "else $IM2TXT_MODEL_DIR or the per-user data folder)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace a model already in the destination"
    )
    parser.set_defaults(run=run_download)


def run_download(args: argparse.Namespace) -> int:
    dest = Path(args.dest) if args.dest else download.default_destination()
    print(f"Downloading {download.shown_url(args.url)} to {dest}", file=sys.stderr)
    progress = ByteProgress("Received")
    try:
        path = download.download_model(
            args.url, dest, sha256=args.sha256, force=args.force, progress=progress
        )
    finally:
        progress.finish()
    found = discovery.inspect_folder(path)
    print(f"Installed {found.label if found else 'model'} in {path}")
    return 0


def add_convert(commands) -> None:
    parser = commands.add_parser(
        "convert",
        help="convert a checkpoint to the project's compact model format",
        description="Convert an original im2txt checkpoint (or any model folder) to the "
        "project's own format: a folder holding one weights file, its vocabulary and "
        "config.json. float16 halves the size: the COCO model then fits in a GitHub "
        "repository (< 100 MB).",
    )
    parser.add_argument(
        "src", metavar="SRC", help="checkpoint folder or prefix, or converted model folder"
    )
    parser.add_argument("dst", metavar="DST", help="folder to create (must not exist, or be empty)")
    parser.add_argument(
        "--dtype", choices=("float32", "float16"), default="float32",
        help="how to store the weights (default float32: exactly the checkpoint's values)",
    )  # fmt: skip
    parser.add_argument(
        "--vocab", metavar="FILE", help="word_counts.txt (default: beside the checkpoint)"
    )
    parser.set_defaults(run=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    info = convert_model(args.src, args.dst, dtype=args.dtype, vocab=args.vocab)
    size = (Path(args.dst) / WEIGHTS_FILE).stat().st_size
    print(
        f"Converted {info.name}: {info.vocab_size} words, {info.parameters:,} weights, "
        f"{WEIGHTS_FILE} {size / 1e6:.1f} MB, in {args.dst}"
    )
    return 0
