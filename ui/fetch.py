"""Getting the COCO model from the URL the operator configured: the Home page button, and once
at start-up when the operator asks for it (Streamlit Community Cloud)."""

from __future__ import annotations

import threading

import streamlit as st

from im2txt.errors import Im2txtError
from im2txt.storage import download
from ui.models import coco_model_present
from ui.settings import ModelSource, configured_model_source

# One download at a time per server, whichever session asked.
_download_lock = threading.Lock()


def configured_source() -> ModelSource | None:
    """The model URL the operator set in the app's secrets or environment (never a visitor)."""
    try:
        secrets = st.secrets.to_dict()
    except FileNotFoundError:  # no secrets.toml: StreamlitSecretNotFoundError
        secrets = {}
    try:
        return configured_model_source(secrets)
    except Im2txtError as e:
        st.error(f"The configured model URL cannot be used: {e}")
        return None


def download_configured_model(source: ModelSource) -> bool:
    """Fetch the operator's model into the models folder with a progress bar; True once there."""
    bar = st.progress(0.0, text=f"Downloading {download.shown_url(source.url)}…")

    def progress(done: int, total: int | None) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        size = f"{done / 1e6:.0f} of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        bar.progress(fraction, text=f"Downloading the COCO model: {size}")

    with _download_lock:
        if coco_model_present():  # another session fetched it meanwhile
            bar.empty()
            return True
        try:
            download.download_model(source.url, sha256=source.sha256, progress=progress)
        except Im2txtError as e:
            bar.empty()
            st.error(str(e))
            return False
    bar.empty()
    return True


@st.cache_resource(show_spinner="Fetching the COCO model configured for this app…")
def _fetch_on_start(url: str, sha256: str | None) -> str | None:
    """Once per server: the configured model, fetched; an error line, or None when it worked."""
    with _download_lock:
        if coco_model_present():
            return None
        try:
            download.download_model(url, sha256=sha256)
        except Im2txtError as e:
            return str(e)
    return None


def fetch_configured_model_on_start() -> None:
    """With model_fetch_on_start set (Streamlit Community Cloud, whose disk starts empty), the
    first start fetches the configured model itself instead of waiting for the button."""
    source = configured_source()
    if source is None or not source.fetch_on_start or coco_model_present():
        return
    problem = _fetch_on_start(source.url, source.sha256)
    if problem:
        st.warning(f"The COCO model could not be fetched at start-up: {problem}")
