"""Tests for utils.architectures: parameter counts against the papers / torchvision / Keras, shapes, errors."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import architectures as arch
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
    model = arch.alexnet()
    assert model.count_params() == alexnet_formula(6, 1) == 62_378_344
    assert model.get_layer("conv1").output.shape[1:] == (55, 55, 96)
    assert model.get_layer("pool5").output.shape[1:] == (6, 6, 256)
    assert model.output_shape == (None, 1000)


def test_alexnet_two_gpu_grouping_is_the_papers_60_million():
    model = arch.alexnet(groups=2)
    assert model.count_params() == alexnet_formula(6, 2) == 60_965_224
    assert model.get_layer("conv2").kernel.shape == (5, 5, 48, 256)


def test_alexnet_224_input_gives_a_5x5_map_and_fewer_params():
    assert arch.alexnet_feature_size(227) == 6
    assert arch.alexnet_feature_size(224) == 5
    assert arch.alexnet(input_shape=(224, 224, 3)).count_params() == alexnet_formula(5, 1) == 50_844_008


def test_alexnet_scaled_down_runs_on_small_images():
    model = arch.alexnet((67, 67, 1), classes=10, scale=0.125, lrn=True)
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
        arch.alexnet(**kwargs)


def test_alexnet_feature_size_minimum_is_67():
    assert arch.alexnet_feature_size(67) == 1
    assert arch.alexnet_feature_size(66) == 0


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
    ours = arch.LocalResponseNormalization()(a).numpy()
    np.testing.assert_allclose(ours, lrn_paper(a), rtol=1e-5)
    # dividing alpha by n (Caffe / PyTorch's convention) is a different normalisation
    assert not np.allclose(ours, lrn_paper(a, alpha=1e-4 / 5), rtol=1e-3)


def test_lrn_layer_rejects_bad_arguments_and_has_no_weights():
    with pytest.raises(ValueError, match="depth_radius=-1"):
        arch.LocalResponseNormalization(depth_radius=-1)
    with pytest.raises(ValueError, match="beta=-0.5"):
        arch.LocalResponseNormalization(beta=-0.5)
    layer = arch.LocalResponseNormalization()
    layer(np.ones((1, 2, 2, 3), np.float32))
    assert layer.count_params() == 0
    assert arch.LocalResponseNormalization.from_config(layer.get_config()).alpha == 1e-4


# ---------------------------------------------------------------------------
# Inception module and GoogLeNet
# ---------------------------------------------------------------------------

MODULE_3A = arch.GOOGLENET_MODULES["3a"]  # (64, 96, 128, 16, 32, 32) on 28x28x192


def module_model(fn, *args):
    inputs = keras.Input((28, 28, 192))
    return keras.Model(inputs, fn(inputs, *args))


def naive_module(x, f1, f3, f5):
    branches = [keras.layers.Conv2D(f, k, padding="same", activation="relu")(x) for f, k in ((f1, 1), (f3, 3), (f5, 5))]
    branches.append(keras.layers.MaxPooling2D(3, strides=1, padding="same")(x))
    return keras.layers.Concatenate()(branches)


def test_inception_module_shape_and_params_match_the_cost_formula():
    model = module_model(arch.inception_module, *MODULE_3A)
    cost = arch.inception_cost(192, 28, 28, *MODULE_3A)
    assert model.output_shape == (None, 28, 28, 256) and cost["out_channels"] == 256
    assert model.count_params() == cost["params"] == 163_696
    # the paper's Table 1 lists 159K for 3a: its weights (no biases) in units of 1,024
    assert arch.inception_cost(192, 28, 28, *MODULE_3A, use_bias=False)["params"] == 163_328 == int(159.5 * 1024)


def test_naive_module_cost_matches_keras_and_the_bottlenecks_save():
    f1, _, f3, _, f5, _ = MODULE_3A
    naive = arch.inception_cost(192, 28, 28, f1, None, f3, None, f5, None)
    assert module_model(naive_module, f1, f3, f5).count_params() == naive["params"] == 387_296
    assert naive["out_channels"] == 64 + 128 + 32 + 192
    bottleneck = arch.inception_cost(192, 28, 28, *MODULE_3A)
    # the classic example: 5x5 conv, 192 -> 32 maps on 28x28 (biases aside)
    assert naive["branches"]["5x5"][1] == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert bottleneck["branches"]["5x5"][1] == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648
    assert bottleneck["mult_adds"] < naive["mult_adds"] / 2
    with pytest.raises(ValueError, match="all of f3r, f5r, pool_proj"):
        arch.inception_cost(192, 28, 28, 64, 96, 128, None, 32, 32)


def test_inception_module_rejects_bad_arguments():
    inputs = keras.Input((28, 28, 192))
    with pytest.raises(ValueError, match="f5r=0"):
        arch.inception_module(inputs, 64, 96, 128, 0, 32, 32)
    with pytest.raises(ValueError, match="4-D feature-map"):
        arch.inception_module(keras.Input((192,)), *MODULE_3A)


def test_googlenet_count_is_the_sum_of_its_parts_and_about_9x_below_alexnet():
    model = arch.googlenet()
    stem = conv_params(7, 3, 64) + conv_params(1, 64, 64) + conv_params(3, 64, 192)
    sizes = {"3": 28, "4": 14, "5": 7}
    channels, modules = 192, 0
    for key, config in arch.GOOGLENET_MODULES.items():
        cost = arch.inception_cost(channels, sizes[key[0]], sizes[key[0]], *config)
        modules += cost["params"]
        channels = cost["out_channels"]
    assert channels == 1024
    assert model.count_params() == stem + modules + dense_params(1024, 1000) == 6_998_552
    assert model.get_layer("inception_4e_concat").output.shape[1:] == (14, 14, 832)
    assert 8 < arch.alexnet().count_params() / model.count_params() < 10


def test_googlenet_aux_heads_attach_to_4a_and_4d_with_the_papers_layers():
    model = arch.googlenet(aux=True)
    main_only = arch.googlenet()
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000)] * 3
    assert model.get_layer("aux_4a_avg_pool").input.shape[1:] == (14, 14, 512)
    assert model.get_layer("aux_4d_avg_pool").input.shape[1:] == (14, 14, 528)
    assert model.get_layer("aux_4a_avg_pool").output.shape[1:] == (4, 4, 512)
    assert model.get_layer("aux_4a_dropout").rate == arch.AUX_DROPOUT == 0.7
    from utils.convmath import conv_params, dense_params

    heads = sum(conv_params(1, c, 128) + dense_params(4 * 4 * 128, 1024) + dense_params(1024, 1000) for c in (512, 528))
    assert model.count_params() == main_only.count_params() + heads == 13_378_280
    with pytest.raises(ValueError, match="at least 65x65"):
        arch.googlenet((64, 64, 3), aux=True)


def test_alexnet_tanh_option_swaps_every_relu():
    model = arch.alexnet((67, 67, 1), classes=10, scale=0.125, activation="tanh")
    activations = {layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")
                   and layer.name != "fc8"}
    assert activations == {"tanh"}
    assert model.count_params() == arch.alexnet((67, 67, 1), classes=10, scale=0.125).count_params()
    with pytest.raises(ValueError, match="activation='sigmoid'"):
        arch.alexnet(activation="sigmoid")
    he = arch.alexnet((67, 67, 1), classes=10, scale=0.125, kernel_initializer="he_normal")
    assert type(he.get_layer("fc6").kernel_initializer).__name__ == "HeNormal"


def test_googlenet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rank 2"):
        arch.googlenet(input_shape=(224, 224))
    with pytest.raises(ValueError, match="classes=-1"):
        arch.googlenet(classes=-1)


# ---------------------------------------------------------------------------
# ResNet
# ---------------------------------------------------------------------------


def test_resnet34_trainable_count_is_torchvisions():
    model = arch.resnet34()
    total, trainable, moving = arch.param_counts(model)
    assert trainable == 21_797_672  # torchvision.models.resnet34(): sum of p.numel() for p in parameters()
    bn_channels = sum(layer.gamma.shape[0] for layer in model.layers
                      if isinstance(layer, keras.layers.BatchNormalization))
    assert moving == 2 * bn_channels == 17_024  # moving mean + variance: buffers in PyTorch
    assert total == model.count_params() == 21_814_696
    assert arch.resnet_depth("basic", (3, 4, 6, 3)) == 34


@pytest.fixture(scope="module")
def keras_resnet152_count():
    return keras.applications.ResNet152(weights=None).count_params()


def test_resnet152_matches_torchvision_and_keras_applications(keras_resnet152_count):
    total, trainable, moving = arch.param_counts(arch.resnet152())
    assert trainable == 60_192_808  # torchvision.models.resnet152()
    bn_channels = moving // 2
    assert bn_channels == 75_712
    # Keras's ResNet152: a bias on every convolution (one per BN channel) + the moving statistics
    assert keras_resnet152_count == 60_419_944 == trainable + bn_channels + moving
    assert arch.resnet152(use_bias=True).count_params() == keras_resnet152_count
    assert arch.resnet_depth("bottleneck", (3, 8, 36, 3)) == 152


def test_bottleneck_unit_squeezes_and_restores_depth():
    inputs = keras.Input((56, 56, 256))
    out = arch.bottleneck_unit(inputs, 64, name="b")
    model = keras.Model(inputs, out)
    assert model.output_shape == (None, 56, 56, 256)
    assert model.get_layer("b_1_conv").kernel.shape == (1, 1, 256, 64)
    assert model.get_layer("b_3_conv").kernel.shape == (1, 1, 64, 256)
    assert "b_proj_conv" not in [layer.name for layer in model.layers]  # identity shortcut


def test_residual_unit_adds_the_input_and_projects_when_shapes_change():
    inputs = keras.Input((8, 8, 4))
    same = keras.Model(inputs, arch.residual_unit(inputs, 4, name="u"))
    down = keras.Model(inputs, arch.residual_unit(inputs, 8, strides=2, name="d"))
    assert down.output_shape == (None, 4, 4, 8) and down.get_layer("d_proj_conv").kernel.shape == (1, 1, 4, 8)
    # zero the residual branch's last BN scale: the unit becomes relu(x)
    bn = same.get_layer("u_2_bn")
    bn.gamma.assign(np.zeros(4, np.float32))
    bn.beta.assign(np.zeros(4, np.float32))
    x = np.random.default_rng(2).normal(size=(1, 8, 8, 4)).astype(np.float32)
    np.testing.assert_allclose(same(x, training=False).numpy(), np.maximum(x, 0), atol=1e-6)


def test_small_resnet_and_plain_net_have_the_same_depth():
    res = arch.small_resnet(units_per_stage=2, filters=(4, 8, 16))
    plain = arch.small_resnet(units_per_stage=2, filters=(4, 8, 16), skips=False)
    def main_convs(model):
        return [layer.name for layer in model.layers
                if isinstance(layer, keras.layers.Conv2D) and "_proj" not in layer.name]
    assert main_convs(res) == main_convs(plain) and len(main_convs(res)) == 13 == 6 * 2 + 1
    assert res.name == "resnet14" and plain.name == "plain14"
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    assert sum(isinstance(layer, keras.layers.Add) for layer in res.layers) == 6
    x = np.zeros((3, 28, 28, 1), np.float32)
    assert res(x).shape == plain(x).shape == (3, 10)


@pytest.mark.parametrize("kwargs, match", [
    ({"block": "wide"}, "block='wide'"),
    ({"stages": ()}, r"stages=\(\)"),
    ({"stages": (3, 0, 6, 3)}, r"stages=\(3, 0, 6, 3\)"),
    ({"stages": (3, 4)}, r"2 stages \(3, 4\) need 2 widths"),
    ({"filters": (64, 128, -256, 512)}, "filters=.*-256"),
    ({"input_shape": (224, 224)}, "rank 2"),
    ({"stem": "cifar"}, "stem='cifar'"),
])
def test_resnet_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        arch.resnet(**kwargs)


def test_units_and_small_resnet_reject_bad_arguments():
    with pytest.raises(ValueError, match="units_per_stage=0"):
        arch.small_resnet(units_per_stage=0)
    with pytest.raises(ValueError, match=r"filters=\(\)"):
        arch.small_resnet(filters=())
    with pytest.raises(ValueError, match="filters=0"):
        arch.residual_unit(keras.Input((8, 8, 4)), 0)
    with pytest.raises(ValueError, match="4-D feature-map"):
        arch.bottleneck_unit(tf.zeros((8, 4)), 16)
    with pytest.raises(ValueError, match="block='basic2'"):
        arch.resnet_depth("basic2", (2, 2))


def test_zero_init_residual_makes_every_unit_the_relu_of_its_shortcut():
    x = np.random.default_rng(6).normal(size=(2, 8, 8, 4)).astype(np.float32)
    inputs = keras.Input((8, 8, 4))
    same = keras.Model(inputs, arch.residual_unit(inputs, 4, zero_init_residual=True, name="u"))
    np.testing.assert_allclose(same(x, training=False).numpy(), np.maximum(x, 0), atol=1e-6)
    padded = keras.Model(inputs, arch.residual_unit(inputs, 8, 2, shortcut="A", zero_init_residual=True, name="a"))
    expected = np.maximum(np.pad(x[:, ::2, ::2], [(0, 0), (0, 0), (0, 0), (0, 4)]), 0)
    np.testing.assert_allclose(padded(x, training=False).numpy(), expected, atol=1e-6)
    projected = keras.Model(inputs, arch.residual_unit(inputs, 8, 2, zero_init_residual=True, name="p"))
    shortcut = keras.Model(inputs, projected.get_layer("p_proj_bn").output)
    np.testing.assert_allclose(projected(x, training=False).numpy(), np.maximum(shortcut(x, training=False), 0),
                               atol=1e-6)
    wide = keras.Input((8, 8, 16))
    bottleneck = keras.Model(wide, arch.bottleneck_unit(wide, 4, zero_init_residual=True, name="b"))
    x16 = np.random.default_rng(7).normal(size=(2, 8, 8, 16)).astype(np.float32)
    np.testing.assert_allclose(bottleneck(x16, training=False).numpy(), np.maximum(x16, 0), atol=1e-6)
    assert not np.allclose(keras.Model(inputs, arch.residual_unit(inputs, 4, name="v"))(x, training=False),
                           np.maximum(x, 0), atol=1e-3)  # without it, F(x) is not 0 at the start
    # the whole net: only each branch's last BN starts at 0
    net = arch.small_resnet(units_per_stage=1, filters=(4, 8), zero_init_residual=True)
    gammas = {layer.name: float(np.abs(layer.gamma.numpy()).max()) for layer in net.layers
              if isinstance(layer, keras.layers.BatchNormalization)}
    assert {name for name, g in gammas.items() if g == 0} == {"stage1_unit1_2_bn", "stage2_unit1_2_bn"}


def test_shortcut_options_a_b_c_of_the_papers_table_3():
    counts = {option: arch.param_counts(arch.small_resnet(units_per_stage=2, filters=(4, 8, 16),
                                                          shortcut=option))[1] for option in arch.SHORTCUTS}
    plain = arch.param_counts(arch.small_resnet(units_per_stage=2, filters=(4, 8, 16), skips=False))[1]
    assert counts["A"] == plain  # identity + zero maps: no parameters
    proj = [(4, 8), (8, 16)]  # B: a 1x1 conv + BN (scale, shift) where a stage starts
    assert counts["B"] == plain + sum(cin * cout + 2 * cout for cin, cout in proj)
    every = [(4, 4)] * 2 + [(4, 8), (8, 8), (8, 16), (16, 16)]  # C: on all six units
    assert counts["C"] == plain + sum(cin * cout + 2 * cout for cin, cout in every)
    x = np.random.default_rng(8).normal(size=(1, 7, 7, 3)).astype(np.float32)  # odd size: SAME stride 2 -> 4
    pad = arch.ZeroPadShortcut(5, 2)
    out = pad(x).numpy()
    assert out.shape == (1, 4, 4, 5) == pad.compute_output_shape((1, 7, 7, 3))
    np.testing.assert_array_equal(out[..., :3], x[:, ::2, ::2]) and np.testing.assert_array_equal(out[..., 3:], 0)
    with pytest.raises(ValueError, match="shortcut='D'"):
        arch.residual_unit(keras.Input((8, 8, 4)), 4, shortcut="D")
    with pytest.raises(ValueError, match="from 16 to 8 maps"):
        arch.residual_unit(keras.Input((8, 8, 16)), 8, shortcut="A", name="shrink")


def test_bottleneck_stride_placement_moves_multiply_adds_not_parameters():
    inputs = keras.Input((56, 56, 256))
    units = {on: keras.Model(inputs, arch.bottleneck_unit(inputs, 128, 2, stride_on=on, name="b"))
             for on in arch.STRIDE_ON}
    assert units["3x3"].output_shape == units["1x1"].output_shape == (None, 28, 28, 512)
    assert arch.param_counts(units["3x3"]) == arch.param_counts(units["1x1"])
    # only the first 1x1 (256 -> 128) changes: on 56x56 positions (v1.5) or 28x28 (the paper)
    assert arch.mult_adds(units["3x3"]) - arch.mult_adds(units["1x1"]) == (56 * 56 - 28 * 28) * 256 * 128
    assert units["1x1"].get_layer("b_1_conv").strides == (2, 2) and units["3x3"].get_layer("b_2_conv").strides == (2, 2)
    with pytest.raises(ValueError, match="stride_on='2x2'"):
        arch.bottleneck_unit(inputs, 64, stride_on="2x2")
    with pytest.raises(ValueError, match="bottleneck units only"):
        arch.resnet(stride_on="1x1")


def test_mult_adds_reproduce_the_papers_flops():
    # He et al. 2015, Table 1 ("FLOPs" = multiply-adds): 3.6e9 for ResNet-34, 11.3e9 for ResNet-152
    assert round(arch.mult_adds(arch.resnet34()) / 1e9, 1) == 3.7  # 3.66e9, with projections (option B)
    assert round(arch.mult_adds(arch.resnet34(shortcut="A")) / 1e9, 1) == 3.6
    assert round(arch.mult_adds(arch.resnet152(stride_on="1x1")) / 1e9, 1) == 11.3  # the paper's layout
    assert round(arch.mult_adds(arch.resnet152()) / 1e9, 1) == 11.5  # torchvision's v1.5
    inputs = keras.Input((4, 4, 2))
    small = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Conv2D(5, 3)(inputs))))
    assert arch.mult_adds(small) == 2 * 2 * 3 * 3 * 2 * 5 + 2 * 2 * 5 * 3


def test_step_loss_history_records_a_metric_too():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(40, 3)).astype(np.float32), rng.integers(0, 2, 40)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = arch.StepLossHistory(batch_size=16, n_samples=40, key="accuracy")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[history])
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    expected = [float(np.mean(predicted[i:i + 16] == y[i:i + 16])) for i in range(0, 40, 16)]
    np.testing.assert_allclose(history.losses, expected, atol=1e-6)
    with pytest.raises(ValueError, match="'top5'"):
        model.fit(x, y, batch_size=16, verbose=0, callbacks=[arch.StepLossHistory(16, 40, key="top5")])


# ---------------------------------------------------------------------------
# AlexNet's lighting augmentation
# ---------------------------------------------------------------------------


def test_rgb_pca_recovers_a_known_covariance():
    rng = np.random.default_rng(3)
    mixing = np.array([[1.0, 0.5, 0.2], [0.0, 0.3, 0.1], [0.0, 0.0, 0.05]])
    pixels = rng.normal(size=(20_000, 3)) @ mixing
    values, vectors = arch.rgb_pca(pixels.reshape(100, 200, 3))
    assert values[0] > values[1] > values[2] > 0
    np.testing.assert_allclose(vectors @ np.diag(values) @ vectors.T, np.cov(pixels, rowvar=False), atol=1e-10)
    with pytest.raises(ValueError, match=r"3 channels.*\(4, 4\)"):
        arch.rgb_pca(np.zeros((4, 4)))


def test_pca_lighting_adds_one_shift_per_image_only_in_training():
    values, vectors = np.array([0.2, 0.02, 0.004]), np.eye(3)[:, [2, 0, 1]]
    layer = arch.PCALighting(values, vectors, std=0.1, seed=0)
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
        values, vectors = arch.rgb_pca(pixels)
        layer = arch.PCALighting(values, vectors, std=0.1, seed=7)
        batch = np.repeat(pixels[None], 16, axis=0)
        shifts[top] = (layer(batch, training=True).numpy() - batch)[:, 0, 0, :] / top  # one shift per image
    np.testing.assert_allclose(shifts[1.0], shifts[255.0], rtol=1e-3, atol=1e-6)
    relative = np.abs(shifts[1.0]).max()
    assert 0.001 < relative < 0.2  # a few percent of the range, not several times the range


def test_pca_lighting_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3, 3\)"):
        arch.PCALighting([1.0, 2.0], np.eye(3))
    with pytest.raises(ValueError, match="non-negative"):
        arch.PCALighting([1.0, -1.0, 1.0], np.eye(3))
    with pytest.raises(ValueError, match="std=-0.1"):
        arch.PCALighting([1.0, 1.0, 1.0], np.eye(3), std=-0.1)


# ---------------------------------------------------------------------------
# StepLossHistory
# ---------------------------------------------------------------------------


def test_step_loss_history_recovers_each_batch_loss():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(50, 3)).astype(np.float32), rng.integers(0, 2, 50)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")  # no updates: losses are fixed
    history = arch.StepLossHistory(batch_size=16, n_samples=50)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[history])
    expected = [float(model.evaluate(x[i:i + 16], y[i:i + 16], verbose=0)) for i in range(0, 50, 16)]
    assert len(history.losses) == 8  # 4 batches (16, 16, 16, 2) x 2 epochs
    np.testing.assert_allclose(history.losses, expected * 2, rtol=1e-4)
    with pytest.raises(ValueError, match="batch_size=0"):
        arch.StepLossHistory(batch_size=0, n_samples=50)
