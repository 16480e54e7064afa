"""Exercises for notebook 07 (AlexNet): definitions, references, planted mistakes."""
from __future__ import annotations

import math

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise

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
    "Why does AlexNet with ReLUs reach 25 % training error faster than the same network with tanh units?",
    choices={
        "a": "ReLU units have fewer parameters than tanh units.",
        "b": "ReLU does not saturate for positive inputs: its slope stays 1, so gradients do not shrink "
             "in the units that are active.",
        "c": "ReLU normalises the activations, as local response normalisation does.",
        "d": "ReLU makes the network linear, and linear networks are easier to optimise.",
    },
    correct="b",
    feedback={
        "a": "Activation functions have no parameters: alexnet(activation='tanh') has exactly as many weights as "
             "the ReLU version.",
        "c": "ReLU is unbounded above: max(0, x) can grow without limit. That is why the paper adds LRN after it.",
        "d": "A ReLU network is piecewise linear, not linear: it can represent any function a tanh network can. "
             "Its advantage is the gradient: tanh's slope tends to 0 for large |x|, ReLU's stays 1 for x > 0.",
    },
    note="tanh'(x) = 1 − tanh²(x) falls towards 0 once |x| is large (saturation); ReLU's slope is 1 wherever "
         "the unit is active, so the error signal passes through unchanged.",
    hint="Compare the two functions' slopes for large inputs.",
    solution="**b**. tanh saturates: its derivative 1 − tanh²(x) is near 0 for large |x|, so gradients shrink "
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
    ],
    hint="Training: zero the dropped units (multiply by the mask) and divide the rest by 1 − rate. "
         "Inference: return x.",
    solution=dropout,
)
