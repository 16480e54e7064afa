"""Exercises for notebook 13 (a pretrained Inception v3): definitions, references, planted mistakes."""
from __future__ import annotations

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, Lazy, Mistake, ValueExercise, call
from utils.investigation import Investigation

# q1: prepare a photo for Inception v3: resize to 299x299, scale 0..255 to -1..1, add the batch axis.
_H, _W, _GREY = 40, 60, 51  # a small photo: cheap to resize


# A coloured photo, each quarter its own colour (different in every channel, top from bottom, left from right),
# within 20..230: a per-photo stretch, a BGR order or a transposed image all move the quarters' colours.
_QUARTERS = {"top-left": (200, 40, 90), "top-right": (30, 180, 220), "bottom-left": (120, 230, 20),
             "bottom-right": (60, 100, 160)}
_CENTRES = {"top-left": (75, 75), "top-right": (75, 224), "bottom-left": (224, 75), "bottom-right": (224, 224)}


def _photos():
    flat = np.full((_H, _W, 3), _GREY, dtype=np.uint8)  # resizing keeps a constant image constant
    halves = np.zeros((_H, _W, 3), dtype=np.uint8)
    halves[:, _W // 2:] = 255
    quarters = np.zeros((_H, _W, 3), dtype=np.uint8)
    for name, colour in _QUARTERS.items():
        rows = slice(0, _H // 2) if name.startswith("top") else slice(_H // 2, _H)
        cols = slice(0, _W // 2) if name.endswith("left") else slice(_W // 2, _W)
        quarters[rows, cols] = colour
    return flat, halves, quarters


def _as_array(out):
    try:
        return np.asarray(out, dtype="float64")
    except (TypeError, ValueError):
        raise Mistake(f"Return an array (NumPy or a tensor), not {type(out).__name__}.") from None


def _check_prepare(fn):
    flat, halves, quarters = _photos()
    out = _as_array(call(fn, quarters))
    if out.shape == (299, 299, 3):
        raise Mistake("The shape is (299, 299, 3): the network takes a *batch*. Add the batch axis "
                      "(image[None] or np.expand_dims(image, 0)) to get (1, 299, 299, 3).")
    if out.ndim == 4 and out.shape[1:3] == (_H, _W):
        raise Mistake(f"The output is still {_H}x{_W}: you forgot to resize to 299x299 "
                      f"(tf.image.resize(image, (299, 299)), or utils.pretrained.resize_image).")
    if out.shape != (1, 299, 299, 3):
        raise Mistake(f"The shape should be (1, 299, 299, 3), got {out.shape}.")
    if not np.isfinite(out).all():
        raise Mistake(f"Your output holds {np.count_nonzero(~np.isfinite(out)):,} NaN or infinite values: every "
                      "pixel should become a number in -1..1 (x / 127.5 - 1; look for a division by zero).")
    colours = np.array(list(_QUARTERS.values()), dtype="float64")  # 4 x 3, rows in _CENTRES' order
    got = np.array([out[0, r, c] for r, c in _CENTRES.values()])
    expected = colours / 127.5 - 1

    def near(a, b):
        return bool(np.allclose(a, b, atol=1e-2, rtol=0))

    if not near(got, expected):
        colour = next(iter(_QUARTERS.values()))
        shown = f"{colour} became {np.round(got[0], 3).tolist()}"
        if near(got, colours / 255):
            raise Mistake(f"A pixel of {shown}: that is 0-1 scaling (x / 255). Inception v3 was trained on "
                          "-1..1: use x / 127.5 - 1, or preprocess_input.")
        if near(got, colours / 127.5):
            raise Mistake(f"A pixel of {shown}: x / 127.5 alone gives 0..2; subtract 1.")
        if near(got, colours):
            raise Mistake("The pixel values are still 0-255: scale them to -1..1 (x / 127.5 - 1, or "
                          "preprocess_input).")
        if near(got, expected[:, ::-1]):
            raise Mistake(f"Your channels are in BGR order (a pixel of {shown}): the photo is RGB, and "
                          "Inception v3's preprocessing keeps the order. Do not reverse the last axis.")
        if abs(out.min() + 1) < 2e-2 and abs(out.max() - 1) < 2e-2:
            raise Mistake(f"Your output runs exactly from -1 to 1 on a photo whose pixels run from "
                          f"{int(colours.min())} to {int(colours.max())}: you stretched the photo's own minimum "
                          f"and maximum to -1..1. The map is fixed, 0..255 onto -1..1 (x / 127.5 - 1), so "
                          f"{int(colours.min())} becomes {colours.min() / 127.5 - 1:.3f}, whatever the photo.")
        where = next(i for i in range(len(got)) if not near(got[i], expected[i]))
        name = list(_QUARTERS)[where]
        raise Mistake(f"At the centre of the photo's {name} quarter, coloured {_QUARTERS[name]}, the answer is "
                      f"{np.round(expected[where], 3).tolist()} (x / 127.5 - 1, same place), yours "
                      f"{np.round(got[where], 3).tolist()}: keep each pixel where it is (no transpose or flip), "
                      "in RGB order, and map 0..255 onto -1..1.")
    two = _as_array(call(fn, halves))
    if two.shape != (1, 299, 299, 3) or not np.isfinite(two).all():
        raise Mistake(f"On a black-and-white photo your function returned {two.shape} values"
                      f"{'' if np.isfinite(two).all() else ' with NaN or inf among them'}.")
    if two.min() < -1 - 1e-3 or two.max() > 1 + 1e-3 or two.min() > -0.99 or two.max() < 0.99:
        raise Mistake(f"Black and white should map to -1 and +1; got {two.min():.3f} to {two.max():.3f}.")
    grey = _as_array(call(fn, flat))
    if grey.shape != (1, 299, 299, 3) or not np.allclose(grey, _GREY / 127.5 - 1, atol=1e-3):
        raise Mistake(f"A grey photo (every pixel {_GREY}) should become {_GREY / 127.5 - 1:.3f} everywhere; got "
                      f"values from {np.nanmin(grey):.3f} to {np.nanmax(grey):.3f}.")


def prepare(image):
    import tensorflow as tf

    resized = tf.image.resize(image, (299, 299), antialias=True).numpy()
    return (resized / 127.5 - 1.0)[None].astype("float32")


def _zero_one(image):
    import tensorflow as tf

    return (tf.image.resize(image, (299, 299)).numpy() / 255.0)[None]


def _no_resize(image):
    return (image.astype("float32") / 127.5 - 1.0)[None]


def _stretched(image):  # each photo's own minimum and maximum onto -1..1
    import tensorflow as tf

    x = tf.image.resize(image, (299, 299)).numpy()
    return ((x - x.min()) / (x.max() - x.min()) * 2 - 1)[None]


def _bgr(image):
    import tensorflow as tf

    return (tf.image.resize(image, (299, 299)).numpy()[..., ::-1] / 127.5 - 1.0)[None]


def _no_batch(image):
    import tensorflow as tf

    return tf.image.resize(image, (299, 299)).numpy() / 127.5 - 1.0


q1 = CustomExercise(
    "prepare(image): a 0-255 RGB photo of any size -> Inception v3's (1, 299, 299, 3) batch in -1..1",
    _check_prepare,
    planted=[(_zero_one, "that is 0-1 scaling"), (_no_resize, "you forgot to resize"),
             (_no_batch, "Add the batch axis"), (_stretched, "you stretched the photo's own minimum"),
             (_bgr, "BGR order")],
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
    "A digit classifier names a digit for a photo of a temple, with a probability. What does that probability mean?",
    choices={
        "a": "It is the chance that the photo shows that digit: softmax outputs are calibrated probabilities.",
        "b": "That digit's score beats the other nine; the softmax shares 100 % among ten digits, whatever the image.",
        "c": "The network is broken: a working classifier would give about 10 % to each digit for a photo that is no "
             "digit.",
        "d": "It says how sure the network is that the photo holds some digit, and the digit is its best guess.",
    },
    correct="b",
    feedback={
        "a": "The network was never shown anything but digits, so it cannot estimate how likely a temple is to be "
             "any digit: softmax probabilities are not calibrated chances, least of all far from the training data.",
        "c": "Nothing is broken: the softmax always shares 100 % among its classes, whatever the input.",
        "d": "There is no 'no digit' class, and the probabilities do not say whether any class applies: they only "
             "compare the classes with each other.",
    },
    note="The softmax compares its classes with each other; 'none of these' is not among them.",
    hint="Softmax turns scores into shares that sum to 1. What does a big share say about the other classes, and "
         "what does it say about the classes the network does not have?",
    solution="**b.** Softmax measures how much the top digit's score exceeds the other nine; it always shares 100 % "
             "among the ten digits (a closed world), so it cannot say 'none of these'.",
)


# q4 (investigation): how the prediction depends on the view: the centre crop, its mirror, the squashed photo.
def _check_views(answer):
    from utils.investigation import keras_model

    model, preprocess, views, top1 = keras_model(answer, "model"), answer["preprocess"], answer["views"], answer["top1"]
    names = ("centre crop", "mirrored", "squashed")
    if not isinstance(views, dict) or set(views) != set(names):
        raise Mistake(f"'views' should be a dict with the keys {names}: the three images the network sees.")
    size = tuple(model.input_shape[1:3])
    images = {name: np.asarray(views[name]) for name in names}
    for name, image in images.items():
        if image.shape != (*size, 3):
            raise Mistake(f"views[{name!r}] has shape {image.shape}: the network reads {(*size, 3)} "
                          f"(resize_image(photo, SIZE) gives it).")
    flipped = images["centre crop"][:, ::-1].astype("float32")
    spread = max(float(np.ptp(flipped)), 1e-6)  # mirroring the photo before resizing may round a few pixels apart
    if np.abs(images["mirrored"].astype("float32") - flipped).mean() > 0.03 * spread:
        raise Mistake("views['mirrored'] is not the centre crop mirrored left to right: flip the width axis, "
                      "image[:, ::-1] (image[::-1] flips it upside down).")
    if np.array_equal(images["squashed"], images["centre crop"]):
        raise Mistake("views['squashed'] is the centre crop: resize the whole photo without cropping, "
                      "resize_image(photo, SIZE, center_crop=False).")
    if not isinstance(top1, dict) or set(top1) != set(names):
        raise Mistake("'top1' should be a dict with the same keys as 'views', each (class index, probability).")
    batch = np.stack([images[name] for name in names]).astype("float32")
    probs = np.asarray(model.predict(preprocess(batch.copy()), verbose=0))
    raw = np.asarray(model.predict(batch, verbose=0))
    rows = []
    for k, name in enumerate(names):
        try:
            index, probability = int(top1[name][0]), float(top1[name][1])
        except (TypeError, ValueError, IndexError):
            raise Mistake(f"top1[{name!r}] should be a pair (class index, probability), not {top1[name]!r}.") from None
        best = int(probs[k].argmax())
        if index != best or not np.isclose(probability, probs[k, best], atol=5e-3):
            if index == int(raw[k].argmax()) and np.isclose(probability, raw[k].max(), atol=5e-3):
                raise Mistake(f"Your top1[{name!r}] is the network's answer on raw pixels: pass the batch through "
                              f"the chapter's preprocessing (app.preprocess_input) before predicting.")
            raise Mistake(f"top1[{name!r}] = ({index}, {probability:.3f}), but the network gives class {best} with "
                          f"probability {probs[k, best]:.3f} on that view: take the argmax of its softmax output "
                          f"and that probability.")
        rows.append(f"{name} {best} ({probs[k, best]:.1%})")
    same = int(probs[0].argmax()) == int(probs[1].argmax())
    change = np.abs(probs[0] - probs[1]).sum() / 2
    return ("Re-predicted: " + ", ".join(rows) + f". Mirroring {'kept' if same else 'changed'} the top-1 class and "
            f"moved {change:.1%} of the probability mass.")


def _views_answer(preprocessed=True):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")])
    photo = (np.random.default_rng(0).random((40, 64, 3)) * 255).astype("uint8")
    crop = photo[4:36, 16:48]
    views = {"centre crop": crop, "mirrored": crop[:, ::-1],
             "squashed": photo[4:36, ::2]}

    def preprocess(x):
        return x / 127.5 - 1.0

    batch = np.stack(list(views.values())).astype("float32")
    probs = model.predict(preprocess(batch) if preprocessed else batch, verbose=0)
    top1 = {name: (int(p.argmax()), float(p.max())) for name, p in zip(views, probs)}
    return dict(views=views, top1=top1, model=model, preprocess=preprocess,
                explanation="The network was trained with mirrored photos, so the flip changes little.")


q4 = Investigation(
    "Investigation: the same photo, three views: centre crop, mirrored, squashed",
    _check_views,
    keys=("views", "top1", "model", "preprocess"),
    given=("model", "preprocess"),
    planted=[(Lazy(lambda: _views_answer(preprocessed=False)), "on raw pixels"),
             (Lazy(lambda: {**_views_answer(), "views": {**_views_answer()["views"],
                                                         "mirrored": _views_answer()["views"]["centre crop"][::-1]}}),
              "is not the centre crop mirrored"),
             (Lazy(lambda: {**_views_answer(), "views": {"centre crop": None}}), "'views' should be a dict")],
    reference_answer=Lazy(_views_answer),
    discussion=(
        "A CNN is not mirror-invariant by construction: its kernels are not symmetric, and a mirrored photo gives "
        "other feature maps. It becomes nearly invariant by training: AlexNet, GoogLeNet, Inception v3 and "
        "MobileNet all learned from randomly mirrored crops, so the top-1 class usually survives the flip while "
        "its probability moves. Squashing is another matter: it keeps the whole scene (the centre crop cuts the "
        "sides) but distorts the proportions. The course's run with MobileNet (alpha 0.25, 128 px) on china.jpg: "
        "centre crop 'harvester' 21.9 %, mirrored 'harvester' 29.3 %, squashed 'stupa' 69.6 %: the squashed "
        "view shows the whole temple, and the network names it. On flower.jpg all three say 'mushroom' (41.5 %, "
        "50.1 %, 39.4 %). A probability that moves by several points under a flip is a reminder that these "
        "numbers are not calibrated confidences; the test-time augmentation of notebook 7 (averaging over crops "
        "and mirrors) exists to smooth exactly this."),
    hint="crop = resize_image(china, SIZE); views = {'centre crop': crop, 'mirrored': crop[:, ::-1], 'squashed': "
         "resize_image(china, SIZE, center_crop=False)}; predict on app.preprocess_input of the stacked views.",
    solution="Build the three views with `resize_image` (with and without `center_crop`) and `[:, ::-1]`, stack "
             "them as float32, predict on `app.preprocess_input(batch)`, and for each view record the argmax and "
             "its probability.",
    todo="build the three views, fill in top1 and your explanation, then run the cell (a few seconds).",
)
