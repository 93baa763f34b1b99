"""Streamlit glue shared by the pages: the one cached model loader and the model sidebar.

The only module that imports both streamlit and im2txt; pages call into it and into im2txt.
"""

from __future__ import annotations

import os

import streamlit as st

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from im2txt import discovery
from im2txt.captioner import Captioner, load_captioner
from im2txt.config import DecodeConfig
from im2txt.errors import Im2txtError

DEFAULTS = DecodeConfig()
COCO_HELP = (
    "To caption real photos, put an original im2txt COCO checkpoint "
    "(`model.ckpt-2000000.index`, `.data-00000-of-00001` and `word_counts.txt`) in `model/coco/` "
    "and restart: see the README, *Use the COCO model*."
)


@st.cache_resource(show_spinner="Loading the captioning model…")
def _load(path: str | None) -> Captioner:
    captioner = load_captioner(path)
    captioner.warm_up()
    return captioner


def get_captioner() -> Captioner | None:
    """The default model, loaded once per server process and shared by all sessions.

    Shows one error line and returns None if no model can be loaded.
    """
    try:
        return _load(None)
    except Im2txtError as e:
        st.error(f"No model could be loaded: {e}")
        return None


def model_sidebar() -> None:
    """Which model the app uses, without loading it (the pages load it when they need it)."""
    with st.sidebar:
        st.subheader("Model")
        try:
            found = discovery.default_model()
        except Im2txtError as e:
            st.error(str(e))
            return
        st.markdown(f"**{found.label}**  \n`{_relative(found.path)}`")
        if found.kind == "demo":
            st.info("The demo model knows only generated shapes, not photos. " + COCO_HELP)


def _relative(path) -> str:
    try:
        return str(path.resolve().relative_to(os.getcwd()))
    except ValueError:
        return str(path)
