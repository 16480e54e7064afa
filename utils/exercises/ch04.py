"""Exercises for notebook 04 (pooling): definitions, references, planted mistakes."""
from __future__ import annotations

import math

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise


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


# (x, size, stride): the notebook's 4x4 map, odd sizes (the last row is dropped), overlapping windows
# (AlexNet's 3x3 with stride 2), stride 1, rectangular maps.
_FMAP = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], dtype=float)
CASES = [(_FMAP, 2, 2), (_maps(0, (5, 5)), 2, 2), (_maps(1, (7, 7)), 3, 2), (_maps(2, (4, 6)), 2, 1),
         (_maps(3, (6, 9)), 3, 3), (_maps(4, (9, 8)), 3, 2)]

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
        "a": "4 weights per channel (its 2×2 window), 128 in all; the next layer is unchanged.",
        "b": "No parameters; the next Conv2D keeps its parameters but does several times fewer multiply-adds.",
        "c": "No parameters, and the next Conv2D has 4 times fewer parameters.",
        "d": "32 parameters, one per channel, like a bias.",
    },
    correct="b",
    feedback={
        "a": "Max pooling applies a fixed function (the maximum) to each window: there is nothing to learn, so "
             "count_params() is 0.",
        "c": f"A convolution's parameters do not depend on its input's size: the next Conv2D has "
             f"3·3·32·64 + 64 = {_NEXT:,} either way. What drops is its work: it runs at fewer positions.",
        "d": "Keras's pooling layers have no bias or any other weight: count_params() is 0.",
    },
    note=f"0 parameters; the next Conv2D has {_NEXT:,} either way, and its multiply-adds drop from "
         f"{_MACS[False]:,} to {_MACS[True]:,} ({_MACS[False] / _MACS[True]:.1f}×).",
    hint="What would a max-pooling layer learn? And does a convolution's weight count depend on its input's "
         "height and width?",
    solution=f"**b**. Pooling has no weights (count_params() = 0). The next Conv2D has {_NEXT:,} parameters with or "
             f"without it; on 13×13 instead of 26×26 inputs it does {_MACS[True]:,} instead of {_MACS[False]:,} "
             "multiply-adds. Pooling does cut the parameters of a Dense layer after Flatten, whose input size "
             "depends on the map's size.",
)
