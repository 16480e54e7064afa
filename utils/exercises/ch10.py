"""Exercises for notebook 10 (TensorFlow convolution ops): output shapes, the transposed size, separable savings."""
from __future__ import annotations

import keras

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, FunctionExercise, Mistake

# q1: three layers on a (1, 16, 16, 8) input; the expected shapes come from Keras itself.
_INPUT = (1, 16, 16, 8)
_LAYERS = {
    "atrous": keras.layers.Conv2D(4, 3, dilation_rate=2, padding="valid"),
    "transposed": keras.layers.Conv2DTranspose(4, 3, strides=2, padding="valid"),
    "depthwise": keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
}
_EXPECTED = {name: tuple(layer.compute_output_shape(_INPUT)) for name, layer in _LAYERS.items()}
# anticipated wrong shapes for each part, with their messages
_PART_MISTAKES = {
    "atrous": {
        (1, 14, 14, 4): "the atrous shape is the one without dilation: a 3-wide kernel at rate 2 spans "
                        "(3 − 1)·2 + 1 = 5 pixels, so VALID leaves 16 − 5 + 1 per axis",
        (1, 16, 16, 4): "the atrous layer uses padding='valid': no zeros are added, so the map shrinks",
    },
    "transposed": {
        (1, 32, 32, 4): "the transposed shape 32 is the SAME rule (n × s); with VALID it is (n − 1)·s + k",
        (1, 7, 7, 4): "the transposed convolution *enlarges* the map: (n − 1)·s + k, not the convolution's "
                      "(n − k)/s + 1",
    },
    "depthwise": {
        (1, 16, 16, 2): "the depthwise output has in_channels × depth_multiplier maps (8 × 2), not depth_multiplier",
        (1, 16, 16, 8): "the depthwise shape ignores depth_multiplier=2: each of the 8 input maps gets 2 kernels",
    },
}


def _as_shape(value):
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return None


def _check_shapes(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        raise Mistake("Give a tuple of three shapes: (atrous, transposed, depthwise), each like (1, h, w, c).")
    problems = []
    for (name, expected), given in zip(_EXPECTED.items(), answer):
        shape = _as_shape(given)
        if shape is None or len(shape) != 4:
            raise Mistake(f"The {name} shape should be 4 numbers (batch, height, width, channels), got {given!r}.")
        if shape != expected:
            problems.append(_PART_MISTAKES[name].get(shape, f"the {name} shape {shape} is not right"))
    if problems:
        text = "; ".join(problems)
        raise Mistake(text[0].upper() + text[1:] + ".")


q1 = CustomExercise(
    "Output shapes of an atrous, a transposed and a depthwise layer on a (1, 16, 16, 8) input",
    _check_shapes,
    planted=[(((1, 14, 14, 4), _EXPECTED["transposed"], _EXPECTED["depthwise"]), "the one without dilation"),
             ((_EXPECTED["atrous"], (1, 32, 32, 4), _EXPECTED["depthwise"]), "is the SAME rule"),
             ((_EXPECTED["atrous"], (1, 7, 7, 4), _EXPECTED["depthwise"]), "*enlarges* the map"),
             ((_EXPECTED["atrous"], _EXPECTED["transposed"], (1, 16, 16, 2)), "not depth_multiplier"),
             ((_EXPECTED["atrous"], _EXPECTED["transposed"], (1, 16, 16, 8)), "ignores depth_multiplier=2"),
             (((1, 16, 16, 4), _EXPECTED["transposed"], _EXPECTED["depthwise"]), "no zeros are added")],
    reference_answer=tuple(_EXPECTED.values()),
    note=f"Atrous {_EXPECTED['atrous']}, transposed {_EXPECTED['transposed']}, depthwise {_EXPECTED['depthwise']}.",
    hint="Atrous: use the dilated span (k − 1)·r + 1 in the VALID formula. Transposed, VALID: (n − 1)·s + k. "
         "Depthwise: the spatial size as a normal SAME convolution, in_channels × depth_multiplier maps.",
    solution=f"`{tuple(_EXPECTED.values())}`. Check each with `layer.compute_output_shape((1, 16, 16, 8))`.",
    todo="replace `...` with your three shapes, then run the cell.",
)


# q2: the output size of a transposed convolution, written by the learner.
def transposed_size(n, kernel, stride=1, padding="valid"):
    """Output length of Conv2DTranspose along one axis (no output_padding)."""
    if padding == "same":
        return n * stride
    return (n - 1) * stride + max(kernel, stride)


def _conv_formula(n, kernel, stride=1, padding="valid"):
    return (n - kernel) // stride + 1 if padding == "valid" else -(-n // stride)


def _no_minus_one(n, kernel, stride=1, padding="valid"):
    return n * stride if padding == "same" else n * stride + kernel


def _kernel_forgotten(n, kernel, stride=1, padding="valid"):
    return n * stride


def _same_as_valid(n, kernel, stride=1, padding="valid"):
    return (n - 1) * stride + max(kernel, stride)


CASES = [(2, 3, 2, "valid"), (4, 3, 2, "same"), (5, 3, 1, "valid"), (7, 4, 2, "valid"), (14, 3, 2, "same"),
         (3, 2, 3, "valid"), (16, 5, 2, "valid"), (1, 3, 1, "same")]

q2 = FunctionExercise(
    "transposed_size(n, kernel, stride, padding): the output size of a transposed convolution",
    reference=convmath.transposed_output_size,
    cases=CASES,
    mistakes=[
        (_conv_formula, "Your sizes shrink: that is the convolution's formula. A transposed convolution goes the "
                        "other way: (n − 1)·stride + kernel with 'valid'."),
        (_no_minus_one, "Your 'valid' sizes are one stride too large: n input pixels have n − 1 gaps of `stride`, "
                        "so (n − 1)·stride + kernel."),
        (_kernel_forgotten, "Your 'valid' sizes leave out the kernel: each input pixel stamps a kernel-wide copy, "
                            "so the last one reaches (n − 1)·stride + kernel."),
        (_same_as_valid, "Your 'same' sizes use the 'valid' formula: with 'same', Keras's output is simply "
                         "n × stride."),
    ],
    hint="'same': n × stride. 'valid': the input pixels are stride apart in the output, (n − 1)·stride, and the "
         "last one stamps a whole kernel: + kernel (when the stride exceeds the kernel, the stride's gap is kept).",
    solution=transposed_size,
)


_FULL = convmath.conv_params(3, 256, 256)
_SEP = convmath.separable_params(3, 256, 256)

q3 = ChoiceExercise(
    "Why does a separable 3x3 convolution (256 -> 256 maps) need about 9 times fewer parameters than a Conv2D?",
    choices={
        "a": "It has 256 times fewer parameters, because each filter sees only one input map.",
        "b": "A Conv2D has 3·3·256 weights per output map; the separable one shares its 3·3·256 depthwise "
             "weights across all output maps and adds 256 pointwise weights per map, so the ratio approaches 9.",
        "c": "It has the same parameters, only fewer multiply-adds.",
        "d": "It skips the zeros between the kernel's weights, as an atrous convolution does.",
    },
    correct="b",
    feedback={
        "a": "Only the depthwise step sees one map per filter; the 1x1 pointwise step then mixes all 256 maps "
             "into every output, 256 × 256 weights.",
        "c": f"The counts differ: {_FULL:,} for Conv2D(256, 3) against {_SEP:,} for SeparableConv2D(256, 3) "
             "(convmath.conv_params, separable_params). Multiply-adds drop by about the same factor.",
        "d": "That is dilation, which changes the receptive field, not the parameters. A separable convolution "
             "factors the kernel into a per-map spatial filter and a 1x1 mix.",
    },
    note=f"{_FULL:,} against {_SEP:,}: {_FULL / _SEP:.2f} times fewer; for many output maps the ratio tends to "
         "k² = 9.",
    hint="Count per output map: what does each output map of a Conv2D own, and what is shared in the separable one?",
    solution=f"**b**. Conv2D(256, 3): 3·3·256·256 + 256 = {_FULL:,}; separable: 3·3·256 + 256·256 + 256 = {_SEP:,}, "
             f"{_FULL / _SEP:.2f} times fewer. Per output map, 9·in weights against in (plus the shared 9·in), "
             "so the ratio approaches 9 as the number of output maps grows.",
)
