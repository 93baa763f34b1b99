"""The Image page's work: captioning uploads (cached), and showing and exporting the results."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass

import streamlit as st

from im2txt.captioner import Caption, ImageCaptions
from im2txt.config import DecodeConfig
from ui.models import load_model


@dataclass(frozen=True)
class CaptionRun:
    results: tuple[ImageCaptions, ...]
    seconds: float


@st.cache_data(show_spinner=False, max_entries=32)
def caption_images(
    files: tuple[tuple[str, bytes], ...], decode: DecodeConfig, model_path: str
) -> CaptionRun:
    """Caption uploaded files in one batched call; cached per file contents, settings and model."""
    captioner = load_model(model_path)
    started = time.perf_counter()
    results = captioner.caption_each(
        [data for _, data in files],
        names=[name for name, _ in files],
        decode=decode,
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


def _escape(text: str) -> str:
    """Keep Markdown from interpreting caption text ([, ], *, _, ... in rare vocabularies)."""
    for char in "\\`*_{}[]()#+-.!|:<>$~":
        text = text.replace(char, "\\" + char)
    return text
