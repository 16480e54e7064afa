"""Exercises for notebook 08 (GoogLeNet and the inception module): definitions, references, planted mistakes."""
from __future__ import annotations

import math

from lessons.googlenet import GOOGLENET_MODULES
from utils.checker import ChoiceExercise, FunctionExercise, Lazy, ValueExercise
from utils.convmath import conv_macs
from utils.investigation import Investigation


# q1: the multiply-adds of one inception branch, with and without its 1x1 bottleneck.
def branch_macs(height, width, in_maps, kernel, out_maps, reduce=None):
    """Multiply-adds of a 'same'-padded kernel x kernel convolution, after an optional 1x1 reduction."""
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * in_maps * reduce + height * width * kernel * kernel * reduce * out_maps


def _forgot_the_1x1(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * kernel * kernel * reduce * out_maps


def _counted_params(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return kernel * kernel * in_maps * out_maps
    return in_maps * reduce + kernel * kernel * reduce * out_maps


def _kxk_reads_the_input(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * in_maps * reduce + height * width * kernel * kernel * in_maps * out_maps


def _1x1_at_kernel_size(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * kernel * kernel * (in_maps * reduce + reduce * out_maps)


def _flops(height, width, in_maps, kernel, out_maps, reduce=None):  # a multiply and an add counted apart
    return 2 * branch_macs(height, width, in_maps, kernel, out_maps, reduce)


def _with_biases(height, width, in_maps, kernel, out_maps, reduce=None):  # + one add per output value (the bias)
    outputs = height * width * (out_maps + (reduce or 0))
    return branch_macs(height, width, in_maps, kernel, out_maps, reduce) + outputs


_BRANCH_CASES = [(28, 28, 192, 5, 32, 16), (28, 28, 192, 5, 32, None), (28, 28, 192, 3, 128, 96),
                 (14, 14, 528, 5, 128, 32), (7, 7, 832, 3, 384, 192), (10, 6, 64, 3, 32, 8), (7, 7, 832, 5, 128, None)]

q1 = FunctionExercise(
    "branch_macs(height, width, in_maps, kernel, out_maps, reduce): an inception branch's multiply-adds",
    reference=branch_macs,
    cases=_BRANCH_CASES,
    mistakes=[
        (_forgot_the_1x1, "Your bottlenecked branch is too cheap: you forgot the 1×1 layer's own cost, "
                          "height × width × in_maps × reduce multiply-adds."),
        (_counted_params, "You counted weights, not multiply-adds: each weight is used once per output pixel, "
                          "so multiply by height × width."),
        (_kxk_reads_the_input, "After the bottleneck the k×k convolution reads the reduce maps, not the in_maps: "
                               "that is the whole saving."),
        (_1x1_at_kernel_size, "The 1×1 convolution costs in_maps multiply-adds per output value, not "
                              "kernel × kernel × in_maps: its kernel is 1×1."),
        (_flops, "Your counts are twice the multiply-adds: that counts FLOPs, a multiply and an add apart. The "
                 "question counts a multiply-add as one operation."),
        (_with_biases, "Your counts add one operation per output value for the biases: the question counts only "
                       "the multiply-adds of the kernels, height × width × k × k × in_maps × out_maps per layer."),
    ],
    hint="A 'same'-padded k×k convolution from c_in to c_out maps on an h×w map costs h·w·k·k·c_in·c_out "
         "multiply-adds. With a bottleneck, add the 1×1 (c_in → reduce) and the k×k (reduce → c_out).",
    solution=branch_macs,
)


# q2: the widest bottleneck that cuts module 4e's 5x5 branch tenfold.
_H, _CIN, _K, _COUT, _FACTOR = 14, 528, 5, 128, 10
_DIRECT = conv_macs((_H, _H), _K, _CIN, _COUT, padding="same")
_WIDEST = max(r for r in range(1, _CIN + 1)
              if _FACTOR * branch_macs(_H, _H, _CIN, _K, _COUT, r) <= _DIRECT)
_BOUND = 25 * _CIN * _COUT / (_FACTOR * (_CIN + 25 * _COUT))
_F5R_4E = GOOGLENET_MODULES["4e"][3]  # the paper's 1x1 reduction before 4e's 5x5
_PAPER_SAVING = _DIRECT / branch_macs(_H, _H, _CIN, _K, _COUT, _F5R_4E)

q2 = ValueExercise(
    "The most 1x1 maps r for which module 4e's 5x5 branch (14x14x528 -> 128 maps) costs at least 10 times less",
    _WIDEST,
    mistakes={
        _CIN // _FACTOR: "That leaves out the 1×1 layer's own cost: with r maps it adds 14·14·528·r multiply-adds, "
                         "so r must be smaller than 528 / 10.",
        _WIDEST + 1: f"{_WIDEST + 1} maps cost a little more than a tenth: round down, the bound is "
                     f"{_BOUND:.2f}.",
    },
    note=f"r·(528 + 25·128) ≤ 25·528·128 / 10 gives r ≤ {_BOUND:.2f}, "
         f"so {_WIDEST}. The paper uses {_F5R_4E}.",
    hint="Direct: 14·14·25·528·128. Bottlenecked: 14·14·r·(528 + 25·128). Find the largest whole r with "
         "10 × bottlenecked ≤ direct (the 14·14 cancels).",
    solution=f"`r ≤ 25·528·128 / (10·(528 + 25·128)) = {_BOUND:.2f}`, "
             f"so **{_WIDEST}** maps. (GoogLeNet's 4e uses {_F5R_4E}, a {_PAPER_SAVING:.1f}× saving.)",
)


# q3: the output shape of inception module 4e.
_F1, _F3R, _F3, _F5R, _F5, _PP = GOOGLENET_MODULES["4e"]
_OUT = _F1 + _F3 + _F5 + _PP

q3 = ValueExercise(
    "Output shape (height, width, channels) of inception module 4e on its 14x14x528 input",
    (14, 14, _OUT),
    mistakes={
        (14, 14, _F1 + _F3R + _F3 + _F5R + _F5 + _PP): "You also counted the 1×1 reduce layers' maps: they feed the "
                                                       "3×3 and 5×5 convolutions and are not part of the output.",
        (14, 14, _F1 + _F3 + _F5 + 528): "That is the naive module, whose pool branch passes its 528 input maps "
                                         f"through. Here the pool branch ends with a 1×1 projection to {_PP} maps.",
        (14, 14, _F1 + _F3 + _F5): "Four branches are concatenated: you left out the pool branch's 1×1 projection.",
        (7, 7, _OUT): "Every branch has stride 1 and 'same' padding: the module keeps 14×14. The max pools between "
                      "the stages halve the size, not the modules.",
    },
    note=f"{_F1} + {_F3} + {_F5} + {_PP} = {_OUT} maps, at the input's 14×14.",
    hint="Only the last layer of each of the four branches reaches the depth concatenation; stride 1 and "
         "'same' padding keep the height and width.",
    solution=f"`(14, 14, {_F1} + {_F3} + {_F5} + {_PP}) = (14, 14, {_OUT})`; check with "
             "`inception_module(keras.Input((14, 14, 528)), *GOOGLENET_MODULES['4e']).shape` "
             "(both written in notebook 8, importable from `lessons.googlenet`).",
)


# q4: global average pooling against flattening.
_GAP_HEAD = 1024 * 1000 + 1000
_FLAT_HEAD = 7 * 7 * 1024 * 1000 + 1000

q4 = ChoiceExercise(
    f"GoogLeNet's classifier has about 1 million parameters, against {_FLAT_HEAD / 1e6:.1f} million if its "
    f"7×7×1,024 final maps were flattened into the 1,000-way layer. Why?",
    choices={
        "a": "Global average pooling has learnable weights of its own that do the work of a flattened dense layer.",
        "b": "Global average pooling makes each final 7×7 map one number: the classifier reads 1,024 inputs, not "
             "50,176.",
        "c": "Global average pooling shrinks each 7×7 map to 3×3: the classifier reads 9,216 inputs, not 50,176.",
        "d": "Global average pooling keeps where in the image each feature was found, so the classifier needs fewer "
             "weights.",
    },
    correct="b",
    feedback={
        "a": "Global average pooling has no weights at all: it only averages each map.",
        "c": f"Global average pooling does not shrink a map to 3×3: it averages all 49 positions into one "
             f"number. The 1,000-way layer then reads 1,024 inputs, not {7 * 7 * 1024:,} ({_FLAT_HEAD:,} "
             f"parameters), nor 3×3×1,024 = {3 * 3 * 1024:,}.",
        "d": "It is the opposite: averaging a map throws away where the feature was, keeping only how strongly "
             "it was present.",
    },
    note=f"1,024 × 1,000 + 1,000 = {_GAP_HEAD:,} parameters after pooling; {_FLAT_HEAD:,} if the 7×7×1,024 "
         f"maps were flattened ({_FLAT_HEAD / _GAP_HEAD:.0f}× more).",
    hint="Count the inputs of the dense layer in each case.",
    solution=f"**b**. After global average pooling the classifier has 1,024 × 1,000 + 1,000 = {_GAP_HEAD:,} "
             f"parameters; flattening 7×7×1,024 maps would need {_FLAT_HEAD:,}. The pooling itself has none, "
             "and it discards where a feature was.",
)
assert math.isclose(_GAP_HEAD, 1_025_000)


# q5 (investigation): the weight of the auxiliary losses, and the gradient that reaches conv1.
def _check_aux_weights(answer):
    import numpy as np

    from utils.checker import Mistake

    norms = answer["norms"]
    if not isinstance(norms, dict):
        raise Mistake(f"'norms' should be a dict {{weight: gradient norm}}, not {type(norms).__name__}.")
    try:
        weights = np.array([float(w) for w in norms], dtype=float)
        values = np.array([float(v) for v in norms.values()], dtype=float)
    except (TypeError, ValueError):
        raise Mistake("'norms' should map each auxiliary-loss weight (a number) to the gradient norm you "
                      "measured (a number).") from None
    if len(norms) < 4:
        raise Mistake(f"Measure at least 4 weights ({len(norms)} given), e.g. 0, 0.1, 0.3 and 1: with fewer, the "
                      f"shape of the curve stays hidden.")
    if 0 not in weights or 0.3 not in np.round(weights, 6):
        raise Mistake("Include the weight 0 (the main loss alone: the baseline) and the paper's 0.3.")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise Mistake("Every gradient norm should be a positive number: tf.linalg.global_norm of the gradients.")
    # One network, one batch, one forward pass: the gradient of main + w * aux is g_main + w * g_aux, so its
    # squared norm is exactly a quadratic in w. Fit it and check what the fit misses.
    design = np.stack([np.ones_like(weights), weights, weights**2], axis=1)
    coef, *_ = np.linalg.lstsq(design, values**2, rcond=None)
    misfit = np.abs(design @ coef - values**2).max() / (values**2).max()
    if misfit > 1e-3:
        raise Mistake(f"Your norms are not those of one gradient computation: for one network, batch and forward "
                      f"pass, the gradient of main + w·aux is g_main + w·g_aux, so the squared norm is a quadratic "
                      f"in w, and yours misses one by {misfit:.1%}. Compute every weight's loss from the same forward "
                      f"pass (one persistent GradientTape; dropout draws new masks on every call).")
    base = values[weights == 0][0]
    ratios = {w: v / base for w, v in sorted(zip(weights, values))}
    aux_over_main = math.sqrt(max(coef[2], 0)) / base
    return ("Consistent with one gradient computation (squared norm quadratic in the weight). Ratio to the main "
            "loss alone: " + ", ".join(f"w = {w:g}: {r:.2f}" for w, r in ratios.items())
            + f". The auxiliary gradients alone are {aux_over_main:.1f} times the main one at conv1.")


def _aux_answer(separate_passes=False):
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    conv1 = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")
    hidden = keras.layers.Conv2D(8, 3, activation="relu")(conv1(inputs))
    main = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(keras.layers.Dropout(0.5)(hidden)))
    aux = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(hidden))
    net = keras.Model(inputs, [main, aux])
    batch = np.random.default_rng(0).normal(size=(4, 16, 16, 3)).astype("float32")
    labels = np.arange(4)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    norms = {}
    with tf.GradientTape(persistent=True) as tape:
        main_out, aux_out = net(batch, training=True)
        losses = [loss_fn(labels, main_out), loss_fn(labels, aux_out)]
        for w in (0, 0.1, 0.3, 1.0):
            if separate_passes:  # a fresh forward pass for each weight: new dropout masks
                main_out, aux_out = net(batch, training=True)
                losses = [loss_fn(labels, main_out), loss_fn(labels, aux_out)]
            norms[w] = losses[0] + w * losses[1]
    norms = {w: float(tf.linalg.global_norm(tape.gradient(loss, conv1.trainable_weights))) for w, loss in norms.items()}
    return dict(norms=norms, explanation="The auxiliary heads sit closer to conv1, so their gradient adds a lot.")


q5 = Investigation(
    "Investigation: how much the auxiliary losses' weight changes the gradient reaching conv1",
    _check_aux_weights,
    keys=("norms",),
    planted=[(Lazy(lambda: _aux_answer(separate_passes=True)), "not those of one gradient computation"),
             ({"norms": {0: 1.0, 0.3: 2.0, 1: 3.0}, "explanation": ""}, "Measure at least 4 weights"),
             ({"norms": {0.1: 1.0, 0.3: 2.0, 1: 3.0, 3: 5.0}, "explanation": ""}, "Include the weight 0")],
    reference_answer=Lazy(_aux_answer),
    discussion=(
        "The gradient of main + w·(aux_4a + aux_4d) is the main gradient plus w times the heads' gradient, so "
        "the ratio to the main loss alone grows from 1 at w = 0 and, once the heads' part dominates, almost in "
        "proportion to w. At conv1 the heads' gradient is much larger than the main one, because their paths "
        "back to conv1 are much shorter, so even the paper's 0.3 multiplies the gradient several times: the "
        "chapter's table, over 5 initialisations (seeds 0 to 4) and the same 8 views, printed a ratio of 4.31 "
        "on average at w = 0.3, from 3.13 to 5.95 across seeds. This cell measures one network (seed 0), so "
        "its ratio at 0.3 is one draw from that spread; at the other weights it moves almost in proportion to "
        "w, as the sum above says it must once the heads' part dominates. That is the "
        "effect Szegedy et al. wanted at initialisation, and the "
        "reason for a small weight: with w = 1 the lower layers would be trained mostly for the heads' "
        "classifiers rather than for the main one. The heads are discarded at inference. Later work (the "
        "Inception v3 paper) found they acted more as regularisers than as gradient boosters, and batch "
        "normalisation made deep networks trainable without them; the measurement here is at initialisation "
        "only and says nothing about the accuracy after training."),
    hint="Copy the chapter's seed loop for one seed: one forward pass with net(batch, training=True) inside a "
         "persistent GradientTape, then for each w the loss main_loss + w * (aux_4a loss + aux_4d loss), and "
         "tf.linalg.global_norm(tape.gradient(loss, conv1 weights)).",
    solution="Inside one `tf.GradientTape(persistent=True)`, run `googlenet(aux=True)` once on the batch "
             "(training=True) and compute the three losses; then for each weight w take the gradient of "
             "`main_loss + w * (aux_4a_loss + aux_4d_loss)` with respect to the conv1 weights and its "
             "`tf.linalg.global_norm`. Return `{w: norm}`.",
    todo="write conv1_gradient_norms() and your explanation, then run the cell (one network: ~10 s).",
)
