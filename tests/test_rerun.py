"""The re-run check itself (conftest.py): it catches the two ways a re-run breaks a notebook.

For every notebook, after nbval's own pass the same kernel re-runs each ignored cell on its
own and then runs every cell a second time, comparing again. These tests run that check on
small notebooks built here, in a pytest of their own, and look at what it reports.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]


def cell(source, printed, count, ignore=False):
    c = new_code_cell(source, execution_count=count,
                      outputs=[new_output("stream", name="stdout", text=printed)] if printed else [])
    if ignore:
        c.metadata["tags"] = ["nbval-ignore-output"]
    return c


def run_check(tmp_path, cells, *options):
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --nbval --nbval-current-env -p no:cacheprovider\n")
    kernelspec = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), tmp_path / "nb.ipynb")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "nb.ipynb", *options],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout


def test_a_cell_that_needs_state_a_later_cell_removed_fails_on_its_re_run(tmp_path):
    # 05's old bug in small: the "training" cell reads a dict entry that a later cell deletes.
    cells = [cell("data = {'x': 1}", "", 1),
             cell("print('trained on', data['x'])", "trained on 1\n", 2, ignore=True),
             cell("del data['x']\nprint('done')", "done\n", 3)]
    rc, out = run_check(tmp_path, cells)
    assert rc == 1, out
    assert "FAILED nb.ipynb::Cell 1 (re-run on its own)" in out and "KeyError" in out
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1, out  # nbval's own pass and the second Run All passed


def test_an_output_that_changes_on_the_second_run_all_fails_there(tmp_path):
    # State outside the kernel's variables (a file written by the first run) changes a compared output.
    cells = [cell("import os\nprint(os.path.exists('flag'))\nopen('flag', 'w').close()", "False\n", 1)]
    rc, out = run_check(tmp_path, cells)
    assert rc == 1, out
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert failed == [line for line in failed if "Cell 0 (second Run All)" in line] and len(failed) == 1, out


def test_a_notebook_that_survives_passes_every_step_and_the_option_turns_the_check_off(tmp_path):
    cells = [cell("data = {'x': 1}", "", 1),
             cell("print('trained on', data['x'])", "trained on 1\n", 2, ignore=True),
             cell("print(sorted(data))", "['x']\n", 3)]
    rc, out = run_check(tmp_path, cells)
    assert rc == 0 and "7 passed" in out, out  # 3 cells + 1 re-run on its own + 3 second Run All
    rc, out = run_check(tmp_path, cells, "--no-rerun")
    assert rc == 0 and "3 passed" in out, out
