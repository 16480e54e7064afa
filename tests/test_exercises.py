"""Every exercise in utils/exercises/chNN.py, checked generically, and how the notebooks store them.

For each exercise: the reference answer gets ✓, each planted mistake its own message, a blank answer
"Not attempted yet" (``Exercise.self_test``). Code exercises plant at least two mistakes. In the notebooks,
the exercise cells are committed left blank and no solution appears in markdown or stored outputs.
"""
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

from utils import checker

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "utils" / "exercises").glob("ch[0-9][0-9].py"))
IMPORT = re.compile(r"from utils\.exercises import (ch\d\d)|utils\.exercises\.(ch\d\d)")
CHECK_CALL = re.compile(r"^\s*q\d+\.check\(", re.M)
LIVE_REVEAL = re.compile(r"^\s*q\d+\.(solution|hint)\(\)", re.M)


def exercises(name):
    module = importlib.import_module(f"utils.exercises.{name}")
    return {k: v for k, v in vars(module).items() if isinstance(v, checker.Exercise)}


ALL = [(name, key) for name in MODULES for key in exercises(name)]


def notebook_for(name):
    found = sorted((ROOT / "notebooks").glob(f"{name[2:]}_*.ipynb"))
    assert found, f"utils/exercises/{name}.py has no notebook {name[2:]}_*.ipynb"
    return found[0]


def test_there_are_exercise_modules():
    assert "ch02" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_a_module_exposes_two_to_four_exercises_as_q1_q2(name):
    """2-4 exercises close each chapter; notebook 12, the course notes' exercise chapter, checks each of them.
    From chapter 04 on, one investigation (utils.investigation) comes on top, as the last exercise."""
    from utils.investigation import Investigation

    keys = sorted(exercises(name), key=lambda k: int(k[1:]))
    investigations = [k for k in keys if isinstance(exercises(name)[k], Investigation)]
    assert investigations in ([], keys[-1:]), f"{name}: at most one investigation, the last exercise: {investigations}"
    most = (8 if name == "ch12" else 4) + len(investigations)
    assert 2 <= len(keys) <= most, f"{name}: {len(keys)} exercises, the convention is 2-{most}"
    assert keys == [f"q{i}" for i in range(1, len(keys) + 1)], f"{name}: exercises must be named q1, q2, ...: {keys}"


@pytest.mark.parametrize(("name", "key"), ALL, ids=[f"{n}.{k}" for n, k in ALL])
def test_reference_passes_planted_mistakes_are_named_blank_is_not_attempted(name, key):
    exercise = exercises(name)[key]
    assert exercise.self_test() >= 3
    if isinstance(exercise, (checker.FunctionExercise, checker.CustomExercise)):
        assert len(exercise.planted()) >= 2, f"{name}.{key}: a code exercise needs at least two planted mistakes"
    if isinstance(exercise, checker.ValueExercise):
        assert exercise.planted(), f"{name}.{key}: plant at least one anticipated wrong value"
    generic = exercise.verdict(object())  # an answer nobody anticipated: a message, never a traceback
    assert generic.startswith("✗") and "Traceback" not in generic


def solution_snippets(exercise):
    """Texts that would give the solution away if a notebook showed them."""
    if callable(exercise._solution):
        lines = inspect.getsource(exercise._solution).splitlines()[1:]  # the def line is the template's too
        body = [line.strip() for line in lines if line.strip() and not line.strip().startswith(('"""', "#"))]
        return [line for line in body if len(line) >= 12 and line != "return ..."]
    return [exercise._solution.strip()]


NOTEBOOKS = [(notebook_for(name), name) for name in MODULES]


@pytest.mark.parametrize(("path", "name"), NOTEBOOKS, ids=[p.name for p, _ in NOTEBOOKS])
def test_notebook_stores_its_exercises_left_blank_and_shows_no_solution(path, name):
    nb = nbformat.read(path, as_version=4)
    heading = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    and re.search(r"^## Exercises", c.source, re.M)), None)
    assert heading is not None, f"{path.name} has no '## Exercises' section"
    section = nb.cells[heading:]
    used = {m.group(1) or m.group(2) for c in section if c.cell_type == "code" for m in IMPORT.finditer(c.source)}
    assert used == {name}, f"{path.name}'s exercises should import utils.exercises.{name}, found {used}"
    checked = sorted(set(re.findall(r"\b(q\d+)\.check\(", "\n".join(c.source for c in section))))
    assert checked == sorted(exercises(name)), f"{path.name} checks {checked}, the module has {sorted(exercises(name))}"
    for cell in section:
        if cell.cell_type != "code":
            continue
        assert not LIVE_REVEAL.search(cell.source), f"{path.name}: hint()/solution() must stay commented out"
        if CHECK_CALL.search(cell.source):
            texts = [o.get("text", "") for o in cell.outputs]
            assert texts and all(t.startswith(checker.BLANK_MARK) for t in texts), \
                f"{path.name}: an exercise cell is stored answered or unexecuted: {texts}"
    shown = "\n".join([c.source for c in nb.cells if c.cell_type == "markdown"]
                      + [str(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs])
    for key, exercise in exercises(name).items():
        for snippet in solution_snippets(exercise):
            assert snippet not in shown, f"{path.name} shows the solution of {name}.{key}: {snippet!r}"
        if isinstance(exercise, checker.ChoiceExercise):
            for letter, text in exercise.choices.items():
                assert text in shown, f"{path.name}: choice {letter} of {name}.{key} is not in the markdown"
