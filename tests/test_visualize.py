import keras
import numpy as np
import pytest

from utils import visualize

SIZE = 16


def blob(cx, cy, size=SIZE):
    yy, xx = np.mgrid[:size, :size]
    return np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 4.0)


def bright_detector(mask_right_half: bool):
    """Conv that responds to brightness; optionally only the left half reaches the classifier."""
    inputs = keras.Input((SIZE, SIZE, 1))
    conv = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv",
                               kernel_initializer="ones", bias_initializer="zeros")(inputs)
    x = conv
    if mask_right_half:
        mask = np.zeros((1, SIZE, SIZE, 1), np.float32)
        mask[:, :, : SIZE // 2] = 1.0
        x = keras.layers.Lambda(lambda t: t * mask, name="left_half")(conv)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="head",
                                 kernel_initializer=keras.initializers.Constant([[1.0, -1.0], [1.0, -1.0]]))(pooled)
    return keras.Model(inputs, outputs, name="bright_detector")


def test_grad_cam_puts_heat_where_the_left_half_only_model_looks():
    model = bright_detector(mask_right_half=True)
    image = (blob(4, 8) + blob(12, 8))[..., None]  # the same blob on both sides
    heat, cls = visualize.grad_cam(model, image, "left_half", class_index=0)
    assert heat.shape == (SIZE, SIZE) and cls == 0
    left, right = heat[:, : SIZE // 2].sum(), heat[:, SIZE // 2:].sum()
    assert left > 0 and right == 0
    assert np.unravel_index(heat.argmax(), heat.shape)[1] < SIZE // 2


@pytest.mark.parametrize("cx", [3, 12])
def test_grad_cam_follows_the_evidence(cx):
    model = bright_detector(mask_right_half=False)
    heat, _ = visualize.grad_cam(model, blob(cx, 8)[..., None], "conv", class_index=0)
    row, col = np.unravel_index(heat.argmax(), heat.shape)
    assert abs(col - cx) <= 1 and abs(row - 8) <= 1
    assert heat.max() == pytest.approx(1.0)


def test_bad_layer_names_and_images_name_the_valid_choices():
    model = bright_detector(mask_right_half=True)
    image = blob(4, 8)[..., None]
    with pytest.raises(ValueError, match=r"no layer named 'conv9'.*\['conv', 'left_half'\]"):
        visualize.grad_cam(model, image, "conv9")
    with pytest.raises(ValueError, match=r"'head' \(Dense.*not a convolutional feature map.*\['conv', 'left_half'\]"):
        visualize.grad_cam(model, image, "head")
    with pytest.raises(ValueError, match=r"does not fit model .*\(batch, 16, 16, 1\)"):
        visualize.grad_cam(model, np.zeros((20, 20, 1)), "conv")
    with pytest.raises(ValueError, match="out of range for 2 classes"):
        visualize.grad_cam(model, image, "conv", class_index=5)


def test_feature_maps_returns_every_spatial_layer_in_order():
    model = bright_detector(mask_right_half=True)
    maps = visualize.feature_maps(model, blob(4, 8)[..., None])
    assert list(maps) == ["conv", "left_half"]
    assert maps["conv"].shape == (1, SIZE, SIZE, 2)
    assert np.all(maps["left_half"][0, :, SIZE // 2:] == 0)
    assert visualize.conv_layer_names(model) == ["conv"]


def test_gradient_ascent_increases_the_filter_activation():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="c2")(x))
    start = 0.5 + 0.05 * np.random.default_rng(0).standard_normal((1, SIZE, SIZE, 1))
    probe = keras.Model(model.inputs, model.get_layer("c2").output)
    before = float(np.mean(probe(start.astype("float32"))[..., 1]))
    image = visualize.maximize_activation(model, "c2", 1, steps=10, step_size=1.0, start=start)
    after = float(np.mean(probe(image[None])[..., 1]))
    assert image.shape == (SIZE, SIZE, 1) and after > before
    with pytest.raises(ValueError, match="has 4 filters"):
        visualize.maximize_activation(model, "c2", 4)


def test_overlay_and_kernel_display_helpers():
    out = visualize.overlay(np.full((8, 8, 3), 255, np.uint8), np.eye(4))
    assert out.shape == (8, 8, 3) and 0 <= out.min() and out.max() <= 1
    images = visualize.kernels_as_images(np.random.rand(5, 5, 3, 6))
    assert len(images) == 6 and images[0].shape == (5, 5, 3) and images[0].max() == 1
    with pytest.raises(ValueError, match="RGB image"):
        visualize.overlay(np.zeros((8, 8)), np.eye(4))
    with pytest.raises(ValueError, match="first-layer kernel"):
        visualize.kernels_as_images(np.zeros((3, 3, 8, 4)))


def test_grad_cam_reaches_inside_a_nested_base_like_a_transfer_model():
    base = bright_detector(mask_right_half=False)
    base = keras.Model(base.inputs[0], base.get_layer("conv").output, name="base")
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.RandomFlip("horizontal", name="augmentation")(inputs)  # identity at inference
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions",
                                 kernel_initializer=keras.initializers.Constant([[1.0, -1.0], [1.0, -1.0]]))(x)
    model = keras.Model(inputs, outputs, name="transfer")
    heat, cls = visualize.grad_cam(model, blob(12, 4)[..., None], "conv", class_index=0)
    row, col = np.unravel_index(heat.argmax(), heat.shape)
    assert (abs(row - 4) <= 1 and abs(col - 12) <= 1) and cls == 0
    assert "conv" in visualize.grad_cam_layer_names(model)
    with pytest.raises(ValueError, match=r"no layer named 'mixed99'.*'conv'\]"):
        visualize.grad_cam(model, blob(12, 4)[..., None], "mixed99")
    with pytest.raises(ValueError, match="not a convolutional feature map"):
        visualize.grad_cam(model, blob(12, 4)[..., None], "predictions")


def test_grad_cam_explains_the_score_before_the_softmax():
    """A confident softmax has almost no gradient; the logit's gradient still shows the evidence."""
    inputs = keras.Input((SIZE, SIZE, 1))
    conv = keras.layers.Conv2D(1, 3, padding="same", activation="relu", name="conv",
                               kernel_initializer="ones", bias_initializer="zeros")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(conv)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions",
                                 kernel_initializer=keras.initializers.Constant([[500.0, -500.0]]))(pooled)
    model = keras.Model(inputs, outputs)
    image = blob(5, 9)[..., None]
    assert float(model(image[None])[0, 0]) > 0.999999  # saturated
    heat, cls = visualize.grad_cam(model, image, "conv")
    row, col = np.unravel_index(heat.argmax(), heat.shape)
    assert cls == 0 and heat.max() == pytest.approx(1.0) and abs(col - 5) <= 1 and abs(row - 9) <= 1
