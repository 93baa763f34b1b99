"""What the operator of a hosted app configures: which COCO model the server may fetch, from where,
and whether visitors may start that download.

Read from the app's secrets (st.secrets, passed in as a dict) or the environment; never from a
visitor. No streamlit import here, so it is testable on its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from im2txt.errors import DownloadError
from im2txt.storage import catalogue
from im2txt.storage.fetch import check_url, normalised_sha256, public_url

# What an operator sets: keys of the app's secrets, else environment variables.
SECRET_KEYS = (
    "model_url",
    "model_sha256",
    "model_fetch_on_start",
    "model_mirror",
    "model_visitor_download",
)
ENVIRONMENT_KEYS = tuple(f"IM2TXT_{key.upper()}" for key in SECRET_KEYS)
_YES = ("1", "true", "yes", "on")
_NO = ("", "0", "false", "no", "off")
# Hosts a browser uses for an app running on the same machine.
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


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
        """The catalogue entry to install: the named model (its files from `mirror` when set),
        or a one-off entry for the operator's archive."""
        if self.url:
            return catalogue.one_off(self.url, self.sha256)
        return catalogue.find_model(str(self.name), self.mirror)

    @property
    def size(self) -> int | None:
        """Bytes of the model's weights, when known (a catalogue model)."""
        return self.model.size or None


def configured_model_source(secrets: Mapping[str, object] | None = None) -> ModelSource:
    """What the operator configured (defaults: coco-2m from its publishers, visitors allowed only
    locally, nothing fetched at start-up); DownloadError naming a bad setting.

    Read from `secrets` (the keys of SECRET_KEYS: the app passes its st.secrets as a dict) when it
    holds any of them, else from the environment (ENVIRONMENT_KEYS); settings are never mixed
    across the two. Only the operator can set these: a visitor cannot choose what the server
    fetches.
    """
    secrets = secrets or {}
    if any(key in secrets for key in SECRET_KEYS):
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
    """Whether a visitor who reached the app at `app_url` may start the download. Unless the
    operator decided, only on this machine (a browser at localhost): a public server's visitors
    cannot make it download 149 MB. Not a security boundary, a default: the operator's setting,
    and the fixed list of what can be fetched, are what visitors cannot change."""
    if source.visitors is not None:
        return source.visitors
    return urlsplit(app_url or "").hostname in _LOCAL_HOSTS
