"""Exercises for notebook 11 (parameters and memory): definitions, references, planted mistakes."""
from __future__ import annotations

import math

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise

_ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


# q1: the memory of a given layer stack, written by the learner.
def stack_memory(shapes, batch_size=1, dtype="float32"):
    """Bytes of the activations: every layer's output shape (height, width, channels), for the whole batch."""
    bytes_per_value = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}[dtype]
    values = sum(math.prod(shape) for shape in shapes)
    return batch_size * values * bytes_per_value


def _forgot_batch(shapes, batch_size=1, dtype="float32"):
    return sum(math.prod(shape) for shape in shapes) * _ITEMSIZE[dtype]


def _eight_bytes(shapes, batch_size=1, dtype="float32"):
    return batch_size * sum(math.prod(shape) for shape in shapes) * 8


def _dtype_ignored(shapes, batch_size=1, dtype="float32"):
    return batch_size * sum(math.prod(shape) for shape in shapes) * 4


def _counted_parameters(shapes, batch_size=1, dtype="float32"):
    channels = [3] + [shape[-1] for shape in shapes]  # RGB input, 3x3 kernels
    return sum(convmath.conv_params(3, c_in, c_out) for c_in, c_out in zip(channels, channels[1:])) \
        * _ITEMSIZE[dtype]


_EXERCISE = [(100, 150, 100), (50, 75, 200), (25, 38, 400)]
CASES = [(_EXERCISE, 1, "float32"), (_EXERCISE, 50, "float32"), (_EXERCISE, 50, "float16"),
         ([(112, 112, 64), (56, 56, 128)], 8, "float32"), ([(28, 28, 16), (14, 14, 32), (7, 7, 64)], 32, "float16"),
         ([(14, 14, 6), (5, 5, 16)], 3, "float64")]

q1 = FunctionExercise(
    "stack_memory(shapes, batch_size, dtype): the bytes of a layer stack's activations",
    reference=stack_memory,
    cases=CASES,
    mistakes=[
        (_forgot_batch, "Your bytes do not grow with batch_size: every instance of the mini-batch has its own "
                        "feature maps, so multiply by the batch size (the parameters are shared, the "
                        "activations are not)."),
        (_eight_bytes, "Your bytes are twice too large for float32: 8 bytes is a float64. A float32 takes "
                       "32 bits = 4 bytes, a float16 or bfloat16 2 bytes."),
        (_dtype_ignored, "Right for float32, but a float16 takes 2 bytes and a float64 8: use the dtype's size "
                         "(e.g. {'float16': 2, 'float32': 4, 'float64': 8}[dtype])."),
        (_counted_parameters, "You counted the parameters (kernels and biases), which do not depend on the map "
                              "sizes. The activations are height × width × channels values per layer and "
                              "per instance."),
    ],
    hint="For each shape, multiply height × width × channels (math.prod). Sum over the layers, multiply by "
         "the batch size and by the bytes per value of the dtype.",
    solution=stack_memory,
)


# q2: a convolution layer's parameters and their bytes.
_K, _C_IN, _FILTERS = 5, 32, 64
_P = convmath.conv_params(_K, _C_IN, _FILTERS)

q2 = ValueExercise(
    "Parameters of Conv2D(64, 5) on a 32-channel input, and their bytes in float32: (parameters, bytes)",
    (_P, 4 * _P),
    mistakes={
        (_K * _K * _C_IN * _FILTERS, 4 * _K * _K * _C_IN * _FILTERS):
            "You left out the biases: each of the 64 filters has one.",
        (_K * _K * _C_IN * _FILTERS + 1, 4 * (_K * _K * _C_IN * _FILTERS + 1)):
            "Biases counted once per layer instead of once per filter: add 64, not 1.",
        ((_K * _K + 1) * _FILTERS, 4 * (_K * _K + 1) * _FILTERS):
            "Each filter has one 5×5 kernel *per input channel*: 5 × 5 × 32 weights, plus its bias.",
        (_P, 8 * _P): "The count is right, but a float32 takes 4 bytes, not 8.",
        (_P, 32 * _P): "The count is right, but 32 is the bits of a float32: it takes 4 bytes.",
        (_P, _P): "The count is right; the bytes are 4 per float32 parameter.",
    },
    note=f"(5 × 5 × 32 + 1) × 64 = {_P:,} parameters, × 4 bytes = {4 * _P:,} bytes. The input's height and "
         "width do not enter.",
    hint="(kernel height × kernel width × input channels + 1) × filters; then 4 bytes each.",
    solution=f"`({_K} × {_K} × {_C_IN} + 1) × {_FILTERS} = {_P:,}` parameters and `4 × {_P:,} = {4 * _P:,}` "
             "bytes: `(51264, 205056)`. Check with `keras.layers.Conv2D(64, 5)` built on `(None, 28, 28, 32)` "
             "and `count_params()`.",
)


# q3: why training needs more memory than inference.
q3 = ChoiceExercise(
    "Why does training a CNN need more memory than making predictions with it?",
    choices={
        "a": "During training the weights are stored in higher precision.",
        "b": "Backpropagation needs every layer's output until the reverse pass has used it, and adds the "
             "gradients and the optimizer's state; a prediction can free each output once the next layer "
             "is computed.",
        "c": "Training uses larger images than inference.",
        "d": "Training keeps the whole training set in memory.",
    },
    correct="b",
    feedback={
        "a": "The weights have the same dtype in both (float32 unless you choose otherwise); what grows is "
             "what training keeps besides them.",
        "c": "The same network takes the same image size in both; the difference is what is kept per image.",
        "d": "A tf.data pipeline streams mini-batches from disk; only the current batch's tensors are held.",
    },
    note="Inference: the largest two consecutive tensors. Training: all layers' outputs × the batch, the "
         "gradients of the reverse pass, the parameters' gradients and, for Adam, two slots per weight.",
    hint="Think of what the reverse pass reads, and what the optimizer keeps between steps.",
    solution="**b**. The reverse pass reads the outputs the forward pass computed, so they are all kept for "
             "every instance; it then holds gradient tensors as large as the layers, the parameters' gradients, "
             "and the optimizer's slots (momentum 1, Adam 2 per weight).",
)
