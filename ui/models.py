"""The model the app uses: the one cached loader, the sidebar that names it, the COCO notice."""

from __future__ import annotations

import os

import streamlit as st

from im2txt.captioner import Captioner, load_captioner
from im2txt.errors import Im2txtError
from im2txt.storage import discovery

BY_HAND = (
    "put an original im2txt COCO checkpoint (`model.ckpt-2000000.index`, "
    "`.data-00000-of-00001` and `word_counts.txt`) in `model/coco/` by hand: see the README, "
    "*Use the COCO model*."
)
COCO_HELP = (
    "To caption real photos, get the COCO model (the Home page's button, or "
    f"`python -m im2txt download coco-2m`), or {BY_HAND}"
)


@st.cache_resource(show_spinner="Loading the captioning model…", max_entries=2)
def load_model(path: str) -> Captioner:
    """One Captioner per model path for the whole server: every page and session shares it
    (it is thread-safe and never mutated). A new model in model/ has a new path: a new entry."""
    captioner = load_captioner(path)
    captioner.warm_up()
    return captioner


def get_captioner() -> Captioner | None:
    """The default model (see discovery). Shows one error line and returns None if none loads."""
    try:
        return load_model(str(discovery.default_model().path))
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


def model_caption(captioner: Captioner) -> None:
    info = captioner.info
    which = " — the COCO model" if info.kind == "coco" else " — the demo model"
    st.caption(
        f"Model: **{info.name}**{which} · {info.vocab_size:,} words · {info.parameters:,} weights"
    )


def coco_model_present() -> bool:
    return any(m.usable and m.kind == "coco" for m in discovery.find_models())


def _relative(path) -> str:
    try:
        return str(path.resolve().relative_to(os.getcwd()))
    except ValueError:
        return str(path)
