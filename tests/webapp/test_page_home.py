"""Home page (AppTest): says which models it found in model/, and every page renders."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from fixtures.fake_models import fake_bundle, fake_checkpoint
from fixtures.paths import REPO
from im2txt.storage import locations


def run_app(monkeypatch, model_dir) -> AppTest:
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(model_dir))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def page_text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [w.value for w in app.warning]
    parts += [i.value for i in app.info] + [e.value for e in app.error]
    return "\n".join(parts)


def test_home_with_nothing(monkeypatch, tmp_path):
    # A broken install: not even the shipped demo model is there.
    monkeypatch.setattr(locations, "SHIPPED_DEMO", tmp_path / "no-shipped-demo")
    app = run_app(monkeypatch, tmp_path)
    assert "Show and Tell" in app.title[0].value
    text = page_text(app)
    assert f"No model in `{tmp_path.name}`" in text
    assert str(tmp_path) not in text  # the server's own folders are not shown
    assert "model/coco/" in text
    assert any("no model in" in e.value for e in app.sidebar.error)


def test_home_with_demo_model(monkeypatch, tmp_path):
    fake_bundle(tmp_path / "demo")
    app = run_app(monkeypatch, tmp_path)
    text = page_text(app)
    assert "im2txt demo (generated shapes)" in text and "**in use**" in text
    assert "model/coco/" in text  # how to get the COCO model
    assert any("knows only generated shapes" in i.value for i in app.sidebar.info)


def test_home_with_coco_checkpoint_and_demo(monkeypatch, tmp_path):
    fake_bundle(tmp_path / "demo")
    fake_checkpoint(tmp_path / "coco")
    app = run_app(monkeypatch, tmp_path)
    lines = [m.value for m in app.markdown if m.value.startswith("- ")]
    assert "COCO checkpoint model.ckpt-2000000" in lines[0] and "**in use**" in lines[0]
    assert "demo" in lines[1] and "in use" not in lines[1]
    assert not app.sidebar.info  # no demo warning when the COCO model is in use


def test_home_reports_a_broken_checkpoint(monkeypatch, tmp_path):
    fake_checkpoint(tmp_path / "coco", vocab=False)
    app = run_app(monkeypatch, tmp_path)
    assert "cannot be used" in page_text(app) and "word_counts.txt is missing" in page_text(app)


@pytest.mark.parametrize("page", ["app_pages/image.py", "app_pages/video.py"])
def test_other_pages_render(monkeypatch, tmp_path, page):
    fake_bundle(tmp_path / "demo")
    app = run_app(monkeypatch, tmp_path)
    app.switch_page(page)
    app.run()
    assert not app.exception
    assert app.title


# --- getting the COCO model from the operator's URL ---------------------------------------------


@pytest.fixture
def served_model(tmp_path):
    """A converted model (kind "coco") as a .tar.gz on a local HTTP server; yields its URL."""
    from fixtures.http_server import Server, tar_gz
    from fixtures.tiny_model import write_tiny_bundle

    folder = write_tiny_bundle(tmp_path / "served" / "release", kind="coco")
    server = Server()
    yield server.add(f"/{tmp_path.name}/model.tar.gz", tar_gz(folder, "release"))
    server.close()


def test_download_button_fetches_the_configured_model(monkeypatch, tmp_path, served_model):
    models = tmp_path / "model"
    fake_bundle(models / "demo")
    monkeypatch.setenv("IM2TXT_MODEL_URL", served_model)
    monkeypatch.setenv("no_proxy", "*")
    app = run_app(monkeypatch, models)
    assert any("Get the COCO model" in s.value for s in app.subheader)
    (button,) = [b for b in app.button if b.label == "Download the COCO model"]
    button.click()
    app.run()
    assert not app.exception and not app.error
    assert (models / "coco" / "config.json").is_file()
    lines = [m.value for m in app.markdown if m.value.startswith("- ")]
    assert "tiny test model" in lines[0] and "**in use**" in lines[0]
    assert not any(b.label == "Download the COCO model" for b in app.button)


def test_no_button_without_a_configured_url(monkeypatch, tmp_path):
    monkeypatch.delenv("IM2TXT_MODEL_URL", raising=False)
    fake_bundle(tmp_path / "demo")
    app = run_app(monkeypatch, tmp_path)
    assert not app.button and not any("Get the COCO model" in s.value for s in app.subheader)


def test_fetch_on_start(monkeypatch, tmp_path, served_model):
    models = tmp_path / "model"
    fake_bundle(models / "demo")
    monkeypatch.setenv("IM2TXT_MODEL_URL", served_model)
    monkeypatch.setenv("IM2TXT_MODEL_FETCH_ON_START", "true")
    monkeypatch.setenv("no_proxy", "*")
    app = run_app(monkeypatch, models)
    assert (models / "coco" / "config.json").is_file()  # fetched before anyone pressed anything
    assert not app.button
