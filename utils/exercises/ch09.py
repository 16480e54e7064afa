"""Exercises for notebook 09 (ResNet): a residual unit with a projection shortcut, a parameter count, degradation."""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from utils import architectures as arch
from utils import resnet
from utils.checker import ChoiceExercise, CustomExercise, Mistake, NotAttempted, ValueExercise


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
    return keras.Model(inputs, out), None


def _zeroed(model):
    # every kernel and bias at zero: the branch and any projection output 0, the identity shortcut stays
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    return model


def _check_block(fn):
    if not callable(fn):
        raise Mistake("Pass your function itself (residual_block, without parentheses).")
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 4)).astype(np.float32)  # with negative values
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
        if not any(isinstance(layer, layers.Add) for layer in model.layers):
            raise Mistake("There is no Add layer: a residual unit adds the shortcut to the branch's output "
                          "(layers.Add()([y, shortcut])).")
    if not any(isinstance(layer, layers.Conv2D) and layer.kernel_size == (1, 1) and layer.strides == (2, 2)
               for layer in down.layers):
        raise Mistake("With stride 2, the shortcut should be a 1x1 convolution with stride 2 (a projection).")
    out = np.asarray(_zeroed(same)(x, training=False))
    if out.min() < 0:
        raise Mistake("Your unit outputs negative values: the ReLU comes after the addition, "
                      "relu(F(x) + x), not on F(x) before it.")
    if not np.allclose(out, np.maximum(x, 0), atol=1e-5):
        raise Mistake("With all convolution weights at zero, a residual unit with an identity shortcut should "
                      "return relu(x); yours does not. Is the input itself added (the identity shortcut)?")


q1 = CustomExercise(
    "residual_block(inputs, filters, strides): a residual unit with a projection shortcut",
    _check_block,
    planted=[(_no_projection, "when the number of maps changes, the shortcut needs a 1x1 convolution"),
             (_projection_without_stride, "must use the same stride as the first 3x3"),
             (_relu_before_add, "the ReLU comes after the addition")],
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
    return arch.param_counts(keras.Model(inputs, resnet.residual_unit(inputs, 128, 2, name="u")))


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
             "`arch.param_counts(keras.Model(inputs, resnet.residual_unit(inputs, 128, 2)))[1]` on a 64-map input; "
             f"`count_params()` gives {_TOTAL:,} because it adds the {_MOVING} moving statistics.",
)

q3 = ChoiceExercise(
    "What is the degradation problem?",
    choices={
        "a": "The deeper plain net overfits: its training error is lower, its test error higher.",
        "b": "Its gradients vanish, so its first layers stop learning.",
        "c": "Its training error is higher, although it could copy the shallower net and make the extra layers "
             "the identity: an optimisation difficulty.",
        "d": "It has too many parameters for the training set.",
    },
    correct="c",
    feedback={
        "a": "Overfitting would mean a *lower* training error. The deeper plain nets had a higher training error "
             "too (the paper's Fig. 1 and 4), so it is not overfitting.",
        "b": "The paper checked: with batch normalisation the forward signals and the gradients kept healthy "
             "norms. The plain nets still learned, only more slowly and to a worse fit.",
        "d": "Too many parameters would show as overfitting (low training error, high test error). And ResNet-34 "
             "has as many parameters as plain-34 with option A, yet trains better.",
    },
    note="He et al.: the deeper plain nets have higher training error; shortcuts make the extra layers' "
         "identity the easy starting point.",
    hint="Ask which error goes up: the training error or only the test error?",
    solution="**c**. The deeper plain net fits its own training data worse (higher training error, Fig. 1 and 4 "
             "of He et al. 2015), although a solution at least as good exists (the shallower net plus identity "
             "layers). Overfitting would lower the training error; the gradients were checked and were healthy.",
)
