"""Image bytes for the caption workers: a Ray Data batch of names -> their bytes or a read error.

Local paths are read on the driver's node (the job pins this step there), so photos on the
laptop or head node that starts the job reach workers on other machines through the object
store. URIs are read wherever the step runs: `http(s)://` with urllib, anything else (`s3://`,
`gs://`, `hdfs://`, `file://`, ...) with pyarrow's filesystems, where their credentials apply.
A file that cannot be read becomes an error for that image only.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from im2txt.batch.inputs import is_uri
from im2txt.errors import ImageError
from im2txt.image_loading import read_image_file

# Larger files are refused unread: memory per image stays bounded whatever the archive holds.
MAX_FILE_BYTES = 256 * 1024 * 1024
HTTP_TIMEOUT = 60  # seconds without data before a download is given up


def read_images(batch: dict) -> dict:
    """{"image": names} -> {"image", "data" (bytes, b"" on failure), "error" ("" when read)}."""
    names = [str(name) for name in batch["image"]]
    data, errors = [], []
    for name in names:
        try:
            data.append(read_image_bytes(name))
            errors.append("")
        except ImageError as e:
            data.append(b"")
            errors.append(str(e))
    return {"image": names, "data": data, "error": errors}


def read_image_bytes(name: str) -> bytes:
    if name.startswith(("http://", "https://")):
        return _read_http(name)
    if is_uri(name):
        return _read_uri(name)
    return _read_local(name)


def _read_local(name: str) -> bytes:
    return _checked(name, read_image_file(Path(name), name, MAX_FILE_BYTES))


def _read_http(name: str) -> bytes:
    try:
        with urllib.request.urlopen(name, timeout=HTTP_TIMEOUT) as response:
            data = response.read(MAX_FILE_BYTES + 1)
    except urllib.error.HTTPError as e:
        raise ImageError(f"{name}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise ImageError(f"{name}: cannot fetch ({reason})") from None
    return _checked(name, data)


def _read_uri(name: str) -> bytes:
    try:
        from pyarrow import fs

        filesystem, path = fs.FileSystem.from_uri(name)
        with filesystem.open_input_stream(path) as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except ImportError:
        raise ImageError(f"{name}: reading URIs needs pyarrow (requirements-cluster.txt)") from None
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found") from None
    except Exception as e:  # ArrowInvalid (unknown scheme), OSError from the store, ...
        raise ImageError(f"{name}: cannot read ({str(e).splitlines()[0]})") from None
    return _checked(name, data)


def _checked(name: str, data: bytes) -> bytes:
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MB, not read")
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    return data
