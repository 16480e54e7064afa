"""Exercises for notebook 02 (receptive fields, padding, stride): definitions, references, planted mistakes."""
from __future__ import annotations

import math

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise

# q1: ResNet's first layer, Conv2D(64, 7, strides=2, padding="same") on a 224x224x3 image.
_N, _K, _S, _FILTERS = 224, 7, 2, 64


def _shape(padding, size=None):
    side = size if size is not None else convmath.conv_output_size(_N, _K, _S, padding)
    return (side, side, _FILTERS)


q1 = ValueExercise(
    "Output shape of Conv2D(64, 7, strides=2, padding='same') on a 224x224x3 image",
    _shape("same"),
    mistakes={
        _shape("valid"): "That is the VALID size, ceil((224 − 7 + 1) / 2). With SAME the kernel size drops out.",
        _shape(None, (_N - _K) // _S): "That is VALID without the +1: floor((224 − 7) / 2). "
                                       "And with SAME the kernel size does not enter at all.",
        _shape(None, (_N - _K) / _S + 1): "(224 − 7) / 2 + 1 without the floor is not a whole number of "
                                         "positions, and with SAME the kernel size does not enter at all.",
        _shape(None, _N): "The stride is 2: the window moves two pixels at a time, so each axis shrinks.",
        (_N // _S, _N // _S, 3): "Height and width are right, but the output has one channel per filter, "
                                 "not the input's 3 colour channels.",
    },
    note=f"SAME gives ceil(224 / 2) = {convmath.conv_output_size(_N, _K, _S, 'same')} per axis, whatever "
         f"the kernel, and one channel per filter.",
    hint="With padding='same', TensorFlow's output size is ceil(n / s): the kernel size does not enter. "
         "The channels are the number of filters.",
    solution=f"`ceil(224 / 2) = {convmath.conv_output_size(_N, _K, _S, 'same')}` per axis and 64 filters, so "
             f"`{_shape('same')}`. Check it with "
             "`keras.layers.Conv2D(64, 7, strides=2, padding='same').compute_output_shape((None, 224, 224, 3))`.",
)


# q2: the output-size formula, written by the learner.
def output_size(n, kernel, stride=1, padding="valid", dilation=1):
    """Output length along one axis: padding is "same", "valid" or zeros added on each side."""
    span = (kernel - 1) * dilation + 1  # the input pixels a dilated kernel covers
    if padding == "same":
        return math.ceil(n / stride)
    if padding == "valid":
        padding = 0
    return (n - span + 2 * padding) // stride + 1


def _pad(padding):
    return 0 if padding == "valid" else padding


def _forgot_plus_one(n, kernel, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return math.ceil(n / stride)
    return (n - convmath.effective_kernel(kernel, dilation) + 2 * _pad(padding)) // stride


def _no_floor(n, kernel, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return math.ceil(n / stride)
    return (n - convmath.effective_kernel(kernel, dilation) + 2 * _pad(padding)) / stride + 1


def _same_for_valid(n, kernel, stride=1, padding="valid", dilation=1):
    if padding in ("same", "valid"):
        return math.ceil(n / stride)
    return (n - convmath.effective_kernel(kernel, dilation) + 2 * padding) // stride + 1


def _same_floored(n, kernel, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return n // stride  # rounds down: drops the last, partly padded position
    return convmath.conv_output_size(n, kernel, stride, padding, dilation)


def _dilation_ignored(n, kernel, stride=1, padding="valid", dilation=1):
    return convmath.conv_output_size(n, kernel, stride, padding, 1)


# (n, kernel, stride, padding, dilation): SAME, VALID, explicit zeros, strides that do not divide, dilation.
# No case combines a stride above 1 with dilation: Keras refuses that pair, so a learner who asks Keras
# (Conv1D(...).compute_output_shape) must be able to answer every case.
CASES = [(224, 7, 2, "same", 1), (224, 7, 2, "valid", 1), (28, 5, 1, "valid", 1), (7, 3, 2, "valid", 1),
         (8, 3, 2, "valid", 1), (7, 3, 2, 1, 1), (8, 3, 2, 1, 1), (28, 5, 1, 2, 1), (5, 3, 2, "same", 1),
         (32, 3, 1, "valid", 2), (32, 3, 1, "same", 2), (32, 3, 1, 2, 2), (29, 5, 1, 1, 3)]

q2 = FunctionExercise(
    "output_size(n, kernel, stride, padding, dilation): the output-size formula",
    reference=convmath.conv_output_size,
    cases=CASES,
    mistakes=[
        (_forgot_plus_one, "Your sizes are one too small for 'valid' and explicit padding: did you forget the +1? "
                           "A kernel of f pixels fits at n − f + 1 positions, not n − f."),
        (_no_floor, "Your sizes are fractions when the stride does not divide n − f + 2p: round down "
                    "(floor, or //). An incomplete last step is dropped."),
        (_same_for_valid, "Your 'valid' sizes use the SAME formula ceil(n / s): with 'valid' there are no zeros, "
                          "so the kernel size matters: ceil((n − f + 1) / s)."),
        (_dilation_ignored, "Your sizes are right without dilation but too large with it: a kernel of f pixels "
                            "dilated by d spans (f − 1)·d + 1 input pixels. Use that span in place of f."),
        (_same_floored, "Your 'same' size is one too small when the stride does not divide n (5 pixels, stride 2): "
                        "n // stride rounds down, but SAME pads so that every started step counts: ceil(n / "
                        "stride), e.g. math.ceil(n / stride) or -(-n // stride)."),
    ],
    hint="First compute the span of the dilated kernel, (kernel − 1)·dilation + 1. 'same' gives ceil(n / stride); "
         "'valid' is zero padding p = 0; with p zeros per side, floor((n − span + 2p) / stride) + 1.",
    solution=output_size,
)


# q3: receptive field of three 3x3 layers with stride 2.
_STACK = [(3, 2)] * 3
_JUMPS = [math.prod(s for _, s in _STACK[:i]) for i in range(len(_STACK))]
_SUM = ("1 + " + " + ".join(f"({k} − 1)·{j}" for (k, _), j in zip(_STACK, _JUMPS))
        + f" = {convmath.receptive_field(_STACK)}")

q3 = ValueExercise(
    "Receptive field of three stacked 3x3 convolutions, each with stride 2",
    convmath.receptive_field(_STACK),
    mistakes={
        convmath.receptive_field([(3, 1)] * 3): "That is the field with stride 1. Each layer adds (f − 1)·jump, "
                                                "and the jump doubles after each stride-2 layer.",
        1 + sum(2 * 2 ** (i + 1) for i in range(3)): "The jump of a layer is the product of the strides *below* "
                                                     "it: the first layer's jump is 1, not 2.",
        3 ** 3: "Receptive fields do not multiply: each layer adds (f − 1)·jump input pixels to the field.",
    },
    note=f"{_SUM}: the jumps are {_JUMPS}.",
    hint="Start from 1 pixel. Each layer adds (kernel − 1) × jump, where jump is the product of the strides "
         "of the layers below it (1 for the first layer).",
    solution=f"`{_SUM}`: the jumps (products of the strides below each layer) are {_JUMPS}. "
             "`utils.convmath.receptive_field([(3, 2)] * 3)` computes it.",
)


# q4: what a stride of 2 changes for Conv2D(64, 3, padding="same") on a 56x56x64 input.
_PARAMS = convmath.conv_params(3, 64, 64)
_MACS = {s: convmath.conv_macs((56, 56), 3, 64, 64, strides=s, padding="same") for s in (1, 2)}
_ACTS = {s: convmath.conv_output_size(56, 3, s, "same") ** 2 * 64 for s in (1, 2)}

q4 = ChoiceExercise(
    "What changes when Conv2D(64, 3, padding='same') on a 56x56x64 input goes from stride 1 to stride 2?",
    choices={
        "a": "The parameters stay the same; activations and multiply-adds drop about 4 times.",
        "b": "The parameters drop about 4 times, since the kernel is applied at 4 times fewer places.",
        "c": "The output has half as many activations, and the layer does half the multiply-adds.",
        "d": "Only the speed changes: with SAME padding the output keeps its 56×56×64 shape.",
    },
    correct="a",
    feedback={
        "b": f"The parameters are the kernels and biases, 3·3·64·64 + 64 = {_PARAMS:,} at any stride. The "
             "stride changes where the kernels are applied, not how many weights they hold.",
        "c": f"The stride applies along both axes: 56 → {convmath.conv_output_size(56, 3, 2, 'same')} rows and "
             "columns, so the number of positions drops 4 times, not 2.",
        "d": f"With SAME and stride 2 the output is ceil(56 / 2) = {convmath.conv_output_size(56, 3, 2, 'same')} "
             "per axis: the shape changes.",
    },
    note=f"Parameters {_PARAMS:,} at both strides; activations {_ACTS[1]:,} → {_ACTS[2]:,}; "
         f"multiply-adds {_MACS[1]:,} → {_MACS[2]:,}.",
    hint="Parameters belong to the kernels; activations and multiply-adds to the output positions.",
    solution=f"**a**. Parameters: {_PARAMS:,} at both strides. Activations: {_ACTS[1]:,} → {_ACTS[2]:,}. "
             f"Multiply-adds: {_MACS[1]:,} → {_MACS[2]:,} (`utils.convmath.conv_params`, `conv_macs`). "
             "The course notes' \"increasing the stride reduces the size of your model\" holds for the "
             "activations, not the parameters.",
)
