"""Facts about the course itself, defined once: its public address, folders and first cell.

``REPO_SLUG`` is the GitHub address the "Open in Colab" badges, the Colab install line
of every notebook's first cell and ``CITATION.cff`` use. A fork changes it here, then
runs ``python tools/first_cell.py`` (rewrites the first cell of every notebook) and
``python tools/readme_toc.py`` (the README's badges); tests keep all of them equal.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_SLUG = "cnn-course/cnn-tensorflow-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"
BRANCH = "main"

# The package lives in a checkout (``pip install -e .``) or, on Colab, in site-packages
# (``pip install git+...``); only a checkout has the course's notebooks/ and images/.
_PACKAGE_PARENT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (_PACKAGE_PARENT / "notebooks").is_dir()
ROOT = _PACKAGE_PARENT if IN_CHECKOUT else Path.cwd()
NOTEBOOKS_DIR = ROOT / "notebooks"
IMAGES_DIR = ROOT / "images"            # the committed figures: written only by the reference run
LEARNER_IMAGES_DIR = ROOT / "build" / "images"  # a learner's (and the tests') figures: git ignores build/
IMAGES_ENV = "CNN_COURSE_IMAGES_DIR"
REFERENCE_ENV = "CNN_COURSE_REFERENCE_RUN"   # set by tools/run_notebook.py --reference

# The first code cell of every notebook (tools/first_cell.py writes it, a test keeps it).
FIRST_CELL = f"""\
# Set-up: on Colab, install the course's helpers (locally, `pip install -r requirements.txt` did).
import sys
if "google.colab" in sys.modules:
    %pip install -q git+{REPO_URL}
from utils import setup
ENV = setup.init()"""


def images_dir() -> Path:
    """Where ``save_fig`` writes.

    ``$CNN_COURSE_IMAGES_DIR`` when set; else the committed ``images/`` only in the reference
    run (``$CNN_COURSE_REFERENCE_RUN=1``, which ``tools/run_notebook.py --reference`` sets);
    else ``build/images/``, which git ignores. So a learner's run, or the tests', never
    rewrites the course's figures and leaves the checkout clean.
    """
    override = os.environ.get(IMAGES_ENV)
    if override:
        return Path(override)
    if os.environ.get(REFERENCE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return IMAGES_DIR
    return LEARNER_IMAGES_DIR


def colab_url(notebook_name: str) -> str:
    """The Colab address that opens ``notebooks/<notebook_name>`` from GitHub."""
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{BRANCH}/notebooks/{notebook_name}"


def colab_badge(notebook_name: str) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook_name)})"
    )
