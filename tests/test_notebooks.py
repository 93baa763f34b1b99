"""The notebooks: committed clean and on the public API; run top to bottom in a fresh kernel (from
a copy of the checkout's layout) with their outputs checked against captions computed here."""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from traitlets import default

import im2txt
import im2txt.video
from fixtures.html_tree import Node, parse
from fixtures.paths import REPO
from fixtures.tiny_model import write_tiny_bundle
from im2txt.storage.locations import MODEL_DIR_ENV

NOTEBOOKS = REPO / "notebooks"
NAMES = ("img2txt.ipynb", "video2txt.ipynb")
# Seconds a cell may take: loading TensorFlow and the model on a busy 2-core machine is the most.
CELL_TIMEOUT = 300
PUBLIC = {"im2txt": set(im2txt.__all__), "im2txt.video": set(im2txt.video.__all__)}


class ThisPython(AsyncKernelManager):
    """The ipykernel of the interpreter running the tests, whatever kernel specs ~ holds."""

    @default("kernel_spec_manager")
    def _no_installed_specs(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[])  # only ipykernel's own: sys.executable


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=nbformat.NO_CONVERT)


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    notebook = read(name)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, name
    assert [(c.outputs, c.execution_count) for c in code] == [([], None)] * len(code)


@pytest.mark.parametrize("name", NAMES)
def test_only_the_public_api(name):
    for cell in read(name).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("im2txt"):
                assert {a.name for a in node.names} <= PUBLIC[node.module], ast.unparse(node)
            elif isinstance(node, ast.Import):
                assert all(a.name in ("im2txt", "os", "sys", "tempfile") for a in node.names)
            elif isinstance(node, ast.Attribute) and ast.unparse(node.value) == "im2txt":
                assert node.attr in PUBLIC["im2txt"], ast.unparse(node)


def test_the_api_check_can_fail():
    private = ast.parse("from im2txt.captioner import Captioner").body[0]
    assert private.module not in PUBLIC


def execute(name: str, tmp_path: Path) -> nbformat.NotebookNode:
    """Run a copy of the notebook in checkout/notebooks/, beside links to the package and the
    samples: as opened from a fresh checkout, without writing anything into this one."""
    checkout = tmp_path / "checkout"
    (checkout / "notebooks").mkdir(parents=True)
    for folder in ("im2txt", "sample_images"):
        (checkout / folder).symlink_to(REPO / folder)
    shutil.copy(NOTEBOOKS / name, checkout / "notebooks")
    notebook = nbformat.read(checkout / "notebooks" / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        kernel_manager_class=ThisPython,
        resources={"metadata": {"path": str(checkout / "notebooks")}},
    )
    # IPython's profile folder in the test's own folder, not the home folder. As in a user's
    # Jupyter: TensorFlow's log level unset (conftest.py sets it for this process), and what is
    # written to the kernel's stderr file shown as the cell's stderr (ipykernel does not forward
    # it when it sees PYTEST_CURRENT_TEST).
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")}
    for variable in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST"):
        env.pop(variable, None)
    client.execute(env=env)  # raises CellExecutionError on the first failing cell
    return notebook


def stderr_of(notebook: nbformat.NotebookNode) -> list[str]:
    """What the cells wrote to stderr: Jupyter shows it as a pink block under the cell."""
    return [
        output.text
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "stream" and output.name == "stderr"
    ]


def outputs(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
    """Every output of that type, cell by cell ("text" for printed streams)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if mime == "text" and output.output_type == "stream":
                found.append(output.text)
            elif mime in output.get("data", {}):
                found.append(output.data[mime])
    return found


def words(node: Node) -> tuple[str, ...]:
    return tuple(span.own_text() for span in node.all("span", "im2txt-word"))


@pytest.mark.parametrize("installed", [False, True], ids=["demo model", "model installed"])
def test_img2txt_shows_every_photo_with_its_captions(tmp_path, monkeypatch, installed):
    if installed:  # a model in the models folder's coco/, where a COCO download goes
        write_tiny_bundle(tmp_path / "models" / "coco")
        monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "models"))
    notebook = execute("img2txt.ipynb", tmp_path)
    # Issue 22: TensorFlow's start-up lines were shown under the cell that loads the model.
    assert stderr_of(notebook) == []
    folder = REPO / "sample_images"
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    captioner = im2txt.load_captioner()
    assert captioner.info.kind == ("custom" if installed else "demo")
    expected = captioner.caption_each(photos, names=[p.name for p in photos])
    assert len(expected) >= 6 and not any(r.error for r in expected)
    grid = parse(outputs(notebook, "text/html")[0])
    figures = {f.one("figcaption").text: f for f in grid.all("figure")}
    assert set(figures) == {p.name for p in photos}
    for result in expected:
        figure = figures[result.name]
        assert len(figure.all("img")) == 1, result.name  # the thumbnail
        items = figure.all("li")
        assert [words(li) for li in items] == [c.words for c in result.captions]
        probabilities = [float(li.one(cls="im2txt-probability").text[2:]) for li in items]
        assert probabilities == pytest.approx([c.probability for c in result.captions], abs=2e-6)
    printed = "".join(outputs(notebook, "text"))
    assert printed.startswith(f"{captioner.info.name}\n{expected[0].name}\n  0) ")
    assert f"0) {expected[0].captions[0].text} (p=" in printed


def test_video2txt_plays_the_captioned_clip(tmp_path):
    from im2txt.video import caption_video

    notebook = execute("video2txt.ipynb", tmp_path)
    assert stderr_of(notebook) == []
    captioner = im2txt.load_captioner()
    expected = caption_video(captioner, REPO / "sample_images" / "shapes.mp4")
    (page,) = outputs(notebook, "text/html")
    tree = parse(page)
    player = tree.one("video")
    assert player.one("source").attrs["src"].startswith("data:video/mp4;base64,")
    assert player.one("track").attrs["src"].startswith("data:text/vtt;base64,")
    rows = tree.one("tbody").all("tr")
    assert [words(row) for row in rows] == [s.caption.words for s in expected.segments]
    printed = "".join(outputs(notebook, "text"))
    # The model the notebook loaded, then the subtitles.
    assert printed.startswith(f"{captioner.info.name}\nWEBVTT\n")
    assert re.findall(r"--> [\d:.]+\n(.+)\n", printed) == [s.text for s in expected.segments]
    # The rendered file was in a temporary folder, which the last cell removed.
    (summary,) = [text for text in outputs(notebook, "text/plain") if ".mp4" in text]
    rendered = Path(summary.splitlines()[0])
    assert rendered.name == "shapes_captioned.mp4" and not rendered.parent.exists()
