"""Execute notebooks in place and normalise their JSON: the reference run, or a quick test run.

    python tools/run_notebook.py --reference notebooks/05_typical_cnn_mnist.ipynb [more ...]
    python tools/run_notebook.py --reference --all
    python tools/run_notebook.py notebooks/05_typical_cnn_mnist.ipynb   # quick run, never commit it

**The reference run** makes what a reader sees: the stored outputs and the figures in
``images/``. It runs the notebook in full mode (``CNN_COURSE_FAST=0``), offline
(``CNN_COURSE_OFFLINE=1``: nothing is downloaded on this machine) and with the loaders
pointed at real local data: ``--data DIR`` (a folder holding ``mnist/`` (the full 60k/10k),
``tf_flowers/flower_photos/`` and ``imagenet/`` (MobileNet's ImageNet weights and the class
index); ``../shared/data`` by default) or the loaders' variables. Only this run writes the
committed figures in ``images/`` (``CNN_COURSE_REFERENCE_RUN=1``). It records the date,
machine, versions and wall time in the notebook's metadata (``cnn_course.reference_run``),
writes the time into the first markdown cell between ``<!-- reference-time -->`` markers,
marks notebooks that train for Colab's GPU runtime, and refreshes the README's time table.

The test suite (``pytest``) then runs every notebook in fast mode and compares the cells
whose output does not depend on the mode with these stored outputs.

**Filling new cells** (``--fill-new``), after a change that adds cells but changes no stored output
(a definition cell, an exercise's check cell): the notebook runs in fast mode with the real local data,
as the tests do, and only the cells that were never executed (no execution count) take that run's
outputs; a new cell tagged ``nbval-ignore-output`` is refused (its output is the reference run's to make).
Then every code cell is numbered in run order. The tests compare every untagged cell of the result.

Normalising keeps diffs reviewable: no per-cell timing metadata, no saved widget state
(it breaks GitHub's renderer when stale), a fixed kernelspec, one-space-indented JSON with
sorted keys and a final newline.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
TIME_START, TIME_END = "<!-- reference-time -->", "<!-- /reference-time -->"
# Colab opens a notebook with this metadata on a GPU runtime.
COLAB_GPU = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
TRAINS = re.compile(r"\.fit\(|\.apply_gradients\(|optimizer\.apply\(")

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


def fill_new(nb: nbformat.NotebookNode, path: Path, timeout: int) -> None:
    """Outputs for the never-executed cells of ``nb`` from a fast run of a copy; every code cell renumbered."""
    import copy

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    new = [k for k, cell in enumerate(code) if not cell.get("execution_count") and cell.source.strip()]
    ignored = [k for k in new if "nbval-ignore-output" in code[k].metadata.get("tags", [])]
    if ignored:
        raise SystemExit(f"{path}: new cell(s) tagged nbval-ignore-output ({len(ignored)}): their outputs come "
                         f"from the reference run (--reference), not from a fast run")
    if new:  # nothing new: only the numbering
        run = copy.deepcopy(nb)
        NotebookClient(run, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
        ran = [cell for cell in run.cells if cell.cell_type == "code"]
        for k in new:
            code[k].outputs = ran[k].outputs
    count = 0
    for cell in code:
        if cell.source.strip():
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = count
    print(f"{path}: {len(new)} new cell(s) filled from a fast run", file=sys.stderr)


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """The CPU the run used, in words: '2-core x86_64 CPU (Intel(R) Xeon(R) ...)'."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core {platform.machine()} CPU ({model})"


def minutes(seconds: float) -> str:
    """'45 s', '1.6 min', '12 min': how the notebooks and the README state a run time."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 600 else f"{seconds / 60:.0f} min"


def record_reference(nb: nbformat.NotebookNode, wall_s: float) -> None:
    """Stamp the reference run into the metadata and the first markdown cell."""
    nb.metadata["cnn_course"] = {"reference_run": {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "mode": "full, offline, real local data",
        "wall_s": round(wall_s, 1),
    }}
    trains = any(TRAINS.search(c.source) for c in nb.cells if c.cell_type == "code")
    if trains:
        nb.metadata.update(COLAB_GPU)
    else:
        for key in COLAB_GPU:
            nb.metadata.pop(key, None)
    intro = nb.cells[0]
    line = (f"{TIME_START}*Runs in about {minutes(wall_s)} on a 2-core CPU (reference run, "
            f"{nb.metadata['cnn_course']['reference_run']['date']})"
            + ("; on Colab, a GPU runtime (Runtime → Change runtime type) makes the training cells faster."
               if trains else ".") + f"*{TIME_END}")
    if TIME_START in intro.source:
        intro.source = re.sub(re.escape(TIME_START) + ".*?" + re.escape(TIME_END), line, intro.source, flags=re.S)
    else:
        # Before the licence line, which closes the cell.
        head, sep, licence = intro.source.rstrip().rpartition("\n\n")
        intro.source = f"{head}\n\n{line}\n\n{licence}" if sep else f"{intro.source}\n\n{line}"


# The reference run's local data, inside --data DIR (../shared/data has this layout).
REFERENCE_DATA = (
    ("CNN_COURSE_MNIST_DIR", "mnist"),                                      # the full MNIST, 60k/10k, IDX files
    ("CNN_COURSE_FLOWERS_DIR", "tf_flowers/flower_photos"),                 # all 3,670 tf_flowers photos
    ("CNN_COURSE_MOBILENET_WEIGHTS", "imagenet/mobilenet_2_5_128_tf.h5"),   # Keras's MobileNet a=0.25 ImageNet weights
    ("CNN_COURSE_IMAGENET_CLASS_INDEX", "imagenet/imagenet_class_index.json"),
)


def reference_environment(data: Path | None) -> dict[str, str]:
    env = {"CNN_COURSE_FAST": "0", "CNN_COURSE_OFFLINE": "1"}
    if data is not None:
        for var, sub in REFERENCE_DATA:
            if (data / sub).exists():
                env[var] = str((data / sub).resolve())
    missing = [v for v, _ in REFERENCE_DATA if v not in env and v not in os.environ]
    if missing:
        raise SystemExit(f"the reference run needs the real local data: pass --data DIR (a folder with "
                         f"{', '.join(sub for _, sub in REFERENCE_DATA)}) or set {' and '.join(missing)}")
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every notebook in notebooks/")
    parser.add_argument("--reference", action="store_true", help="the reference run (full mode, real local data)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with mnist/, tf_flowers/ and imagenet/ (default: ../shared/data beside "
                             "the checkout, when it exists)")
    parser.add_argument("--no-execute", action="store_true", help="only normalise the JSON")
    parser.add_argument("--fill-new", action="store_true",
                        help="give never-executed compared cells the outputs of a fast run (see above)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if args.all else args.notebooks
    if not paths:
        parser.error("name the notebooks to run, or --all")
    if args.fill_new and (args.reference or args.no_execute):
        parser.error("--fill-new runs in fast mode: not with --reference or --no-execute")
    if args.reference or args.fill_new:
        data = args.data
        if data is None and (ROOT.parent / "shared" / "data").is_dir():
            data = ROOT.parent / "shared" / "data"
        os.environ.update(reference_environment(data))
        if args.fill_new:
            import tempfile

            os.environ["CNN_COURSE_FAST"] = "1"
            os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="fill-new-keras-")  # the learner's cache untouched
    else:
        os.environ.setdefault("CNN_COURSE_FAST", "1")
        os.environ.setdefault("CNN_COURSE_OFFLINE", "1")
    os.environ.pop("CNN_COURSE_IMAGES_DIR", None)
    if args.reference and not args.fill_new:
        os.environ["CNN_COURSE_REFERENCE_RUN"] = "1"  # only this run writes the committed figures in images/
    else:
        os.environ.pop("CNN_COURSE_REFERENCE_RUN", None)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if args.fill_new:
            fill_new(nb, path, args.timeout)
        elif not args.no_execute:
            start = time.perf_counter()
            client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(path.parent.resolve())}})
            client.execute()
            wall = time.perf_counter() - start
            print(f"{path}: executed in {wall:.1f} s", file=sys.stderr)
            if args.reference:
                record_reference(nb, wall)
        nb.nbformat_minor = 4
        write(normalise(nb), path)
    if args.reference and not args.no_execute:
        subprocess.run([sys.executable, str(ROOT / "tools" / "readme_toc.py")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
