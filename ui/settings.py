"""What the operator of a hosted app configures: where the COCO model may be fetched from.

Read from the app's secrets (st.secrets, passed in as a dict) or the environment; never from a
visitor. No streamlit import here, so it is testable on its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from im2txt.storage.fetch import check_url, normalised_sha256

# What an operator sets: keys of the app's secrets, else environment variables.
SECRET_KEYS = ("model_url", "model_sha256", "model_fetch_on_start")


ENVIRONMENT_KEYS = ("IM2TXT_MODEL_URL", "IM2TXT_MODEL_SHA256", "IM2TXT_MODEL_FETCH_ON_START")


@dataclass(frozen=True)
class ModelSource:
    """Where the operator says the model can be downloaded from."""

    url: str
    # Expected SHA-256 of the archive, 64 lower-case hex digits, or None to skip the check.
    sha256: str | None = None
    # Fetch when the app starts without a COCO model, not only when someone presses the button
    # (for Streamlit Community Cloud, whose disk starts empty at every boot).
    fetch_on_start: bool = False


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
            check_url(url)
            sha256 = str(values.get(sha256_key) or "").strip()
            on_start = str(values.get(on_start_key) or "").strip().lower()
            return ModelSource(
                url,
                normalised_sha256(sha256) if sha256 else None,
                fetch_on_start=on_start in ("1", "true", "yes", "on"),
            )
    return None
