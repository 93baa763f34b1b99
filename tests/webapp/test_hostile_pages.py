"""The hostile-input corpus through the pages (AppTest) and once through Chromium: no exception,
every good file captioned and shown, one error line per bad file naming the upload, downloads."""

from __future__ import annotations

import tempfile

import pytest
from streamlit.testing.v1 import AppTest

from fixtures.browser import (
    chromium_page,
    exception_texts,
    streamlit_server,
    wait_for_app,
    wait_for_heading,
)
from fixtures.hostile import IMAGES, VIDEOS
from fixtures.paths import REPO
from fixtures.tiny_model import write_tiny_bundle

GOOD = [k for k in IMAGES if k.good]
BAD = [k for k in IMAGES if not k.good]


@pytest.fixture(scope="module")
def corpus(hostile_corpus):
    return hostile_corpus


@pytest.fixture
def models(tmp_path, monkeypatch):
    write_tiny_bundle(tmp_path / "demo", kind="demo")
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    monkeypatch.chdir(REPO)
    return tmp_path


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    app.run()
    app.switch_page(page)
    app.run()
    return app


def test_every_image_kind_in_one_batch(models, corpus):
    app = open_page("app_pages/image.py")
    files = [(k.name, corpus[k.name].read_bytes(), "application/octet-stream") for k in IMAGES]
    app.get("file_uploader")[0].set_value(files)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    errors = [e.value for e in app.error]
    assert len(errors) == len(BAD)
    for kind, error in zip(BAD, errors, strict=True):
        assert error.startswith(f"{kind.name}: ") and kind.error in error and "\n" not in error
    image_captions = [caption for image in app.get("image") for caption in image.captions]
    assert image_captions == [k.name for k in GOOD]
    assert len(app.table) == len(GOOD)
    labels = sorted(b.label for b in app.get("download_button"))
    assert labels == ["Download CSV", "Download JSON"]


@pytest.fixture(scope="module")
def video_page(tmp_path_factory):
    """One Video page for every clip, as a visitor trying one after another would use it."""
    folder = tmp_path_factory.mktemp("models")
    write_tiny_bundle(folder / "demo", kind="demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IM2TXT_MODEL_DIR", str(folder))
        patch.chdir(REPO)
        yield open_page("app_pages/video.py")


@pytest.mark.slow
@pytest.mark.parametrize("kind", VIDEOS, ids=lambda k: k.name)
def test_every_video_kind(video_page, corpus, kind):
    app = video_page
    app.get("file_uploader")[0].set_value((kind.name, corpus[kind.name].read_bytes(), "video/mp4"))
    app.run()
    (button,) = [b for b in app.button if "Caption" in b.label]
    button.click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    if kind.good:
        assert not app.error, [e.value for e in app.error]
        labels = sorted(b.label for b in app.get("download_button"))
        assert labels == ["Download JSON", "Download MP4", "Download SRT", "Download VTT"]
    else:
        (error,) = [e.value for e in app.error]
        assert error.startswith(f"{kind.name}: ") and kind.error in error
        assert tempfile.gettempdir() not in error


# Cells whose text is wider than the cell (cut), or that end right of the window (out of sight).
CUT_CELLS = """selector => [...document.querySelectorAll(selector)]
    .filter(c => c.scrollWidth > c.clientWidth + 1
                 || c.getBoundingClientRect().right > window.innerWidth + 1)
    .map(c => c.innerText)"""


@pytest.mark.slow
@pytest.mark.browser
def test_the_corpus_in_chromium(tmp_path, corpus, chromium_available):
    """Every image in one batch, then every clip one after another on the same page, as a
    visitor would try them; on the way, results must fit the window: no caption cut, every column
    of the timeline in sight at 1366 px, a portrait clip's player within the window, and the
    captions table whole on a phone."""
    models = tmp_path / "models"
    write_tiny_bundle(models / "demo", kind="demo")
    env = {"IM2TXT_MODEL_DIR": str(models)}
    with streamlit_server(tmp_path / "streamlit.log", env=env) as url:
        with chromium_page((1366, 768)) as page:
            images_in_one_batch(page, url, corpus)
            clips_one_after_another(page, url, corpus)
        with chromium_page((390, 844)) as phone:
            phone.goto(f"{url}/image")
            wait_for_app(phone)
            uploader = phone.locator('[data-testid="stFileUploader"] input[type="file"]')
            uploader.set_input_files(str(corpus["rgba.png"]))
            phone.locator(".st-key-result-0 table").wait_for(timeout=60_000)
            wait_for_app(phone)
            assert phone.locator(".st-key-result-0 table tbody tr").count() == 3
            assert phone.evaluate(CUT_CELLS, ".st-key-result-0 table td") == []


def images_in_one_batch(page, url: str, corpus) -> None:
    page.goto(f"{url}/image")
    wait_for_app(page)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploader.set_input_files([str(corpus[k.name]) for k in IMAGES])
    page.locator(f".st-key-result-{len(IMAGES) - 1}").wait_for(timeout=120_000)
    wait_for_app(page, timeout_ms=120_000)
    assert exception_texts(page) == []
    for i, kind in enumerate(IMAGES):
        box = page.locator(f".st-key-result-{i}")
        if kind.good:
            box.locator("img").wait_for()
            assert box.locator("img").evaluate("i => i.naturalWidth > 0"), kind.name
        else:
            text = box.locator('[data-testid="stAlert"]').inner_text()
            assert kind.name in text and kind.error in text, (kind.name, text)
    assert page.evaluate(CUT_CELLS, "[class*='st-key-result-'] table td") == []
    assert page.locator('[data-testid="stDownloadButton"]').count() == 2


def clips_one_after_another(page, url: str, corpus) -> None:
    page.goto(f"{url}/video")
    wait_for_heading(page, "Caption a video")
    previous = None
    for kind in VIDEOS:
        uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
        uploader.set_input_files(str(corpus[kind.name]))
        if previous is not None:  # the new upload's run has cleared the last clip's outcome
            page.get_by_text(f"{previous}: ").first.wait_for(state="detached", timeout=60_000)
        button = page.get_by_role("button", name="Caption video")
        button.wait_for(timeout=60_000)
        wait_for_app(page)
        button.click()
        # Only this clip's run names it with a colon: its error, or its player's caption.
        page.get_by_text(f"{kind.name}: ").first.wait_for(timeout=120_000)
        wait_for_app(page, timeout_ms=120_000)
        previous = kind.name
        assert exception_texts(page) == [], kind.name
        if not kind.good:
            alert = page.locator('[data-testid="stAlert"]', has_text=kind.name).inner_text()
            assert kind.error in alert and tempfile.gettempdir() not in alert, alert
            continue
        assert page.locator("video").count() == 1, kind.name
        cells = ".im2txt-timeline td, .im2txt-timeline th"
        assert page.evaluate(CUT_CELLS, cells) == [], kind.name
        assert page.locator(".im2txt-timeline th", has_text="Probability").is_visible()
        if kind.name == "portrait_rotated.mp4":
            box = page.locator("video").bounding_box()
            assert box is not None and box["height"] <= 0.8 * 768 and box["width"] < box["height"]
