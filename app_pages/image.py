"""Image page: upload photos, see the top beam-search captions with their probabilities."""

import streamlit as st

import ui

st.title("Caption images")
settings = ui.decode_controls()
captioner = ui.get_captioner()
if captioner is None:
    st.stop()
ui.model_caption(captioner)

uploads = st.file_uploader(
    f"Photos ({', '.join(ui.IMAGE_TYPES)}; up to {ui.upload_limit_mb()} MB each)",
    type=ui.IMAGE_TYPES,
    accept_multiple_files=True,
)
samples = ui.sample_files({f".{t}" for t in ui.IMAGE_TYPES})
picked = st.pills("Or pick samples", samples, selection_mode="multi", format_func=lambda p: p.stem)
snapshot = st.camera_input("Take a photo") if st.toggle("Use the camera") else None

files = [(f.name, f.getvalue()) for f in uploads or []]
files += [(p.name, p.read_bytes()) for p in picked or []]
if snapshot is not None:
    files.append(("camera snapshot", snapshot.getvalue()))
if not files:
    st.info("Upload photos, pick a sample or take a snapshot to see their captions.")
    st.stop()

with st.spinner(f"Captioning {len(files)} image(s)…"):
    run = ui.caption_images(tuple(files), settings, captioner.info.source)
st.caption(
    f"Captioned {len(files)} image(s) in {run.seconds:.2f} s, beam size {settings.beam_size}."
)

for i, ((name, data), result) in enumerate(zip(files, run.results, strict=True)):
    with st.container(border=True, key=f"result-{i}"):
        if result.error:
            st.error(result.error)
            continue
        picture, captions = st.columns([1, 2])  # side by side on a laptop, stacked on a phone
        picture.image(data, caption=name, width="stretch")
        with captions:
            ui.render_captions(result, settings.shown)

left, right = st.columns(2)
left.download_button("Download JSON", ui.results_json(run.results), "captions.json",
                     "application/json", on_click="ignore", width="stretch")  # fmt: skip
right.download_button("Download CSV", ui.results_csv(run.results), "captions.csv",
                      "text/csv", on_click="ignore", width="stretch")  # fmt: skip
