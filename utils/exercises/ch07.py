"""Exercises for notebook 07 (AlexNet): definitions, references, planted mistakes."""
from __future__ import annotations

import math

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, Lazy, ValueExercise
from utils.investigation import Investigation

# q1: conv1 (96 kernels of 11x11, stride 4, no padding) on a 227x227 and on a 224x224 image.
_K, _S = 11, 4
_SIDES = (convmath.conv_output_size(227, _K, _S), convmath.conv_output_size(224, _K, _S))

q1 = ValueExercise(
    "conv1's output side (11x11 kernels, stride 4, no padding) for a 227x227 and for a 224x224 input",
    _SIDES,
    mistakes={
        ((227 - _K) // _S, (224 - _K) // _S): "Both sides are one too small: did you forget the +1? An 11-pixel "
                                              "kernel fits at n − 11 + 1 positions, every 4th of which is used.",
        ((227 - _K) / _S + 1, (224 - _K) / _S + 1): "(224 − 11) / 4 + 1 = 54.25 is not a whole number of positions: "
                                                    "round down (floor). The last incomplete step is dropped.",
        (math.ceil(227 / _S), math.ceil(224 / _S)): "That is the SAME-padding size ceil(n / 4). conv1 has no "
                                                    "padding (VALID): the kernel size matters.",
        (_SIDES[0], _SIDES[0]): "227 gives 55, but 224 does not: the paper's text says 224 with 55×55 maps, and "
                                "that is exactly the inconsistency. Compute floor((224 − 11) / 4) + 1.",
    },
    note=f"floor((227 − 11) / 4) + 1 = {_SIDES[0]}, floor((224 − 11) / 4) + 1 = {_SIDES[1]}: only 227 gives the "
         f"paper's 55×55 maps.",
    hint="Without padding: floor((n − kernel) / stride) + 1, once for n = 227 and once for n = 224.",
    solution=f"`floor((227 − 11) / 4) + 1 = {_SIDES[0]}` and `floor((224 − 11) / 4) + 1 = {_SIDES[1]}`, so "
             f"`{_SIDES}`. `utils.convmath.conv_output_size(227, 11, 4)` computes it.",
)


# q2: why ReLU trains faster than tanh.
q2 = ChoiceExercise(
    "The paper's Figure 1 (a four-layer CNN on CIFAR-10): why did ReLUs reach 25 % training error faster than tanh?",
    choices={
        "a": "ReLU does not saturate: its slope stays 1 for positive inputs, so active units keep their gradients.",
        "b": "ReLU units have fewer parameters than tanh units, so each training step updates fewer weights.",
        "c": "ReLU normalises the activations, as local response normalisation does, which keeps them well scaled.",
        "d": "ReLU makes the network linear, and a linear network is much easier to optimise than a nonlinear one.",
    },
    correct="a",
    feedback={
        "b": "Activation functions have no parameters: alexnet(activation='tanh') has exactly as many weights as "
             "the ReLU version.",
        "c": "ReLU rescales nothing: max(0, x) passes positive inputs unchanged, however large. LRN is a separate "
             "layer, which the paper adds after the first two ReLU layers because it aided generalisation "
             "(Section 3.3).",
        "d": "A ReLU network is piecewise linear, not linear: it can represent any function a tanh network can. "
             "Its advantage is the gradient: tanh's slope tends to 0 for large |x|, ReLU's stays 1 for x > 0.",
    },
    note="tanh'(x) = 1 − tanh²(x) falls towards 0 once |x| is large (saturation); ReLU's slope is 1 wherever "
         "the unit is active, so the error signal passes through unchanged.",
    hint="Compare the two functions' slopes for large inputs.",
    solution="**a**. tanh saturates: its derivative 1 − tanh²(x) is near 0 for large |x|, so gradients shrink "
             "through each saturated unit. ReLU's derivative is 1 for every active unit (Krizhevsky et al. 2012, "
             "Section 3.1, calls ReLUs 'non-saturating').",
)


# q3: inverted dropout, train and test.
def dropout(x, keep_mask, rate, training):
    """Inverted dropout: in training keep the units where keep_mask is 1 and scale them by 1 / (1 - rate)."""
    if training:
        return x * keep_mask / (1 - rate)
    return x


def _no_scaling(x, keep_mask, rate, training):
    return x * keep_mask if training else x


def _scaled_at_inference_too(x, keep_mask, rate, training):
    return x * keep_mask / (1 - rate) if training else x / (1 - rate)


def _divided_by_rate(x, keep_mask, rate, training):
    return x * keep_mask / rate if training else x


def _papers_scheme(x, keep_mask, rate, training):
    return x * keep_mask if training else x * (1 - rate)


def _mask_at_inference(x, keep_mask, rate, training):
    return x * keep_mask / (1 - rate)


def _inverted_mask(x, keep_mask, rate, training):  # keeps the units the mask drops
    return x * (1 - keep_mask) / (1 - rate) if training else x


def _training_reversed(x, keep_mask, rate, training):  # `if not training`: drops at inference, not in training
    return dropout(x, keep_mask, rate, not training)


_X = np.arange(1.0, 9.0).reshape(2, 4)
_MASK = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
_DROP_CASES = [(_X, _MASK, rate, training) for rate in (0.5, 0.2, 0.7) for training in (True, False)]

q3 = FunctionExercise(
    "dropout(x, keep_mask, rate, training): inverted dropout, as Keras's Dropout layer computes it",
    reference=dropout,
    cases=_DROP_CASES,
    mistakes=[
        (_no_scaling, "In training your kept units are not scaled up: divide them by 1 − rate, so that the next "
                      "layer receives the same expected input in training as at inference."),
        (_scaled_at_inference_too, "At inference (training=False) inverted dropout returns x unchanged: the scaling "
                                   "already happened during training."),
        (_divided_by_rate, "You divided by the rate. Divide by the probability of keeping a unit, 1 − rate "
                           "(the two agree only at rate 0.5)."),
        (_papers_scheme, "That is the paper's scheme (no scaling in training, outputs multiplied by 0.5 at test "
                         "time): equivalent in expectation, but Keras scales during training and leaves "
                         "inference alone."),
        (_mask_at_inference, "At inference (training=False) no unit is dropped: return x itself, without the mask."),
        (_inverted_mask, "You kept the units the mask drops: keep_mask is 1 for the units to keep, so multiply by "
                         "keep_mask itself, not 1 − keep_mask."),
        (_training_reversed, "Your training and inference are swapped: you drop units when training is False and "
                             "return x unchanged when it is True. Apply the mask and the scaling `if training:`."),
    ],
    hint="Training: zero the dropped units (multiply by the mask) and divide the rest by 1 − rate. "
         "Inference: return x.",
    solution=dropout,
)


# q4 (investigation): LRN with the paper's constants, and the scale of the activations.
def _largest_divisor(maps, scale, alpha=1e-4):
    """The largest factor the paper's LRN (k=2, n=5, alpha, beta=0.75) divides a response of maps*scale by."""
    import tensorflow as tf

    scaled = np.asarray(maps, dtype="float32") * scale
    out = tf.nn.local_response_normalization(scaled, depth_radius=2, bias=2.0, alpha=alpha, beta=0.75).numpy()
    active = scaled > 0
    return float((scaled[active] / out[active]).max())


def _check_lrn_scale(answer):
    from utils.checker import Mistake, NotAttempted

    divisors, maps = answer["divisors"], np.asarray(answer["maps"], dtype="float32")
    if not isinstance(divisors, dict):
        raise Mistake(f"'divisors' should be a dict {{scale: largest divisor}}, not {type(divisors).__name__}.")
    if divisors and all(v is ... for v in divisors.values()):
        raise NotAttempted
    if len(divisors) < 3 or 1 not in divisors or min(divisors) > 0.01:
        raise Mistake("Measure at least 3 scales, including 1 (the chapter's 0-255 pixels) and 1/255 (pixels "
                      "in 0-1).")
    if maps.ndim != 4 or not np.any(maps > 0):
        raise Mistake("'maps' should be the chapter's feature maps (after the ReLU), of shape (1, h, w, maps).")
    rows = []
    for scale, value in sorted(divisors.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise Mistake(f"divisors[{scale:g}] should be a number, not {type(value).__name__}.")
        again = _largest_divisor(maps, scale)
        if not math.isclose(value, again, rel_tol=1e-3):
            if math.isclose(value, _largest_divisor(maps, scale, alpha=1e-4 / 5), rel_tol=1e-3):
                raise Mistake(f"divisors[{scale:g}] uses alpha = 1e-4 / 5, PyTorch's and Caffe's convention: the "
                              f"paper's equation (and tf.nn.local_response_normalization) takes alpha = 1e-4.")
            if math.isclose(value, 2 ** 0.75, rel_tol=1e-3) and again > 1.01 * 2 ** 0.75:
                raise Mistake(f"divisors[{scale:g}] = {value:.3f} = k**beta: that is the *smallest* divisor (the "
                              f"weakest responses). Take the largest: (maps / LRN(maps)).max() where maps > 0.")
            raise Mistake(f"divisors[{scale:g}] = {value:.3f}, but re-measured here the largest divisor at that scale "
                          f"is {again:.3f}: divide the scaled maps by their LRN, where they are positive, and take "
                          f"the maximum.")
        rows.append(f"× {scale:.3g}: {again:.2f}")
    return ("Re-measured, the largest factor LRN divides a response by: " + ", ".join(rows)
            + f" (k**beta = {2 ** 0.75:.3f} is the least it ever divides by).")


def _lrn_answer(alpha=1e-4):
    rng = np.random.default_rng(0)
    maps = np.maximum(rng.normal(0, 150, size=(1, 12, 12, 8)), 0).astype("float32")
    divisors = {s: _largest_divisor(maps, s, alpha) for s in (1 / 255, 0.1, 1, 10)}
    return dict(divisors=divisors, maps=maps,
                explanation="k = 2 dominates until the squared activations sum to thousands, so in 0-1 units LRN is a "
                            "constant.")


q4 = Investigation(
    "Investigation: LRN with the paper's constants, at other activation scales",
    _check_lrn_scale,
    keys=("divisors", "maps"),
    given=("maps",),
    planted=[(Lazy(lambda: _lrn_answer(alpha=1e-4 / 5)), "PyTorch's and Caffe's convention"),
             (Lazy(lambda: {**_lrn_answer(), "divisors": {s: 2 ** 0.75 for s in (1 / 255, 0.1, 1, 10)}}),
              "the *smallest* divisor"),
             (Lazy(lambda: {**_lrn_answer(), "divisors": {1: 2.0, 10: 3.0}}), "Measure at least 3 scales")],
    reference_answer=Lazy(_lrn_answer),
    discussion=(
        "LRN divides each response by (k + alpha·Σ a²)^beta over 5 neighbouring maps. With the paper's k = 2 and "
        "alpha = 1e-4, alpha·Σ a² reaches k = 2 only at Σ a² = 20,000 (one map alone at about 141, five equal maps "
        "at about 63 each); activations in the tens change the divisor by a few percent at most. On the "
        "chapter's maps (pixels in AlexNet's 0-255 range) the course's run measured a "
        "largest divisor of 16.0, the smallest being 2**0.75 = 1.682; scaled to 0-1 pixels the largest is 1.682 "
        "too (1.92 at × 0.1, 489 at × 10): every response is divided by the same factor, LRN becomes a "
        "constant and normalises nothing. Its constants were tuned for one network's "
        "activations (the paper chose them on a validation set), so they do not carry over to another input "
        "scale, another layer or another network; that fragility, and its small effect (the paper reports 1.4 "
        "and 1.2 points less top-1 and top-5 error), are why batch normalisation, which measures the scale it "
        "normalises, replaced it."),
    hint="For each scale s: scaled = maps * s; lrn = tf.nn.local_response_normalization(scaled, depth_radius=2, "
         "bias=2.0, alpha=1e-4, beta=0.75); the divisor is scaled / lrn where scaled > 0; take its maximum.",
    solution="`largest_divisor(s)` scales the chapter's `maps` by `s`, applies "
             "`tf.nn.local_response_normalization` with the paper's constants (depth_radius 2, bias 2, alpha 1e-4, "
             "beta 0.75), and returns the largest ratio input / output over the positive responses.",
    todo="write largest_divisor(scale) and your explanation, then run the cell (a second).",
)
