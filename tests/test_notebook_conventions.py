"""Every notebook follows CONTRIBUTING.md: numbered, badge, the one set-up cell, executed, clean JSON."""
import json
import re
from pathlib import Path

import pytest

from utils import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIRST_CELL = (ROOT / "tools" / "first_cell.py").read_text(encoding="utf-8").strip()


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell):
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def test_there_are_notebooks_and_they_are_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers, "no notebooks found"
    assert all(re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", p.name) for p in NOTEBOOKS)
    assert numbers == list(range(1, len(numbers) + 1))


def test_the_repository_address_is_defined_once():
    assert f'"{course.REPO_URL}"' in FIRST_CELL and FIRST_CELL.count("https://") == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_badge_and_setup_cell(path):
    cells = load(path)["cells"]
    intro = source(cells[0])
    assert cells[0]["cell_type"] == "markdown"
    assert intro.startswith(f"# {int(path.name[:2])}. "), "the first line is '# N. Title'"
    assert course.colab_badge(path.name) in intro, "the Colab badge must point at this notebook"
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert source(first_code).strip() == FIRST_CELL, "the first code cell must be tools/first_cell.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_executed_and_clean(path):
    nb = load(path)
    assert "widgets" not in nb["metadata"], "stale widget state breaks GitHub's renderer"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code if source(c).strip()), "commit notebooks executed"
    for cell in code:
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr":
                assert "absl::InitializeLog" not in "".join(output["text"]), "run tools/run_notebook.py"
    assert path.read_text(encoding="utf-8").endswith("\n")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_names_the_shared_folder(path):
    """A learner's checkout has no ../shared: paths to local data come from environment variables.

    (Saved outputs may show where a loader found data on the machine that ran them; the code may not.)
    """
    for cell in load(path)["cells"]:
        text = source(cell)
        assert "../shared" not in text and "/work/shared" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_links_to_other_notebooks_exist(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "markdown":
            for target in re.findall(r"\]\(([^)#]+\.ipynb)", source(cell)):
                if "://" not in target:
                    assert (path.parent / target).is_file(), f"{path.name} links to missing {target}"


def test_utils_never_name_the_shared_folder():
    for module in (ROOT / "utils").glob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/shared" not in text, module.name


def test_readme_lists_every_notebook_with_its_badge():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in readme, f"README's table lacks {path.name}"
        assert course.colab_url(path.name) in readme


def test_readme_table_of_contents_is_current():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "tools" / "readme_toc.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
