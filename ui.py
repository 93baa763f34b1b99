"""Streamlit glue shared by the pages: the one cached model loader, shared widgets and renderers.

The only module that imports both streamlit and im2txt; pages call into it and into im2txt.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from im2txt import discovery, download
from im2txt.captioner import Caption, Captioner, ImageCaptions, load_captioner
from im2txt.cli import IMAGE_SUFFIXES
from im2txt.config import DecodeConfig
from im2txt.errors import Im2txtError
from im2txt.video import Segment, make_captioned_video

DEFAULTS = DecodeConfig()
SAMPLES = Path(__file__).resolve().parent / "sample_images"
IMAGE_TYPES = sorted(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES)
VIDEO_TYPES = ["mp4", "mov", "avi", "mkv", "webm"]
COCO_HELP = (
    "To caption real photos, put an original im2txt COCO checkpoint "
    "(`model.ckpt-2000000.index`, `.data-00000-of-00001` and `word_counts.txt`) in `model/coco/` "
    "and restart: see the README, *Use the COCO model*."
)


# --- the model -----------------------------------------------------------------------------------


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
    st.caption(f"Model: **{info.name}** · {info.vocab_size:,} words · {info.parameters:,} weights")


# --- getting the COCO model ---------------------------------------------------------------------

# One download at a time per server, whichever session asked.
_download_lock = threading.Lock()


def configured_source() -> download.ModelSource | None:
    """The model URL the operator set in the app's secrets or environment (never a visitor)."""
    try:
        secrets = st.secrets.to_dict()
    except FileNotFoundError:  # no secrets.toml: StreamlitSecretNotFoundError
        secrets = {}
    try:
        return download.configured_model_source(secrets)
    except Im2txtError as e:
        st.error(f"The configured model URL cannot be used: {e}")
        return None


def coco_model_present() -> bool:
    return any(m.usable and m.kind == "coco" for m in discovery.find_models())


def download_configured_model(source: download.ModelSource) -> bool:
    """Fetch the operator's model into model/coco with a progress bar; True once it is there."""
    bar = st.progress(0.0, text=f"Downloading {download.shown_url(source.url)}…")

    def progress(done: int, total: int | None) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        size = f"{done / 1e6:.0f} of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        bar.progress(fraction, text=f"Downloading the COCO model: {size}")

    with _download_lock:
        if coco_model_present():  # another session fetched it meanwhile
            bar.empty()
            return True
        try:
            download.download_model(source.url, sha256=source.sha256, progress=progress)
        except Im2txtError as e:
            bar.empty()
            st.error(str(e))
            return False
    bar.empty()
    return True


@st.cache_resource(show_spinner="Fetching the COCO model configured for this app…")
def _fetch_on_start(url: str, sha256: str | None) -> str | None:
    """Once per server: the configured model, fetched; an error line, or None when it worked."""
    with _download_lock:
        if coco_model_present():
            return None
        try:
            download.download_model(url, sha256=sha256)
        except Im2txtError as e:
            return str(e)
    return None


def fetch_configured_model_on_start() -> None:
    """With model_fetch_on_start set (Streamlit Community Cloud, whose disk starts empty), the
    first start fetches the configured model itself instead of waiting for the button."""
    source = configured_source()
    if source is None or not source.fetch_on_start or coco_model_present():
        return
    problem = _fetch_on_start(source.url, source.sha256)
    if problem:
        st.warning(f"The COCO model could not be fetched at start-up: {problem}")


# --- shared widgets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodeSettings:
    beam_size: int
    max_length: int
    length_normalization: float
    shown: int


def decode_controls(max_length: bool = True) -> DecodeSettings:
    """Beam-search settings in the sidebar, defaulting to the engine's (DecodeConfig)."""
    with st.sidebar:
        st.subheader("Captioning")
        beam_size = st.slider(
            "Beam size", 1, 10, DEFAULTS.beam_size, key="beam_size",
            help="Captions kept at each step of the search (the original used 3).",
        )  # fmt: skip
        shown = st.slider("Captions to show", 1, beam_size, beam_size, key="shown")
        length = DEFAULTS.max_caption_length
        normalization = DEFAULTS.length_normalization_factor
        if max_length:
            length = st.slider("Maximum caption length", 2, 40, length, key="max_length",
                               help="In tokens, counting the start and end markers.")  # fmt: skip
            normalization = st.slider(
                "Length normalization", 0.0, 2.0, normalization, 0.1, key="length_normalization",
                help="0 ranks captions by probability (favours short ones); higher values "
                "divide the log-probability by length ** value.",
            )  # fmt: skip
    return DecodeSettings(beam_size, length, normalization, shown)


def upload_limit_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def sample_files(suffixes: set[str]) -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in suffixes)


# --- images --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptionRun:
    results: tuple[ImageCaptions, ...]
    seconds: float


@st.cache_data(show_spinner=False, max_entries=32)
def caption_images(
    files: tuple[tuple[str, bytes], ...], settings: DecodeSettings, model_path: str
) -> CaptionRun:
    """Caption uploaded files in one batched call; cached per file contents, settings and model."""
    captioner = load_model(model_path)
    started = time.perf_counter()
    results = captioner.caption_each(
        [data for _, data in files],
        names=[name for name, _ in files],
        beam_size=settings.beam_size,
        max_length=settings.max_length,
        length_normalization=settings.length_normalization,
    )
    return CaptionRun(tuple(results), time.perf_counter() - started)


def word_colour(probability: float) -> str:
    if probability >= 0.5:
        return "green"
    if probability >= 0.15:
        return "orange"
    return "red"


def render_words(caption: Caption) -> None:
    """The caption word by word, coloured by each word's probability."""
    words = [
        f":{word_colour(p)}-background[{_escape(word)}&nbsp;{p:.0%}]"
        for word, p in zip(caption.words, caption.word_probabilities, strict=True)
    ]
    st.markdown(" ".join(words) or "*(empty caption)*")


def render_captions(result: ImageCaptions, shown: int) -> None:
    """Top captions of one image: the best word by word, a table and a bar chart."""
    captions = result.captions[:shown]
    st.markdown(f"**{_escape(captions[0].text) or '(empty caption)'}**")
    render_words(captions[0])
    # Probability first: on a phone the table is narrow, and the caption is the column that wraps.
    rows = [{"probability": 100 * c.probability, "caption": c.text} for c in captions]
    top = max(row["probability"] for row in rows) or 1.0
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "probability": st.column_config.ProgressColumn(
                "Probability", format="%.4f%%", min_value=0.0, max_value=top, width="small"
            ),
            "caption": st.column_config.TextColumn("Caption"),
        },
    )
    with st.expander("Chart"):
        st.bar_chart(
            {"caption": [f"{i + 1}. {c.text}" for i, c in enumerate(captions)],
             "probability (%)": [100 * c.probability for c in captions]},
            x="caption", y="probability (%)", horizontal=True,
        )  # fmt: skip


def results_json(results: tuple[ImageCaptions, ...]) -> str:
    return json.dumps([r.to_dict() for r in results], indent=2)


def results_csv(results: tuple[ImageCaptions, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["image", "rank", "caption", "probability", "log_probability", "error"])
    for result in results:
        if result.error:
            writer.writerow([result.name, "", "", "", "", result.error])
        for rank, c in enumerate(result.captions, start=1):
            writer.writerow([result.name, rank, c.text, c.probability, c.log_probability, ""])
    return buffer.getvalue()


# --- video ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipResult:
    """A captioned clip, kept in the session so that reruns show it without redoing the work."""

    name: str
    video: bytes  # the rendered MP4
    srt: str
    vtt: str
    json: str
    segments: tuple[Segment, ...]
    thumbnails: tuple[np.ndarray | None, ...]  # one per segment: its first sample's frame
    seconds: float


def clip_key(data: bytes, every: float, beam_size: int, model_path: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest}:{every}:{beam_size}:{model_path}"


def stored_clip(key: str) -> ClipResult | None:
    return st.session_state.get("clips", {}).get(key)


def caption_clip(
    name: str, data: bytes, every: float, beam_size: int, model_path: str
) -> ClipResult | None:
    """Caption and render an uploaded clip with a progress bar; keep the result in the session.

    The upload and the rendered file live in a temporary folder removed before returning; on a
    bad clip, one error line naming the upload and None.
    """
    bar = st.progress(0.0, text="Starting…")
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        what = "Captioning frames" if stage == "captioning" else "Rendering frames"
        elapsed = time.perf_counter() - started
        bar.progress(
            min(done / max(total, 1), 1.0), text=f"{what}: {done}/{total} · {elapsed:.0f} s"
        )

    suffix = Path(name).suffix.lower() or ".mp4"
    with tempfile.TemporaryDirectory(prefix="im2txt-video-") as folder:
        source = Path(folder) / f"upload{suffix}"
        source.write_bytes(data)
        try:
            result = make_captioned_video(
                load_model(model_path),
                source,
                Path(folder) / "captioned.mp4",
                every=every,
                beam_size=beam_size,
                progress=progress,
                thumbnail_width=160,
            )
            video = result.output.read_bytes()
        except Im2txtError as e:
            bar.empty()
            st.error(str(e).replace(str(source), name))
            return None
    samples = result.captions.samples
    clip = ClipResult(
        name=name,
        video=video,
        srt=result.srt,
        vtt=result.vtt,
        json=result.json,
        segments=result.captions.segments,
        thumbnails=tuple(samples[s.samples[0]].thumbnail for s in result.captions.segments),
        seconds=time.perf_counter() - started,
    )
    bar.empty()
    clips = st.session_state.setdefault("clips", {})
    clips[clip_key(data, every, beam_size, model_path)] = clip
    while len(clips) > 3:  # a few results per session; each holds its rendered clip
        clips.pop(next(iter(clips)))
    return clip


def render_clip(clip: ClipResult) -> None:
    """The rendered clip with subtitles, a timeline of segments, and downloads."""
    player, timeline = st.columns([3, 2])  # side by side on a laptop, stacked on a phone
    player.video(clip.video, subtitles={"English": clip.vtt})
    player.caption(f"{clip.name}: {len(clip.segments)} segment(s), done in {clip.seconds:.1f} s.")
    rows = [
        {
            "frame": _data_uri(thumbnail),
            "time": f"{_clock(s.start)} – {_clock(s.end)}",
            "caption": s.text,
            "probability": 100 * s.probability,
        }
        for s, thumbnail in zip(clip.segments, clip.thumbnails, strict=True)
    ]
    timeline.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "frame": st.column_config.ImageColumn("Frame", width="small"),
            "time": st.column_config.TextColumn("Time"),
            "caption": st.column_config.TextColumn("Caption", width="large"),
            "probability": st.column_config.NumberColumn("Probability", format="%.4f%%"),
        },
    )
    stem = Path(clip.name).stem
    columns = st.columns(4)
    downloads = [
        ("Download MP4", clip.video, f"{stem}_captioned.mp4", "video/mp4"),
        ("Download SRT", clip.srt, f"{stem}.srt", "application/x-subrip"),
        ("Download VTT", clip.vtt, f"{stem}.vtt", "text/vtt"),
        ("Download JSON", clip.json, f"{stem}.json", "application/json"),
    ]
    for column, (label, data, file_name, mime) in zip(columns, downloads, strict=True):
        column.download_button(
            label, data, file_name, mime, on_click="ignore", width="stretch", key=label
        )


def _data_uri(pixels: np.ndarray | None) -> str | None:
    if pixels is None:
        return None
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)}:{seconds:04.1f}"


def _escape(text: str) -> str:
    """Keep Markdown from interpreting caption text ([, ], *, _, ... in rare vocabularies)."""
    for char in "\\`*_{}[]()#+-.!|:<>$~":
        text = text.replace(char, "\\" + char)
    return text


def _relative(path) -> str:
    try:
        return str(path.resolve().relative_to(os.getcwd()))
    except ValueError:
        return str(path)
