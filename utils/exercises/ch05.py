"""Exercises for notebook 05 (the typical CNN on MNIST): definitions, references, planted mistakes."""
from __future__ import annotations

import functools

import numpy as np

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, Lazy, Mistake, ValueExercise
from utils.investigation import Investigation, accuracy, all_layers, keras_model, labelled_data, toy_digits

BUDGET = 20_000  # q1: parameters allowed


# q1: a CNN for 28x28x1 digits, 10 classes, under a parameter budget, judged by what it computes.
PROBE_IMAGES = 8  # the check runs the learner's (untrained) model on this many random 28x28x1 images
SUM_TOLERANCE = 1e-3  # each row of probabilities must sum to 1 within this (float32 softmax: ~1e-7)


def small_cnn():
    import keras

    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def probe_images():
    """The checker's own inputs: PROBE_IMAGES random images in [0, 1), shape (28, 28, 1), float32, seeded."""
    return np.random.default_rng(0).random((PROBE_IMAGES, 28, 28, 1), dtype=np.float32)


def _declared_input(model):
    """The input shape a model declares (without the batch axis), or None when it has none yet."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    return tuple(shape[1:]) if isinstance(shape, tuple) else shape


def _leaf_layers(layer):
    """The layers inside nested models, the nested models themselves left out."""
    inner = [sub for sub in getattr(layer, "layers", []) if sub is not layer]
    return [leaf for sub in inner for leaf in _leaf_layers(sub)] if inner else [layer]


def _rows(sums) -> str:
    return ", ".join(f"{s:.3g}" for s in sums[:3]) + (", ..." if len(sums) > 3 else "")


def _check_probabilities(scores):
    """Each row a probability distribution (non-negative, summing to 1), or the mistake its values show."""
    sums = scores.sum(axis=1)
    tested = f"on the checker's {len(scores)} random images"
    if scores.min() >= 0 and np.allclose(sums, 1, rtol=0, atol=SUM_TOLERANCE):
        return
    if scores.min() < 0 and np.allclose(np.exp(scores).sum(axis=1), 1, rtol=0, atol=SUM_TOLERANCE):
        raise Mistake(f"Your model outputs log-probabilities (log-softmax: negative values whose exponentials "
                      f"sum to 1 {tested}). The exercise asks for the probabilities themselves: use a plain "
                      f"softmax, the form loss='sparse_categorical_crossentropy' expects.")
    if scores.min() < 0:
        raise Mistake(f"Your model outputs logits, raw scores (some negative; the rows sum to {_rows(sums)} "
                      f"{tested}): the TensorFlow tutorials' style, a last layer without activation trained with "
                      f"SparseCategoricalCrossentropy(from_logits=True). It trains as well, but this exercise asks "
                      f"for class probabilities, what the notebook's models output for "
                      f"loss='sparse_categorical_crossentropy': end with a softmax (activation on the last Dense, "
                      f"or a keras.layers.Softmax() layer after it).")
    if scores.min() >= 0 and len(scores) > 1 and np.allclose(scores.sum(axis=0), 1, rtol=0, atol=SUM_TOLERANCE):
        raise Mistake(f"Your softmax runs over the wrong axis: each class's column sums to 1 over the checker's "
                      f"{len(scores)} random images, while each image's 10 probabilities sum to {_rows(sums)}. "
                      f"Softmax over the last axis, the classes (Softmax() or Softmax(axis=-1), not axis=0).")
    if scores.min() > 0 and scores.max() < 1:
        raise Mistake(f"Each of your 10 outputs lies between 0 and 1, but a row sums to {_rows(sums)} {tested}, not "
                      f"1: independent yes/no scores, as a sigmoid gives (or a softmax over another axis than the "
                      f"classes), not one distribution over the 10 classes. A softmax over the 10 classes, last, "
                      f"makes them share a total of 1.")
    raise Mistake(f"Your 10 outputs are not probabilities: they are ≥ 0 but the rows sum to {_rows(sums)} {tested}, "
                  f"not 1 (within {SUM_TOLERANCE:g}): use activation='softmax' on the last Dense (or a "
                  f"keras.layers.Softmax() layer after it) so the 10 outputs are class probabilities (what sparse "
                  f"categorical cross-entropy expects here).")


def _depends_on_kernels(model, images, scores) -> bool:
    """Does the output change when a 4-D (convolution) kernel changes? Each kernel is moved, run, restored."""
    import keras

    rng = np.random.default_rng(1)
    for weight in [w for w in model.weights if len(w.shape) == 4]:
        old = np.asarray(keras.ops.convert_to_numpy(weight))
        weight.assign((old + rng.normal(0, max(float(old.std()), 0.1), size=old.shape)).astype(old.dtype))
        try:
            moved = np.asarray(keras.ops.convert_to_numpy(model(images, training=False)), dtype=float)
        finally:
            weight.assign(old)
        if moved.shape != scores.shape or not np.allclose(moved, scores, rtol=0, atol=1e-7):
            return True
    return False


def _check_cnn(model):
    import keras

    if callable(model) and not isinstance(model, keras.layers.Layer):
        raise Mistake("Pass the model your function returns, not the function: q1.check(my_cnn()), with the "
                      "parentheses.")
    if not isinstance(model, keras.Model):
        raise Mistake(f"Return a Keras model (keras.Sequential([...]), the functional API or a keras.Model "
                      f"subclass), not a {type(model).__name__}.")
    declared = _declared_input(model)
    if declared is not None and (len(declared) != 3 or any(d not in (None, w) for d, w in zip(declared, (28, 28, 1)))):
        raise Mistake(f"Your model reads inputs of shape {declared}; MNIST digits here are (28, 28, 1): height, "
                      f"width and one grey channel.")
    images = probe_images()
    try:
        outputs = model(images, training=False)
    except Exception as error:  # the learner's model: reported in one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise Mistake(f"Running your model on {PROBE_IMAGES} images of shape (28, 28, 1) raised "
                      f"{type(error).__name__}: {first}") from None
    try:
        scores = np.asarray(keras.ops.convert_to_numpy(outputs), dtype=float)
    except Exception:
        raise Mistake(f"Your model returns {type(outputs).__name__}, not one array of 10 scores per image: "
                      f"give it a single output.") from None
    if not any(len(weight.shape) == 4 for weight in model.weights):
        raise Mistake("Your model has no Conv2D layer (no convolution kernel among its weights): without a "
                      "convolution it is a dense network, not a CNN. Start with Conv2D, then MaxPooling2D.")
    if scores.ndim > 2 and scores.shape[-1] == 10 and int(np.prod(scores.shape[1:])) == 10:
        raise Mistake(f"Your model outputs shape {scores.shape[1:]} per image, a map of 10 channels: flatten it "
                      f"(Flatten()) or global-pool it (GlobalAveragePooling2D()) to (10,).")
    if scores.shape[1:] != (10,):
        raise Mistake(f"Your model outputs shape {scores.shape[1:]} per image: it needs one score per digit class, "
                      f"(10,). End with Dense(10, ...).")
    if not _depends_on_kernels(model, images, scores):
        raise Mistake("Your model has convolution kernels, but its output does not depend on them: changing every "
                      "kernel leaves the probabilities unchanged, so the convolution's result is computed and then "
                      "discarded. Feed the convolution's output to the next layer.")
    if not np.isfinite(scores).all():
        raise Mistake(f"Your model's outputs contain NaN or infinity on the checker's {PROBE_IMAGES} random images.")
    _check_probabilities(scores)
    n = model.count_params()
    if n > BUDGET:
        biggest = max(_leaf_layers(model), key=lambda layer: layer.count_params())
        raise Mistake(f"Your model has {n:,} parameters, over the budget of {BUDGET:,}. The largest layer is "
                      f"{biggest.name} ({biggest.count_params():,}): shrink the maps (more pooling) or the "
                      f"filters before the Dense layer.")
    return (f"Run on {PROBE_IMAGES} random 28×28×1 images, your model (whose output depends on its convolution "
            f"kernels) gives each one 10 "
            f"probabilities (non-negative, summing to 1 within {SUM_TOLERANCE:g}), with {n:,} parameters, "
            f"within the budget of {BUDGET:,}.")


def _over_budget():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


def _head(units=10, activation="softmax"):
    """A small valid CNN's body with the given output layer (the planted mistakes below vary only that).

    Seeded initializers: a planted model computes the same outputs at every build, so it draws its message
    every time (a ReLU output layer, say, has both zeros and rows far from 1 on the probe images)."""
    import keras

    init = keras.initializers.GlorotUniform
    return keras.Sequential([keras.Input(shape=(28, 28, 1)),
                             keras.layers.Conv2D(4, 5, activation="relu", kernel_initializer=init(seed=1)),
                             keras.layers.MaxPooling2D(4), keras.layers.Flatten(),
                             keras.layers.Dense(units, activation=activation, kernel_initializer=init(seed=2))])


def _wrong_classes():
    return _head(units=1)


def _relu_output():
    return _head(activation="relu")


def _logits_output():  # the TF tutorials' style: no activation, from_logits=True in the loss
    return _head(activation=None)


def _sigmoid_output():
    return _head(activation="sigmoid")


def _log_softmax_output():
    return _head(activation="log_softmax")


def _flat_input():
    import keras

    return keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])


def _conv_discarded():
    import keras

    inputs = keras.Input(shape=(28, 28, 1))
    keras.layers.Conv2D(4, 3)(inputs)  # computed, never used
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D(4)(inputs))
    conv = keras.layers.Conv2D(2, 3, padding="same")
    kept = keras.layers.Lambda(lambda t: 0.0 * t)(conv(inputs))  # the model keeps a kernel, the output ignores it
    x = keras.layers.Concatenate()([x, keras.layers.Flatten()(keras.layers.MaxPooling2D(4)(kept))])
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def _softmax_over_batch():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.MaxPooling2D(4), keras.layers.Flatten(), keras.layers.Dense(10),
                             keras.layers.Softmax(axis=0)])


def _map_output():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
                             keras.layers.Conv2D(10, 13, activation="softmax")])


def _no_conv():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])


q1 = CustomExercise(
    f"A CNN for MNIST with at most {BUDGET:,} parameters",
    _check_cnn,
    planted=[(Lazy(_over_budget), "over the budget"), (Lazy(_wrong_classes), "one score per digit class"),
             (Lazy(_relu_output), "use activation='softmax'"), (Lazy(_no_conv), "has no Conv2D layer"),
             (Lazy(_logits_output), "from_logits=True"), (Lazy(_sigmoid_output), "a sigmoid"),
             (Lazy(_log_softmax_output), "log-probabilities"), (Lazy(_flat_input), "reads inputs of shape (784,)"),
             ("my_cnn", "not a str"), (small_cnn, "with the parentheses"),
             (Lazy(_conv_discarded), "does not depend on them"), (Lazy(_softmax_over_batch), "the wrong axis"),
             (Lazy(_map_output), "flatten it (Flatten()) or global-pool it")],
    reference_answer=Lazy(small_cnn),
    hint="Conv2D → MaxPooling2D twice shrinks 28×28 to 5×5 (with 3×3 kernels); the Dense(10) layer on top then "
         "costs 5·5·filters·10 + 10. Check with model.count_params().",
    solution=small_cnn,
    todo=f"return a Keras CNN (input (28, 28, 1), 10 softmax outputs, ≤ {BUDGET:,} parameters), then run the cell.",
)


# q2: the network Nielsen trains in his chapter 6 (98.78 %): 20 maps of 5x5, 2x2 max pooling, a fully connected
# layer of 100 neurons, 10 softmax outputs. The question: the parameters of its 100-neuron layer.
_MAPS, _HIDDEN = 20, 100
_POOLED = convmath.conv_output_size(convmath.conv_output_size(28, 5), 2, 2)  # 12
_FLAT = _MAPS * _POOLED**2  # 2,880
_EXPECTED = convmath.dense_params(_FLAT, _HIDDEN)
_OUTPUT_LAYER = convmath.dense_params(_HIDDEN, 10)
_WHOLE = convmath.conv_params(5, 1, _MAPS) + _EXPECTED + _OUTPUT_LAYER

q2 = ValueExercise(
    "Nielsen's network with 20 feature maps and a 100-neuron layer: how many parameters has that Dense(100) layer?",
    _EXPECTED,
    mistakes={
        _FLAT * _HIDDEN: "Almost: each of the 100 neurons also has a bias.",
        convmath.dense_params(_MAPS * 24**2, _HIDDEN): "That reads the 24×24 convolution maps: the 2×2 pooling "
                                                      "comes first and halves them to 12×12.",
        convmath.dense_params(_POOLED**2, _HIDDEN): "That is one pooled map: the Dense layer reads all 20 maps "
                                                    "(Flatten gives 20·12·12 values).",
        convmath.dense_params(_FLAT, 10): "That is a Dense(10) reading the pooled maps directly, the 3-map "
                                          "network's layout: here the 100-neuron layer sits in between.",
        _OUTPUT_LAYER: "That is the softmax layer (100 inputs, 10 outputs): the question asks for the 100-neuron "
                       "layer, which reads the pooled maps.",
        _WHOLE: "That is the whole network: the question asks only for the 100-neuron layer.",
    },
    note=f"Flatten gives {_MAPS}·{_POOLED}·{_POOLED} = {_FLAT:,} values; {_FLAT:,}·{_HIDDEN} + {_HIDDEN} = "
         f"{_EXPECTED:,}, {_EXPECTED / _WHOLE:.0%} of the network's {_WHOLE:,}.",
    hint="Follow the shapes: 28 → conv 5×5 (valid) → pool 2×2 → flatten. A Dense layer has inputs × outputs "
         "weights plus one bias per output.",
    solution=f"28 − 5 + 1 = 24, pooled to 12; flatten 20·12·12 = {_FLAT:,}; "
             f"dense {_FLAT:,}·{_HIDDEN} + {_HIDDEN} = **{_EXPECTED:,}**. Check: build the network with "
             f"`Conv2D(20, 5)`, `MaxPooling2D(2)`, `Flatten()`, `Dense({_HIDDEN})`, `Dense(10)` and read "
             "`model.layers[-2].count_params()`.",
)


# q3: what a CNN's structure can contribute on shifted digits, and why it is little.
q3 = ChoiceExercise(
    "Shifted digits: which statement agrees with the shift cell's verdicts, and explains them?",
    choices={
        "a": "Convolution is shift-invariant, so the CNN's output stays the same when a digit moves: it loses no "
             "points.",
        "b": "The 2×2 max pool absorbs moves of 1 or 2 pixels, so there the CNN loses clearly fewer points than the "
             "dense net.",
        "c": "Its kernels find a stroke anywhere, but the dense layer on top reads positions; training on shifted "
             "digits helps.",
        "d": "With 60 times fewer parameters the CNN cannot memorise pixel positions, so shifted training digits add "
             "little to it.",
    },
    correct="c",
    feedback={
        "a": "Convolution is shift-*equivariant*: move the input and its feature maps move with it. The layers on top "
             "see the features at new places, so the output changes: the shift cell prints the points each model "
             "loses.",
        "b": "A 2×2 pool with stride 2 absorbs a 1-px move only where a window's maximum stays inside its window, and "
             "a 2-px move shifts every pooled value by a whole cell: one pooling stage cannot promise 'clearly fewer "
             "points' at 1 and 2 px. Read the shift cell's verdicts against the dense net there: a win only beyond "
             "seed noise, paired by seed.",
        "d": "Fewer parameters alone do not make a network ignore position: the dense layer on top still reads each "
             "feature at its place, so a moved digit changes its input. Shifted training digits are what show it "
             "those places; the shift cell's augmented rows print what they do, shift by shift.",
    },
    note="Shared kernels make the features move with the digit; a 2×2 pool hides only the moves that stay inside "
         "its window; the dense layer on top is tied to positions, so shifted training digits are what helps.",
    hint="Separate what the convolution does with a moved input (equivariance) from what pooling and the "
         "dense layer on top do with moved features.",
    solution="**c**. Weight sharing makes the feature maps shift with the digit (equivariance); a 2×2 max pool "
             "gives the same output for moves within its window; the dense layer on top is tied to positions, so "
             "larger shifts still hurt unless the training data contains them.",
)


# q4 (investigation): Nielsen's net with its max pooling replaced by a stride-2 convolution.
def _nielsen(strided: bool):
    import keras

    down = (keras.layers.Conv2D(3, 2, strides=2, activation="relu", name="down") if strided
            else keras.layers.MaxPooling2D(2, name="pool"))
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(3, 5, activation="relu"),
                             down, keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


def _pools(model) -> bool:
    return any("Pooling" in type(layer).__name__ for layer in all_layers(model))


def _check_strided(answer):
    pooled, strided = keras_model(answer, "pooled"), keras_model(answer, "strided")
    if pooled is strided:
        raise Mistake("'pooled' and 'strided' are the same model: train one of each, from its own builder.")
    for key, model in (("pooled", pooled), ("strided", strided)):
        if tuple(model.input_shape[1:]) != (28, 28, 1) or tuple(model.output_shape[1:]) != (10,):
            raise Mistake(f"{key!r} maps {tuple(model.input_shape[1:])} to {tuple(model.output_shape[1:])}: "
                          f"both networks read (28, 28, 1) digits and give 10 class probabilities.")
    if not _pools(pooled):
        raise Mistake("'pooled' has no pooling layer: it should be the chapter's nielsen_net(), the baseline.")
    if _pools(strided):
        raise Mistake("'strided' still has a pooling layer: replace the MaxPooling2D by a Conv2D with "
                      "strides=2, so the network learns its own downsampling.")
    if not any(max(getattr(layer, "strides", (1,))) > 1 for layer in all_layers(strided)):
        raise Mistake("'strided' has no convolution with a stride above 1: without pooling or a stride nothing "
                      "downsamples the 24×24 maps. Use Conv2D(..., strides=2) where the pooling was.")
    x, y = labelled_data(answer, "x_val", "y_val", at_least=300)
    scores = {key: accuracy(model, x, y) for key, model in (("pooled", pooled), ("strided", strided))}
    for key, score in scores.items():
        if score < 0.75:
            raise Mistake(f"{key!r} classifies {score:.1%} of your validation digits: has it been trained "
                          f"(compile, then fit for an epoch or two)? Both networks must be trained to compare them.")
    gap = 100 * (scores["strided"] - scores["pooled"])
    return (f"On your {len(y):,} validation digits (re-scored here): pooled {scores['pooled']:.2%} with "
            f"{pooled.count_params():,} parameters, strided {scores['strided']:.2%} with "
            f"{strided.count_params():,}: strided − pooled = {gap:+.2f} points. One seed each cannot decide it: in "
            f"the course's run of this cell over 5 seeds (same setup) the paired gap ranged from −1.3 to "
            f"+1.2 points.")


def _strided_answer(pooled_downsampling=False, trained=True):
    import keras

    x, y = toy_digits(1600, seed=0, jitter=1)
    answer = dict(x_val=x[1000:], y_val=y[1000:], explanation="Both learn to downsample; the strided "
                  "convolution adds weights but its gain stays within the noise of one seed.")
    for key, strided in (("pooled", False), ("strided", not pooled_downsampling)):
        keras.utils.set_random_seed(0)
        model = _nielsen(strided)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        if trained:
            model.fit(x[:1000], y[:1000], epochs=4, batch_size=32, verbose=0)
        answer[key] = model
    return answer


@functools.lru_cache(maxsize=1)
def _strided_trained():
    return _strided_answer()


q4 = Investigation(
    "Investigation: pooling against a strided convolution in Nielsen's net",
    _check_strided,
    keys=("pooled", "strided", "x_val", "y_val"),
    given=("x_val", "y_val"),
    planted=[(Lazy(lambda: {**_strided_trained(), "strided": _strided_trained()["pooled"]}), "are the same model"),
             (Lazy(lambda: {**_strided_trained(), "strided": _nielsen(False)}), "still has a pooling layer"),
             (Lazy(lambda: _strided_answer(trained=False)), "has it been trained"),
             (Lazy(lambda: {**_strided_trained(), "pooled": None}), "'pooled' should be a Keras model")],
    reference_answer=Lazy(lambda: _strided_trained()),
    discussion=(
        "Max pooling downsamples with a fixed rule and no weights; a stride-2 convolution learns how to "
        "downsample, at the price of its kernel (here 2·2·3·3 + 3 = 39 weights) and of computing each output "
        "from every input in its window instead of keeping the largest. Springenberg et al. (\"Striving for "
        "simplicity: the all convolutional net\", ICLR 2015 workshop) replaced every pooling layer of their "
        "CIFAR-10 networks by strided convolutions and lost no accuracy; ResNet downsamples with strided "
        "convolutions too (notebook 9). The course's own run of this cell (the full MNIST, 5 seeds, 2 epochs on "
        "5,000 digits, 2,000 validation digits) gave pooled 86.3 % and strided 86.1 % on average, and paired "
        "gaps (strided − pooled) from −1.3 to +1.2 points: a tie. To call a winner, repeat both for several seeds "
        "and compare the gap with the spread, as the chapter's training cell does. Pooling's case is its cost "
        "(no weights, cheap) and a "
        "small built-in tolerance to shifts within its window; the strided convolution's is flexibility."),
    hint="Copy nielsen_net() and swap one line: keras.layers.Conv2D(3, kernel_size=2, strides=2, "
         "activation='relu') where MaxPooling2D(2) was. The output shape stays 12×12×3.",
    solution="Swap `MaxPooling2D(pool_size=2)` for `Conv2D(3, kernel_size=2, strides=2, activation=\"relu\")` "
             "in a copy of `nielsen_net()`; train both the same way (same seed, epochs and digits) and pass them "
             "with the validation digits. Whatever the gap, compare it with the seed-to-seed spread before "
             "calling a winner.",
    todo="write strided_net() and your explanation, then run the cell (it trains both networks, ~10 s).",
)
