import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.pooling import DepthMaxPool, l2_pool2d


def numpy_depth_max(x, k):
    """Reference: channel groups [0..k-1], [k..2k-1], ... with a Python loop."""
    groups = x.shape[-1] // k
    return np.stack([x[..., g * k:(g + 1) * k].max(axis=-1) for g in range(groups)], axis=-1)


def numpy_l2_pool(x, pool, stride, padding):
    """Reference: loop over windows of a zero-padded (TensorFlow 'same' rule) array."""
    (ph, pw), (sh, sw) = pool, stride
    n, h, w, c = x.shape
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        pad_h = max((oh - 1) * sh + ph - h, 0)
        pad_w = max((ow - 1) * sw + pw - w, 0)
        x = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    else:
        oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            window = x[:, i * sh:i * sh + ph, j * sw:j * sw + pw, :]
            out[:, i, j, :] = np.sqrt((window.astype(np.float64) ** 2).sum(axis=(1, 2)))
    return out


# --- DepthMaxPool ---------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_depth_max_pool_matches_numpy(k):
    x = np.random.default_rng(k).normal(size=(2, 4, 5, 6)).astype("float32")
    out = DepthMaxPool(k)(x)
    assert tuple(out.shape) == (2, 4, 5, 6 // k)
    np.testing.assert_array_equal(np.asarray(out), numpy_depth_max(x, k))


def test_depth_max_pool_groups_consecutive_channels():
    x = np.array([1, 9, 2, 3, 8, 4], dtype="float32").reshape(1, 1, 1, 6)
    assert np.asarray(DepthMaxPool(3)(x)).ravel().tolist() == [9, 8]
    assert np.asarray(DepthMaxPool(2)(x)).ravel().tolist() == [9, 3, 8]


def test_depth_max_pool_equals_tf_max_pool_with_depth_window_on_cpu():
    x = np.random.default_rng(0).normal(size=(1, 3, 3, 6)).astype("float32")
    with tf.device("/CPU:0"):
        reference = tf.nn.max_pool(x, ksize=(1, 1, 1, 3), strides=(1, 1, 1, 3), padding="VALID")
    np.testing.assert_array_equal(np.asarray(DepthMaxPool(3)(x)), reference.numpy())


def test_depth_max_pool_does_not_use_the_cpu_only_max_pool_op():
    """The graph holds no MaxPool op (whose depth-wise kernel exists on CPU only)."""
    layer = DepthMaxPool(2)
    fn = tf.function(layer).get_concrete_function(tf.TensorSpec((None, None, None, 4), tf.float32))
    op_types = {op.type for op in fn.graph.get_operations()}
    assert not any(t.startswith("MaxPool") for t in op_types), op_types
    assert "Max" in op_types and "Reshape" in op_types


def test_depth_max_pool_in_a_model_with_unknown_batch_and_size():
    inputs = keras.Input(shape=(None, None, 6))
    model = keras.Model(inputs, DepthMaxPool(3)(inputs))
    assert model.output_shape == (None, None, None, 2)
    x = np.random.default_rng(1).normal(size=(3, 7, 2, 6)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), numpy_depth_max(x, 3))


def test_depth_max_pool_has_no_parameters():
    layer = DepthMaxPool(2)
    layer.build((None, 8, 8, 4))
    assert layer.count_params() == 0 and layer.weights == []


def test_depth_max_pool_rejects_indivisible_channels_naming_both_numbers():
    layer = DepthMaxPool(4)
    with pytest.raises(ValueError, match=r"cannot pool 6 channels: 6 is not divisible by 4.*\[1, 2, 3, 6\]"):
        layer.build((None, 5, 5, 6))
    with pytest.raises(ValueError, match=r"not divisible by 4"):
        DepthMaxPool(4)(np.zeros((1, 2, 2, 6), dtype="float32"))


def test_depth_max_pool_rejects_unknown_channels_and_low_rank():
    with pytest.raises(ValueError, match="known channel count"):
        DepthMaxPool(2).build((None, 4, 4, None))
    with pytest.raises(ValueError, match=r"rank 2 or more.*x\[None\]"):
        DepthMaxPool(2).build((6,))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_depth_max_pool_rejects_bad_pool_size(bad):
    with pytest.raises(ValueError, match="pool_size must be a positive integer"):
        DepthMaxPool(bad)


def test_depth_max_pool_config_round_trip_and_saving(tmp_path):
    layer = DepthMaxPool(3, name="depth_pool")
    config = layer.get_config()
    assert config["pool_size"] == 3 and config["name"] == "depth_pool"
    assert DepthMaxPool.from_config(config).pool_size == 3

    inputs = keras.Input(shape=(4, 4, 6))
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / "depth_pool.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: the class is registered
    assert isinstance(loaded.layers[-1], DepthMaxPool) and loaded.layers[-1].pool_size == 3
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 6)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# --- l2_pool2d -------------------------------------------------------------------

@pytest.mark.parametrize("pool, stride, padding, shape", [
    ((2, 2), (2, 2), "valid", (2, 6, 6, 3)),
    ((2, 2), (2, 2), "valid", (1, 7, 5, 2)),   # odd sizes: the last row/column is dropped
    ((3, 3), (1, 1), "valid", (1, 6, 6, 1)),   # overlapping windows
    ((2, 3), (1, 2), "valid", (1, 5, 7, 2)),   # rectangular windows and strides
    ((2, 2), (2, 2), "same", (1, 7, 5, 2)),    # zero padding at the bottom/right
    ((3, 3), (2, 2), "same", (2, 6, 6, 1)),    # padding on both sides
])
def test_l2_pool_matches_numpy(pool, stride, padding, shape):
    x = np.random.default_rng(3).normal(size=shape).astype("float32")
    out = np.asarray(l2_pool2d(x, pool, stride, padding))
    expected = numpy_l2_pool(x, pool, stride, padding)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_l2_pool_worked_example():
    x = np.array([[3, 4, 0, 0],
                  [0, 0, 1, 0],
                  [1, 1, 2, 2],
                  [1, 1, 2, 2]], dtype="float32")[None, :, :, None]
    out = np.asarray(l2_pool2d(x, 2))[0, :, :, 0]
    np.testing.assert_allclose(out, [[5, 1], [2, 4]], rtol=1e-6)


def test_l2_pool_equals_area_times_average_pool_for_valid_windows():
    x = np.random.default_rng(4).uniform(size=(1, 8, 8, 2)).astype("float32")
    avg = keras.layers.AveragePooling2D(2)(x ** 2)
    np.testing.assert_allclose(np.asarray(l2_pool2d(x, 2)), np.sqrt(4 * np.asarray(avg)), rtol=1e-5)


def test_l2_pool_accepts_integer_images_and_defaults_strides_to_pool_size():
    x = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    out = l2_pool2d(x, 2)
    assert tuple(out.shape) == (1, 2, 2, 1) and "float" in str(out.dtype)
    np.testing.assert_allclose(np.asarray(out), numpy_l2_pool(x, (2, 2), (2, 2), "valid"), rtol=1e-6)


def test_l2_pool_error_messages():
    with pytest.raises(ValueError, match=r"got shape \(4, 4, 1\): add a batch axis"):
        l2_pool2d(np.zeros((4, 4, 1)), 2)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        l2_pool2d(np.zeros((1, 4, 4, 1)), 2, padding="full")
    with pytest.raises(ValueError, match=r"pool window 5x5 does not fit the input height 4"):
        l2_pool2d(np.zeros((1, 4, 4, 1)), 5)
    with pytest.raises(ValueError, match="strides must be a positive integer"):
        l2_pool2d(np.zeros((1, 4, 4, 1)), 2, strides=0)
    with pytest.raises(ValueError, match="pool_size must be an int or a pair"):
        l2_pool2d(np.zeros((1, 4, 4, 1)), (2, 2, 2))
