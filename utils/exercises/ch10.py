"""Exercises for notebook 10 (TensorFlow convolution ops): output shapes, the transposed size, separable savings."""
from __future__ import annotations

import keras

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, FunctionExercise, Lazy, Mistake
from utils.investigation import Investigation

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
    """A shape given as a tuple, a list, a TensorShape or an array, as a tuple of ints; a None batch axis (from
    ``compute_output_shape((None, 16, 16, 8))``) counts as the question's batch of 1. None when not a shape."""
    try:
        values = [None if v is None else float(v) for v in value]
    except (TypeError, ValueError):
        return None
    if values and values[0] is None:
        values[0] = 1.0
    if any(v is None or v != int(v) for v in values):
        return None
    return tuple(int(v) for v in values)


def _check_shapes(answer):
    if isinstance(answer, str) or not hasattr(answer, "__len__") or len(answer) != 3:
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


def _taught_formula(n, kernel, stride=1, padding="valid"):
    """Notebook 10's (n - 1)·s + k: Keras's rule whenever the kernel is at least as large as the stride."""
    return n * stride if padding == "same" else (n - 1) * stride + kernel


CASES = [(2, 3, 2, "valid"), (4, 3, 2, "same"), (5, 3, 1, "valid"), (7, 4, 2, "valid"), (14, 3, 2, "same"),
         (3, 2, 3, "valid"), (16, 5, 2, "valid"), (1, 3, 1, "same")]
# the cases where the taught formula and Keras differ: a stride larger than the kernel, with 'valid'
_WIDE = [case for case in CASES if _taught_formula(*case) != convmath.transposed_output_size(*case)]
_WIDE_TEXT = "; ".join(f"n={n}, kernel={k}, stride={s}: Keras gives {convmath.transposed_output_size(n, k, s, p)}, "
                       f"(n − 1)·stride + kernel {_taught_formula(n, k, s, p)}" for n, k, s, p in _WIDE)

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
        (_taught_formula, f"Your function is notebook 10's (n − 1)·stride + kernel, and it matches Keras on every "
                          f"case where the kernel is at least the stride. It differs where the stride is larger "
                          f"({_WIDE_TEXT}): Keras gives each input pixel a whole stride of the output, so the last "
                          f"kernel is followed by stride − kernel zeros: (n − 1)·stride + max(kernel, stride)."),
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
        "a": "It has 256 times fewer parameters, because each of its filters sees only one input map.",
        "b": "It has just as many parameters as the Conv2D; it only does about 9 times fewer multiply-adds per image.",
        "c": "Conv2D owns 3·3·256 weights per output map; the separable one shares 3·3·256 and adds 256 per map.",
        "d": "It skips the zeros between its kernel's weights, as an atrous (dilated) convolution does.",
    },
    correct="c",
    feedback={
        "a": "Only the depthwise step sees one map per filter; the 1x1 pointwise step then mixes all 256 maps "
             "into every output, 256 × 256 weights.",
        "b": f"The counts differ: {_FULL:,} for Conv2D(256, 3) against {_SEP:,} for SeparableConv2D(256, 3) "
             "(convmath.conv_params, separable_params). Multiply-adds drop by about the same factor.",
        "d": "That is dilation, which changes the receptive field, not the parameters. A separable convolution "
             "factors the kernel into a per-map spatial filter and a 1x1 mix.",
    },
    note=f"{_FULL:,} against {_SEP:,}: {_FULL / _SEP:.2f} times fewer; for many output maps the ratio tends to "
         "k² = 9.",
    hint="Count per output map: what does each output map of a Conv2D own, and what is shared in the separable one?",
    solution=f"**c**. Conv2D(256, 3): 3·3·256·256 + 256 = {_FULL:,}; separable: 3·3·256 + 256·256 + 256 = {_SEP:,}, "
             f"{_FULL / _SEP:.2f} times fewer. Per output map, 9·in weights against in (plus the shared 9·in), "
             "so the ratio approaches 9 as the number of output maps grows.",
)


# q4 (investigation): the checkerboard of a transposed convolution against resize-then-convolve.
def unevenness(layer, side=8):
    """Std of the layer's output on an all-ones map, over its interior (2 pixels from each border dropped),
    divided by the interior's mean absolute value: 0 for an even output."""
    import numpy as np

    out = np.asarray(layer(np.ones((1, side, side, 1), "float32")))[0, ..., 0]
    interior = out[2:-2, 2:-2]
    return float(interior.std() / max(np.abs(interior).mean(), 1e-12))


def _check_checkerboard(answer):
    import numpy as np

    from utils.investigation import all_layers

    transposed, resized, measured = answer["transposed"], answer["resized"], answer["unevenness"]
    probe = np.ones((1, 8, 8, 1), "float32")
    outputs = {}
    for key, layer in (("transposed", transposed), ("resized", resized)):
        if not callable(layer):
            raise Mistake(f"{key!r} should be a Keras layer or model, not {type(layer).__name__}.")
        try:
            outputs[key] = np.asarray(layer(probe))
        except Exception as error:  # the learner's layer: one line
            raise Mistake(f"{key!r} raised {type(error).__name__} on a (1, 8, 8, 1) map: {error}") from None
        if outputs[key].shape[1:3] != (16, 16) or outputs[key].shape[-1] != 1:
            raise Mistake(f"{key!r} turns an 8×8×1 map into {outputs[key].shape[1:]}: both should upsample by 2 to "
                          f"16×16×1 (stride 2, 'same' padding, one filter).")
    layers = all_layers(resized) if hasattr(resized, "layers") else [resized]
    if any(isinstance(ly, keras.layers.Conv2DTranspose) for ly in layers):
        raise Mistake("'resized' contains a Conv2DTranspose: the remedy is to resize first "
                      "(keras.layers.UpSampling2D(2)) and then apply an ordinary Conv2D with stride 1.")
    if not isinstance(measured, dict) or set(measured) != {"transposed", "resized"}:
        raise Mistake("'unevenness' should be a dict {'transposed': ..., 'resized': ...}: unevenness(layer) of each.")
    found = {}
    for key, layer in (("transposed", transposed), ("resized", resized)):
        again = unevenness(layer)
        value = measured[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise Mistake(f"unevenness[{key!r}] should be a number, not {type(value).__name__}.")
        if not np.isclose(value, again, rtol=1e-3, atol=1e-6):
            raise Mistake(f"unevenness[{key!r}] = {float(value):.4f}, but unevenness({key}) re-measured here gives "
                          f"{again:.4f}: measure the layers you pass, with the cell's unevenness().")
        found[key] = again
    return (f"Re-measured on an all-ones 8×8 map: the transposed convolution's output varies by "
            f"{found['transposed']:.1%} of its mean over the interior, resize-then-convolve's by "
            f"{found['resized']:.1%}.")


def _checkerboard_answer(resized_kind="upsample"):
    keras.utils.set_random_seed(0)
    transposed = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    transposed.build((None, 8, 8, 1))  # as the notebook's cell: the weights drawn right after the seed
    if resized_kind == "upsample":
        resized = keras.Sequential([keras.layers.UpSampling2D(2),
                                    keras.layers.Conv2D(1, 3, padding="same", use_bias=False)])
    else:
        resized = keras.Sequential([keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)])
    return dict(transposed=transposed, resized=resized,
                unevenness={"transposed": unevenness(transposed), "resized": unevenness(resized)},
                explanation="The stride-2 stamps overlap unevenly, so even a constant input comes out striped.")


q4 = Investigation(
    "Investigation: the checkerboard of a transposed convolution, and resize-then-convolve",
    _check_checkerboard,
    keys=("transposed", "resized", "unevenness"),
    given=("transposed",),
    planted=[(Lazy(lambda: _checkerboard_answer("transposed twice")), "contains a Conv2DTranspose"),
             (Lazy(lambda: {**_checkerboard_answer(), "resized": keras.layers.UpSampling2D(3)}),
              "should upsample by 2"),
             (Lazy(lambda: {**_checkerboard_answer(), "unevenness": {"transposed": 0.5, "resized": 0.0}}),
              "re-measured here gives")],
    reference_answer=Lazy(_checkerboard_answer),
    discussion=(
        "A transposed convolution with a 3×3 kernel and stride 2 stamps the kernel at every second output pixel, "
        "so neighbouring output pixels receive different numbers of stamps and different kernel taps (the "
        "overlap counts 1-2-1-2 of the chapter). Even with random, untrained weights and a perfectly flat "
        "input, the output comes out with a period-2 pattern: that is the checkerboard, present before any "
        "training (115 % of the mean in the course's run of the cell, seed 0, the layer built right after the seed "
        "as the cell does). Resizing first (nearest-neighbour "
        "UpSampling2D, or bilinear) and then convolving with "
        "stride 1 treats every output pixel alike, so a flat input stays flat away from the border: its "
        "unevenness is 0 up to float rounding, whatever the weights. Odena, Dumoulin and Olah (Distill, 2016) "
        "recommend exactly this resize-convolution for generators; the price is a convolution on the larger "
        "map (4 times the multiply-adds of the transposed one here)."),
    hint="keras.Sequential([keras.layers.UpSampling2D(2), keras.layers.Conv2D(1, 3, padding='same')]) upsamples "
         "by resizing, then convolves; measure both layers with unevenness().",
    solution="`resized = keras.Sequential([keras.layers.UpSampling2D(2), keras.layers.Conv2D(1, 3, "
             "padding=\"same\", use_bias=False)])`; then measure `ch10.unevenness` of `transposed` and of `resized` "
             "into the dict `{\"transposed\": ..., \"resized\": ...}`.",
    todo="build `resized`, measure both layers and write your explanation, then run the cell (a second).",
)
