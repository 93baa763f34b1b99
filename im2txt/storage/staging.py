"""Installing a model folder: a staging folder beside the destination, then one rename into place.

The staging folder sits in the destination's parent (same filesystem, so the last step is a
rename) and is deleted on every path out: a failed install leaves nothing behind, and an existing
model is only replaced once its successor has passed every check.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from im2txt.errors import DownloadError
from im2txt.storage import discovery
from im2txt.storage.fetch import reason


def refuse_occupied(dest: Path, force: bool) -> None:
    """DownloadError when `dest` holds something and `force` is not given."""
    occupied = _occupied(dest)
    if occupied and not force:
        raise DownloadError(f"{dest}: {occupied}; not replaced (use --force to replace it)")


@contextlib.contextmanager
def staging_folder(dest: Path) -> Iterator[Path]:
    """A fresh hidden folder beside `dest` (its parents created as needed), removed on exit; the
    parents it created are removed too unless a model was moved into `dest` meanwhile."""
    created = _make_folders(dest.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-download-", dir=dest.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not dest.exists():
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()


def move_into_place(model: Path, dest: Path, staging: Path, force: bool) -> None:
    """Rename the checked model folder to `dest`; an old one is moved into staging first (deleted
    with it), and moved back if the rename fails."""
    refuse_occupied(dest, force)  # another download may have finished meanwhile
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


def _make_folders(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it created (outermost first) so a failure can undo it."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
    return list(reversed(missing))
