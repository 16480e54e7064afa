"""The ``lessons`` package is exactly the notebooks' ``#@save`` cells: one definition, where it is taught."""
from __future__ import annotations

import ast
import importlib
import json

import pytest

from tools import export_lessons as ex

NOTEBOOKS = sorted(p.name for p in (ex.ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("name", sorted(ex.EXPORTS))
def test_module_is_the_notebooks_saved_cells(name):
    path = ex.module_path(name)
    assert path.exists(), f"lessons/{path.name} is missing: run python tools/export_lessons.py"
    assert path.read_text(encoding="utf-8") == ex.module_text(name), (
        f"lessons/{path.name} differs from the #@save cells of notebooks/{name}: "
        f"run python tools/export_lessons.py")


@pytest.mark.parametrize("name", sorted(ex.EXPORTS))
def test_module_imports_and_names_its_notebook(name):
    module = importlib.import_module(f"lessons.{ex.EXPORTS[name][0]}")
    assert f"notebooks/{name}" in module.__doc__.splitlines()[0]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_saved_cell_has_a_module_and_is_plain_python(name):
    cells = ex.marked_cells(ex.ROOT / "notebooks" / name)
    if cells:
        assert name in ex.EXPORTS, f"notebooks/{name} has #@save cells but no module in tools/export_lessons.py"
    for source in cells:
        magic = [line for line in source.splitlines() if line.lstrip().startswith(("%", "!"))]
        assert not magic, f"a #@save cell of {name} holds notebook-only lines {magic}: they cannot be imported"
        tree = ast.parse(source)
        doing = [f"line {node.lineno}: {ast.unparse(node)[:60]}" for node in tree.body
                 if not isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign,
                                          ast.AnnAssign))
                 and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
        assert not doing, f"a #@save cell of {name} computes on import (define, do not demonstrate): {doing}"


def test_no_lessons_module_without_a_notebook():
    generated = {ex.EXPORTS[name][0] for name in ex.EXPORTS}
    present = {p.stem for p in (ex.ROOT / "lessons").glob("*.py")} - {"__init__"}
    assert present <= generated, f"lessons/ modules nobody generates: {sorted(present - generated)}"


def test_check_mode_names_a_stale_module(tmp_path, monkeypatch, capsys):
    name = sorted(ex.EXPORTS)[0]
    notebook = json.loads((ex.ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith(ex.MARKER):
            cell["source"] = "".join(cell["source"]) + "\nEXTRA = 1\n"
            break
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "lessons").mkdir()
    (tmp_path / "notebooks" / name).write_text(json.dumps(notebook), encoding="utf-8")
    module = ex.module_path(name)
    (tmp_path / "lessons" / module.name).write_text(module.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(ex, "ROOT", tmp_path)
    monkeypatch.setattr(ex, "EXPORTS", {name: ex.EXPORTS[name]})
    assert ex.main(["--check"]) == 1
    assert f"lessons/{module.name} differs" in capsys.readouterr().err
    assert ex.main([]) == 0 and "EXTRA = 1" in (tmp_path / "lessons" / module.name).read_text(encoding="utf-8")
    assert ex.main(["--check"]) == 0
