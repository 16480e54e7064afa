"""Tests for lessons.alexnet and lessons.googlenet (notebooks 07, 08): counts against the papers, shapes, errors."""
import keras
import numpy as np
import pytest

from lessons import alexnet as ax
from lessons import googlenet as gn
from utils.convmath import conv_params, dense_params

# ---------------------------------------------------------------------------
# AlexNet
# ---------------------------------------------------------------------------


def alexnet_formula(feature_side: int, groups: int) -> int:
    """AlexNet's count from the layer table, layer by layer (groups: conv2/4/5 see 1/groups of their input)."""
    convs = (conv_params(11, 3, 96) + conv_params(5, 96 // groups, 256) + conv_params(3, 256, 384)
             + conv_params(3, 384 // groups, 384) + conv_params(3, 384 // groups, 256))
    dense = dense_params(feature_side ** 2 * 256, 4096) + dense_params(4096, 4096) + dense_params(4096, 1000)
    return convs + dense


def test_alexnet_single_tower_count_and_shapes():
    model = ax.alexnet()
    assert model.count_params() == alexnet_formula(6, 1) == 62_378_344
    assert model.get_layer("conv1").output.shape[1:] == (55, 55, 96)
    assert model.get_layer("pool5").output.shape[1:] == (6, 6, 256)
    assert model.output_shape == (None, 1000)


def test_alexnet_two_gpu_grouping_is_the_papers_60_million():
    model = ax.alexnet(groups=2)
    assert model.count_params() == alexnet_formula(6, 2) == 60_965_224
    assert model.get_layer("conv2").kernel.shape == (5, 5, 48, 256)


def test_alexnet_224_input_gives_a_5x5_map_and_fewer_params():
    assert ax.alexnet_feature_size(227) == 6
    assert ax.alexnet_feature_size(224) == 5
    assert ax.alexnet(input_shape=(224, 224, 3)).count_params() == alexnet_formula(5, 1) == 50_844_008


def test_alexnet_scaled_down_runs_on_small_images():
    model = ax.alexnet((67, 67, 1), classes=10, scale=0.125, lrn=True)
    assert model.get_layer("conv1").filters == 12
    assert model.get_layer("fc6").units == 512
    probs = model(np.random.default_rng(0).random((2, 67, 67, 1), dtype=np.float32), training=False).numpy()
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"input_shape": (227, 227)}, r"rank 3.*\(227, 227\)"),
    ({"input_shape": (1, 227, 227, 3)}, "rank 4"),
    ({"input_shape": (66, 66, 1)}, r"66x66 is too small.*67x67"),
    ({"input_shape": (227, 0, 3)}, "width must be a positive integer"),
    ({"scale": 0}, "scale=0"),
    ({"groups": 3}, "groups=3"),
    ({"classes": 0}, "classes=0"),
    ({"dropout": 1.0}, "dropout=1.0"),
])
def test_alexnet_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ax.alexnet(**kwargs)


def test_alexnet_feature_size_minimum_is_67():
    assert ax.alexnet_feature_size(67) == 1
    assert ax.alexnet_feature_size(66) == 0


# ---------------------------------------------------------------------------
# Local response normalisation
# ---------------------------------------------------------------------------


def lrn_paper(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """The paper's equation: b_i = a_i / (k + alpha * sum_{j=i-n//2}^{i+n//2} a_j^2)^beta."""
    channels = a.shape[-1]
    out = np.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels, i + n // 2 + 1)
        out[..., i] = a[..., i] / (k + alpha * np.sum(a[..., lo:hi] ** 2, axis=-1)) ** beta
    return out


def test_lrn_layer_matches_the_papers_equation():
    a = np.random.default_rng(1).normal(0, 30, (2, 4, 4, 9)).astype(np.float32)
    ours = ax.LocalResponseNormalization()(a).numpy()
    np.testing.assert_allclose(ours, lrn_paper(a), rtol=1e-5)
    # dividing alpha by n (Caffe / PyTorch's convention) is a different normalisation
    assert not np.allclose(ours, lrn_paper(a, alpha=1e-4 / 5), rtol=1e-3)


def test_lrn_layer_rejects_bad_arguments_and_has_no_weights():
    with pytest.raises(ValueError, match="depth_radius=-1"):
        ax.LocalResponseNormalization(depth_radius=-1)
    with pytest.raises(ValueError, match="beta=-0.5"):
        ax.LocalResponseNormalization(beta=-0.5)
    layer = ax.LocalResponseNormalization()
    layer(np.ones((1, 2, 2, 3), np.float32))
    assert layer.count_params() == 0
    assert ax.LocalResponseNormalization.from_config(layer.get_config()).alpha == 1e-4


# ---------------------------------------------------------------------------
# Inception module and GoogLeNet
# ---------------------------------------------------------------------------

MODULE_3A = gn.GOOGLENET_MODULES["3a"]  # (64, 96, 128, 16, 32, 32) on 28x28x192


def module_model(fn, *args):
    inputs = keras.Input((28, 28, 192))
    return keras.Model(inputs, fn(inputs, *args))


def naive_module(x, f1, f3, f5):
    branches = [keras.layers.Conv2D(f, k, padding="same", activation="relu")(x) for f, k in ((f1, 1), (f3, 3), (f5, 5))]
    branches.append(keras.layers.MaxPooling2D(3, strides=1, padding="same")(x))
    return keras.layers.Concatenate()(branches)


def test_inception_module_shape_and_params_match_the_cost_formula():
    model = module_model(gn.inception_module, *MODULE_3A)
    cost = gn.inception_cost(192, 28, 28, *MODULE_3A)
    assert model.output_shape == (None, 28, 28, 256) and cost["out_channels"] == 256
    assert model.count_params() == cost["params"] == 163_696
    # the paper's Table 1 lists 159K for 3a: its weights (no biases) in units of 1,024
    assert gn.inception_cost(192, 28, 28, *MODULE_3A, use_bias=False)["params"] == 163_328 == int(159.5 * 1024)


def test_naive_module_cost_matches_keras_and_the_bottlenecks_save():
    f1, _, f3, _, f5, _ = MODULE_3A
    naive = gn.inception_cost(192, 28, 28, f1, None, f3, None, f5, None)
    assert module_model(naive_module, f1, f3, f5).count_params() == naive["params"] == 387_296
    assert naive["out_channels"] == 64 + 128 + 32 + 192
    bottleneck = gn.inception_cost(192, 28, 28, *MODULE_3A)
    # the classic example: 5x5 conv, 192 -> 32 maps on 28x28 (biases aside)
    assert naive["branches"]["5x5"][1] == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert bottleneck["branches"]["5x5"][1] == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648
    assert bottleneck["mult_adds"] < naive["mult_adds"] / 2
    with pytest.raises(ValueError, match="all of f3r, f5r, pool_proj"):
        gn.inception_cost(192, 28, 28, 64, 96, 128, None, 32, 32)


def test_inception_module_rejects_bad_arguments():
    inputs = keras.Input((28, 28, 192))
    with pytest.raises(ValueError, match="f5r=0"):
        gn.inception_module(inputs, 64, 96, 128, 0, 32, 32)
    with pytest.raises(ValueError, match="4-D feature-map"):
        gn.inception_module(keras.Input((192,)), *MODULE_3A)


def test_googlenet_count_is_the_sum_of_its_parts_and_about_9x_below_alexnet():
    model = gn.googlenet()
    stem = conv_params(7, 3, 64) + conv_params(1, 64, 64) + conv_params(3, 64, 192)
    sizes = {"3": 28, "4": 14, "5": 7}
    channels, modules = 192, 0
    for key, config in gn.GOOGLENET_MODULES.items():
        cost = gn.inception_cost(channels, sizes[key[0]], sizes[key[0]], *config)
        modules += cost["params"]
        channels = cost["out_channels"]
    assert channels == 1024
    assert model.count_params() == stem + modules + dense_params(1024, 1000) == 6_998_552
    assert model.get_layer("inception_4e_concat").output.shape[1:] == (14, 14, 832)
    assert 8 < ax.alexnet().count_params() / model.count_params() < 10


def test_googlenet_aux_heads_attach_to_4a_and_4d_with_the_papers_layers():
    model = gn.googlenet(aux=True)
    main_only = gn.googlenet()
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000)] * 3
    assert model.get_layer("aux_4a_avg_pool").input.shape[1:] == (14, 14, 512)
    assert model.get_layer("aux_4d_avg_pool").input.shape[1:] == (14, 14, 528)
    assert model.get_layer("aux_4a_avg_pool").output.shape[1:] == (4, 4, 512)
    assert model.get_layer("aux_4a_dropout").rate == gn.AUX_DROPOUT == 0.7
    from utils.convmath import conv_params, dense_params

    heads = sum(conv_params(1, c, 128) + dense_params(4 * 4 * 128, 1024) + dense_params(1024, 1000) for c in (512, 528))
    assert model.count_params() == main_only.count_params() + heads == 13_378_280
    with pytest.raises(ValueError, match="at least 65x65"):
        gn.googlenet((64, 64, 3), aux=True)


def test_alexnet_tanh_option_swaps_every_relu():
    model = ax.alexnet((67, 67, 1), classes=10, scale=0.125, activation="tanh")
    activations = {layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")
                   and layer.name != "fc8"}
    assert activations == {"tanh"}
    assert model.count_params() == ax.alexnet((67, 67, 1), classes=10, scale=0.125).count_params()
    with pytest.raises(ValueError, match="activation='sigmoid'"):
        ax.alexnet(activation="sigmoid")
    he = ax.alexnet((67, 67, 1), classes=10, scale=0.125, kernel_initializer="he_normal")
    assert type(he.get_layer("fc6").kernel_initializer).__name__ == "HeNormal"


def test_four_layer_cnn_counts_shapes_and_activations():
    model = ax.four_layer_cnn(classes=5)
    expected = conv_params(5, 3, 32) + conv_params(5, 32, 32) + conv_params(5, 32, 64) + dense_params(4 * 4 * 64, 5)
    assert model.count_params() == expected == 84_453
    assert model.get_layer("pool3").output.shape[1:] == (4, 4, 64)
    assert len([layer for layer in model.layers if layer.weights]) == 4  # four layers with weights
    tanh = ax.four_layer_cnn(classes=5, activation="tanh")
    assert {tanh.get_layer(f"conv{k}").activation.__name__ for k in (1, 2, 3)} == {"tanh"}
    assert not any(isinstance(layer, (keras.layers.Dropout, ax.LocalResponseNormalization)) for layer in model.layers)


def test_four_layer_cnn_standardises_with_the_given_statistics():
    mean, variance = np.array([100.0, 110.0, 120.0]), np.array([400.0, 900.0, 1600.0])
    model = ax.four_layer_cnn((8, 8, 3), 3, mean=mean, variance=variance)
    pixels = np.full((1, 8, 8, 3), [120.0, 140.0, 160.0], dtype=np.float32)
    np.testing.assert_allclose(model.get_layer("standardise")(pixels).numpy()[0, 0, 0], [1.0, 1.0, 1.0], rtol=1e-5)
    assert model.count_params() == ax.four_layer_cnn((8, 8, 3), 3).count_params()  # statistics are not weights
    with pytest.raises(ValueError, match="both mean and variance"):
        ax.four_layer_cnn(mean=mean)
    with pytest.raises(ValueError, match="activation='sigmoid'"):
        ax.four_layer_cnn(activation="sigmoid")


def test_four_layer_cnn_seed_reaches_the_initial_weights():
    """Unseeded initialisers: keras.utils.set_random_seed sets them (a fixed seed= would ignore it)."""
    def first_kernel(seed):
        keras.utils.set_random_seed(seed)
        return ax.four_layer_cnn(classes=5).get_layer("conv1").kernel.numpy()

    np.testing.assert_array_equal(first_kernel(0), first_kernel(0))
    assert not np.allclose(first_kernel(0), first_kernel(1))


def test_googlenet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rank 2"):
        gn.googlenet(input_shape=(224, 224))
    with pytest.raises(ValueError, match="classes=-1"):
        gn.googlenet(classes=-1)


# ---------------------------------------------------------------------------
# AlexNet's lighting augmentation
# ---------------------------------------------------------------------------


def test_rgb_pca_recovers_a_known_covariance():
    rng = np.random.default_rng(3)
    mixing = np.array([[1.0, 0.5, 0.2], [0.0, 0.3, 0.1], [0.0, 0.0, 0.05]])
    pixels = rng.normal(size=(20_000, 3)) @ mixing
    values, vectors = ax.rgb_pca(pixels.reshape(100, 200, 3))
    assert values[0] > values[1] > values[2] > 0
    np.testing.assert_allclose(vectors @ np.diag(values) @ vectors.T, np.cov(pixels, rowvar=False), atol=1e-10)
    with pytest.raises(ValueError, match=r"3 channels.*\(4, 4\)"):
        ax.rgb_pca(np.zeros((4, 4)))


def test_pca_lighting_adds_one_shift_per_image_only_in_training():
    values, vectors = np.array([0.2, 0.02, 0.004]), np.eye(3)[:, [2, 0, 1]]
    layer = ax.PCALighting(values, vectors, std=0.1, seed=0)
    images = np.random.default_rng(4).random((64, 5, 6, 3)).astype(np.float32)
    np.testing.assert_array_equal(layer(images, training=False), images)
    shifted = layer(images, training=True).numpy()
    delta = shifted - images
    np.testing.assert_allclose(delta, delta[:, :1, :1, :] * np.ones_like(delta), atol=1e-6)  # same for every pixel
    alphas = (delta[:, 0, 0, :] @ vectors) / np.sqrt(values)  # back to the random draws, one per image
    assert 0.05 < alphas.std() < 0.15 and np.abs(alphas.mean()) < 0.03
    single = layer(images[0], training=True).numpy()
    assert single.shape == (5, 6, 3) and not np.allclose(single, images[0])


def test_pca_lighting_shift_is_the_same_fraction_of_the_range_in_0_1_and_0_255():
    """The same photo in 0-1 and in 0-255, with its own PCA and the same draws, moves by the same fraction."""
    from utils.data import load_sample_image

    photo = load_sample_image("china.jpg")[0][::4, ::4].astype(np.float64)
    shifts = {}
    for top in (1.0, 255.0):
        pixels = (photo / 255.0 * top).astype(np.float32)
        values, vectors = ax.rgb_pca(pixels)
        layer = ax.PCALighting(values, vectors, std=0.1, seed=7)
        batch = np.repeat(pixels[None], 16, axis=0)
        shifts[top] = (layer(batch, training=True).numpy() - batch)[:, 0, 0, :] / top  # one shift per image
    np.testing.assert_allclose(shifts[1.0], shifts[255.0], rtol=1e-3, atol=1e-6)
    relative = np.abs(shifts[1.0]).max()
    assert 0.001 < relative < 0.2  # a few percent of the range, not several times the range


def test_pca_lighting_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3, 3\)"):
        ax.PCALighting([1.0, 2.0], np.eye(3))
    with pytest.raises(ValueError, match="non-negative"):
        ax.PCALighting([1.0, -1.0, 1.0], np.eye(3))
    with pytest.raises(ValueError, match="std=-0.1"):
        ax.PCALighting([1.0, 1.0, 1.0], np.eye(3), std=-0.1)
