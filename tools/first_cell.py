"""Keep every notebook's opening the same: the set-up cell and the licence line.

    python tools/first_cell.py          # rewrite them in every notebook
    python tools/first_cell.py --check  # exit 1 if a notebook differs (a test runs this)

The set-up cell's text is ``utils.course.FIRST_CELL`` (the repository address is defined
there once). Its output is the mode line, which differs between the reference run and the
test run, so the cell carries ``nbval-ignore-output``. The licence line ends the first
markdown cell, as in tensorflow/docs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils.course import FIRST_CELL  # noqa: E402

IGNORE = "nbval-ignore-output"
LICENCE = ("<sub>Code: [Apache 2.0](../LICENSE) · Text and figures: [CC BY 4.0](../LICENSE-TEXT.md) · "
           "[How to cite](../README.md#citing-the-course)</sub>")


def fix(nb) -> bool:
    """Bring one notebook's opening in line; True if anything changed."""
    changed = False
    intro = nb.cells[0]
    if LICENCE not in intro.source:
        lines = [line for line in intro.source.rstrip().splitlines() if not line.startswith("<sub>Code:")]
        intro.source = "\n".join(lines).rstrip() + "\n\n" + LICENCE
        changed = True
    cell = next(c for c in nb.cells if c.cell_type == "code")
    if cell.source != FIRST_CELL:
        cell.source = FIRST_CELL
        changed = True
    tags = cell.metadata.setdefault("tags", [])
    if IGNORE not in tags:
        tags.append(IGNORE)
        changed = True
    return changed


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if fix(nb):
            stale.append(path.name)
            if not check:
                from run_notebook import write

                write(nb, path)
    if check and stale:
        print("notebooks whose opening is stale (run python tools/first_cell.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
