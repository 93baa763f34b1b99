"""The work queue's value types: QueueSettings, Status and the errors a request can end in.

They live below the queue (this module imports nothing of the package but errors), so that front
ends (the pages' glue, the HTTP service) and the queue itself share them without importing upward.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from im2txt.errors import Im2txtError


class QueueFull(Im2txtError):
    """A request came when the queue already held queue_length waiting requests."""

    def __init__(self, ahead: int, seconds: float | None = None) -> None:
        self.ahead = ahead
        # Estimated seconds until the work ahead has started (None: unknown).
        self.seconds = seconds
        super().__init__(
            f"The server is busy: {ahead} request(s) are waiting ahead of yours. "
            "Try again in a minute."
        )


class TooLarge(Im2txtError):
    """A job whose estimated peak memory exceeds what the server may use at all."""


class Cancelled(Im2txtError):
    """The job was cancelled (by its owner, or because its owner went away)."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class QueueSettings:
    """What the operator sets (secrets or environment: see configured)."""

    # The whole server's memory target in MB: the model, the lane and every job's estimated
    # peak. With the COCO model (~1,140 MB loaded and warm, 200 MB for the lane) 2000 admits one
    # clip at a time up to 1080p (585 MB) and keeps a Community Cloud app (restarted past ~2.7 GB)
    # near 2.0 GB.
    memory_budget_mb: int = 2000
    # Video jobs run at once (each has ffmpeg decoding and encoding beside it).
    video_jobs: int = 2
    # Requests (photo requests and video jobs) that may wait; one more is refused (QueueFull).
    queue_length: int = 32
    # Seconds the first waiting photo request waits for others to join its batch.
    batch_window: float = 0.03
    # Images in one photo batch at most.
    max_batch_images: int = 16
    # Seconds an owner may be gone (a closed tab) before its jobs are cancelled.
    abandoned_after: float = 45.0

    def __post_init__(self) -> None:
        for name in ("memory_budget_mb", "video_jobs", "queue_length", "max_batch_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_window < 0 or self.abandoned_after < 0:
            raise ValueError("batch_window and abandoned_after must not be negative")

    @classmethod
    def configured(cls, secrets: Mapping[str, object] | None = None) -> QueueSettings:
        """The operator's settings: from `secrets` (keys memory_budget_mb, video_jobs,
        queue_length) where it has any of them, else from the environment (IM2TXT_MEMORY_BUDGET_MB,
        IM2TXT_VIDEO_JOBS, IM2TXT_QUEUE_LENGTH); defaults for the rest. ValueError naming a bad
        setting."""
        keys = ("memory_budget_mb", "video_jobs", "queue_length")
        secrets = secrets or {}
        if any(key in secrets for key in keys):
            given = {key: secrets.get(key) for key in keys}
        else:
            given = {key: os.environ.get(f"IM2TXT_{key.upper()}") for key in keys}
        values: dict[str, Any] = {}
        for key, value in given.items():
            if value is None or str(value).strip() == "":
                continue
            try:
                values[key] = int(str(value).strip())
            except ValueError:
                raise ValueError(f"{key} must be a whole number, got {value!r}") from None
        return cls(**values)


@dataclass(frozen=True)
class Status:
    """Where a request stands, for the person waiting on it."""

    # "waiting", "running", "done", "failed" or "cancelled".
    state: str
    # Requests of its kind ahead of it (0 once it runs).
    ahead: int = 0
    # Estimated seconds until it starts (waiting) or ends (running); None when unknown.
    eta: float | None = None
    # The job's last progress report: (stage, done, total), e.g. ("rendering", 300, 900).
    progress: tuple[str, int, int] | None = None
    # Seconds since it was submitted.
    elapsed: float = 0.0
