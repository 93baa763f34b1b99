"""Fetching a model archive from a URL: stream, verify, unpack safely, check, install.

Everything happens in a staging folder beside the destination (see staging): a failed download
leaves nothing behind and an existing model is only replaced once its successor passed every check.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from im2txt.errors import DownloadError, ModelError
from im2txt.storage import bundle, checkpoint, locations
from im2txt.storage.archives import unpack
from im2txt.storage.fetch import (
    TIMEOUT,
    Progress,
    check_url,
    compare_digests,
    fetch,
    normalised_sha256,
    shown_url,
)
from im2txt.storage.model_files import read_model
from im2txt.storage.staging import move_into_place, refuse_occupied, staging_folder
from im2txt.vocabulary import VOCAB_NAME
from im2txt.weights import weight_shapes


def default_destination() -> Path:
    """Where a downloaded model goes: coco/ in the models folder (see locations)."""
    return locations.coco_destination()


def download_model(
    url: str,
    dest: str | Path | None = None,
    sha256: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
) -> Path:
    """Download an archive of a model and install it as the folder `dest` (default model/coco).

    The archive is a .tar.gz/.tgz (or other tar) or a .zip, recognised by its content, holding an
    original checkpoint (.index + .data) or a converted model, with its word_counts.txt, in a
    folder or at the top level. It is streamed to disk (SHA-256 computed on the way and compared
    with `sha256` when given), unpacked with no path leaving the staging folder and no links,
    checked (see check_model) and only then moved to `dest`. An existing model in `dest` is kept
    unless `force`. Returns `dest`; raises DownloadError, with one line naming the problem.
    """
    shown = shown_url(url)
    check_url(url)
    expected = normalised_sha256(sha256) if sha256 else None
    dest = Path(dest) if dest is not None else default_destination()
    refuse_occupied(dest, force)
    with staging_folder(dest) as staging:
        archive = staging / "archive"
        fetched = fetch(url, shown, archive, progress, timeout)
        if expected:
            compare_digests(shown, {"sha256": expected}, fetched.digests)
        # The model lands one level inside the staging folder: model discovery, which looks at
        # the folders of model/ themselves, never sees a half-checked model.
        unpacked = staging / "unpacked"
        unpacked.mkdir()
        unpack(archive, unpacked, shown)
        archive.unlink()  # the disk holds one copy of the model, not two
        model = _find_model(unpacked, shown)
        check_unpacked_model(model, unpacked, shown)
        move_into_place(model, dest, staging, force)
    return dest


def check_unpacked_model(model: Path, staging: Path, shown: str) -> None:
    """check_model on a folder in staging; the error names files as inside the download."""
    try:
        check_model(model)
    except ModelError as e:
        inside = str(e).replace(f"{staging}{os.sep}", "").replace(str(staging), ".")
        raise DownloadError(f"{shown}: the model does not load: {inside}") from None


def check_model(folder: str | Path) -> None:
    """What loading `folder` checks, short of building the network; ModelError on a problem.

    Reads the config (from the checkpoint's shapes or config.json) and every weight once, one at
    a time (TensorFlow's reader verifies each tensor's CRC32C, zipfile each array's CRC-32; a
    checkpoint's tensors the model does not use are read too),
    compares the shapes with the model's, refuses NaN or infinite values, and checks that the
    vocabulary parses and fits the softmax. Building the TF variables would check nothing more
    about the files and would cost ~1 GB and seconds for the COCO model.
    """

    folder = Path(folder)
    files = read_model(folder, vocab=folder / VOCAB_NAME)
    weights = files.weights
    try:
        for name, shape in weight_shapes(files.config).items():
            if name not in weights:
                raise ModelError(f"{folder}: weight {name} is missing")
            value = weights[name]
            if value.shape != shape:
                shown = f"{list(value.shape)}, expected {list(shape)}"
                raise ModelError(f"{folder}: {name} is {shown}")
            if not np.isfinite(value).all():
                raise ModelError(f"{folder}: {name} holds NaN or infinite values")
            del value
    finally:
        if isinstance(weights, bundle.BundleWeights):
            weights.close()  # the folder is renamed next: nothing of it may stay open
    if files.format == "checkpoint":
        checkpoint.read_unused_tensors(files.info.source)


def _find_model(unpacked: Path, shown: str) -> Path:
    """The one folder of the unpacked archive holding a checkpoint or a bundle, with its
    word_counts.txt (taken from the folder above when it is there, as load_captioner does)."""
    found = []
    for folder, subfolders, names in os.walk(unpacked):
        # macOS zips carry a __MACOSX/ tree of "._name" metadata files that look like a model.
        subfolders[:] = sorted(name for name in subfolders if name != "__MACOSX")
        here = Path(folder)
        if bundle.CONFIG_FILE in names or checkpoint.find_checkpoint_prefixes(here):
            found.append(here)
    if not found:
        raise DownloadError(
            f"{shown}: no im2txt checkpoint (.index with its .data) or converted model in the "
            f"archive ({_contents(unpacked)})"
        )
    if len(found) > 1:
        folders = ", ".join(f"{p.relative_to(unpacked)}/" for p in found[:4])
        raise DownloadError(f"{shown}: several models in the archive ({folders}); expected one")
    model = found[0]
    shutil.rmtree(model / "__MACOSX", ignore_errors=True)
    vocab = model / VOCAB_NAME
    above = model.parent / VOCAB_NAME
    if not vocab.is_file() and model != unpacked and above.is_file():
        above.rename(vocab)
    if not vocab.is_file():
        raise DownloadError(
            f"{shown}: the archive's model has no {VOCAB_NAME} beside it "
            "(it must be the vocabulary the model was trained with)"
        )
    return model


def _contents(folder: Path, limit: int = 6) -> str:
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    if not names:
        return "it is empty"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"found {', '.join(names[:limit])}{more}"
