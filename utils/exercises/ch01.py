"""Exercises for notebook 01 (convolution): definitions, references, planted mistakes."""
from __future__ import annotations

import numpy as np

from lessons.convolution import conv_matrix
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise

# q1: the matrix of a 3x3 'valid' convolution on an 8x8 image: its shape and how many entries hold a weight.
_N, _F = 8, 3
_LABELS = np.arange(1, _F * _F + 1).reshape(_F, _F)  # every kernel weight non-zero, so zeros are structural


def _matrix_answer(padding="valid", side=None):
    if side is not None:  # an output side the learner may have computed
        return (side * side, _N * _N, side * side * _F * _F)
    m = conv_matrix((_N, _N), _LABELS, padding=padding)
    return (m.shape[0], m.shape[1], int(np.count_nonzero(m)))


_RIGHT = _matrix_answer()
q1 = ValueExercise(
    "The matrix of a 3x3 convolution ('valid') on an 8x8 image: (rows, columns, entries holding a weight)",
    _RIGHT,
    mistakes={
        (_RIGHT[1], _RIGHT[0], _RIGHT[2]): "Rows and columns are swapped: the matrix multiplies the flattened "
                                          "input, so it has one column per input pixel and one row per output pixel.",
        (_RIGHT[0], _RIGHT[1], _RIGHT[0] * _RIGHT[1]): "That counts every entry. Each row holds only the 9 weights "
                                                      "of the kernel, at the pixels under its window; the rest are 0.",
        _matrix_answer("full"): "That is the 'full' output (every position where the kernel overlaps the image at "
                                "all, 10x10). 'valid' keeps only positions where the kernel lies inside the image.",
        _matrix_answer(side=_N - _F): "Your output side is one too small: a kernel of 3 fits at 8 − 3 + 1 = 6 "
                                      "positions per axis, not 8 − 3.",
        (_RIGHT[0], _RIGHT[1], _F * _F): "9 is the number of distinct weights (they are shared). The question asks "
                                         "for the entries that hold one of them: 9 in every row.",
    },
    note=f"The output is 6x6 = {_RIGHT[0]} pixels, the input 8x8 = {_RIGHT[1]}, and each row holds the 9 weights: "
         f"{_RIGHT[2]} of {_RIGHT[0] * _RIGHT[1]:,} entries, all copies of 9 numbers.",
    hint="One row per output pixel, one column per input pixel. 'valid' output side: n − f + 1. "
         "Each row holds every weight of the kernel once.",
    solution=f"`{_RIGHT}`: 6 × 6 = 36 output pixels (rows), 8 × 8 = 64 input pixels (columns), 9 weights "
             f"per row. Check with `M = conv_matrix((8, 8), np.arange(1, 10).reshape(3, 3))`, `M.shape`, "
             "`np.count_nonzero(M)`.",
)


# q2: 2-D cross-correlation ('valid', stride 1) in NumPy, written by the learner.
def cross_correlate(image, kernel):
    """'valid' 2-D cross-correlation: out[i, j] = sum(image[i:i+fh, j:j+fw] * kernel)."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    fh, fw = kernel.shape
    out = np.zeros((image.shape[0] - fh + 1, image.shape[1] - fw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + fh, j:j + fw] * kernel)
    return out


def _flipped(image, kernel):
    return cross_correlate(image, np.asarray(kernel)[::-1, ::-1])


def _full_size(image, kernel):
    fh, fw = np.shape(kernel)
    return cross_correlate(np.pad(np.asarray(image, dtype=float), ((fh - 1, fh - 1), (fw - 1, fw - 1))), kernel)


def _loop_one_short(image, kernel):
    return cross_correlate(image, kernel)[:-1, :-1]


def _truncated(image, kernel):  # an int accumulator, np.zeros(..., dtype=int), or .astype(int)
    return np.trunc(cross_correlate(image, kernel))


def _real_case(seed, image_shape, kernel_shape):
    """Negative, non-integer pixels and weights."""
    rng = np.random.default_rng(seed)
    return (np.round(rng.uniform(-2, 2, size=image_shape), 2), np.round(rng.uniform(-1, 1, size=kernel_shape), 2))


def _case(seed, image_shape, kernel_shape):
    rng = np.random.default_rng(seed)
    return (rng.integers(-3, 4, size=image_shape).astype(float), rng.integers(-2, 3, size=kernel_shape).astype(float))


CASES = [
    (np.array([[10, 10, 10, 0, 0, 0]] * 6, dtype=float), np.array([[1, 0, -1]] * 3, dtype=float)),  # the edge
    _case(0, (5, 5), (3, 3)), _case(1, (6, 7), (3, 3)), _case(2, (7, 5), (2, 3)), _case(3, (4, 6), (4, 1)),
    _case(4, (5, 5), (1, 1)), _case(5, (3, 3), (3, 3)), _real_case(6, (6, 5), (3, 2)), _real_case(7, (5, 5), (3, 3)),
]

q2 = FunctionExercise(
    "cross_correlate(image, kernel): 2-D cross-correlation, 'valid', stride 1, in NumPy",
    reference=cross_correlate,
    cases=CASES,
    mistakes=[
        (_flipped, "You flipped the kernel: that is the true convolution. Conv2D (and this exercise) slides the "
                   "kernel as it is: out[i, j] = sum of image[i + m, j + n] * kernel[m, n]."),
        (_full_size, "Your output is the 'full' size (h + fh − 1): you padded the image with zeros. 'valid' means "
                     "no padding: the kernel must lie inside the image, so the output is (h − fh + 1, w − fw + 1)."),
        (_loop_one_short, "Your output misses its last row and column: an off-by-one in the loop bounds. A kernel "
                          "of fh rows fits at h − fh + 1 positions: range(h − fh + 1), not range(h − fh)."),
        (_truncated, "Your values lose their fractions (1.7 becomes 1): an int array (np.zeros(..., dtype=int) or "
                     ".astype(int)) truncates each sum. Make the output a float array, np.zeros((oh, ow))."),
    ],
    hint="The output has (h − fh + 1) × (w − fw + 1) pixels. For each (i, j), multiply the patch "
         "image[i:i + fh, j:j + fw] element-wise by the kernel and sum it. No flip, no padding.",
    solution=cross_correlate,
)


# q3: convolution or cross-correlation for a learned kernel.
q3 = ChoiceExercise(
    "A framework's Conv2D flipped its kernel (true convolution) instead of cross-correlating. "
    "What changes for a network trained from scratch with it?",
    choices={
        "a": "It detects edges with the wrong sign, so the trained network is less accurate.",
        "b": "Its output shapes change, because a flipped kernel needs a different amount of padding.",
        "c": "It can no longer be trained with gradient descent, because flipping a kernel has no gradient.",
        "d": "Nothing it can compute: training learns the flipped kernels, so the outputs match.",
    },
    correct="d",
    feedback={
        "a": "The sign flips only for a fixed, hand-made kernel. A learned kernel is whatever training makes it: "
             "the network learns the flipped weights (the notebook's gradient-descent cell shows it).",
        "b": "The flip reverses the kernel's rows and columns; the kernel keeps its size, so every output "
             "shape stays the same.",
        "c": "The flip only reorders the weights, and a reordering passes gradients through unchanged "
             "(each weight still enters the sum linearly).",
    },
    note="Convolution with K is cross-correlation with K flipped, so both layers compute the same set of "
         "functions; libraries skip the flip and keep the name.",
    hint="Compare convolve2d(image, K) with correlate2d(image, K[::-1, ::-1]). Who chooses K in a trained network?",
    solution="**d**. A convolution with kernel K equals a cross-correlation with the flipped kernel, so any "
             "function one layer computes, the other computes with its weights stored in the other order. "
             "Training finds those weights; in the notebook, learning from true-convolution targets recovers the "
             "flipped edge kernel.",
)
