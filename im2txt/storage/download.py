"""Fetching a model from a URL: stream it, verify it, unpack it safely, check it, move it in place.

Everything happens in a hidden staging folder beside the destination (same filesystem, so the
last step is a rename) that is deleted on every path out: a failed download leaves nothing behind
and an existing model is only replaced once its successor has passed every check.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from im2txt.errors import DownloadError, ModelError
from im2txt.storage import bundle, checkpoint, discovery, locations
from im2txt.storage.archives import unpack
from im2txt.storage.fetch import (
    TIMEOUT,
    Progress,
    check_url,
    fetch,
    normalised_sha256,
    reason,
    shown_url,
)
from im2txt.storage.model_files import read_model
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
    occupied = _occupied(dest)
    if occupied and not force:
        raise DownloadError(f"{dest}: {occupied}; not replaced (use --force to replace it)")
    created = _make_folders(dest.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-download-", dir=dest.parent))
    installed = False
    try:
        archive = staging / "archive"
        digest = fetch(url, shown, archive, progress, timeout)
        if expected and digest != expected:
            raise DownloadError(
                f"{shown}: SHA-256 mismatch: expected {expected}, got {digest} "
                "(a different or damaged file)"
            )
        # The model lands one level inside the staging folder: model discovery, which looks at
        # the folders of model/ themselves, never sees a half-checked model.
        unpacked = staging / "unpacked"
        unpacked.mkdir()
        unpack(archive, unpacked, shown)
        archive.unlink()  # the disk holds one copy of the model, not two
        model = _find_model(unpacked, shown)
        try:
            check_model(model)
        except ModelError as e:
            inside = str(e).replace(f"{unpacked}{os.sep}", "").replace(str(unpacked), ".")
            raise DownloadError(f"{shown}: the archive's model does not load: {inside}") from None
        _move_into_place(model, dest, staging, force)
        installed = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not installed:
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return dest


def check_model(folder: str | Path) -> None:
    """What loading `folder` checks, short of building the network; ModelError on a problem.

    Reads the config (from the checkpoint's shapes or config.json) and every weight once, one at
    a time (TensorFlow's reader verifies each tensor's CRC32C, zipfile each array's CRC-32),
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


# --- fetching ------------------------------------------------------------------------------------


# --- unpacking -----------------------------------------------------------------------------------


# --- finding and installing the model ------------------------------------------------------------


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


def _occupied(dest: Path) -> str | None:
    """Why `dest` cannot simply be created, or None when it is absent or an empty folder."""
    if dest.is_dir() and not dest.is_symlink():
        if not any(dest.iterdir()):
            return None
        found = discovery.inspect_folder(dest)
        return f"already has a model ({found.label})" if found else "already exists, not empty"
    if dest.exists() or dest.is_symlink():
        return "already exists"
    return None


def _move_into_place(model: Path, dest: Path, staging: Path, force: bool) -> None:
    """Rename the checked model to `dest`; an old one is moved into staging first (deleted with
    it), and moved back if the rename fails."""
    occupied = _occupied(dest)
    if occupied and not force:  # another download finished meanwhile
        raise DownloadError(f"{dest}: {occupied}; not replaced (use --force to replace it)")
    old = None
    if dest.exists() or dest.is_symlink():
        old = staging / "replaced"
        os.rename(dest, old)
    try:
        os.rename(model, dest)
    except OSError as e:
        if old is not None:
            os.rename(old, dest)
        raise DownloadError(f"{dest}: cannot move the model into place ({reason(e)})") from None


def _make_folders(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it created (outermost first) so a failure can undo it."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
    return list(reversed(missing))


# --- checks --------------------------------------------------------------------------------------
