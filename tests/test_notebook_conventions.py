"""Every notebook follows CONTRIBUTING.md: numbered, badge, the one set-up cell, executed, clean JSON."""
import json
import re
from pathlib import Path

import pytest

from utils import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIRST_CELL = course.FIRST_CELL
IGNORE = "nbval-ignore-output"


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
    assert f"git+{course.REPO_URL}" in FIRST_CELL and FIRST_CELL.count("https://") == 1
    assert course.REPO_URL in (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert course.REPO_URL in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_first_cell_is_a_few_lines_and_every_notebook_has_it():
    code = [line for line in FIRST_CELL.splitlines() if line.strip() and not line.startswith("#")]
    assert len(code) <= 5, "the set-up a reader meets before the lesson stays at most about five lines"
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "tools" / "first_cell.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_badge_and_setup_cell(path):
    cells = load(path)["cells"]
    intro = source(cells[0])
    assert cells[0]["cell_type"] == "markdown"
    assert intro.startswith(f"# {int(path.name[:2])}. "), "the first line is '# N. Title'"
    assert course.colab_badge(path.name) in intro, "the Colab badge must point at this notebook"
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert source(first_code).strip() == FIRST_CELL, "the first code cell must be utils.course.FIRST_CELL"
    assert IGNORE in first_code["metadata"].get("tags", []), "its mode line differs between runs"
    assert "LICENSE" in intro and "How to cite" in intro, "the licence line closes the first markdown cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_the_reference_run(path):
    """What a reader sees is the full-mode run on the real data, not the quick test run."""
    nb = load(path)
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    mode_line = "".join("".join(o.get("text", "")) for o in first_code.get("outputs", []))
    assert mode_line.startswith("Mode: FULL"), (
        f"{path.name} stores a quick run ({mode_line.strip()[:60]!r}): "
        f"run python tools/run_notebook.py --reference notebooks/{path.name}")
    run = nb["metadata"].get("cnn_course", {}).get("reference_run")
    assert run and {"date", "machine", "python", "tensorflow", "keras", "wall_s"} <= set(run)
    assert "<!-- reference-time -->" in source(nb["cells"][0]), "the first markdown cell states the run time"


def test_most_code_cells_are_compared():
    """Ignoring a cell's output is the exception: at least 80 % of code cells are compared."""
    total = compared = 0
    for path in NOTEBOOKS:
        for cell in load(path)["cells"]:
            if cell["cell_type"] == "code" and source(cell).strip():
                total += 1
                tags = cell["metadata"].get("tags", [])
                compared += not ({IGNORE, "nbval-skip"} & set(tags))
    assert compared / total >= 0.80, f"only {compared} of {total} code cells are compared"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_that_train_open_on_a_colab_gpu(path):
    nb = load(path)
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from run_notebook import TRAINS

    trains = any(TRAINS.search(source(c)) for c in nb["cells"] if c["cell_type"] == "code")
    if trains:
        assert nb["metadata"].get("accelerator") == "GPU", "Colab's GPU runtime metadata (the reference run sets it)"


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


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_\[\]()]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    if path.suffix == ".ipynb":
        texts = [source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"]
    else:
        texts = [path.read_text(encoding="utf-8")]
    headings = [m.group(1) for t in texts for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", t, re.M)]
    explicit = [m.group(1) for t in texts for m in re.finditer(r'<a (?:id|name)="([^"]+)"', t)]
    return {_anchor(h) for h in headings} | set(explicit)


def _links(path: Path):
    if path.suffix == ".ipynb":
        texts = [source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"]
    else:
        texts = [path.read_text(encoding="utf-8")]
    for text in texts:
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        yield from re.findall(r"\]\(([^)\s]+)\)", text)


LINKED = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "LICENSE-TEXT.md", *NOTEBOOKS]


@pytest.mark.parametrize("path", LINKED, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(path):
    for target in _links(path):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: checked by hand, not here (no network)
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name} links to missing {file_part}"
        if anchor and linked.suffix in (".md", ".ipynb"):
            assert anchor in _anchors(linked), f"{path.name}: no heading for #{anchor} in {linked.name}"


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
