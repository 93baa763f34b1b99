"""ServeSettings: what the operator of `im2txt serve` sets, passed whole to the service and app."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

MB = 2**20


@dataclass(frozen=True)
class ServeSettings:
    # The model to load (a checkpoint folder or prefix, or a bundle); None: the default model.
    model: str | None = None
    host: str = "127.0.0.1"
    # MAX's port.
    port: int = 5000
    # When set, every API request needs `Authorization: Bearer <token>` (/health and /ready do not).
    token: str | None = None
    # Origins a browser may call the API from (CORS); none by default.
    cors_origins: tuple[str, ...] = ()
    # The largest request body accepted; a larger one gets 413.
    max_upload_mb: int = 50
    # Images in one request to the native endpoint at most.
    max_images: int = 32

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, got {self.port}")
        if self.max_upload_mb < 1 or self.max_images < 1:
            raise ValueError("max_upload_mb and max_images must be at least 1")
        if self.token is not None and not self.token.strip():
            raise ValueError("the token must not be empty")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * MB

    def to_json(self) -> str:
        """For the processes of `--workers N`, which read it back with from_json."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        values = json.loads(text)
        values["cors_origins"] = tuple(values.get("cors_origins", ()))
        return cls(**values)
