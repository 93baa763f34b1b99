"""A video job belongs to the server, not to the page run (Chromium, a real `streamlit run`): a
setting changed while it runs, and a visit to another page and back, still end with the captioned
clip on the page, without pressing Caption video again."""

from __future__ import annotations

import pytest

from fixtures.browser import (
    chromium_page,
    exception_texts,
    streamlit_server,
    wait_for_app,
    wait_for_heading,
)
from fixtures.clips import pattern_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROGRESS = '[data-testid="stProgress"]'


def go_to(page, name: str, heading: str) -> None:
    page.get_by_role("link", name=name).first.click()
    page.wait_for_url(f"**/{name.lower()}")
    wait_for_heading(page, heading)


def test_a_running_job_outlives_a_setting_change_and_another_page(tmp_path, chromium_available):
    # Ten minutes of small frames: the job renders 18,000 of them (~25 s on a quiet machine,
    # ~6 s for the steps below), so it is still running at each step on a busy one too. Each
    # step checks that it is (a job that ended first would make the step prove nothing).
    clip = pattern_clip(
        tmp_path / "walk.mp4", seconds=600, rate="30", size="320x180", preset="ultrafast"
    )
    with streamlit_server(tmp_path / "streamlit.log") as url, chromium_page() as page:
        page.goto(url)
        wait_for_heading(page, "Show and Tell")
        go_to(page, "Video", "Caption a video")
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(clip))
        button = page.get_by_role("button", name="Caption video")
        button.wait_for(timeout=60_000)
        wait_for_app(page)
        button.click()
        page.locator(PROGRESS).wait_for(timeout=60_000)  # the job has started
        page.wait_for_timeout(4_000)  # a visitor's pause, as in the issue: 4 s into the job
        # Move the Beam size slider: the page reruns; the job goes on and its progress is back.
        # Only a run that found the job running says this (the Cancel button could be the last
        # run's, still on the page).
        page.get_by_role("slider", name="Beam size").first.press("ArrowRight")
        page.get_by_text("Still captioning the clip you asked for before").wait_for(timeout=60_000)
        page.locator(PROGRESS).wait_for(timeout=60_000)
        assert page.locator("video").count() == 0  # still running: the steps below matter
        # Another page, then back: the uploader is empty now, the job is the session's.
        go_to(page, "Image", "Caption images")
        go_to(page, "Video", "Caption a video")
        page.locator("video").wait_for(timeout=240_000)
        wait_for_app(page, timeout_ms=120_000)
        assert page.get_by_role("button", name="Caption video").count() == 0  # no upload now
        labels = page.locator('[data-testid="stDownloadButton"]').all_inner_texts()
        assert "Download MP4" in [label.strip() for label in labels]
        captions = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
        assert any(text.startswith("walk.mp4: ") for text in captions)  # the player's line
        assert exception_texts(page) == []
