"""Video page: caption sampled frames of a clip and watch it re-rendered with captions."""

import streamlit as st

from im2txt.video import DEFAULT_EVERY, MAX_DURATION, ShotConfig, VideoConfig
from ui import clips, controls, fetch, models

st.title("Caption a video")
decode_settings = controls.decode_controls(max_length=False, length_normalization=False)
captioner = models.get_captioner()
if captioner is None:
    st.stop()
models.model_caption(captioner)
# Once, at the top: what the demo model cannot do, with the offer of the COCO model.
fetch.coco_offer("video")

# Any file is taken (ffmpeg reads by content): the uploader's own refusal of other names was a
# hover on the file's chip; a file that is not a clip gets a line from probe, naming it.
upload = st.file_uploader(
    f"A clip ({', '.join(controls.VIDEO_TYPES)}; up to {controls.upload_limit_mb()} MB and "
    f"{MAX_DURATION / 60:.0f} minutes)"
)
samples = controls.sample_files({f".{t}" for t in controls.VIDEO_TYPES})
sample = None
if samples and upload is None:
    sample = st.selectbox("Or use a sample clip", [None, *samples],
                          format_func=lambda p: "—" if p is None else p.name)  # fmt: skip
sampling = st.radio("Caption", clips.SAMPLING, horizontal=True)
shots = ShotConfig() if sampling == clips.SAMPLING[1] else None
every = st.number_input("Caption one frame every … seconds", 0.2, 10.0, DEFAULT_EVERY, 0.5,
                        help="At each shot change: within each shot, from its cut.")  # fmt: skip

data: bytes | memoryview | None
if upload is not None:
    name, data = upload.name, upload.getbuffer()  # a view: no second copy of a 200 MB upload
elif sample is not None:
    name, data = sample.name, sample.read_bytes()
else:
    name, data = None, None

model = captioner.info.source
settings = VideoConfig(every=every, decode=decode_settings.decode, shots=shots)
key = clips.clip_key(data, settings, model) if data is not None else None
if name is not None and data is not None and st.button("Caption video", type="primary"):
    clips.start_clip(name, data, settings, model)
# The session's job runs on the server: a rerun or another page and back shows it again.
clip = clips.follow_clip(key, model)
if clip is not None:
    clips.render_clip(clip)
elif data is None:
    st.info("Upload a clip or pick the sample, then press **Caption video**.")
