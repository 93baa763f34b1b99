"""Results fit the screen, in headless Chromium: no caption cut, no column pushed out of sight, a
portrait clip's player (with its controls) within the window; at laptop and phone sizes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fixtures.browser import chromium_page, exception_texts, streamlit_server, wait_for_app
from fixtures.hostile import _rotated
from fixtures.paths import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Cells whose text is wider than the cell (cut), or that end right of the window (out of sight).
CUT_CELLS = """selector => [...document.querySelectorAll(selector)]
    .filter(c => c.scrollWidth > c.clientWidth + 1 || c.getBoundingClientRect().right
                 > window.innerWidth + 1)
    .map(c => c.innerText)"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium_available):
    with streamlit_server(tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


def caption_clip(page, url: str, path) -> None:
    page.goto(f"{url}/video")
    wait_for_app(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    button = page.get_by_role("button", name="Caption video")
    button.wait_for(timeout=60_000)
    wait_for_app(page)
    button.click()
    page.locator("video").wait_for(timeout=120_000)
    wait_for_app(page, timeout_ms=120_000)


def test_the_video_timeline_shows_every_column_and_whole_captions_at_1366(server):
    with chromium_page((1366, 768)) as page:
        caption_clip(page, server, REPO / "sample_images" / "shapes.mp4")
        cells = page.locator(".im2txt-timeline td")
        assert cells.count() >= 8  # two segments or more, four cells each
        assert page.evaluate(CUT_CELLS, ".im2txt-timeline td, .im2txt-timeline th") == []
        header = page.locator(".im2txt-timeline th", has_text="Probability")
        assert header.is_visible()
        assert exception_texts(page) == []


def test_the_image_table_keeps_every_caption_whole_on_a_phone(server, tmp_path):
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), np.uint8)).save(tmp_path / "noise.png")
    with chromium_page((390, 844)) as page:
        page.goto(f"{server}/image")
        wait_for_app(page)
        uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
        uploader.set_input_files(str(tmp_path / "noise.png"))
        page.locator(".st-key-result-0 table").wait_for(timeout=60_000)
        wait_for_app(page)
        rows = page.locator(".st-key-result-0 table tbody tr")
        assert rows.count() == 3  # all three captions
        assert page.evaluate(CUT_CELLS, ".st-key-result-0 table td") == []
        assert exception_texts(page) == []


def test_a_portrait_clip_fits_in_the_window_with_its_controls(server, tmp_path):
    portrait = tmp_path / "portrait.mp4"
    _rotated(portrait, "640x360")  # shown 360 wide, 640 high
    with chromium_page((1366, 768)) as page:
        caption_clip(page, server, portrait)
        box = page.locator("video").bounding_box()
        assert box is not None and box["height"] <= 0.8 * 768, box
        assert box["width"] < box["height"]
