"""Unpacking a model archive safely: tar or zip, nothing outside the target, no links, size cap."""

from __future__ import annotations

import gzip
import lzma
import re
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path

from im2txt.errors import DownloadError
from im2txt.storage.fetch import reason

# Bytes an archive may unpack to: far above any im2txt model (the COCO checkpoint is 149 MB),
# far below a full disk.
MAX_UNPACKED = 4 << 30


def unpack(archive: Path, target: Path) -> None:
    """Unpack a tar (any compression) or zip into `target`, refusing anything that is not a plain
    file or folder inside it. The kind is recognised by content, not by the URL's ending. A
    DownloadError says what is wrong; the caller names the archive."""
    with open(archive, "rb") as file:
        head = file.read(512)
    try:
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            _unzip(archive, target)
        elif head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
            _untar(archive, target)
        else:
            page = head.lstrip()[:1] == b"<"
            hint = " (the server sent a web page: is the link a direct download?)" if page else ""
            raise DownloadError(f"not a .tar.gz, .tgz or .zip archive{hint}")
    except (
        tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
        lzma.LZMAError, NotImplementedError,
    ) as e:  # fmt: skip
        raise DownloadError(f"damaged or truncated archive ({reason(e)})") from None
    except OSError as e:
        raise DownloadError(f"cannot unpack the archive ({reason(e)})") from None


def _untar(archive: Path, target: Path) -> None:
    unpacked = 0
    with tarfile.open(archive, "r:*") as tar:
        # Python >= 3.11.4: the library's own checks too (an older one ignores the attribute).
        tar.extraction_filter = getattr(tarfile, "data_filter", None)
        # One pass: each member is checked before it is extracted (a compressed tar is a stream).
        for member in tar:
            link, plain = member.issym() or member.islnk(), member.isfile() or member.isdir()
            _check_member(member.name, link=link, special=not plain)
            unpacked += member.size
            _check_size(unpacked)
            tar.extract(member, target)


def _unzip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zip_file:
        members = zip_file.infolist()
        for member in members:  # the central directory: all checked before anything is written
            mode = member.external_attr >> 16  # Unix mode bits, when the zip has them
            special = stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR)
            _check_member(member.filename, link=stat.S_ISLNK(mode), special=special)
        _check_size(sum(member.file_size for member in members))
        for member in members:
            zip_file.extract(member, target)  # reads to the end: CRC-32 checked


def _check_member(name: str, *, link: bool, special: bool) -> None:
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        problem = "is an absolute path"
    elif ".." in name.replace("\\", "/").split("/"):
        problem = "points outside the archive"
    elif link or special:
        problem = "is a link" if link else "is a special file"
    else:
        return
    raise DownloadError(f"unsafe archive: {name!r} {problem}")


def _check_size(unpacked: int) -> None:
    if unpacked > MAX_UNPACKED:
        raise DownloadError(
            f"the archive unpacks to more than {MAX_UNPACKED / 2**30:.0f} GiB; "
            "an im2txt model is a few hundred MB"
        )
