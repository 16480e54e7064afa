"""Counting a built Keras model: parameters (trainable and not) and multiply-adds, as the papers count them.

Used by the architecture chapters (07-09, 11, 12), their exercises and tests to print
the numbers they compare with the papers:

- :func:`param_counts` -- ``(total, trainable, non_trainable)``. Keras's ``count_params()``
  also counts BatchNorm's moving mean and variance (two non-trainable numbers per
  channel), which PyTorch keeps as buffers, not parameters; this returns the three numbers.
- :func:`mult_adds` -- multiply-adds of one forward pass on one image, as He et al. count "FLOPs".
"""
from __future__ import annotations

import math

import keras
from keras import layers


def param_counts(model) -> tuple[int, int, int]:
    """``(total, trainable, non_trainable)`` parameter counts of a built Keras model or layer.

    ``total`` is ``model.count_params()``; ``non_trainable`` is, in these models,
    BatchNorm's moving mean and variance.
    """
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return trainable + non_trainable, trainable, non_trainable


def mult_adds(model) -> int:
    """Multiply-adds of one forward pass on one image, as He et al. count "FLOPs".

    Every ``Conv2D`` (output positions x kernel height x width x input maps per group x filters) and
    ``Dense`` layer (inputs x units), nested models included; biases, BatchNorm, pooling and the
    shortcut additions are left out (they are a small fraction).
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += mult_adds(layer)
        elif type(layer) is layers.Conv2D:
            kh, kw, per_group, out_maps = layer.kernel.shape
            total += math.prod(layer.output.shape[1:3]) * kh * kw * per_group * out_maps
        elif isinstance(layer, layers.Dense):
            total += math.prod(layer.kernel.shape)
    return total
