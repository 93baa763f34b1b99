"""Video page: caption sampled frames of a clip and watch it re-rendered with captions."""

import streamlit as st

import ui
from im2txt.video import DEFAULT_EVERY, MAX_DURATION

st.title("Caption a video")
settings = ui.decode_controls(max_length=False)
captioner = ui.get_captioner()
if captioner is None:
    st.stop()
ui.model_caption(captioner)

upload = st.file_uploader(
    f"A clip ({', '.join(ui.VIDEO_TYPES)}; up to {ui.upload_limit_mb()} MB and "
    f"{MAX_DURATION / 60:.0f} minutes)",
    type=ui.VIDEO_TYPES,
)
samples = ui.sample_files({f".{t}" for t in ui.VIDEO_TYPES})
sample = None
if samples and upload is None:
    sample = st.selectbox("Or use a sample clip", [None, *samples],
                          format_func=lambda p: "—" if p is None else p.name)  # fmt: skip
every = st.number_input("Caption one frame every … seconds", 0.2, 10.0, DEFAULT_EVERY, 0.5)

if upload is not None:
    name, data = upload.name, upload.getvalue()
elif sample is not None:
    name, data = sample.name, sample.read_bytes()
else:
    st.info("Upload a clip or pick the sample, then press **Caption video**.")
    st.stop()

key = ui.clip_key(data, every, settings.beam_size, captioner.info.source)
clip = ui.stored_clip(key)
if st.button("Caption video", type="primary"):
    clip = ui.caption_clip(name, data, every, settings.beam_size, captioner.info.source)
if clip is not None:
    ui.render_clip(clip)
