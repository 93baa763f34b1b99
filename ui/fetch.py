"""Getting the COCO model from the app: the offer shown while only the demo model is there (a
notice and the download button), and the fetch at start-up when the operator asks for it."""

from __future__ import annotations

import threading
import time

import streamlit as st

from im2txt.errors import Im2txtError
from im2txt.storage import install
from ui.models import BY_HAND, coco_model_present
from ui.settings import ModelSource, configured_model_source, visitors_may_download

# One download at a time per server, whichever session asked.
_download_lock = threading.Lock()
# Seconds before a failed fetch at start-up is tried again, and the failures (time, error line)
# by source.
RETRY_AFTER = 300.0
_start_failures: dict[ModelSource, tuple[float, str]] = {}
# The session's note on the download it just made, shown once after the page reruns.
_NOTE = "coco-download-note"

DEMO_NOTICE = (
    "The demo model knows only coloured shapes on plain backgrounds: it cannot caption photos. "
    "Real captions need the COCO model."
)


def configured_source() -> ModelSource | None:
    """What the operator set in the app's secrets or environment (never a visitor)."""
    try:
        secrets = st.secrets.to_dict()
    except FileNotFoundError:  # no secrets.toml: StreamlitSecretNotFoundError
        secrets = {}
    try:
        return configured_model_source(secrets)
    except Im2txtError as e:
        st.error(f"The app's model download settings cannot be used: {e}")
        return None


def coco_offer(key: str, *, by_hand: bool = False) -> None:
    """Unless a COCO model is there: say plainly that the demo model knows only shapes (the one
    place a page says it), and offer the download (or say why this server does not); with
    `by_hand`, end with how to install it by hand, unless a failed download just said so. After a
    download, the page reruns and the cached loader loads the new model, found where the download
    put it."""
    installed_note()
    if coco_model_present():
        return
    st.warning(DEMO_NOTICE, icon=":material/info:")
    source = configured_source()
    failed = False
    if source is not None and not visitors_may_download(source, st.context.url):
        st.caption(
            "Downloading it from this page is not enabled on this server: its operator can "
            "allow it (`model_visitor_download`) or have it fetched at start-up "
            "(`model_fetch_on_start`); see the README, *Use the COCO model*."
        )
    elif source is not None:
        size = f" ({source.size / 1e6:.0f} MB)" if source.size else ""
        if st.button(f"Get the COCO model{size}", key=f"get-coco-{key}", type="primary"):
            if download_model(source):
                st.rerun()
            failed = True
    if by_hand and not failed:
        st.caption(f"When every source is down, {BY_HAND}")


def installed_note() -> None:
    """Once, after the rerun that follows a download: what was installed, and from where."""
    note = st.session_state.pop(_NOTE, None)
    if note:
        st.success(note, icon=":material/check_circle:")


def download_model(source: ModelSource) -> bool:
    """Fetch the operator's choice into the models folder with a progress bar; True once there.
    A failure is one message: each source's reason once, then what to do next."""
    bar = st.progress(0.0, text=f"Downloading {source.label}…")

    def progress(name: str, done: int, total: int | None) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        size = f"{done / 1e6:.0f} of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        bar.progress(fraction, text=f"Downloading the COCO model: {name}, {size}")

    with _download_lock:
        try:  # another session may have fetched it meanwhile
            note = None if coco_model_present() else _fetch(source, progress)
        except Im2txtError as e:
            bar.empty()
            st.error(failure_message(e), icon=":material/error:")
            return False
    bar.empty()
    if note:
        st.session_state[_NOTE] = note
    return True


def failure_message(error: Im2txtError) -> str:
    """A failed download for visitors: what failed (every source of a catalogue model, each
    reason once), then what to do next."""
    if isinstance(error, install.NoSourceWorked):
        reasons = "".join(f"\n- {line}" for line in error.failures)
        return (
            f"**The COCO model could not be downloaded**: no source of {error.model} could be "
            f"used.{reasons}\n\n"
            "What to do: try again later; or download it from a copy of its files (a folder "
            "holding them under their published names): `python -m im2txt download "
            f"{error.model} --mirror URL`, or the app's `model_mirror` setting; or {BY_HAND}"
        )
    return f"**The COCO model could not be downloaded**: {error}  \nWhat to do: {BY_HAND}"


def fetch_configured_model_on_start() -> None:
    """With model_fetch_on_start set (Streamlit Community Cloud, whose disk starts empty), the
    first start fetches the model itself instead of waiting for the button."""
    source = configured_source()
    if source is None or not source.fetch_on_start or coco_model_present():
        return
    problem = _fetch_on_start(source)
    if problem:
        st.warning(
            f"The COCO model could not be fetched at start-up: {problem} "
            f"(tried again after {RETRY_AFTER / 60:.0f} minutes)"
        )


def _fetch_on_start(source: ModelSource) -> str | None:
    """Once per server while it works: the configured model, fetched; None when it is there, else
    the error line. A failure is remembered for RETRY_AFTER seconds (every page run asks), then
    tried again: a source that was down at boot does not leave the server without its model
    until the next restart."""
    with _download_lock:
        if coco_model_present():
            return None
        failed = _start_failures.get(source)
        if failed is not None and time.monotonic() - failed[0] < RETRY_AFTER:
            return failed[1]
        try:
            with st.spinner("Fetching the COCO model configured for this app…"):
                _fetch(source, None)
        except Im2txtError as e:
            _start_failures[source] = (time.monotonic(), str(e))
            return str(e)
        _start_failures.pop(source, None)
    return None


def _fetch(source: ModelSource, progress) -> str:
    """Install what `source` says; one sentence on what was installed (and the sources that
    failed before the one used)."""
    model = source.model
    done = install.install_model(model, progress=progress)
    origin = f" from {done.source.label}" if done.source.label else ""
    failed = "".join(f"  \nCould not use {line}" for line in done.failures)
    return f"Installed {model.name}{origin} in `{done.dest}`.{failed}"
