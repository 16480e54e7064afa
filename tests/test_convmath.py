"""utils.convmath against Keras's own shapes and parameter counts, and TensorFlow's numerics.

Shapes come from ``compute_output_shape`` (Keras's shape code, no weights built);
a few real calls check that those shapes are what the layers actually produce.
"""
import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import convmath
from utils.convolve import correlate2d

SIZES = (1, 2, 3, 4, 5, 7, 8, 12, 28)
KERNELS = (1, 2, 3, 5)
STRIDES = (1, 2, 3)


def keras_shape(layer, input_shape):
    """Keras's output shape, or None where there is no output (the layer does not fit its input).

    Keras says "no output" in two ways, depending on its version: from Keras 3.14 (convolutions)
    and 3.15 (pooling), ``compute_output_shape`` raises ValueError; before that, where the
    size formula gives 0 (e.g. a kernel exactly one larger than the input), it returns a
    shape with a 0 in it and raises only for negative sizes. Both mean the same here, so the
    comparison holds on every Keras that requirements.txt allows.
    """
    try:
        shape = tuple(layer.compute_output_shape(input_shape))
    except ValueError:
        return None
    spatial = shape[1:-1]  # channels last: (batch, *spatial, channels)
    return None if any(size is not None and size <= 0 for size in spatial) else shape


def ours_shape(*args, **kwargs):
    try:
        return convmath.conv_output_shape(*args, **kwargs)
    except ValueError:
        return None


# --- output sizes ----------------------------------------------------------------------------

@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_output_shape_matches_keras_over_grid(padding):
    mismatches, compared = [], 0
    for n, f, s in itertools.product(SIZES, KERNELS, STRIDES):
        # different sizes, kernels and strides per axis, so a swapped axis would show
        h, w = n, n + 3
        kernel, strides = (f, 1 + f % 3), (s, 1 + s % 2)
        layer = keras.layers.Conv2D(1, kernel, strides=strides, padding=padding)
        expected = keras_shape(layer, (None, h, w, 1))
        ours = ours_shape((h, w), kernel, strides, padding)
        if expected is not None:
            expected = expected[1:3]
            compared += 1
        if ours != expected:
            mismatches.append(((h, w), kernel, strides, padding, ours, expected))
    assert not mismatches, mismatches
    assert compared > 80  # most of the grid is a possible configuration


def test_dilated_conv_output_shape_matches_keras():
    # Keras allows dilation only with stride 1
    mismatches = []
    for n, f, d, padding in itertools.product(SIZES, KERNELS, (1, 2, 3), ("same", "valid")):
        layer = keras.layers.Conv2D(1, f, dilation_rate=d, padding=padding)
        expected = keras_shape(layer, (None, n, n, 1))
        expected = None if expected is None else expected[1:3]
        ours = ours_shape((n, n), f, 1, padding, d)
        if ours != expected:
            mismatches.append((n, f, d, padding, ours, expected))
    assert not mismatches, mismatches


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv1d_and_conv3d_output_shapes_match_keras(padding):
    mismatches = []
    for n, f, s in itertools.product(SIZES, KERNELS, STRIDES):
        expected = keras_shape(keras.layers.Conv1D(1, f, strides=s, padding=padding), (None, n, 2))
        ours = ours_shape((n,), f, s, padding)
        if ours != (None if expected is None else expected[1:2]):
            mismatches.append(("1d", n, f, s, ours, expected))
    for n, f, s in itertools.product((1, 4, 7, 9), (1, 2, 3), (1, 2)):
        shape = (n, n + 1, n + 2)
        expected = keras_shape(keras.layers.Conv3D(1, f, strides=s, padding=padding), (None, *shape, 1))
        ours = ours_shape(shape, f, s, padding)
        if ours != (None if expected is None else expected[1:4]):
            mismatches.append(("3d", shape, f, s, ours, expected))
    assert not mismatches, mismatches


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_pooling_output_shape_matches_keras(padding):
    mismatches = []
    for n, f, s in itertools.product(SIZES, (2, 3), (None, 1, 2, 3)):
        layer = keras.layers.MaxPooling2D(f, strides=s, padding=padding)
        expected = keras_shape(layer, (None, n, n, 1))
        ours = ours_shape((n, n), f, s or f, padding)  # Keras's default stride is the pool size
        if ours != (None if expected is None else expected[1:3]):
            mismatches.append((n, f, s, padding, ours, expected))
    assert not mismatches, mismatches


def test_tensorflow_ceil_formulas_and_explicit_padding_agree():
    for n, f, s in itertools.product(SIZES, KERNELS, STRIDES):
        # TensorFlow's documented rules
        assert convmath.conv_output_size(n, f, s, "same") == math.ceil(n / s)
        if f <= n:
            assert convmath.conv_output_size(n, f, s, "valid") == math.ceil((n - f + 1) / s)
            # "valid" is explicit padding 0: (W - F + 2P) / S + 1, rounded down
            assert convmath.conv_output_size(n, f, s, 0) == (n - f) // s + 1
            assert convmath.conv_output_size(n, f, s, 0) == convmath.conv_output_size(n, f, s, "valid")


def test_explicit_padding_matches_keras_zero_padding_then_valid_conv():
    mismatches, compared = [], 0
    for n, f, s, p in itertools.product((3, 5, 7, 8, 28), KERNELS, STRIDES, (0, 1, 2)):
        padded = keras.layers.ZeroPadding2D(p).compute_output_shape((None, n, n + 1, 1))
        expected = keras_shape(keras.layers.Conv2D(1, f, strides=s, padding="valid"), padded)
        ours = ours_shape((n, n + 1), f, s, p)
        if expected is not None:
            expected = expected[1:3]
            compared += 1
            assert ours == ((n - f + 2 * p) // s + 1, (n + 1 - f + 2 * p) // s + 1)
        if ours != expected:
            mismatches.append((n, f, s, p, ours, expected))
    assert not mismatches, mismatches
    assert compared > 100


def test_shapes_from_real_layer_calls():
    # compute_output_shape is what the layers produce: check a few by running them
    x = np.zeros((1, 7, 8, 2), dtype="float32")
    for kwargs in ({"kernel_size": 3, "strides": 2, "padding": "same"},
                   {"kernel_size": (2, 3), "strides": (3, 2), "padding": "valid"},
                   {"kernel_size": 3, "dilation_rate": 2, "padding": "valid"}):
        y = keras.layers.Conv2D(1, **kwargs)(x)
        expected = convmath.conv_output_shape(
            (7, 8), kwargs["kernel_size"], kwargs.get("strides", 1), kwargs["padding"], kwargs.get("dilation_rate", 1))
        assert tuple(y.shape[1:3]) == expected
    y = keras.layers.MaxPooling2D(2, padding="same")(x)
    assert tuple(y.shape[1:3]) == convmath.conv_output_shape((7, 8), 2, 2, "same") == (4, 4)
    y = keras.layers.Conv2DTranspose(1, 3, strides=2)(x)
    assert tuple(y.shape[1:3]) == (convmath.transposed_output_size(7, 3, 2), convmath.transposed_output_size(8, 3, 2))


def test_course_examples():
    assert convmath.conv_output_shape((6, 6), 3) == (4, 4)            # notebook 1
    assert convmath.conv_output_shape((28, 28), 5) == (24, 24)        # 28x28 with 5x5
    assert convmath.conv_output_shape((7, 7), 3, 2) == (3, 3)         # 7x7, 3x3, stride 2
    assert convmath.conv_output_shape((200, 300), 3, 2, "same") == (100, 150)
    assert convmath.conv_output_shape((25, 38), 3, 2, "same") == (13, 19)


def test_effective_kernel():
    assert convmath.effective_kernel(3) == 3
    assert convmath.effective_kernel(3, 2) == 5
    assert convmath.effective_kernel(5, 3) == 13
    assert convmath.effective_kernel(1, 4) == 1


# --- SAME padding: where TensorFlow puts the zeros ----------------------------------------------

def test_same_padding_values():
    assert convmath.same_padding(5, 3) == (1, 1)
    assert convmath.same_padding(6, 2) == (0, 1)        # odd total: the extra zero goes after
    assert convmath.same_padding(6, 3, 2) == (0, 1)
    assert convmath.same_padding(7, 3, 2) == (1, 1)
    assert convmath.same_padding(5, 1, 2) == (0, 0)
    assert convmath.same_padding(4, 4) == (1, 2)
    assert convmath.same_padding(5, 3, dilation=2) == (2, 2)


@pytest.mark.parametrize("size", [(5, 6), (6, 7), (8, 8), (9, 4)])
def test_same_padding_reproduces_tf_nn_conv2d_same(size):
    rng = np.random.default_rng(sum(size))
    h, w = size
    x = rng.normal(size=(h, w)).astype("float32")
    for (fh, fw), s in itertools.product([(1, 1), (2, 2), (3, 3), (4, 3), (5, 2)], (1, 2, 3)):
        k = rng.normal(size=(fh, fw)).astype("float32")
        tf_same = tf.nn.conv2d(x[None, :, :, None], k[:, :, None, None], strides=s, padding="SAME")[0, :, :, 0]
        # our NumPy convolution with 'same'
        ours = correlate2d(x, k, stride=s, padding="same")
        np.testing.assert_allclose(ours, tf_same, rtol=1e-5, atol=1e-5, err_msg=f"{size} {fh}x{fw} stride {s}")
        # zero-pad by same_padding, then a VALID convolution: identical to SAME
        pads = [[0, 0], list(convmath.same_padding(h, fh, s)), list(convmath.same_padding(w, fw, s)), [0, 0]]
        tf_padded = tf.nn.conv2d(tf.pad(x[None, :, :, None], pads), k[:, :, None, None], strides=s, padding="VALID")
        np.testing.assert_allclose(tf_padded[0, :, :, 0], tf_same, rtol=1e-5, atol=1e-5)
        assert tf_same.shape == convmath.conv_output_shape((h, w), (fh, fw), s, "same")


def test_same_padding_extra_zero_goes_bottom_right():
    # 4x4 ones, 2x2 kernel of ones, SAME: total padding 1 per axis, put after.
    # If it went before, the top-left output would see 1 pixel, not 4.
    out = tf.nn.conv2d(tf.ones((1, 4, 4, 1)), tf.ones((2, 2, 1, 1)), strides=1, padding="SAME")[0, :, :, 0]
    assert out[0, 0] == 4 and out[-1, -1] == 1
    assert convmath.same_padding(4, 2) == (0, 1)


# --- receptive fields ------------------------------------------------------------------------

def test_receptive_field_known_values():
    assert convmath.receptive_field([(3, 1)]) == 3
    assert convmath.receptive_field([(3, 1)] * 2) == 5
    assert convmath.receptive_field([(3, 1)] * 3) == 7
    assert convmath.receptive_field([(5, 1)]) == 5
    assert convmath.receptive_field([(3, 2), (3, 1)]) == 7       # 3 + 2*2
    assert convmath.receptive_field([(3, 2), (3, 2), (3, 2)]) == 15
    assert convmath.receptive_field([(3, 1), (2, 2), (3, 1)]) == 8  # conv, 2x2 pool, conv
    assert convmath.receptive_field([(3, 1, 2)]) == 5
    assert convmath.receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == 15


@pytest.mark.parametrize("layers", [[(3, 1)] * 2, [(3, 1)] * 3, [(3, 2), (3, 1)], [(5, 2), (3, 2)],
                                    [(3, 1, 2), (3, 1)]])
def test_receptive_field_matches_gradient_extent(layers):
    # the input pixels that influence one output neuron are where its gradient is non-zero
    model = keras.Sequential([keras.Input((23, 23, 1))] + [
        keras.layers.Conv2D(1, k, strides=s, dilation_rate=(d[0] if d else 1), use_bias=False,
                            kernel_initializer="ones")
        for k, s, *d in layers])
    x = tf.ones((1, 23, 23, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)[0, 0, 0, 0]
    grad = tape.gradient(y, x)[0, :, :, 0].numpy()
    rows, cols = np.nonzero(grad)
    assert rows.min() == 0 and cols.min() == 0
    assert rows.max() + 1 == cols.max() + 1 == convmath.receptive_field(layers)


def test_receptive_window_is_what_the_strided_convolution_reads():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(9, 11))
    kernel = rng.normal(size=(3, 2))
    out = correlate2d(image, kernel, stride=2)
    for i, j in [(0, 0), (1, 3), (3, 4)]:
        rows, cols = convmath.receptive_window(i, j, (3, 2), 2)
        assert rows == range(2 * i, 2 * i + 3) and cols == range(2 * j, 2 * j + 2)
        assert np.isclose(out[i, j], np.sum(image[rows.start:rows.stop, cols.start:cols.stop] * kernel))
    assert convmath.receptive_window(2, 1, (5, 3), (1, 2)) == (range(2, 7), range(2, 5))


def test_receptive_window_with_padding_starts_at_i_times_s_minus_pad_before():
    rng = np.random.default_rng(4)
    image = rng.normal(size=(7, 8))
    kernel = rng.normal(size=(3, 3))
    for padding in ("same", 1, 2):
        out = correlate2d(image, kernel, stride=2, padding=padding)
        (top, _), (left, _) = (convmath.same_padding(n, 3, 2) for n in image.shape) if padding == "same" \
            else ((padding, padding), (padding, padding))
        padded = np.pad(image, ((top, 10), (left, 10)))  # index k of the input is k + top in padded
        for i, j in itertools.product(range(out.shape[0]), range(out.shape[1])):
            rows, cols = convmath.receptive_window(i, j, 3, 2, pad_before=(top, left))
            assert rows.start == 2 * i - top and cols.start == 2 * j - left
            window = padded[rows.start + top:rows.stop + top, cols.start + left:cols.stop + left]
            assert np.isclose(out[i, j], np.sum(window * kernel))
    assert convmath.receptive_window(0, 0, 3, 2, pad_before=1) == (range(-1, 2), range(-1, 2))


# --- parameter counts ------------------------------------------------------------------------

def built_count(layer, input_shape):
    layer.build(input_shape)
    return layer.count_params()


@pytest.mark.parametrize("use_bias", [True, False])
def test_conv_params_match_keras(use_bias):
    for f, c_in, filters in itertools.product((1, 3, 5), (1, 3, 16), (1, 8)):
        assert convmath.conv_params(f, c_in, filters, use_bias=use_bias) == built_count(
            keras.layers.Conv2D(filters, f, use_bias=use_bias), (None, 9, 9, c_in))
        assert convmath.conv_params((f, 2), c_in, filters, use_bias=use_bias) == built_count(
            keras.layers.Conv2D(filters, (f, 2), use_bias=use_bias), (None, 9, 9, c_in))
        assert convmath.conv_params((f,), c_in, filters, use_bias=use_bias) == built_count(
            keras.layers.Conv1D(filters, f, use_bias=use_bias), (None, 9, c_in))
        assert convmath.conv_params((f, f, 2), c_in, filters, use_bias=use_bias) == built_count(
            keras.layers.Conv3D(filters, (f, f, 2), use_bias=use_bias), (None, 6, 6, 6, c_in))
        assert convmath.conv_params(f, c_in, filters, use_bias=use_bias) == built_count(
            keras.layers.Conv2DTranspose(filters, f, use_bias=use_bias), (None, 9, 9, c_in))


def test_conv_params_course_figures():
    # the 3-layer CNN on RGB input (3x3 kernels, 100, 200, 400 maps)
    counts = [convmath.conv_params(3, 3, 100), convmath.conv_params(3, 100, 200), convmath.conv_params(3, 200, 400)]
    assert counts == [2_800, 180_200, 720_400] and sum(counts) == 903_400
    assert convmath.conv_params(5, 1, 20) == 520          # 20 maps of 5x5 on a grayscale image
    assert convmath.dense_params(784, 30) == 23_550
    # two 3x3 vs one 5x5 (per input/output channel pair, no bias)
    assert 2 * convmath.conv_params(3, 1, 1, use_bias=False) == 18
    assert convmath.conv_params(5, 1, 1, use_bias=False) == 25


def test_dense_params_match_keras():
    for n_in, n_out, bias in itertools.product((1, 7, 784), (1, 10, 30), (True, False)):
        assert convmath.dense_params(n_in, n_out, use_bias=bias) == built_count(
            keras.layers.Dense(n_out, use_bias=bias), (None, n_in))


def test_depthwise_and_separable_params_match_keras():
    for f, c_in, mult, bias in itertools.product((1, 3, (3, 5)), (1, 3, 8), (1, 2), (True, False)):
        assert convmath.depthwise_params(f, c_in, mult, use_bias=bias) == built_count(
            keras.layers.DepthwiseConv2D(f, depth_multiplier=mult, use_bias=bias), (None, 9, 9, c_in))
        for filters in (1, 16):
            assert convmath.separable_params(f, c_in, filters, mult, use_bias=bias) == built_count(
                keras.layers.SeparableConv2D(filters, f, depth_multiplier=mult, use_bias=bias), (None, 9, 9, c_in))


def test_transposed_output_size_matches_keras():
    mismatches = []
    for n, f, s, padding in itertools.product((1, 2, 3, 4, 7), (1, 2, 3, 4, 5), (1, 2, 3), ("same", "valid")):
        layer = keras.layers.Conv2DTranspose(1, f, strides=s, padding=padding)
        expected = tuple(layer.compute_output_shape((None, n, n + 1, 1)))[1:3]
        ours = tuple(convmath.transposed_output_size(m, f, s, padding) for m in (n, n + 1))
        if ours != expected:
            mismatches.append((n, f, s, padding, ours, expected))
    assert not mismatches, mismatches


# --- memory ----------------------------------------------------------------------------------

def test_tensor_and_params_bytes():
    assert convmath.tensor_bytes((100, 150, 100)) == 6_000_000
    assert convmath.tensor_bytes((50, 200, 300, 3)) == 36_000_000
    assert convmath.tensor_bytes((2, 3), "float16") == 12
    assert convmath.tensor_bytes((2, 3), "float64") == 48
    assert convmath.tensor_bytes((0, 3)) == 0
    assert convmath.tensor_bytes(()) == 4                  # a scalar
    assert convmath.params_bytes(903_400) == 3_613_600
    assert convmath.dtype_bytes("uint8") == 1
    # agrees with NumPy's own itemsize
    for dtype in ("float16", "float32", "float64", "int8", "int32", "int64", "uint8"):
        assert convmath.tensor_bytes((3, 5), dtype) == np.zeros((3, 5), dtype).nbytes


def test_format_bytes():
    assert convmath.format_bytes(6_000_000) == "6.0 MB"
    assert convmath.format_bytes(6_000_000, "MiB") == "5.7 MiB"
    assert convmath.format_bytes(3_613_600, "MiB") == "3.4 MiB"
    assert convmath.format_bytes(1536, "KiB") == "1.5 KiB"
    assert convmath.format_bytes(2 * 10**9, "GB") == "2.0 GB"
    assert convmath.format_bytes(1234567, "B") == "1,234,567 B"
    assert convmath.format_bytes(0) == "0.0 MB"


# --- impossible configurations: one clear ValueError naming the value ------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: convmath.conv_output_size(5, 3, stride=0), "stride=0"),
    (lambda: convmath.conv_output_size(5, 3, stride=-2), "stride=-2"),
    (lambda: convmath.conv_output_size(-5, 3), "size=-5"),
    (lambda: convmath.conv_output_size(0, 3), "size=0"),
    (lambda: convmath.conv_output_size(5, 0), "kernel=0"),
    (lambda: convmath.conv_output_size(5, -3), "kernel=-3"),
    (lambda: convmath.conv_output_size(5, 3, dilation=0), "dilation=0"),
    (lambda: convmath.conv_output_size(5, 7), "kernel 7.*size=5"),
    (lambda: convmath.conv_output_size(5, 3, dilation=3), "kernel 7 .*dilation=3.*size=5"),
    (lambda: convmath.conv_output_size(5, 8, padding=1), "kernel 8 .*padded input 7"),
    (lambda: convmath.conv_output_size(5, 3, padding="full"), "padding='full'"),
    (lambda: convmath.conv_output_size(5, 3, padding=-1), "padding=-1"),
    (lambda: convmath.conv_output_size(5, 3, padding=1.5), "padding=1.5"),
    (lambda: convmath.conv_output_size(5.0, 3), "size=5.0"),
    (lambda: convmath.conv_output_size(True, 3), "size=True"),
    (lambda: convmath.conv_output_size(5, True), "kernel=True"),
    (lambda: convmath.conv_output_size(5, 3, stride=True), "stride=True"),
    (lambda: convmath.conv_output_size(5, 3, padding=True), "padding=True"),
    (lambda: convmath.conv_output_shape((), 3), "at least one"),
    (lambda: convmath.conv_output_shape(28, 3), "input_shape=28"),
    (lambda: convmath.conv_output_shape((5, 5), True), "kernel=True"),
    (lambda: convmath.conv_output_shape((5, 5), 3, strides=(1, 2, 3)), r"strides has 3 values \(1, 2, 3\)"),
    (lambda: convmath.conv_output_shape((5, 5), 3, padding=("same",)), "padding has 1 values"),
    (lambda: convmath.same_padding(5, 3, stride=0), "stride=0"),
    (lambda: convmath.same_padding(0, 3), "size=0"),
    (lambda: convmath.transposed_output_size(3, 3, 0), "stride=0"),
    (lambda: convmath.transposed_output_size(3, 3, 1, "full"), "padding='full'"),
    (lambda: convmath.receptive_window(-1, 0, 3), "i=-1"),
    (lambda: convmath.receptive_window(0, 0, 3, 0), "stride_height=0"),
    (lambda: convmath.receptive_window(0, 0, (3, True)), "kernel_width=True"),
    (lambda: convmath.receptive_window(0, 0, 3, 1, -1), "pad_top=-1"),
    (lambda: convmath.receptive_window(0, 0, 3, 1, (0, 1, 2)), "pad_before has 3 values"),
    (lambda: convmath.receptive_field([]), "at least one layer"),
    (lambda: convmath.receptive_field([(3, 0)]), "stride=0"),
    (lambda: convmath.receptive_field([(3,)]), r"\(3,\)"),
    (lambda: convmath.receptive_field([3]), "3"),
    (lambda: convmath.receptive_field([(3, 1, True)]), "dilation=True"),
    (lambda: convmath.conv_params(0, 3, 4), "kernel=0"),
    (lambda: convmath.conv_params(True, 3, 4), "kernel=True"),
    (lambda: convmath.conv_params(3.0, 3, 4), "kernel=3.0"),
    (lambda: convmath.conv_params((3, -1), 3, 4), "kernel=-1"),
    (lambda: convmath.conv_params(3, 0, 4), "in_channels=0"),
    (lambda: convmath.conv_params(3, 3, True), "filters=True"),
    (lambda: convmath.dense_params(0, 3), "n_in=0"),
    (lambda: convmath.dense_params(True, 3), "n_in=True"),
    (lambda: convmath.depthwise_params(-3, 3), "kernel=-3"),
    (lambda: convmath.depthwise_params((3, 0), 3), "kernel=0"),
    (lambda: convmath.depthwise_params(True, 3), "kernel=True"),
    (lambda: convmath.depthwise_params(3, 3, 0), "depth_multiplier=0"),
    (lambda: convmath.separable_params(3, 3, 0), "filters=0"),
    (lambda: convmath.tensor_bytes((3, -1)), "dimension=-1"),
    (lambda: convmath.tensor_bytes((3, True)), "dimension=True"),
    (lambda: convmath.tensor_bytes(5), "shape=5"),
    (lambda: convmath.tensor_bytes((3,), "float33"), "float33"),
    (lambda: convmath.params_bytes(-1), "n_params=-1"),
    (lambda: convmath.format_bytes(-1), "-1"),
    (lambda: convmath.format_bytes(10, "mb"), "unit='mb'"),
    (lambda: convmath.format_bytes(True), "True"),
])
def test_impossible_configurations_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_positive_ints_takes_an_int_or_a_sequence_and_names_the_bad_entry():
    assert convmath.positive_ints("hidden", (300, np.int64(100))) == (300, 100)
    assert convmath.positive_ints("dense_units", 64) == (64,)
    assert convmath.positive_ints("dense_units", ()) == ()
    with pytest.raises(ValueError, match=r"conv_blocks\[1\] must hold at least one"):
        convmath.positive_ints("conv_blocks[1]", (), allow_empty=False)
    message = "each entry of hidden must be a positive integer, got each entry of hidden=-1"
    with pytest.raises(ValueError, match=message):
        convmath.positive_ints("hidden", (300, -1))
    with pytest.raises(ValueError, match="each entry of hidden"):
        convmath.positive_ints("hidden", (True,))
    with pytest.raises(ValueError, match="hidden must be a sequence of positive integers"):
        convmath.positive_ints("hidden", None)


def test_check_image_shape_is_the_one_shape_check_and_names_the_fix():
    assert convmath.check_image_shape((np.int64(28), 28, 1)) == (28, 28, 1)
    fix = r"\(28, 28\) \(rank 2\) -- add the channel axis: \(28, 28, 1\) for grayscale"
    with pytest.raises(ValueError, match=r"resnet: .*rank 3.*" + fix):
        convmath.check_image_shape((28, 28), builder="resnet")
    with pytest.raises(ValueError, match="input_shape channels must be a positive integer"):
        convmath.check_image_shape((28, 28, True))
    with pytest.raises(ValueError, match=r"must be \(height, width, channels\), got input_shape=28"):
        convmath.check_image_shape(28)


def test_model_receptive_field_follows_the_graph():
    import keras

    from utils.convmath import model_receptive_field, receptive_field

    chain = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3, name="c1"),
                              keras.layers.MaxPooling2D(name="p1"), keras.layers.Conv2D(2, 3, name="c2")])
    assert model_receptive_field(chain, "c2") == ((8, 8), (2, 2)) and receptive_field([(3, 1), (2, 2), (3, 1)]) == 8
    inputs = keras.Input((32, 32, 1))
    narrow = keras.layers.Conv2D(1, 1)(inputs)
    dilated = keras.layers.Conv2D(1, 3, dilation_rate=2, padding="same")(inputs)
    wide = keras.layers.Conv2D(1, (1, 7), padding="same")(dilated)
    merged = keras.layers.Concatenate(name="merged")([narrow, wide])
    branching = keras.Model(inputs, merged)
    assert model_receptive_field(branching, "merged") == ((5, 11), (1, 1))  # the widest path, per axis
    with pytest.raises(ValueError, match="has no layer 'nope'"):
        model_receptive_field(branching, "nope")


def test_model_receptive_field_of_inception_v3_and_mobilenet_matches_araujo_et_al():
    import keras

    from utils.convmath import model_receptive_field

    # Araujo, Norris & Sim (2019), Distill, table of receptive fields: Inception v3 1,311, MobileNet v1 315
    assert model_receptive_field(keras.applications.InceptionV3(weights=None), "mixed10") == ((1311, 1311), (32, 32))
    mobilenet = keras.applications.MobileNet(weights=None, alpha=0.25, input_shape=(128, 128, 3))
    assert model_receptive_field(mobilenet, "conv_pw_13_relu") == ((315, 315), (32, 32))
