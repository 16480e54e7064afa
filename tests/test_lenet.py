"""Tests for lessons.lenet (LeNet-5, notebook 06), lessons.typical_cnn (05's builders), utils.digits (shifts)."""
import keras
import numpy as np
import pytest

from lessons.lenet import (
    C3_CONNECTIONS,
    PartialConv2D,
    RBFOutput,
    TrainableSubsampling,
    connection_matrix,
    digit_codes,
    lecun_normalise,
    lecun_tanh,
    lenet5_faithful,
    lenet5_modern,
    rbf_accuracy,
    rbf_loss,
)
from lessons.typical_cnn import dense_net, nielsen_net, typical_cnn
from utils import convmath, digits, training


@pytest.fixture(scope="module")
def faithful():
    return lenet5_faithful()


# ---------------------------------------------------------------------------
# parameter counts
# ---------------------------------------------------------------------------

FAITHFUL_COUNTS = {"C1": 156, "S2": 12, "C3": 1_516, "S4": 32, "C5": 48_120, "flatten": 0,
                   "F6": 10_164, "OUTPUT": 840}


def test_faithful_counts_per_layer(faithful):
    assert {layer.name: layer.count_params() for layer in faithful.layers} == FAITHFUL_COUNTS
    assert faithful.count_params() == 60_840 == sum(FAITHFUL_COUNTS.values())


def test_faithful_counts_match_the_formulas(faithful):
    layers = {layer.name: layer for layer in faithful.layers}
    assert layers["C1"].count_params() == convmath.conv_params(5, 1, 6)
    assert layers["S2"].count_params() == 2 * 6
    assert layers["C3"].count_params() == 5 * 5 * 60 + 16  # 60 connections of 25 weights, 16 biases
    assert layers["S4"].count_params() == 2 * 16
    assert layers["C5"].count_params() == convmath.conv_params(5, 16, 120)
    assert layers["F6"].count_params() == convmath.dense_params(120, 84)
    assert layers["OUTPUT"].count_params() == 84 * 10


def test_faithful_output_shapes(faithful):
    shapes = {name: shape for name, _, shape, _ in training.layer_table(faithful)}
    assert shapes["C1"] == (28, 28, 6)
    assert shapes["S2"] == (14, 14, 6)
    assert shapes["C3"] == (10, 10, 16)
    assert shapes["S4"] == (5, 5, 16)
    assert shapes["C5"] == (1, 1, 120)
    assert shapes["F6"] == (84,)
    assert shapes["OUTPUT"] == (10,)


def test_rbf_centres_are_fixed_digit_codes(faithful):
    rbf = faithful.get_layer("OUTPUT")
    assert faithful.count_params() - sum(int(np.prod(w.shape)) for w in faithful.trainable_weights) == 840
    np.testing.assert_array_equal(rbf.centres.numpy(), digit_codes())
    codes = digit_codes()
    assert codes.shape == (10, 84) and set(np.unique(codes)) == {-1.0, 1.0}
    assert len({tuple(c) for c in codes}) == 10  # ten different codes


def test_softmax_head_on_faithful_body(faithful):
    model = lenet5_faithful(output="softmax")
    assert model.get_layer("OUTPUT").count_params() == 850
    assert model.count_params() == 60_840 - 840 + 850
    for name in ("C1", "S2", "C3", "S4", "C5", "F6"):  # same seed, same initial body: a controlled comparison
        for ours, theirs in zip(model.get_layer(name).get_weights(), faithful.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)


def test_modern_counts():
    model = lenet5_modern()
    counts = {layer.name: layer.count_params() for layer in model.layers}
    assert counts["C3"] == convmath.conv_params(5, 6, 16) == 2_416
    assert counts["S2"] == counts["S4"] == 0
    assert model.count_params() == 61_706


def test_nielsen_net_shapes_and_count():
    model = nielsen_net()
    table = training.layer_table(model)
    assert [shape for _, _, shape, _ in table] == [(24, 24, 3), (12, 12, 3), (432,), (10,)]
    assert model.count_params() == convmath.conv_params(5, 1, 3) + convmath.dense_params(3 * 12 * 12, 10) == 4_408


def test_typical_cnn_follows_the_pattern():
    model = typical_cnn(conv_blocks=((8, 8), (16,)), dense_units=(32, 16), pool=(True, False))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dense", "Dense", "Dense"]
    assert model.output_shape == (None, 10)
    expected = (convmath.conv_params(3, 1, 8) + convmath.conv_params(3, 8, 8) + convmath.conv_params(3, 8, 16)
                + convmath.dense_params(14 * 14 * 16, 32) + convmath.dense_params(32, 16)
                + convmath.dense_params(16, 10))
    assert model.count_params() == expected


def _initial_weights(seed=None, global_seed=0, **kwargs):
    keras.utils.set_random_seed(global_seed)
    model = typical_cnn(conv_blocks=((4,), (8,)), dense_units=(16,), seed=seed, **kwargs)
    return [w.copy() for w in model.get_weights()]


def test_typical_cnn_initial_weights_follow_the_global_seed():
    """seed=None: keras.utils.set_random_seed(0) and (1) give different initial weights, the same seed the same."""
    first, again = _initial_weights(global_seed=0), _initial_weights(global_seed=0)
    other = _initial_weights(global_seed=1)
    kernels = [k for k, w in enumerate(first) if w.ndim > 1]  # the biases start at 0 whatever the seed
    assert len(kernels) == 4
    assert all(np.array_equal(first[k], again[k]) for k in kernels)
    assert not any(np.allclose(first[k], other[k]) for k in kernels)


def test_typical_cnn_int_seed_fixes_the_weights():
    """An int seed fixes the weights whatever the global seed (notebook 15 builds its CNN with seed=0)."""
    a, b = _initial_weights(seed=0, global_seed=0), _initial_weights(seed=0, global_seed=1)
    c = _initial_weights(seed=1, global_seed=0)
    kernels = [k for k, w in enumerate(a) if w.ndim > 1]
    assert all(np.array_equal(a[k], b[k]) for k in kernels)
    assert not any(np.allclose(a[k], c[k]) for k in kernels)
    keras.utils.set_random_seed(0)
    expected = keras.initializers.GlorotUniform(0)((3, 3, 1, 4)).numpy()  # layer k draws from seed + k
    assert np.array_equal(a[0], expected)
    with pytest.raises(ValueError, match="seed must be None"):
        typical_cnn(seed=0.5)


def test_default_typical_cnn_and_dense_counts():
    assert typical_cnn().count_params() == 117_434
    assert dense_net().count_params() == 266_610 == (convmath.dense_params(784, 300)
                                                           + convmath.dense_params(300, 100)
                                                           + convmath.dense_params(100, 10))


# ---------------------------------------------------------------------------
# C3's connection table and the partial convolution
# ---------------------------------------------------------------------------

def test_c3_connection_table():
    table = connection_matrix(C3_CONNECTIONS, 6)
    assert table.shape == (6, 16)
    sizes = table.sum(axis=0)
    assert set(sizes) == {3, 4, 6}
    assert list(sizes) == [3] * 6 + [4] * 9 + [6]
    assert table.sum() == 60
    assert list(table.sum(axis=1)) == [10] * 6  # each S2 map feeds 10 C3 maps

    def consecutive(maps):  # contiguous on the circle of 6 maps
        return any(set(maps) == {(start + k) % 6 for k in range(len(maps))} for start in range(6))

    assert all(consecutive(C3_CONNECTIONS[j]) for j in range(12))
    assert not any(consecutive(C3_CONNECTIONS[j]) for j in range(12, 15))
    assert len(set(C3_CONNECTIONS)) == 16


def _c3_model():
    inputs = keras.Input((14, 14, 6))
    c3 = PartialConv2D(16, 5, C3_CONNECTIONS, name="C3")
    outputs = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(1))(
        keras.layers.Flatten()(c3(inputs)))
    return keras.Model(inputs, outputs), c3


def test_partial_conv_equals_a_masked_full_convolution():
    model, c3 = _c3_model()
    x = np.random.default_rng(0).normal(size=(2, 14, 14, 6)).astype("float32")
    full = keras.ops.convert_to_numpy(c3.full_kernel())
    assert full.shape == (5, 5, 6, 16)
    mask = connection_matrix(C3_CONNECTIONS, 6)
    assert np.all(full[:, :, ~mask] == 0)
    assert np.all(full[:, :, mask] != 0)
    conv = keras.layers.Conv2D(16, 5, activation=lecun_tanh)
    conv.build((None, 14, 14, 6))
    conv.set_weights([full, c3.bias.numpy()])
    np.testing.assert_allclose(c3(x).numpy(), conv(x).numpy(), rtol=1e-5, atol=1e-5)
    assert c3.count_params() == 1_516


def test_mask_keeps_unconnected_weights_at_zero_after_training():
    model, c3 = _c3_model()
    mask = connection_matrix(C3_CONNECTIONS, 6)
    before = keras.ops.convert_to_numpy(c3.full_kernel()).copy()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    rng = np.random.default_rng(1)
    model.fit(rng.normal(size=(8, 14, 14, 6)), rng.normal(size=(8, 3)), epochs=1, batch_size=8, verbose=0)
    after = keras.ops.convert_to_numpy(c3.full_kernel())
    assert np.all(after[:, :, ~mask] == 0)
    assert not np.allclose(after[:, :, mask], before[:, :, mask])  # the connected weights did learn


def test_partial_conv_rejects_bad_tables():
    with pytest.raises(ValueError, match="input map 6"):
        connection_matrix([(0, 6)], 6)
    with pytest.raises(ValueError, match="no input map"):
        connection_matrix([(0,), ()], 6)
    with pytest.raises(ValueError, match="twice"):
        connection_matrix([(1, 1)], 6)
    with pytest.raises(ValueError, match="filters=4"):
        PartialConv2D(4, 5, C3_CONNECTIONS)
    layer = PartialConv2D(16, 5, C3_CONNECTIONS)
    with pytest.raises(ValueError, match=r"input has maps 0\.\.2"):  # a 3-map input cannot feed C3
        layer.build((None, 14, 14, 3))


# ---------------------------------------------------------------------------
# the other LeNet-5 layers, against NumPy
# ---------------------------------------------------------------------------

def test_lecun_tanh():
    x = np.array([-1.0, 0.0, 1.0, 10.0], dtype="float32")
    y = keras.ops.convert_to_numpy(lecun_tanh(x))
    np.testing.assert_allclose(y, 1.7159 * np.tanh(2 * x / 3), rtol=1e-6)
    np.testing.assert_allclose(y[[0, 2]], [-1.0, 1.0], atol=1e-4)


def test_trainable_subsampling_equals_numpy():
    layer = TrainableSubsampling(2)
    x = np.random.default_rng(2).normal(size=(2, 6, 4, 3)).astype("float32")
    layer.build(x.shape)
    coefficient, bias = np.array([0.5, -2.0, 1.5], "float32"), np.array([0.1, 0.0, -0.3], "float32")
    layer.set_weights([coefficient, bias])
    mean = x.reshape(2, 3, 2, 2, 2, 3).mean(axis=(2, 4))
    expected = 1.7159 * np.tanh(2 / 3 * (mean * coefficient + bias))
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert layer.count_params() == 6


def test_rbf_output_equals_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 84)).astype("float32")
    layer = RBFOutput(10)
    layer.build(x.shape)
    centres = layer.centres.numpy()
    expected = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5)
    assert layer.count_params() == 840
    labels = np.array([0, 3, 9, 1, 1])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rbf_loss(labels, expected)),
                               expected[np.arange(5), labels], rtol=1e-6)
    hits = keras.ops.convert_to_numpy(rbf_accuracy(expected.argmin(axis=1), expected))
    assert hits.tolist() == [1.0] * 5


def test_rbf_rejects_images():
    with pytest.raises(ValueError, match="Flatten"):
        RBFOutput(10).build((None, 5, 5, 16))


def test_model_saves_and_loads(tmp_path, faithful):
    path = tmp_path / "lenet5.keras"
    faithful.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(4).normal(size=(3, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), faithful.predict(x, verbose=0), rtol=1e-5)
    assert loaded.count_params() == 60_840


# ---------------------------------------------------------------------------
# preprocessing and shifting
# ---------------------------------------------------------------------------

def test_lecun_normalise_pads_and_scales():
    digits = np.zeros((2, 28, 28), dtype=np.uint8)
    digits[:, 10:18, 10:18] = 255
    x = lecun_normalise(digits)
    assert x.shape == (2, 32, 32, 1) and x.dtype == np.float32
    assert x[0, 0, 0, 0] == pytest.approx(-0.1)  # padding is background
    assert x[0, 14, 14, 0] == pytest.approx(1.175)
    with pytest.raises(ValueError, match="uint8"):
        lecun_normalise(digits.astype("float32"))


def test_shift_images():
    x = np.arange(2 * 5 * 5).reshape(2, 5, 5)
    right_down = digits.shift_images(x, dx=2, dy=1)
    assert right_down.shape == x.shape and right_down.dtype == x.dtype
    np.testing.assert_array_equal(right_down[:, 1:, 2:], x[:, :4, :3])
    assert np.all(right_down[:, 0, :] == 0) and np.all(right_down[:, :, :2] == 0)
    left_up = digits.shift_images(x[..., None], dx=-1, dy=-3)
    np.testing.assert_array_equal(left_up[:, :2, :4, 0], x[:, 3:, 1:])
    np.testing.assert_array_equal(digits.shift_images(x), x)
    with pytest.raises(ValueError, match="out of the frame"):
        digits.shift_images(x, dx=5)
    with pytest.raises(ValueError, match="integer"):
        digits.shift_images(x, dy=1.5)


def test_random_shifts_moves_each_image_within_the_limit():
    x = np.zeros((200, 9, 9), dtype=np.uint8)
    x[:, 4, 4] = 255  # one bright pixel in the centre
    moved = digits.random_shifts(x, max_shift=2, seed=0)
    positions = [np.argwhere(m)[0] for m in moved]
    assert all(2 <= r <= 6 and 2 <= c <= 6 for r, c in positions)
    assert len({tuple(p) for p in positions}) == 25  # all 5x5 offsets occur among 200 images
    np.testing.assert_array_equal(moved, digits.random_shifts(x, max_shift=2, seed=0))
    np.testing.assert_array_equal(digits.random_shifts(x, max_shift=0), x)
    with pytest.raises(ValueError, match="max_shift"):
        digits.random_shifts(x, max_shift=-1)


# ---------------------------------------------------------------------------
# bad arguments
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("builder", [nielsen_net, typical_cnn, dense_net,
                                     lenet5_faithful, lenet5_modern])
def test_builders_reject_wrong_rank(builder):
    with pytest.raises(ValueError, match="rank 3"):
        builder(input_shape=(28, 28))
    with pytest.raises(ValueError, match="rank 3"):
        builder(input_shape=(1, 28, 28, 1))
    with pytest.raises(ValueError, match="num_classes"):
        builder(num_classes=0)


def test_lenet_needs_32x32():
    with pytest.raises(ValueError, match="32x32"):
        lenet5_faithful(input_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="32x32"):
        lenet5_modern(input_shape=(64, 64, 1))
    with pytest.raises(ValueError, match="output"):
        lenet5_faithful(output="sigmoid")


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="too small"):
        nielsen_net(input_shape=(5, 5, 1))
    with pytest.raises(ValueError, match="positive integer"):
        nielsen_net(input_shape=(28, 0, 1))
    with pytest.raises(ValueError, match="filters"):
        nielsen_net(filters=0)
    with pytest.raises(ValueError, match="block 2 would pool a 1x1 map"):
        typical_cnn(input_shape=(4, 4, 1), conv_blocks=((4,), (4,), (4,)))
    with pytest.raises(ValueError, match="conv_blocks is empty"):
        typical_cnn(conv_blocks=())
    with pytest.raises(ValueError, match=r"conv_blocks\[1\]"):
        typical_cnn(conv_blocks=((8,), (0,)))
    with pytest.raises(ValueError, match="sequence of blocks"):
        typical_cnn(conv_blocks=16)
    with pytest.raises(ValueError, match="one bool per block"):
        typical_cnn(pool=(True,))
    with pytest.raises(ValueError, match="hidden"):
        dense_net(hidden=(300, -1))


def _one_digit_f6_gradient_norms(model, x, y, rbf):
    import tensorflow as tf
    norms = []
    for i in range(len(y)):
        with tf.GradientTape() as tape:
            out = model(x[i:i + 1], training=False)
            loss = rbf_loss(y[i:i + 1], out) if rbf else keras.losses.sparse_categorical_crossentropy(y[i:i + 1], out)
            loss = tf.reduce_sum(loss)
        norms.append(float(tf.norm(tape.gradient(loss, model.get_layer("F6").kernel))))
    return np.array(norms)


@pytest.mark.parametrize("output", ["rbf", "softmax"])
def test_gradient_report_pull_is_a_ratio_of_per_digit_gradient_sizes(output):
    """The pull: mean |dL_i/dW_F6| over the right digits / the same over the wrong ones, each digit on its own."""
    from lessons.lenet import gradient_report
    model = lenet5_faithful(output=output, seed=3)
    x = np.random.default_rng(0).uniform(-0.1, 1.175, size=(24, 32, 32, 1)).astype("float32")
    out = model(x).numpy()
    guess = out.argmin(axis=1) if output == "rbf" else out.argmax(axis=1)
    y = np.where(np.arange(24) < 9, guess, (guess + 1) % 10)  # 9 right, 15 wrong
    report = gradient_report(model, x, y)
    norms = _one_digit_f6_gradient_norms(model, x, y, output == "rbf")
    assert report["accuracy"] == pytest.approx(9 / 24)
    assert report["pull"] == pytest.approx(norms[:9].mean() / norms[9:].mean(), rel=1e-4)
    y_all_right = guess
    assert np.isnan(gradient_report(model, x, y_all_right)["pull"])  # no wrong digit: no ratio


def test_lenet_builders_seed_sets_the_initial_weights():
    """``seed`` reaches every initial kernel; keras.utils.set_random_seed does not change them."""
    for build in (lenet5_faithful, lenet5_modern):
        keras.utils.set_random_seed(0)
        a = build(seed=0).get_weights()
        keras.utils.set_random_seed(1)
        b, c = build(seed=0).get_weights(), build(seed=1).get_weights()
        kernels = [k for k, w in enumerate(a) if w.ndim > 1]  # the kernels (and the fixed RBF codes)
        assert len(kernels) >= 4
        assert all(np.array_equal(a[k], b[k]) for k in kernels)
        assert not any(np.allclose(a[k], c[k]) for k in kernels if a[k].shape != (10, 84))
