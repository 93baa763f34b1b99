"""Installing a model: each source in turn, staged beside the destination, checked, then renamed.

A catalogue model and a URL's archive (catalogue.one_off) go the same way. The staging folder is
in the destination's parent (same filesystem: the last step is a rename) and deleted on every path
out: a failed install leaves nothing behind, and an existing model is only replaced by one that
passed every check (published sizes and digests, safe unpacking, every tensor read).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from im2txt.errors import DownloadError, ModelError
from im2txt.progress import ByteProgress, FileProgress
from im2txt.storage import bundle, catalogue, checkpoint, discovery, locations
from im2txt.storage.archives import unpack
from im2txt.storage.catalogue import ArchiveMember, NamedModel, Source
from im2txt.storage.fetch import TIMEOUT, check_digests, fetch, public_url, reason
from im2txt.storage.model_files import read_model
from im2txt.vocabulary import VOCAB_NAME
from im2txt.weights import weight_shapes

# Written beside an installed catalogue model: which one it is and where it came from.
PROVENANCE_FILE = "im2txt-source.json"


class NoSourceWorked(DownloadError):
    """Every source of a model failed; `failures` has one line per source, in the order tried."""

    def __init__(self, model: str, failures: tuple[str, ...]) -> None:
        super().__init__(
            f"{model}: no source could be used ({len(failures)} tried): " + "; ".join(failures)
        )
        self.model = model
        self.failures = failures


@dataclass(frozen=True)
class Installed:
    model: NamedModel
    dest: Path
    source: Source
    # One line per source that failed before it, in order.
    failures: tuple[str, ...]


def default_folder(model: NamedModel) -> Path:
    """Where `model` is installed by default: its folder of the models folder."""
    return locations.model_root() / model.folder


def install_model(
    model: str | NamedModel,
    dest: str | Path | None = None,
    *,
    force: bool = False,
    mirror: str | None = None,
    progress: FileProgress | None = None,
    on_failure: Callable[[str], None] | None = None,
    timeout: float = TIMEOUT,
) -> Installed:
    """The pipeline: `model` (a catalogue name, from `mirror` when given, or an entry such as
    catalogue.one_off's) from the first of its sources that works, installed as `dest` (default:
    default_folder), an existing model there kept unless `force`. Each failed source goes to
    `on_failure` as one line; NoSourceWorked lists them all (a one-off entry: its one line)."""
    if isinstance(model, str):
        model = catalogue.find_model(model, mirror)
    dest = Path(dest) if dest is not None else default_folder(model)
    refuse_occupied(dest, force)
    failures: list[str] = []
    with staging_folder(dest) as staging:
        for number, source in enumerate(model.sources):
            work = staging / f"source-{number}"
            work.mkdir()
            try:
                folder = _fetch_source(model.name, source, work, progress, timeout)
            except DownloadError as e:
                shutil.rmtree(work, ignore_errors=True)  # one source's files on disk at a time
                line = f"{source.label}: {e}" if source.label else str(e)
                failures.append(line)
                if on_failure:
                    on_failure(line)
                continue
            if source.label:
                _write_provenance(folder, model, source)
            move_into_place(folder, dest, staging, force)
            return Installed(model, dest, source, tuple(failures))
    if not model.sources[0].label:
        raise DownloadError(failures[0])
    raise NoSourceWorked(model.name, tuple(failures))


def download_model(
    url: str,
    dest: str | Path | None = None,
    *,
    sha256: str | None = None,
    force: bool = False,
    progress: ByteProgress | None = None,
    timeout: float = TIMEOUT,
) -> Path:
    """The model archive at `url` installed (see install_model); returns where. A tar or zip,
    recognised by its content, holding a checkpoint (.index + .data) or a converted model with
    its word_counts.txt, in a folder or at the top; its SHA-256 checked when given."""
    model = catalogue.one_off(url, sha256)
    each = (lambda name, done, total: progress(done, total)) if progress else None
    return install_model(model, dest, force=force, progress=each, timeout=timeout).dest


def installed_model_name(folder: str | Path) -> str | None:
    """The catalogue name of the model installed in `folder`, or None."""
    name = (install_record(folder) or {}).get("model")
    return name if isinstance(name, str) else None


def install_record(folder: str | Path) -> dict | None:
    """What install wrote beside a catalogue model (name, licence, source...), or None."""
    try:
        record = json.loads((Path(folder) / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def check_model(folder: str | Path) -> None:
    """What loading `folder` checks, short of building the network (which would check nothing
    more, for ~1 GB): every weight read once (its CRC checked), its shape compared with the
    model's, no NaN or infinity; the vocabulary parses and fits the softmax. ModelError if not."""
    folder = Path(folder)
    files = read_model(folder, vocab=folder / VOCAB_NAME)
    weights = files.weights
    try:
        for name, shape in weight_shapes(files.config).items():
            if name not in weights:
                raise ModelError(f"{folder}: weight {name} is missing")
            value = weights[name]
            if value.shape != shape:
                shapes = f"{list(value.shape)}, expected {list(shape)}"
                raise ModelError(f"{folder}: {name} is {shapes}")
            if not np.isfinite(value).all():
                raise ModelError(f"{folder}: {name} holds NaN or infinite values")
            del value
    finally:
        if isinstance(weights, bundle.BundleWeights):
            weights.close()  # the folder is renamed next: nothing of it may stay open
    if files.format == "checkpoint":
        checkpoint.read_unused_tensors(files.info.source)


# --- staging -------------------------------------------------------------------------------------


def refuse_occupied(dest: Path, force: bool) -> None:
    """DownloadError when `dest` holds something (an empty folder is fine) and not `force`."""
    if force or not (dest.exists() or dest.is_symlink()):
        return
    occupied = "already exists"
    if dest.is_dir() and not dest.is_symlink():
        if not any(dest.iterdir()):
            return
        found = discovery.inspect_folder(dest)
        occupied = f"already has a model ({found.label})" if found else "already exists, not empty"
    raise DownloadError(f"{dest}: {occupied}; not replaced (use --force to replace it)")


@contextlib.contextmanager
def staging_folder(dest: Path) -> Iterator[Path]:
    """A fresh hidden folder beside `dest`, removed on exit, with the parents it had to create
    unless a model was moved into `dest` meanwhile."""
    created = [folder for folder in (dest.parent, *dest.parent.parents) if not folder.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-download-", dir=dest.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not dest.exists():
            for folder in created:  # innermost first
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


# --- one source ----------------------------------------------------------------------------------


def _fetch_source(
    name: str, source: Source, work: Path, progress: FileProgress | None, timeout: float
) -> Path:
    """All the files of one source into work/model; the folder holding the model, checked. A
    DownloadError names the file that failed, or the model's files as inside the download."""
    folder = work / "model"
    folder.mkdir()
    found = folder
    for remote in source.files:
        file = remote.name
        each = (lambda done, total, file=file: progress(file, done, total)) if progress else None
        target = work / "archive" if remote.archive else folder / file
        try:
            fetch(
                remote.url,
                target,
                size=remote.size,
                digests=remote.digests,
                drive=remote.drive,
                progress=each,
                timeout=timeout,
            )
            if not remote.archive:
                continue
            unpacked = work / "unpacked" if remote.members else folder
            unpacked.mkdir(exist_ok=True)
            unpack(target, unpacked)
            target.unlink()  # one copy of the model on disk, not two
            if remote.members:
                _take_members(remote.members, unpacked, folder)
            else:
                found = _find_model(folder)
        except DownloadError as e:
            raise DownloadError(f"{remote.label}: {e}") from None
    try:
        check_model(found)
    except ModelError as e:
        inside = str(e).replace(f"{folder}{os.sep}", "").replace(str(folder), ".")
        raise DownloadError(f"{name}: the model does not load: {inside}") from None
    return found


def _take_members(members: tuple[ArchiveMember, ...], unpacked: Path, folder: Path) -> None:
    """The archive's listed members, their digests checked, moved into `folder`."""
    for member in members:
        path = unpacked / member.path  # "./checkpoint/..." in the tar lands here too
        if not path.is_file():
            raise DownloadError(f"{member.path} is not in the archive")
        try:
            check_digests(path, member.digests)
        except DownloadError as e:
            raise DownloadError(f"{member.path}: {e}") from None
        path.rename(folder / member.name)
    shutil.rmtree(unpacked)


def _find_model(unpacked: Path) -> Path:
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
            "no im2txt checkpoint (.index with its .data) or converted model in the "
            f"archive ({_contents(unpacked)})"
        )
    if len(found) > 1:
        folders = ", ".join(f"{p.relative_to(unpacked)}/" for p in found[:4])
        raise DownloadError(f"several models in the archive ({folders}); expected one")
    model = found[0]
    shutil.rmtree(model / "__MACOSX", ignore_errors=True)
    vocab = model / VOCAB_NAME
    above = model.parent / VOCAB_NAME
    if not vocab.is_file() and model != unpacked and above.is_file():
        above.rename(vocab)
    if not vocab.is_file():
        raise DownloadError(
            f"the archive's model has no {VOCAB_NAME} beside it "
            "(it must be the vocabulary the model was trained with)"
        )
    return model


def _contents(folder: Path, limit: int = 6) -> str:
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    if not names:
        return "it is empty"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"found {', '.join(names[:limit])}{more}"


def _write_provenance(folder: Path, model: NamedModel, source: Source) -> None:
    record = {
        "model": model.name,
        "description": model.description,
        "licence": model.licence,
        "licence_url": model.licence_url,
        "source": source.label,
        "files": {remote.name: public_url(remote.url) for remote in source.files},
    }
    (folder / PROVENANCE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
