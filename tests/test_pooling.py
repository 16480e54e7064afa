import keras
import numpy as np
import pytest
import tensorflow as tf

from lessons.pooling import BlurPool2D, DepthMaxPool, MaxBlurPool2D, binomial_filter, l2_pool2d


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


# --- anti-aliased pooling (Zhang 2019) ---------------------------------------------

def numpy_blur_pool(x, size, stride, mode="reflect"):
    """Reference: pad (reflect, as antialiased-cnns), then a loop over the strided windows."""
    row = np.array([1.0])
    for _ in range(size - 1):
        row = np.convolve(row, [1.0, 1.0])  # Pascal's triangle
    kernel = np.outer(row, row) / np.outer(row, row).sum()
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    x = np.pad(x.astype(np.float64), ((0, 0), (before, after), (before, after), (0, 0)),
               mode="reflect" if mode == "reflect" else "constant")
    n, h, w, c = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            window = x[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            out[:, i, j, :] = np.einsum("nhwc,hw->nc", window, kernel)
    return out


def numpy_max_stride1(x, pool):
    n, h, w, c = x.shape
    return np.stack([np.stack([x[:, i:i + pool, j:j + pool, :].max(axis=(1, 2)) for j in range(w - pool + 1)], 1)
                     for i in range(h - pool + 1)], 1)


def test_binomial_filter_is_pascals_row_outer_product_normalised():
    np.testing.assert_allclose(binomial_filter(3) * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_allclose(binomial_filter(5)[2] * 256, [6, 24, 36, 24, 6])
    assert binomial_filter(1).tolist() == [[1.0]]
    for size in range(1, 8):
        assert np.isclose(binomial_filter(size).sum(), 1.0)
    with pytest.raises(ValueError, match="filter_size must be a positive integer"):
        binomial_filter(0)


@pytest.mark.parametrize("size, stride, shape, mode", [
    (3, 2, (2, 8, 8, 3), "reflect"),
    (3, 2, (1, 7, 5, 2), "reflect"),   # odd sizes
    (4, 2, (1, 9, 6, 1), "reflect"),   # even filter: the extra padding goes bottom/right
    (5, 3, (1, 11, 10, 2), "reflect"),
    (3, 2, (1, 6, 6, 2), "zeros"),
])
def test_blur_pool_matches_numpy(size, stride, shape, mode):
    x = np.random.default_rng(5).normal(size=shape).astype("float32")
    out = np.asarray(BlurPool2D(size, stride, padding=mode)(x))
    expected = numpy_blur_pool(x, size, stride, mode)
    assert out.shape == expected.shape == (shape[0], (shape[1] - 1) // stride + 1, (shape[2] - 1) // stride + 1,
                                           shape[3])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_blur_pool_keeps_a_constant_image_constant_with_reflect_padding():
    out = np.asarray(BlurPool2D(3, 2)(np.full((1, 9, 9, 2), 0.7, dtype="float32")))
    np.testing.assert_allclose(out, 0.7, rtol=1e-6)
    zeros = np.asarray(BlurPool2D(3, 2, padding="zeros")(np.full((1, 9, 9, 1), 0.7, dtype="float32")))
    assert zeros[0, 0, 0, 0] < 0.7 and np.isclose(zeros[0, 2, 2, 0], 0.7)  # zeros darken the border only


@pytest.mark.parametrize("pool, stride, shape", [(2, 2, (2, 8, 8, 3)), (2, 2, (1, 7, 9, 1)), (3, 2, (1, 13, 13, 2))])
def test_max_blur_pool_is_max_with_stride_1_then_blur(pool, stride, shape):
    x = np.random.default_rng(6).normal(size=shape).astype("float32")
    out = np.asarray(MaxBlurPool2D(pool, strides=stride)(x))
    np.testing.assert_allclose(out, numpy_blur_pool(numpy_max_stride1(x, pool), 3, stride), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [5, 6, 7, 8, 27, 55, 427])
@pytest.mark.parametrize("pool, stride", [(2, 2), (3, 2), (3, 3)])
def test_max_blur_pool_has_the_shape_of_max_pooling(n, pool, stride):
    expected = keras.layers.MaxPooling2D(pool, strides=stride).compute_output_shape((1, n, n + 1, 4))
    assert MaxBlurPool2D(pool, strides=stride).compute_output_shape((1, n, n + 1, 4)) == expected
    out = MaxBlurPool2D(pool, strides=stride)(np.zeros((1, n, n + 1, 4), dtype="float32"))
    assert tuple(out.shape) == expected


def test_max_blur_pool_default_stride_is_the_pool_size_like_keras():
    assert MaxBlurPool2D(3).strides == keras.layers.MaxPooling2D(3).strides[0] == 3


def test_blur_makes_max_pooling_far_less_sensitive_to_a_one_pixel_shift():
    """On random images a 1-px shift changes the blurred output much less: it is smoother."""
    x = np.random.default_rng(7).uniform(size=(4, 33, 33, 3)).astype("float32")
    def change(layer):
        a, b = np.asarray(layer(x[:, :32, :32])), np.asarray(layer(x[:, :32, 1:33]))
        return np.abs(a - b).mean() / np.abs(a).mean()
    plain, blurred = change(keras.layers.MaxPooling2D(2, strides=2)), change(MaxBlurPool2D(2))
    assert blurred < 0.6 * plain, (plain, blurred)


@pytest.mark.parametrize("n", [8, 9, 26, 27])
def test_stride_2_is_the_stride_1_control_subsampled_and_the_control_is_equivariant(n):
    """Notebook 04's control: a stride-2 layer keeps every second row and column of its stride-1 version,
    and the stride-1 version moves with its input (away from the reflect-padded border)."""
    x = np.random.default_rng(n).uniform(size=(2, n + 1, n + 1, 3)).astype("float32")
    for one, two in ((keras.layers.MaxPooling2D(2, strides=1), keras.layers.MaxPooling2D(2, strides=2)),
                     (MaxBlurPool2D(2, strides=1), MaxBlurPool2D(2, strides=2))):
        base = np.asarray(one(x[:, :n, :n]))
        np.testing.assert_allclose(np.asarray(two(x[:, :n, :n])), base[:, ::2, ::2], rtol=1e-6, atol=1e-6)
        moved = np.asarray(one(x[:, 1:, 1:]))  # moved[i, j] = base[i + 1, j + 1] inside
        np.testing.assert_allclose(moved[:, 2:-3, 2:-3], base[:, 3:-2, 3:-2], rtol=1e-6, atol=1e-6)


def test_stripes_alias_under_max_pooling_but_not_after_the_blur():
    stripes = np.tile(np.array([0, 0, 1, 1], dtype="float32"), 4)[None, None, :, None].repeat(6, axis=1)
    moved = np.roll(stripes, 1, axis=2)
    plain = [np.asarray(keras.layers.MaxPooling2D(2, strides=2)(s))[0, 2, 1:-1, 0] for s in (stripes, moved)]
    blurred = [np.asarray(MaxBlurPool2D(2)(s))[0, 2, 1:-1, 0] for s in (stripes, moved)]
    assert plain[0].tolist() == [1, 0, 1, 0, 1, 0] and plain[1].tolist() == [1] * 6  # aliasing: all change
    np.testing.assert_allclose(blurred[0], [1, 0.5, 1, 0.5, 1, 0.5])
    np.testing.assert_allclose(blurred[1], [0.75] * 6)


def test_blur_layers_have_no_parameters_and_survive_saving(tmp_path):
    for layer in (BlurPool2D(3, 2), MaxBlurPool2D(2)):
        layer.build((None, 8, 8, 4))
        assert layer.count_params() == 0 and layer.trainable_weights == []
    inputs = keras.Input(shape=(8, 8, 2))
    model = keras.Model(inputs, MaxBlurPool2D(3, strides=2, filter_size=5, name="mbp")(BlurPool2D(3, 1)(inputs)))
    path = tmp_path / "blur.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("mbp")
    assert (layer.pool_size, layer.strides, layer.filter_size) == (3, 2, 5)
    x = np.random.default_rng(8).normal(size=(2, 8, 8, 2)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_blur_layers_error_messages():
    with pytest.raises(ValueError, match="padding must be 'reflect' or 'zeros'"):
        BlurPool2D(padding="same")
    with pytest.raises(ValueError, match="strides must be a positive integer"):
        BlurPool2D(3, 0)
    with pytest.raises(ValueError, match=r"got shape \(8, 8, 1\): add a batch axis"):
        BlurPool2D().build((8, 8, 1))
    with pytest.raises(ValueError, match="cannot reflect-pad an input height of 2: it needs at least 3"):
        BlurPool2D(5).build((None, 2, 8, 1))
    with pytest.raises(ValueError, match=r"MaxBlurPool2D expects a batch of images.*x\[None\]"):
        MaxBlurPool2D(2)(np.zeros((8, 8, 1), dtype="float32"))
    with pytest.raises(ValueError, match="needs an input width of at least 4, got 3"):
        MaxBlurPool2D(3).build((None, 8, 3, 1))
