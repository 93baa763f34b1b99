"""Real-browser tests: `streamlit run app.py` in headless Chromium, as a user would use it."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
from PIL import Image

from fixtures.browser import (
    chromium_page,
    exception_texts,
    nav_labels,
    streamlit_server,
    wait_for_app,
    wait_for_heading,
)
from fixtures.http_server import Server
from fixtures.model_hosts import lookalike_catalogue, make_lookalike
from fixtures.paths import REPO
from im2txt import load_captioner
from im2txt.demo.scenes import Scene, random_scene

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium_available):
    """The app as a new user runs it: the repository's own model/ (the shipped demo model)."""
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with streamlit_server(log) as url:
        yield url


@pytest.fixture(scope="module")
def captioner():
    return load_captioner()  # the same default model, as the oracle


def scene_png(path, seed: int) -> Scene:
    """A generated scene the demo model knows, saved as PNG."""
    scene = random_scene(np.random.default_rng(seed), num_objects=1, size=(200, 150))
    Image.fromarray(scene.image).save(path)
    return scene


# Each page's title (its h1): what shows that the page a test asked for has been rendered.
HEADINGS = {"Home": "Show and Tell", "Image": "Caption images", "Video": "Caption a video"}


def open_page(page, url: str, name: str = "Home") -> None:
    """Open the app at url, then go to the named page with its link in the sidebar."""
    page.goto(url)
    wait_for_heading(page, HEADINGS["Home"])
    if name != "Home":
        page.get_by_role("link", name=name).first.click()
        page.wait_for_url(f"**/{name.lower()}")
        wait_for_heading(page, HEADINGS[name])  # the new page's own run, not the old page


def test_home_page_renders_in_chromium(tmp_path, server):
    with chromium_page() as page:
        open_page(page, server)
        assert page.title().startswith("im2txt")
        heading = page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text()
        assert "Show and Tell" in heading
        assert page.get_by_text("Models found").count() == 1
        assert page.get_by_text("im2txt demo (generated shapes)").count() >= 1
        page.screenshot(path=tmp_path / "home.png", full_page=True)
        assert exception_texts(page) == []


def upload_and_read_caption(page, path) -> str:
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    best = page.locator(".st-key-result-0 strong").first
    best.wait_for(timeout=60_000)  # only the run with the upload shows a result
    wait_for_app(page)
    return best.inner_text()


def test_image_page_uploads_a_photo_and_shows_captions(tmp_path, server, captioner):
    scene = scene_png(tmp_path / "shape.png", seed=7)
    expected = captioner.caption(scene.image)[0]
    (shape,) = scene.objects
    assert f"{shape.colour} {shape.shape}" in expected.text  # the demo model knows this scene
    with chromium_page() as page:
        open_page(page, server, "Image")
        assert upload_and_read_caption(page, tmp_path / "shape.png") == expected.text
        # The best caption word by word, each with its probability as a percentage.
        first_word = f"{expected.words[0]} {expected.word_probabilities[0]:.0%}"
        assert page.get_by_text(first_word, exact=False).count() >= 1
        assert page.get_by_text("Captioned 1 image in ", exact=False).count() == 1
        # What the demo model cannot do: once on the page, not under the result too.
        assert page.get_by_text("knows only").count() == 1
        page.locator(".st-key-result-0 img").wait_for()
        page.locator(".st-key-result-0 table").first.wait_for()
        # The table's header is one line of plain labels (a "#" label was a Markdown heading:
        # a header row three times as tall as a caption's row).
        header = page.locator(".st-key-result-0 table thead tr").first.bounding_box()
        row = page.locator(".st-key-result-0 table tbody tr").first.bounding_box()
        assert header["height"] < 1.5 * row["height"], (header, row)
        assert page.locator(".st-key-result-0 table thead").inner_text().split() == [
            "Rank", "Probability", "Caption",
        ]  # fmt: skip
        page.screenshot(path=tmp_path / "image.png", full_page=True)
        assert exception_texts(page) == []


def test_video_page_captions_a_clip(tmp_path, server):
    clip = REPO / "sample_images" / "shapes.mp4"  # the sample clip, as a user would upload it
    with chromium_page() as page:
        open_page(page, server, "Video")
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(clip))
        button = page.get_by_role("button", name="Caption video")
        button.wait_for(timeout=60_000)  # only the run with the upload shows the button
        wait_for_app(page)
        button.click()
        page.locator("video").wait_for(timeout=120_000)  # only the button's run shows a video
        wait_for_app(page, timeout_ms=120_000)
        labels = page.locator('[data-testid="stDownloadButton"]').all_inner_texts()
        assert sorted(label.strip() for label in labels) == [
            "Download JSON", "Download MP4", "Download SRT", "Download VTT",
        ]  # fmt: skip
        # One caption: the one drawn into the picture, no subtitle track shown over it.
        assert page.locator("video track").count() == 0
        page.screenshot(path=tmp_path / "video.png", full_page=True)
        assert exception_texts(page) == []


def test_two_sessions_captioning_at_the_same_time(tmp_path, server, captioner):
    expected, seen, errors = {}, {}, []
    for seed in (11, 12):
        scene = scene_png(tmp_path / f"{seed}.png", seed)
        expected[seed] = captioner.caption(scene.image)[0].text
    assert expected[11] != expected[12]  # or the test could not tell the sessions apart

    def session(seed: int) -> None:
        try:
            with chromium_page() as page:
                open_page(page, server, "Image")
                seen[seed] = upload_and_read_caption(page, tmp_path / f"{seed}.png")
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=session, args=(seed,)) for seed in (11, 12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert seen == expected


@pytest.mark.parametrize("first", ["image", "video", ""])
def test_a_link_to_any_page_works_on_a_fresh_server(tmp_path, chromium_available, first):
    """Issue 17: a shared link to /image opened before anyone had opened / got Streamlit's
    automatic pages-folder navigation (app, home, image, video) and no model sidebar. Each case
    starts its own server, opens the link first, then every page by its URL."""
    paths = {"": "Home", "image": "Image", "video": "Video"}
    with streamlit_server(tmp_path / "streamlit.log") as url, chromium_page() as page:
        for path in [first, *(p for p in paths if p != first)]:
            page.goto(f"{url}/{path}")
            wait_for_heading(page, HEADINGS[paths[path]])
            assert nav_labels(page) == ["Home", "Image", "Video"], f"/{path}"
            sidebar = page.locator('[data-testid="stSidebarUserContent"]')
            assert sidebar.get_by_role("heading", name="Model", exact=True).count() == 1, f"/{path}"
            assert sidebar.get_by_text("im2txt demo (generated shapes)").count() == 1, f"/{path}"
            # What the demo model cannot do: once on every page, not in the sidebar.
            assert page.get_by_text("knows only").count() == 1, f"/{path}"
            assert sidebar.get_by_text("knows only").count() == 0, f"/{path}"
            assert exception_texts(page) == []


def test_the_home_button_with_a_mirror_installs_the_coco_model(tmp_path, chromium_available):
    """A fresh app on this machine (so visitors may download by default), a mirror configured:
    the Home page's button installs the model, and the Image page then uses it."""
    lookalike = make_lookalike(tmp_path / "checkpoint")
    catalogue = tmp_path / "catalogue.pickle"  # the look-alike's digests (see the launcher)
    catalogue.write_bytes(pickle.dumps(lookalike_catalogue(lookalike)))
    mirror = Server()
    for name in ("model.ckpt-2000000.index", "word_counts.txt",
                 "model.ckpt-2000000.data-00000-of-00001"):  # fmt: skip
        mirror.add(f"/im2txt/{name}", lookalike.files[name])
    models = tmp_path / "model"
    env = {
        "IM2TXT_MODEL_DIR": str(models),
        "IM2TXT_MODEL_MIRROR": mirror.url("/im2txt"),
        "IM2TXT_TEST_CATALOGUE": str(catalogue),
        "no_proxy": "*",
    }
    launcher = (str(REPO / "tests" / "fixtures" / "lookalike_streamlit.py"),)
    try:
        with (
            streamlit_server(tmp_path / "streamlit.log", env, streamlit=launcher) as url,
            chromium_page() as page,
        ):
            open_page(page, url)
            assert page.get_by_text("knows only coloured shapes").count() == 1
            page.get_by_role("button", name="Get the COCO model (149 MB)").click()
            page.get_by_text("Installed coco-2m from").wait_for(timeout=120_000)
            wait_for_app(page)
            assert page.get_by_role("button", name="Get the COCO model (149 MB)").count() == 0
            assert page.get_by_text("COCO checkpoint model.ckpt-2000000").count() >= 1
            page.screenshot(path=tmp_path / "home-installed.png", full_page=True)

            page.get_by_role("link", name="Image").first.click()
            page.wait_for_url("**/image")
            wait_for_heading(page, HEADINGS["Image"])
            page.get_by_text("the COCO model").first.wait_for(timeout=120_000)
            wait_for_app(page)
            assert page.get_by_text("knows only coloured shapes").count() == 0
            sidebar = page.locator('[data-testid="stSidebarUserContent"]')
            assert sidebar.get_by_text("COCO checkpoint model.ckpt-2000000").count() == 1
            page.screenshot(path=tmp_path / "image-coco.png", full_page=True)
            assert exception_texts(page) == []
    finally:
        mirror.close()
    assert (models / "coco" / "model.ckpt-2000000.data-00000-of-00001").is_file()
