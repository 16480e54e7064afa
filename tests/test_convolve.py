"""utils.convolve: the NumPy reference convolution against tf.nn.conv2d and by hand."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from lessons.convolution import conv_matrix
from utils import convmath
from utils.convolve import convolve2d, correlate2d, pad_image


def tf_conv(image, kernel, stride, padding):
    """tf.nn.conv2d on one (h, w) or (h, w, c) image with one kernel."""
    image = np.asarray(image, dtype="float32")
    kernel = np.asarray(kernel, dtype="float32")
    if image.ndim == 2:
        image, kernel = image[:, :, None], kernel[:, :, None]
    out = tf.nn.conv2d(image[None], kernel[..., None], strides=stride, padding=padding.upper())
    return out.numpy()[0, :, :, 0]


def test_edge_example_by_hand():
    image = np.array([[10, 10, 10, 0, 0, 0]] * 6, dtype=float)
    kernel = np.array([[1, 0, -1]] * 3, dtype=float)
    expected = np.array([[0, 30, 30, 0]] * 4, dtype=float)
    np.testing.assert_array_equal(correlate2d(image, kernel), expected)
    np.testing.assert_array_equal(convolve2d(image, kernel), -expected)  # flipped kernel: sign turns


def test_loop_reference_with_stride_and_padding():
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(7, 9)), rng.normal(size=(3, 2))
    for stride, pad in itertools.product((1, 2, 3), (0, 1, 2)):
        padded = np.pad(image, pad)
        rows = range(0, padded.shape[0] - 3 + 1, stride)
        cols = range(0, padded.shape[1] - 2 + 1, stride)
        loop = np.array([[np.sum(padded[i:i + 3, j:j + 2] * kernel) for j in cols] for i in rows])
        ours = correlate2d(image, kernel, stride=stride, padding=pad)
        np.testing.assert_allclose(ours, loop)
        assert ours.shape == convmath.conv_output_shape((7, 9), (3, 2), stride, pad)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_matches_tf_nn_conv2d(padding):
    rng = np.random.default_rng(1)
    for (h, w), (fh, fw), stride, channels in itertools.product(
            [(5, 5), (6, 7), (8, 4)], [(1, 1), (2, 2), (3, 3), (4, 1)], (1, 2, 3), (None, 3)):
        shape = (h, w) if channels is None else (h, w, channels)
        kshape = (fh, fw) if channels is None else (fh, fw, channels)
        image, kernel = rng.normal(size=shape), rng.normal(size=kshape)
        ours = correlate2d(image, kernel, stride=stride, padding=padding)
        np.testing.assert_allclose(ours, tf_conv(image, kernel, stride, padding), rtol=1e-4, atol=1e-4,
                                   err_msg=f"{shape} {kshape} stride {stride} {padding}")
        assert ours.shape == convmath.conv_output_shape((h, w), (fh, fw), stride, padding)


def test_full_padding_and_convolution_theorem():
    rng = np.random.default_rng(2)
    signal, small = rng.normal(size=(9, 8)), rng.normal(size=(3, 4))
    full = convolve2d(signal, small, padding="full")
    assert full.shape == (9 + 3 - 1, 8 + 4 - 1)
    via_fft = np.real(np.fft.ifft2(np.fft.fft2(signal, full.shape) * np.fft.fft2(small, full.shape)))
    np.testing.assert_allclose(full, via_fft, atol=1e-10)


def test_convolve_is_correlate_with_flipped_kernel():
    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=(6, 6, 2)), rng.normal(size=(3, 2, 2))
    np.testing.assert_allclose(convolve2d(image, kernel, 2, "same"), correlate2d(image, kernel[::-1, ::-1], 2, "same"))


def test_pad_image_same_puts_extra_zero_after():
    padded = pad_image(np.ones((4, 4)), (2, 2), 1, "same")
    assert padded.shape == (5, 5)
    assert padded[:4, :4].all() and not padded[4].any() and not padded[:, 4].any()
    assert pad_image(np.ones((4, 4, 3)), (3, 3), 1, 1).shape == (6, 6, 3)
    assert pad_image(np.ones((4, 4)), (3, 3), 1, "full").shape == (8, 8)


@pytest.mark.parametrize("image, kernel, kwargs, match", [
    (np.ones(5), np.ones(3), {}, r"rank 1 with shape \(5,\)"),
    (np.ones((1, 5, 5, 1)), np.ones((3, 3, 1)), {}, r"rank 4 with shape \(1, 5, 5, 1\).*image\[0\]"),
    (np.ones((5, 5)), np.ones((3, 3, 1)), {}, r"kernel rank 3 .*image rank 2"),
    (np.ones((5, 5, 3)), np.ones((3, 3)), {}, r"kernel rank 2 .*image rank 3"),
    (np.ones((5, 5, 3)), np.ones((3, 3, 2)), {}, "kernel has 2 channels but the image has 3"),
    (np.ones((5, 5)), np.ones((6, 6)), {}, r"kernel 6x6 does not fit the image 5x5"),
    (np.ones((5, 5)), np.ones((3, 6)), {}, r"kernel 3x6 does not fit"),
    (np.ones((5, 5)), np.ones((8, 8)), {"padding": 1}, r"kernel 8x8 .*padded to 7x7 by padding=1"),
    (np.ones((5, 5)), np.ones((0, 3)), {}, "empty array"),
    (np.ones((5, 5)), np.ones((3, 3)), {"stride": 0}, "stride=0"),
    (np.ones((5, 5)), np.ones((3, 3)), {"stride": True}, "stride=True"),
    (np.ones((5, 5)), np.ones((3, 3)), {"stride": 1.5}, "stride=1.5"),
    (np.ones((5, 5)), np.ones((3, 3)), {"padding": "bogus"}, "padding='bogus'"),
    (np.ones((5, 5)), np.ones((3, 3)), {"padding": -1}, "padding=-1"),
    (np.ones((5, 5)), np.ones((3, 3)), {"padding": True}, "padding=True"),
])
@pytest.mark.parametrize("function", [correlate2d, convolve2d])
def test_bad_input_raises_clear_error(function, image, kernel, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(image, kernel, **kwargs)


def test_same_padding_lets_any_kernel_fit():
    # 'same' pads so that even a kernel larger than the image fits, like TensorFlow
    image, kernel = np.arange(9.0).reshape(3, 3), np.ones((5, 5))
    np.testing.assert_allclose(correlate2d(image, kernel, padding="same"), tf_conv(image, kernel, 1, "same"))


@pytest.mark.parametrize("shape, kshape, stride, padding", [
    ((6, 6), (3, 3), 1, "valid"), ((7, 5), (3, 2), 2, "valid"), ((6, 6), (3, 3), 2, "same"),
    ((5, 4), (2, 3), 1, "same"), ((4, 4), (3, 3), 1, "full"), ((5, 6), (3, 3), 3, 2), ((3, 3), (5, 5), 1, "same"),
])
def test_conv_matrix_reproduces_correlate2d(shape, kshape, stride, padding):
    rng = np.random.default_rng(4)
    kernel = rng.normal(size=kshape)
    matrix = conv_matrix(shape, kernel, stride, padding)
    expected_out = correlate2d(np.zeros(shape), kernel, stride, padding).shape
    assert matrix.shape == (expected_out[0] * expected_out[1], shape[0] * shape[1])
    for _ in range(3):
        image = rng.normal(size=shape)
        np.testing.assert_allclose(matrix @ image.ravel(), correlate2d(image, kernel, stride, padding).ravel(),
                                   atol=1e-12)


def test_conv_matrix_of_the_edge_example_is_banded_with_nine_shared_values():
    labels = np.arange(1.0, 10.0).reshape(3, 3)  # the 9 weights, numbered
    matrix = conv_matrix((6, 6), labels)
    assert matrix.shape == (16, 36)
    assert np.count_nonzero(matrix) == 16 * 9
    assert set(np.unique(matrix)) == set(range(10))
    for row in matrix:  # each row: the kernel's 3 rows, 6 columns apart
        cols = np.flatnonzero(row)
        np.testing.assert_array_equal(row[cols], labels.ravel())
        assert list(np.diff(cols)) == [1, 1, 4, 1, 1, 4, 1, 1]
    # the first output row's windows start at columns 0..3 of input row 0
    assert [np.flatnonzero(matrix[k])[0] for k in range(4)] == [0, 1, 2, 3]


@pytest.mark.parametrize("shape, kernel, kwargs, match", [
    ((6,), np.ones((3, 3)), {}, r"image_shape must be \(height, width\)"),
    ((6, 0), np.ones((3, 3)), {}, r"image_shape=\(6, 0\)"),
    ((6, 6), np.ones((3, 3, 1)), {}, "kernel rank 3"),
    ((2, 2), np.ones((3, 3)), {}, "kernel 3x3 does not fit the image 2x2"),
    ((6, 6), np.ones((3, 3)), {"stride": 0}, "stride=0"),
])
def test_conv_matrix_bad_input(shape, kernel, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_matrix(shape, kernel, **kwargs)
