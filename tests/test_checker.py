"""utils.checker: a learner's answer always gets one clear line (never a traceback), and mistakes are named."""
import math

import numpy as np
import pytest

from utils import checker
from utils.checker import BLANK, ChoiceExercise, CustomExercise, FunctionExercise, Mistake, ValueExercise


def reference_plus_one(n):
    """The reference: n + 1 (its source must appear in solution())."""
    return n + 1


def forgot_plus_one(n):
    return n


def doubled(n):
    return 2 * n


COMMON = {"hint": "add one", "solution": reference_plus_one}
plus_one = FunctionExercise("plus one", reference_plus_one, [(1,), (2,), (5,)],
                            mistakes=[(forgot_plus_one, "did you forget the +1?"), (doubled, "you doubled it")],
                            **COMMON)
shape = ValueExercise("a shape", (112, 112, 64), mistakes={(109, 109, 64): "That is the VALID size"},
                      hint="ceil(n / s)", solution="`(112, 112, 64)`")
choice = ChoiceExercise("pick", {"a": "one", "b": "two", "c": "three"}, "b",
                        feedback={"a": "a is too small", "c": "c is too large"}, hint="h", solution="**b**")


def test_blank_answers_are_not_attempted_and_do_not_fail(capsys):
    for exercise in (plus_one, shape, choice):
        assert exercise.check(BLANK) is None
        assert capsys.readouterr().out.startswith("○ Not attempted yet: ")

    def template(n):
        return ...

    assert plus_one.verdict(template).startswith("○ Not attempted yet:")


def test_function_answers_that_break_get_a_clear_line(capsys):
    def raises(n):
        return n / 0

    def forgets_return(n):
        n + 1

    assert plus_one.verdict(raises) == "✗ Your function raised ZeroDivisionError: division by zero for inputs (1)"
    assert "returned None" in plus_one.verdict(forgets_return) and "`return`" in plus_one.verdict(forgets_return)
    assert "Pass your function itself" in plus_one.verdict(reference_plus_one(3))  # called it: passed an int
    for broken in (raises, forgets_return, 3, None, "f", [reference_plus_one]):
        plus_one.check(broken)
        out = capsys.readouterr().out
        assert out.startswith("✗") and "Traceback" not in out and out.count("\n") == 1


def test_planted_mistake_diagnosis_picks_the_matching_message():
    assert plus_one.verdict(forgot_plus_one) == "✗ did you forget the +1?"
    assert plus_one.verdict(doubled) == "✗ you doubled it"
    # A wrong function that matches no planted mistake: the first failing case, expected against got.
    line = plus_one.verdict(lambda n: n + 2)
    assert line == "✗ For inputs (1) the answer is 2, your function returned 3 (3 of 3 cases fail)."
    # Right values as whole floats or NumPy ints count (np.ceil gives floats); a fractional count is named.
    assert plus_one.verdict(lambda n: n + 1.0).startswith("✓")
    assert plus_one.verdict(lambda n: np.int64(n + 1)).startswith("✓")
    assert "not a whole number" in plus_one.verdict(lambda n: n + 1.5)
    assert checker.whole(3.0) and checker.whole(np.int32(3)) and not checker.whole(2.5) and not checker.whole(True)
    assert plus_one.verdict(reference_plus_one) == "✓ Correct! All 3 test cases pass."


def test_learner_inputs_are_copied_so_a_mutating_function_cannot_change_the_cases():
    ex = FunctionExercise("sum", lambda a: float(np.sum(a)), [(np.ones(3),)], hint="h", solution="s")

    def mutates(a):
        a *= 0
        return float(np.sum(a))

    assert ex.verdict(mutates).startswith("✗ For inputs")
    assert ex.verdict(lambda a: float(np.sum(a))).startswith("✓")


def test_arrays_compare_shape_first_then_allclose_and_lists_count_as_arrays():
    ex = FunctionExercise("scale", lambda a: a * 0.1, [(np.arange(4.0),)], hint="h", solution="s")
    assert ex.verdict(lambda a: [x * 0.1 + 1e-12 for x in a]).startswith("✓")
    assert ex.verdict(lambda a: (a * 0.1).reshape(2, 2)).startswith("✗ For inputs ([0.0, 1.0, 2.0, 3.0])")
    assert ex.verdict(lambda a: "text").startswith("✗")
    assert checker.default_compare(np.zeros((2, 2)), np.zeros((2, 2)) + 1e-10)
    assert not checker.default_compare(np.zeros((2, 2)), np.zeros(4))
    assert checker.default_compare(3, np.int64(3)) and checker.default_compare(3, 3.0)  # a whole float counts
    assert not checker.default_compare(3, 3.5) and not checker.default_compare(3, float("nan"))
    assert not checker.default_compare(1, True) and checker.default_compare((1, 2), [1, 2])


def test_value_answers_of_the_wrong_type_are_named():
    assert shape.verdict([112, 112, 64]).startswith("✓")  # a list is fine
    assert shape.verdict(np.array([112, 112, 64])).startswith("✓")
    assert shape.verdict((np.int64(112), 112, 64)).startswith("✓")
    assert "text" in shape.verdict("(112, 112, 64)")
    assert "None" in shape.verdict(None)
    assert "not a number" in shape.verdict(True)
    assert "tuple of 3 numbers" in shape.verdict(112)
    assert "has 4 values" in shape.verdict((None, 112, 112, 64))
    assert shape.verdict((109, 109, 64)) == "✗ That is the VALID size"
    generic = shape.verdict((1, 2, 3))
    assert generic.startswith("✗ Not quite") and "112" not in generic  # does not give the answer away
    count = ValueExercise("a count", 36928, hint="h", solution="s")
    assert "single number" in count.verdict((36928,))


def test_tolerance():
    exact = ValueExercise("pi", math.pi, hint="h", solution="s")
    loose = ValueExercise("pi", 3.14159, tolerance=0.01, mistakes={6.28: "that is 2 pi"}, hint="h", solution="s")
    assert exact.verdict(math.pi).startswith("✓") and exact.verdict(3.14).startswith("✗ Not quite")
    assert loose.verdict(3.14).startswith("✓") and loose.verdict(3.2).startswith("✗ Not quite")
    assert loose.verdict(6.283) == "✗ that is 2 pi"
    with pytest.raises(ValueError, match="equals the expected"):
        ValueExercise("x", 1.0, tolerance=0.5, mistakes={1.2: "close"}, hint="h", solution="s")


def test_choices_accept_letter_variants_and_name_the_valid_letters():
    assert choice.verdict(" B ").startswith("✓") and choice.verdict("(b)").startswith("✓")
    assert choice.verdict("a") == "✗ Not a: a is too small"
    assert choice.verdict("e") == "✗ 'e' is not one of the choices: answer with \"a\" or \"b\" or \"c\"."
    assert "as a string" in choice.verdict(2)
    with pytest.raises(ValueError, match="needs feedback"):
        ChoiceExercise("x", {"a": "1", "b": "2"}, "a", feedback={}, hint="h", solution="s")


def test_custom_exercises_report_mistakes_and_unexpected_errors():
    def check_even(answer):
        if answer % 2:
            raise Mistake("odd: add one")

    ex = CustomExercise("even", check_even, planted=[(3, "odd")], reference_answer=4, hint="h", solution="s")
    assert ex.verdict(4) == "✓ Correct!" and ex.verdict(3) == "✗ odd: add one"
    assert ex.verdict("x").startswith("✗ Checking your answer raised TypeError")
    assert "None" in ex.verdict(None) and ex.verdict(BLANK).startswith("○")
    assert ex.self_test() == 3


def test_call_turns_a_learners_function_failures_into_messages():
    with pytest.raises(Mistake, match="raised KeyError"):
        checker.call(lambda: {}["k"])
    with pytest.raises(checker.NotAttempted):
        checker.call(lambda: ...)
    assert checker.call(lambda x=1: x + 1, x=2) == 3


def test_solution_shows_the_reference_source_only_when_called(capsys):
    plus_one.check(reference_plus_one)
    plus_one.hint()
    out = capsys.readouterr().out
    assert "return n + 1" not in out and out.endswith("Hint: add one\n")
    plus_one.solution()  # no IPython shell running: printed
    out = capsys.readouterr().out
    assert "```python\ndef reference_plus_one(n):" in out and "return n + 1" in out
    assert "**b**" in choice.solution_text()


def test_self_test_catches_a_broken_exercise():
    assert plus_one.self_test() == 2 + 2 + 2  # reference and solution, two mistakes, two blanks
    same_message = FunctionExercise("x", reference_plus_one, [(1,)], mistakes=[(forgot_plus_one, "m"), (doubled, "m")],
                                    **COMMON)
    with pytest.raises(AssertionError, match="share a message"):
        same_message.self_test()
    # A planted mistake that equals the reference on every case never draws its message.
    undetectable = FunctionExercise("x", reference_plus_one, [(1,)], mistakes=[(lambda n: 2, "never seen")], **COMMON)
    with pytest.raises(AssertionError, match="should draw"):
        undetectable.self_test()
