"""Exercises for notebook 09 (ResNet): a residual unit with a projection shortcut, a parameter count, degradation."""
from __future__ import annotations

import functools
import math

import keras
import numpy as np
from keras import layers

from lessons import resnet
from utils.checker import ChoiceExercise, CustomExercise, Lazy, Mistake, NotAttempted, ValueExercise, short
from utils.investigation import Investigation, accuracy, all_layers, keras_model, labelled_data
from utils.modelstats import param_counts


# q1: the learner's residual_block(inputs, filters, strides), built on small inputs.
def residual_block(inputs, filters, strides=1):
    """A basic residual unit: two 3x3 conv + BN, a projection shortcut where the shape changes, ReLU after the sum."""
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(inputs)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    shortcut = inputs
    if strides != 1 or inputs.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(inputs)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def _no_projection(inputs, filters, strides=1):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs)
    y = layers.BatchNormalization()(y)
    y = layers.Conv2D(filters, 3, padding="same")(layers.ReLU()(y))
    y = layers.BatchNormalization()(y)
    return layers.ReLU()(layers.Add()([y, inputs]))


def _projection_without_stride(inputs, filters, strides=1):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs)
    y = layers.Conv2D(filters, 3, padding="same")(layers.ReLU()(layers.BatchNormalization()(y)))
    y = layers.BatchNormalization()(y)
    shortcut = inputs
    if strides != 1 or inputs.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1)(inputs))  # the stride is missing
    return layers.ReLU()(layers.Add()([y, shortcut]))


def _relu_before_add(inputs, filters, strides=1):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs)
    y = layers.Conv2D(filters, 3, padding="same")(layers.ReLU()(layers.BatchNormalization()(y)))
    y = layers.ReLU()(layers.BatchNormalization()(y))
    shortcut = inputs
    if strides != 1 or inputs.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=strides)(inputs))
    return layers.Add()([y, shortcut])


def _no_shortcut(inputs, filters, strides=1):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs)
    y = layers.Conv2D(filters, 3, padding="same")(layers.ReLU()(layers.BatchNormalization()(y)))
    return layers.ReLU()(layers.BatchNormalization()(y))  # a plain unit: nothing is added


def _always_projection(inputs, filters, strides=1):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs)
    y = layers.Conv2D(filters, 3, padding="same")(layers.ReLU()(layers.BatchNormalization()(y)))
    shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=strides)(inputs))  # even when not needed
    return layers.ReLU()(layers.BatchNormalization()(y) + shortcut)


def _one_convolution(inputs, filters, strides=1):
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs))
    shortcut = inputs
    if strides != 1 or inputs.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=strides)(inputs))
    return layers.ReLU()(y + shortcut)


def _pooled_shortcut(inputs, filters, strides=1):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs)
    y = layers.Conv2D(filters, 3, padding="same")(layers.ReLU()(layers.BatchNormalization()(y)))
    shortcut = inputs
    if strides != 1 or inputs.shape[-1] != filters:
        shortcut = layers.AveragePooling2D(strides, padding="same")(inputs)  # averages 2x2 windows, then 1x1
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1)(shortcut))
    return layers.ReLU()(layers.BatchNormalization()(y) + shortcut)



def _unit(filters, strides, inputs, *, bn=True, relu_between=True, stride_first=True, join="add", final_relu=True,
          relu_on_projection=False):
    """A residual unit with one planted change (the mistakes below)."""
    norm = layers.BatchNormalization if bn else (lambda: layers.Identity())
    y = layers.Conv2D(filters, 3, strides=strides if stride_first else 1, padding="same")(inputs)
    y = norm()(y)
    y = layers.ReLU()(y) if relu_between else y
    y = norm()(layers.Conv2D(filters, 3, strides=1 if stride_first else strides, padding="same")(y))
    shortcut = inputs
    if strides != 1 or inputs.shape[-1] != filters:
        shortcut = norm()(layers.Conv2D(filters, 1, strides=strides)(inputs))
        shortcut = layers.ReLU()(shortcut) if relu_on_projection else shortcut
    out = layers.Add()([y, shortcut]) if join == "add" else layers.Maximum()([y, shortcut])
    return layers.ReLU()(out) if final_relu else out


def _no_batch_norm(inputs, filters, strides=1):
    return _unit(filters, strides, inputs, bn=False)


def _no_relu_between(inputs, filters, strides=1):
    return _unit(filters, strides, inputs, relu_between=False)


def _stride_on_second(inputs, filters, strides=1):
    return _unit(filters, strides, inputs, stride_first=False)


def _no_final_relu(inputs, filters, strides=1):
    return _unit(filters, strides, inputs, final_relu=False)


def _maximum(inputs, filters, strides=1):
    return _unit(filters, strides, inputs, join="maximum")


def _relu_on_projection(inputs, filters, strides=1):
    return _unit(filters, strides, inputs, relu_on_projection=True)


def _build(fn, in_maps, filters, strides):
    inputs = keras.Input((8, 8, in_maps))
    try:
        out = fn(inputs, filters, strides)
    except Exception as error:  # the learner's code: turned into a message below
        return None, error
    if out is ...:
        return ..., None
    if out is None:
        raise Mistake("residual_block returned None: did you forget `return` before the unit's output?")
    if not isinstance(out, keras.KerasTensor):
        raise Mistake(f"residual_block should return the unit's output tensor (a Keras tensor), not "
                      f"{type(out).__name__}.")
    try:
        return keras.Model(inputs, out), None
    except Exception as error:  # e.g. an output not computed from `inputs`
        raise Mistake(f"Your unit's output is not computed from `inputs` ({type(error).__name__}: {error}).") from None


def _zero_3x3(model):
    """Every 3x3 kernel at zero, wherever it sits (nested models, custom layers): the branch outputs 0."""
    for weight in model.weights:
        if len(weight.shape) == 4 and tuple(weight.shape[:2]) == (3, 3):
            weight.assign(np.zeros(tuple(weight.shape), weight.dtype))
    return model


def _run(model, x):
    return np.asarray(model(x, training=False), dtype=np.float64)


def _changed(model, x, moved):
    """Per output pixel: does the output change when the input changes to ``moved``? (h, w) booleans."""
    return (np.abs(_run(model, moved) - _run(model, x)) > 1e-6).any(axis=(0, 3))


def _ones_ish(model, rng):
    """Every 1-D trainable weight (BN's γ and β, biases) drawn from 0.5..1.5: the branch's constant output with
    the 3x3 kernels at zero is then a positive number per map, not 0."""
    for weight in model.trainable_weights:
        if len(weight.shape) == 1:
            weight.assign(rng.uniform(0.5, 1.5, size=tuple(weight.shape)).astype(weight.dtype))
    return model


def _affine_gap(model, x):
    """Where the unit's outputs for x, -x and 0 are all positive (the final ReLU passes them), an affine unit gives
    out(x) + out(-x) = 2 out(0). Returns (how many such values, the largest gap there)."""
    plus, minus, zero = _run(model, x), _run(model, -x), _run(model, np.zeros_like(x))
    mask = (plus > 1e-3) & (minus > 1e-3) & (zero > 1e-3)
    gap = np.abs(plus + minus - 2 * zero)[mask]
    return int(mask.sum()), float(gap.max()) if gap.size else 0.0


def _reached_rows(model, x, row, rng):
    """The output rows that change when input row ``row`` changes (every column, every map)."""
    moved = x.copy()
    moved[:, row, :, :] += rng.normal(size=moved[:, row].shape).astype(np.float32) * 3
    return np.nonzero(_changed(model, x, moved).any(axis=1))[0]


def _check_block(fn):
    if not callable(fn):
        raise Mistake("Pass your function itself (residual_block, without parentheses).")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 8, 8, 4)).astype(np.float32)  # with negative values
    same, error = _build(fn, 4, 4, 1)
    if same is ...:
        raise NotAttempted
    if error is not None:
        raise Mistake(f"Building the unit with 4 maps in, 4 out, stride 1 raised {type(error).__name__}: {error}")
    wider, error = _build(fn, 4, 8, 1)
    if error is not None:
        raise Mistake("With 4 maps in and 8 out (stride 1) your unit cannot add its shortcut: when the number of "
                      "maps changes, the shortcut needs a 1x1 convolution (+ BN) to the new number of maps.")
    down, error = _build(fn, 4, 8, 2)
    if error is not None:
        raise Mistake("With stride 2 your unit cannot add its shortcut: the branch output is 4x4 but the shortcut "
                      "is 8x8. The 1x1 projection must use the same stride as the first 3x3 convolution.")
    for model, shape in ((same, (None, 8, 8, 4)), (wider, (None, 8, 8, 8)), (down, (None, 4, 4, 8))):
        if tuple(model.output_shape) != shape:
            raise Mistake(f"Your unit's output shape is {tuple(model.output_shape)}; expected {shape}.")
    for model in (same, wider, down):
        if _run(model, x).min() < 0:
            if (_run(same, x) - x).min() >= -1e-6:  # out - x = relu(F(x)) >= 0: the ReLU sits on the branch
                raise Mistake("Your unit outputs negative values: the ReLU comes after the addition, "
                              "relu(F(x) + x), not on F(x) before it.")
            raise Mistake("Your unit outputs negative values: no ReLU comes last. End the unit with a ReLU on the "
                          "sum, relu(F(x) + shortcut).")
    if all(np.allclose(np.asarray(m(x, training=True)), _run(m, x), atol=1e-6) for m in (same, wider, down)):
        raise Mistake("Your unit gives the same output in training and in inference: it has no batch "
                      "normalization (which normalises by the batch's statistics while training). Follow each "
                      "convolution, the 1x1 projection too, with BatchNormalization().")
    # the branch: two 3x3 convolutions in a row, so one input pixel reaches the outputs within 2 pixels of it.
    # Generic weights first: a zero-initialised last γ (Goyal et al.), say, would hide the branch.
    for weight in same.trainable_weights:
        weight.assign(rng.normal(0, 0.5, size=tuple(weight.shape)).astype(weight.dtype))
    moved = x.copy()
    moved[:, 4, 4, :] += rng.normal(size=(4, 4)).astype(np.float32) * 3
    reach = _changed(same, x, moved)
    rows, cols = np.nonzero(reach)
    distance = np.maximum(np.abs(rows - 4), np.abs(cols - 4))
    if distance.size and distance.max() > 2:
        raise Mistake(f"A change of one input pixel reaches output pixels {distance.max()} away: two 3x3 "
                      "convolutions in a row (stride 1) reach 2 pixels, so the branch has more than two of them.")
    if not (distance == 2).any():
        raise Mistake("A change of one input pixel reaches only its direct neighbours in the output: the "
                      "branch should be two 3x3 convolutions in a row, which reach 2 pixels away.")
    # a ReLU between the two convolutions makes the branch non-linear; without it the unit is affine wherever
    # its final ReLU passes the values
    count, gap = _affine_gap(same, x * 3)
    if count and gap < 1e-4:
        raise Mistake("Your branch is linear: with generic weights, wherever the final ReLU passes, out(x) + out(-x) "
                      "= 2·out(0). Put a ReLU between the two convolutions: conv, BN, ReLU, conv, BN.")
    # with the 3x3 kernels at zero the branch outputs 0 and only the shortcut is left: relu(shortcut(x))
    same, _ = _build(fn, 4, 4, 1)  # its initial weights again
    out = _run(_zero_3x3(same), x)
    if not out.any():
        raise Mistake("With the 3x3 convolutions' weights at zero your unit outputs only zeros: the shortcut is "
                      "missing. A residual unit adds its input (the identity shortcut) to the branch's output.")
    if not np.allclose(out, np.maximum(x, 0), atol=1e-5):
        raise Mistake("With 4 maps in and out, stride 1, and the 3x3 convolutions' weights at zero (the branch "
                      "outputs 0), a residual unit returns relu(x); yours does not. Is the input itself added "
                      "(the identity shortcut)? A projection belongs only where the shape changes.")
    # the sum: with the 3x3 kernels at zero the branch outputs a constant c per map (its last β, bias), so a
    # sum gives relu(x + c); c is read off a large input, where the final ReLU passes everything
    _ones_ish(same, rng)
    high = 10.0
    c = _run(same, np.full_like(x, high))[0, 4, 4] - high
    if not np.allclose(_run(same, x), np.maximum(x + c, 0), atol=1e-4):
        raise Mistake("Your unit does not add the branch to the shortcut: with the 3x3 weights at zero the branch "
                      "outputs a constant c per map, so the sum gives relu(x + c), and yours does not (a Maximum, "
                      "a product or a concatenation instead of the sum?). Add them: layers.Add() or y + shortcut.")
    _zero_3x3(wider)
    moved = x.copy()
    moved[:, 4, 4, :] += 3.0
    reach = _changed(wider, x, moved)
    if not reach.any():
        raise Mistake("With 4 maps in and 8 out and the 3x3 weights at zero, your unit's output ignores its "
                      "input: the shortcut must carry it, through a 1x1 convolution (+ BN) to 8 maps.")
    if reach.sum() != 1 or not reach[4, 4]:
        raise Mistake("With 4 maps in and 8 out, the shortcut should be a 1x1 convolution (+ BN): with the 3x3 "
                      "weights at zero, a change of one input pixel should change only that pixel's output.")
    _ones_ish(wider, rng)  # the branch a positive constant c: relu(c + BN(conv1x1(x))) is affine where positive
    count, gap = _affine_gap(wider, x * 3)
    if count and gap > 1e-3:
        raise Mistake("Your projection shortcut is not linear: with the 3x3 weights at zero, wherever the output "
                      "is positive, out(x) + out(-x) should equal 2·out(0), and yours differ. The projection is a "
                      "1x1 convolution and batch normalization, with no ReLU: the only ReLUs are between the "
                      "convolutions and after the sum.")
    # where the stride sits: stride 2 in the first 3x3 makes an output see 7 input rows (3 + 2·2), so one input
    # row reaches up to 4 output rows; stride 2 in the second sees 5 rows and reaches at most 3.
    for weight in down.trainable_weights:
        weight.assign(rng.normal(0, 0.5, size=tuple(weight.shape)).astype(weight.dtype))
    reach = max(len(_reached_rows(down, x, row, rng)) for row in (3, 4))
    if reach < 4:
        raise Mistake(f"With stride 2, one input row reaches at most {reach} output rows of your unit: the stride "
                      "sits in the second 3x3 convolution. Put it in the first, Conv2D(filters, 3, strides=strides), "
                      "as in ResNet, so the second convolution works on the smaller map.")
    down, _ = _build(fn, 4, 8, 2)  # its initial weights again
    _zero_3x3(down)
    between = x.copy()
    between[:, 1::2, :, :] = rng.normal(size=between[:, 1::2].shape)  # the pixels a stride-2 1x1 skips
    between[:, :, 1::2, :] = rng.normal(size=between[:, :, 1::2].shape)
    kept = x.copy()
    kept[:, ::2, ::2, :] += 3.0  # the pixels it reads
    if not _changed(down, x, kept).any():
        raise Mistake("With stride 2 and the 3x3 weights at zero, your unit's output ignores its input: the "
                      "shortcut must carry it, through a 1x1 convolution with stride 2 (+ BN).")
    if _changed(down, x, between).any():
        raise Mistake("With stride 2, the shortcut should be a 1x1 convolution with stride 2 (a projection): it "
                      "reads every second pixel, and with the 3x3 weights at zero your unit's output also "
                      "depends on the pixels in between.")


q1 = CustomExercise(
    "residual_block(inputs, filters, strides): a residual unit with a projection shortcut",
    _check_block,
    planted=[(_no_projection, "when the number of maps changes, the shortcut needs a 1x1 convolution"),
             (_projection_without_stride, "must use the same stride as the first 3x3"),
             (_relu_before_add, "the ReLU comes after the addition"),
             (_no_shortcut, "the shortcut is missing"),
             (_always_projection, "Is the input itself added (the identity shortcut)?"),
             (_one_convolution, "reaches only its direct neighbours"),
             (_pooled_shortcut, "also depends on the pixels in between"),
             (_no_batch_norm, "it has no batch normalization"),
             (_no_relu_between, "Put a ReLU between the two convolutions"),
             (_stride_on_second, "the stride sits in the second 3x3 convolution"),
             (_no_final_relu, "no ReLU comes last"),
             (_maximum, "does not add the branch to the shortcut"),
             (_relu_on_projection, "Your projection shortcut is not linear")],
    reference_answer=residual_block,
    note="Identity shortcut when the shape stays, 1x1 projection (same stride) when it changes, ReLU after the sum.",
    hint="Keep `shortcut = inputs`; if `strides != 1` or `inputs.shape[-1] != filters`, replace it by "
         "Conv2D(filters, 1, strides=strides) + BatchNormalization. Add the two, then apply the ReLU.",
    solution=residual_block,
    todo="write the body of residual_block (replace `return ...`), then run the cell.",
)


# q2: trainable parameters of the first unit of ResNet-34's stage 2 (64 -> 128 maps, stride 2, option B).
def _unit_counts():
    inputs = keras.Input((56, 56, 64))
    return param_counts(keras.Model(inputs, resnet.residual_unit(inputs, 128, 2, name="u")))


_CONVS = 3 * 3 * 64 * 128 + 3 * 3 * 128 * 128
_BN = 2 * 128
_PROJ = 64 * 128
_EXPECTED = _CONVS + 2 * _BN + _PROJ + _BN
_TOTAL, _TRAINABLE, _MOVING = _unit_counts()
assert _TRAINABLE == _EXPECTED  # the builder and the formula agree

q2 = ValueExercise(
    "Trainable parameters of a basic residual unit, 64 -> 128 maps, stride 2, projection shortcut",
    _TRAINABLE,
    mistakes={
        _CONVS + 2 * _BN: "You left out the shortcut: the shape changes, so it is a 1x1 projection, "
                          "64 x 128 weights plus its BN's 2 x 128.",
        _EXPECTED - _BN: "The projection's 1x1 convolution is counted, but not the BN after it (2 x 128).",
        _CONVS + _PROJ: "Only the convolutions: each of the three BN layers adds a scale and a shift per map.",
        _TOTAL: "That is count_params(): it includes BN's moving mean and variance, which are not trained.",
        _EXPECTED + 3 * 128: "The convolutions have no bias here (BN follows each one and adds its own shift).",
        2 * 3 * 3 * 128 * 128 + 2 * _BN + _PROJ + _BN: "The first 3x3 convolution reads the unit's 64 input maps, "
                                                       "not 128: its kernel is 3 x 3 x 64 x 128.",
    },
    note=f"3·3·64·128 + 3·3·128·128 = {_CONVS:,} conv weights, + 64·128 = {_PROJ:,} projection weights, "
         f"+ 3 BN layers x 2 x 128 = {3 * _BN} = {_EXPECTED:,}.",
    hint="Count each convolution's kernel (height x width x maps in x maps out, no bias), each BN's scale and shift "
         "(2 per map), and the projection on the shortcut.",
    solution=f"`3*3*64*128 + 3*3*128*128 + 64*128 + 3*2*128 = {_EXPECTED:,}`. Check it with "
             "`param_counts(keras.Model(inputs, residual_unit(inputs, 128, 2)))[1]` on a 64-map input; "
             f"`count_params()` gives {_TOTAL:,} because it adds the {_MOVING} moving statistics.",
)

q3 = ChoiceExercise(
    "What is the degradation problem?",
    choices={
        "a": "It overfits: its training error is lower than the shallower net's, but its test error is higher.",
        "b": "Its gradients vanish on the way down, so its first layers stop learning almost from the start.",
        "c": "It has too many parameters for the size of its training set, so it memorises the training images.",
        "d": "Its training error is higher, though copying the shallower net would do: an optimisation difficulty.",
    },
    correct="d",
    feedback={
        "a": "Overfitting would mean a *lower* training error. The deeper plain nets had a higher training error "
             "too (the paper's Fig. 1 and 4), so it is not overfitting.",
        "b": "The paper checked: with batch normalisation the forward signals and the gradients kept healthy "
             "norms. The plain nets still learned, only more slowly and to a worse fit.",
        "c": "Too many parameters would show as overfitting (low training error, high test error). And ResNet-34 "
             "has as many parameters as plain-34 with option A, yet trains better.",
    },
    note="He et al.: the deeper plain nets have higher training error; shortcuts make the extra layers' "
         "identity the easy starting point.",
    hint="Ask which error goes up: the training error or only the test error?",
    solution="**d**. The deeper plain net fits its own training data worse (higher training error, Fig. 1 and 4 "
             "of He et al. 2015), although a solution at least as good exists (the shallower net plus identity "
             "layers). Overfitting would lower the training error; the gradients were checked and were healthy.",
)


# q4 (investigation): zero-initialised gamma against gamma = 1 in the residual branches.
def _zero_gammas(model) -> int:
    """How many BatchNormalization layers start with every gamma at 0."""
    return sum(isinstance(layer, layers.BatchNormalization) and layer.scale
               and not np.any(layer.gamma.numpy()) for layer in all_layers(model))


def _batch_norms(model) -> list:
    return [layer for layer in all_layers(model) if isinstance(layer, layers.BatchNormalization)]


def _initial_loss(model, x, y) -> float:
    return float(np.mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))))


def _check_zero_gamma(answer):
    build = answer["build"]
    if not callable(build):
        raise Mistake(f"'build' should be your function of zero_init (its name, without parentheses), "
                      f"not {type(build).__name__}.")
    fresh = {}
    try:
        for zero in (False, True):  # each from seed 0, as the cell builds the two networks it trains
            keras.utils.set_random_seed(0)
            fresh[zero] = build(zero)
    except Exception as error:  # the learner's code: reported in one line
        raise Mistake(f"build(...) raised {type(error).__name__}: {error}") from None
    for zero, model in fresh.items():
        if model is ... or not isinstance(model, keras.Model):
            raise Mistake(f"build({zero}) returned {short(model)}: return the network, e.g. small_resnet(...).")
    if _zero_gammas(fresh[False]):
        raise Mistake("build(False) already starts some gammas at 0: with zero_init=False every gamma starts at 1, "
                      "as in the chapter's ResNet-32.")
    zeroed = _zero_gammas(fresh[True])
    if not zeroed:
        raise Mistake("build(True) starts no BatchNormalization gamma at 0: pass "
                      "zero_init_residual=zero_init to small_resnet.")
    shapes = [w.shape for w in fresh[False].weights]
    trained = {}
    for key in ("gamma_one", "gamma_zero"):
        model = keras_model(answer, key)
        if [w.shape for w in model.weights] != shapes:
            raise Mistake(f"{key!r} is not the network build() makes (its weights differ in number or shape): "
                          f"train build(False) as 'gamma_one' and build(True) as 'gamma_zero'.")
        trained[key] = model
    if trained["gamma_one"] is trained["gamma_zero"]:
        raise Mistake("'gamma_one' and 'gamma_zero' are the same model: train one network of each kind.")
    branch_ends = [i for i, layer in enumerate(_batch_norms(fresh[True])) if not np.any(layer.gamma.numpy())]
    for key, start in (("gamma_one", 1.0), ("gamma_zero", 0.0)):
        gammas = [_batch_norms(trained[key])[i].gamma.numpy() for i in branch_ends]
        if all(np.all(g == start) for g in gammas):
            raise Mistake(f"In {key!r} the branches' last gammas are all still {start:g}, where they start: has it "
                          f"been trained? Fit both networks the same way before comparing them.")
    x, y = labelled_data(answer, "x_val", "y_val", at_least=300)
    scores = {key: accuracy(model, x, y) for key, model in trained.items()}
    start = {zero: _initial_loss(model, x[:256], y[:256]) for zero, model in fresh.items()}
    return (f"Before training (build(...) after seeding 0, first 256 of your validation digits): loss "
            f"{start[False]:.2f} with gamma = 1, {start[True]:.2f} with {zeroed} gammas at 0 (ln 10 = 2.30). "
            f"After your training, re-scored on your {len(y):,} validation digits: gamma = 1 "
            f"{scores['gamma_one']:.2%}, gamma = 0 {scores['gamma_zero']:.2%} "
            f"(gap {100 * (scores['gamma_zero'] - scores['gamma_one']):+.2f} points, one seed: on its own it cannot "
            f"tell a gap from seed noise; the discussion gives this setup's spread over 5 seeds).")


def _zero_gamma_answer(mistake=None):
    """An honest attempt on toy digits (ResNet-8, to stay quick); ``mistake`` plants one of the usual ones."""
    from utils.investigation import toy_digits

    x, y = toy_digits(1000, seed=1)
    order = np.random.default_rng(0).permutation(700)

    def build(zero_init):
        zero = zero_init and mistake != "no zero init"
        return resnet.small_resnet(units_per_stage=1, filters=(8, 8, 8), shortcut="A", zero_init_residual=zero)

    answer = dict(build=build, x_val=x[700:], y_val=y[700:],
                  explanation="Zero gamma starts each unit as the identity, so the deep net begins as a shallow one.")
    for key, zero in (("gamma_one", False), ("gamma_zero", True)):
        keras.utils.set_random_seed(0)
        model = build(zero)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        if mistake is None:
            model.fit(x[order], y[order], batch_size=32, epochs=2, shuffle=False, verbose=0)
        answer[key] = model
    return answer


_RUN_BATCHES = math.ceil(4000 / 64)  # the notebook cell: 4,000 training digits, batches of 64, 2 epochs
_RUN_STEPS = 2 * _RUN_BATCHES


@functools.lru_cache(maxsize=1)
def _zero_gamma_trained():
    return _zero_gamma_answer()


q4 = Investigation(
    "Investigation: zero-initialised gamma against gamma = 1 in ResNet-32",
    _check_zero_gamma,
    keys=("build", "gamma_one", "gamma_zero", "x_val", "y_val"),
    given=("x_val", "y_val"),
    planted=[(Lazy(lambda: {**_zero_gamma_trained(), "build": _zero_gamma_answer("no zero init")["build"]}),
              "starts no BatchNormalization gamma at 0"),
             (Lazy(lambda: _zero_gamma_answer("untrained")), "has it been trained"),
             (Lazy(lambda: {**_zero_gamma_trained(), "gamma_zero": resnet.small_resnet(units_per_stage=2)}),
              "is not the network build() makes")],
    reference_answer=Lazy(lambda: _zero_gamma_trained()),
    discussion=(
        "With gamma = 1 each unit adds an order-1 branch output F(x) to what it passes on, so the signal grows "
        "from unit to unit and the untrained network starts with confident, mostly wrong predictions: the "
        "initial loss sits above ln 10, as the chapter's start-up cell printed. With the last gamma of every "
        "branch at 0, F(x) = 0 at the start and each unit is the identity (after its ReLU): the deep network "
        "starts as its stem and classifier, near ln 10, and the branches grow in as training needs them. "
        "The price shows in a short run: a branch whose last gamma is 0 passes no gradient to its own "
        "convolutions, so at first only the gammas, the stem and the classifier learn, and the network trains "
        "as a shallow one until the gammas have grown. The course's run of this cell (the full MNIST, 5 seeds, "
        "2 epochs on 4,000 digits, 1,000 validation digits) gave initial losses 2.72 to 3.87 with gamma = 1 and "
        "2.31 to 2.34 with gamma = 0, and then validation accuracies of 80 to 93 % (gamma = 1) against 27 to 44 % "
        "(gamma = 0): every seed behind, by 47 to 54 points. Goyal et al. (2017) introduced zero gamma for "
        "90 epochs of ResNet-50 on ImageNet with very large minibatches, where a calm start matters and the "
        f"{_RUN_STEPS} steps of this run (2 epochs of {_RUN_BATCHES} batches of 64) are nothing; "
        "it changes the start, not the architecture, and after the first steps gamma is no longer 0. "
        "So a one-seed gap of about 50 points lies far outside the seeds' spread (13 and 17 points) and already "
        "separates them; a gap of a few points would not."),
    hint="Copy the ResNet-32 line of BUILDERS and add zero_init_residual=zero_init to the small_resnet(...) call. "
         "The training loop is in the cell.",
    solution="`build(zero_init)` returns the ResNet-32 of `BUILDERS` with `zero_init_residual=zero_init` added "
             "(`small_resnet(units_per_stage=5, filters=FILTERS, shortcut=\"A\", zero_init_residual=zero_init)`); "
             "train `build(False)` and `build(True)` from the same seed on the same "
             "batches and let the check re-score them. Report the initial losses it prints, the accuracy gap, and "
             "whether one seed can separate them.",
    todo="write build(zero_init) and your explanation, then run the cell (it trains two ResNet-32s, about a minute).",
)
