"""Getting the COCO model from the app: what its operator allows (read from the app's secrets or
the environment, never from a visitor), the offer shown while only the demo model is there (a
notice and the download button), and the fetch at start-up when the operator asks for it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import streamlit as st

from im2txt.errors import DownloadError, Im2txtError
from im2txt.storage import catalogue, install
from im2txt.storage.fetch import check_url, normalised_sha256, public_url
from ui.models import BY_HAND, coco_model_present

# What an operator sets: keys of the app's secrets, else environment variables.
SECRET_KEYS = (
    "model_url", "model_sha256", "model_fetch_on_start", "model_mirror", "model_visitor_download",
)  # fmt: skip
ENVIRONMENT_KEYS = tuple(f"IM2TXT_{key.upper()}" for key in SECRET_KEYS)
_YES = ("1", "true", "yes", "on")
_NO = ("", "0", "false", "no", "off")
# Hosts a browser uses for an app running on the same machine.
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

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


@dataclass(frozen=True)
class ModelSource:
    """What the server downloads when asked for the COCO model: a catalogue model (by default
    coco-2m, from where it is published or from a mirror), or the operator's own archive."""

    # A catalogue name; None when `url` is set.
    name: str | None = catalogue.DEFAULT_MODEL
    # An archive of the operator's own (model_url), with its expected SHA-256.
    url: str | None = None
    sha256: str | None = None
    # A folder (URL) holding the catalogue model's files under their published names.
    mirror: str | None = None
    # Fetch when the app starts without a COCO model, not only when someone presses the button
    # (for Streamlit Community Cloud, whose disk starts empty at every boot).
    fetch_on_start: bool = False
    # Whether visitors may start the download: None leaves it to where the app is reached from
    # (allowed on this machine, not on a public host; see visitors_may_download).
    visitors: bool | None = None

    @property
    def label(self) -> str:
        """What is downloaded, for people."""
        return public_url(self.url) if self.url else f"{self.name} from where it is published"

    @property
    def model(self) -> catalogue.NamedModel:
        """The entry to install: the named model (from `mirror` when set) or the archive."""
        if self.url:
            return catalogue.one_off(self.url, self.sha256)
        return catalogue.find_model(str(self.name), self.mirror)

    @property
    def size(self) -> int | None:
        """Bytes of the model's weights, when known (a catalogue model)."""
        return self.model.size or None


def configured_model_source(secrets: Mapping[str, object] | None = None) -> ModelSource:
    """What the operator configured (defaults: coco-2m from its publishers, visitors allowed only
    locally, nothing fetched at start-up); DownloadError naming a bad setting. Read from `secrets`
    (SECRET_KEYS; the app passes its st.secrets as a dict) when it holds any of them, else from the
    environment (ENVIRONMENT_KEYS): never mixed across the two."""
    if secrets and any(key in secrets for key in SECRET_KEYS):
        values = [secrets.get(key) for key in SECRET_KEYS]
    else:
        values = [os.environ.get(key) for key in ENVIRONMENT_KEYS]
    url, sha256, on_start, mirror, visitors = ("" if v is None else str(v).strip() for v in values)
    for given in (url, mirror):
        if given:
            check_url(given)
    sha256 = normalised_sha256(sha256) if sha256 else ""
    name = None if url else catalogue.DEFAULT_MODEL
    fetch_on_start = on_start.lower() in _YES
    if not fetch_on_start and on_start.lower() not in _NO:  # a catalogue name
        if url:
            raise DownloadError(
                f"model_fetch_on_start names {on_start!r} but model_url is set: use one of them"
            )
        name, fetch_on_start = catalogue.find_model(on_start).name, True
    if visitors.lower() not in ("", "auto", *_YES, *_NO):
        raise DownloadError(f"model_visitor_download must be true, false or auto, got {visitors!r}")
    allowed = None if visitors.lower() in ("", "auto") else visitors.lower() in _YES
    return ModelSource(name, url or None, sha256 or None, mirror or None, fetch_on_start, allowed)


def visitors_may_download(source: ModelSource, app_url: str | None) -> bool:
    """Whether a visitor who reached the app at `app_url` may start the download: as the operator
    set, else only on this machine (a browser at localhost), so that a public server's visitors
    cannot make it download 149 MB. A default, not a security boundary."""
    if source.visitors is not None:
        return source.visitors
    return urlsplit(app_url or "").hostname in _LOCAL_HOSTS


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
    """Unless a COCO model is there: say that the demo model knows only shapes (the one place a
    page says it) and offer the download, or say why this server does not; with `by_hand`, end
    with how to install it by hand unless a failed download just said so. After a download the
    page reruns, and the cached loader finds the new model where the download put it."""
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
    if note := st.session_state.pop(_NOTE, None):
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
            st.error(failure_message(e), icon=":material/error:")
            return False
        finally:
            bar.empty()
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
    """The configured model, fetched once per server; None when it is there, else the error line,
    remembered for RETRY_AFTER seconds (every page run asks) and then tried again: a source down
    at boot does not leave the server without its model until the next restart."""
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
    """Install `source`'s model; a sentence on what was installed, and on sources that failed."""
    done = install.install_model(source.model, progress=progress)
    origin = f" from {done.source.label}" if done.source.label else ""
    failed = "".join(f"  \nCould not use {line}" for line in done.failures)
    return f"Installed {done.model.name}{origin} in `{done.dest}`.{failed}"
