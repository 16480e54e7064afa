"""Exercises for notebook 13 (a pretrained Inception v3): definitions, references, planted mistakes."""
from __future__ import annotations

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, Mistake, ValueExercise, call

# q1: prepare a photo for Inception v3: resize to 299x299, scale 0..255 to -1..1, add the batch axis.
_H, _W, _GREY = 40, 60, 51  # a small photo: cheap to resize


def _photos():
    flat = np.full((_H, _W, 3), _GREY, dtype=np.uint8)  # resizing keeps a constant image constant
    halves = np.zeros((_H, _W, 3), dtype=np.uint8)
    halves[:, _W // 2:] = 255
    return flat, halves


def _check_prepare(fn):
    flat, halves = _photos()
    out = call(fn, flat)
    try:
        out = np.asarray(out, dtype="float64")
    except (TypeError, ValueError):
        raise Mistake(f"Return an array (NumPy or a tensor), not {type(out).__name__}.") from None
    if out.shape == (299, 299, 3):
        raise Mistake("The shape is (299, 299, 3): the network takes a *batch*. Add the batch axis "
                      "(image[None] or np.expand_dims(image, 0)) to get (1, 299, 299, 3).")
    if out.ndim == 4 and out.shape[1:3] == (_H, _W):
        raise Mistake(f"The output is still {_H}x{_W}: you forgot to resize to 299x299 "
                      f"(tf.image.resize(image, (299, 299)), or utils.pretrained.resize_image).")
    if out.shape != (1, 299, 299, 3):
        raise Mistake(f"The shape should be (1, 299, 299, 3), got {out.shape}.")
    value = float(np.median(out))
    expected = _GREY / 127.5 - 1
    if abs(value - _GREY / 255) < 1e-3:
        raise Mistake(f"A grey pixel of {_GREY} became {value:.3f}: that is 0-1 scaling (x / 255). Inception v3 "
                      f"was trained on -1..1: use x / 127.5 - 1, or preprocess_input.")
    if abs(value - _GREY / 127.5) < 1e-3:
        raise Mistake(f"A grey pixel of {_GREY} became {value:.3f}: x / 127.5 alone gives 0..2; subtract 1.")
    if abs(value - _GREY) < 1e-3:
        raise Mistake("The pixel values are still 0-255: scale them to -1..1 (x / 127.5 - 1, or preprocess_input).")
    if abs(value - expected) > 1e-3:
        raise Mistake(f"A grey pixel of {_GREY} should become {_GREY} / 127.5 - 1 = {expected:.3f}; got {value:.3f}.")
    two = np.asarray(call(fn, halves), dtype="float64")
    if two.min() < -1 - 1e-3 or two.max() > 1 + 1e-3 or two.min() > -0.99 or two.max() < 0.99:
        raise Mistake(f"Black and white should map to -1 and +1; got {two.min():.3f} to {two.max():.3f}.")


def prepare(image):
    import tensorflow as tf

    resized = tf.image.resize(image, (299, 299), antialias=True).numpy()
    return (resized / 127.5 - 1.0)[None].astype("float32")


def _zero_one(image):
    import tensorflow as tf

    return (tf.image.resize(image, (299, 299)).numpy() / 255.0)[None]


def _no_resize(image):
    return (image.astype("float32") / 127.5 - 1.0)[None]


def _no_batch(image):
    import tensorflow as tf

    return tf.image.resize(image, (299, 299)).numpy() / 127.5 - 1.0


q1 = CustomExercise(
    "prepare(image): a 0-255 RGB photo of any size -> Inception v3's (1, 299, 299, 3) batch in -1..1",
    _check_prepare,
    planted=[(_zero_one, "that is 0-1 scaling"), (_no_resize, "you forgot to resize"),
             (_no_batch, "Add the batch axis")],
    reference_answer=prepare,
    note="299x299, x / 127.5 - 1 (what preprocess_input does for Inception v3), and a batch of one.",
    hint="Three steps: resize to 299x299, map 0..255 linearly onto -1..1, add a batch axis in front.",
    solution=prepare,
)

# q2: the output shape of InceptionV3(include_top=False) on 299x299 photos.
_STRIDE_2_VALID = [(3, 2), (3, 1), (3, 2), (3, 1), (3, 2), (3, 2), (3, 2)]  # the size-changing steps


def _grid(n):
    for kernel, stride in _STRIDE_2_VALID:
        n = convmath.conv_output_size(n, kernel, stride)
    return n


q2 = ValueExercise(
    "Output shape of keras.applications.InceptionV3(include_top=False) for 299x299x3 photos",
    (_grid(299), _grid(299), 2048),
    mistakes={
        (-(-299 // 32), -(-299 // 32), 2048): "That is ceil(299 / 32), as if every step were SAME-padded. The "
                                               "stem and the reduction blocks use VALID 3x3 windows, which "
                                               "lose a border each time.",
        (299 // 32, 299 // 32, 2048): "Dividing by the total stride 32 ignores the VALID windows: each one "
                                      "also removes a border. Follow 299 -> 149 -> 147 -> 73 -> ...",
        (_grid(299), _grid(299), 1280): "1,280 channels is mixed8's output; the last block, mixed10, has 2,048.",
        (1, 1, 2048): "1x1 is what 75x75 photos give; at 299 the grid is larger.",
    },
    note=f"{_grid(299)}x{_grid(299)} positions of 2,048 feature maps: the input of global average pooling.",
    hint="Without the top, the output is mixed10's. Its channels: 2,048. Its grid: apply "
         "floor((n - 3) / s) + 1 through the seven size-changing steps (five of them with stride 2).",
    solution=f"`({_grid(299)}, {_grid(299)}, 2048)`: 299 -> 149 -> 147 -> 73 -> 71 -> 35 -> 17 -> 8. Check with "
             "`keras.applications.InceptionV3(include_top=False, weights=None).output_shape`.",
)

# q3: the closed world of the softmax (notebook 13's digit classifier on a temple photo).
q3 = ChoiceExercise(
    "A digit classifier says '3' with 97 % for a photo of a temple. What does the 97 % mean?",
    choices={
        "a": "There is a 97 % chance that the photo shows a 3.",
        "b": "The network's score for \"3\" beats its other nine scores by a wide margin; the softmax shares "
             "100 % among the ten digits whatever the image is, so it cannot answer \"none of these\".",
        "c": "The network is broken: a working classifier would give about 10 % to each digit.",
        "d": "The network is 97 % sure that the photo contains a digit.",
    },
    correct="b",
    feedback={
        "a": "The network was never shown anything but digits, so it cannot estimate how likely a temple is to be "
             "a 3: softmax probabilities are not calibrated chances, least of all far from the training data.",
        "c": "Nothing is broken: the softmax always shares 100 % among its classes, whatever the input.",
        "d": "There is no 'no digit' class, and the probabilities do not say whether any class applies: they only "
             "compare the classes with each other.",
    },
    note="The softmax compares its classes with each other; 'none of these' is not among them.",
    hint="Softmax turns scores into shares that sum to 1. What does a big share say about the other classes, and "
         "what does it say about the classes the network does not have?",
    solution="**b.** Softmax measures how much the score of '3' exceeds the other nine; it always shares 100 % "
             "among the ten digits (a closed world), so it cannot say 'none of these'.",
)
