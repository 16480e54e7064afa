"""utils.verdicts: the one rule every training comparison prints through."""
import numpy as np
import pytest
from scipy import stats

from utils import verdicts


def test_the_t_quantile_is_students():
    assert verdicts.t_quantile_975(4) == pytest.approx(2.776, abs=1e-3)
    assert verdicts.t_quantile_975(1) == pytest.approx(12.706, abs=1e-3)


def test_the_paired_interval_matches_scipys_one_sample_interval():
    gaps = np.array([0.43, 0.79, 0.55, 0.61, 0.66])
    low, high = verdicts.paired_interval(gaps)
    ref = stats.t.interval(0.95, len(gaps) - 1, loc=gaps.mean(), scale=stats.sem(gaps))
    assert (low, high) == pytest.approx(ref)
    with pytest.raises(ValueError, match="at least 2"):
        verdicts.paired_interval([0.5])


def test_pairing_sees_a_consistent_gap_that_the_arms_spread_would_hide():
    """Seeds move both arms together (spread 2 points), the gap is always +0.5: paired, a direction."""
    base = np.array([95.0, 96.0, 97.0, 95.5, 96.5])
    gap = np.array([0.4, 0.6, 0.5, 0.45, 0.55])
    paired = verdicts.compare(base + gap, base, paired=True, higher="max-blur keeps more", lower="max keeps more")
    assert paired.kind == "higher" and paired.decided and paired.text.startswith("max-blur keeps more")
    assert paired.interval[0] > 0 and "+0.40" in paired.detail and "95 % interval" in paired.detail
    unpaired = verdicts.compare(base + gap, base, paired=False)
    assert unpaired.kind == "tie" and not unpaired.decided and verdicts.TIE in unpaired.text


def test_a_gap_that_changes_sign_is_a_tie_and_so_is_one_outlier_dragging_the_mean():
    assert verdicts.compare([1, 2, 3, 4, 5], [0.5, 2.5, 2, 3, 4], paired=True).kind == "tie"
    # every gap positive, but one big gap makes the interval include 0
    v = verdicts.compare([0.1, 0.1, 0.1, 0.1, 5.0], [0, 0, 0, 0, 0], paired=True)
    assert v.kind == "tie" and v.interval[0] < 0 and "interval includes 0" in v.text


def test_direction_and_words_follow_the_sign():
    v = verdicts.compare([1, 1.1, 0.9, 1.05, 0.95], [2, 2.1, 1.9, 2.05, 1.95], paired=True,
                         higher="A is slower", lower="A is faster")
    assert v.kind == "lower" and v.text.startswith("A is faster")
    assert v.interval[1] < 0


def test_unpaired_needs_ranges_that_do_not_overlap():
    assert verdicts.compare([61, 60, 62, 59, 63], [45, 47, 44, 46, 48], paired=False).kind == "higher"
    touching = verdicts.compare([61, 48, 62, 59, 63], [45, 47, 44, 46, 48], paired=False)
    assert touching.kind == "tie" and "ranges overlap" in touching.text
    assert touching.detail == "a 58.60 [48.00, 63.00] against b 46.00 [44.00, 48.00], mean [min, max] over the seeds"


def test_too_few_seeds_give_no_direction_however_large_the_gap():
    v = verdicts.compare([0.9, 0.91], [0.1, 0.12], paired=True, scale=100)
    assert v.kind == "undecided" and "2 seed(s)" in v.text and "needs 5" in v.text
    assert verdicts.compare([0.9, 0.91, 0.92], [0.1, 0.1, 0.1], paired=True, min_seeds=3).kind == "higher"
    assert verdicts.compare([0.9], [0.1], paired=True).kind == "undecided"


def test_scale_and_units_are_shown():
    v = verdicts.compare([0.80, 0.81, 0.82, 0.83, 0.84], [0.70, 0.70, 0.71, 0.72, 0.73], paired=True, scale=100,
                         fmt="{:+.1f}", unit=" points", names=("fine-tuned", "head"))
    assert "fine-tuned - head per seed: +10.0, +11.0, +11.0, +11.0, +11.0; mean +10.8 points" in v.detail
    assert str(v) == f"{v.text} ({v.detail})"


@pytest.mark.parametrize("a, b, message", [
    ([1, 2, 3], [1, 2], "one result per seed"),
    ([[1, 2]], [1, 2], "flat"),
    ([], [1], "non-empty"),
    ([1, np.nan, 3], [1, 2, 3], "NaN"),
])
def test_bad_input_is_a_clear_error(a, b, message):
    with pytest.raises(ValueError, match=message):
        verdicts.compare(a, b, paired=True)


def test_spread_writes_mean_and_range():
    assert verdicts.spread([1.0, 2.0, 4.5]) == "2.50 [1.00, 4.50]"
    assert verdicts.spread([0.5, 0.25], "{:.1%}") == "37.5% [25.0%, 50.0%]"
