"""A model from a URL: the archive there, installed as a one-off catalogue entry (see install)."""

from __future__ import annotations

from pathlib import Path

from im2txt.progress import ByteProgress
from im2txt.storage import catalogue, locations
from im2txt.storage.fetch import TIMEOUT
from im2txt.storage.install import check_model, default_folder, install

# check_model and default_destination are install's and locations', still importable from here.
__all__ = ["check_model", "default_destination", "download_model"]
default_destination = locations.coco_destination


def download_model(
    url: str,
    dest: str | Path | None = None,
    sha256: str | None = None,
    force: bool = False,
    progress: ByteProgress | None = None,
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
    model = catalogue.one_off(url, sha256)
    dest = Path(dest) if dest is not None else default_folder(model)
    each = (lambda name, done, total: progress(done, total)) if progress else None
    return install(model, dest, force=force, progress=each, timeout=timeout).dest
