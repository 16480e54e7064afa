"""Exercises for notebook 03 (filters and feature maps): definitions, references, planted mistakes."""
from __future__ import annotations

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise


# q1: a convolutional layer's parameter count, written by the learner.
def conv_layer_params(fh, fw, in_channels, filters):
    """Parameters of Conv2D(filters, (fh, fw)) on an input with in_channels channels (with biases)."""
    weights_per_filter = fh * fw * in_channels  # one filter spans every input channel
    return filters * (weights_per_filter + 1)   # and has its own bias


def _reference(fh, fw, in_channels, filters):
    return convmath.conv_params((fh, fw), in_channels, filters)


def _bias_once_per_layer(fh, fw, in_channels, filters):
    return fh * fw * in_channels * filters + 1


def _no_input_channels(fh, fw, in_channels, filters):
    return (fh * fw + 1) * filters


def _no_bias(fh, fw, in_channels, filters):
    return fh * fw * in_channels * filters


def _bias_per_input_channel(fh, fw, in_channels, filters):
    return (fh * fw + 1) * in_channels * filters


# (fh, fw, input channels, filters): Nielsen's MNIST layer, the temple's line filters, a 1x1 layer,
# a rectangular kernel, VGG-sized layers. Every mistake below differs from the right count on these.
CASES = [(5, 5, 1, 20), (7, 7, 3, 2), (3, 3, 64, 128), (1, 1, 192, 64), (3, 5, 16, 8), (3, 3, 3, 64)]

q1 = FunctionExercise(
    "conv_layer_params(fh, fw, in_channels, filters): a Conv2D layer's parameter count",
    reference=_reference,
    cases=CASES,
    mistakes=[
        (_bias_once_per_layer, "Your count has one bias for the whole layer: each filter has its own bias, "
                               "so add `filters` biases, not 1."),
        (_no_input_channels, "Your count is right for a one-channel input only: a filter spans every input "
                             "channel, so each filter has fh · fw · in_channels weights."),
        (_no_bias, "Your count has the weights but no biases: Conv2D adds one bias per filter "
                   "(use_bias=True by default)."),
        (_bias_per_input_channel, "Your count has a bias per input channel: a filter sums over all its "
                                  "channels and then adds one bias, so it has one bias, not in_channels."),
    ],
    hint="One filter is a block of fh × fw × in_channels weights plus one bias; the layer has `filters` of them.",
    solution=conv_layer_params,
)


# q2: the stack of feature maps after two layers.
_IN = (32, 32, 3)
_H1 = convmath.conv_output_shape(_IN[:2], 5, strides=1, padding="same")
_H2 = convmath.conv_output_shape(_H1, 3, strides=2, padding="valid")
_EXPECTED = (*_H2, 64)

q2 = ValueExercise(
    "Output shape of Conv2D(16, 5, padding='same') then Conv2D(64, 3, strides=2) on a 32x32x3 image",
    _EXPECTED,
    mistakes={
        (*_H2, 16): "The height and width are right, but a layer outputs one map per filter: the second "
                    "layer has 64 filters, so 64 maps.",
        (*_H2, 16 * 64): "The maps of the first layer are not multiplied by the second's filters: each of the "
                         "64 filters spans all 16 input maps and gives one map, so 64 maps.",
        (*convmath.conv_output_shape(_H1, 3, strides=2, padding="same"), 64):
            "That is the size with padding='same'. The second layer uses the default, 'valid': "
            "floor((32 − 3) / 2) + 1.",
        (*convmath.conv_output_shape(_H1, 3, strides=1), 64): "That is the size with stride 1: with stride 2 the "
                                                              "filter moves 2 pixels at a time.",
        (*convmath.conv_output_shape(convmath.conv_output_shape(_IN[:2], 5), 3, strides=2), 64):
            "The first layer uses padding='same', so it keeps 32×32; only the second one (valid, stride 2) "
            "shrinks the maps.",
    },
    note=f"'same' keeps {_H1[0]}×{_H1[1]}; then floor((32 − 3) / 2) + 1 = {_H2[0]}, and one map per filter.",
    hint="Work layer by layer: height and width from padding and stride, depth = the layer's number of filters "
         "(the input channels only set the depth of each filter).",
    solution=f"`{_EXPECTED}`: the first layer keeps {_H1[0]}×{_H1[1]} and outputs 16 maps; the second reads all "
             f"16, and with 3×3, stride 2, 'valid' gives floor((32 − 3) / 2) + 1 = {_H2[0]} per axis and 64 maps. "
             "Check it with `keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(16, 5, "
             "padding='same'), keras.layers.Conv2D(64, 3, strides=2)]).output_shape`.",
)


# q3: what parameter sharing means.
_SHARED = convmath.conv_params(5, 1, 20)
_UNSHARED = 24 * 24 * _SHARED

q3 = ChoiceExercise(
    "Conv2D(20, 5) on a 28x28x1 image has 520 parameters. Why so few, when it has 24x24x20 outputs?",
    choices={
        "a": "Each output position has its own 5×5 weights, but Keras stores only one copy of them.",
        "b": "The 20 feature maps share one filter, so only 5·5 + 1 = 26 values are learned per map.",
        "c": "One filter per map is reused at every position, so the count does not grow with the image.",
        "d": "A pooling layer after it removes the weights of the positions it drops, once training is done.",
    },
    correct="c",
    feedback={
        "a": f"If each position had its own weights, they would all have to be stored and learned: "
             f"24 · 24 · {_SHARED} = {_UNSHARED:,} parameters (a locally connected layer). The weights are the "
             "same at every position, so there is one copy.",
        "b": "The sharing is across positions, not across maps: each of the 20 maps has its own 5×5 filter and "
             f"bias (20 · 26 = {_SHARED}); different maps detect different patterns.",
        "d": "Pooling has no weights and removes none: the 520 are all the layer ever has.",
    },
    note=f"20 filters × (5·5·1 + 1) = {_SHARED}, at any input size; without sharing, {_UNSHARED:,}.",
    hint="Count the weights one feature map needs. Does that count change if the image grows to 280×280?",
    solution=f"**c**. One filter (5·5 weights + 1 bias) slides over every position of its map, so the layer has "
             f"20 × 26 = {_SHARED} parameters at any image size. Without sharing (a different filter per position) "
             f"it would need 24 · 24 · {_SHARED} = {_UNSHARED:,}.",
)
