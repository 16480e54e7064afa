"""Convolution arithmetic: output sizes, receptive fields, parameter and memory counts.

Every formula here is tested against Keras's own output shapes and
``count_params()`` in ``tests/test_convmath.py``.

Output size along one axis, for input size ``n``, kernel ``f``, stride ``s``
and dilation ``d`` (effective kernel ``f_eff = (f - 1) * d + 1``):

- ``"same"`` (TensorFlow): ``ceil(n / s)``
- ``"valid"`` (TensorFlow): ``ceil((n - f_eff + 1) / s)``
- explicit zero padding ``p`` on each side: ``floor((n - f_eff + 2p) / s) + 1``
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "int8": 1, "uint8": 1,
               "int32": 4, "int64": 8}


def positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (NumPy integers too, never a bool); else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
    return int(value)


_positive_int = positive_int  # the name the rest of this module uses


def positive_ints(name: str, values, *, allow_empty: bool = True) -> tuple[int, ...]:
    """``values`` (an int, or a sequence of them) as a tuple of positive ints; else ValueError naming ``name``.

    ``allow_empty=False`` also refuses an empty sequence. The check of a builder's lists of filter or
    unit counts (``conv_blocks``, ``dense_units``, ``hidden``...).
    """
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of positive integers, got {name}={values!r}") from None
    if not values and not allow_empty:
        raise ValueError(f"{name} must hold at least one positive integer, got {name}=()")
    for v in values:
        positive_int(f"each entry of {name}", v)
    return tuple(int(v) for v in values)


def check_image_shape(input_shape, *, builder: str | None = None) -> tuple[int, int, int]:
    """An image input shape ``(height, width, channels)`` (no batch axis) as ints; else one ValueError.

    The one check every builder and estimate in ``utils`` uses; ``builder`` names the caller in the message.
    """
    where = f"{builder}: " if builder else ""
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(f"{where}input_shape must be (height, width, channels), "
                         f"got input_shape={input_shape!r}") from None
    if len(shape) != 3:
        hint = (f" -- add the channel axis: {shape + (1,)} for grayscale, {shape + (3,)} for RGB"
                if len(shape) == 2 else "")
        raise ValueError(f"{where}input_shape must be three positive ints (height, width, channels): rank 3, "
                         f"without the batch axis; got input_shape={shape} (rank {len(shape)}){hint}")
    for axis, value in zip(("height", "width", "channels"), shape):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where}input_shape {axis} must be a positive integer, got input_shape={shape}")
    return tuple(int(v) for v in shape)


def check_feature_map(x, *, builder: str):
    """``x`` if it is a 4-D Keras tensor (batch, height, width, channels) with a known channel axis; else ValueError."""
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 4:
        raise ValueError(f"{builder}: x must be a 4-D feature-map tensor (batch, height, width, channels), "
                         f"got {type(x).__name__} with shape {shape}")
    if shape[-1] is None:
        raise ValueError(f"{builder}: the channel axis of x must be known, got shape {tuple(shape)}")
    return x


def _non_negative_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {name}={value!r}")
    return value


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Size a dilated kernel spans: ``(kernel - 1) * dilation + 1``."""
    _positive_int("kernel", kernel)
    _positive_int("dilation", dilation)
    return (kernel - 1) * dilation + 1


def conv_output_size(size: int, kernel: int, stride: int = 1, padding="valid", dilation: int = 1) -> int:
    """Output length along one axis of a convolution or pooling window.

    ``padding`` is ``"same"``, ``"valid"`` (TensorFlow's rules) or an int: zeros
    added on *each* side, giving ``floor((n - f + 2p) / s) + 1``.
    """
    _positive_int("size", size)
    _positive_int("stride", stride)
    f_eff = effective_kernel(kernel, dilation)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "same":
            return math.ceil(size / stride)
        if mode == "valid":
            if f_eff > size:
                raise ValueError(
                    f"kernel {f_eff} (kernel={kernel}, dilation={dilation}) is larger than the "
                    f"input size={size} with 'valid' padding: use a smaller kernel, 'same' padding "
                    f"or a larger input"
                )
            return math.ceil((size - f_eff + 1) / stride)
        raise ValueError(f"padding must be 'same', 'valid' or an int, got padding={padding!r}")
    pad = _non_negative_int("padding", padding)
    if f_eff > size + 2 * pad:
        raise ValueError(
            f"kernel {f_eff} is larger than the padded input {size + 2 * pad} "
            f"(size={size} + 2 x padding={pad}): use a smaller kernel or more padding"
        )
    return (size - f_eff + 2 * pad) // stride + 1


def _as_tuple(name: str, value) -> tuple:
    if isinstance(value, (str, bool)):
        raise ValueError(f"{name} must be a sequence of ints, got {name}={value!r}")
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of ints, got {name}={value!r}") from None


def _kernel_dims(kernel) -> tuple:
    """An int (a square 2-D kernel) or one positive int per axis."""
    if isinstance(kernel, int) and not isinstance(kernel, bool):
        kernel = (kernel, kernel)
    elif not isinstance(kernel, (tuple, list)):
        raise ValueError(f"kernel must be an int or a tuple of ints, got kernel={kernel!r}")
    if not kernel:
        raise ValueError("kernel must list at least one size, got kernel=()")
    return tuple(_positive_int("kernel", k) for k in kernel)


def _per_axis(name: str, value, ndim: int) -> tuple:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return (value,) * ndim
    value = _as_tuple(name, value)
    if len(value) != ndim:
        raise ValueError(f"{name} has {len(value)} values {value} for a {ndim}-D input")
    return value


def conv_output_shape(input_shape: Sequence[int], kernel, strides=1, padding="valid", dilation=1) -> tuple:
    """Spatial output shape for an N-D input shape (no batch or channel axis)."""
    input_shape = _as_tuple("input_shape", input_shape)
    if not input_shape:
        raise ValueError("input_shape must list at least one spatial size")
    ndim = len(input_shape)
    kernels = _per_axis("kernel", kernel, ndim)
    strides = _per_axis("strides", strides, ndim)
    dilations = _per_axis("dilation", dilation, ndim)
    paddings = _per_axis("padding", padding, ndim)
    return tuple(conv_output_size(n, f, s, p, d)
                 for n, f, s, p, d in zip(input_shape, kernels, strides, paddings, dilations))


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Zeros TensorFlow adds (before, after) along one axis for ``"same"`` padding.

    The total is ``max((ceil(n / s) - 1) * s + f_eff - n, 0)``; when it is odd,
    the extra zero goes *after* (bottom/right).
    """
    _positive_int("size", size)
    _positive_int("stride", stride)
    f_eff = effective_kernel(kernel, dilation)
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + f_eff - size, 0)
    return total // 2, total - total // 2


def transposed_output_size(size: int, kernel: int, stride: int = 1, padding="valid") -> int:
    """Output length of a transposed convolution (Keras ``Conv2DTranspose``, no output_padding).

    ``"valid"``: ``(n - 1) * s + f``; ``"same"``: ``n * s``.
    """
    _positive_int("size", size)
    _positive_int("kernel", kernel)
    _positive_int("stride", stride)
    mode = str(padding).lower()
    if mode == "valid":
        return (size - 1) * stride + max(kernel, stride)
    if mode == "same":
        return size * stride
    raise ValueError(f"padding must be 'same' or 'valid', got padding={padding!r}")


def receptive_window(i: int, j: int, kernel, strides=1, pad_before=0) -> tuple[range, range]:
    """Input rows and columns that output neuron ``(i, j)`` sees.

    Rows ``i*sh - pad_top ... i*sh - pad_top + fh - 1`` and columns
    ``j*sw - pad_left ... j*sw - pad_left + fw - 1``, where ``pad_before`` is the
    number of zeros added before the input (top, left): one int or a pair. Indices
    below 0 (or past the input's last index) are zero padding.
    """
    fh, fw = _per_axis("kernel", kernel, 2)
    sh, sw = _per_axis("strides", strides, 2)
    pt, pl = _per_axis("pad_before", pad_before, 2)
    _non_negative_int("i", i)
    _non_negative_int("j", j)
    for name, v in (("kernel height", fh), ("kernel width", fw), ("stride height", sh), ("stride width", sw)):
        _positive_int(name.replace(" ", "_"), v)
    _non_negative_int("pad_top", pt)
    _non_negative_int("pad_left", pl)
    top, left = i * sh - pt, j * sw - pl
    return range(top, top + fh), range(left, left + fw)


def receptive_field(layers: Iterable) -> int:
    """Receptive field (in input pixels, along one axis) of a stack of layers.

    ``layers`` holds ``(kernel, stride)`` or ``(kernel, stride, dilation)``
    tuples, first layer first. Each layer grows the field by
    ``(kernel_eff - 1) * jump``, where ``jump`` is the product of the strides
    below it.
    """
    field, jump = 1, 1
    count = 0
    for layer in layers:
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise ValueError(f"each layer is (kernel, stride) or (kernel, stride, dilation), got {layer!r}")
        kernel, stride = layer[0], layer[1]
        dilation = layer[2] if len(layer) == 3 else 1
        _positive_int("stride", stride)
        field += (effective_kernel(kernel, dilation) - 1) * jump
        jump *= stride
        count += 1
    if count == 0:
        raise ValueError("receptive_field needs at least one layer")
    return field


def conv_params(kernel, in_channels: int, filters: int, *, use_bias: bool = True) -> int:
    """Parameters of a convolution layer: ``prod(kernel) * in_channels * filters (+ filters)``.

    ``kernel`` is an int (a square 2-D kernel) or a tuple for any number of dims
    (``(5,)`` for Conv1D, ``(3, 3, 3)`` for Conv3D). The same count holds for a
    transposed convolution.
    """
    kernel = _kernel_dims(kernel)
    _positive_int("in_channels", in_channels)
    _positive_int("filters", filters)
    return math.prod(kernel) * in_channels * filters + (filters if use_bias else 0)


def dense_params(n_in: int, n_out: int, *, use_bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``n_in * n_out (+ n_out)``."""
    _positive_int("n_in", n_in)
    _positive_int("n_out", n_out)
    return n_in * n_out + (n_out if use_bias else 0)


def depthwise_params(kernel, in_channels: int, depth_multiplier: int = 1, *, use_bias: bool = True) -> int:
    """Parameters of a depthwise convolution: one ``kernel`` per input channel per multiplier."""
    kernel = _kernel_dims(kernel)
    _positive_int("in_channels", in_channels)
    _positive_int("depth_multiplier", depth_multiplier)
    out = in_channels * depth_multiplier
    return math.prod(kernel) * out + (out if use_bias else 0)


def separable_params(kernel, in_channels: int, filters: int, depth_multiplier: int = 1,
                     *, use_bias: bool = True) -> int:
    """Parameters of a separable convolution: depthwise (no bias) then a 1x1 pointwise."""
    depthwise = depthwise_params(kernel, in_channels, depth_multiplier, use_bias=False)
    return depthwise + conv_params(1, in_channels * depth_multiplier, filters, use_bias=use_bias)


def dtype_bytes(dtype: str = "float32") -> int:
    """Bytes per element of a dtype name (``"float32"`` -> 4)."""
    try:
        return DTYPE_BYTES[str(dtype)]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; known: {sorted(DTYPE_BYTES)}") from None


def tensor_bytes(shape: Sequence[int], dtype: str = "float32") -> int:
    """Bytes to hold a tensor of ``shape``: ``prod(shape) * bytes per element``."""
    shape = _as_tuple("shape", shape)
    for n in shape:
        _non_negative_int("dimension", n)
    return math.prod(shape) * dtype_bytes(dtype)


def params_bytes(n_params: int, dtype: str = "float32") -> int:
    """Bytes to hold ``n_params`` parameters."""
    _non_negative_int("n_params", n_params)
    return n_params * dtype_bytes(dtype)


def format_bytes(n: int | float, unit: str = "MB") -> str:
    """``"5.7 MiB"``-style text; ``MB`` is 10**6 bytes, ``MiB`` is 2**20 (the two are often mixed up)."""
    scale = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
    if unit not in scale:
        raise ValueError(f"unit must be one of {sorted(scale)}, got unit={unit!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or n < 0:
        raise ValueError(f"a byte count must be a non-negative number, got {n!r}")
    if unit == "B":
        return f"{int(n):,} B"
    return f"{n / scale[unit]:,.1f} {unit}"


def conv_macs(input_shape: Sequence[int], kernel, in_channels: int, filters: int, strides=1,
              padding="valid", dilation=1) -> int:
    """Multiply-adds of one convolution layer on one image (bias and activation not counted).

    Each of the ``prod(output spatial shape) * filters`` output values is a dot
    product of ``prod(kernel) * in_channels`` weights with the patch under them,
    so the count is ``prod(output shape) * prod(kernel) * in_channels * filters``.
    ``input_shape`` is the spatial shape only (``(height, width)`` for Conv2D);
    with ``"same"`` padding the zeros at the border are counted too, as a dense
    implementation multiplies them.
    """
    input_shape = tuple(input_shape)
    out = conv_output_shape(input_shape, kernel, strides, padding, dilation)
    kernels = _per_axis("kernel", kernel, len(input_shape))
    for k in kernels:
        _positive_int("kernel", k)
    _positive_int("in_channels", in_channels)
    _positive_int("filters", filters)
    return math.prod(out) * math.prod(kernels) * in_channels * filters


def model_receptive_field(model, layer_name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((rows, cols), (jump_rows, jump_cols))`` of one unit of ``layer_name`` in a built Keras model.

    The receptive field (notebook 2's definition: every input pixel that can change the unit) and
    the jump (input pixels between neighbouring units), along each axis, by :func:`receptive_field`'s
    rule applied through the model's graph: a layer with several inputs (a concatenation, a sum)
    takes the widest field among them, so a branching network's field is that of its widest path.
    Convolutions (also depthwise and separable), poolings and their dilations count; padding, batch
    norm, activations and other pixel-wise layers do not change the field.
    """
    import keras

    try:
        target = model.get_layer(layer_name)
    except ValueError as error:
        raise ValueError(f"{model.name} has no layer {layer_name!r}") from error
    memo: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {}

    def of(tensor):
        op = tensor._keras_history.operation
        if isinstance(op, keras.layers.InputLayer):
            return (1, 1), (1, 1)
        if id(op) not in memo:
            inputs = op.input if isinstance(op.input, (list, tuple)) else [op.input]
            fields = [of(t) for t in inputs]
            field = tuple(max(f[0][a] for f in fields) for a in (0, 1))
            jump = tuple(max(f[1][a] for f in fields) for a in (0, 1))
            size = getattr(op, "kernel_size", None) or getattr(op, "pool_size", None)
            if size is not None and len(size) == 2:
                strides = op.strides if len(op.strides) == 2 else (1, 1)
                dilation = getattr(op, "dilation_rate", (1, 1))
                field = tuple(field[a] + (effective_kernel(size[a], dilation[a]) - 1) * jump[a] for a in (0, 1))
                jump = tuple(jump[a] * strides[a] for a in (0, 1))
            memo[id(op)] = field, jump
        return memo[id(op)]

    return of(target.output)
