"""Fetching a file over http(s): streamed to disk with a SHA-256 and progress, one-line errors."""

from __future__ import annotations

import hashlib
import http.client
import http.cookiejar
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

from im2txt.errors import DownloadError
from im2txt.progress import ByteProgress

SCHEMES = ("http", "https")


# Seconds a connection may stay silent (connecting, or between two reads) before giving up.
TIMEOUT = 60.0


CHUNK = 1 << 20


_SHA256 = re.compile(r"[0-9a-f]{64}")


def public_url(url: str) -> str:
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


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only: a link must never lead to a local file or to ftp."""

    def http_error_302(self, req, fp, code, msg, headers):
        target = urljoin(req.full_url, headers.get("Location") or headers.get("URI") or "")
        scheme = urlsplit(target).scheme.lower()
        if scheme not in SCHEMES:
            fp.close()
            raise DownloadError(f"redirected to a {scheme or 'relative'}: URL, refused")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def opener() -> urllib.request.OpenerDirector:
    """urllib with http and https handlers only (no file:, ftp: or data: ones). It keeps the
    cookies a server sets, for the requests made through it (Google Drive's flow sets some)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
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


@dataclass(frozen=True)
class Fetched:
    """What a transfer brought: its length, hex digests by algorithm, and the content type."""

    size: int
    digests: dict[str, str]
    content_type: str


def fetch(
    url: str,
    target: Path,
    progress: ByteProgress | None,
    timeout: float,
    algorithms: Sequence[str] = ("sha256",),
    through: urllib.request.OpenerDirector | None = None,
) -> Fetched:
    """Stream the URL into `target`, hashing it on the way with each of `algorithms`; a
    DownloadError says what went wrong, the caller says with which file.

    `through` is the opener to use (one made by opener(), to share its cookies across the
    requests of a flow); a fresh one by default.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "im2txt-download"})
    try:
        response = (through or opener()).open(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise DownloadError(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise DownloadError(_no_connection(e.reason, timeout)) from None
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(_no_connection(e, timeout)) from None
    hashes = {name: hashlib.new(name) for name in algorithms}
    done = 0
    with response:
        total = _content_length(response)
        content_type = response.headers.get("Content-Type", "")
        if progress:
            progress(0, total)
        try:
            with open(target, "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    for digest in hashes.values():
                        digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError(f"transfer failed after {done:,} bytes ({reason(e)})") from None
    if total is not None and done != total:
        raise DownloadError(f"transfer cut short: received {done:,} of {total:,} bytes")
    if done == 0:
        raise DownloadError("the server sent an empty file")
    digests = {name: digest.hexdigest() for name, digest in hashes.items()}
    return Fetched(done, digests, content_type)


def file_digests(path: Path, algorithms: Iterable[str]) -> dict[str, str]:
    """Hex digests of a file on disk, by hashlib name."""
    hashes = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            for digest in hashes.values():
                digest.update(chunk)
    return {name: digest.hexdigest() for name, digest in hashes.items()}


def compare_digests(published: dict[str, str], received: dict[str, str]) -> None:
    """DownloadError naming the first digest (by hashlib name) that differs from the published."""
    for algorithm, expected in published.items():
        if received[algorithm] != expected:
            name = algorithm.upper().replace("SHA", "SHA-")
            raise DownloadError(
                f"{name} mismatch: expected {expected}, got {received[algorithm]} "
                "(a different or damaged file)"
            )


def _no_connection(error: BaseException | str, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    return f"cannot connect ({reason(error)})"


def _content_length(response) -> int | None:
    try:
        length = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


def check_url(url: str) -> None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise DownloadError(f"{public_url(url)}: not a valid URL ({e})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise DownloadError(f"{public_url(url)}: only http:// and https:// URLs can be downloaded")
    if not parts.hostname:
        raise DownloadError(f"{public_url(url)}: the URL has no host")


def normalised_sha256(text: str) -> str:
    value = text.strip().lower().removeprefix("sha256:")
    if not _SHA256.fullmatch(value):
        raise DownloadError(f"SHA-256 must be 64 hexadecimal digits, got {text.strip()[:80]!r}")
    return value


def reason(error: BaseException | str) -> str:
    """One line on what went wrong, for a message."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = str(error if isinstance(error, str) else getattr(error, "strerror", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
