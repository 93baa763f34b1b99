"""CaptionService: one model and its WorkQueue behind the HTTP API, with readiness and metadata.

Every request's images go through the queue of the visitors' app (im2txt.work_queue): requests
that arrive together are captioned in one encoder batch and one beam search, and the queue's
memory admission and length bound the server. The service knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import math
import threading
from contextlib import suppress
from pathlib import Path

from im2txt.captioner import Captioner, load_captioner
from im2txt.config import DecodeConfig
from im2txt.errors import Im2txtError
from im2txt.queue_values import QueueFull, QueueSettings
from im2txt.results import CaptionBatch
from im2txt.serve.settings import ServeSettings
from im2txt.storage.install import install_record
from im2txt.work_queue import WorkQueue

# Seconds a client is told to wait when there is no estimate (the model loading, a restart).
RETRY_SECONDS = 5
# What MAX's metadata calls this kind of model.
MODEL_TYPE = "Image-to-Text Translation"


class NotReady(Im2txtError):
    """The model is still loading, or could not be loaded."""


class CaptionService:
    """The model (loaded by start, in a thread of its own) and the queue its requests share."""

    def __init__(
        self,
        settings: ServeSettings,
        *,
        captioner: Captioner | None = None,
        queue_settings: QueueSettings | None = None,
    ) -> None:
        self.settings = settings
        self._captioner = captioner
        self._queue_settings = queue_settings
        self._queue: WorkQueue | None = None
        self._metadata: dict[str, str] = {}
        self._problem: str | None = None
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Load the model (unless one was given), trace it, and start the queue. Blocks; a
        model that cannot be loaded makes every request a 503 naming the problem."""
        with self._lock:
            if self._started:
                return
            self._started = True
        try:
            captioner = self._captioner or load_captioner(self.settings.model)
            captioner.warm_up()
            self._metadata = model_metadata(captioner)
            self._queue = WorkQueue(captioner, self._queue_settings or QueueSettings.configured())
        except Im2txtError as e:
            self._problem = f"the model could not be loaded: {e}"
            raise

    def start_in_background(self) -> None:
        threading.Thread(target=self._start_quietly, name="im2txt-load", daemon=True).start()

    def _start_quietly(self) -> None:
        with suppress(Im2txtError):  # kept in self._problem: every request says it
            self.start()

    @property
    def ready(self) -> bool:
        """Loaded, traced and taking requests."""
        return self._queue is not None

    @property
    def problem(self) -> str | None:
        """Why it is not ready: loading, or the model's error; None once ready."""
        if self.ready:
            return None
        return self._problem or "the model is loading"

    def metadata(self) -> dict[str, str]:
        self._check_ready()
        return dict(self._metadata)

    async def caption(
        self, images: list[tuple[str, bytes]], *, decode: DecodeConfig | None = None
    ) -> CaptionBatch:
        """Caption (name, bytes) pairs through the queue, batched with other requests; one
        result per image in order, a bad image an error entry. Raises NotReady, QueueFull
        (see retry_after). A request whose client goes away is cancelled in the queue."""
        queue = self._check_ready()
        ticket = queue.submit_photos(
            [data for _, data in images], names=[name for name, _ in images], decode=decode
        )
        loop = asyncio.get_running_loop()
        finished = loop.create_future()

        def finish() -> None:
            if not finished.done():
                finished.set_result(None)

        def wake(_) -> None:
            loop.call_soon_threadsafe(finish)

        ticket.when_done(wake)
        try:
            await finished
        except asyncio.CancelledError:
            ticket.cancel()
            raise
        finally:
            queue.forget(ticket)
        return ticket.result()

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()

    def _check_ready(self) -> WorkQueue:
        if self._queue is None:
            raise NotReady(self.problem or "the model is loading")
        return self._queue


def retry_after(full: QueueFull | None = None) -> int:
    """Whole seconds a refused client should wait before trying again: the full queue's own
    estimate, else RETRY_SECONDS."""
    if full is None or full.seconds is None:
        return RETRY_SECONDS
    return max(1, math.ceil(full.seconds))


def model_metadata(captioner: Captioner) -> dict[str, str]:
    """MAX's /model/metadata for the model actually loaded: its name and description, where it
    came from and its licence (from the record `download` keeps beside an installed model)."""
    info = captioner.info
    folder = Path(info.source) if info.source else None
    if folder is not None and not folder.is_dir():
        folder = folder.parent  # a checkpoint prefix: the record sits beside its files
    record = (install_record(folder) if folder is not None else None) or {}
    if info.kind == "demo":
        licence, model_id = "MIT (this project's own model)", "im2txt-demo"
    else:
        licence = record.get("licence") or "unknown: not installed by `im2txt download`"
        model_id = f"im2txt-{record.get('model') or info.kind}"
    return {
        "id": model_id,
        "name": info.name,
        "description": info.description or record.get("description") or info.name,
        "type": MODEL_TYPE,
        "source": record.get("source") or info.origin,
        "license": licence,
    }
