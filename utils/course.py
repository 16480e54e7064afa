"""Facts about the course itself, defined once.

``REPO_URL`` is the address the "Open in Colab" badges and the Colab set-up cell
use. A fork changes it here (and in the first cell of each notebook, which a test
keeps equal to this value).
"""
from __future__ import annotations

from pathlib import Path

REPO_SLUG = "cnn-course/cnn-tensorflow-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"
BRANCH = "main"

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
IMAGES_DIR = ROOT / "images"


def colab_url(notebook_name: str) -> str:
    """The Colab address that opens ``notebooks/<notebook_name>`` from GitHub."""
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{BRANCH}/notebooks/{notebook_name}"


def colab_badge(notebook_name: str) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook_name)})"
    )
