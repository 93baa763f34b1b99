"""The Video page's work: captioning and rendering a clip with progress, kept per session (see
clip_store), shown with its player, timeline and downloads."""

from __future__ import annotations

import hashlib
import html
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from im2txt.config import DecodeConfig
from im2txt.display import jpeg_data_uri
from im2txt.errors import Im2txtError
from im2txt.memory import give_back_freed_memory
from im2txt.video import Segment, ShotConfig, make_captioned_video
from ui.clip_store import ClipStore
from ui.models import load_model

# Height in pixels a portrait clip's player is given, so that its controls stay on screen.
PORTRAIT_HEIGHT = 480
# Height of the timeline's scrolling box, in pixels (a long clip has many segments).
TIMELINE_HEIGHT = 520


@st.cache_resource
def clip_store() -> ClipStore:
    """The server's one store of rendered clips (bounded per session and in all)."""
    return ClipStore()


@dataclass(frozen=True)
class ClipResult:
    """A captioned clip, kept for the session so that reruns show it without redoing the work."""

    name: str
    video: Path  # the rendered MP4, in the clip store
    size: tuple[int, int]  # its width and height
    srt: str
    vtt: str
    json: str
    segments: tuple[Segment, ...]
    thumbnails: tuple[np.ndarray | None, ...]  # one per segment: its first sample's frame
    seconds: float


# The Video page's two ways of choosing the frames to caption.
SAMPLING = ("every N seconds", "at each shot change")
# What each stage's progress bar says.
STAGES = {"shots": "Finding shots", "captioning": "Captioning frames"}


def clip_key(
    data: bytes | memoryview,
    every: float,
    decode: DecodeConfig,
    model_path: str,
    shots: ShotConfig | None = None,
) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest}:{every}:{decode}:{model_path}:{shots}"


def stored_clip(key: str) -> ClipResult | None:
    stored = clip_store().get(_session(), key)
    if stored is None or not stored.path.is_file():
        return None
    return replace(stored.extra, video=stored.path)


def _session() -> str:
    context = get_script_run_ctx()
    return context.session_id if context is not None else ""


def caption_clip(
    name: str,
    data: bytes | memoryview,
    every: float,
    decode: DecodeConfig,
    model_path: str,
    shots: ShotConfig | None = None,
) -> ClipResult | None:
    """Caption and render an uploaded clip with a progress bar; keep the result in the session.

    With `shots`, each shot is captioned from its cut (and every `every` seconds within it).

    The upload and the rendered file live in a temporary folder removed before returning; on a
    bad clip, one error line naming the upload and None.
    """
    bar = st.progress(0.0, text="Starting…")
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        what = STAGES.get(stage, "Rendering frames")
        elapsed = time.perf_counter() - started
        bar.progress(
            min(done / max(total, 1), 1.0), text=f"{what}: {done}/{total} · {elapsed:.0f} s"
        )

    # The upload's suffix only, never its name: what the server's files are called is its own.
    suffix = "".join(c for c in Path(name).suffix.lower() if c.isalnum() or c == ".") or ".mp4"
    try:
        with tempfile.TemporaryDirectory(prefix="im2txt-video-") as folder:
            source = Path(folder) / f"upload{suffix}"
            source.write_bytes(data)
            result = make_captioned_video(
                load_model(model_path),
                source,
                Path(folder) / "captioned.mp4",
                every=every,
                decode=decode,
                progress=progress,
                thumbnail_width=160,
                name=name,
                shots=shots,
            )
            samples = result.captions.samples
            clip = ClipResult(
                name=name,
                video=Path(),
                size=result.captions.info.output_size,
                srt=result.srt,
                vtt=result.vtt,
                json=result.json,
                segments=result.captions.segments,
                thumbnails=tuple(samples[s.samples[0]].thumbnail for s in result.captions.segments),
                seconds=time.perf_counter() - started,
            )
            key = clip_key(data, every, decode, model_path, shots)
            clip = replace(clip, video=clip_store().put(_session(), key, result.output, clip))
    except Im2txtError as e:
        bar.empty()
        st.error(str(e))
        return None
    except OSError as e:  # the server's disk: full, or not writable
        bar.empty()
        st.error(f"{name}: the server cannot store the clip ({e.strerror or e})")
        return None
    bar.empty()
    give_back_freed_memory()  # the sampled frames' buffers
    return clip


def render_clip(clip: ClipResult) -> None:
    """The rendered clip with subtitles, a timeline of segments, and downloads."""
    player, timeline = st.columns([3, 2])  # side by side on a laptop, stacked on a phone
    width, height = clip.size
    # A portrait clip as wide as the column would be taller than the screen, controls below it.
    shown = round(PORTRAIT_HEIGHT * width / height) if height > width else "stretch"
    player.video(str(clip.video), subtitles={"English": clip.vtt}, width=shown)
    shots = _shot_count(clip.segments)
    found = f" in {shots} shot(s)" if shots else ""
    player.caption(
        f"{clip.name}: {len(clip.segments)} segment(s){found}, done in {clip.seconds:.1f} s."
    )
    with timeline.container(height=min(TIMELINE_HEIGHT, 48 + 76 * len(clip.segments))):
        st.markdown(timeline_html(clip), unsafe_allow_html=True)
    stem = Path(clip.name).stem
    columns = st.columns(4)
    downloads = [
        # Read from the store only when asked for, not on every rerun.
        ("Download MP4", clip.video.read_bytes, f"{stem}_captioned.mp4", "video/mp4"),
        ("Download SRT", clip.srt, f"{stem}.srt", "application/x-subrip"),
        ("Download VTT", clip.vtt, f"{stem}.vtt", "text/vtt"),
        ("Download JSON", clip.json, f"{stem}.json", "application/json"),
    ]
    for column, (label, data, file_name, mime) in zip(columns, downloads, strict=True):
        column.download_button(
            label, data, file_name, mime, on_click="ignore", width="stretch", key=label
        )


def timeline_html(clip: ClipResult) -> str:
    """The segments as an HTML table whose caption cells wrap: a data grid (st.dataframe) cut the
    captions and pushed the Probability column out of sight at 1366 px. When shots were
    detected, a Shot column numbers them from 1."""
    shots = bool(_shot_count(clip.segments))
    rows = []
    for segment, thumbnail in zip(clip.segments, clip.thumbnails, strict=True):
        uri = jpeg_data_uri(thumbnail) if thumbnail is not None else None
        frame = f'<img src="{uri}" alt="" style="width:64px;display:block">' if uri else ""
        shot = f'<td style="text-align:right">{segment.shot + 1}</td>' if shots else ""
        rows.append(
            f"<tr><td>{frame}</td>{shot}"
            f'<td style="white-space:nowrap">{_clock(segment.start)} – {_clock(segment.end)}</td>'
            f"<td>{html.escape(segment.text)}</td>"
            f'<td style="white-space:nowrap;text-align:right">'
            f"{100 * segment.probability:.4f}%</td></tr>"
        )
    names = ("Frame", *(("Shot",) if shots else ()), "Time", "Caption", "Probability")
    head = "".join(f"<th>{name}</th>" for name in names)
    return (
        '<table class="im2txt-timeline" style="width:100%;table-layout:auto">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _shot_count(segments: tuple[Segment, ...]) -> int:
    """Shots the segments span; 0 when shots were not detected."""
    shots = {segment.shot for segment in segments}
    return 0 if None in shots or not shots else max(shots) + 1


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)}:{seconds:04.1f}"
