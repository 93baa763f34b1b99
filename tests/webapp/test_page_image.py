"""Image page (AppTest): uploads, a bad file, samples, settings, downloads; the model is a tiny
random bundle standing in for the demo model, so results are checked against the library."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from fixtures.paths import REPO
from fixtures.tiny_model import write_tiny_bundle
from im2txt import load_captioner
from im2txt.config import DecodeConfig
from ui import fetch


def png(seed: int, size=(48, 40)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (*size[::-1], 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    write_tiny_bundle(tmp_path / "demo", kind="demo")
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    monkeypatch.chdir(REPO)
    return tmp_path


def open_page(model_dir) -> AppTest:
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    app.run()
    app.switch_page("app_pages/image.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def expanded_text(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def every_text(app: AppTest) -> list[str]:
    """The text of every element that shows some, in the main area and the sidebar."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning",
             "error", "success", "toast")  # fmt: skip
    return [element.value for kind in kinds for element in getattr(app, kind)]


def summary_line(app: AppTest) -> str:
    """The line over the results."""
    (line,) = [c.value for c in app.caption if c.value.startswith(("Captioned", "No image"))]
    return line


def test_page_invites_input_and_states_the_upload_limit(model_dir):
    app = open_page(model_dir)
    assert app.title[0].value == "Caption images"
    assert "up to 200 MB each" in app.get("file_uploader")[0].label
    assert any("Upload photos" in i.value for i in app.info)
    assert any("tiny test model" in c.value for c in app.caption)


def test_uploads_are_captioned_like_the_library(model_dir):
    app = open_page(model_dir)
    files = [("one.png", png(1), "image/png"), ("two.png", png(2), "image/png")]
    app.get("file_uploader")[0].set_value(files)
    app.run()
    assert not app.exception and not app.error
    expected = load_captioner(model_dir / "demo").caption_many([png(1), png(2)])
    tables = [table.value for table in app.table]
    assert len(tables) == 2
    for table, captions in zip(tables, expected, strict=True):
        assert list(table["Caption"]) == [c.text for c in captions]
        assert list(table["Probability"]) == [f"{100 * c.probability:.4f}%" for c in captions]
    assert re.fullmatch(r"Captioned 2 images in \d+\.\d\d s, beam size 3\.", summary_line(app))
    # Downloads: JSON in the CLI's shape, CSV with one row per caption.
    buttons = {b.label: b for b in app.get("download_button")}
    assert set(buttons) == {"Download JSON", "Download CSV"}


def test_bar_charts_only_when_asked_for(model_dir):
    """The chart is the costliest part of a result (Altair on the server, Vega in every
    visitor's browser), so it is off until the visitor turns it on; its bars are named by the
    table's ranks, which are never cut like a caption as an axis label."""
    app = open_page(model_dir)
    files = [("one.png", png(1), "image/png"), ("two.png", png(2), "image/png")]
    app.get("file_uploader")[0].set_value(files)
    app.run()
    assert not app.get("vega_lite_chart")
    assert [list(t.value["Rank"]) for t in app.table] == [[1, 2, 3]] * 2
    app.toggle(key="charts").set_value(True)
    app.run()
    charts = app.get("vega_lite_chart")
    assert len(charts) == 2
    assert all('"Rank"' in chart.proto.spec for chart in charts)


def test_a_bad_file_is_one_error_and_the_others_still_work(model_dir):
    app = open_page(model_dir)
    files = [
        ("broken.jpg", b"this is text named .jpg", "image/jpeg"),
        ("good.png", png(3), "image/png"),
    ]
    app.get("file_uploader")[0].set_value(files)
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == ["broken.jpg: not an image (unrecognised file format)"]
    assert len(app.table) == 1
    # What was captioned and what was refused, counted apart.
    assert re.fullmatch(
        r"Captioned 1 of 2 images in \d+\.\d\d s, beam size 3; 1 refused\.", summary_line(app)
    )


def test_when_the_only_image_is_refused_none_is_said_to_be_captioned(model_dir):
    """Issue 22: "Captioned 1 image(s)" was shown over a photo refused for its size."""
    from fixtures.hostile import IMAGES

    (huge,) = [kind for kind in IMAGES if kind.name == "huge_header.jpg"]  # 65,000 x 65,000
    app = open_page(model_dir)
    app.get("file_uploader")[0].set_value([(huge.name, huge.make(), "image/jpeg")])
    app.run()
    assert not app.exception and not app.table
    (error,) = app.error
    assert error.value.startswith(huge.name) and huge.error in error.value
    assert summary_line(app) == "No image captioned: 1 refused."


def test_the_demo_notice_is_said_once_on_a_page_of_six_results(model_dir):
    """Issue 22: 8 times on a page of 6 photos (the sidebar, a banner, under every result)."""
    app = open_page(model_dir)
    app.get("file_uploader")[0].set_value(
        [(f"{seed}.png", png(seed), "image/png") for seed in range(6)]
    )
    app.run()
    assert not app.exception and not app.error and len(app.table) == 6
    notices = [text for text in every_text(app) if "knows only" in text]
    assert notices == [fetch.DEMO_NOTICE]
    assert [w.value for w in app.warning] == [fetch.DEMO_NOTICE]  # the banner over the page
    # The sidebar still names the model in use.
    assert any("tiny test model" in m.value for m in app.sidebar.markdown)


def test_settings_change_the_search(model_dir):
    app = open_page(model_dir)
    app.get("file_uploader")[0].set_value(("x.png", png(4), "image/png"))
    app.run()
    assert len(app.table[0].value) == 3  # default beam size 3
    app.slider(key="beam_size").set_value(5)
    app.run()
    assert app.slider(key="captions_shown").value == 5
    expected = load_captioner(model_dir / "demo").caption(png(4), decode=DecodeConfig(beam_size=5))
    assert list(app.table[0].value["Caption"]) == [c.text for c in expected]
    app.slider(key="captions_shown").set_value(2)
    app.run()
    assert len(app.table[0].value) == 2


def test_the_sliders_start_at_decode_configs_bounds(model_dir):
    from im2txt.config import MIN_BEAM_SIZE, MIN_CAPTION_LENGTH, MIN_LENGTH_NORMALIZATION

    app = open_page(model_dir)
    lowest = {
        key: app.slider(key=key).min for key in ("beam_size", "max_length", "length_normalization")
    }
    assert lowest == {
        "beam_size": MIN_BEAM_SIZE,
        "max_length": MIN_CAPTION_LENGTH,
        "length_normalization": MIN_LENGTH_NORMALIZATION,
    }


def test_words_are_tinted_as_a_notebook_tints_them(model_dir):
    # One colouring rule: the page's words carry the background the notebook's HTML gives them.
    from im2txt.display import caption_html

    app = open_page(model_dir)
    app.get("file_uploader")[0].set_value(("x.png", png(4), "image/png"))
    app.run()
    (best, *_) = load_captioner(model_dir / "demo").caption(png(4))
    tinted = [m.value for m in app.markdown if "background:" in m.value]
    assert len(tinted) == 1
    page = re.findall(r"background:(hsl\([^)]*\))", tinted[0])
    notebook = re.findall(r"background:(hsl\([^)]*\))", caption_html(best))
    assert page == notebook and len(page) == len(best.words)


def test_results_export(model_dir):
    from im2txt import results_csv as formats
    from ui import images

    captioner = load_captioner(model_dir / "demo")
    results = tuple(captioner.caption_each([png(5), b"junk"], names=["a.png", "b.jpg"]))
    data = json.loads(images.results_json(results))
    assert data[0]["image"] == "a.png" and len(data[0]["captions"]) == 3
    assert data[1] == {"image": "b.jpg", "error": "b.jpg: not an image (unrecognised file format)"}
    # batch's layout: one line per image, its captions side by side, or its error.
    text = images.results_csv(results)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["image"] for r in rows] == ["a.png", "b.jpg"]
    assert [bool(r["caption_3"]) for r in rows] == [True, False]
    assert rows[1]["error"] == data[1]["error"] and rows[0]["error"] == ""
    assert float(rows[0]["probability_1"]) == results[0].captions[0].probability
    assert list(formats.read_csv(io.StringIO(text))) == data  # read back exactly, as batch does


def test_picking_samples(model_dir):
    app = open_page(model_dir)
    (pills,) = app.get("button_group")
    scenes = [p for p in pills.options if "scene" in str(p)]
    assert len(scenes) >= 2
    pills.set_value(scenes[:2])
    app.run()
    assert not app.exception and not app.error
    assert len(app.table) == 2
    assert summary_line(app).startswith("Captioned 2 images in ")


def test_with_a_coco_model_the_page_says_so_and_offers_nothing(tmp_path, monkeypatch):
    write_tiny_bundle(tmp_path / "coco", kind="coco")
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("IM2TXT_MODEL_VISITOR_DOWNLOAD", "true")
    monkeypatch.chdir(REPO)
    app = open_page(tmp_path)
    (line,) = [c.value for c in app.caption if c.value.startswith("Model: ")]
    assert line.startswith("Model: **tiny test model** — the COCO model")
    app.get("file_uploader")[0].set_value([("one.png", png(1), "image/png")])
    app.run()
    assert not app.exception and len(app.table) == 1
    assert not app.button and not app.warning
    assert not any("knows only coloured shapes" in c.value for c in app.caption)


@pytest.mark.parametrize("page", ["app_pages/image.py", "app_pages/video.py"])
def test_an_incomplete_coco_model_is_named_where_the_demo_is_used(model_dir, page):
    coco = model_dir / "coco"
    coco.mkdir()
    (coco / "model.ckpt-2000000.index").write_bytes(b"")
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception
    # Beside the demo model's notice (it knows only shapes), the reason the COCO one is skipped.
    (warning,) = [w.value for w in app.warning if w.value.startswith("Not using")]
    assert warning == (
        "Not using incomplete checkpoint model.ckpt-2000000: "
        f"{model_dir.name}/coco: model.ckpt-2000000.index has no .data-00000-of-00001 file "
        "beside it"
    )


def test_sixteen_bit_float_and_thin_images_are_shown_with_the_rest(model_dir):
    """st.image raised on them (cannot write mode I;16 as JPEG; height and width must be > 0)
    after the captioning, and every later result and the downloads were lost."""
    grey16 = io.BytesIO()
    Image.fromarray(np.arange(48 * 40, dtype=np.uint16).reshape(40, 48) * 30).save(grey16, "PNG")
    floats = io.BytesIO()
    Image.fromarray(np.linspace(0, 1, 48 * 40, dtype=np.float32).reshape(40, 48)).save(
        floats, "TIFF"
    )
    files = [
        ("grey16.png", grey16.getvalue(), "image/png"),
        ("float.tif", floats.getvalue(), "image/tiff"),
        ("line.png", png(6, size=(3000, 1)), "image/png"),
        ("last.png", png(7), "image/png"),
    ]
    app = open_page(model_dir)
    app.get("file_uploader")[0].set_value(files)
    app.run()
    assert not app.exception and not app.error
    assert [c for image in app.get("image") for c in image.captions] == [f[0] for f in files]
    assert len(app.table) == 4 and len(app.get("download_button")) == 2
