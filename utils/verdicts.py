"""Seed-noise verdicts: the course's one rule for when a training comparison may print a direction, not a tie.

A result from one seed is one draw: another seed moves it. So every comparison the notebooks print
from training runs goes through :func:`compare`, which decides from the runs of several seeds:

- **paired** (``paired=True``): both arms ran with the same seeds, and the comparison is made seed by
  seed, on the gaps ``a - b``. Where the seed sets the same things in both arms (the data order; the
  initial weights where the arms have the same layers), the pairing removes that shared part of the
  noise; where it sets different things (two different networks), the gaps simply carry both arms'
  noise, and the test stays valid. A direction needs **every gap to have the same sign and the 95 %
  t-interval of the mean gap to exclude zero** (Student's t with ``n - 1`` degrees of freedom, the
  textbook paired interval).
- **unpaired** (``paired=False``): for arms that did not run with matching seeds: a direction needs
  **the two ranges not to overlap**, every seed of one arm beyond every seed of the other.
- Fewer than ``min_seeds`` seeds (5 by default, the course's rule for runs under a minute) give
  ``"undecided"``: the number of seeds, never a direction.

Anything else is ``"a tie within seed noise"``. The verdict's ``text`` names the direction in the
caller's words and its ``detail`` shows the numbers it came from (per-seed values or gaps, the
mean, the range or interval), so a printed verdict can always be checked by eye. :func:`spread`
writes the course's "mean [min, max]".
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_SEEDS = 5
TIE = "a tie within seed noise"


@dataclass(frozen=True)
class Verdict:
    """One comparison's outcome. ``kind``: ``"higher"`` (a above b), ``"lower"``, ``"tie"`` or ``"undecided"``."""

    kind: str
    text: str  # the direction in the caller's words, or the tie / undecided wording
    detail: str  # the numbers behind it
    gaps: np.ndarray  # a - b per seed (paired) or the difference of the means (unpaired), in display units
    interval: tuple[float, float] | None  # the paired 95 % interval of the mean gap; None when unpaired

    @property
    def decided(self) -> bool:
        """True when the comparison printed a direction (beyond seed noise)."""
        return self.kind in ("higher", "lower")

    def __str__(self) -> str:
        return f"{self.text} ({self.detail})"


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``"mean [min, max]"`` of per-seed values, each written with ``fmt``."""
    values = np.asarray(values, dtype=float)
    return f"{fmt.format(values.mean())} [{fmt.format(values.min())}, {fmt.format(values.max())}]"


def t_quantile_975(degrees_of_freedom: int) -> float:
    """Student's t at 0.975 (two-sided 95 %) for ``degrees_of_freedom`` >= 1: 12.71 for 1, 2.78 for 4."""
    from scipy import stats  # scipy comes with scikit-learn, a course requirement

    return float(stats.t.ppf(0.975, degrees_of_freedom))


def paired_interval(gaps: Sequence[float]) -> tuple[float, float]:
    """The 95 % t-interval of the mean of per-seed gaps (at least 2)."""
    gaps = np.asarray(gaps, dtype=float)
    if gaps.size < 2:
        raise ValueError(f"a paired interval needs at least 2 per-seed gaps, got {gaps.size}")
    half = t_quantile_975(gaps.size - 1) * gaps.std(ddof=1) / math.sqrt(gaps.size)
    return float(gaps.mean() - half), float(gaps.mean() + half)


def compare(a: Sequence[float], b: Sequence[float], *, paired: bool, higher: str = "higher", lower: str = "lower",
            names: tuple[str, str] = ("a", "b"), scale: float = 1.0, fmt: str = "{:+.2f}", unit: str = "",
            min_seeds: int = MIN_SEEDS) -> Verdict:
    """Compare per-seed results ``a`` and ``b`` by the course's rule (see the module's docstring).

    ``higher`` / ``lower`` are the words printed when ``a`` is above / below ``b`` beyond seed noise
    (for example ``"the CNN loses more points"``); ``names`` label the arms in the detail; ``scale``
    multiplies the values for display (100 turns fractions into points), ``fmt`` writes a gap,
    ``unit`` follows the numbers (``" points"``).
    """
    a_values, b_values = (np.asarray(v, dtype=float) * scale for v in (a, b))
    if a_values.ndim != 1 or b_values.ndim != 1 or not a_values.size or not b_values.size:
        raise ValueError(f"compare needs two flat, non-empty lists of per-seed results, got shapes "
                         f"{a_values.shape} and {b_values.shape}")
    if not (np.isfinite(a_values).all() and np.isfinite(b_values).all()):
        raise ValueError("compare got a NaN or infinite per-seed result: a run diverged or was not scored")
    if paired and a_values.shape != b_values.shape:
        raise ValueError(f"a paired comparison needs one result per seed in each arm, got {a_values.size} and "
                         f"{b_values.size}")
    n = min(a_values.size, b_values.size)
    name_a, name_b = names
    plain = fmt.replace("+", "")  # the format for values; fmt (with its sign) is for gaps
    if paired:
        gaps = a_values - b_values
        detail = f"{name_a} - {name_b} per seed: " + ", ".join(fmt.format(g) for g in gaps)
        detail += f"; mean {fmt.format(gaps.mean())}{unit}"
        interval = paired_interval(gaps) if n >= 2 else None
        if interval:
            detail += f", 95 % interval [{fmt.format(interval[0])}, {fmt.format(interval[1])}]"
        up = bool((gaps > 0).all() and interval and interval[0] > 0)
        down = bool((gaps < 0).all() and interval and interval[1] < 0)
        rule = "every seed the same way and the interval excludes 0"
    else:
        gaps = np.array([a_values.mean() - b_values.mean()])
        detail = (f"{name_a} {spread(a_values, plain)}{unit} against {name_b} {spread(b_values, plain)}{unit}, "
                  f"mean [min, max] over the seeds")
        interval = None
        up, down = bool(a_values.min() > b_values.max()), bool(a_values.max() < b_values.min())
        rule = "the ranges do not overlap"
    if n < min_seeds:
        return Verdict("undecided", f"not decided: {n} seed(s), a verdict needs {min_seeds}", detail, gaps, interval)
    if up:
        return Verdict("higher", f"{higher}, beyond seed noise ({rule})", detail, gaps, interval)
    if down:
        return Verdict("lower", f"{lower}, beyond seed noise ({rule})", detail, gaps, interval)
    why = ("the gaps change sign or the interval includes 0" if paired else "the ranges overlap")
    return Verdict("tie", f"{TIE} ({why})", detail, gaps, interval)
