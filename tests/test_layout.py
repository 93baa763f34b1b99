"""The code's shape: imports one way, no circles, TensorFlow only where needed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.paths import REPO

LIBRARY = REPO / "im2txt"
# Where import circles are looked for: the library, the app's glue and its pages.
CHECKED = (LIBRARY, REPO / "ui", REPO / "app_pages")


def _modules(*tops: Path) -> dict[str, Path]:
    modules = {}
    for top in tops:
        for path in sorted(top.rglob("*.py")):
            name = ".".join(path.relative_to(top.parent).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(path: Path, module: str) -> set[str]:
    """Every dotted name an import in the file names: `import a.b` gives a.b, `from a import b`
    gives a.b. All of them count: at the top, inside functions and under `if TYPE_CHECKING:`
    (a type checker follows those, and an import circle there is still a circle of meaning)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph(*tops: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports. A name resolves to its longest prefix that is a module:
    `from im2txt.video import probe` is the module probe, `from im2txt.video import VideoInfo` is
    the package's __init__ (which runs all of its imports). The parents every import runs are not
    edges, or every module would form a circle with its package."""
    modules = _modules(*tops)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        found = {resolve(imported) for imported in _imports(path, name)}
        graph[name] = {other for other in found if other is not None and other != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[str]:
    """Each import that lies on a circle, as `a -> b`."""

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return sorted(f"{a} -> {b}" for a in graph for b in graph[a] if a in reachable(b))


def test_no_import_circles_counting_type_checking_imports_and_imports_inside_functions():
    assert _circles(_graph(*CHECKED)) == []


_TYPE_CHECKING_IMPORT_OF_B = (
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n"
)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "pkg"
    package.mkdir()
    for name, text in {"__init__.py": "", **files}.items():
        (package / name).write_text(text)
    return package


def test_the_circle_check_sees_a_type_checking_circle(tmp_path):
    package = _package(
        tmp_path,
        {
            "a.py": _TYPE_CHECKING_IMPORT_OF_B,
            "b.py": "from pkg.a import A\n",
        },
    )
    assert _circles(_graph(package)) == ["pkg.a -> pkg.b", "pkg.b -> pkg.a"]


def test_the_circle_check_sees_an_import_inside_a_function(tmp_path):
    package = _package(
        tmp_path, {"a.py": "def f():\n    from pkg import b\n", "b.py": "from . import a\n"}
    )
    assert _circles(_graph(package)) == ["pkg.a -> pkg.b", "pkg.b -> pkg.a"]


def test_the_circle_check_sees_a_module_importing_its_own_package(tmp_path):
    """`from pkg import name` runs pkg/__init__.py, which here imports the module back."""
    package = _package(
        tmp_path,
        {"__init__.py": "from pkg.a import A\n", "a.py": "from pkg import B\nA = 1\n", "b.py": ""},
    )
    assert _circles(_graph(package)) == ["pkg -> pkg.a", "pkg.a -> pkg"]


def test_the_circle_check_passes_a_line_of_imports(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": "from pkg.a import A\n",
            "a.py": _TYPE_CHECKING_IMPORT_OF_B,
            "b.py": "import json\n",
        },
    )
    assert _circles(_graph(package)) == []


def test_the_library_never_imports_streamlit_or_the_app():
    offenders = {
        name
        for name, path in _modules(LIBRARY).items()
        if any(i.split(".")[0] in ("streamlit", "ui", "pages") for i in _imports(path, name))
    }
    assert offenders == set()


def test_the_library_never_imports_jupyter():
    """Notebooks find _repr_html_ and _repr_pretty_ by name: no import needed, none allowed."""
    jupyter = ("IPython", "ipykernel", "ipywidgets", "jupyter_client", "nbformat", "nbclient")
    offenders = {
        name
        for name, path in _modules(LIBRARY).items()
        if any(i.split(".")[0] in jupyter for i in _imports(path, name))
    }
    assert offenders == set()


def test_subpackages_do_not_use_each_other():
    """storage, video, demo and batch use the core, never each other (demo writes a bundle,
    batch ships a model's files); only the command line, the front end, uses them all."""
    rooms = ("storage", "video", "demo", "batch", "cli")
    allowed = {("demo", "storage"), ("batch", "storage")}
    crossings = set()
    for name, deps in _graph(LIBRARY).items():
        room = name.split(".")[1] if name.count(".") >= 1 else ""
        if room not in rooms or room == "cli":
            continue
        for dep in deps:
            other = dep.split(".")[1] if dep.count(".") >= 1 else ""
            if other in rooms and other != room and (room, other) not in allowed:
                crossings.add(f"{name} -> {dep}")
    assert crossings == set()


@pytest.mark.parametrize(
    "modules",
    [
        "im2txt",
        "im2txt.vocabulary, im2txt.beam_search, im2txt.weights, im2txt.image_processing",
        "im2txt.storage.checkpoint, im2txt.storage.bundle, im2txt.storage.model_files",
        "im2txt.storage.discovery, im2txt.storage.convert",
        "im2txt.storage.catalogue, im2txt.storage.install, im2txt.storage.fetch",
        "im2txt.video, im2txt.cli",
        "im2txt.batch, im2txt.batch.job, im2txt.batch.worker, im2txt.batch.reading",
    ],
)
def test_modules_import_without_tensorflow(modules):
    code = f"import sys, {modules}; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_tensorflow_check_can_fail():
    code = "import sys, im2txt.model; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "True"
