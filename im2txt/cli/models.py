"""`download` and `convert`: getting a model onto disk and into the project's format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from im2txt.cli.common import ByteBar, FileBars
from im2txt.errors import DownloadError
from im2txt.storage import catalogue, discovery, install, locations
from im2txt.storage.bundle import WEIGHTS_FILE
from im2txt.storage.catalogue import DEFAULT_MODEL
from im2txt.storage.convert import convert_model
from im2txt.storage.fetch import public_url


def add_download(commands) -> None:
    parser = commands.add_parser(
        "download",
        help="download the COCO model (or a model archive) into the models folder",
        description="Download a named model from where it is published, trying each of its "
        f"sources in turn (--list shows them; {DEFAULT_MODEL} is the usual one), or a .tar.gz, "
        ".tgz or .zip of a checkpoint folder (or converted model) with its word_counts.txt from "
        "a URL. Every published size and digest is checked, every tensor is read, and the model "
        "goes where the app and the other commands look. Nothing is left behind if it fails.",
    )
    parser.add_argument(
        "model", nargs="?", metavar="NAME_OR_URL",
        help=f"a model name from --list (e.g. {DEFAULT_MODEL}) or an http(s) link to an archive",
    )  # fmt: skip
    parser.add_argument("--list", action="store_true", help="list the named models and exit")
    parser.add_argument(
        "--mirror", metavar="URL",
        help="fetch a named model's files from this folder (an http(s) URL) holding them under "
        "their published names, instead of from the hosts; the published digests still apply",
    )  # fmt: skip
    parser.add_argument(
        "--sha256", metavar="HEX", help="a URL's expected SHA-256, checked before unpacking"
    )
    parser.add_argument(
        "--dest",
        metavar="DIR",
        help="folder to install into (default: in the models folder, coco/ for "
        f"{DEFAULT_MODEL} and URLs: model/ in a checkout, else $IM2TXT_MODEL_DIR or the "
        "per-user data folder)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace a model already in the destination"
    )
    parser.set_defaults(run=run_download)


def run_download(args: argparse.Namespace) -> int:
    if args.list:
        for line in catalogue_lines():
            print(line)
        return 0
    if not args.model:
        print(
            f"error: name a model ({', '.join(catalogue.model_names())}) or give a URL; "
            "--list describes the models",
            file=sys.stderr,
        )
        return 2
    if "://" in args.model:
        if args.mirror:
            raise DownloadError("--mirror is for named models; a URL is fetched as it is")
        return _download_url(args)
    if args.sha256:
        raise DownloadError(
            f"--sha256 is for a URL's archive; {args.model} is checked against its published "
            "digests"
        )
    return _install_named(args)


def catalogue_lines() -> list[str]:
    """One line per named model, starting with its name."""
    lines = []
    for model in catalogue.CATALOGUE:
        default = " (default)" if model.name == DEFAULT_MODEL else ""
        folder = install.default_folder(model)
        installed = install.installed_model_name(folder) == model.name
        lines.append(
            f"{model.name}{default}  {model.size / 1e6:.0f} MB  {model.description}; "
            f"licence {model.licence}" + (f"; installed in {folder}" if installed else "")
        )
    return lines


def _download_url(args: argparse.Namespace) -> int:
    dest = Path(args.dest) if args.dest else locations.coco_destination()
    print(f"Downloading {public_url(args.model)} to {dest}", file=sys.stderr)
    progress = ByteBar("Received")
    try:
        path = install.download_model(
            args.model, dest, sha256=args.sha256, force=args.force, progress=progress
        )
    finally:
        progress.finish()
    found = discovery.inspect_folder(path)
    print(f"Installed {found.label if found else 'model'} in {path}")
    return 0


def _install_named(args: argparse.Namespace) -> int:
    model = catalogue.find_model(args.model)
    dest = Path(args.dest) if args.dest else install.default_folder(model)
    print(f"Downloading {model.name} ({model.size / 1e6:.0f} MB) to {dest}", file=sys.stderr)
    progress = FileBars()
    try:
        installed = install.install_model(
            model.name, dest, force=args.force, mirror=args.mirror, progress=progress
        )
    except install.NoSourceWorked as e:
        progress.finish()
        print(no_source_message(e, dest), file=sys.stderr)
        return 1
    finally:
        progress.finish()
    for line in installed.failures:  # sources tried before the one that worked
        print(f"Could not use {line}", file=sys.stderr)
    found = discovery.inspect_folder(installed.dest)
    label = f" ({found.label})" if found else ""
    print(f"Installed {model.name}{label} from {installed.source.label} in {installed.dest}")
    return 0


def no_source_message(error: install.NoSourceWorked, dest: Path) -> str:
    """Why each source failed, once, then what to do next."""
    reasons = "".join(f"\n  {line}" for line in error.failures)
    return (
        f"error: {error.model}: no source could be used:{reasons}\n"
        "What to do: try again later; or download from a copy of the files with --mirror URL (a "
        "folder holding them under their published names); or put them in "
        f'{dest} by hand. The README\'s "Use the COCO model" lists the files.'
    )


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
