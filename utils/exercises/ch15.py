"""Exercises for notebook 15 (what the network sees): definitions, references, planted mistakes."""
from __future__ import annotations

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, Lazy, Mistake, ValueExercise, call
from utils.investigation import Investigation


# q1: Grad-CAM's weighting, written by the learner on given arrays.
def grad_cam_weighting(activations, gradients):
    """Grad-CAM map (h, w) from one image's maps A (h, w, k) and the gradients dy_c/dA (h, w, k)."""
    weights = gradients.mean(axis=(0, 1))  # one weight per map: its gradient averaged over the grid
    return np.maximum((activations * weights).sum(axis=-1), 0)  # weighted sum of the maps, then ReLU


def _no_relu(activations, gradients):
    return (activations * gradients.mean(axis=(0, 1))).sum(axis=-1)


def _summed(activations, gradients):
    return np.maximum((activations * gradients.sum(axis=(0, 1))).sum(axis=-1), 0)


def _wrong_axis(activations, gradients):
    return np.maximum((activations * gradients.mean(axis=-1, keepdims=True)).sum(axis=-1), 0)


def _no_weights(activations, gradients):
    return np.maximum(activations.sum(axis=-1), 0)


def _relu_on_weights(activations, gradients):
    return (activations * np.maximum(gradients.mean(axis=(0, 1)), 0)).sum(axis=-1)


def _arrays(seed, h=6, w=5, k=4):
    rng = np.random.default_rng(seed)
    activations = np.maximum(rng.normal(size=(h, w, k)), 0)  # after a ReLU, as a conv block's maps are
    gradients = rng.normal(size=(h, w, k)) + np.array([0.8, -0.6, 0.3, -0.9])[:k]  # some maps help, some hurt
    return activations, gradients


_WRONG = [
    (_no_relu, "Your map has negative values: Grad-CAM keeps only the evidence *for* the class, so pass the "
               "weighted sum through a ReLU (np.maximum(..., 0))."),
    (_summed, "Your map is h × w times too large: you summed the gradients over the grid. Grad-CAM's weight "
              "is their *mean* (global average pooling of the gradients)."),
    (_wrong_axis, "You averaged the gradients over the channels (axis -1): the weight of map k is the mean of "
                  "its gradient over the *grid*, axis=(0, 1), giving one weight per map."),
    (_no_weights, "Your map ignores the gradients: each map must be weighted by how much the class score "
                  "grows with it, not summed as it is."),
    (_relu_on_weights, "Your map leaves out the maps whose weight is negative: you passed the weights through a "
                       "ReLU. Grad-CAM keeps every weight, negative ones too (they pull the sum down where those "
                       "maps respond), and applies its ReLU once, to the weighted sum."),
]


def _same(got, expected):
    """Equal up to float32 round-off (TensorFlow or Keras ops compute in float32), relative to the map's scale."""
    scale = max(float(np.abs(expected).max()), 1e-12)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-4, atol=1e-5 * scale))


def _check_weighting(fn):
    for seed in (0, 1, 2):
        activations, gradients = _arrays(seed)
        got = call(fn, activations.copy(), gradients.copy())
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise Mistake(f"Return a NumPy array of shape {activations.shape[:2]}, got {type(got).__name__}") from None
        expected = grad_cam_weighting(activations, gradients)
        if got.shape != expected.shape:
            raise Mistake(f"Your map has shape {got.shape}; Grad-CAM gives one value per grid cell, "
                          f"{expected.shape} here (sum over the maps, axis -1).")
        if _same(got, expected):
            continue
        for wrong, message in _WRONG:
            if _same(got, np.asarray(wrong(activations, gradients), dtype=float)):
                raise Mistake(message)
        if expected.max() > 0 and _same(got, expected / expected.max()):
            raise Mistake("Your map is normalised to [0, 1]: right shape, but return it before that step "
                          "(the display normalises it later).")
        raise Mistake(f"For the test arrays (seed {seed}) your map differs from Grad-CAM's by up to "
                      f"{np.abs(got - expected).max():.3g}.")


q1 = CustomExercise(
    "grad_cam_weighting(activations, gradients): Grad-CAM's gradient weighting, in NumPy",
    _check_weighting,
    planted=[(fn, message.split(":")[0]) for fn, message in _WRONG],
    reference_answer=grad_cam_weighting,
    note="One weight per map (the mean of its gradient over the grid), a weighted sum, a ReLU.",
    hint="weights = the gradients averaged over height and width (one per map); multiply each map by its "
         "weight, sum over the maps, keep the positive part.",
    solution=grad_cam_weighting,
)


# q2: the feature-map shape at a layer of the digit CNN.
_SIDE = 28
_AFTER = [convmath.conv_output_size(convmath.conv_output_size(_SIDE, 3, 1, "same"), 2, 2, "valid")]
_AFTER.append(convmath.conv_output_size(convmath.conv_output_size(_AFTER[0], 3, 1, "same"), 2, 2, "valid"))
_SHAPE = (_AFTER[1], _AFTER[1], 32)

q2 = ValueExercise(
    "Shape of the second block's output (after its pool) in the digit CNN, without the batch axis",
    _SHAPE,
    mistakes={
        (_AFTER[0], _AFTER[0], 32): "That is after one pool: each of the two blocks ends in a 2×2 max pool, "
                                    "so the side halves twice.",
        (_AFTER[1], _AFTER[1], 16): "The side is right, but the second block has 32 filters: the maps have "
                                    "one channel per filter of the last convolution.",
        (5, 5, 32): "'same' padding keeps the side through each 3×3 convolution; only the pools halve it.",
        (_AFTER[1], _AFTER[1], 1): "The input's single grey channel is gone after the first convolution: "
                                   "count the filters.",
    },
    note=f"28 → conv (same) 28 → pool 14 → conv (same) 14 → pool {_AFTER[1]}, with 32 filters.",
    hint="A 3×3 'same' convolution keeps the side; a 2×2 pool with stride 2 halves it; the channels are "
         "the last convolution's filters.",
    solution=f"`{_SHAPE}`: 28 → 14 → 7 through the two pools, 32 filters. The notebook prints "
             "`digit_cnn.get_layer(...).output.shape` for every layer.",
)


# q3: what a Grad-CAM heat map shows.
q3 = ChoiceExercise(
    "What does a Grad-CAM heat map show?",
    choices={
        "a": "The brightest, most contrasted parts of the image, which the first layers respond to most strongly.",
        "b": "Where the layer's maps, weighted by the class score's gradient, support the class, on the layer's "
             "coarse grid.",
        "c": "Where the object of the class really is in the image, so it shows whether the prediction is right.",
        "d": "The individual pixels that would flip the decision if they were changed, shown at the full image "
             "resolution.",
    },
    correct="b",
    feedback={
        "a": "Bright regions only matter if the maps that respond to them raise the class score; a heat map "
             "can sit on a dark stroke.",
        "c": "It shows the evidence the *model* used, right or wrong: on a mistake the heat is often on the "
             "background. That is what makes it useful.",
        "d": "That is a pixel-level sensitivity (a saliency map or an adversarial perturbation); Grad-CAM works "
             "on a layer's grid (14 × 14 cells at conv2_1 in this chapter's digit network) and is upsampled only "
             "for display.",
    },
    note="It explains a class score through one layer's maps: what the model used, never whether it was right.",
    hint="Which two ingredients go into the map, and at what resolution are they?",
    solution="**b**. Each map is weighted by the mean gradient of the class score with respect to it; the "
             "weighted sum, through a ReLU, is a coarse map of the evidence for the class at that layer.",
)


# q4 (investigation): Grad-CAM on another layer of the digit network.
def _ink_density(model, images, layer_name) -> float:
    """The chapter's measure: mean share of the heat (resized to the image) on ink, over the mean share of ink."""
    import tensorflow as tf

    from utils import visualize

    on_ink, ink = [], []
    for image in images:
        heat, _ = visualize.grad_cam(model, image, layer_name)
        full = tf.image.resize(np.asarray(heat, "float32")[..., None], image.shape[:2]).numpy()[..., 0]
        mask = image[..., 0] > 0.5
        on_ink.append(full[mask].sum() / max(full.sum(), 1e-12))
        ink.append(mask.mean())
    return float(np.mean(on_ink) / np.mean(ink))


def _check_other_layer(answer):
    from utils import visualize
    from utils.investigation import keras_model

    model = keras_model(answer, "model")
    images = np.asarray(answer["images"], dtype="float32")
    if images.ndim != 4 or len(images) < 4:
        raise Mistake("'images' should be the digits explained above (an array of shape (n, 28, 28, 1), n ≥ 4).")
    layer, valid = answer["layer"], visualize.grad_cam_layer_names(model)
    if not isinstance(layer, str) or layer not in [ly.name for ly in model.layers]:
        raise Mistake(f"'layer' should be the name of a layer of the model (a string), one of {valid}; "
                      f"got {layer!r}.")
    if layer not in valid:
        raise Mistake(f"{layer!r} has no spatial grid (its output is {tuple(model.get_layer(layer).output.shape)}): "
                      f"Grad-CAM needs feature maps. Choose one of {valid}.")
    densities = answer["densities"]
    if isinstance(densities, dict) and list(densities) == [layer]:
        raise Mistake(f"'densities' has one layer, {layer!r}: choose a layer other than CAM_LAYER, and measure "
                      f"both, to compare two layers.")
    if not isinstance(densities, dict) or len(densities) != 2 or layer not in densities:
        raise Mistake(f"'densities' should be a dict of two numbers, {{CAM_LAYER: ..., {layer!r}: ...}}: the "
                      f"chapter's layer and yours, measured the same way.")
    found = {}
    for name, value in densities.items():
        if name not in valid:
            raise Mistake(f"{name!r} in 'densities' is not a layer Grad-CAM can explain: use {valid}.")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise Mistake(f"densities[{name!r}] should be a number, not {type(value).__name__}.")
        again = _ink_density(model, images, name)
        if not np.isclose(value, again, rtol=0.05, atol=0.02):
            raise Mistake(f"densities[{name!r}] = {value:.3f}, but the same measure re-computed here gives "
                          f"{again:.3f}: "
                          f"take the heat map at that layer, resize it to 28×28 (tf.image.resize), and divide the "
                          f"mean share of heat on ink (pixels > 0.5) by the mean share of ink, as the chapter does.")
        found[name] = again
    grid = {name: tuple(model.get_layer(name).output.shape[1:3]) for name in found}
    return (f"Re-measured on your {len(images)} digits, heat on ink against a uniform map: "
            + "; ".join(f"{name} ({grid[name][0]}×{grid[name][1]} grid) {value:.2f} times"
                        for name, value in found.items()) + ".")


def _cam_answer(layer="c1", wrong=None):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, padding="same", activation="relu",
                                                                              name="c1"),
                              keras.layers.MaxPooling2D(name="p1"),
                              keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2"),
                              keras.layers.GlobalAveragePooling2D(name="gap"),
                              keras.layers.Dense(10, activation="softmax", name="out")])
    rng = np.random.default_rng(0)
    images = (rng.random((4, 28, 28, 1)) > 0.7).astype("float32")  # sparse "ink"
    densities = {name: _ink_density(model, images, name) for name in ("c2", layer)}
    if wrong == "no resize":
        densities[layer] *= 1.5
    return dict(layer=layer, densities=densities, model=model, images=images,
                explanation="The first layer's grid is finer, so its heat follows the strokes more closely.")


q4 = Investigation(
    "Investigation: Grad-CAM on another layer of the digit network",
    _check_other_layer,
    keys=("layer", "densities", "model", "images"),
    given=("model", "images"),
    planted=[(Lazy(lambda: _cam_answer(wrong="no resize")), "re-computed here gives"),
             (Lazy(lambda: {**_cam_answer(), "layer": "gap", "densities": {"c2": 1.0, "gap": 1.0}}),
              "has no spatial grid"),
             (Lazy(lambda: {**_cam_answer(), "layer": "conv9"}), "should be the name of a layer")],
    reference_answer=Lazy(_cam_answer),
    discussion=(
        "Grad-CAM's map has the resolution of the layer it reads: conv1_1's grid is the 28×28 image itself, "
        "conv2_1's is 14×14, each of its cells covering 2×2 pixels with a receptive field of 8×8. A finer grid "
        "does not put the heat on the strokes, though. In the course's run (the chapter's network, 5 epochs on "
        "the full MNIST) the chapter's cell found the heat on the ink 2.1 times as densely as a uniform map at "
        "conv2_1, for its 8 digits; expect conv1_1 to score lower, its heat spread along the edges of the "
        "strokes and onto the background beside them, rather than higher for its finer grid. A first layer's "
        "maps are edge detectors: they fire along the borders of the strokes, half of them on the background, "
        "and the gradients averaged over the whole map weigh them "
        "with little regard for the class, which is decided much later. A deeper layer's maps respond to parts "
        "of digits, and their gradients say which parts count for this class: coarser, but about the decision. "
        "That trade-off is why Selvaraju et al. (2017) use the last convolutional layer, and why layer-by-layer "
        "comparisons of a heat map say as much about the layer as about the image."),
    hint="visualize.grad_cam(digit_cnn, image, layer_name) gives the heat map at any layer with maps; resize it "
         "to 28×28 and measure as the chapter's cell does. visualize.grad_cam_layer_names(digit_cnn) lists the "
         "layers you can choose.",
    solution="Choose `OTHER_LAYER = \"conv1_1\"` (or `pool1`, `pool2`); `ink_density(name)` loops over the explained "
             "digits, takes `visualize.grad_cam(digit_cnn, image, name)`, resizes it to 28×28 with "
             "`tf.image.resize`, and returns the mean share of heat on the ink (pixels > 0.5) divided by the mean "
             "share of ink. Compare the two numbers and the two grids.",
    todo="set OTHER_LAYER, write ink_density and your explanation, then run the cell (a few seconds).",
)
