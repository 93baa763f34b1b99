"""Image page: upload photos, see the top beam-search captions with their probabilities."""

import streamlit as st

from ui import controls, fetch, images, models

st.title("Caption images")
decode_settings = controls.decode_controls()
charts = st.sidebar.toggle("Bar charts", key="charts", help="A chart of each image's captions.")
captioner = models.get_captioner()
if captioner is None:
    st.stop()
models.model_caption(captioner)
# Once, at the top: what the demo model cannot do, with the offer of the COCO model.
fetch.coco_offer("image")

uploads = st.file_uploader(
    f"Photos ({', '.join(controls.COMMON_IMAGE_TYPES)} and more; "
    f"up to {controls.upload_limit_mb()} MB each)",
    type=None,  # any file: one that is not read gets a line saying what to do
    accept_multiple_files=True,
    help=f"Read: {', '.join(controls.IMAGE_TYPES)}.",
)
samples = controls.sample_files({f".{t}" for t in controls.IMAGE_TYPES})
picked = st.pills("Or pick samples", samples, selection_mode="multi", format_func=lambda p: p.stem)
snapshot = st.camera_input("Take a photo") if st.toggle("Use the camera") else None

files = [(f.name, f.getvalue()) for f in uploads or []]
files += [(p.name, p.read_bytes()) for p in picked or []]
if snapshot is not None:
    files.append(("camera snapshot", snapshot.getvalue()))
if not files:
    st.info("Upload photos, pick a sample or take a snapshot to see their captions.")
    st.stop()

# The request's place in the server's queue and its progress are shown while it waits.
run = images.caption_images(tuple(files), decode_settings.decode, captioner.info.source)
if run.error:
    st.error(run.error)
    st.stop()
st.caption(images.summary(run, decode_settings.decode.beam_size))
images.render_results(run, decode_settings.captions_shown, charts=charts)

left, right = st.columns(2)
left.download_button("Download JSON", images.results_json(run.results), "captions.json",
                     "application/json", on_click="ignore", width="stretch")  # fmt: skip
right.download_button("Download CSV", images.results_csv(run.results), "captions.csv",
                      "text/csv", on_click="ignore", width="stretch")  # fmt: skip
