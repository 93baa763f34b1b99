"""Everyday image files (fixtures.everyday: HEIC, AVIF, WebP, MPO, JPEG 2000, TGA, ICO, GIF, a
PNG with a 2 MB ICC profile, an SVG) the four ways in: `caption` naming each file, `caption` on
their folder, `batch` on the folder, and the Image page (AppTest, and Chromium). Each file is
captioned or answered with one line naming it and saying what to do, and the ways agree file by
file. The oracle is `caption --json` on the folder; the model is a tiny random bundle (its
captions are words of no meaning, but the same ones every way)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fixtures.browser import chromium_page, exception_texts, streamlit_server, wait_for_app
from fixtures.everyday import IMAGES, write_everyday
from fixtures.paths import REPO
from fixtures.ray_processes import run_batch
from fixtures.tiny_model import write_tiny_bundle
from im2txt import cli

# A worker's batches group the images otherwise than `caption`'s (see tests/batch/test_batch_ray).
RELATIVE = 5e-5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("everyday") / "photos"
    write_everyday(folder)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A models folder whose demo is the tiny bundle: what the app finds, what the CLI is given."""
    folder = tmp_path_factory.mktemp("models")
    write_tiny_bundle(folder / "demo", kind="demo")
    return folder


def caption_json(*argv) -> tuple[int, list[dict]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["caption", "--json", *map(str, argv)])
    return status, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def folder_rows(corpus, models) -> dict[str, dict]:
    """`caption --json` on the folder: file name -> its row (captions or error)."""
    status, rows = caption_json("--model", models / "demo", corpus)
    assert status == 1  # the SVG
    return {Path(row["image"]).name: row for row in rows}


def assert_answered(name: str, row: dict) -> None:
    """A good file has captions; any other has one line naming it and saying what to do."""
    kind = next(k for k in IMAGES if k.name == name)
    if kind.good:
        assert "error" not in row and row["captions"], (name, row)
    else:
        assert row == {"image": row["image"], "error": f"{row['image']}: {kind.error}"}


def test_the_folder_lists_every_file_and_each_is_answered(corpus, folder_rows):
    """Nothing is skipped: before, the folder walk left out HEIC, AVIF, MPO, JP2, TGA, ICO and
    SVG, which `caption` captions (or answers) when they are named."""
    assert sorted(folder_rows) == sorted(k.name for k in IMAGES)
    for name, row in folder_rows.items():
        assert_answered(name, row)


def test_caption_naming_each_file_agrees_with_the_folder(corpus, models, folder_rows):
    paths = [corpus / k.name for k in IMAGES]
    status, rows = caption_json("--model", models / "demo", *paths)
    assert status == 1
    assert [row["image"] for row in rows] == [str(p) for p in paths]
    for row in rows:
        name = Path(row["image"]).name
        assert_same(row, folder_rows[name], name)


def assert_same(row: dict, expected: dict, name: str, relative: float = 1e-6) -> None:
    """The same answer: the same error line, or the same captions to `relative`."""
    assert row.get("error") == expected.get("error"), name
    got, want = row.get("captions") or [], expected.get("captions") or []
    assert [c["text"] for c in got] == [c["text"] for c in want], name
    for a, b in zip(got, want, strict=True):
        assert a["probability"] == pytest.approx(b["probability"], rel=relative), name


@pytest.mark.slow
def test_batch_on_the_folder_agrees_with_caption(tmp_path, corpus, models, folder_rows):
    out = tmp_path / "captions.jsonl"
    status, err = run_batch([corpus, "--out", out, "--model", models / "demo", "--workers", "1"])
    assert status == 0, err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [Path(row["image"]).name for row in rows] == sorted(folder_rows)
    for row in rows:
        name = Path(row["image"]).name
        assert_same(row, folder_rows[name], name, RELATIVE)
    assert f"Done: {len(IMAGES)} images, {len(IMAGES)} captioned by this run (1 error)" in err


# --- the Image page --------------------------------------------------------------------------


@pytest.fixture
def app(models, monkeypatch) -> AppTest:
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(models))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    app.run()
    app.switch_page("app_pages/image.py")
    app.run()
    return app


def test_the_image_page_agrees_with_caption(app, corpus, folder_rows):
    """The uploader takes every file (no `type` list: Streamlit would refuse HEIC, AVIF, ... with
    a reason on hover only), and each gets its caption or the library's line on the page."""
    uploader = app.get("file_uploader")[0]
    assert list(uploader.proto.type) == []
    files = [(k.name, (corpus / k.name).read_bytes(), "application/octet-stream") for k in IMAGES]
    uploader.set_value(files)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    tables = iter(app.table)
    errors = iter(e.value for e in app.error)
    for kind in IMAGES:
        expected = folder_rows[kind.name]
        if "error" in expected:
            # The page names the upload, the CLI the path: the same line after the name.
            reason = expected["error"].split(": ", 1)[1]
            assert next(errors) == f"{kind.name}: {reason}"
        else:
            table = next(tables).value
            assert list(table["Caption"]) == [c["text"] for c in expected["captions"]]
            percentages = [f"{100 * c['probability']:.4f}%" for c in expected["captions"]]
            assert list(table["Probability"]) == percentages, kind.name
    assert next(tables, None) is None and next(errors, None) is None


# A table's rows as lists of their cells' texts.
TABLE_ROWS = "rows => rows.map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText.trim()))"


@pytest.mark.slow
@pytest.mark.browser
def test_the_image_page_in_chromium_agrees_with_caption(
    tmp_path, corpus, models, folder_rows, chromium_available
):
    """The corpus uploaded at once, at 1366x768 with the sidebar open and on a 390x844 phone: no
    file chip refused, each file's box holds its caption or its line, in sight when scrolled to."""
    env = {"IM2TXT_MODEL_DIR": str(models)}
    with streamlit_server(tmp_path / "streamlit.log", env=env) as url:
        for viewport in [(1366, 768), (390, 844)]:
            with chromium_page(viewport) as page:
                page.goto(f"{url}/image")
                wait_for_app(page)
                uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
                uploader.set_input_files([str(corpus / k.name) for k in IMAGES])
                page.locator(f".st-key-result-{len(IMAGES) - 1}").wait_for(timeout=120_000)
                wait_for_app(page, timeout_ms=120_000)
                assert exception_texts(page) == []
                assert page.locator('[data-testid="stFileChipIconError"]').count() == 0
                for i, kind in enumerate(IMAGES):
                    box = page.locator(f".st-key-result-{i}")
                    expected = folder_rows[kind.name]
                    if "error" in expected:
                        alert = box.locator('[data-testid="stAlert"]')
                        alert.scroll_into_view_if_needed()
                        assert alert.is_visible(), (viewport, kind.name)
                        reason = expected["error"].split(": ", 1)[1]
                        assert alert.inner_text().strip() == f"{kind.name}: {reason}"
                    else:
                        rows = box.locator("table tbody tr").evaluate_all(TABLE_ROWS)
                        assert rows == [
                            [str(rank), f"{100 * c['probability']:.4f}%", c["text"]]
                            for rank, c in enumerate(expected["captions"], start=1)
                        ], kind.name
                        img = box.locator("img")
                        assert img.evaluate("i => i.naturalWidth > 0"), kind.name
