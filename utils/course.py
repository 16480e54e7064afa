"""Facts about the course itself, defined once.

``REPO_URL`` is the address the "Open in Colab" badges and the Colab set-up cell
use. A fork changes it here (and in the first cell of each notebook, which a test
keeps equal to this value).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_SLUG = "cnn-course/cnn-tensorflow-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"
BRANCH = "main"

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
IMAGES_DIR = ROOT / "images"
IMAGES_ENV = "CNN_COURSE_IMAGES_DIR"


def images_dir() -> Path:
    """Where ``save_fig`` writes: ``images/``, or ``$CNN_COURSE_IMAGES_DIR`` (the test run sets it to a
    temporary folder, so running the tests never rewrites the committed figures)."""
    override = os.environ.get(IMAGES_ENV)
    return Path(override) if override else IMAGES_DIR


def colab_url(notebook_name: str) -> str:
    """The Colab address that opens ``notebooks/<notebook_name>`` from GitHub."""
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{BRANCH}/notebooks/{notebook_name}"


def colab_badge(notebook_name: str) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook_name)})"
    )
