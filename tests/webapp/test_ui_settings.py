"""The operator's settings (ui/settings.py): where a hosted app may fetch the COCO model from."""

from __future__ import annotations

import pytest

from im2txt.errors import DownloadError
from ui.settings import ModelSource, configured_model_source


def test_configured_model_source(monkeypatch):
    for name in ("IM2TXT_MODEL_URL", "IM2TXT_MODEL_SHA256", "IM2TXT_MODEL_FETCH_ON_START"):
        monkeypatch.delenv(name, raising=False)
    assert configured_model_source() is None
    assert configured_model_source({"model_url": "  "}) is None
    assert configured_model_source({"other": "x"}) is None

    monkeypatch.setenv("IM2TXT_MODEL_URL", "https://example.org/env.tgz")
    assert configured_model_source(None) == ModelSource("https://example.org/env.tgz")
    monkeypatch.setenv("IM2TXT_MODEL_SHA256", "AB" * 32)
    assert configured_model_source({}) == ModelSource("https://example.org/env.tgz", "ab" * 32)

    # Secrets win, and the checksum comes from the same place as the URL.
    secrets = {"model_url": "https://example.org/secret.tgz"}
    assert configured_model_source(secrets) == ModelSource("https://example.org/secret.tgz")
    secrets["model_sha256"] = "cd" * 32
    assert configured_model_source(secrets).sha256 == "cd" * 32

    # Fetching at start-up is asked for explicitly (a TOML true, or "1"/"true"/"yes"/"on").
    assert not configured_model_source(secrets).fetch_on_start
    assert configured_model_source({**secrets, "model_fetch_on_start": True}).fetch_on_start
    monkeypatch.setenv("IM2TXT_MODEL_FETCH_ON_START", "1")
    assert configured_model_source(None).fetch_on_start
    assert not configured_model_source(secrets).fetch_on_start  # not mixed across places

    with pytest.raises(DownloadError, match=r"only http:// and https://"):
        configured_model_source({"model_url": "file:///etc/passwd"})
    with pytest.raises(DownloadError, match=r"SHA-256 must be 64 hexadecimal digits"):
        configured_model_source({"model_url": "https://example.org/m.tgz", "model_sha256": "x"})
