"""Home page (AppTest): says which models it found in model/, and every page renders."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from fixtures.fake_models import fake_bundle, fake_checkpoint
from fixtures.paths import REPO
from im2txt.storage import locations
from ui import fetch
from ui.models import BY_HAND


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
    assert any("model/coco/" in c.value for c in app.caption)  # how to get the COCO model
    # What the demo model cannot do: once, on the page; the sidebar names the model.
    notices = [t for t in [*text.split("\n"), *(c.value for c in app.caption)] if "knows only" in t]
    assert notices == [fetch.DEMO_NOTICE]
    assert any("im2txt demo (generated shapes)" in m.value for m in app.sidebar.markdown)
    assert not app.sidebar.info


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


# --- getting the COCO model ---------------------------------------------------------------------

GET = "Get the COCO model (149 MB)"


@pytest.fixture(scope="module")
def lookalike(tmp_path_factory):
    from fixtures.model_hosts import make_lookalike

    return make_lookalike(tmp_path_factory.mktemp("lookalike") / "checkpoint")


@pytest.fixture
def mirror(lookalike, monkeypatch):
    """KranthiGV's three files of a COCO-size look-alike in a mirror folder on 127.0.0.1; the
    catalogue carries the look-alike's digests. Yields the mirror's URL."""
    from fixtures.http_server import Server
    from fixtures.model_hosts import lookalike_catalogue
    from im2txt.storage import catalogue

    monkeypatch.setattr(catalogue, "CATALOGUE", lookalike_catalogue(lookalike))
    monkeypatch.setenv("no_proxy", "*")
    server = Server()
    for name in ("model.ckpt-2000000.index", "word_counts.txt",
                 "model.ckpt-2000000.data-00000-of-00001"):  # fmt: skip
        server.add(f"/im2txt/{name}", lookalike.files[name])
    yield server.url("/im2txt")
    server.close()


def clear_settings(monkeypatch):
    from ui.fetch import ENVIRONMENT_KEYS

    for name in ENVIRONMENT_KEYS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.slow
def test_the_button_with_a_mirror_installs_the_coco_model(monkeypatch, tmp_path, mirror):
    models = tmp_path / "model"
    fake_bundle(models / "demo")
    clear_settings(monkeypatch)
    monkeypatch.setenv("IM2TXT_MODEL_MIRROR", mirror)
    monkeypatch.setenv("IM2TXT_MODEL_VISITOR_DOWNLOAD", "true")  # AppTest has no browser URL
    app = run_app(monkeypatch, models)
    assert any("knows only coloured shapes" in w.value for w in app.warning)
    (button,) = [b for b in app.button if b.label == GET]
    button.click()
    app.run()
    assert not app.exception and not app.error
    # IBM's tarball is not in the mirror: one line, then KranthiGV's files from it.
    (note,) = app.success
    assert note.value == (
        "Installed coco-2m from KranthiGV (Google Drive + GitHub) layout, from the mirror in "
        f"`{models / 'coco'}`.  \nCould not use IBM Model Asset Exchange layout, from the "
        f"mirror: {mirror}/assets.tar.gz: HTTP 404 Not Found"
    )
    assert (models / "coco" / "model.ckpt-2000000.data-00000-of-00001").is_file()
    lines = [m.value for m in app.markdown if m.value.startswith("- ")]
    assert "COCO checkpoint model.ckpt-2000000" in lines[0] and "**in use**" in lines[0]
    assert not any(b.label == GET for b in app.button)
    assert not any("knows only coloured shapes" in w.value for w in app.warning)

    app.switch_page("app_pages/image.py")
    app.run()  # the cached loader now loads the new default model
    assert not app.exception
    (line,) = [c.value for c in app.caption if c.value.startswith("Model: ")]
    assert "— the COCO model" in line and "11,520 words" in line
    assert not any(b.label == GET for b in app.button)


def test_the_offer_on_a_public_host_says_why_there_is_no_button(monkeypatch, tmp_path):
    fake_bundle(tmp_path / "demo")
    clear_settings(monkeypatch)
    app = run_app(monkeypatch, tmp_path)  # no browser URL: not this machine
    assert any("knows only coloured shapes" in w.value for w in app.warning)
    assert not app.button
    assert any("model_visitor_download" in c.value for c in app.caption)
    assert any("model/coco/" in c.value for c in app.caption)  # the route by hand


def test_the_operator_s_own_archive(monkeypatch, tmp_path, served_model):
    models = tmp_path / "model"
    fake_bundle(models / "demo")
    clear_settings(monkeypatch)
    monkeypatch.setenv("IM2TXT_MODEL_URL", served_model)
    monkeypatch.setenv("IM2TXT_MODEL_VISITOR_DOWNLOAD", "1")
    monkeypatch.setenv("no_proxy", "*")
    app = run_app(monkeypatch, models)
    (button,) = [b for b in app.button if b.label.startswith("Get the COCO model")]
    assert button.label == "Get the COCO model"  # the size of an archive is not known
    button.click()
    app.run()
    assert not app.exception and not app.error
    assert (models / "coco" / "config.json").is_file()
    lines = [m.value for m in app.markdown if m.value.startswith("- ")]
    assert "tiny test model" in lines[0] and "**in use**" in lines[0]
    assert not app.button


def test_a_failed_download_says_why_and_leaves_nothing(monkeypatch, tmp_path, mirror):
    models = tmp_path / "model"
    fake_bundle(models / "demo")
    clear_settings(monkeypatch)
    monkeypatch.setenv("IM2TXT_MODEL_MIRROR", mirror.replace("/im2txt", "/nothing-here"))
    monkeypatch.setenv("IM2TXT_MODEL_VISITOR_DOWNLOAD", "true")
    app = run_app(monkeypatch, models)
    (button,) = [b for b in app.button if b.label == GET]
    button.click()
    app.run()
    assert not app.exception
    # One message: each source's reason once, then what to do next (issue 22: two warnings, then
    # an error repeating both, and no next step).
    (error,) = app.error
    nothing = mirror.replace("/im2txt", "/nothing-here")
    assert error.value == (
        "**The COCO model could not be downloaded**: no source of coco-2m could be used.\n"
        f"- IBM Model Asset Exchange layout, from the mirror: {nothing}/word_counts.txt: "
        "HTTP 404 Not Found\n"
        f"- KranthiGV (Google Drive + GitHub) layout, from the mirror: {nothing}/"
        "model.ckpt-2000000.index: HTTP 404 Not Found\n\n"
        "What to do: try again later; or download it from a copy of its files (a folder holding "
        "them under their published names): `python -m im2txt download coco-2m --mirror URL`, "
        f"or the app's `model_mirror` setting; or {BY_HAND}"
    )
    assert [w.value for w in app.warning] == [fetch.DEMO_NOTICE]
    # The way by hand is said once, in the message, not again under it.
    assert sum(BY_HAND in text for text in [error.value, *(c.value for c in app.caption)]) == 1
    assert sorted(p.name for p in models.iterdir()) == ["demo"]
    assert any(b.label == GET for b in app.button)  # still offered


@pytest.fixture
def served_model(tmp_path):
    """A converted model (kind "coco") as a .tar.gz on a local HTTP server; yields its URL."""
    from fixtures.http_server import Server, tar_gz
    from fixtures.tiny_model import write_tiny_bundle

    folder = write_tiny_bundle(tmp_path / "served" / "release", kind="coco")
    server = Server()
    yield server.add(f"/{tmp_path.name}/model.tar.gz", tar_gz(folder, "release"))
    server.close()


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["coco-2m", "true"])
def test_fetch_on_start(monkeypatch, tmp_path, mirror, setting):
    models = tmp_path / "model"
    fake_bundle(models / "demo")
    clear_settings(monkeypatch)
    monkeypatch.setenv("IM2TXT_MODEL_MIRROR", mirror)
    monkeypatch.setenv("IM2TXT_MODEL_FETCH_ON_START", setting)
    app = run_app(monkeypatch, models)
    # Fetched before anyone pressed anything, though visitors may not start downloads here.
    assert (models / "coco" / "model.ckpt-2000000.index").is_file()
    assert not app.button


def test_a_failed_fetch_on_start_is_tried_again_later(monkeypatch):
    """Not cached until restart: within RETRY_AFTER the error is reused, after it a new try."""
    from im2txt.errors import DownloadError
    from ui import fetch
    from ui.fetch import ModelSource

    calls = []

    def flaky(source, progress):
        calls.append(source)
        if len(calls) == 1:
            raise DownloadError("coco-2m: no source could be used (host down)")
        return "installed"

    monkeypatch.setattr(fetch, "_fetch", flaky)
    monkeypatch.setattr(fetch, "coco_model_present", lambda: False)
    monkeypatch.setattr(fetch, "_start_failures", {})
    source = ModelSource(name="coco-2m", fetch_on_start=True)
    assert "host down" in fetch._fetch_on_start(source)
    assert "host down" in fetch._fetch_on_start(source)  # every page run asks: not refetched
    assert len(calls) == 1
    monkeypatch.setattr(fetch, "RETRY_AFTER", 0.0)
    assert fetch._fetch_on_start(source) is None  # tried again, and it worked
    assert len(calls) == 2
