"""Exercises for notebook 04 (pooling): definitions, references, planted mistakes."""
from __future__ import annotations

import math

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, Lazy, ValueExercise
from utils.investigation import Investigation


# q1: max pooling in NumPy, written by the learner ("valid": incomplete windows are dropped).
def max_pool(x, size, stride):
    """Max pooling of a 2-D array x with size x size windows, moved by stride ('valid' padding)."""
    out_h = (x.shape[0] - size) // stride + 1
    out_w = (x.shape[1] - size) // stride + 1
    out = np.zeros((out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = x[i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out


def _pool(x, size, stride, reduce=np.max, ceil=False):
    rounding = math.ceil if ceil else math.floor  # ceil keeps the windows that hang over the border
    out_h, out_w = (rounding((n - size) / stride) + 1 for n in x.shape)
    return np.array([[reduce(x[i * stride:i * stride + size, j * stride:j * stride + size])
                      for j in range(out_w)] for i in range(out_h)], dtype=float)


def _stride_ignored(x, size, stride):
    return _pool(x, size, 1)


def _stride_is_size(x, size, stride):
    return _pool(x, size, size)


def _average(x, size, stride):
    return _pool(x, size, stride, reduce=np.mean)


def _keeps_incomplete_windows(x, size, stride):
    return _pool(x, size, stride, ceil=True)


def _maps(seed, shape, high=10):
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(float)


def _real_maps(seed, shape, shift=0.0):
    """Negative and fractional values, as a feature map before a ReLU holds (shift < 0: all below 0)."""
    return np.round(np.random.default_rng(seed).uniform(-5, 5, size=shape) + shift, 2)


def _max_from_zero(x, size, stride):  # a running max started at 0, or a ReLU before the pool: the same outputs
    return np.maximum(_pool(x, size, stride), 0.0)


def _truncated(x, size, stride):  # .astype(int), or np.zeros(..., dtype=int) filled with the maxima
    return np.trunc(_pool(x, size, stride))


def _window_at_i(x, size, stride):  # window (i, j) starts at row i, column j: stride only sets the output size
    out_h, out_w = ((n - size) // stride + 1 for n in x.shape)
    return np.array([[x[i:i + size, j:j + size].max() for j in range(out_w)] for i in range(out_h)], dtype=float)


# (x, size, stride): the notebook's 4x4 map, odd sizes (the last row is dropped), overlapping windows
# (AlexNet's 3x3 with stride 2), stride 1, rectangular maps.
_FMAP = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], dtype=float)
CASES = [(_FMAP, 2, 2), (_maps(0, (5, 5)), 2, 2), (_maps(1, (7, 7)), 3, 2), (_maps(2, (4, 6)), 2, 1),
         (_maps(3, (6, 9)), 3, 3), (_maps(4, (9, 8)), 3, 2),
         (_real_maps(5, (6, 6)), 2, 2), (_real_maps(6, (7, 5)), 3, 2), (_real_maps(7, (5, 6), shift=-6.0), 2, 1)]

q1 = FunctionExercise(
    "max_pool(x, size, stride): max pooling of a 2-D feature map in NumPy",
    reference=max_pool,
    cases=CASES,
    mistakes=[
        (_stride_ignored, "Your windows move one pixel at a time whatever the stride: they overlap and the "
                          "output is far too large. Start window (i, j) at row i·stride, column j·stride."),
        (_stride_is_size, "Your windows always move by their own size: right for Keras's default, but the stride "
                          "is a separate argument (AlexNet pools 3×3 windows with stride 2, so they overlap)."),
        (_average, "Your function averages each window: that is average pooling. Max pooling keeps the "
                   "largest value, .max()."),
        (_keeps_incomplete_windows, "Your output is too large when the windows do not tile the map: it keeps "
                                    "the incomplete windows at the border (a ceil where the formula has a "
                                    "floor). With 'valid' there are floor((n − size) / stride) + 1 windows per axis."),
        (_max_from_zero, "Your pooled values are never below 0: a running max that starts at 0 (or a ReLU before "
                         "the pool) loses a window whose values are all negative. Start from the window's first "
                         "value, or -np.inf, or take .max() of the window."),
        (_truncated, "Your values lose their fractions (2.7 becomes 2): an int array (np.zeros(..., dtype=int), "
                     ".astype(int)) truncates them. Keep the map's float dtype, e.g. np.zeros(..., dtype=x.dtype)."),
        (_window_at_i, "Your windows start at row i, column j: consecutive windows overlap even when the stride is "
                       "2. Window (i, j) starts at row i·stride, column j·stride."),
    ],
    hint="The output has floor((n − size) / stride) + 1 rows (and the same rule for columns); output (i, j) is "
         "the max of x[i·stride : i·stride + size, j·stride : j·stride + size].",
    solution=max_pool,
)


# q2: MaxPooling2D's default stride, on AlexNet's last convolutional output.
_N, _C, _POOL = 13, 256, 3
_EXPECTED = (convmath.conv_output_size(_N, _POOL, _POOL), convmath.conv_output_size(_N, _POOL, _POOL), _C)


def _side(stride, padding="valid"):
    size = convmath.conv_output_size(_N, _POOL, stride, padding)
    return (size, size, _C)


q2 = ValueExercise(
    "Output shape of keras.layers.MaxPooling2D(3) on a 13x13x256 input",
    _EXPECTED,
    mistakes={
        _side(1): "That is the shape with stride 1. Keras's default stride is the pool size: MaxPooling2D(3) "
                  "moves its windows 3 pixels at a time.",
        _side(2): "That is AlexNet's overlapping pooling, 3×3 with stride 2. MaxPooling2D(3) without strides= "
                  "uses stride 3, the pool size.",
        _side(3, "same"): "That is the size with padding='same', ceil(13 / 3). The default padding is 'valid': "
                          "the last, incomplete window is dropped.",
        (_N, _N, _C): "Pooling with a window larger than 1 and its default stride shrinks the map.",
    },
    note=f"Stride 3 (the default, the pool size), 'valid': floor((13 − 3) / 3) + 1 = {_EXPECTED[0]}; pooling keeps "
         f"the {_C} channels.",
    hint="Two defaults: strides=None means strides = pool_size, and padding='valid'. The channels stay.",
    solution=f"`{_EXPECTED}`: stride 3, so floor((13 − 3) / 3) + 1 = {_EXPECTED[0]} per axis, and the {_C} channels "
             "stay. Check with `keras.layers.MaxPooling2D(3).compute_output_shape((None, 13, 13, 256))`; "
             "AlexNet's `MaxPooling2D(3, strides=2)` gives 6×6.",
)


# q3: what a pooling layer costs in parameters.
_NEXT = convmath.conv_params(3, 32, 64)
_MACS = {pooled: convmath.conv_macs((13, 13) if pooled else (26, 26), 3, 32, 64) for pooled in (False, True)}

q3 = ChoiceExercise(
    "Conv2D(32, 3) -> MaxPooling2D(2) -> Conv2D(64, 3) on 28x28x1: what does the pooling layer cost and change?",
    choices={
        "a": "No parameters; the next Conv2D keeps all its parameters but does fewer multiply-adds.",
        "b": "4 weights per channel (its 2×2 window), 128 in all; the next Conv2D is unchanged.",
        "c": "No parameters, and the next Conv2D has about 4 times fewer parameters, as it reads a smaller map.",
        "d": "32 parameters, one per channel like a bias; the next Conv2D does fewer multiply-adds.",
    },
    correct="a",
    feedback={
        "b": "Max pooling applies a fixed function (the maximum) to each window: there is nothing to learn, so "
             "count_params() is 0.",
        "c": f"A convolution's parameters do not depend on its input's size: the next Conv2D has "
             f"3·3·32·64 + 64 = {_NEXT:,} either way. What drops is its work: it runs at fewer positions.",
        "d": "Keras's pooling layers have no bias or any other weight: count_params() is 0.",
    },
    note=f"0 parameters; the next Conv2D has {_NEXT:,} either way, and its multiply-adds drop from "
         f"{_MACS[False]:,} to {_MACS[True]:,} ({_MACS[False] / _MACS[True]:.1f}×).",
    hint="What would a max-pooling layer learn? And does a convolution's weight count depend on its input's "
         "height and width?",
    solution=f"**a**. Pooling has no weights (count_params() = 0). The next Conv2D has {_NEXT:,} parameters with or "
             f"without it; on 13×13 instead of 26×26 inputs it does {_MACS[True]:,} instead of {_MACS[False]:,} "
             "multiply-adds. Pooling does cut the parameters of a Dense layer after Flatten, whose input size "
             "depends on the map's size.",
)


# q4 (investigation): average pooling in the shift table, against max pooling and max-blur pooling.
def _shift_change(layer, image, height=400, width=600, shift=1):
    """The chapter's measure: mean |output change| after a 1-px shift (left, up; averaged), over the mean |output|."""
    base = np.asarray(layer(image[:, :height, :width]))
    moved = [np.asarray(layer(image[:, dy:height + dy, dx:width + dx])) for dy, dx in ((0, shift), (shift, 0))]
    return float(np.mean([np.abs(m - base).mean() for m in moved]) / np.abs(base).mean())


def _check_average(answer):
    import keras

    from utils.checker import Mistake

    layer, inputs, changes = answer["layer"], answer["inputs"], answer["changes"]
    if not callable(layer):
        raise Mistake(f"'layer' should be a Keras layer, e.g. keras.layers.SomePooling2D(...), "
                      f"not {type(layer).__name__}.")
    probe = np.random.default_rng(0).random((1, 6, 8, 2)).astype("float32")
    try:
        out = np.asarray(layer(probe))
    except Exception as error:  # the learner's layer: one line
        raise Mistake(f"Your layer raised {type(error).__name__} on a (1, 6, 8, 2) batch: {error}") from None
    windows = probe.reshape(1, 3, 2, 4, 2, 2)
    if out.shape != (1, 3, 4, 2):
        raise Mistake(f"Your layer turns a 6×8 map into {out.shape[1]}×{out.shape[2]}: 2×2 windows with stride 2 "
                      f"give 3×4 (pool_size=2, strides=2).")
    if np.allclose(out, windows.max(axis=(2, 4))):
        raise Mistake("Your layer takes the maximum of each window: that is max pooling, already in the table. "
                      "The investigation is average pooling (keras.layers.AveragePooling2D).")
    if not np.allclose(out, windows.mean(axis=(2, 4)), atol=1e-6):
        raise Mistake("Your layer does not output the mean of each 2×2 window: use "
                      "keras.layers.AveragePooling2D(2, strides=2).")
    if not isinstance(inputs, dict) or not inputs:
        raise Mistake("'inputs' should be the chapter's dict of images, `shift_inputs` ({name: image batch}).")
    if not isinstance(changes, dict) or set(changes) != set(inputs):
        raise Mistake(f"'changes' should be a dict with one number per input, keyed like `shift_inputs`: "
                      f"{sorted(inputs)}.")
    max_pool, rows = keras.layers.MaxPooling2D(2, strides=2), []
    for name, image in inputs.items():
        image = np.asarray(image, dtype="float32")
        again = _shift_change(layer, image)
        value = changes[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise Mistake(f"changes[{name!r}] should be a number, not {type(value).__name__}.")
        if not math.isclose(float(value), again, rel_tol=1e-3, abs_tol=1e-6):
            raise Mistake(f"changes[{name!r}] = {float(value):.4f}, but shift_change(layer, image) re-computed here "
                          f"gives {again:.4f}: measure each input with the chapter's shift_change and your layer.")
        rows.append(f"{name} {again:.1%} (max pooling {_shift_change(max_pool, image):.1%})")
    return "Re-measured, change after a 1-px shift with average pooling: " + "; ".join(rows) + "."


def _average_answer(layer=None, shift=1):
    import keras

    layer = layer or keras.layers.AveragePooling2D(2, strides=2)
    rng = np.random.default_rng(3)
    inputs = {"noise": rng.random((1, 402, 602, 1)).astype("float32"),
              "ramp": np.linspace(0, 1, 402 * 602, dtype="float32").reshape(1, 402, 602, 1)}
    changes = {name: _shift_change(layer, image, shift=shift) for name, image in inputs.items()}
    return dict(layer=layer, changes=changes, inputs=inputs,
                explanation="Average pooling blurs with a 2x2 box, a weaker low-pass than max-blur's binomial.")


q4 = Investigation(
    "Investigation: average pooling in the shift table",
    _check_average,
    keys=("layer", "changes", "inputs"),
    given=("inputs",),
    planted=[(Lazy(lambda: _average_answer(__import__("keras").layers.MaxPooling2D(2, strides=2))),
              "that is max pooling"),
             (Lazy(lambda: _average_answer(__import__("keras").layers.AveragePooling2D(2, strides=1))),
              "give 3×4"),
             (Lazy(lambda: _average_answer(shift=2)), "re-computed here gives")],
    reference_answer=Lazy(_average_answer),
    discussion=(
        "Average pooling is a blur followed by subsampling, like max-blur pooling, so one expects it to change "
        "little under a 1-px shift. It does not: its blur is the 2×2 box, which only halves the finest detail "
        "before keeping every second value, against the 3×3 binomial blur of MaxBlurPool2D. Computed on the "
        "chapter's four inputs (no training, so your numbers are these), the change with average pooling is "
        "4.9 % and 4.1 % on the photos, about max pooling's 5.1 % and 4.2 %, and larger than max pooling's on "
        "the edge maps: 60.9 % against 48.8 % (temple) and 47.8 % against 39.1 % (flower), where max-blur "
        "pooling changed by about 30 %. On sparse edge maps a window's maximum often stays put when the input "
        "moves, while its mean always changes. Zhang (2019) anti-aliases average pooling too, by replacing "
        "the box with a wider blur; the wider the blur, the smaller the change and the more detail is lost."),
    hint="keras.layers.AveragePooling2D(2, strides=2); changes = {name: shift_change(average, image) for name, "
         "image in shift_inputs.items()}.",
    solution="`average = keras.layers.AveragePooling2D(2, strides=2)`, then `shift_change(average, image)` for each "
             "of the four images in `shift_inputs`. On the edge maps it changes more than max pooling: the 2×2 box "
             "is a weak blur, and a window's maximum often survives a 1-px shift where its mean never does.",
    todo="set `average` and `changes` and write your explanation, then run the cell (a second).",
)
