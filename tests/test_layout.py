"""The package's shape: imports one way, no cycles, small modules, TensorFlow only where needed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.paths import REPO

LIBRARY = REPO / "im2txt"


def _modules(top: Path) -> dict[str, Path]:
    modules = {}
    for path in sorted(top.rglob("*.py")):
        name = ".".join(path.relative_to(top.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(path: Path, module: str) -> set[str]:
    """Every module named by an import in the file, inside functions too; not TYPE_CHECKING ones."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules(LIBRARY)
    graph = {}
    for name, path in modules.items():
        graph[name] = {
            other
            for other in _imports(path, name)
            if other in modules
            and other != name
            # a package and its own modules may import each other (re-exports)
            and not name.startswith(other + ".")
            and not other.startswith(name + ".")
        }
    return graph


def test_no_import_cycles_counting_imports_inside_functions():
    graph = _graph()

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a in reachable(b))
    assert cycles == []


def test_the_cycle_check_can_fail(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text("from pkg.a import f\n")
    assert "pkg.b" in _imports(package / "a.py", "pkg.a")
    assert "pkg.a" in _imports(package / "b.py", "pkg.b")


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
    for name, deps in _graph().items():
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
        "im2txt.storage.discovery, im2txt.storage.download, im2txt.storage.convert",
        "im2txt.storage.catalogue, im2txt.storage.install, im2txt.storage.drive",
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
