"""Exercise checking for the notebooks: `check(answer)` with a targeted message per anticipated mistake.

An exercise (defined in ``utils/exercises/chNN.py``) carries its reference answer, hint, solution and the
wrong answers it anticipates, so one generic test (``Exercise.self_test``) can check every exercise:

    q1.check(answer)   # prints one line: "✓ Correct! ...", "✗ <what is wrong>" or "○ Not attempted yet: ..."
    q1.hint()          # prints the hint
    q1.solution()      # shows the reference code, only when called

``check`` never raises and never shows a traceback for a learner's answer. Pure Python + NumPy.
"""
from __future__ import annotations

import copy
import inspect
import math
import numbers
import textwrap

import numpy as np

BLANK = ...  # a left-blank answer: `answer = ...`, or a function whose body is `return ...`
CORRECT, WRONG, BLANK_MARK = "✓ Correct!", "✗", "○ Not attempted yet:"


class Mistake(Exception):
    """Raised by a CustomExercise's ``check_fn`` (or ``call``) with the targeted message for the learner."""


class NotAttempted(Exception):
    """Raised by ``call`` when the learner's function still returns ``...``."""


class Lazy:
    """An answer built only when a self-test needs it (a Keras model, a dataset): ``Lazy(lambda: build())``."""

    def __init__(self, make):
        self.make = make


def _resolve(answer):
    return answer.make() if isinstance(answer, Lazy) else answer


def short(value, limit: int = 60) -> str:
    """A one-line repr: arrays as ``array(shape=...)``, long reprs cut."""
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})" if value.size > 6 else repr(value.tolist())
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _a(value) -> str:
    name = type(value).__name__
    return ("an " if name[0] in "aeiou" else "a ") + name


def _inputs(case) -> str:
    if isinstance(case, dict):
        return "(" + ", ".join(f"{k}={short(v)}" for k, v in case.items()) + ")"
    return "(" + ", ".join(short(v) for v in case) + ")"


def call(fn, *args, **kwargs):
    """Call a learner's function; turn ``...``, ``None`` and exceptions into NotAttempted / Mistake."""
    if not callable(fn):
        raise Mistake(f"pass your function itself (its name, without parentheses), not {_a(fn)}")
    shown = _inputs(kwargs if kwargs and not args else args)
    try:
        result = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    except Exception as error:  # the learner's code: reported, never re-raised
        raise Mistake(f"Your function raised {type(error).__name__}: {error} for inputs {shown}") from None
    if result is BLANK:
        raise NotAttempted
    if result is None:
        raise Mistake(f"Your function returned None for inputs {shown}: did you forget `return`?")
    return result


def plain(value):
    """A learner's result in comparable form: a TensorFlow/Keras tensor as a NumPy array, a 0-d array or a
    NumPy scalar as a Python number (so ``tf.reduce_sum(...)`` counts like ``sum(...)``); anything else as is."""
    if not isinstance(value, np.ndarray) and hasattr(value, "numpy") and hasattr(value, "shape"):
        try:
            value = np.asarray(value.numpy())
        except Exception:  # not a tensor after all: compared as it is
            return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return value.item() if isinstance(value, np.generic) else value


ALLCLOSE = "np.allclose: |yours − answer| ≤ 1e-08 + 1e-05·|answer| per element"


def _array_difference(expected, got) -> str:
    """Where an array answer differs: its shape, or the first element outside ``np.allclose``'s tolerance."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f": return an array of numbers, not {_a(got)}"
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return f": its shape is {got.shape}, the answer's {expected.shape}"
    differing = np.argwhere(~np.isclose(got, expected))
    if not len(differing):
        return ""
    index = tuple(int(i) for i in differing[0])
    return (f": at {list(index)} the answer is {expected[index]:g}, yours {got[index]:g} "
            f"(arrays are compared with {ALLCLOSE})")


def whole(value) -> bool:
    """A count or a size: an int, a NumPy int, or a float that is a whole number (``np.ceil(n / s)`` gives 3.0)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()


def default_compare(expected, got) -> bool:
    """Exact for ints and tuples (an int may come as a whole float, 3.0), ``np.allclose`` for floats and arrays
    (shape first).

    A tensor or a NumPy scalar counts as its value (``plain``)."""
    got = plain(got)
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return False
        return got.shape == np.shape(expected) and bool(np.allclose(got, expected))
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, numbers.Integral):
        return whole(got) and int(got) == int(expected)
    if isinstance(expected, numbers.Real):
        return isinstance(got, numbers.Real) and math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(expected)
                and all(default_compare(e, g) for e, g in zip(expected, got)))
    return expected == got


class Exercise:
    """Base class: ``check`` prints ``verdict``; subclasses implement ``_judge`` and the test data."""

    todo = "replace `...` with your answer, then run the cell."

    def __init__(self, title: str, *, hint: str, solution, todo: str | None = None):
        self.title, self._hint, self._solution = title, hint, solution
        self.todo = todo or self.todo

    def __repr__(self):
        return f"{type(self).__name__}({self.title!r})"

    def verdict(self, answer) -> str:
        """The line ``check`` prints for ``answer`` (never raises)."""
        if answer is BLANK:
            return f"{BLANK_MARK} {self.todo}"
        try:
            return self._judge(answer)
        except NotAttempted:
            return f"{BLANK_MARK} {self.todo}"
        except Mistake as mistake:
            return f"{WRONG} {mistake}"
        except Exception as error:  # a checker or check_fn failure on this answer: one clear line, no traceback
            return f"{WRONG} Checking your answer raised {type(error).__name__}: {error}"

    def check(self, answer) -> None:
        print(self.verdict(answer))

    def hint(self) -> None:
        print(f"Hint: {self._hint}")

    def solution_text(self) -> str:
        """The solution as Markdown: a function's source as a code block, or the text given."""
        if callable(self._solution):
            source = textwrap.dedent(inspect.getsource(self._solution)).strip()
            return f"**Solution** ({self.title}):\n\n```python\n{source}\n```"
        return f"**Solution** ({self.title}):\n\n{self._solution}"

    def solution(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import Markdown, display
        except ImportError:
            print(self.solution_text())
            return
        if get_ipython() is None:
            print(self.solution_text())
        else:
            display(Markdown(self.solution_text()))

    # Test data: every exercise can be checked by one generic test.
    def reference_answers(self) -> list:
        raise NotImplementedError

    def planted(self) -> list[tuple[object, str]]:
        """(wrong answer, fragment its verdict must contain) pairs."""
        raise NotImplementedError

    def self_test(self) -> int:
        """Assert: references get ✓, each planted mistake its own distinct message, BLANK 'Not attempted yet'."""
        for answer in self.reference_answers():
            line = self.verdict(_resolve(answer))
            assert line.startswith(CORRECT), f"{self}: the reference answer {short(answer)} got: {line}"
        planted = self.planted()
        messages = [fragment for _, fragment in planted]
        assert len(set(messages)) == len(messages), f"{self}: two planted mistakes share a message"
        for answer, fragment in planted:
            line = self.verdict(_resolve(answer))
            assert line.startswith(WRONG) and fragment in line, \
                f"{self}: planted {short(answer)} should draw {fragment!r}, got: {line}"
        for blank in self._blanks():
            line = self.verdict(blank)
            assert line.startswith(BLANK_MARK), f"{self}: a blank answer got: {line}"
        return len(self.reference_answers()) + len(planted) + len(self._blanks())

    def _blanks(self) -> list:
        return [BLANK]


def _as_value(answer):
    """A learner's number or shape in comparable form (lists, arrays, TensorShapes -> tuples)."""
    if isinstance(answer, np.generic):
        return answer.item()
    if isinstance(answer, (list, np.ndarray)) or (hasattr(answer, "__iter__") and hasattr(answer, "as_list")):
        return tuple(_as_value(a) for a in answer)
    return answer


def _close(a, b, tolerance) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_close(x, y, tolerance) for x, y in zip(a, b)))
    if isinstance(a, bool) or isinstance(b, bool) or not all(isinstance(v, numbers.Real) for v in (a, b)):
        return a == b
    return abs(a - b) <= tolerance if tolerance is not None else math.isclose(a, b, rel_tol=1e-12, abs_tol=0)


class ValueExercise(Exercise):
    """A number or a tuple (a shape, a count) to predict; each anticipated wrong value has its message."""

    todo = "replace `...` with your prediction, then run the cell."

    def __init__(self, title, expected, *, mistakes=None, tolerance=None, note="", **kwargs):
        super().__init__(title, **kwargs)
        self.expected, self.tolerance, self.note = _as_value(expected), tolerance, note
        self.mistakes = {_as_value(k): v for k, v in (mistakes or {}).items()}
        if any(_close(k, self.expected, tolerance) for k in self.mistakes):
            raise ValueError(f"{self}: a planted mistake equals the expected answer")

    def _judge(self, answer):
        value = _as_value(answer)
        if value is None:
            raise Mistake("Your answer is None: write the number (or tuple) itself, e.g. answer = (5, 5).")
        if isinstance(value, bool):
            raise Mistake(f"{value} is not a number: write the number (or tuple) you predict.")
        if isinstance(value, str):
            raise Mistake(f"Your answer is the text {value!r}: write numbers without quotes, e.g. (5, 5) not '5x5'.")
        if isinstance(self.expected, tuple) and not isinstance(value, tuple):
            raise Mistake(f"Give a tuple of {len(self.expected)} numbers, like (a, b, ...), not {_a(value)}.")
        if not isinstance(self.expected, tuple) and isinstance(value, tuple):
            raise Mistake("Give a single number, not a tuple.")
        if isinstance(value, tuple) and len(value) != len(self.expected):
            raise Mistake(f"Your answer has {len(value)} values; the question asks for {len(self.expected)}.")
        if _close(value, self.expected, self.tolerance):
            return f"{CORRECT} {self.note}".rstrip()
        for wrong, message in self.mistakes.items():
            if _close(value, wrong, self.tolerance):
                raise Mistake(message)
        raise Mistake(f"Not quite: {short(value)} is not it. Check each step, or ask for a hint with .hint().")

    def reference_answers(self):
        return [self.expected]

    def planted(self):
        return list(self.mistakes.items())


class ChoiceExercise(Exercise):
    """Multiple choice: the letter of the right statement; each wrong letter has its own feedback."""

    todo = 'set answer to the letter of your choice, e.g. answer = "a", then run the cell.'

    def __init__(self, title, choices: dict, correct: str, *, feedback: dict, note="", **kwargs):
        super().__init__(title, **kwargs)
        self.choices, self.correct, self.feedback, self.note = choices, correct, feedback, note
        missing = set(choices) - {correct} - set(feedback)
        if correct not in choices or missing:
            raise ValueError(f"{self}: correct must be a choice and every wrong choice needs feedback "
                             f"(missing: {sorted(missing)})")

    def _judge(self, answer):
        letters = " or ".join(f'"{c}"' for c in self.choices)
        if not isinstance(answer, str):
            raise Mistake(f"Answer with the letter of your choice as a string ({letters}), "
                          f"not {_a(answer)}.")
        letter = answer.strip().strip("().").lower()
        if letter not in self.choices:
            raise Mistake(f"{answer!r} is not one of the choices: answer with {letters}.")
        if letter == self.correct:
            return f"{CORRECT} {self.note}".rstrip()
        raise Mistake(f"Not {letter}: {self.feedback[letter]}")

    def reference_answers(self):
        return [self.correct]

    def planted(self):
        return [(c, self.feedback[c]) for c in self.choices if c != self.correct]


class FunctionExercise(Exercise):
    """The learner writes a function; it is run on ``cases`` and compared with ``reference``.

    A wrong function whose outputs match a planted mistake function on every case gets that mistake's
    message; otherwise the first failing case is shown, expected against got.
    """

    todo = "write your function's body (replace `return ...`), then run the cell."

    def __init__(self, title, reference, cases, *, mistakes=(), compare=None, **kwargs):
        super().__init__(title, **kwargs)
        self.reference, self.cases, self.mistakes = reference, list(cases), list(mistakes)
        self.compare = compare or default_compare

    def _run(self, fn, case):
        return call(fn, **case) if isinstance(case, dict) else call(fn, *case)

    def _judge(self, answer):
        if not callable(answer):
            raise Mistake(f"Pass your function itself (its name, without parentheses), not {_a(answer)} "
                          f"({short(answer)}).")
        got = [plain(self._run(answer, case)) for case in self.cases]  # NotAttempted / Mistake propagate
        expected = [self._run(self.reference, case) for case in self.cases]
        failing = [i for i, (e, g) in enumerate(zip(expected, got)) if not self.compare(e, g)]
        if not failing:
            return f"{CORRECT} All {len(self.cases)} test cases pass."
        for mistake, message in self.mistakes:
            outputs = []
            for case in self.cases:
                try:
                    outputs.append(self._run(mistake, case))
                except Mistake:
                    break
            if len(outputs) == len(got) and all(self.compare(m, g) for m, g in zip(outputs, got)):
                raise Mistake(message)
        first = failing[0]
        fractional = [i for i in failing if isinstance(expected[i], numbers.Integral) and not whole(got[i])
                      and isinstance(got[i], numbers.Real) and not isinstance(got[i], bool)
                      and abs(got[i] - expected[i]) < 1]  # right but for the rounding
        if fractional:
            i = fractional[0]
            raise Mistake(f"For inputs {_inputs(self.cases[i])} your function returned {short(got[i])}, not a whole "
                          f"number: a count or a size is whole (the answer is {short(expected[i])}). Round the way "
                          f"the formula says (// or math.floor, math.ceil).")
        detail = (_array_difference(expected[first], got[first])
                  if isinstance(expected[first], np.ndarray) and self.compare is default_compare else "")
        raise Mistake(f"For inputs {_inputs(self.cases[first])} the answer is {short(expected[first])}, your "
                      f"function returned {short(got[first])} ({len(failing)} of {len(self.cases)} cases fail)"
                      f"{detail}.")

    def reference_answers(self):
        return [self.reference] + ([self._solution] if callable(self._solution) else [])

    def planted(self):
        return [(fn, message) for fn, message in self.mistakes]

    def _blanks(self):
        def blank(*args, **kwargs):
            return ...
        return [BLANK, blank]


class CustomExercise(Exercise):
    """Anything else (a model, a dataset): ``check_fn(answer)`` raises Mistake, or returns when right: None
    (the verdict shows ``note``) or a string, what it verified on this answer (shown instead of ``note``)."""

    def __init__(self, title, check_fn, *, planted, reference_answer, note="", **kwargs):
        super().__init__(title, **kwargs)
        self.check_fn, self._planted, self.reference_answer, self.note = check_fn, list(planted), reference_answer, note

    def _judge(self, answer):
        if answer is None:
            raise Mistake("Your answer is None: did you forget `return`, or to assign your result to `answer`?")
        verified = self.check_fn(answer)
        return f"{CORRECT} {verified if isinstance(verified, str) else self.note}".rstrip()

    def reference_answers(self):
        return [self.reference_answer]

    def planted(self):
        return list(self._planted)
