"""The Image page's work: captioning uploads (cached), and showing and exporting the results."""

from __future__ import annotations

import hashlib
import html
import io
import json
import time
from dataclasses import dataclass

import streamlit as st

from im2txt.config import DecodeConfig
from im2txt.display import jpeg_bytes, word_colour
from im2txt.errors import Im2txtError
from im2txt.image_loading import preview
from im2txt.results import Caption, ImageCaptions
from im2txt.results_csv import write_csv
from ui import work


@dataclass(frozen=True)
class CaptionRun:
    results: tuple[ImageCaptions, ...]
    # One per result: the picture to show (a small JPEG), None when it has an error.
    previews: tuple[bytes | None, ...]
    seconds: float
    # A problem with the whole batch (the model), or None.
    error: str | None = None


def caption_images(
    files: tuple[tuple[str, bytes], ...], decode: DecodeConfig, model_path: str
) -> CaptionRun:
    """Caption uploaded files through the server's queue, batched with other visitors' photos,
    showing this visitor's place while they wait. A rerun with the same files and settings finds
    the same request again (waiting, running or done): nothing is captioned twice.

    Each captioned image also gets a preview made by the library (upright, RGB, small), never the
    upload itself: st.image would decode a large upload whole and cannot show 16-bit or float
    images, nor one a pixel high. A file that is captioned but cannot be previewed gets an error.
    """
    names = [name for name, _ in files]
    started = time.perf_counter()
    try:
        ticket = work.work_queue(model_path).submit_photos(
            [data for _, data in files],
            names=names,
            decode=decode,
            owner=work.session_id(),
            key=_files_key(files, decode),
        )
        work.follow(ticket, f"Captioning {len(files)} image(s)")
        results = ticket.result()
    except Im2txtError as e:  # a full queue, or the model itself (a vocabulary that does not fit)
        empty = tuple(ImageCaptions(name) for name in names)
        return CaptionRun(empty, (None,) * len(files), 0.0, str(e))
    final_results, previews = [], []
    for (name, data), result in zip(files, results, strict=True):
        picture = None
        if result.error is None:
            try:
                picture = _preview_jpeg(name, data)
            except Im2txtError as e:
                result = ImageCaptions(name, error=str(e))
        final_results.append(result)
        previews.append(picture)
    return CaptionRun(tuple(final_results), tuple(previews), time.perf_counter() - started)


def _files_key(files: tuple[tuple[str, bytes], ...], decode: DecodeConfig) -> str:
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(hashlib.sha256(name.encode()).digest() + hashlib.sha256(data).digest())
    return f"{digest.hexdigest()}:{decode}"


@st.cache_data(show_spinner=False, max_entries=64)
def _preview_jpeg(name: str, data: bytes) -> bytes:
    return jpeg_bytes(preview(data, name))


def summary(run: CaptionRun, beam_size: int) -> str:
    """One line over the results: how many images were captioned, of how many, and how many were
    refused (each says why in its own box below)."""
    total = len(run.results)
    refused = sum(result.error is not None for result in run.results)
    captioned = total - refused
    if not captioned:
        return f"No image captioned: {refused} refused."
    counted = f"{captioned} of {total} images" if refused else _images(captioned)
    line = f"Captioned {counted} in {run.seconds:.2f} s, beam size {beam_size}"
    return f"{line}; {refused} refused." if refused else f"{line}."


def _images(count: int) -> str:
    return f"{count} image" if count == 1 else f"{count} images"


def render_results(run: CaptionRun, captions_shown: int, *, charts: bool = False) -> None:
    """Each image of the batch in its own box: the picture and its captions, or one error line."""
    for i, (result, picture) in enumerate(zip(run.results, run.previews, strict=True)):
        with st.container(border=True, key=f"result-{i}"):
            if result.error or picture is None:
                st.error(result.error or f"{result.name}: cannot be shown")
                continue
            left, right = st.columns([1, 2])  # side by side on a laptop, stacked on a phone
            left.image(picture, caption=result.name, width="stretch")
            with right:
                render_captions(result, captions_shown, chart=charts)


def render_words(caption: Caption) -> None:
    """The caption word by word, each tinted by its probability as a notebook tints it
    (display.word_colour: red through yellow to green, under black text in either theme)."""
    words = [
        f'<span style="background:{word_colour(p)};{_WORD}">'
        f"{_escape(html.escape(word))}&nbsp;{p:.0%}</span>"
        for word, p in zip(caption.words, caption.word_probabilities, strict=True)
    ]
    st.markdown(" ".join(words) or "*(empty caption)*", unsafe_allow_html=True)


_WORD = "color:#000;border-radius:0.25rem;padding:0 0.25rem"


def render_captions(result: ImageCaptions, captions_shown: int, *, chart: bool = False) -> None:
    """Top captions of one image: the best word by word, a table, and a bar chart if asked for.

    The chart is off by default: it is the costliest part of a result to make (Altair's spec on
    the server, Vega in the browser: with 8 visitors at once, 0.7 s of server time per chart)
    and it shows the table's numbers again."""
    captions = result.captions[:captions_shown]
    st.markdown(f"**{_escape(captions[0].text) or '(empty caption)'}**")
    render_words(captions[0])
    # A static table, not st.dataframe: its cells wrap, so that no caption is cut on a phone (a
    # data grid cuts text at the column's width). Probability first: the caption column wraps.
    st.table(
        [{"Rank": i, "Probability": f"{100 * c.probability:.4f}%", "Caption": c.text}
         for i, c in enumerate(captions, start=1)],
        hide_index=True,
    )  # fmt: skip
    if chart:
        # Bars named by their rank in the table: a caption as an axis label is cut.
        st.bar_chart(
            {"Rank": [str(i) for i in range(1, len(captions) + 1)],
             "probability (%)": [100 * c.probability for c in captions]},
            x="Rank", y="probability (%)", horizontal=True, height=40 + 30 * len(captions),
        )  # fmt: skip


def results_json(results: tuple[ImageCaptions, ...]) -> str:
    return json.dumps([r.to_dict() for r in results], indent=2)


def results_csv(results: tuple[ImageCaptions, ...]) -> str:
    """`batch`'s CSV layout (see im2txt.results_csv): one line per image."""
    buffer = io.StringIO()
    beam_size = max((len(result.captions) for result in results), default=0)
    write_csv(buffer, [result.to_dict() for result in results], beam_size)
    return buffer.getvalue()


def _escape(text: str) -> str:
    """Keep Markdown from interpreting caption text ([, ], *, _, ... in rare vocabularies)."""
    for char in "\\`*_{}[]()#+-.!|:<>$~":
        text = text.replace(char, "\\" + char)
    return text
