"""Investigations: the learner changes one thing in a chapter, measures what it does, and explains.

An :class:`Investigation` is a :class:`utils.checker.CustomExercise` whose answer is a dict: the objects the
learner built (a model, a function, a layer), what they measured with them, and ``explanation`` (free text).
``check_fn(answer)`` tests what can be measured (the change does what the statement asks, the numbers agree
with a re-measurement on the learner's own objects, a model trained) and returns one line on what the
learner found, or raises :class:`~utils.checker.Mistake`. The explanation is accepted whatever it concludes:
a measurement with one seed can come out either way, and honest reasoning about it is the point. Once an
attempt is accepted, ``check`` prints the discussion: what the course measured, and why.

A blank attempt (every value still ``...``) prints the usual "Not attempted yet" line. The figures the
discussions quote from the course's own runs are re-measured by ``tools/investigation_numbers.py``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from utils.checker import BLANK, CORRECT, CustomExercise, Mistake, NotAttempted, short

MIN_WORDS = 8  # an explanation is a sentence or two, not a word


class Investigation(CustomExercise):
    """Change one thing, measure, explain: ``check(dict(..., explanation="..."))``."""

    todo = "fill in every `...` (the change, the measurement, your explanation), then run the cell."

    def __init__(self, title, check_fn, *, keys, discussion: str, planted, reference_answer, given=(), **kwargs):
        super().__init__(title, check_fn, planted=planted, reference_answer=reference_answer, **kwargs)
        self.keys, self.given = tuple(keys), tuple(given)  # given: keys the cell fills in (the data measured on)
        self.discussion = discussion.strip()
        if "explanation" in self.keys:
            raise ValueError(f"{self}: 'explanation' is always asked for; list only the measured keys")

    def skeleton(self) -> dict:
        """The answer as the notebook commits it: every value ``...``."""
        return {key: BLANK for key in (*self.keys, "explanation")}

    def _judge(self, answer):
        if not isinstance(answer, dict):
            raise Mistake(f"Pass the dict the cell builds, answer = dict({', '.join(f'{k}=...' for k in self.keys)}, "
                          f"explanation=\"...\"), not {short(answer)}.")
        missing = [key for key in (*self.keys, "explanation") if key not in answer]
        if missing:
            raise Mistake(f"Your dict has no {', '.join(repr(k) for k in missing)}: keep the keys of the cell's "
                          f"`answer = dict(...)`.")
        if all(answer[key] is BLANK for key in self.keys if key not in self.given):
            raise NotAttempted
        blank = [key for key in self.keys if answer[key] is BLANK]
        if blank:
            raise Mistake(f"{', '.join(repr(k) for k in blank)} still `...`: fill in every measurement.")
        found = self.check_fn(answer)
        explanation = answer["explanation"]
        if explanation is BLANK or not isinstance(explanation, str) or len(explanation.split()) < MIN_WORDS:
            raise Mistake(f"Your measurement is accepted ({found}). Now write your explanation as a string of a "
                          f"sentence or two (at least {MIN_WORDS} words): what changed, by how much, and why.")
        return f"{CORRECT} {found}"

    def check(self, answer) -> None:
        line = self.verdict(answer)
        print(line)
        if line.startswith(CORRECT):
            print(f"\nDiscussion: {self.discussion}")

    def _blanks(self):
        return [BLANK, self.skeleton()]


# ---------------------------------------------------------------------------
# small helpers the chapters' check functions share
# ---------------------------------------------------------------------------

def number(answer: dict, key: str, *, low=-math.inf, high=math.inf) -> float:
    """``answer[key]`` as a finite float within [low, high], or a Mistake naming the key."""
    value = answer[key]
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = np.asarray(value.numpy()).item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        raise Mistake(f"{key!r} should be a number (what you measured), not {short(value)}.")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise Mistake(f"{key!r} = {value:g} is outside [{low:g}, {high:g}]: is it the quantity the statement asks for?")
    return value


def keras_model(answer: dict, key: str):
    """``answer[key]`` if it is a built Keras model, else a Mistake."""
    import keras

    model = answer[key]
    if not isinstance(model, keras.Model):
        raise Mistake(f"{key!r} should be a Keras model, not {short(model)}.")
    if not model.built or not model.inputs:
        raise Mistake(f"{key!r} has no input shape yet: build it from keras.Input(...) and train it first.")
    return model


def all_layers(model) -> list:
    """Every layer of a model, nested models opened (Sequential inside Sequential, a base inside a model)."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found += all_layers(layer)
    return found


def accuracy(model, x, y) -> float:
    """Accuracy of a softmax classifier on (x, y)."""
    predictions = np.asarray(model.predict(np.asarray(x), verbose=0, batch_size=512))
    return float(np.mean(predictions.argmax(axis=-1) == np.asarray(y).reshape(-1)))


def labelled_data(answer: dict, x_key: str, y_key: str, *, at_least: int):
    """The (x, y) arrays the learner measured on, with matching lengths and at least ``at_least`` examples."""
    x, y = answer[x_key], answer[y_key]
    try:
        x, y = np.asarray(x, dtype="float32"), np.asarray(y).reshape(-1)
    except (TypeError, ValueError):
        raise Mistake(f"{x_key!r} and {y_key!r} should be the arrays you measured on (images and labels).") from None
    if len(x) != len(y):
        raise Mistake(f"{x_key!r} has {len(x)} images but {y_key!r} {len(y)} labels.")
    if len(x) < at_least:
        raise Mistake(f"Measure on at least {at_least:,} held-out examples ({len(x):,} given): with fewer, one "
                      f"example is worth more than the effect you are measuring.")
    return x, y


def toy_digits(n: int, seed: int = 0, classes: int = 10, size: int = 28, jitter: int | None = None):
    """``n`` small labelled images a CNN learns in seconds: class c is a striped patch of its own angle and period.

    The checkers' self-tests train on these (offline, instantly), never on MNIST. The 16×16 patch sits at a
    random place (within ``jitter`` pixels of the centre, if given), so the class is a local pattern (global
    average pooling keeps it); values in [0, 1], shape
    ``(n, size, size, 1)``, labels ``0..classes-1``.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.uniform(0, 0.2, (n, size, size, 1)).astype("float32")
    rows, cols = np.mgrid[0:16, 0:16]
    for i, c in enumerate(y):
        angle, period = np.pi * (c % 5) / 5, 3.0 if c < 5 else 6.0
        phase = rng.uniform(0, 2 * np.pi)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * (rows * np.sin(angle) + cols * np.cos(angle)) / period + phase)
        if jitter is None:
            top, left = rng.integers(0, size - 15, 2)
        else:
            top, left = (size - 16) // 2 + rng.integers(-jitter, jitter + 1, 2)
        x[i, top:top + 16, left:left + 16, 0] = wave
    return x, y
