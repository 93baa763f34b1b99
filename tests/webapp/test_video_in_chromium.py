"""The Video page as a visitor sees it, in Chromium at 1366x768 with the sidebar open and at
390x844, for a landscape and a portrait clip made by ffmpeg: one caption on the player, a
timeline whose columns all fit their box with five segments or more in sight, and the kinds of
file a visitor has (an animated GIF captioned; a file that is no clip answered by a line)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from fixtures.browser import (
    chromium_page,
    exception_texts,
    streamlit_server,
    wait_for_app,
    wait_for_heading,
)
from fixtures.clips import COLOURS, animated_gif, colour_shots_clip
from fixtures.tiny_model import write_tiny_bundle
from im2txt.video.ffmpeg import ffmpeg_exe

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# One second a shot; with the page's default sampling (a frame a second) the tiny model's
# captions differ shot to shot (some one word, some twenty), so each shot is a segment.
SHOTS = ("red", "blue", "green", "yellow", "black", "red", "blue", "green")
SIZES = {"landscape": "1280x720", "portrait": "720x1280"}
VIEWPORTS = {"laptop": (1366, 768), "phone": (390, 844)}


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium_available):
    folder = tmp_path_factory.mktemp("video-page")
    write_tiny_bundle(folder / "models" / "demo", kind="demo")
    env = {"IM2TXT_MODEL_DIR": str(folder / "models")}
    with streamlit_server(folder / "streamlit.log", env=env) as url:
        yield url


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("clips")
    return {
        name: colour_shots_clip(folder / f"{name}.mp4", size, SHOTS) for name, size in SIZES.items()
    }


def caption_clip(page, url: str, path) -> None:
    """Open the Video page, upload `path` and caption it with the page's defaults."""
    page.goto(f"{url}/video")
    wait_for_heading(page, "Caption a video")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    button = page.get_by_role("button", name="Caption video")
    button.wait_for(timeout=60_000)  # only a run with the upload shows it
    wait_for_app(page)
    button.click()
    page.get_by_text(f"{path.name}: ").first.wait_for(timeout=180_000)  # its result or its error
    wait_for_app(page, timeout_ms=180_000)
    assert exception_texts(page) == []


def frame_at(path, seconds: float, size: str) -> np.ndarray:
    """The RGB frame of a clip shown at `seconds`, decoded by ffmpeg."""
    width, height = map(int, size.split("x"))
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{seconds}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(out, np.uint8).reshape(height, width, 3)


def drawn_in(frame: np.ndarray, colour: str) -> bool:
    """Whether a caption band is drawn across the bottom of a frame of one flat colour: its
    bottom fifth differs from the colour (the dark strip, the text) while its top half does not."""
    height = frame.shape[0]
    changed = np.abs(frame.astype(int) - COLOURS[colour]).max(axis=2) > 40
    assert changed[: height // 2].mean() < 0.01  # the picture itself is the clip's
    return bool(changed[-height // 5 :].mean() > 0.3)


# The video's source and the text tracks it shows; the timeline's segments, by their times
# (the cells' classes, or where the table had them before it had classes).
TIMELINE = """() => {
    const video = document.querySelector('video');
    const rows = [...document.querySelectorAll('.im2txt-timeline tbody tr')];
    return {
        src: video.currentSrc,
        showing: [...video.textTracks].filter(t => t.mode === 'showing').length,
        times: rows.map(r => (r.querySelector('td.time') || r.cells[1]).innerText),
    };
}"""

# Every header and cell of the timeline: inside its column and the window, its text not cut;
# no box from the table up to its column scrolls sideways. Returns what breaks that.
OVERFLOW = """() => {
    const table = document.querySelector('.im2txt-timeline');
    const column = table.closest('[data-testid="stColumn"]');
    const outer = column.getBoundingClientRect();
    const bad = [];
    for (const cell of table.querySelectorAll('th, td')) {
        const r = cell.getBoundingClientRect();
        if (r.left < outer.left - 1 || r.right > outer.right + 1 || r.right > innerWidth)
            bad.push(['outside', cell.innerText, r.left, r.right, outer.left, outer.right]);
        if (cell.scrollWidth > cell.clientWidth + 1) bad.push(['cut', cell.innerText]);
    }
    for (let e = table; e !== column.parentElement; e = e.parentElement)
        if (e.scrollWidth > e.clientWidth + 1) bad.push(['scrolls sideways', e.className]);
    return bad;
}"""

# Widths of the timeline's caption cells, in pixels.
CAPTION_WIDTHS = """() => [...document.querySelectorAll('.im2txt-timeline tbody tr')]
    .map(r => (r.querySelector('td.caption') || r.cells[2]).getBoundingClientRect().width)"""

# Brings the timeline into sight (centred in the window, its own scroll box at the top) and counts
# the segments wholly in sight: inside the window below Streamlit's header, and inside every
# box between them that clips its content.
SEGMENTS_IN_SIGHT = """() => {
    const table = document.querySelector('.im2txt-timeline');
    const clips = [];
    for (let e = table.parentElement; e && e !== document.body; e = e.parentElement) {
        const style = getComputedStyle(e);
        if (style.overflowY !== 'visible' && e.scrollHeight > e.clientHeight + 1) clips.push(e);
    }
    if (clips.length > 1) clips[0].scrollTop = 0;  // the timeline's own box, not the page
    (clips.length > 1 ? clips[0] : table).scrollIntoView({block: 'center'});
    const header = document.querySelector('[data-testid="stHeader"]');
    let top = header ? header.getBoundingClientRect().bottom : 0, bottom = innerHeight;
    for (const e of clips) {
        const r = e.getBoundingClientRect();
        top = Math.max(top, r.top); bottom = Math.min(bottom, r.bottom);
    }
    return [...table.querySelectorAll('tbody tr')].filter(row => {
        const r = row.getBoundingClientRect();
        return r.height > 0 && r.top >= top - 1 && r.bottom <= bottom + 1;
    }).length;
}"""


def _seconds(clock: str) -> float:
    minutes, seconds = clock.split(":")
    return 60 * int(minutes) + float(seconds)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_one_caption_and_a_readable_timeline(server, clips, tmp_path, viewport, shape):
    width, height = VIEWPORTS[viewport]
    with chromium_page((width, height)) as page:
        caption_clip(page, server, clips[shape])
        sidebar = page.locator('[data-testid="stSidebar"]').bounding_box()
        if viewport == "laptop":  # open, as it opens on a laptop, and taking its share
            assert sidebar is not None and sidebar["x"] >= 0 and sidebar["width"] > 200
        timeline = page.evaluate(TIMELINE)
        assert len(timeline["times"]) == len(SHOTS)

        # Exactly one caption: the player shows a track over the picture, or the caption drawn in.
        served = page.request.get(timeline["src"])
        assert served.ok
        video = tmp_path / "served.mp4"
        video.write_bytes(served.body())
        shot = 2  # the middle of the third shot (green)
        assert [_seconds(t) for t in timeline["times"][shot].split(" – ")] == [shot, shot + 1]
        picture = drawn_in(frame_at(video, shot + 0.5, SIZES[shape]), SHOTS[shot])
        assert timeline["showing"] + picture == 1, (timeline["showing"], picture)
        # The download is the original demo's output: the clip with its captions drawn in.
        with page.expect_download() as download:
            page.get_by_role("button", name="Download MP4").click()
        downloaded = tmp_path / "downloaded.mp4"
        download.value.save_as(downloaded)
        assert drawn_in(frame_at(downloaded, shot + 0.5, SIZES[shape]), SHOTS[shot])

        # Every column inside its box, captions wide enough to read (about 30 characters a line),
        # and five segments or more in sight at once.
        assert page.evaluate(OVERFLOW) == []
        assert min(page.evaluate(CAPTION_WIDTHS)) >= 200
        assert page.evaluate(SEGMENTS_IN_SIGHT) >= 5
        page.screenshot(path=tmp_path / f"{viewport}-{shape}.png")


def test_an_animated_gif_is_captioned_and_a_file_that_is_no_clip_is_one_line(server, tmp_path):
    gif = animated_gif(tmp_path / "anim.gif", "320x180")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a clip\n")
    with chromium_page((1366, 768)) as page:
        caption_clip(page, server, gif)
        assert page.locator('[data-testid="stAlert"]').filter(has_text="anim.gif").count() == 0
        assert page.locator("video").count() == 1
        assert page.locator(".im2txt-timeline tbody tr").count() >= 1
        caption_clip(page, server, notes)
        alert = page.locator('[data-testid="stAlert"]', has_text="notes.txt").inner_text()
        assert alert.startswith("notes.txt: ") and "\n" not in alert.strip(), alert
