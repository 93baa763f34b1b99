"""Google Drive files: past the "can't scan this file for viruses" page to the file itself.

A Drive link to a large file answers with a web page whose "Download anyway" form leads to the
file. gdown (a well-kept library that follows Drive's changes) reads that page; the transfer
itself is fetch's, with its timeouts, http(s)-only redirects, digests and progress: gdown's own
download has no timeout, so a stalled connection would hang a server's download for good.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence
from pathlib import Path

from im2txt.errors import DownloadError
from im2txt.progress import ByteProgress
from im2txt.storage.fetch import Fetched, check_url, fetch, opener, reason

# A confirmation page is a few kB; anything larger served as HTML is not one.
_MAX_PAGE = 1 << 20
# Drive answers with one page (a quota notice, or the confirmation) before the file.
_MAX_PAGES = 3


def fetch_drive_file(
    url: str,
    target: Path,
    progress: ByteProgress | None,
    timeout: float,
    algorithms: Sequence[str] = ("sha256",),
) -> Fetched:
    """fetch() for a Drive link: confirmation pages are followed, the file lands in `target`."""
    through: urllib.request.OpenerDirector = opener()  # one cookie jar for the whole flow
    for _ in range(_MAX_PAGES):
        fetched = fetch(url, target, progress, timeout, algorithms, through)
        if not (fetched.content_type.startswith("text/html") and fetched.size <= _MAX_PAGE):
            return fetched
        url = confirmed_url(target.read_text(encoding="utf-8", errors="replace"))
        check_url(url)
    raise DownloadError("Google Drive kept answering with a web page, not the file")


def confirmed_url(page: str) -> str:
    """The file's URL from Drive's confirmation page; DownloadError with Drive's own reason when
    the page is a refusal (quota exceeded, no access)."""
    from gdown.download import get_url_from_gdrive_confirmation
    from gdown.exceptions import FileURLRetrievalError

    try:
        return get_url_from_gdrive_confirmation(page)
    except FileURLRetrievalError as e:
        raise DownloadError(f"Google Drive refused the file: {reason(e)}") from None
