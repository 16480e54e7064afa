import random

import numpy as np
import pytest

from utils import setup


@pytest.mark.parametrize("raw, expected", [("1", True), ("true", True), (" ON ", True), ("yes", True),
                                           ("", False), ("0", False), ("off", False), ("No", False)])
def test_env_flag_reads_yes_no_values(monkeypatch, raw, expected):
    monkeypatch.setenv("CNN_COURSE_TEST_FLAG", raw)
    assert setup.env_flag("CNN_COURSE_TEST_FLAG") is expected


def test_env_flag_unset_is_off(monkeypatch):
    monkeypatch.delenv("CNN_COURSE_TEST_FLAG", raising=False)
    assert setup.env_flag("CNN_COURSE_TEST_FLAG") is False


def test_env_flag_rejects_garbage_and_names_the_variable(monkeypatch):
    monkeypatch.setenv(setup.FAST_ENV, "maybe")
    with pytest.raises(ValueError, match=r"CNN_COURSE_FAST='maybe'.*set it to 1"):
        setup.fast_mode()


def test_modes_follow_their_variables(monkeypatch):
    monkeypatch.setenv(setup.FAST_ENV, "1")
    monkeypatch.setenv(setup.OFFLINE_ENV, "0")
    assert setup.fast_mode() and not setup.offline_mode()
    monkeypatch.setenv(setup.FAST_ENV, "0")
    monkeypatch.setenv(setup.OFFLINE_ENV, "1")
    assert not setup.fast_mode() and setup.offline_mode()


def test_init_seeds_everything_and_prints_one_line(monkeypatch, capsys):
    import tensorflow as tf

    monkeypatch.setenv(setup.FAST_ENV, "1")
    monkeypatch.setenv(setup.OFFLINE_ENV, "0")
    env = setup.init(seed=7)
    first = (random.random(), np.random.rand(), float(tf.random.uniform(())))
    setup.init(seed=7)
    second = (random.random(), np.random.rand(), float(tf.random.uniform(())))
    assert first == second
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]
    assert lines[0].startswith("Mode: FAST") and "seed 7" in lines[0] and "offline" not in lines[0]
    assert env.fast and not env.offline and env.seed == 7
    assert env.pick(full=10, fast=1) == 1


def test_full_mode_picks_full_values(monkeypatch, capsys):
    monkeypatch.setenv(setup.FAST_ENV, "0")
    monkeypatch.setenv(setup.OFFLINE_ENV, "1")
    env = setup.init(verbose=False)
    assert capsys.readouterr().out == ""
    assert env.pick(full=10, fast=1) == 10
    assert "FULL" in env.describe() and "offline" in env.describe()


def test_colab_detection(monkeypatch):
    import sys
    import types

    assert not setup.in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert setup.in_colab()


def test_bad_seed_is_rejected():
    with pytest.raises(ValueError, match="seed=-1"):
        setup.seed_everything(-1)


def test_tensorflow_log_level_is_set_before_import():
    import os

    assert os.environ.get("TF_CPP_MIN_LOG_LEVEL") in {"1", "2", "3"}


def test_expect_error_prints_the_message_instead_of_a_traceback(capsys):
    with setup.expect_error(ValueError, KeyError):
        raise ValueError("kernel 7x7 does not fit")
    assert capsys.readouterr().out == "ValueError: kernel 7x7 does not fit\n"


def test_expect_error_with_keywords_compares_the_words_not_the_wording(capsys):
    # A library's message: the learner gets it whole on stderr, stdout gets a line
    # that is the same whatever the library's version words around the keywords.
    for message in ("Input 0 of layer \"lines\" is incompatible with the layer: expected min_ndim=4, found ndim=3.",
                    "Input 0 with name 'None' of layer 'lines' is incompatible with the layer: "
                    "expected min_ndim=4, found ndim=3. Full shape received: (427, 640, 3)"):
        with setup.expect_error(ValueError, keywords=("min_ndim=4", "found ndim=3")):
            raise ValueError(message)
        captured = capsys.readouterr()
        assert captured.err == f"ValueError: {message}\n"
        assert captured.out == ("ValueError, naming 'min_ndim=4' and 'found ndim=3' "
                                "(the library's wording, printed above, varies between versions)\n")
    with setup.expect_error(KeyError, keywords="NDIM"):  # one keyword as a string; case does not matter
        raise KeyError("expected ndim=4")
    assert capsys.readouterr().out.startswith("KeyError, naming 'NDIM' (")


def test_expect_error_fails_when_a_keyword_is_missing():
    with pytest.raises(AssertionError, match=r"does not name 'min_ndim=4': ValueError: expected rank 4, got 3"):
        with setup.expect_error(ValueError, keywords=("ndim", "min_ndim=4")):
            raise ValueError("expected rank 4, got 3 (ndim)")
    with pytest.raises(AssertionError, match="expected ValueError, but no error was raised"):
        with setup.expect_error(ValueError, keywords=("ndim",)):
            pass


def test_expect_error_fails_when_nothing_or_something_else_is_raised():
    with pytest.raises(AssertionError, match="expected ValueError, but no error was raised"):
        with setup.expect_error(ValueError):
            pass
    with pytest.raises(TypeError):
        with setup.expect_error(ValueError):
            raise TypeError("not the expected kind")
    with pytest.raises(ValueError, match="at least one exception class"):
        with setup.expect_error():
            pass
