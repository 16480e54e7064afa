"""The one call every notebook's first cell makes.

``init()`` seeds Python, NumPy and TensorFlow, quiets TensorFlow's start-up
noise, detects Colab, reads the two mode switches and prints one line saying
which mode is on::

    from utils import setup
    ENV = setup.init()
    EPOCHS = ENV.pick(full=10, fast=1)

The switches are environment variables, read here and nowhere else:

``CNN_COURSE_FAST``
    ``1`` shortens training and subsets data so a notebook runs in seconds (CI
    sets it; the test suite turns it on by default).
``CNN_COURSE_OFFLINE``
    ``1`` lets loaders fall back to a clearly labelled stand-in (a local subset,
    data the code makes, random weights) instead of downloading. Without it, a
    failed download is an error that names the fix.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Must be set before TensorFlow is first imported anywhere in the process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# On a GPU runtime, take GPU memory as needed instead of nearly all of it at start-up, so a
# second TensorFlow process (memory measurement, the TF Hub route) still finds some. Child
# processes inherit the variable.
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

FAST_ENV = "CNN_COURSE_FAST"
OFFLINE_ENV = "CNN_COURSE_OFFLINE"
DEFAULT_SEED = 42

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def env_flag(name: str) -> bool:
    """Read a yes/no environment variable; anything unrecognised is an error."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name}={raw!r} is not a yes/no value; "
        f"set it to 1 (on) or 0 (off), or unset it"
    )


def fast_mode() -> bool:
    """True when ``CNN_COURSE_FAST`` is on: short training, subset data."""
    return env_flag(FAST_ENV)


def offline_mode() -> bool:
    """True when ``CNN_COURSE_OFFLINE`` is on: labelled stand-ins instead of downloads."""
    return env_flag(OFFLINE_ENV)


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


# What the course needs beyond what a Colab runtime ships: import name -> pip name.
COLAB_EXTRAS = {"tensorflow_hub": "tensorflow-hub", "tf_keras": "tf-keras", "sklearn": "scikit-learn",
                "ipywidgets": "ipywidgets"}


def missing_packages(modules: dict[str, str] | None = None) -> list[str]:
    """pip names of the packages in ``modules`` (default ``COLAB_EXTRAS``) that do not import."""
    modules = COLAB_EXTRAS if modules is None else modules
    return [pip_name for module, pip_name in modules.items() if importlib.util.find_spec(module) is None]


def colab_install_missing(modules: dict[str, str] | None = None, run=subprocess.run) -> list[str]:
    """Install only what is missing, pinning the TensorFlow already there so pip never replaces it."""
    missing = missing_packages(modules)
    if missing:
        pins = []
        if importlib.util.find_spec("tensorflow") is not None:
            from importlib.metadata import version

            pins.append(f"tensorflow=={version('tensorflow')}")
        print(f"Installing what this runtime lacks: {', '.join(missing)}")
        run([sys.executable, "-m", "pip", "install", "--quiet", *missing, *pins], check=True)
    return missing


@dataclass(frozen=True)
class CourseEnv:
    """What ``init()`` found: the modes, the seed and the course folders."""

    fast: bool
    offline: bool
    colab: bool
    seed: int
    root: Path
    images_dir: Path

    def pick(self, *, full, fast):
        """Return ``fast`` in fast mode and ``full`` otherwise (epochs, sample counts...)."""
        return fast if self.fast else full

    def describe(self) -> str:
        mode = (
            f"FAST ({FAST_ENV}=1: short training, subset data)"
            if self.fast
            else f"FULL (set {FAST_ENV}=1 for a quick run)"
        )
        parts = [f"Mode: {mode}"]
        if self.offline:
            parts.append(f"offline stand-ins allowed ({OFFLINE_ENV}=1)")
        if self.colab:
            parts.append("running on Colab")
        parts.append(f"seed {self.seed}")
        return " | ".join(parts)


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's ``random``, NumPy and TensorFlow (through Keras) with one number."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got seed={seed!r}")
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's Python-side logging (C++ start-up lines are set above)."""
    import logging

    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl ships with TensorFlow; nothing to quiet without it
        return


def init(seed: int = DEFAULT_SEED, *, verbose: bool = True) -> CourseEnv:
    """Set up a notebook: seeds, quiet TensorFlow, modes. Prints one line (``verbose``)."""
    from utils.course import ROOT, images_dir

    env = CourseEnv(
        fast=fast_mode(),
        offline=offline_mode(),
        colab=in_colab(),
        seed=seed,
        root=ROOT,
        images_dir=images_dir(),
    )
    if env.colab:
        colab_install_missing()
    quiet_tensorflow()
    seed_everything(seed)
    if verbose:
        print(env.describe())
    return env


@contextlib.contextmanager
def expect_error(*kinds: type[BaseException], keywords: tuple[str, ...] | str = ()):
    """Show the error a bad input gets, as one printed line instead of a traceback.

    Notebooks use it to demonstrate the helpers' messages::

        with setup.expect_error(ValueError):
            correlate2d(image, np.ones((7, 7)))

    prints ``ValueError: <the message>``. The course's own messages are worded
    here, so they are printed (and compared by the tests) whole.

    A message that Keras or TensorFlow writes is worded differently from one
    version to the next. For those, name the words that matter::

        with setup.expect_error(ValueError, keywords=("min_ndim=4", "found ndim=3")):
            conv(image)          # a single image where Keras wants a batch

    The learner still reads the library's whole message (on stderr, which the
    tests do not compare), and stdout gets one line that stays the same on every
    version: ``ValueError, naming 'min_ndim=4' and 'found ndim=3' (...)``. The
    keywords are matched case-insensitively; a missing one fails the cell.

    If nothing (or a different kind of error) is raised, the cell fails, so a
    check that stops working does not go unnoticed.
    """
    if not kinds:
        raise ValueError("expect_error needs at least one exception class, e.g. expect_error(ValueError)")
    if isinstance(keywords, str):
        keywords = (keywords,)
    try:
        yield
    except kinds as error:
        line = f"{type(error).__name__}: {error}"
        if not keywords:
            print(line)
            return
        missing = [k for k in keywords if k.lower() not in str(error).lower()]
        if missing:
            raise AssertionError(
                f"the {type(error).__name__} does not name {', '.join(map(repr, missing))}: {line}") from error
        print(line, file=sys.stderr, flush=True)
        print(f"{type(error).__name__}, naming {' and '.join(map(repr, keywords))} "
              "(the library's wording, printed above, varies between versions)", flush=True)
    else:
        raise AssertionError(f"expected {' or '.join(k.__name__ for k in kinds)}, but no error was raised")
