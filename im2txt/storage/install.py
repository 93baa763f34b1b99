"""Installing a catalogue model: each source in turn, until one gives files that check.

Every file is streamed into a staging folder beside the destination (see staging), its published
size and digests compared, archives unpacked safely and their members' digests compared, and the
model then read whole (every tensor's CRC checked against the index) before one rename puts it in
place. A source that fails is reported in one line and the next one is tried.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from im2txt.errors import DownloadError
from im2txt.storage import catalogue, locations
from im2txt.storage.archives import unpack
from im2txt.storage.catalogue import NamedModel, RemoteFile, Source
from im2txt.storage.download import check_unpacked_model
from im2txt.storage.drive import fetch_drive_file
from im2txt.storage.fetch import (
    TIMEOUT,
    check_url,
    compare_digests,
    fetch,
    file_digests,
    shown_url,
)
from im2txt.storage.staging import move_into_place, refuse_occupied, staging_folder

# Written beside the installed model: which catalogue model it is and where it came from.
PROVENANCE_FILE = "im2txt-source.json"

# (file name, bytes received, bytes expected or None).
FileProgress = Callable[[str, int, int | None], None]


class NoSourceWorked(DownloadError):
    """Every source of a catalogue model failed. Its message is one line naming each source and
    why; `failures` holds the same, one line per source in the order tried, for a front end that
    lays them out (and adds what to do next: a mirror, or the files by hand)."""

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
    # The source the model came from.
    source: Source
    # One line per source that failed before it, in order.
    failures: tuple[str, ...]


def default_folder(model: NamedModel) -> Path:
    """Where a named model is installed: its folder of the models folder (coco/ for coco-2m,
    the folder the default lookup tries first)."""
    return locations.model_root() / model.folder


def install_model(
    name: str,
    dest: str | Path | None = None,
    force: bool = False,
    mirror: str | None = None,
    progress: FileProgress | None = None,
    on_failure: Callable[[str], None] | None = None,
    timeout: float = TIMEOUT,
) -> Installed:
    """Fetch the catalogue's model `name` and install it as the folder `dest`.

    The sources are tried in order, or, with `mirror` (a URL of a folder holding the files under
    their published names), the same sources' files from there. Each failed source is passed to
    `on_failure` as one line. An existing model in `dest` is kept unless `force`. Raises
    NoSourceWorked (a DownloadError: one line, listing every source's failure) when none works.
    """
    model = catalogue.find_model(name)
    sources = model.sources
    if mirror is not None:
        check_url(mirror)
        sources = tuple(catalogue.mirrored(source, mirror) for source in sources)
    dest = Path(dest) if dest is not None else default_folder(model)
    refuse_occupied(dest, force)
    failures: list[str] = []
    with staging_folder(dest) as staging:
        for number, source in enumerate(sources):
            work = staging / f"source-{number}"
            work.mkdir()
            try:
                folder = _fetch_source(source, work, progress, timeout)
                check_unpacked_model(folder, folder, model.name)
            except DownloadError as e:
                shutil.rmtree(work, ignore_errors=True)  # one source's files on disk at a time
                line = f"{source.label}: {e}"
                failures.append(line)
                if on_failure:
                    on_failure(line)
                continue
            _write_provenance(folder, model, source)
            move_into_place(folder, dest, staging, force)
            return Installed(model, dest, source, tuple(failures))
    raise NoSourceWorked(model.name, tuple(failures))


def installed_model_name(folder: str | Path) -> str | None:
    """The catalogue name of the model installed in `folder`, or None when it was put there some
    other way."""
    name = (install_record(folder) or {}).get("model")
    return name if isinstance(name, str) else None


def install_record(folder: str | Path) -> dict | None:
    """What `download` wrote beside a model it installed (its name, description, licence and
    source), or None when the model was put there some other way."""
    try:
        record = json.loads((Path(folder) / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _fetch_source(
    source: Source, work: Path, progress: FileProgress | None, timeout: float
) -> Path:
    """All the files of one source into work/model; DownloadError at the first that fails."""
    folder = work / "model"
    folder.mkdir()
    for remote in source.files:
        if remote.members:
            _fetch_archive(remote, work, folder, progress, timeout)
        else:
            _fetch_file(remote, folder / remote.name, progress, timeout)
    return folder


def _fetch_file(
    remote: RemoteFile, target: Path, progress: FileProgress | None, timeout: float
) -> None:
    shown = _shown(remote)
    algorithms = tuple(remote.digests) or ("sha256",)

    def report(done: int, total: int | None) -> None:
        if progress:
            progress(remote.name, done, total or remote.size)

    get = fetch_drive_file if remote.drive else fetch
    fetched = get(remote.url, shown, target, report, timeout, algorithms)
    if remote.size is not None and fetched.size != remote.size:
        raise DownloadError(
            f"{shown}: {fetched.size:,} bytes, but the published file has {remote.size:,} "
            "(a different or damaged file)"
        )
    compare_digests(shown, remote.digests, fetched.digests)


def _fetch_archive(
    remote: RemoteFile, work: Path, folder: Path, progress: FileProgress | None, timeout: float
) -> None:
    """The archive, unpacked; its listed members checked and moved into `folder`."""
    archive = work / remote.name
    _fetch_file(remote, archive, progress, timeout)
    unpacked = work / "unpacked"
    unpacked.mkdir()
    shown = _shown(remote)
    unpack(archive, unpacked, shown)
    archive.unlink()  # one copy of the model on disk, not two
    for member in remote.members:
        path = unpacked / member.path  # "./checkpoint/..." in the tar lands here too
        if not path.is_file():
            raise DownloadError(f"{shown}: {member.path} is not in the archive")
        received = file_digests(path, member.digests)
        compare_digests(f"{shown}: {member.path}", member.digests, received)
        path.rename(folder / member.name)
    shutil.rmtree(unpacked)


def _shown(remote: RemoteFile) -> str:
    """The file as messages name it: its URL, with its name first when the URL does not say it
    (a Drive link)."""
    shown = shown_url(remote.url)
    return shown if shown.endswith(f"/{remote.name}") else f"{remote.name} ({shown})"


def _write_provenance(folder: Path, model: NamedModel, source: Source) -> None:
    record = {
        "model": model.name,
        "description": model.description,
        "licence": model.licence,
        "licence_url": model.licence_url,
        "source": source.label,
        "files": {remote.name: shown_url(remote.url) for remote in source.files},
    }
    (folder / PROVENANCE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
