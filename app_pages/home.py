"""Home: what the project is and which models are on disk."""

import streamlit as st

from im2txt.storage import discovery
from ui import fetch, models

st.title("im2txt: Show and Tell image captioning")
st.markdown(
    "Google's **im2txt** captioner (Vinyals et al., *Show and Tell*, 2015-2016) in TensorFlow 2: "
    "an Inception v3 image encoder feeding an LSTM that writes the caption word by word, "
    "decoded with beam search exactly like the original. "
    "Use the **Image** page for photos and the **Video** page for clips."
)

st.subheader("Models found")
fetch.installed_note()
root = discovery.model_root()
found = discovery.find_models(root)
if not found:
    st.warning(f"No model in `{models.public_text(str(root))}`. {models.COCO_HELP}")
in_use = next((m for m in found if m.usable), None)
for model in found:
    mark = " — **in use**" if model is in_use else ""
    line = f"- {model.label} in `{models.public_text(str(model.path))}`{mark}"
    if model.problem:
        line += f"  \n  ⚠️ cannot be used: {models.public_text(model.problem)}"
    st.markdown(line)

if not models.coco_model_present():
    st.subheader("Get the COCO model")
    fetch.coco_offer("home", by_hand=True)
