"""What to caption: INPUT arguments (files, folders, glob patterns, @lists, URIs) -> image names.

Only names are listed here, never image bytes: an archive of 200,000 photos is a list of
200,000 strings. Each name is kept as the user wrote it, since it is what the output rows say.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from im2txt.errors import Im2txtError
from im2txt.image_formats import is_picture_name

# scheme://...: s3://, gs://, hdfs://, file://, http(s):// (read by the workers, not listed).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?[]")


def image_files(paths: Sequence[str]) -> list[str]:
    """Files named on the command line as given; folders walked for images, sorted."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files += walk_folder(path)
        else:
            files.append(path)
    return files


def walk_folder(folder: str) -> list[str]:
    """The image files under a folder, recursively, sorted; hidden files skipped.

    Image files are those named like pictures (image_formats.picture_suffixes): every format the
    loader reads, and the drawings it does not, which then get an error line saying what to do."""
    walked = []
    for parent, subfolders, names in os.walk(folder):
        subfolders.sort()
        walked += [
            os.path.join(parent, name)
            for name in names
            if is_picture_name(name) and not name.startswith(".")
        ]
    return sorted(walked)


def is_uri(name: str) -> bool:
    return bool(_URI.match(name))


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Every image the INPUTs name, in order, each once (the first mention counts).

    - `@list.txt`: one path, folder, pattern or URI per line (blank lines and `#` lines
      skipped; relative paths are taken from the current folder, as on the command line);
    - a URI (`s3://bucket/a.jpg`, `https://...`): as given, read later by a worker;
    - a folder: walked recursively for image files, sorted;
    - a glob pattern (`photos/**/*.jpg`, quote it against the shell): its matches, sorted,
      images only (matched folders are walked); a pattern matching nothing stays as given;
    - anything else: as given, so that a missing file becomes an error row, not a silent gap.
    """
    seen: dict[str, None] = {}
    for entry in inputs:
        entries = _list_file_lines(entry[1:]) if entry.startswith("@") else [entry]
        seen.update(dict.fromkeys(_expand(entries)))
    return list(seen)


def _expand(entries: Iterable[str]) -> list[str]:
    names: list[str] = []
    for entry in entries:
        if is_uri(entry):
            names.append(entry)
        elif os.path.isdir(entry):
            names += walk_folder(entry)
        elif not os.path.exists(entry) and _GLOB.search(entry):
            matches = sorted(glob.glob(entry, recursive=True))
            if not matches:
                names.append(entry)  # an error row says nothing matched
            for match in matches:
                if os.path.isdir(match):
                    names += walk_folder(match)
                elif is_picture_name(os.path.basename(match)):
                    names.append(match)
        else:
            names.append(entry)
    return names


def _list_file_lines(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise Im2txtError(f"@{path}: cannot read the list ({e.strerror})") from None
    except UnicodeDecodeError:
        raise Im2txtError(f"@{path}: not a text file of paths (not UTF-8)") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]
