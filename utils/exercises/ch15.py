"""Exercises for notebook 15 (what the network sees): definitions, references, planted mistakes."""
from __future__ import annotations

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, Mistake, ValueExercise, call


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
]


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
        if np.allclose(got, expected):
            continue
        for wrong, message in _WRONG:
            if np.allclose(got, wrong(activations, gradients)):
                raise Mistake(message)
        if expected.max() > 0 and np.allclose(got, expected / expected.max()):
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
        "a": "The brightest, most contrasted parts of the image.",
        "b": "Where the object of the class really is in the image.",
        "c": "Where the chosen layer's maps, weighted by how much the class score grows with each, support "
             "that class, at the layer's coarse resolution.",
        "d": "The individual pixels that would flip the decision if changed.",
    },
    correct="c",
    feedback={
        "a": "Bright regions only matter if the maps that respond to them raise the class score; a heat map "
             "can sit on a dark stroke.",
        "b": "It shows the evidence the *model* used, right or wrong: on a mistake the heat is often on the "
             "background. That is what makes it useful.",
        "d": "That is a pixel-level sensitivity (a saliency map or an adversarial perturbation); Grad-CAM works "
             "on a layer's grid, e.g. 7 × 7 cells, and is upsampled only for display.",
    },
    note="It explains a class score through one layer's maps: what the model used, never whether it was right.",
    hint="Which two ingredients go into the map, and at what resolution are they?",
    solution="**c**. Each map is weighted by the mean gradient of the class score with respect to it; the "
             "weighted sum, through a ReLU, is a coarse map of the evidence for the class at that layer.",
)
