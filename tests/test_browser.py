"""Real-browser smoke tests: `streamlit run app.py` in headless Chromium."""

from __future__ import annotations

import pytest

from browser import chromium_page, exception_texts, streamlit_server, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_home_page_renders_in_chromium(tmp_path, chromium_available):
    with streamlit_server(tmp_path / "streamlit.log") as url, chromium_page() as page:
        page.goto(url)
        wait_for_app(page)
        assert page.title().startswith("im2txt")
        heading = page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text()
        assert "Show and Tell" in heading
        assert page.get_by_text("Models found").count() == 1
        page.screenshot(path=tmp_path / "home.png", full_page=True)
        assert exception_texts(page) == []
        for name in ("Image", "Video"):
            page.get_by_role("link", name=name).first.click()
            page.wait_for_url(f"**/{name.lower()}")
            wait_for_app(page)
            page.screenshot(path=tmp_path / f"{name.lower()}.png", full_page=True)
            assert exception_texts(page) == []
