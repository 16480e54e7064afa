"""Write the README's table of contents and run-time table from the notebooks themselves.

    python tools/readme_toc.py          # rewrite the tables between their markers
    python tools/readme_toc.py --check  # exit 1 if a README table is stale

Each contents row takes the notebook's title ("# N. Title") and its bold one-line
promise from the first markdown cell; the badge comes from utils.course, where
the repository address is defined once. Each time row comes from the notebook's
``cnn_course.reference_run`` metadata, which tools/run_notebook.py --reference writes.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from utils.course import colab_badge  # noqa: E402

START, END = "<!-- toc:start -->", "<!-- toc:end -->"
TIMES_START, TIMES_END = "<!-- times:start -->", "<!-- times:end -->"


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def time_rows() -> list[str]:
    from run_notebook import minutes

    lines = ["| # | Notebook | Reference run | Date | Machine | Python / TF / Keras |", "|---|---|---|---|---|---|"]
    for path in notebooks():
        run = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("cnn_course", {}).get("reference_run")
        if run is None:
            lines.append(f"| {int(path.name[:2])} | {path.name} | not yet made | | | |")
            continue
        lines.append(f"| {int(path.name[:2])} | {path.name} | {minutes(run['wall_s'])} | {run['date']} | "
                     f"{run['machine']} | {run['python']} / {run['tensorflow']} / {run['keras']} |")
    return lines


def rows() -> list[str]:
    lines = ["| # | Notebook | What you will learn | Colab |", "|---|---|---|---|"]
    for path in notebooks():
        cell = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
        text = "".join(cell["source"])
        title = re.search(r"^# \d+\.\s*(.+)$", text, re.M)
        promise = re.search(r"\*\*(.+?)\*\*", text, re.S)
        title = title.group(1).strip() if title else path.stem
        promise = " ".join(promise.group(1).split()) if promise else ""
        number, link = int(path.name[:2]), f"[{title}](notebooks/{path.name})"
        lines.append(f"| {number} | {link} | {promise} | {colab_badge(path.name)} |")
    return lines


def replace_between(text: str, start: str, end: str, lines: list[str]) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"README.md lacks the markers {start} / {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + "\n" + "\n".join(lines) + "\n" + end + tail


def render(readme: str) -> str:
    readme = replace_between(readme, START, END, rows())
    return replace_between(readme, TIMES_START, TIMES_END, time_rows())


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print("README.md's contents or run-time table is stale: run python tools/readme_toc.py")
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
