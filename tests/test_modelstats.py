"""Tests for utils.modelstats: parameter counts (trainable and not) and multiply-adds of built Keras models."""
import keras
import pytest

from utils.convmath import conv_macs, conv_params, dense_params
from utils.modelstats import mult_adds, param_counts


def small_cnn(groups=1):
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(6, 3, padding="same", groups=groups, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="dense")(x))


def test_param_counts_splits_batchnorm_moving_statistics_from_the_trainable_weights():
    model = small_cnn()
    total, trainable, non_trainable = param_counts(model)
    assert total == model.count_params()
    assert non_trainable == 2 * 6  # BatchNorm's moving mean and variance, one each per channel
    assert trainable == conv_params(3, 4, 6) + 2 * 6 + dense_params(4 * 4 * 6, 5)


def test_param_counts_of_a_single_layer():
    layer = keras.layers.Dense(3)
    layer.build((None, 7))
    assert param_counts(layer) == (24, 24, 0)


@pytest.mark.parametrize("groups", [1, 2])
def test_mult_adds_counts_convolutions_per_group_and_dense_layers(groups):
    # each output map of a grouped convolution reads only in_channels / groups input maps
    expected = conv_macs((8, 8), 3, 4 // groups, 6, padding="same") + 4 * 4 * 6 * 5
    assert mult_adds(small_cnn(groups)) == expected


def test_mult_adds_enters_nested_models():
    inner = small_cnn()
    inputs = keras.Input((8, 8, 4))
    outer = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    assert mult_adds(outer) == mult_adds(inner) + 5 * 2
