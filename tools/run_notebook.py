"""Execute notebooks in place, in the test suite's mode, and normalise their JSON.

    python tools/run_notebook.py notebooks/01_convolution.ipynb [more.ipynb ...]

The saved outputs are what nbval compares against, so notebooks are executed
the way the test command runs them: fast + offline mode, in this Python
environment, from the notebooks/ folder. Point the loaders at local data first
if you have it (CNN_COURSE_MNIST_DIR, CNN_COURSE_FLOWERS_DIR), as CI does.

Normalising keeps diffs reviewable: no per-cell timing metadata, no saved
widget state (it breaks GitHub's renderer when stale), a fixed kernelspec,
one-space-indented JSON with sorted keys and a final newline.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# TensorFlow's C++ start-up lines on stderr: noise for a reader, never compared by nbval.
NOISE = re.compile(r"^(?:[IWE]\d{4} [\d:. ]+\d+ \S+:\d+\]|WARNING: All log messages before absl|"
                   r"To enable the following instructions:|Could not find cuda drivers)")


def strip_noise(outputs: list) -> list:
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            lines = [line for line in output["text"].splitlines(keepends=True) if not NOISE.match(line)]
            if not "".join(lines).strip():
                continue
            output["text"] = "".join(lines)
        kept.append(output)
    return kept


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = strip_noise(cell.get("outputs", []))
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("needs_background", None)
    nb.nbformat_minor = 4
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--no-execute", action="store_true", help="only normalise the JSON")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ.setdefault("CNN_COURSE_FAST", "1")
    os.environ.setdefault("CNN_COURSE_OFFLINE", "1")
    os.environ.pop("CNN_COURSE_IMAGES_DIR", None)  # this run writes the committed figures
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if not args.no_execute:
            start = time.perf_counter()
            client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(path.parent.resolve())}})
            client.execute()
            print(f"{path}: executed in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        # nbformat 4.5 cell ids are random per conversion; drop them for stable diffs.
        nb.nbformat_minor = 4
        write(normalise(nb), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
