"""Rendered clips kept for the sessions that made them: on disk, bounded per session and in all.

A rendered MP4 can be hundreds of MB; kept in st.session_state, every session held up to three in
memory. Here each clip is a file in one temporary folder of the server; a session keeps at most
PER_SESSION clips, the server at most MAX_BYTES of them (the oldest anywhere go first), and only
the small parts (segments, subtitles, thumbnails) stay in memory. A session whose clip was dropped
renders it again. Memory for clips is then what Streamlit holds while a page shows one: that
clip's bytes, once per session showing it.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

# Clips one session keeps (the one shown and the one before it).
PER_SESSION = 2
# Bytes of clips the whole server keeps on disk.
MAX_BYTES = 1 << 30


@dataclass(frozen=True)
class Stored:
    path: Path
    size: int
    extra: Any  # what the page needs besides the video file


class ClipStore:
    """Files keyed by (session, key); bounded per session and in total bytes; thread-safe."""

    def __init__(
        self, folder: Path | None = None, per_session: int = PER_SESSION, max_bytes: int = MAX_BYTES
    ) -> None:
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="im2txt-clips-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)  # when the server stops
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.per_session = per_session
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], Stored] = OrderedDict()  # oldest first
        self._lock = threading.Lock()
        self._count = 0

    def put(self, session: str, key: str, video: Path, extra: Any) -> Path:
        """Move the rendered file `video` into the store; returns where it now is."""
        with self._lock:
            self._count += 1
            path = self.folder / f"{self._count}.mp4"
            shutil.move(video, path)
            self._drop((session, key))
            self._entries[(session, key)] = Stored(path, path.stat().st_size, extra)
            mine = [k for k in self._entries if k[0] == session]
            for old in mine[: max(0, len(mine) - self.per_session)]:
                self._drop(old)
            while self.total_bytes > self.max_bytes and len(self._entries) > 1:
                self._drop(next(iter(self._entries)))
            return path

    def get(self, session: str, key: str) -> Stored | None:
        with self._lock:
            return self._entries.get((session, key))

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self._entries.values())

    def session_keys(self, session: str) -> list[str]:
        with self._lock:
            return [k for s, k in self._entries if s == session]

    def _drop(self, entry: tuple[str, str]) -> None:
        stored = self._entries.pop(entry, None)
        if stored is not None:
            stored.path.unlink(missing_ok=True)

    def drop_session(self, session: str) -> None:
        """Remove every clip of a session (one that has ended)."""
        with self._lock:
            for entry in [k for k in self._entries if k[0] == session]:
                self._drop(entry)


@st.cache_resource
def clip_store() -> ClipStore:
    """The server's one store of rendered clips (bounded per session and in all)."""
    return ClipStore()
