"""Where a kernel slides: window positions, padding and output shape, as numbers and as a picture.

The logic behind notebook 2's interactive explorer, so it can be tested::

    rows, cols = sliding_positions((7, 7), kernel=3, strides=2, padding="valid")
    rows.starts          # (0, 2, 4): first input row of each window
    explore(7, 3, 2)     # prints the shapes, returns the figure

Window ``k`` starts at input index ``k·stride − pad_before``; a negative index, or
one past the last, is zero padding, and the text and the figure label it so. The shapes agree with
:mod:`utils.convmath` (and so with Keras), which checks every argument.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import Patch, Rectangle

from utils import convmath

WINDOW_COLOUR = "tab:orange"
PAD_COLOUR = "0.85"
UNREAD_COLOUR = "mistyrose"


@dataclass(frozen=True)
class Axis:
    """How a kernel slides along one axis of the input."""

    size: int
    kernel: int
    stride: int
    pad_before: int
    pad_after: int
    starts: tuple[int, ...]

    @property
    def output(self) -> int:
        """Output length: one output neuron per window position."""
        return len(self.starts)

    def window(self, k: int) -> range:
        """Input indices the ``k``-th window covers (outside ``0 .. size-1``: padding)."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < self.output:
            raise ValueError(f"window index must be in 0..{self.output - 1}, got k={k!r}")
        return range(self.starts[k], self.starts[k] + self.kernel)

    def padding_in(self, k: int) -> tuple[int, ...]:
        """The indices of window ``k`` that are zero padding (below 0 or past ``size - 1``)."""
        return tuple(i for i in self.window(k) if not 0 <= i < self.size)

    def unread(self) -> tuple[int, ...]:
        """Input indices no window covers (a stride can step over the last ones)."""
        read = {i for k in range(self.output) for i in self.window(k)}
        return tuple(i for i in range(self.size) if i not in read)


def _pads(size: int, kernel: int, stride: int, padding) -> tuple[int, int]:
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0
        if mode == "same":
            return convmath.same_padding(size, kernel, stride)
    return padding, padding  # an int: checked by conv_output_size


def sliding_axis(size: int, kernel: int, stride: int = 1, padding="valid") -> Axis:
    """Window positions along one axis for ``padding`` ``"valid"``, ``"same"`` or an int per side."""
    out = convmath.conv_output_size(size, kernel, stride, padding)  # checks every argument
    before, after = _pads(size, kernel, stride, padding)
    starts = tuple(range(-before, size + after - kernel + 1, stride))
    if len(starts) != out:  # the positions must agree with the formula
        raise AssertionError(f"{len(starts)} positions but conv_output_size gives {out}")
    return Axis(size, kernel, stride, before, after, starts)


def _pair(name: str, value) -> tuple:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(value)
    raise ValueError(f"{name} must be one value or a (height, width) pair, got {name}={value!r}")


def sliding_positions(input_shape, kernel, strides=1, padding="valid") -> tuple[Axis, Axis]:
    """Rows and columns of a 2-D convolution: ``(rows, cols)`` :class:`Axis` objects.

    ``input_shape``, ``kernel`` and ``strides`` are an int (square) or a
    ``(height, width)`` pair; the output shape is ``(rows.output, cols.output)``.
    """
    sizes, kernels, strides = _pair("input_shape", input_shape), _pair("kernel", kernel), _pair("strides", strides)
    return tuple(sliding_axis(n, f, s, padding) for n, f, s in zip(sizes, kernels, strides))


def _check_neuron(neuron, rows: Axis, cols: Axis) -> tuple[int, int]:
    if neuron is None:
        return rows.output - 1, cols.output - 1
    if (not isinstance(neuron, (tuple, list)) or len(neuron) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in neuron)
            or not (0 <= neuron[0] < rows.output and 0 <= neuron[1] < cols.output)):
        raise ValueError(f"neuron must be (i, j) inside the {rows.output}x{cols.output} output, got neuron={neuron!r}")
    return tuple(neuron)


def _seen(axis: Axis, k: int, noun: str) -> str:
    """``rows 5..7 (row 7 is padding)``: one window's input indices, its padding named."""
    r, pads = axis.window(k), axis.padding_in(k)
    text = f"{noun}s {r.start}..{r.stop - 1}"
    if len(pads) == 1:
        text += f" ({noun} {pads[0]} is padding)"
    elif pads:
        text += f" ({noun}s {', '.join(map(str, pads))} are padding)"
    return text


def _starts(axis: Axis, index: str, noun: str) -> str:
    """``i·2 − 1 = rows [-1, 1, 3, 5]``: the rule and the window starts along one axis."""
    rule = f"{index}·{axis.stride}" + (f" − {axis.pad_before}" if axis.pad_before else "")
    return f"{rule} = {noun}s {list(axis.starts)}"


def describe(input_shape, kernel, strides=1, padding="valid", neuron=None) -> str:
    """Three lines of text: the set-up and zeros added, the output shape and window starts, one neuron's window.

    Window ``(i, j)`` starts at row ``i·sh − pad_top`` and column ``j·sw − pad_left``;
    rows and columns of padding in the neuron's window are named as padding.
    """
    rows, cols = sliding_positions(input_shape, kernel, strides, padding)
    i, j = _check_neuron(neuron, rows, cols)
    lines = [
        f"input {rows.size}x{cols.size}, kernel {rows.kernel}x{cols.kernel}, stride {rows.stride}x{cols.stride}, "
        f"padding {padding!r}: zeros top {rows.pad_before}, bottom {rows.pad_after}, "
        f"left {cols.pad_before}, right {cols.pad_after}",
        f"output {rows.output}x{cols.output}: windows start at {_starts(rows, 'i', 'row')} "
        f"and {_starts(cols, 'j', 'column')}",
        f"neuron ({i}, {j}) sees input {_seen(rows, i, 'row')} and {_seen(cols, j, 'column')}",
    ]
    unread_rows, unread_cols = rows.unread(), cols.unread()
    if unread_rows or unread_cols:
        lines.append(f"never read: rows {list(unread_rows)}, columns {list(unread_cols)}")
    return "\n".join(lines)


def _grid(ax, n_rows: int, n_cols: int, fill) -> None:
    for r in range(n_rows):
        for c in range(n_cols):
            colour = fill(r, c)
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=colour, edgecolor="0.6", lw=0.8))
            if colour == PAD_COLOUR and max(n_rows, n_cols) <= 20:
                ax.text(c, r, "0", ha="center", va="center", fontsize=7, color="0.45")
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _index_ticks(ax, rows: Axis, cols: Axis, fontsize: int) -> None:
    """Label the grid's rows and columns with input indices; padding rows and columns also read "pad"."""
    ax.tick_params(length=0, pad=2, labeltop=True, labelbottom=False)
    for axis, set_ticks, ticks, pad_label in ((rows, ax.set_yticks, ax.yaxis.get_major_ticks, "pad {}"),
                                              (cols, ax.set_xticks, ax.xaxis.get_major_ticks, "{}\npad")):
        indices = range(-axis.pad_before, axis.size + axis.pad_after)
        set_ticks(range(len(indices)), [str(k) if 0 <= k < axis.size else pad_label.format(k) for k in indices],
                  fontsize=fontsize)
        for k, tick in zip(indices, ticks()):
            if not 0 <= k < axis.size:
                for label in (tick.label1, tick.label2):
                    label.set_color("0.45")
                    label.set_fontstyle("italic")
    if max(rows.size + rows.pad_before + rows.pad_after, cols.size + cols.pad_before + cols.pad_after) > 40:
        ax.set_xticks([])  # too many to read: the legend and the grey cells still mark the padding
        ax.set_yticks([])


def draw_sliding(input_shape, kernel, strides=1, padding="valid", neuron=None, *, cell: float = 0.38):
    """Figure: the (padded) input with a dot at the centre of every window, and the output grid.

    The window of ``neuron`` (default: the last one) and that output neuron are
    outlined in the same colour. Grey cells (their row or column index labelled "pad") are zero
    padding; pink cells are input pixels no window reads. Returns the figure.
    """
    rows, cols = sliding_positions(input_shape, kernel, strides, padding)
    i, j = _check_neuron(neuron, rows, cols)
    top, left = rows.pad_before, cols.pad_before
    height, width = rows.size + top + rows.pad_after, cols.size + left + cols.pad_after
    unread_rows, unread_cols = set(rows.unread()), set(cols.unread())

    def input_fill(r, c):
        r, c = r - top, c - left
        if not (0 <= r < rows.size and 0 <= c < cols.size):
            return PAD_COLOUR
        return UNREAD_COLOUR if r in unread_rows or c in unread_cols else "white"

    scale = min(max(cell, 3.0 / max(height, width)), 9.0 / (width + cols.output), 1.0)  # inches per cell
    fig, (ax_in, ax_out) = plt.subplots(
        1, 2, figsize=(scale * (width + rows.output) + 1.5, scale * max(height, rows.output) + 2.0),
        gridspec_kw={"width_ratios": [width, max(cols.output, 1)]})
    _grid(ax_in, height, width, input_fill)
    centres = [(c + left + (cols.kernel - 1) / 2, r + top + (rows.kernel - 1) / 2)
               for r in rows.starts for c in cols.starts]
    ax_in.scatter([x for x, _ in centres], [y for _, y in centres], s=12, color="tab:blue", zorder=3,
                  label="window centres")
    r0, c0 = rows.starts[i] + top, cols.starts[j] + left
    ax_in.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), cols.kernel, rows.kernel, fill=False,
                              edgecolor=WINDOW_COLOUR, lw=3, zorder=4))
    # the input's own border, so the padding reads as outside it
    ax_in.add_patch(Rectangle((left - 0.5, top - 0.5), cols.size, rows.size, fill=False, edgecolor="black", lw=1.5))
    _index_ticks(ax_in, rows, cols, fontsize=7 if max(height, width) <= 20 else 5)
    ax_in.set_title(f"input {rows.size}x{cols.size}, padding {padding!r}\n"
                    f"kernel {rows.kernel}x{cols.kernel}, stride {rows.stride}x{cols.stride}", fontsize=10)
    handles = [Patch(facecolor="none", edgecolor=WINDOW_COLOUR, lw=2, label=f"window of neuron ({i}, {j})")]
    if height > rows.size or width > cols.size:
        handles.insert(0, Patch(facecolor=PAD_COLOUR, edgecolor="0.6", label="zero padding"))
    if unread_rows or unread_cols:
        handles.append(Patch(facecolor=UNREAD_COLOUR, edgecolor="0.6", label="never read"))
    ax_in.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.02), fontsize=8, frameon=False,
                 ncol=len(handles))

    _grid(ax_out, rows.output, cols.output, lambda r, c: WINDOW_COLOUR if (r, c) == (i, j) else "white")
    ax_out.set_title(f"output {rows.output}x{cols.output}", fontsize=10)
    return fig


def explore(size=7, kernel=3, stride=2, padding="valid", neuron=None):
    """Print :func:`describe` for a square input and return :func:`draw_sliding`'s figure."""
    print(describe(size, kernel, stride, padding, neuron))
    return draw_sliding(size, kernel, stride, padding, neuron)


def show_explorer(size=7, kernel=3, stride=2, padding="valid") -> None:
    """:func:`explore` and show the figure; a setting that cannot work prints why instead of failing.

    This is what the sliders call: moving one slider can make a setting
    impossible for a moment (a kernel larger than the input with ``"valid"``).
    """
    try:
        fig = explore(size, kernel, stride, padding)
    except ValueError as err:
        print(f"not possible: {err}")
        return
    plt.show()
    plt.close(fig)


def interactive_explorer(size=7, kernel=3, stride=2, padding="valid", max_size: int = 16):
    """Sliders for input size, kernel, stride and padding (needs ipywidgets and a notebook front end)."""
    import ipywidgets as widgets

    paddings = [("valid", "valid"), ("same", "same"), ("1 zero per side", 1), ("2 zeros per side", 2)]
    return widgets.interact(
        show_explorer,
        size=widgets.IntSlider(value=size, min=1, max=max_size, description="input size"),
        kernel=widgets.IntSlider(value=kernel, min=1, max=7, description="kernel"),
        stride=widgets.IntSlider(value=stride, min=1, max=4, description="stride"),
        padding=widgets.Dropdown(options=paddings, value=padding, description="padding"),
    )
