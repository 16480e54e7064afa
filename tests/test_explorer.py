"""utils.explorer: window positions agree with Keras's shapes and with what the convolution reads."""
import matplotlib

matplotlib.use("Agg")

import itertools  # noqa: E402

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import convmath, explorer  # noqa: E402
from utils.convolve import correlate2d  # noqa: E402

PADDINGS = ("valid", "same", 0, 1, 2)


def test_output_length_matches_keras():
    mismatches = []
    for n, f, s, padding in itertools.product((1, 2, 5, 6, 7, 8, 12), (1, 2, 3, 5), (1, 2, 3), ("valid", "same")):
        try:
            ours = explorer.sliding_axis(n, f, s, padding).output
        except ValueError:
            ours = None
        # No output is a ValueError from Keras 3.14 on, and a size of 0 before it (see
        # tests/test_convmath.py's keras_shape): both mean the window does not fit.
        try:
            expected = keras.layers.Conv1D(1, f, strides=s, padding=padding).compute_output_shape((None, n, 1))[1]
        except ValueError:
            expected = None
        if expected is not None and expected <= 0:
            expected = None
        if ours != expected:
            mismatches.append((n, f, s, padding, ours, expected))
    assert not mismatches, mismatches


def test_known_positions():
    axis = explorer.sliding_axis(7, 3, 2)
    assert axis.starts == (0, 2, 4) and axis.output == 3
    assert axis.window(1) == range(2, 5)
    assert axis.unread() == ()
    axis = explorer.sliding_axis(8, 3, 2)                  # the stride steps over the last pixel
    assert axis.starts == (0, 2, 4) and axis.unread() == (7,)
    axis = explorer.sliding_axis(6, 3, 2, "same")          # one zero, put after
    assert (axis.pad_before, axis.pad_after, axis.starts) == (0, 1, (0, 2, 4))
    assert axis.window(2) == range(4, 7)                   # index 6 is the padding zero
    axis = explorer.sliding_axis(5, 3, 1, 1)
    assert axis.starts == (-1, 0, 1, 2, 3)
    assert explorer.sliding_axis(28, 5).output == 24


def test_windows_are_what_correlate2d_reads():
    """Summing each window (zeros outside the input) reproduces the convolution, for every padding."""
    rng = np.random.default_rng(0)
    for (h, w), (fh, fw), s, padding in itertools.product([(5, 7), (6, 6)], [(3, 3), (2, 4)], (1, 2, 3), PADDINGS):
        image, kernel = rng.normal(size=(h, w)), rng.normal(size=(fh, fw))
        try:
            rows, cols = explorer.sliding_positions((h, w), (fh, fw), s, padding)
        except ValueError:
            with pytest.raises(ValueError):
                correlate2d(image, kernel, s, padding)
            continue
        big = np.pad(image, 10)  # room for any padding: index r of the image is r + 10 here
        ours = np.array([[np.sum(big[np.ix_(np.array(rows.window(i)) + 10, np.array(cols.window(j)) + 10)] * kernel)
                          for j in range(cols.output)] for i in range(rows.output)])
        np.testing.assert_allclose(ours, correlate2d(image, kernel, s, padding), err_msg=f"{(h, w)} {s} {padding}")
        assert (rows.output, cols.output) == convmath.conv_output_shape((h, w), (fh, fw), s, padding)


def test_same_padding_agrees_with_convmath():
    for n, f, s in itertools.product((4, 5, 6, 7), (1, 2, 3, 4), (1, 2, 3)):
        axis = explorer.sliding_axis(n, f, s, "same")
        assert (axis.pad_before, axis.pad_after) == convmath.same_padding(n, f, s)
        assert axis.output == -(-n // s)


def test_describe_text():
    text = explorer.describe(7, 3, 2, "valid", neuron=(1, 2))
    assert "output 3x3" in text
    assert "windows start at i·2 = rows [0, 2, 4] and j·2 = columns [0, 2, 4]" in text
    assert "neuron (1, 2) sees input rows 2..4 and columns 4..6" in text
    assert "never read" not in text
    assert "never read: rows [7], columns [7]" in explorer.describe(8, 3, 2)
    assert "zeros top 0, bottom 1, left 0, right 1" in explorer.describe(6, 3, 2, "same")
    assert "output 4x2" in explorer.describe((7, 4), (1, 3), (2, 1))


def test_describe_starts_windows_at_i_times_s_minus_pad_before_and_names_the_padding():
    text = explorer.describe(7, 3, 2, "same")
    assert "windows start at i·2 − 1 = rows [-1, 1, 3, 5] and j·2 − 1 = columns [-1, 1, 3, 5]" in text
    assert "neuron (3, 3) sees input rows 5..7 (row 7 is padding) and columns 5..7 (column 7 is padding)" in text
    text = explorer.describe(5, 5, 1, 2, neuron=(0, 4))
    assert "rows -2..2 (rows -2, -1 are padding) and columns 2..6 (columns 5, 6 are padding)" in text
    assert "(row" not in explorer.describe(7, 3, 2, "same", neuron=(1, 1)).splitlines()[2]
    for n, f, s, padding in itertools.product((5, 6, 7), (1, 2, 3), (1, 2), ("same", 1)):
        rows, cols = explorer.sliding_positions(n, f, s, padding)
        for k in range(rows.output):
            expected = convmath.receptive_window(k, k, f, s, pad_before=rows.pad_before)[0]
            assert rows.window(k) == expected
            assert rows.padding_in(k) == tuple(i for i in expected if i < 0 or i >= n)


def test_draw_sliding_labels_padding_rows_and_columns():
    fig = explorer.draw_sliding(6, 3, 2, "same")
    ax_in = fig.axes[0]
    assert [t.get_text() for t in ax_in.get_xticklabels()] == ["0", "1", "2", "3", "4", "5", "6\npad"]
    assert [t.get_text() for t in ax_in.get_yticklabels()] == ["0", "1", "2", "3", "4", "5", "pad 6"]
    fig2 = explorer.draw_sliding(4, 3, 1, 1)
    assert [t.get_text() for t in fig2.axes[0].get_yticklabels()] == ["pad -1", "0", "1", "2", "3", "pad 4"]
    plt.close(fig)
    plt.close(fig2)


def test_draw_sliding_marks_every_window_and_the_neuron():
    fig = explorer.draw_sliding(7, 3, 2, "same", neuron=(1, 2))
    ax_in, ax_out = fig.axes
    dots = ax_in.collections[0].get_offsets()
    assert len(dots) == 16                              # 4x4 output: one dot per window
    assert (np.asarray(dots)[0] == [1.0, 1.0]).all()    # first window centred on (row 1, col 1) of the padded grid
    assert ax_out.get_title() == "output 4x4"
    filled = [p for p in ax_out.patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len(filled) == 1 and filled[0].get_xy() == (2 - 0.5, 1 - 0.5)   # neuron (1, 2)
    plt.close(fig)


def test_explore_prints_and_returns_figure(capsys):
    fig = explorer.explore(7, 3, 2, "valid")
    assert "output 3x3" in capsys.readouterr().out
    assert len(fig.axes) == 2
    plt.close(fig)


def test_show_explorer_explains_impossible_settings(capsys):
    explorer.show_explorer(3, 5, 1, "valid")
    out = capsys.readouterr().out
    assert out.startswith("not possible: kernel 5") and "size=3" in out
    assert not plt.get_fignums()


def test_interactive_explorer_builds_sliders():
    pytest.importorskip("ipywidgets")
    widget = explorer.interactive_explorer()
    plt.close("all")
    assert widget is not None


@pytest.mark.parametrize("call, match", [
    (lambda: explorer.sliding_axis(5, 7), "kernel 7.*size=5"),
    (lambda: explorer.sliding_axis(5, 3, 0), "stride=0"),
    (lambda: explorer.sliding_axis(5, 3, 1, "full"), "padding='full'"),
    (lambda: explorer.sliding_axis(5, 3, 1, -1), "padding=-1"),
    (lambda: explorer.sliding_axis(5, True), "kernel=True"),
    (lambda: explorer.sliding_positions((5, 5, 5), 3), r"input_shape=\(5, 5, 5\)"),
    (lambda: explorer.sliding_positions(5, (3, 3, 3)), r"kernel=\(3, 3, 3\)"),
    (lambda: explorer.sliding_axis(7, 3, 2).window(3), "k=3"),
    (lambda: explorer.describe(7, 3, 2, neuron=(3, 0)), r"inside the 3x3 output.*neuron=\(3, 0\)"),
    (lambda: explorer.draw_sliding(7, 3, 2, neuron=(0, -1)), r"neuron=\(0, -1\)"),
    (lambda: explorer.draw_sliding(7, 3, 2, neuron=5), "neuron=5"),
])
def test_bad_settings_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
