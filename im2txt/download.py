"""Fetching a model from a URL: stream it, verify it, unpack it safely, check it, move it in place.

Everything happens in a hidden staging folder beside the destination (same filesystem, so the
last step is a rename) that is deleted on every path out: a failed download leaves nothing behind
and an existing model is only replaced once its successor has passed every check.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import numpy as np

from im2txt import bundle, checkpoint, discovery
from im2txt.errors import Im2txtError, ModelError

# (bytes received, bytes expected or None when the server does not say).
Progress = Callable[[int, int | None], None]

SCHEMES = ("http", "https")
# Seconds a connection may stay silent (connecting, or between two reads) before giving up.
TIMEOUT = 60.0
CHUNK = 1 << 20
# Bytes an archive may unpack to: far above any im2txt model (the COCO checkpoint is 149 MB),
# far below a full disk.
MAX_UNPACKED = 4 << 30
# What an operator sets: keys of the app's secrets, else environment variables.
SECRET_KEYS = ("model_url", "model_sha256", "model_fetch_on_start")
ENVIRONMENT_KEYS = ("IM2TXT_MODEL_URL", "IM2TXT_MODEL_SHA256", "IM2TXT_MODEL_FETCH_ON_START")

_SHA256 = re.compile(r"[0-9a-f]{64}")


class DownloadError(Im2txtError):
    """A model that cannot be fetched: bad URL, HTTP error, wrong checksum, unusable archive."""


@dataclass(frozen=True)
class ModelSource:
    """Where the operator says the model can be downloaded from."""

    url: str
    # Expected SHA-256 of the archive, 64 lower-case hex digits, or None to skip the check.
    sha256: str | None = None
    # Fetch when the app starts without a COCO model, not only when someone presses the button
    # (for Streamlit Community Cloud, whose disk starts empty at every boot).
    fetch_on_start: bool = False


def default_destination() -> Path:
    """model/coco: the folder the default-model lookup tries first."""
    return discovery.model_root() / discovery.COCO_FOLDER


def configured_model_source(secrets: Mapping[str, object] | None = None) -> ModelSource | None:
    """The model URL the operator configured, or None.

    Read from `secrets` ("model_url", "model_sha256", "model_fetch_on_start": the app passes its
    st.secrets as a dict), else from $IM2TXT_MODEL_URL, $IM2TXT_MODEL_SHA256 and
    $IM2TXT_MODEL_FETCH_ON_START; the other settings come from the same place as the URL. Only the
    operator can set these: a visitor cannot choose what the server fetches.
    """
    for values, (url_key, sha256_key, on_start_key) in (
        (secrets or {}, SECRET_KEYS),
        (os.environ, ENVIRONMENT_KEYS),
    ):
        url = str(values.get(url_key) or "").strip()
        if url:
            _check_url(url)
            sha256 = str(values.get(sha256_key) or "").strip()
            on_start = str(values.get(on_start_key) or "").strip().lower()
            return ModelSource(
                url,
                _normalised_sha256(sha256) if sha256 else None,
                fetch_on_start=on_start in ("1", "true", "yes", "on"),
            )
    return None


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
    _check_url(url)
    expected = _normalised_sha256(sha256) if sha256 else None
    dest = Path(dest) if dest is not None else default_destination()
    occupied = _occupied(dest)
    if occupied and not force:
        raise DownloadError(f"{dest}: {occupied}; not replaced (use --force to replace it)")
    created = _make_folders(dest.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-download-", dir=dest.parent))
    installed = False
    try:
        archive = staging / "archive"
        digest = _fetch(url, shown, archive, progress, timeout)
        if expected and digest != expected:
            raise DownloadError(
                f"{shown}: SHA-256 mismatch: expected {expected}, got {digest} "
                "(a different or damaged file)"
            )
        # The model lands one level inside the staging folder: model discovery, which looks at
        # the folders of model/ themselves, never sees a half-checked model.
        unpacked = staging / "unpacked"
        unpacked.mkdir()
        _unpack(archive, unpacked, shown)
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
    from im2txt.model import weight_shapes
    from im2txt.model_files import read_model

    folder = Path(folder)
    files = read_model(folder, vocab=folder / discovery.VOCAB_NAME)
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


def shown_url(url: str) -> str:
    """The URL as it may be shown and logged: no user:password, no query (signed links hold
    their token there), no fragment."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return repr(url[:60])
    query = "?..." if parts.query else ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", "")) + query


# --- fetching ------------------------------------------------------------------------------------


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only: a link must never lead to a local file or to ftp."""

    def http_error_302(self, req, fp, code, msg, headers):
        target = urljoin(req.full_url, headers.get("Location") or headers.get("URI") or "")
        scheme = urlsplit(target).scheme.lower()
        if scheme not in SCHEMES:
            fp.close()
            raise DownloadError(
                f"{shown_url(req.full_url)}: redirected to a {scheme or 'relative'}: URL, refused"
            )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener() -> urllib.request.OpenerDirector:
    """urllib with http and https handlers only (no file:, ftp: or data: ones)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener


def _fetch(url: str, shown: str, target: Path, progress: Progress | None, timeout: float) -> str:
    """Stream the URL into `target`; return the SHA-256 of what was received."""
    request = urllib.request.Request(url, headers={"User-Agent": "im2txt-download"})
    try:
        response = _opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise DownloadError(f"{shown}: HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise DownloadError(f"{shown}: {_no_connection(e.reason, timeout)}") from None
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(f"{shown}: {_no_connection(e, timeout)}") from None
    digest = hashlib.sha256()
    done = 0
    with response:
        total = _content_length(response)
        if progress:
            progress(0, total)
        try:
            with open(target, "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError(
                f"{shown}: transfer failed after {done:,} bytes ({_reason(e)})"
            ) from None
    if total is not None and done != total:
        raise DownloadError(f"{shown}: transfer cut short: received {done:,} of {total:,} bytes")
    if done == 0:
        raise DownloadError(f"{shown}: the server sent an empty file")
    return digest.hexdigest()


def _no_connection(reason: BaseException | str, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    return f"cannot connect ({_reason(reason)})"


def _content_length(response) -> int | None:
    try:
        length = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


# --- unpacking -----------------------------------------------------------------------------------


def _unpack(archive: Path, target: Path, shown: str) -> None:
    """Unpack a tar (any compression) or zip into `target`, refusing anything that is not a plain
    file or folder inside it. The kind is recognised by content, not by the URL's ending."""
    with open(archive, "rb") as file:
        head = file.read(512)
    try:
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            _unzip(archive, target, shown)
        elif head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
            _untar(archive, target, shown)
        else:
            page = head.lstrip()[:1] == b"<"
            hint = " (the server sent a web page: is the link a direct download?)" if page else ""
            raise DownloadError(f"{shown}: not a .tar.gz, .tgz or .zip archive{hint}")
    except DownloadError:
        raise
    except (
        tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
        lzma.LZMAError, NotImplementedError,
    ) as e:  # fmt: skip
        raise DownloadError(f"{shown}: damaged or truncated archive ({_reason(e)})") from None
    except OSError as e:
        raise DownloadError(f"{shown}: cannot unpack the archive ({_reason(e)})") from None


def _untar(archive: Path, target: Path, shown: str) -> None:
    unpacked = 0
    with tarfile.open(archive, "r:*") as tar:
        # One pass: each member is checked before it is extracted (a compressed tar is a stream).
        for member in tar:
            _check_member_name(member.name, shown)
            if member.issym() or member.islnk():
                raise DownloadError(f"{shown}: unsafe archive: {member.name!r} is a link")
            if not (member.isfile() or member.isdir()):
                raise DownloadError(f"{shown}: unsafe archive: {member.name!r} is a special file")
            unpacked += member.size
            _check_size(unpacked, shown)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: the library's own checks too
                tar.extract(member, target, filter="data")
            else:
                tar.extract(member, target)


def _unzip(archive: Path, target: Path, shown: str) -> None:
    with zipfile.ZipFile(archive) as zip_file:
        members = zip_file.infolist()
        for member in members:  # the central directory: all checked before anything is written
            _check_member_name(member.filename, shown)
            mode = member.external_attr >> 16  # Unix mode bits, when the zip has them
            if stat.S_ISLNK(mode):
                raise DownloadError(f"{shown}: unsafe archive: {member.filename!r} is a link")
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise DownloadError(
                    f"{shown}: unsafe archive: {member.filename!r} is a special file"
                )
        _check_size(sum(member.file_size for member in members), shown)
        for member in members:
            zip_file.extract(member, target)  # reads to the end: CRC-32 checked


def _check_member_name(name: str, shown: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        raise DownloadError(f"{shown}: unsafe archive: {name!r} is an absolute path")
    if ".." in parts:
        raise DownloadError(f"{shown}: unsafe archive: {name!r} points outside the archive")


def _check_size(unpacked: int, shown: str) -> None:
    if unpacked > MAX_UNPACKED:
        raise DownloadError(
            f"{shown}: the archive unpacks to more than {MAX_UNPACKED / 2**30:.0f} GiB; "
            "an im2txt model is a few hundred MB"
        )


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
    vocab = model / discovery.VOCAB_NAME
    above = model.parent / discovery.VOCAB_NAME
    if not vocab.is_file() and model != unpacked and above.is_file():
        above.rename(vocab)
    if not vocab.is_file():
        raise DownloadError(
            f"{shown}: the archive's model has no {discovery.VOCAB_NAME} beside it "
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
        raise DownloadError(f"{dest}: cannot move the model into place ({_reason(e)})") from None


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


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise DownloadError(f"{shown_url(url)}: not a valid URL ({e})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise DownloadError(f"{shown_url(url)}: only http:// and https:// URLs can be downloaded")
    if not parts.hostname:
        raise DownloadError(f"{shown_url(url)}: the URL has no host")


def _normalised_sha256(text: str) -> str:
    value = text.strip().lower().removeprefix("sha256:")
    if not _SHA256.fullmatch(value):
        raise DownloadError(f"SHA-256 must be 64 hexadecimal digits, got {text.strip()[:80]!r}")
    return value


def _reason(error: BaseException | str) -> str:
    """One line on what went wrong, for a message."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = str(error if isinstance(error, str) else getattr(error, "strerror", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
