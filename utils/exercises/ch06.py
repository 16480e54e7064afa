"""Exercises for notebook 06 (LeNet-5): definitions, references, planted mistakes."""
from __future__ import annotations

import math

import numpy as np

from lessons.lenet import C3_CONNECTIONS
from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, Lazy, Mistake, ValueExercise, short
from utils.investigation import Investigation, labelled_data, number


# q1: the parameters of a partially connected convolution such as C3, given its connection table.
def partial_conv_params(connections, kernel=5):
    """Parameters of a convolution whose output map j sees only the input maps listed in connections[j]."""
    weights = sum(kernel * kernel * len(sources) for sources in connections)  # one kernel per connection
    biases = len(connections)  # one bias per output map
    return weights + biases


def _full_connectivity(connections, kernel=5):
    in_maps = 1 + max(max(sources) for sources in connections)
    return kernel * kernel * in_maps * len(connections) + len(connections)


def _no_biases(connections, kernel=5):
    return sum(kernel * kernel * len(sources) for sources in connections)


def _bias_per_connection(connections, kernel=5):
    return sum(kernel * kernel * len(sources) + len(sources) for sources in connections)


CASES = [(C3_CONNECTIONS, 5), (C3_CONNECTIONS, 3), (((0,), (0, 1), (1,)), 5),
         (((0, 1, 2),), 3), (((0, 2), (1, 3), (0, 1, 2, 3)), 5)]

q1 = FunctionExercise(
    "partial_conv_params(connections, kernel): C3's parameter count from its connection table",
    reference=partial_conv_params,
    cases=CASES,
    mistakes=[
        (_full_connectivity, "That is a fully connected convolution (every output map sees every input map, "
                             "2,416 for C3): count one kernel only for each connection listed in the table."),
        (_no_biases, "Your counts are short by one per output map: each C3 map also has one bias."),
        (_bias_per_connection, "You count a bias for each connection: a map has one bias however many input "
                               "maps it sees."),
    ],
    hint="Each listed connection (output map j, input map i) carries one kernel of kernel × kernel weights; "
         "each output map adds one bias.",
    solution=partial_conv_params,
)


# q2: predict S4's output shape when 28x28 digits are zero-padded to 32x32.
def _chain(side, same=False):
    c1 = side if same else convmath.conv_output_size(side, 5)
    s2 = convmath.conv_output_size(c1, 2, 2)
    c3 = s2 if same else convmath.conv_output_size(s2, 5)
    return (convmath.conv_output_size(c3, 2, 2), convmath.conv_output_size(c3, 2, 2), 16)


q2 = ValueExercise(
    "LeNet-5 on a 28×28 digit padded to 32×32: the output shape (height, width, maps) of S4",
    _chain(32),
    mistakes={
        _chain(28): "That is the shape without the padding (28 → 24 → 12 → 8 → 4), or a forgotten +1: the input "
                    "is 32×32, and a 5×5 kernel fits at 32 − 5 + 1 = 28 positions.",
        _chain(32, same=True): "That is with padding='same' convolutions: LeNet-5's convolutions are 'valid', "
                               "each trims 4 pixels.",
        _chain(32)[:2] + (6,): "Height and width are right; S4 pools C3's 16 maps, not S2's 6.",
    },
    note="32 → C1 28 → S2 14 → C3 10 → S4 5: exactly the 5×5 that C5's 5×5 kernels cover once.",
    hint="Each 5×5 'valid' convolution trims 4 pixels (n − 5 + 1); each 2×2 subsampling halves. S4 keeps C3's "
         "number of maps.",
    solution="`32 − 5 + 1 = 28`, `28 / 2 = 14`, `14 − 5 + 1 = 10`, `10 / 2 = 5`, with C3's 16 maps: "
             "**(5, 5, 16)**. `training.layer_table(lenet5_faithful())` prints it.",
)


# q3: the RBF output.
q3 = ChoiceExercise(
    "LeNet-5's RBF output units keep their 7×12 codes fixed. Why, with the plain RBF loss?",
    choices={
        "a": "The RBF units have no gradient with respect to their codes, so the codes could not learn anyway.",
        "b": "Fixed codes keep the squared distance bounded, so the gradients cannot explode in training.",
        "c": "Fixed codes are needed because a smaller distance to a code must mean a more likely class.",
        "d": "If the codes learned, all ten could collapse onto one point: zero loss, no digit told apart.",
    },
    correct="d",
    feedback={
        "a": "The distance Σ(x − w)² depends on w as much as on x: its gradient on the code is −2(x − w). "
             "Keras would train the codes if they were not frozen (trainable=False).",
        "b": "F6's scaled tanh (within ±1.716) already bounds the distance to ±1 codes, so boundedness is not "
             "why the codes are fixed. The danger with learnable codes is collapse.",
        "c": "That says how the output is read (the smallest distance wins), not why the codes must not learn.",
    },
    note="The plain loss only pulls F6's output to the correct code; nothing pushes the codes apart. "
         "LeCun et al. add a term for that (Sec. II-C of the paper).",
    hint="The plain loss is the distance to the correct class's code and nothing else. What would gradient "
         "descent do to the codes if it could move them?",
    solution="**d**. The loss is only the correct code's distance; with learnable codes a collapse of all codes "
             "(and of F6's output) onto one point drives it to zero for every digit.",
)


# q4 (investigation): LeCun's input scaling against plain 0-1 pixels, at the start of training.
SCALING_MIN_SEEDS = 3


def start_gradients(model, x, y):
    """{"C1": |dL/dC1|, "F6": |dL/dF6|, "accuracy"} of ``model`` on (x, y): notebook 06's ``gradient_report``."""
    from lessons.lenet import gradient_report

    report = gradient_report(model, x, y)
    return {key: report[key] for key in ("C1", "F6", "accuracy")}


def _pair(report, where):
    if not isinstance(report, dict) or not {"C1", "F6"} <= set(report):
        raise Mistake(f"{where} should be what gradient_report returns (a dict with 'C1' and 'F6'), not "
                      f"{short(report)}.")
    return {layer: number(report, layer, low=0) for layer in ("C1", "F6")}


def _close(a, b, rel=0.01):
    return all(math.isclose(a[k], b[k], rel_tol=rel, abs_tol=1e-7) for k in ("C1", "F6"))


def _check_scaling(answer):
    import keras

    x_lecun, y = labelled_data(answer, "x_lecun", "y", at_least=300)
    x_plain, _ = labelled_data(answer, "x_plain", "y", at_least=300)
    if x_lecun.shape[1:] != (32, 32, 1) or x_plain.shape != x_lecun.shape:
        raise Mistake(f"'x_lecun' {x_lecun.shape[1:]} and 'x_plain' {x_plain.shape[1:]} should both be padded "
                      f"digits of shape (32, 32, 1): lecun_normalise(...) and pad_images(to_float(...)).")
    if np.array_equal(x_lecun, x_plain):
        raise Mistake("'x_lecun' and 'x_plain' are the same array: the comparison needs the digits scaled "
                      "LeCun's way (lecun_normalise) and the same digits as plain 0-1 pixels.")
    if x_plain.min() < -1e-6 or x_plain.max() > 1 + 1e-6 or not np.allclose(x_lecun, -0.1 + 1.275 * x_plain,
                                                                             atol=1e-4):
        raise Mistake("'x_lecun' should be 'x_plain' with background 0 -> -0.1 and ink 1 -> 1.175 (the same "
                      "digits in the same order): x_lecun = lecun_normalise(raw), x_plain = pad_images("
                      "to_float(raw)).")
    models, lecun, plain = answer["models"], answer["lecun"], answer["plain"]
    for key, value in (("models", models), ("lecun", lecun), ("plain", plain)):
        if not isinstance(value, dict):
            raise Mistake(f"{key!r} should be a dict {{seed: ...}}, not {short(value)}.")
    if len(models) < SCALING_MIN_SEEDS:
        raise Mistake(f"Measure at least {SCALING_MIN_SEEDS} seeds ({len(models)} given): one set of initial "
                      f"weights can be a lucky draw.")
    if set(lecun) != set(models) or set(plain) != set(models):
        raise Mistake(f"'lecun' and 'plain' should have one report per seed of 'models' ({sorted(models)}); "
                      f"they have {sorted(lecun)} and {sorted(plain)}.")
    kernels = {}
    for seed, model in models.items():
        if not isinstance(model, keras.Model):
            raise Mistake(f"models[{seed!r}] should be a Keras model (lenet5_faithful(seed={seed!r})), not "
                          f"{short(model)}.")
        try:
            c1 = model.get_layer("C1")
            model.get_layer("F6")
        except ValueError:
            raise Mistake(f"The model of seed {seed!r} has no layer named 'C1' and 'F6': build it with "
                          f"lenet5_faithful(seed=...).") from None
        if getattr(getattr(c1, "activation", None), "__name__", "") != "lecun_tanh":
            raise Mistake(f"C1 of seed {seed!r} does not use lecun_tanh: measure the faithful LeNet-5 "
                          f"(lenet5_faithful), the network LeCun's scaling was made for.")
        kernels[seed] = np.asarray(c1.kernel)
    seeds = list(models)
    for i, a in enumerate(seeds):
        for b in seeds[i + 1:]:
            if models[a] is models[b] or np.array_equal(kernels[a], kernels[b]):
                raise Mistake(f"The models of seeds {a!r} and {b!r} have the same weights: pass seed=seed to the "
                              f"builder (Keras initialisers with a fixed seed ignore keras.utils.set_random_seed).")
    ratios = {"C1": [], "F6": []}
    for seed in seeds:
        given = {"lecun": _pair(lecun[seed], f"lecun[{seed!r}]"), "plain": _pair(plain[seed], f"plain[{seed!r}]")}
        measured = {"lecun": start_gradients(models[seed], x_lecun, y),
                    "plain": start_gradients(models[seed], x_plain, y)}
        if measured["lecun"]["accuracy"] > 0.5:
            raise Mistake(f"The model of seed {seed!r} already classifies {measured['lecun']['accuracy']:.0%} "
                          f"of your digits: it has been trained. Measure the starting gradients on a freshly "
                          f"built network.")
        for key, other in (("lecun", "plain"), ("plain", "lecun")):
            if _close(given[key], measured[key]):
                continue
            if _close(given[key], measured[other]):
                raise Mistake(f"Your {key!r} numbers for seed {seed!r} are those of the {other} inputs (re-"
                              f"measured here): measure 'lecun' on x_lecun and 'plain' on x_plain, not the same "
                              f"inputs twice.")
            raise Mistake(f"Your {key!r} numbers for seed {seed!r} (C1 {given[key]['C1']:.4g}, F6 "
                          f"{given[key]['F6']:.4g}) are not those of models[{seed!r}]: re-measured here, C1 "
                          f"{measured[key]['C1']:.4g}, F6 {measured[key]['F6']:.4g}. Measure both inputs on the "
                          f"same untrained model, the one you pass in 'models'.")
        for layer in ratios:
            ratios[layer].append(given["lecun"][layer] / given["plain"][layer])
    parts = []
    for layer, r in ratios.items():
        verdict = ("larger with every seed" if min(r) > 1 else "smaller with every seed" if max(r) < 1
                   else "larger or smaller, by seed")
        parts.append(f"{layer}: LeCun / plain {np.mean(r):.2f}x on average (range {min(r):.2f}-{max(r):.2f}x), "
                     f"{verdict}")
    return f"Re-measured on your {len(seeds)} models and {len(y):,} digits. " + "; ".join(parts) + "."


def _scaling_answer(seeds=(0, 1, 2), same_inputs=False, unseeded=False):
    from lessons.lenet import lenet5_faithful
    from utils.investigation import toy_digits

    x, y = toy_digits(500, seed=3, size=32)
    x_lecun = (-0.1 + 1.275 * x).astype("float32")
    models = {seed: lenet5_faithful() if unseeded else lenet5_faithful(seed=seed) for seed in seeds}
    lecun = {seed: start_gradients(model, x_lecun, y) for seed, model in models.items()}
    plain = {seed: start_gradients(model, x_lecun if same_inputs else x, y) for seed, model in models.items()}
    return dict(models=models, lecun=lecun, plain=plain, x_lecun=x_lecun, x_plain=x, y=y,
                explanation="The two scalings give starting gradients of about the same size; the gap changes "
                            "sign from seed to seed, so it is within the noise.")


q4 = Investigation(
    "Investigation: LeCun's input scaling against plain 0-1 pixels, the starting gradients at C1 and F6",
    _check_scaling,
    keys=("models", "lecun", "plain", "x_lecun", "x_plain", "y"),
    given=("x_lecun", "x_plain", "y"),
    planted=[(Lazy(lambda: _scaling_answer(same_inputs=True)), "not the same inputs twice"),
             (Lazy(lambda: _scaling_answer(unseeded=True)), "have the same weights"),
             (Lazy(lambda: _scaling_answer(seeds=(0, 1))), "at least 3 seeds"),
             (Lazy(lambda: {**_scaling_answer(), "x_plain": _scaling_answer()["x_lecun"]}), "the same array")],
    reference_answer=Lazy(_scaling_answer),
    discussion=(
        "LeCun et al. (Sec. II-B) scale the pixels so that the background is −0.1 and the ink 1.175 because "
        "this \"makes the mean input roughly 0, and the variance roughly 1 which accelerates learning\". On "
        "the 55,000 training digits the change is modest: the mean goes from 0.100 to 0.028 and the standard "
        "deviation from 0.275 to 0.351 (the chapter's data cell prints the LeCun values; the plain ones are "
        "(value + 0.1) / 1.275). The "
        "course's run of this cell (the full MNIST, the first 1,000 validation digits, lenet5_faithful with "
        "seeds 0 to 4) gave LeCun / plain ratios of the starting gradient of 1.05x at C1 on average (0.96x to "
        "1.18x by seed) and 0.99x at F6 (0.96x to 1.03x): larger with some seeds, smaller with others, a tie. "
        "The seed alone moves C1's gradient far more (from 6.1 to 15.2 with the LeCun inputs). So the size of "
        "the first gradient is not what the scaling buys. Its case (LeCun et al., \"Efficient BackProp\", 1998) "
        "is about the direction of the updates over many steps: with inputs that are never negative (plain 0-1 "
        "pixels), the gradients of the weights feeding one unit from one input all share the sign of that "
        "unit's error, so they can only rise or fall together and reach their optimum by zig-zagging; centred "
        "inputs remove that constraint. To see it, compare learning "
        "curves over several seeds, not one gradient norm."),
    hint="Build one model per seed with lenet5_faithful(seed=seed) (the seed must reach the builder), then call "
         "gradient_report on that same model twice: once with x_lecun, once with x_plain.",
    solution="`models = {s: lenet5_faithful(seed=s) for s in SCALING_SEEDS}`, then "
             "`lecun = {s: gradient_report(m, x_lecun, y_watch) for s, m in models.items()}` and the same with "
             "`x_plain` for `plain`. Compare the ratios C1 and F6 seed by seed before calling a winner.",
    todo="build the models and measure them in `models`, `lecun` and `plain`, write your explanation, then run the "
         "cell (5 untrained networks: a few seconds).",
)
