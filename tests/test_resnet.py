"""Tests for lessons.resnet (notebook 09): parameter counts against torchvision / Keras, multiply-adds, units."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from lessons import resnet
from utils.modelstats import mult_adds, param_counts


def test_resnet34_trainable_count_is_torchvisions():
    model = resnet.resnet34()
    total, trainable, moving = param_counts(model)
    assert trainable == 21_797_672  # torchvision.models.resnet34(): sum of p.numel() for p in parameters()
    bn_channels = sum(layer.gamma.shape[0] for layer in model.layers
                      if isinstance(layer, keras.layers.BatchNormalization))
    assert moving == 2 * bn_channels == 17_024  # moving mean + variance: buffers in PyTorch
    assert total == model.count_params() == 21_814_696
    assert resnet.resnet_depth("basic", (3, 4, 6, 3)) == 34


@pytest.fixture(scope="module")
def keras_resnet152_count():
    return keras.applications.ResNet152(weights=None).count_params()


def test_resnet152_matches_torchvision_and_keras_applications(keras_resnet152_count):
    total, trainable, moving = param_counts(resnet.resnet152())
    assert trainable == 60_192_808  # torchvision.models.resnet152()
    bn_channels = moving // 2
    assert bn_channels == 75_712
    # Keras's ResNet152: a bias on every convolution (one per BN channel) + the moving statistics
    assert keras_resnet152_count == 60_419_944 == trainable + bn_channels + moving
    assert resnet.resnet152(use_bias=True).count_params() == keras_resnet152_count
    assert resnet.resnet_depth("bottleneck", (3, 8, 36, 3)) == 152


def test_bottleneck_unit_squeezes_and_restores_depth():
    inputs = keras.Input((56, 56, 256))
    out = resnet.bottleneck_unit(inputs, 64, name="b")
    model = keras.Model(inputs, out)
    assert model.output_shape == (None, 56, 56, 256)
    assert model.get_layer("b_1_conv").kernel.shape == (1, 1, 256, 64)
    assert model.get_layer("b_3_conv").kernel.shape == (1, 1, 64, 256)
    assert "b_proj_conv" not in [layer.name for layer in model.layers]  # identity shortcut


def test_residual_unit_adds_the_input_and_projects_when_shapes_change():
    inputs = keras.Input((8, 8, 4))
    same = keras.Model(inputs, resnet.residual_unit(inputs, 4, name="u"))
    down = keras.Model(inputs, resnet.residual_unit(inputs, 8, strides=2, name="d"))
    assert down.output_shape == (None, 4, 4, 8) and down.get_layer("d_proj_conv").kernel.shape == (1, 1, 4, 8)
    # zero the residual branch's last BN scale: the unit becomes relu(x)
    bn = same.get_layer("u_2_bn")
    bn.gamma.assign(np.zeros(4, np.float32))
    bn.beta.assign(np.zeros(4, np.float32))
    x = np.random.default_rng(2).normal(size=(1, 8, 8, 4)).astype(np.float32)
    np.testing.assert_allclose(same(x, training=False).numpy(), np.maximum(x, 0), atol=1e-6)


def test_small_resnet_and_plain_net_have_the_same_depth():
    res = resnet.small_resnet(units_per_stage=2, filters=(4, 8, 16))
    plain = resnet.small_resnet(units_per_stage=2, filters=(4, 8, 16), skips=False)
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
        resnet.resnet(**kwargs)


def test_units_and_small_resnet_reject_bad_arguments():
    with pytest.raises(ValueError, match="units_per_stage=0"):
        resnet.small_resnet(units_per_stage=0)
    with pytest.raises(ValueError, match=r"filters=\(\)"):
        resnet.small_resnet(filters=())
    with pytest.raises(ValueError, match="filters=0"):
        resnet.residual_unit(keras.Input((8, 8, 4)), 0)
    with pytest.raises(ValueError, match="4-D feature-map"):
        resnet.bottleneck_unit(tf.zeros((8, 4)), 16)
    with pytest.raises(ValueError, match="block='basic2'"):
        resnet.resnet_depth("basic2", (2, 2))


def test_zero_init_residual_makes_every_unit_the_relu_of_its_shortcut():
    x = np.random.default_rng(6).normal(size=(2, 8, 8, 4)).astype(np.float32)
    inputs = keras.Input((8, 8, 4))
    same = keras.Model(inputs, resnet.residual_unit(inputs, 4, zero_init_residual=True, name="u"))
    np.testing.assert_allclose(same(x, training=False).numpy(), np.maximum(x, 0), atol=1e-6)
    padded = keras.Model(inputs, resnet.residual_unit(inputs, 8, 2, shortcut="A", zero_init_residual=True, name="a"))
    expected = np.maximum(np.pad(x[:, ::2, ::2], [(0, 0), (0, 0), (0, 0), (0, 4)]), 0)
    np.testing.assert_allclose(padded(x, training=False).numpy(), expected, atol=1e-6)
    projected = keras.Model(inputs, resnet.residual_unit(inputs, 8, 2, zero_init_residual=True, name="p"))
    shortcut = keras.Model(inputs, projected.get_layer("p_proj_bn").output)
    np.testing.assert_allclose(projected(x, training=False).numpy(), np.maximum(shortcut(x, training=False), 0),
                               atol=1e-6)
    wide = keras.Input((8, 8, 16))
    bottleneck = keras.Model(wide, resnet.bottleneck_unit(wide, 4, zero_init_residual=True, name="b"))
    x16 = np.random.default_rng(7).normal(size=(2, 8, 8, 16)).astype(np.float32)
    np.testing.assert_allclose(bottleneck(x16, training=False).numpy(), np.maximum(x16, 0), atol=1e-6)
    assert not np.allclose(keras.Model(inputs, resnet.residual_unit(inputs, 4, name="v"))(x, training=False),
                           np.maximum(x, 0), atol=1e-3)  # without it, F(x) is not 0 at the start
    # the whole net: only each branch's last BN starts at 0
    net = resnet.small_resnet(units_per_stage=1, filters=(4, 8), zero_init_residual=True)
    gammas = {layer.name: float(np.abs(layer.gamma.numpy()).max()) for layer in net.layers
              if isinstance(layer, keras.layers.BatchNormalization)}
    assert {name for name, g in gammas.items() if g == 0} == {"stage1_unit1_2_bn", "stage2_unit1_2_bn"}


def test_shortcut_options_a_b_c_of_the_papers_table_3():
    counts = {option: param_counts(resnet.small_resnet(units_per_stage=2, filters=(4, 8, 16),
                                                          shortcut=option))[1] for option in resnet.SHORTCUTS}
    plain = param_counts(resnet.small_resnet(units_per_stage=2, filters=(4, 8, 16), skips=False))[1]
    assert counts["A"] == plain  # identity + zero maps: no parameters
    proj = [(4, 8), (8, 16)]  # B: a 1x1 conv + BN (scale, shift) where a stage starts
    assert counts["B"] == plain + sum(cin * cout + 2 * cout for cin, cout in proj)
    every = [(4, 4)] * 2 + [(4, 8), (8, 8), (8, 16), (16, 16)]  # C: on all six units
    assert counts["C"] == plain + sum(cin * cout + 2 * cout for cin, cout in every)
    x = np.random.default_rng(8).normal(size=(1, 7, 7, 3)).astype(np.float32)  # odd size: SAME stride 2 -> 4
    pad = resnet.ZeroPadShortcut(5, 2)
    out = pad(x).numpy()
    assert out.shape == (1, 4, 4, 5) == pad.compute_output_shape((1, 7, 7, 3))
    np.testing.assert_array_equal(out[..., :3], x[:, ::2, ::2]) and np.testing.assert_array_equal(out[..., 3:], 0)
    with pytest.raises(ValueError, match="shortcut='D'"):
        resnet.residual_unit(keras.Input((8, 8, 4)), 4, shortcut="D")
    with pytest.raises(ValueError, match="from 16 to 8 maps"):
        resnet.residual_unit(keras.Input((8, 8, 16)), 8, shortcut="A", name="shrink")


def test_bottleneck_stride_placement_moves_multiply_adds_not_parameters():
    inputs = keras.Input((56, 56, 256))
    units = {on: keras.Model(inputs, resnet.bottleneck_unit(inputs, 128, 2, stride_on=on, name="b"))
             for on in resnet.STRIDE_ON}
    assert units["3x3"].output_shape == units["1x1"].output_shape == (None, 28, 28, 512)
    assert param_counts(units["3x3"]) == param_counts(units["1x1"])
    # only the first 1x1 (256 -> 128) changes: on 56x56 positions (v1.5) or 28x28 (the paper)
    assert mult_adds(units["3x3"]) - mult_adds(units["1x1"]) == (56 * 56 - 28 * 28) * 256 * 128
    assert units["1x1"].get_layer("b_1_conv").strides == (2, 2) and units["3x3"].get_layer("b_2_conv").strides == (2, 2)
    with pytest.raises(ValueError, match="stride_on='2x2'"):
        resnet.bottleneck_unit(inputs, 64, stride_on="2x2")
    with pytest.raises(ValueError, match="bottleneck units only"):
        resnet.resnet(stride_on="1x1")


def test_mult_adds_reproduce_the_papers_flops():
    # He et al. 2015, Table 1 ("FLOPs" = multiply-adds): 3.6e9 for ResNet-34, 11.3e9 for ResNet-152
    assert round(mult_adds(resnet.resnet34()) / 1e9, 1) == 3.7  # 3.66e9, with projections (option B)
    assert round(mult_adds(resnet.resnet34(shortcut="A")) / 1e9, 1) == 3.6
    assert round(mult_adds(resnet.resnet152(stride_on="1x1")) / 1e9, 1) == 11.3  # the paper's layout
    assert round(mult_adds(resnet.resnet152()) / 1e9, 1) == 11.5  # torchvision's v1.5
    inputs = keras.Input((4, 4, 2))
    small = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Conv2D(5, 3)(inputs))))
    assert mult_adds(small) == 2 * 2 * 3 * 3 * 2 * 5 + 2 * 2 * 5 * 3


def test_zero_pad_shortcut_keeps_its_registered_name_and_a_model_saves_and_loads(tmp_path):
    # saved models name the layer by its registered name; moving the class must not change it
    assert keras.saving.get_registered_name(resnet.ZeroPadShortcut) == "cnn_course>ZeroPadShortcut"
    model = resnet.small_resnet((8, 8, 1), 3, units_per_stage=1, filters=(2, 4), shortcut="A")
    path = tmp_path / "resnet_a.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(10).normal(size=(2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_the_seed_reaches_the_initial_weights_and_zero_gamma_changes_only_the_branch_gammas():
    # notebook 09's multi-seed runs seed with keras.utils.set_random_seed: the builders' initialisers must not
    # carry a fixed seed of their own, or every "seed" would start from the same weights
    def start(seed, **kwargs):
        keras.utils.set_random_seed(seed)
        return resnet.small_resnet(units_per_stage=1, filters=(4, 8, 8), **kwargs).get_weights()

    def same(a, b):
        return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))

    seed0 = start(0, shortcut="A")
    assert same(seed0, start(0, shortcut="A")) and not same(seed0, start(1, shortcut="A"))
    assert same(seed0, start(0, skips=False))  # option A: the plain twin starts from the same weights
    zero = start(0, shortcut="A", zero_init_residual=True)
    differ = [k for k, (u, v) in enumerate(zip(seed0, zero)) if not np.array_equal(u, v)]
    assert len(differ) == 3 and all(not np.any(zero[k]) and np.all(seed0[k] == 1) for k in differ)
