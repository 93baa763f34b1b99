"""The Video page's work: captioning and rendering a clip with progress, kept per session (see
clip_store), shown with its player, timeline and downloads."""

from __future__ import annotations

import hashlib
import html
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import streamlit as st

from im2txt.display import jpeg_data_uri
from im2txt.errors import Im2txtError
from im2txt.memory import give_back_freed_memory
from im2txt.video import Segment, VideoConfig, VideoInfo, make_captioned_video, probe
from im2txt.video.captioned import peak_bytes
from im2txt.video.sampling import check_duration
from im2txt.video.subtitles import clock
from im2txt.work_queue import VideoWork
from ui import work
from ui.clip_store import ClipStore, clip_store

# Height in pixels a portrait clip's player is given, so that its controls stay on screen.
PORTRAIT_HEIGHT = 480
# Height of the timeline's scrolling box at most, in pixels (a long clip has many segments):
# it fits a 768-pixel-high window with the page's header.
TIMELINE_HEIGHT = 520
# Width in pixels from which the timeline is a table of one row a segment (its columns need about
# 330, and a caption then has 230 or more); below it, each segment takes two lines.
TIMELINE_TABLE_WIDTH = 560


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


def clip_key(data: bytes | memoryview, settings: VideoConfig, model_path: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest}:{settings}:{model_path}"


def _upload(key: str) -> str:
    """The upload's digest, the first part of a clip_key."""
    return key.split(":", 1)[0]


def stored_clip(key: str) -> ClipResult | None:
    stored = clip_store().get(work.session_id(), key)
    if stored is None or not stored.path.is_file():
        return None
    return replace(stored.extra, video=stored.path)


def start_clip(name: str, data: bytes | memoryview, settings: VideoConfig, model_path: str) -> None:
    """Submit the clip to the server's queue as this session's video job (replacing a job of
    the session still running). The upload is written to a temporary folder the job owns and
    removes when it ends, however it ends; a bad clip, a full queue or a clip too large for the
    server is one error line at once."""
    session, key = work.session_id(), clip_key(data, settings, model_path)
    queue = work.work_queue(model_path)
    # The upload's suffix only, never its name: what the server's files are called is its own.
    suffix = "".join(c for c in Path(name).suffix.lower() if c.isalnum() or c == ".") or ".mp4"
    try:
        folder = tempfile.TemporaryDirectory(prefix="im2txt-video-")
    except OSError as e:  # the server's disk: full, or not writable
        st.error(f"{name}: the server cannot store the clip ({e.strerror or e})")
        return
    try:
        source = Path(folder.name) / f"upload{suffix}"
        source.write_bytes(data)
        info = probe(source, name)
        check_duration(info, settings.max_duration)
        store = clip_store()
        for running in queue.tickets(session, "video"):
            if not running.done() and running.key != key:
                running.cancel()  # one clip at a time per visitor: the newest asked for
        ticket = queue.submit_video(
            lambda job: _caption_clip(job, info, folder.name, settings, store, session, key),
            peak_bytes=peak_bytes(info, THUMBNAIL_WIDTH),
            duration=info.duration,
            owner=session,
            key=key,
            name=name,
        )
    except Im2txtError as e:
        folder.cleanup()
        st.error(str(e))
        return
    except OSError as e:
        folder.cleanup()
        st.error(f"{name}: the server cannot store the clip ({e.strerror or e})")
        return
    ticket.when_done(lambda _: folder.cleanup())


def follow_clip(key: str | None, model_path: str) -> ClipResult | None:
    """The clip to show for the page's current upload and settings (`key`; None without an
    upload), following this session's newest job while it waits or runs: with a Cancel button
    and its place, estimated start and progress. A finished clip for other settings is still
    shown, with a line saying so; a failed job's error is shown for its own clip."""
    session = work.session_id()
    jobs = work.work_queue(model_path).tickets(session, "video")
    job = jobs[-1] if jobs else None
    if job is not None and not job.done():
        waiting = st.empty()  # the Cancel button and the notes: gone once the job is done
        with waiting.container():
            cancel = st.button("Cancel", key="cancel-video", icon=":material/cancel:")
            if not cancel and job.key != key and key is not None:
                st.caption("Still captioning the clip you asked for before; press **Caption "
                           "video** to caption this one instead.")  # fmt: skip
        if cancel:
            job.cancel()
        else:
            work.follow(job, "Captioning the clip")
            waiting.empty()
    if key is not None:
        clip = stored_clip(key)
        if clip is not None:
            return clip
    if job is None or not job.done() or job.cancelled:
        return None
    if job.error is not None:
        if job.key == key:
            st.error(job.error)
        return None
    clip = stored_clip(job.key or "")
    if clip is not None and key is not None:
        if _upload(job.key or "") != _upload(key):
            return None  # another upload: the last clip is not about it
        st.info(OTHER_SETTINGS, icon=":material/refresh:")
    return clip


# Said over a finished clip of the page's upload made with other settings.
OTHER_SETTINGS = (
    "This clip was captioned with other settings: press **Caption video** to caption it again "
    "with these."
)


# Width of the timeline's thumbnails, in pixels.
THUMBNAIL_WIDTH = 160


def _caption_clip(
    job: VideoWork,
    info: VideoInfo,
    folder: str,
    settings: VideoConfig,
    store: ClipStore,
    session: str,
    key: str,
) -> ClipResult:
    """The job itself, in one of the queue's video threads: caption (frames through the queue's
    lane) and render the clip, and keep it in the clip store. No Streamlit call here."""
    started = time.perf_counter()
    try:
        result = make_captioned_video(
            job.captioner,
            info,
            Path(folder) / "captioned.mp4",
            settings=replace(settings, thumbnail_width=THUMBNAIL_WIDTH),
            progress=job.progress,
        )
        segments = result.captions.segments
        samples = result.captions.samples
        clip = ClipResult(
            name=info.label,
            video=Path(),
            size=result.captions.info.output_size,
            srt=result.srt,
            vtt=result.vtt,
            json=result.json,
            segments=segments,
            thumbnails=tuple(samples[s.samples[0]].thumbnail for s in segments),
            seconds=time.perf_counter() - started,
        )
        return replace(clip, video=store.put(session, key, result.output, clip))
    except OSError as e:  # the server's disk: full, or not writable
        raise Im2txtError(
            f"{info.label}: the server cannot store the clip ({e.strerror or e})"
        ) from None
    finally:
        give_back_freed_memory()  # the sampled frames' buffers


def render_clip(clip: ClipResult) -> None:
    """The rendered clip, a timeline of segments, and downloads."""
    width, height = clip.size
    portrait = height > width
    # Beside a portrait player the timeline gets two thirds of the row (it fits a table there);
    # beside a landscape one, two fifths (it lays each segment out on two lines, see
    # timeline_html). On a phone Streamlit stacks the two.
    player, timeline = st.columns([1, 2] if portrait else [3, 2])
    # A portrait clip as wide as the column would be taller than the screen, controls below it.
    player_width: int | Literal["stretch"] = (
        round(PORTRAIT_HEIGHT * width / height) if portrait else "stretch"
    )
    # One caption on the player: the picture's own, drawn in by render_video, which is also the
    # MP4 the visitor downloads (the original demo's output). No WebVTT track is given to the
    # player: Streamlit turns its first track on, which showed every caption twice, and a clean
    # picture for the track would mean rendering each clip twice (an upload in AVI, MKV, GIF or
    # HEVC cannot be played by a browser as it is). The cues stay a download (SRT, VTT).
    player.video(str(clip.video), width=player_width)
    shots = _shot_count(clip.segments)
    found = f" in {shots} shot(s)" if shots else ""
    player.caption(
        f"{clip.name}: {len(clip.segments)} segment(s){found}, done in {clip.seconds:.1f} s."
    )
    timeline.markdown(timeline_html(clip), unsafe_allow_html=True)
    stem = Path(clip.name).stem
    columns = st.columns(4)
    downloads: list[tuple[str, Callable[[], bytes] | str, str, str]] = [
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


# The timeline's look. Its box scrolls past TIMELINE_HEIGHT pixels (a long clip has hundreds of
# segments). A box wide enough for a table of one row a segment (beside a portrait player, or a
# wide window) gets one; a narrower one (beside a landscape player at 1366 px with the sidebar
# open, 370 px; a phone, 358 px) gets each segment on two lines, the caption under its time and
# probability, so that no column is cut and no caption wraps a word a line. The box's own width
# decides (a container query), not the window's: the sidebar and the player take their share.
# Thumbnails keep their shape within 64x48 pixels, so a portrait clip's rows are not 114 high.
TIMELINE_STYLE = f"""<style>
.im2txt-timeline-box {{ container-type: inline-size; max-height: {TIMELINE_HEIGHT}px;
  overflow-y: auto; }}
.im2txt-timeline {{ width: 100%; font-size: 0.875rem; line-height: 1.4; margin: 0; }}
.im2txt-timeline th, .im2txt-timeline td {{ padding: 0.25rem 0.5rem; vertical-align: top; }}
.im2txt-timeline img {{ display: block; max-width: 64px; max-height: 48px; }}
.im2txt-timeline .time, .im2txt-timeline .probability {{ white-space: nowrap; }}
.im2txt-timeline .shot, .im2txt-timeline .probability {{ text-align: right; }}
.im2txt-timeline .frame {{ width: 64px; }}
@container (max-width: {TIMELINE_TABLE_WIDTH - 1}px) {{
  .im2txt-timeline tr {{ display: grid; grid-template-columns: 64px max-content 1fr max-content;
    grid-template-areas: "frame time shot probability" "frame caption caption caption";
    column-gap: 0.5rem; padding: 0.25rem 0.5rem; }}
  .im2txt-timeline th, .im2txt-timeline td {{ display: block; border: none; padding: 0; }}
  .im2txt-timeline .frame {{ grid-area: frame; }}
  .im2txt-timeline .time {{ grid-area: time; }}
  .im2txt-timeline .shot {{ grid-area: shot; }}
  .im2txt-timeline .caption {{ grid-area: caption; }}
  .im2txt-timeline .probability {{ grid-area: probability; }}
}}
</style>"""


def timeline_html(clip: ClipResult) -> str:
    """The segments as an HTML table in a scrolling box (see TIMELINE_STYLE): a data grid
    (st.dataframe) cut the captions and pushed the Probability column out of sight at 1366 px.
    When shots were detected, a Shot column numbers them from 1."""
    shots = bool(_shot_count(clip.segments))
    rows = []
    for segment, thumbnail in zip(clip.segments, clip.thumbnails, strict=True):
        uri = jpeg_data_uri(thumbnail) if thumbnail is not None else None
        frame = f'<img src="{uri}" alt="">' if uri else ""
        number = "" if segment.shot is None else segment.shot + 1
        shot = f'<td class="shot">{number}</td>' if shots else ""
        rows.append(
            f'<tr><td class="frame">{frame}</td>{shot}'
            f'<td class="time">{clock(segment.start)} – {clock(segment.end)}</td>'
            f'<td class="caption">{html.escape(segment.text)}</td>'
            f'<td class="probability">{100 * segment.probability:.4f}%</td></tr>'
        )
    names = ("Frame", *(("Shot",) if shots else ()), "Time", "Caption", "Probability")
    head = "".join(f'<th class="{name.lower()}">{name}</th>' for name in names)
    return (
        f'{TIMELINE_STYLE}<div class="im2txt-timeline-box"><table class="im2txt-timeline">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _shot_count(segments: tuple[Segment, ...]) -> int:
    """Shots the segments span; 0 when shots were not detected."""
    numbers = [segment.shot for segment in segments if segment.shot is not None]
    return max(numbers) + 1 if numbers and len(numbers) == len(segments) else 0
