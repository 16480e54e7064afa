"""The multiple-choice exercises test understanding, not test-taking: no option gives itself away.

Every ``ChoiceExercise`` in utils/exercises/chNN.py is read as the learner sees it: the options listed in the
markdown cell above its check cell (``- **a.** ...``), which must be the module's choices, in order, word for
word. Then, across the course:

- the correct option is never much longer than the others (at most ``MAX_RATIO`` times their mean length);
- it is the longest option (ties included) no more often than chance would make it: a one-sided test on the
  number of such questions, each counting with probability 1/(its number of options), at ``ALPHA``, and at
  most the chance share (the expected number, rounded up);
- no letter is the correct one more often than chance would make it (the same test, per letter);
- every wrong option has feedback of its own, which says more than the option itself.

The test that failed before this file existed: in 14 of 16 questions the correct option was the longest
(chance: about 4), 2-4 times the others' length in chapters 10-15.
"""
import importlib
import math
import re
from pathlib import Path

import nbformat
import pytest

from utils import checker

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "utils" / "exercises").glob("ch[0-9][0-9].py"))
OPTION = re.compile(r"^- \*\*([a-z])\.\*\* (.+)$", re.M)
MAX_RATIO = 1.3  # the correct option's length against the mean length of the wrong ones
ALPHA = 0.05


def choice_exercises():
    found = []
    for name in MODULES:
        module = importlib.import_module(f"utils.exercises.{name}")
        found += [(name, key, value) for key, value in vars(module).items()
                  if isinstance(value, checker.ChoiceExercise)]
    return found


CHOICES = choice_exercises()
IDS = [f"{name}.{key}" for name, key, _ in CHOICES]


def shown_options(name, key):
    """{letter: text} as the notebook's markdown shows them, from the cell above `key = chNN.key`."""
    path = sorted((ROOT / "notebooks").glob(f"{name[2:]}_*.ipynb"))[0]
    cells = nbformat.read(path, as_version=4).cells
    check = [i for i, cell in enumerate(cells) if cell.cell_type == "code"
             and re.search(rf"^{key} = {name}\.{key}\b", cell.source, re.M)]
    assert len(check) == 1, f"{path.name}: expected one cell with `{key} = {name}.{key}`, found {len(check)}"
    question = cells[check[0] - 1]
    assert question.cell_type == "markdown", f"{path.name}: the cell above {name}.{key}'s check is not its question"
    return dict(OPTION.findall(question.source))


def upper_tail(probabilities, k):
    """P(K >= k) for K the number of successes of independent trials with these success probabilities."""
    distribution = [1.0]  # Poisson-binomial, by convolution
    for p in probabilities:
        distribution = [(distribution[i] if i < len(distribution) else 0) * (1 - p)
                        + (distribution[i - 1] * p if i else 0) for i in range(len(distribution) + 1)]
    return sum(distribution[k:])


def longest_is_correct(exercise):
    lengths = {letter: len(text) for letter, text in exercise.choices.items()}
    return lengths[exercise.correct] == max(lengths.values())


def test_there_are_choice_exercises():
    assert len(CHOICES) >= 10


def test_upper_tail_matches_the_binomial():
    assert math.isclose(upper_tail([0.25] * 4, 0), 1.0)
    assert math.isclose(upper_tail([0.25] * 4, 4), 0.25**4)
    assert math.isclose(upper_tail([0.25] * 16, 14), sum(math.comb(16, k) * 0.25**k * 0.75 ** (16 - k)
                                                          for k in range(14, 17)))


@pytest.mark.parametrize(("name", "key", "exercise"), CHOICES, ids=IDS)
def test_notebook_shows_the_module_choices_in_order(name, key, exercise):
    shown = shown_options(name, key)
    assert list(shown) == list(exercise.choices), \
        f"{name}.{key}: the notebook lists options {list(shown)}, the module {list(exercise.choices)}"
    for letter, text in exercise.choices.items():
        assert shown[letter] == text, f"{name}.{key}: option {letter} differs:\n  notebook {shown[letter]!r}\n" \
                                      f"  module   {text!r}"


@pytest.mark.parametrize(("name", "key", "exercise"), CHOICES, ids=IDS)
def test_every_wrong_option_has_its_own_feedback(name, key, exercise):
    wrong = [letter for letter in exercise.choices if letter != exercise.correct]
    assert sorted(exercise.feedback) == sorted(wrong), f"{name}.{key}: feedback for {sorted(exercise.feedback)}, " \
                                                       f"wrong options {sorted(wrong)}"
    texts = [exercise.feedback[letter].strip() for letter in wrong]
    assert len(set(texts)) == len(texts), f"{name}.{key}: two wrong options share their feedback"
    for letter in wrong:
        feedback = exercise.feedback[letter].strip()
        assert len(feedback) >= 40 and feedback != exercise.choices[letter].strip(), \
            f"{name}.{key}: option {letter}'s feedback should say why it is wrong: {feedback!r}"


@pytest.mark.parametrize(("name", "key", "exercise"), CHOICES, ids=IDS)
def test_correct_option_is_not_much_longer_than_the_others(name, key, exercise):
    others = [len(text) for letter, text in exercise.choices.items() if letter != exercise.correct]
    ratio = len(exercise.choices[exercise.correct]) / (sum(others) / len(others))
    assert ratio <= MAX_RATIO, f"{name}.{key}: the correct option is {ratio:.2f}x the mean length of the others " \
                               f"(at most {MAX_RATIO})"


def test_correct_option_is_the_longest_no_more_often_than_chance():
    chance = [1 / len(exercise.choices) for _, _, exercise in CHOICES]
    longest = [f"{name}.{key}" for name, key, exercise in CHOICES if longest_is_correct(exercise)]
    p_value = upper_tail(chance, len(longest))
    expected = sum(chance)
    assert p_value >= ALPHA, f"the correct option is the longest in {len(longest)} of {len(CHOICES)} questions " \
                             f"(chance: {expected:.1f}; P = {p_value:.3g} < {ALPHA}): {longest}"
    assert len(longest) <= math.ceil(expected), \
        f"the correct option is the longest in {len(longest)} questions, more than the chance share " \
        f"{expected:.1f}: {longest}"


def test_no_letter_is_correct_more_often_than_chance():
    for letter in "abcde":
        chance = [1 / len(exercise.choices) for _, _, exercise in CHOICES if letter in exercise.choices]
        hits = [f"{name}.{key}" for name, key, exercise in CHOICES if exercise.correct == letter]
        p_value = upper_tail(chance, len(hits))
        assert p_value >= ALPHA, f"'{letter}' is correct in {len(hits)} of {len(chance)} questions " \
                                 f"(chance: {sum(chance):.1f}; P = {p_value:.3g}): {hits}"


def test_inception_v3_batch_norm_figures_in_ch14_feedback():
    """ch14.q3's feedback quotes Keras's InceptionV3: batch norm without a scale, and its share of the parameters."""
    keras = pytest.importorskip("keras")
    from utils.exercises import ch14

    model = keras.applications.InceptionV3(weights=None)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.scale for layer in norms) and all(layer.center for layer in norms)
    assert sum(layer.count_params() for layer in norms) == ch14._BN_PARAMS
    assert model.count_params() == ch14._ALL_PARAMS
    feedback = ch14.q3.feedback["a"]
    assert "scale=False" in feedback and f"{ch14._BN_PARAMS:,}" in feedback and "0.22%" in feedback


def test_mobilenet_batch_norm_figures_in_ch14_feedback():
    """ch14.q3's feedback also quotes the course's MobileNet base: batch norm with a scale, and its share."""
    keras = pytest.importorskip("keras")
    from utils.exercises import ch14

    base = keras.applications.MobileNet(weights=None, alpha=0.25, input_shape=(128, 128, 3), include_top=False)
    norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.scale and layer.center for layer in norms)
    assert sum(layer.count_params() for layer in norms) == ch14._MOBILENET_BN_PARAMS
    assert base.count_params() == ch14._MOBILENET_BASE_PARAMS
    feedback = ch14.q3.feedback["a"]
    assert "MobileNet" in feedback and f"{ch14._MOBILENET_BN_PARAMS:,}" in feedback and "5.0%" in feedback


def test_nielsen_network_count_in_ch05_is_keras_count():
    """ch05.q2: the 100-neuron layer of Nielsen's 20-map network (his chapter 6), counted by Keras."""
    keras = pytest.importorskip("keras")
    from utils.exercises import ch05

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(20, 5), keras.layers.MaxPooling2D(2),
                              keras.layers.Flatten(), keras.layers.Dense(100, activation="sigmoid"),
                              keras.layers.Dense(10, activation="softmax")])
    assert model.layers[-2].count_params() == ch05.q2.expected
    assert model.count_params() == ch05._WHOLE
