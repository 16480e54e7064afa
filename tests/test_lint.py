"""Code and notebooks stay clean: ruff finds nothing, and notebooks are saved normalised."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import run_notebook  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_ruff_finds_nothing_in_code_tests_and_notebooks():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", "--no-cache", "utils", "tests", "tools", "notebooks", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_json_is_normalised(path, tmp_path):
    """A second run of the formatter changes no byte (stable keys, no timing metadata, no widget state)."""
    copy = tmp_path / path.name
    run_notebook.write(run_notebook.normalise(nbformat.read(path, as_version=4)), copy)
    assert copy.read_bytes() == path.read_bytes(), f"run: python tools/run_notebook.py --no-execute {path.name}"
