"""Pooling that Keras does not ship: depth-wise max pooling and L2 pooling.

- :class:`DepthMaxPool` -- max over groups of ``pool_size`` consecutive
  *channels* at every pixel (the spatial size is kept, the depth shrinks). It is
  written with ``keras.ops`` (reshape + max), so it runs on CPU, GPU and any
  Keras backend. ``tf.nn.max_pool`` with a depth window
  (``ksize=(1, 1, 1, k)``) computes the same thing but is implemented for CPU
  only: on a GPU it fails with "Depthwise max pooling is currently only
  implemented for CPU devices".
- :func:`l2_pool2d` -- square root of the sum of squares over each spatial
  window (the "L2 pooling" of Nielsen's *Neural Networks and Deep Learning*).

Both work on channels-last tensors ``(batch, height, width, channels)``.
"""
from __future__ import annotations

import keras
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
