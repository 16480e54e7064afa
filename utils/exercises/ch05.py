"""Exercises for notebook 05 (the typical CNN on MNIST): definitions, references, planted mistakes."""
from __future__ import annotations

from utils import convmath
from utils.checker import ChoiceExercise, CustomExercise, Lazy, Mistake, ValueExercise

BUDGET = 20_000  # q1: parameters allowed


# q1: a Sequential CNN for 28x28x1 digits, 10 classes, under a parameter budget.
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


def _check_cnn(model):
    import keras

    if not isinstance(model, keras.Model):
        raise Mistake(f"Return a Keras model (keras.Sequential([...])), not a {type(model).__name__}.")
    if not model.built or model.inputs is None:
        raise Mistake("Your model has no input shape yet: start the list with keras.Input(shape=(28, 28, 1)).")
    if tuple(model.input_shape[1:]) != (28, 28, 1):
        raise Mistake(f"Your model reads inputs of shape {tuple(model.input_shape[1:])}; MNIST digits here are "
                      f"(28, 28, 1): height, width and one grey channel.")
    if not any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers):
        raise Mistake("Your model has no Conv2D layer: without a convolution it is a dense network, "
                      "not a CNN. Start with Conv2D, then MaxPooling2D.")
    outputs = tuple(model.output_shape[1:])
    if outputs != (10,):
        raise Mistake(f"Your model outputs shape {outputs}: it needs one score per digit class, "
                      f"(10,). End with Dense(10, ...).")
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if getattr(activation, "__name__", "") != "softmax":
        raise Mistake(f"The last layer's activation is {getattr(activation, '__name__', activation)!r}: "
                      f"use activation='softmax' so the 10 outputs are class probabilities "
                      f"(what sparse categorical cross-entropy expects here).")
    n = model.count_params()
    if n > BUDGET:
        biggest = max(model.layers, key=lambda layer: layer.count_params())
        raise Mistake(f"Your model has {n:,} parameters, over the budget of {BUDGET:,}. The largest layer is "
                      f"{biggest.name} ({biggest.count_params():,}): shrink the maps (more pooling) or the "
                      f"filters before the Dense layer.")


def _over_budget():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


def _wrong_classes():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(4, 5, activation="relu"),
                             keras.layers.MaxPooling2D(4), keras.layers.Flatten(),
                             keras.layers.Dense(1, activation="softmax")])


def _relu_output():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(4, 5, activation="relu"),
                             keras.layers.MaxPooling2D(4), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="relu")])


def _no_conv():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])


q1 = CustomExercise(
    f"A Sequential CNN for MNIST with at most {BUDGET:,} parameters",
    _check_cnn,
    planted=[(Lazy(_over_budget), "over the budget"), (Lazy(_wrong_classes), "one score per digit class"),
             (Lazy(_relu_output), "use activation='softmax'"), (Lazy(_no_conv), "has no Conv2D layer")],
    reference_answer=Lazy(small_cnn),
    note="A convolution, pooling, and a softmax over the 10 classes, within the budget.",
    hint="Conv2D → MaxPooling2D twice shrinks 28×28 to 5×5 (with 3×3 kernels); the Dense(10) layer on top then "
         "costs 5·5·filters·10 + 10. Check with model.count_params().",
    solution=small_cnn,
    todo=f"return a keras.Sequential CNN (input (28, 28, 1), 10 softmax outputs, ≤ {BUDGET:,} parameters), "
         "then run the cell.",
)


# q2: Nielsen's network with 20 feature maps instead of 3: parameters of its output layer.
_MAPS = 20
_POOLED = convmath.conv_output_size(convmath.conv_output_size(28, 5), 2, 2)  # 12
_EXPECTED = convmath.dense_params(_MAPS * _POOLED**2, 10)

q2 = ValueExercise(
    "Nielsen's network with 20 feature maps: how many parameters has the output Dense(10) layer?",
    _EXPECTED,
    mistakes={
        _MAPS * _POOLED**2 * 10: "Almost: each of the 10 output neurons also has a bias.",
        convmath.dense_params(_MAPS * 24**2, 10): "That reads the 24×24 convolution maps: the 2×2 pooling comes "
                                                  "first and halves them to 12×12.",
        convmath.dense_params(_POOLED**2, 10): "That is one pooled map: the Dense layer reads all 20 maps "
                                               "(Flatten gives 20·12·12 values).",
        convmath.conv_params(5, 1, _MAPS) + convmath.dense_params(_MAPS * _POOLED**2, 10):
            "That is the whole network: the question asks only for the output layer.",
    },
    note=f"Flatten gives {_MAPS}·{_POOLED}·{_POOLED} = {_MAPS * _POOLED**2:,} values; "
         f"{_MAPS * _POOLED**2:,}·10 + 10 = {_EXPECTED:,}.",
    hint="Follow the shapes: 28 → conv 5×5 (valid) → pool 2×2 → flatten. A Dense layer has inputs × outputs "
         "weights plus one bias per output.",
    solution=f"28 − 5 + 1 = 24, pooled to 12; flatten 20·12·12 = {_MAPS * _POOLED**2:,}; "
             f"dense {_MAPS * _POOLED**2:,}·10 + 10 = **{_EXPECTED:,}**. Check: build Nielsen's net with "
             "`Conv2D(20, 5)` and read `model.layers[-1].count_params()`.",
)


# q3: what a CNN's structure can contribute on shifted digits, and why it is little.
q3 = ChoiceExercise(
    "What can a CNN's structure contribute on digits moved by a pixel or two, and why is it so little?",
    choices={
        "a": "Convolution is shift-invariant, so a CNN's output does not change when the digit moves.",
        "b": "The same kernel detects a stroke wherever it is, and max pooling absorbs moves within its window; "
             "the dense layer on top still sees positions, so the tolerance stays small.",
        "c": "The CNN has fewer parameters, so it cannot memorise where the pixels were.",
        "d": "The CNN sees the digit at a lower resolution from the first layer on, so small moves are invisible.",
    },
    correct="b",
    feedback={
        "a": "Convolution is shift-*equivariant*: move the input and its feature maps move with it. The layers on "
             "top see the features at new places, so the output does change (the notebook's shift table shows it).",
        "c": "Fewer parameters alone do not make a network ignore position: a small dense network is just as tied "
             "to pixel positions. What helps is weight sharing (same detector everywhere) and pooling.",
        "d": "The first convolution (stride 1, no pooling yet) keeps the full 24×24 resolution; only pooling "
             "coarsens the maps, and only a move within its 2×2 window is absorbed.",
    },
    note="Shared kernels make the features move with the digit; pooling hides moves inside its window; "
         "beyond that only training on shifted digits helps.",
    hint="Separate what the convolution does with a moved input (equivariance) from what pooling and the "
         "dense layer on top do with moved features.",
    solution="**b**. Weight sharing makes the feature maps shift with the digit (equivariance); a 2×2 max pool "
             "gives the same output for moves within its window; the dense layer on top is tied to positions, so "
             "larger shifts still hurt unless the training data contains them.",
)
