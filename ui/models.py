"""The model the app uses: the one cached loader, the sidebar that names it, the COCO help."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from im2txt.captioner import Captioner, load_captioner
from im2txt.errors import Im2txtError
from im2txt.storage import discovery, locations

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
    """The default model (see discovery). Shows one error line and returns None if none loads;
    says in one short line why a model that comes first (an incomplete coco/) is not used."""
    try:
        skipped = discovery.skipped_models()
        captioner = load_model(str(discovery.default_model().path))
    except Im2txtError as e:
        st.error(f"No model could be loaded: {public_text(str(e))}")
        return None
    for model in skipped:
        st.warning(f"Not using {model.label}: {public_text(model.problem or '')}", icon="⚠️")
    return captioner


def model_sidebar() -> None:
    """Which model the app uses, without loading it (the pages load it when they need it)."""
    with st.sidebar:
        st.subheader("Model")
        try:
            found = discovery.default_model()
        except Im2txtError as e:
            st.error(public_text(str(e)))
            return
        # Only its name: what the demo model cannot do is said once, on the page, with the offer
        # of the COCO model (a phone shows no sidebar until it is opened).
        st.markdown(f"**{found.label}**  \n`{public_text(str(found.path))}`")


def model_caption(captioner: Captioner) -> None:
    info = captioner.info
    which = " — the COCO model" if info.kind == "coco" else " — the demo model"
    st.caption(
        f"Model: **{info.name}**{which} · {info.vocab_size:,} words · {info.parameters:,} weights"
    )


def coco_model_present() -> bool:
    return any(m.usable and m.kind == "coco" for m in discovery.find_models())


def public_text(text: str) -> str:
    """Text for visitors with the server's folders left out: the models folder is called by its
    name, the app's folder and the installed package are left out of paths."""
    for folder, name in (
        (discovery.model_root(), discovery.model_root().name),
        (locations.SHIPPED_DEMO.parent.parent, "im2txt"),
        (Path(os.getcwd()), ""),
    ):
        text = text.replace(str(folder) + os.sep, f"{name}/" if name else "")
        text = text.replace(str(folder), name or ".")
    return text
