"""Notebooks survive a learner's habits: Run All, scroll back and re-run a training cell, Run All again.

For each notebook, in one kernel (as a learner's session is):

1. run every cell in order;
2. re-run, each on its own, every cell whose output is not compared (the training cells,
   the loader reports, the timings): a cell that depends on state a later cell changed
   fails here;
3. run every cell in order a second time.

Steps 1 and 3 must reproduce every compared output (the cells without
``nbval-ignore-output``) exactly as stored, the way nbval compares them: stdout text and
the text/HTML parts of results (images and stderr are not compared, as in the nbval run).
No step may raise. This runs in the test mode (fast and offline, see conftest.py).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IGNORE, SKIP = "nbval-ignore-output", "nbval-skip"
NOT_COMPARED_KEYS = {"image/png", "image/jpeg", "image/svg+xml", "application/vnd.jupyter.widget-view+json"}


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def comparable(outputs) -> dict[str, list]:
    """What nbval compares of a cell's outputs: stdout, and the non-image data of results."""
    seen: dict[str, list] = {"stdout": [""]}
    for output in outputs:
        if output.get("output_type") == "stream":
            if output.get("name") == "stdout":
                seen["stdout"][0] += output.get("text", "")
        elif output.get("output_type") in ("execute_result", "display_data"):
            for key, value in output.get("data", {}).items():
                if key not in NOT_COMPARED_KEYS:
                    seen.setdefault(key, []).append(value)
        elif output.get("output_type") == "error":
            seen.setdefault("error", []).append(f"{output.get('ename')}: {output.get('evalue')}")
    return seen


def run_all(client, nb, expected, step):
    differences = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or SKIP in tags(cell):
            continue
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as error:
            pytest.fail(f"{step}: cell {index} raised\n{str(error)[-1500:]}")
        if IGNORE not in tags(cell) and comparable(cell.outputs) != expected[index]:
            differences.append(index)
    return differences


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_run_all_rerun_training_cells_run_all_again(path):
    nb = nbformat.read(path, as_version=4)
    expected = {i: comparable(c.outputs) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        first = run_all(client, nb, expected, "first Run All")
        assert not first, f"first Run All: compared outputs of cells {first} differ from the stored ones"
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and IGNORE in tags(cell) and SKIP not in tags(cell):
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as error:
                    pytest.fail(f"re-running cell {index} on its own (after Run All) raised\n{str(error)[-1500:]}")
        second = run_all(client, nb, expected, "second Run All")
        assert not second, f"second Run All: compared outputs of cells {second} changed"
