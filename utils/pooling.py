"""Pooling that Keras does not ship: depth-wise max pooling, L2 pooling and anti-aliased (blurred) pooling.

- :class:`DepthMaxPool` -- max over groups of ``pool_size`` consecutive
  *channels* at every pixel (the spatial size is kept, the depth shrinks). It is
  written with ``keras.ops`` (reshape + max), so it runs on CPU, GPU and any
  Keras backend. ``tf.nn.max_pool`` with a depth window
  (``ksize=(1, 1, 1, k)``) computes the same thing but is implemented for CPU
  only: on a GPU it fails with "Depthwise max pooling is currently only
  implemented for CPU devices".
- :func:`l2_pool2d` -- square root of the sum of squares over each spatial
  window (the "L2 pooling" of Nielsen's *Neural Networks and Deep Learning*).

- :class:`BlurPool2D` and :class:`MaxBlurPool2D` -- anti-aliased subsampling
  after R. Zhang, "Making Convolutional Networks Shift-Invariant Again" (ICML
  2019): blur with a fixed binomial filter, then keep every ``strides``-th pixel.
  ``MaxBlurPool2D`` is the paper's replacement for max pooling: max with
  stride 1, then that blur with the stride.

All work on channels-last tensors ``(batch, height, width, channels)``.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
    return value


@keras.saving.register_keras_serializable(package="cnn_course")
class DepthMaxPool(keras.layers.Layer):
    """Depth-wise (channel-wise) max pooling: ``(..., c)`` -> ``(..., c // pool_size)``.

    Output channel ``k`` is the maximum of input channels
    ``k * pool_size ... (k + 1) * pool_size - 1`` at the same pixel. Like every
    pooling layer it has no weights. The channel count must be divisible by
    ``pool_size``; :meth:`build` raises a ``ValueError`` naming both numbers
    otherwise.
    """

    def __init__(self, pool_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _positive_int("pool_size", pool_size)

    def _check_channels(self, input_shape) -> int:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(
                f"DepthMaxPool expects inputs (batch, ..., channels) of rank 2 or more, got shape "
                f"{input_shape}: add a batch axis (x[None]) or a channel axis (x[..., None])"
            )
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"DepthMaxPool needs a known channel count (the last axis), got shape {input_shape}: "
                f"give the Input layer a fixed number of channels"
            )
        if channels % self.pool_size:
            divisors = [d for d in range(1, channels + 1) if channels % d == 0]
            raise ValueError(
                f"DepthMaxPool(pool_size={self.pool_size}) cannot pool {channels} channels: {channels} is not "
                f"divisible by {self.pool_size}. Use a pool_size that divides {channels} (one of {divisors}) "
                f"or give the layer before it a multiple of {self.pool_size} filters"
            )
        return channels

    def build(self, input_shape):
        self._check_channels(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        shape = ops.shape(inputs)
        channels = shape[-1]
        grouped = ops.reshape(inputs, (*shape[:-1], channels // self.pool_size, self.pool_size))
        return ops.max(grouped, axis=-1)

    def compute_output_shape(self, input_shape):
        channels = self._check_channels(input_shape)
        return (*tuple(input_shape)[:-1], channels // self.pool_size)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


def _pair(name: str, value) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be an int or a pair of ints, got {name}={value!r}") from None
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {name}={value!r}")
    for v in value:
        _positive_int(name, v)
    return value


def l2_pool2d(x, pool_size=2, strides=None, padding: str = "valid"):
    """L2 pooling: ``sqrt(sum of x**2 over each window)``, per channel.

    ``x`` is ``(batch, height, width, channels)``; ``pool_size`` and ``strides``
    are an int or a pair (``strides`` defaults to ``pool_size``, as in Keras);
    ``padding`` is ``"valid"`` or ``"same"`` (zeros outside the image, which add
    nothing to the sum).

    For a window that lies inside the image this is
    ``sqrt(window area * average_pool(x**2))``. At the border of a ``"same"``
    output that shortcut is wrong, because average pooling divides by the number
    of *real* pixels only, so the sum is taken directly: a depth-wise convolution
    of ``x**2`` with a kernel of ones. (The gradient of the square root is
    infinite where a whole window is zero; this function is for inspecting
    activations, not a layer to train through.)
    """
    pool = _pair("pool_size", pool_size)
    stride = pool if strides is None else _pair("strides", strides)
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got padding={padding!r}")
    x = ops.convert_to_tensor(x)
    if not str(x.dtype).startswith(("float", "bfloat")):
        x = ops.cast(x, "float32")
    if len(x.shape) != 4:
        raise ValueError(
            f"l2_pool2d expects a batch of images (batch, height, width, channels), got shape "
            f"{tuple(x.shape)}: add a batch axis (x[None]) or a channel axis (x[..., None])"
        )
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    if channels is None:
        raise ValueError(f"l2_pool2d needs a known channel count, got shape {tuple(x.shape)}")
    if mode == "valid":
        for axis, size, f in (("height", height, pool[0]), ("width", width, pool[1])):
            if size is not None and f > size:
                raise ValueError(
                    f"pool window {pool[0]}x{pool[1]} does not fit the input {axis} {size} with 'valid' "
                    f"padding: use a smaller pool_size or padding='same'"
                )
    ones = ops.ones((pool[0], pool[1], channels, 1), dtype=x.dtype)
    sums = ops.depthwise_conv(ops.square(x), ones, strides=stride, padding=mode)
    return ops.sqrt(ops.maximum(sums, 0))  # max(..., 0): no NaN from a rounding error below zero


# --- anti-aliased pooling (Zhang 2019) --------------------------------------------

def binomial_filter(size: int = 3) -> np.ndarray:
    """The ``size x size`` binomial blur of Zhang (2019): the outer product of row ``size - 1`` of
    Pascal's triangle with itself, normalised to sum 1 (size 3: ``[1, 2, 1]``, 5: ``[1, 4, 6, 4, 1]``)."""
    size = _positive_int("filter_size", size)
    row = np.array([math.comb(size - 1, k) for k in range(size)], dtype=np.float64)
    kernel = np.outer(row, row)
    return kernel / kernel.sum()


@keras.saving.register_keras_serializable(package="cnn_course")
class BlurPool2D(keras.layers.Layer):
    """Blur, then subsample: a fixed binomial filter applied per channel with stride ``strides``.

    As in Zhang's code (``antialiased-cnns``), the input is first padded by reflection
    (``filter_size - 1`` pixels per axis, the extra one at the bottom/right for even sizes), so a
    constant image stays constant up to its border, and the output has ``floor((n - 1) / s) + 1``
    pixels per axis. ``padding="zeros"`` pads with zeros instead. The filter is fixed: the layer has
    no weights.
    """

    def __init__(self, filter_size: int = 3, strides: int = 2, padding: str = "reflect", **kwargs):
        super().__init__(**kwargs)
        self.filter_size = _positive_int("filter_size", filter_size)
        self.strides = _positive_int("strides", strides)
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in ("reflect", "zeros"):
            raise ValueError(f"padding must be 'reflect' or 'zeros', got padding={padding!r}")
        self.padding = mode
        self._kernel = binomial_filter(self.filter_size)

    def _check_input(self, input_shape) -> int:
        input_shape = tuple(input_shape)
        name = type(self).__name__
        if len(input_shape) != 4:
            raise ValueError(
                f"{name} expects a batch of images (batch, height, width, channels), got shape {input_shape}: "
                f"add a batch axis (x[None]) or a channel axis (x[..., None])"
            )
        if input_shape[-1] is None:
            raise ValueError(f"{name} needs a known channel count (the last axis), got shape {input_shape}")
        before = (self.filter_size - 1) // 2
        after = self.filter_size - 1 - before
        for axis, size in (("height", input_shape[1]), ("width", input_shape[2])):
            if self.padding == "reflect" and size is not None and size <= after:
                raise ValueError(
                    f"{name}(filter_size={self.filter_size}) cannot reflect-pad an input {axis} of {size}: "
                    f"it needs at least {after + 1} pixels. Use a smaller filter_size or padding='zeros'"
                )
        return input_shape[-1]

    def build(self, input_shape):
        self._check_input(input_shape)
        super().build(input_shape)

    def _output_size(self, size):
        return None if size is None else (size - 1) // self.strides + 1

    def compute_output_shape(self, input_shape):
        channels = self._check_input(input_shape)
        shape = tuple(input_shape)
        return (shape[0], self._output_size(shape[1]), self._output_size(shape[2]), channels)

    def call(self, inputs):
        channels = inputs.shape[-1]
        before = (self.filter_size - 1) // 2
        after = self.filter_size - 1 - before
        pads = [[0, 0], [before, after], [before, after], [0, 0]]
        padded = ops.pad(inputs, pads, mode="reflect" if self.padding == "reflect" else "constant")
        kernel = np.tile(self._kernel[:, :, None, None], (1, 1, channels, 1))
        kernel = ops.convert_to_tensor(kernel, dtype=inputs.dtype)
        return ops.depthwise_conv(padded, kernel, strides=self.strides, padding="valid")

    def get_config(self):
        return {**super().get_config(), "filter_size": self.filter_size, "strides": self.strides,
                "padding": self.padding}


@keras.saving.register_keras_serializable(package="cnn_course")
class MaxBlurPool2D(keras.layers.Layer):
    """Anti-aliased max pooling (Zhang 2019): ``MaxPooling2D(pool_size, strides=1)``, then
    ``BlurPool2D(filter_size, strides)``.

    Max pooling with stride ``s`` is a max over each window (which keeps shift equivariance) followed by
    keeping every ``s``-th value (which does not: a one-pixel shift can change every output). This
    layer keeps the max, and blurs before it subsamples. On a ``"valid"`` input its output has the same
    shape as ``MaxPooling2D(pool_size, strides)``'s: ``floor((n - pool_size) / s) + 1`` per axis.
    No weights.
    """

    def __init__(self, pool_size: int = 2, strides: int | None = None, filter_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _positive_int("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _positive_int("strides", strides)
        self.filter_size = _positive_int("filter_size", filter_size)
        self.max = keras.layers.MaxPooling2D(self.pool_size, strides=1, padding="valid")
        self.blur = BlurPool2D(self.filter_size, self.strides)

    def _check_input(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(
                f"MaxBlurPool2D expects a batch of images (batch, height, width, channels), got shape "
                f"{input_shape}: add a batch axis (x[None]) or a channel axis (x[..., None])"
            )
        for axis, size in (("height", input_shape[1]), ("width", input_shape[2])):
            if size is not None and size < self.pool_size + 1:
                raise ValueError(
                    f"MaxBlurPool2D(pool_size={self.pool_size}) needs an input {axis} of at least "
                    f"{self.pool_size + 1}, got {size}: use a smaller pool_size"
                )
        return self.blur.compute_output_shape(self.max.compute_output_shape(input_shape))

    def build(self, input_shape):
        self._check_input(input_shape)
        self.max.build(input_shape)
        self.blur.build(self.max.compute_output_shape(input_shape))
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return self._check_input(input_shape)

    def call(self, inputs):
        return self.blur(self.max(inputs))

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "filter_size": self.filter_size}
