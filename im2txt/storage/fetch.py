"""Fetching a file over http(s): streamed to disk with progress, checked, one-line errors.

A Google Drive link to a large file answers with a "can't scan this file for viruses" page whose
form leads to the file; gdown (a well-kept library that follows Drive's changes) reads that page.
The transfer stays ours: gdown's has no timeout, so a stalled connection would hang for good.
"""

from __future__ import annotations

import hashlib
import http.client
import http.cookiejar
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

from im2txt.errors import DownloadError
from im2txt.progress import ByteProgress

SCHEMES = ("http", "https")
# Seconds a connection may stay silent (connecting, or between two reads) before giving up.
TIMEOUT = 60.0
CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Drive answers with one page (a quota notice, or the confirmation) before the file; a
# confirmation page is a few kB, so anything larger served as HTML is not one.
_DRIVE_PAGES = 3
_MAX_PAGE = 1 << 20


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


def _opener() -> urllib.request.OpenerDirector:
    """urllib with http and https handlers only (no file:, ftp: or data: ones), keeping the
    cookies a server sets (Google Drive's flow sets some)."""
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


def fetch(
    url: str,
    target: Path,
    *,
    size: int | None = None,
    digests: Mapping[str, str] | None = None,
    drive: bool = False,
    progress: ByteProgress | None = None,
    timeout: float = TIMEOUT,
) -> None:
    """Stream the URL into `target`, checking its published `size` and `digests` (hex, by hashlib
    name) when given; with `drive`, Drive's confirmation pages are followed to the file. A
    DownloadError says what went wrong, the caller says with which file."""
    through = _opener()  # one cookie jar for the whole flow
    report = (lambda done, total: progress(done, total or size)) if progress else None
    for _ in range(_DRIVE_PAGES if drive else 1):
        done, content_type = _transfer(url, target, report, timeout, through)
        if not (drive and content_type.startswith("text/html") and done <= _MAX_PAGE):
            break
        url = _confirmed_url(target.read_text(encoding="utf-8", errors="replace"))
        check_url(url)
    else:
        raise DownloadError("Google Drive kept answering with a web page, not the file")
    if size is not None and done != size:
        raise DownloadError(
            f"{done:,} bytes, but the published file has {size:,} (a different or damaged file)"
        )
    check_digests(target, digests or {})


def _transfer(
    url: str,
    target: Path,
    progress: ByteProgress | None,
    timeout: float,
    through: urllib.request.OpenerDirector,
) -> tuple[int, str]:
    """One request into `target`: its length and content type."""
    request = urllib.request.Request(url, headers={"User-Agent": "im2txt-download"})
    try:
        response = through.open(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise DownloadError(f"HTTP {e.code} {e.reason}") from None
    except (OSError, http.client.HTTPException) as e:
        cause = e.reason if isinstance(e, urllib.error.URLError) else e
        if isinstance(cause, TimeoutError):
            raise DownloadError(f"no answer within {timeout:g} s") from None
        raise DownloadError(f"cannot connect ({reason(cause)})") from None
    done = 0
    with response:
        length = response.length  # http.client's Content-Length: None when absent or invalid
        if progress:
            progress(0, length)
        try:
            with open(target, "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, length)
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError(f"transfer failed after {done:,} bytes ({reason(e)})") from None
    if length is not None and done != length:
        raise DownloadError(f"transfer cut short: received {done:,} of {length:,} bytes")
    if done == 0:
        raise DownloadError("the server sent an empty file")
    return done, response.headers.get("Content-Type", "")


def _confirmed_url(page: str) -> str:
    """The file's URL from Drive's confirmation page; DownloadError with Drive's own reason when
    the page is a refusal (quota exceeded, no access)."""
    from gdown.download import get_url_from_gdrive_confirmation
    from gdown.exceptions import FileURLRetrievalError

    try:
        return get_url_from_gdrive_confirmation(page)
    except FileURLRetrievalError as e:
        raise DownloadError(f"Google Drive refused the file: {reason(e)}") from None


def check_digests(path: Path, published: Mapping[str, str]) -> None:
    """DownloadError naming the first of the file's digests (hex, by hashlib name) that differs
    from the published one."""
    for algorithm, expected in published.items():
        with open(path, "rb") as file:
            received = hashlib.file_digest(file, algorithm).hexdigest()
        if received != expected:
            name = algorithm.upper().replace("SHA", "SHA-")
            raise DownloadError(
                f"{name} mismatch: expected {expected}, got {received} "
                "(a different or damaged file)"
            )


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
