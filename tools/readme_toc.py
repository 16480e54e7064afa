"""Write the README's table of contents from the notebooks themselves.

    python tools/readme_toc.py          # rewrite the table between the markers
    python tools/readme_toc.py --check  # exit 1 if the README's table is stale

Each row takes the notebook's title ("# N. Title") and its bold one-line
promise from the first markdown cell; the badge comes from utils.course, where
the repository address is defined once.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils.course import colab_badge  # noqa: E402

START, END = "<!-- toc:start -->", "<!-- toc:end -->"


def rows() -> list[str]:
    lines = ["| # | Notebook | What you will learn | Colab |", "|---|---|---|---|"]
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cell = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
        text = "".join(cell["source"])
        title = re.search(r"^# \d+\.\s*(.+)$", text, re.M)
        promise = re.search(r"\*\*(.+?)\*\*", text, re.S)
        title = title.group(1).strip() if title else path.stem
        promise = " ".join(promise.group(1).split()) if promise else ""
        number, link = int(path.name[:2]), f"[{title}](notebooks/{path.name})"
        lines.append(f"| {number} | {link} | {promise} | {colab_badge(path.name)} |")
    return lines


def render(readme: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the markers {START} / {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + START + "\n" + "\n".join(rows()) + "\n" + END + tail


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print("README.md's table of contents is stale: run python tools/readme_toc.py")
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
