"""Tests for utils.convmath.conv_macs (appended to convmath with the pooling notebook)."""
import math

import keras
import pytest

from utils import convmath


@pytest.mark.parametrize("size, kernel, c_in, filters, strides, padding", [
    ((28, 28), 5, 1, 20, 1, "valid"),
    ((32, 24), 3, 8, 16, 1, "same"),
    ((33, 33), (3, 5), 4, 6, 2, "same"),
    ((20, 20), 7, 3, 2, 3, "valid"),
])
def test_conv_macs_is_output_values_times_weights_per_output(size, kernel, c_in, filters, strides, padding):
    """Each output value of a Keras Conv2D costs one multiply-add per weight of its filter."""
    layer = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)
    layer.build((None, *size, c_in))
    out_shape = layer.compute_output_shape((1, *size, c_in))
    weights_per_output = layer.count_params() // filters
    expected = math.prod(out_shape[1:]) * weights_per_output
    assert convmath.conv_macs(size, kernel, c_in, filters, strides, padding) == expected


def test_conv_macs_hand_value_and_pooling_quarter():
    # 3x3 conv, 64 -> 128 channels, 'same', on 224x224: 224*224*128 outputs x 576 weights each
    full = convmath.conv_macs((224, 224), 3, 64, 128, padding="same")
    assert full == 224 * 224 * 128 * 3 * 3 * 64 == 3_699_376_128
    assert convmath.conv_macs((112, 112), 3, 64, 128, padding="same") * 4 == full


def test_conv_macs_rejects_bad_arguments():
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        convmath.conv_macs((8, 8), 3, 0, 4)
    with pytest.raises(ValueError, match="larger than the input"):
        convmath.conv_macs((2, 2), 3, 1, 1)
    with pytest.raises(ValueError, match="kernel has 3 values"):
        convmath.conv_macs((8, 8), (3, 3, 3), 1, 1)
