"""The investigations (one per chapter from 04 on): change one thing, measure, explain.

For each one: an honest attempt, built here as a learner would (in another idiom than the reference, on
tiny data so the file stays quick), is accepted and followed by the discussion; the notebook's committed
cell, run as it is, says "Not attempted yet"; and the usual mistakes each draw their own message.
"""
import contextlib
import io
import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from utils import checker
from utils.exercises import ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12, ch13, ch14, ch15
from utils.investigation import MIN_WORDS, Investigation, toy_digits

ROOT = Path(__file__).resolve().parents[1]
EXPLANATION = "I changed one thing, measured it, and the gap is within the noise of one seed."


def printed(exercise, answer) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exercise.check(answer)
    return out.getvalue()


def accepted(exercise, answer) -> str:
    text = printed(exercise, answer)
    assert text.startswith(checker.CORRECT), text
    assert "\nDiscussion: " in text, text
    return text


def rejected(exercise, answer, fragment) -> str:
    text = printed(exercise, answer)
    assert text.startswith(checker.WRONG) and fragment in text, text
    assert "Discussion" not in text, "the discussion comes only after an accepted attempt"
    return text


def notebook_cell(chapter: str, key: str) -> str:
    """The source of the code cell that checks chNN.qN in notebook NN."""
    path = next((ROOT / "notebooks").glob(f"{chapter[2:]}_*.ipynb"))
    cells = [c.source for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "code" and f"{key} = {chapter}.{key}" in c.source]
    assert len(cells) == 1, f"{path.name}: one cell should check {chapter}.{key}"
    return cells[0]


def run_committed_cell(chapter: str, key: str, **names) -> str:
    """Run the notebook's cell as committed (left blank), with stand-ins for the chapter's objects."""
    source = notebook_cell(chapter, key)
    assert "..." in source and not re.search(rf"^\s*{key}\.(hint|solution)\(\)", source, re.M)
    namespace = {"np": np, "keras": keras, chapter: __import__(f"utils.exercises.{chapter}", fromlist=["x"]), **names}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, f"{chapter}.{key} cell", "exec"), namespace)  # noqa: S102 - the notebook's own cell
    return out.getvalue()


INVESTIGATIONS = {"ch04": ch04.q4, "ch05": ch05.q4, "ch06": ch06.q4, "ch07": ch07.q4, "ch08": ch08.q5, "ch09": ch09.q4,
                  "ch10": ch10.q4, "ch11": ch11.q4, "ch12": ch12.q8, "ch13": ch13.q4, "ch14": ch14.q4, "ch15": ch15.q4}


@pytest.mark.parametrize("chapter", sorted(INVESTIGATIONS))
def test_each_is_an_investigation_whose_blank_and_partial_answers_are_named(chapter):
    exercise = INVESTIGATIONS[chapter]
    assert isinstance(exercise, Investigation)
    assert printed(exercise, ...).startswith(checker.BLANK_MARK)
    assert printed(exercise, exercise.skeleton()).startswith(checker.BLANK_MARK)
    missing = {k: v for k, v in exercise.skeleton().items() if k != "explanation"}
    rejected(exercise, missing, "Your dict has no 'explanation'")
    rejected(exercise, [1, 2], "Pass the dict the cell builds")
    learner_keys = [k for k in exercise.keys if k not in exercise.given]
    if len(learner_keys) > 1:  # one filled in, the rest left blank
        partial = {**exercise.skeleton(), learner_keys[0]: 1}
        rejected(exercise, partial, "still `...`")


# ---------------------------------------------------------------- 04: average pooling in the shift table
def test_ch04_average_pooling_measured_as_a_learner_would():
    inputs = {"stripes": np.tile(np.array([0, 0, 1, 1], "float32"), 160)[None, None, :602, None].repeat(402, 1),
              "noise": np.random.default_rng(5).random((1, 402, 602, 3)).astype("float32")}

    def shift_change(layer, image, height=400, width=600):  # the chapter's function, as the notebook has it
        base = layer(image[:, :height, :width]).numpy()
        moved = [layer(image[:, dy:height + dy, dx:width + dx]).numpy() for dy, dx in ((0, 1), (1, 0))]
        return np.mean([np.abs(m - base).mean() for m in moved]) / np.abs(base).mean()

    average = keras.layers.AveragePooling2D(pool_size=(2, 2))  # strides default to the pool size
    changes = {name: shift_change(average, image) for name, image in inputs.items()}
    text = accepted(ch04.q4, dict(layer=average, changes=changes, inputs=inputs, explanation=EXPLANATION))
    assert "stripes" in text and "max pooling" in text
    # a measurement that is not the chapter's (a 2-px shift) is re-measured and named
    wrong = {name: shift_change(average, image[:, :, 1:]) * 1.5 for name, image in inputs.items()}
    rejected(ch04.q4, dict(layer=average, changes=wrong, inputs=inputs, explanation=EXPLANATION),
             "re-computed here gives")
    rejected(ch04.q4, dict(layer=keras.layers.MaxPooling2D(2), changes=changes, inputs=inputs,
                           explanation=EXPLANATION), "that is max pooling")
    rejected(ch04.q4, dict(layer=average, changes=changes, inputs=inputs, explanation="avg is smoother"),
             f"at least {MIN_WORDS} words")


def test_ch04_committed_cell_is_not_attempted():
    assert run_committed_cell("ch04", "q4", shift_inputs={}).startswith(checker.BLANK_MARK)


def test_ch04_cell_passes_shift_inputs_which_a_later_keras_input_does_not_overwrite():
    # the chapter's `inputs = keras.Input(...)` (parameter-count cell) once overwrote the table's dict of images
    source = notebook_cell("ch04", "q4")
    assert "inputs=shift_inputs" in source
    reference = ch04.q4.reference_answer.make()  # a Lazy: two synthetic images, {name: image batch}
    filled = (source.replace("average = ...", "average = keras.layers.AveragePooling2D(2, strides=2)", 1)
              .replace("changes = ...", "changes = {n: shift_change(average, im) for n, im in shift_inputs.items()}", 1)
              .replace("explanation=...", f"explanation={EXPLANATION!r}", 1))
    assert "..." not in filled.split("# q4.hint()")[0]
    namespace = {"np": np, "keras": keras, "ch04": ch04, "shift_change": ch04._shift_change,
                 "shift_inputs": reference["inputs"], "inputs": keras.Input((224, 224, 64))}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(filled, "ch04.q4 cell", "exec"), namespace)  # noqa: S102 - the notebook's own cell
    text = out.getvalue()
    assert text.startswith(checker.CORRECT) and "noise" in text, text


# ---------------------------------------------------------------- 05: pooling against a strided convolution
def _fit(model, x, y, epochs=4):
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def test_ch05_strided_convolution_in_the_functional_api_is_accepted():
    x, y = toy_digits(1400, seed=7, jitter=1)
    keras.utils.set_random_seed(1)
    pooled = _fit(ch05._nielsen(strided=False), x[:1000], y[:1000])
    inputs = keras.Input((28, 28, 1))  # the learner's version: functional API, a 'same'-padded strided conv
    h = keras.layers.Conv2D(3, 5, activation="relu")(inputs)
    h = keras.layers.Conv2D(3, 3, strides=2, padding="same", activation="relu")(h)
    strided = _fit(keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(h))),
                   x[:1000], y[:1000])
    answer = dict(pooled=pooled, strided=strided, x_val=x[1000:], y_val=y[1000:], explanation=EXPLANATION)
    text = accepted(ch05.q4, answer)
    assert "strided − pooled" in text
    rejected(ch05.q4, {**answer, "strided": pooled}, "are the same model")
    rejected(ch05.q4, {**answer, "x_val": x[1000:1100], "y_val": y[1000:1100]}, "at least 300")
    untouched = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(3, 5), keras.layers.Flatten(),
                                  keras.layers.Dense(10, activation="softmax")])
    rejected(ch05.q4, {**answer, "strided": untouched}, "has no convolution with a stride above 1")


def test_ch05_committed_cell_is_not_attempted_and_trains_nothing():
    def nielsen_net():
        raise AssertionError("the committed cell must not train")

    text = run_committed_cell("ch05", "q4", nielsen_net=nielsen_net, x_fit=None, y_fit=None,
                              x_val=np.zeros((10, 28, 28, 1)), y_val=np.zeros(10))
    assert text.startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 06: LeCun's input scaling
def test_ch06_norms_from_a_hand_written_tape_are_accepted_and_mixed_up_measurements_are_named():
    import tensorflow as tf

    from lessons.lenet import lenet5_faithful, rbf_loss

    x, y = toy_digits(300, seed=8, size=32)
    x_lecun = -0.1 + 1.275 * x

    def norms(model, images):  # the learner's version: one tape, both kernels at once, a tuple of floats
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(rbf_loss(y, model(images)))
        grads = tape.gradient(loss, [model.get_layer("C1").kernel, model.get_layer("F6").kernel])
        return dict(zip(("C1", "F6"), (float(tf.norm(g)) for g in grads)))

    models = {seed: lenet5_faithful(seed=seed) for seed in (3, 4, 5)}
    lecun = {seed: norms(m, x_lecun) for seed, m in models.items()}
    plain = {seed: norms(m, x) for seed, m in models.items()}
    answer = dict(models=models, lecun=lecun, plain=plain, x_lecun=x_lecun, x_plain=x, y=y, explanation=EXPLANATION)
    text = accepted(ch06.q4, answer)
    assert "LeCun / plain" in text and "seeds 0 to 4" in text
    rejected(ch06.q4, {**answer, "plain": lecun}, "not the same inputs twice")
    fresh = {seed: norms(lenet5_faithful(seed=seed + 10), x) for seed in models}  # a new model for each input
    rejected(ch06.q4, {**answer, "plain": fresh}, "are not those of models[3]")
    rejected(ch06.q4, {**answer, "x_plain": x_lecun}, "are the same array")
    rejected(ch06.q4, {**answer, "models": {s: models[3] for s in models}}, "have the same weights")
    rejected(ch06.q4, {**answer, "models": {s: models[s] for s in (3, 4)}}, "at least 3 seeds")


def test_ch06_committed_cell_is_not_attempted():
    def trains_nothing(*args, **kwargs):
        raise AssertionError("the committed cell must not build or measure a network")

    text = run_committed_cell("ch06", "q4", x_val_lecun=np.zeros((10, 32, 32, 1)), x_val_raw=np.zeros((10, 28, 28)),
                              y_val=np.zeros(10), pad_images=lambda x: x, to_float=lambda x: x,
                              lenet5_faithful=trains_nothing, gradient_report=trains_nothing)
    assert text.startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 07: LRN at another scale
def test_ch07_divisors_from_the_papers_equation_are_accepted_and_alpha_over_n_is_named():
    maps = np.maximum(np.random.default_rng(2).normal(0, 120, (1, 9, 9, 6)), 0).astype("float32")

    def largest_divisor(scale, alpha=1e-4):  # the learner's version: the paper's equation in NumPy
        a = maps * scale
        total = np.stack([np.sum(a[..., max(0, i - 2):i + 3] ** 2, axis=-1) for i in range(a.shape[-1])], axis=-1)
        out = a / (2.0 + alpha * total) ** 0.75
        return float((a[a > 0] / out[a > 0]).max())

    scales = (1 / 255, 1, 5)
    answer = dict(divisors={s: largest_divisor(s) for s in scales}, maps=maps, explanation=EXPLANATION)
    text = accepted(ch07.q4, answer)
    assert "k**beta" in text
    rejected(ch07.q4, {**answer, "divisors": {s: largest_divisor(s, alpha=1e-4 / 5) for s in scales}},
             "PyTorch's and Caffe's convention")
    rejected(ch07.q4, {**answer, "divisors": {1: 2.0, 2: 3.0, 5: 4.0}}, "including 1 (the chapter's 0-255 pixels)")


def test_ch07_committed_cell_is_not_attempted():
    assert run_committed_cell("ch07", "q4", maps=np.ones((1, 4, 4, 8))).startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 08: the auxiliary losses' weight
def test_ch08_norms_from_one_tape_are_accepted_and_fresh_passes_are_named():
    import tensorflow as tf

    keras.utils.set_random_seed(2)
    inputs = keras.Input((12, 12, 3))
    first = keras.layers.Conv2D(3, 3, activation="relu", name="conv1")(inputs)
    deep = keras.layers.Conv2D(6, 3, activation="relu")(keras.layers.Conv2D(6, 3, activation="relu")(first))
    main = keras.layers.Dense(5, activation="softmax")(keras.layers.Dropout(0.4)(keras.layers.Flatten()(deep)))
    aux = keras.layers.Dense(5, activation="softmax")(keras.layers.Dropout(0.7)(keras.layers.Flatten()(first)))
    net = keras.Model(inputs, [main, aux])
    batch, labels = np.random.default_rng(1).random((6, 12, 12, 3)).astype("float32"), np.arange(6) % 5
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    conv1 = net.get_layer("conv1").trainable_weights

    def norms(fresh_pass_per_weight=False):  # the learner's version: ratios to w = 0 are fine too
        found = {}
        with tf.GradientTape(persistent=True) as tape:
            outs = net(batch, training=True)
            for w in (0, 0.3, 1, 2):
                if fresh_pass_per_weight:
                    outs = net(batch, training=True)
                found[w] = loss_fn(labels, outs[0]) + w * loss_fn(labels, outs[1])
        return {w: float(tf.linalg.global_norm(tape.gradient(loss, conv1))) for w, loss in found.items()}

    text = accepted(ch08.q5, dict(norms=norms(), explanation=EXPLANATION))
    assert "w = 0.3:" in text
    rejected(ch08.q5, dict(norms=norms(fresh_pass_per_weight=True), explanation=EXPLANATION),
             "not those of one gradient computation")
    rejected(ch08.q5, dict(norms={w: 1.0 for w in (0.1, 0.3, 1, 2)}, explanation=EXPLANATION),
             "Include the weight 0")


def test_ch08_committed_cell_is_not_attempted():
    assert run_committed_cell("ch08", "q5").startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 09: zero-initialised gamma
def test_ch09_zero_gamma_written_with_the_keras_initializer_is_accepted():
    from lessons import resnet

    x, y = toy_digits(900, seed=4)

    def build(zero_init):  # the learner's version: set the gammas by hand after building
        model = resnet.small_resnet(units_per_stage=1, filters=(8, 8, 8), shortcut="A")
        if zero_init:
            for layer in model.layers:
                if isinstance(layer, keras.layers.BatchNormalization) and layer.name.endswith("_2_bn"):
                    layer.gamma.assign(np.zeros(layer.gamma.shape))
        return model

    trained = {}
    for zero in (False, True):
        keras.utils.set_random_seed(0)
        trained[zero] = _fit(build(zero), x[:600], y[:600], epochs=2)
    answer = dict(build=build, gamma_one=trained[False], gamma_zero=trained[True], x_val=x[600:], y_val=y[600:],
                  explanation=EXPLANATION)
    text = accepted(ch09.q4, answer)
    assert "ln 10" in text and "gammas at 0" in text
    rejected(ch09.q4, {**answer, "build": lambda zero: resnet.small_resnet(units_per_stage=1, filters=(8, 8, 8))},
             "starts no BatchNormalization gamma at 0")
    rejected(ch09.q4, {**answer, "gamma_zero": trained[False]}, "are the same model")


def test_ch09_committed_cell_is_not_attempted():
    text = run_committed_cell("ch09", "q4", x_val=np.zeros((10, 28, 28, 1)), y_val=np.zeros(10), x_fit=None,
                              y_fit=None)
    assert text.startswith(checker.BLANK_MARK)


def test_ch09_discussion_counts_the_steps_of_the_notebook_cell():
    source = notebook_cell("ch09", "q4")
    digits = int(re.search(r"permutation\((\d+)\)", source).group(1))
    batch = int(re.search(r"batch_size=(\d+)", source).group(1))
    epochs = int(re.search(r"epochs=(\d+)", source).group(1))
    steps = epochs * -(-digits // batch)
    assert ch09._RUN_STEPS == steps and f"the {steps} steps of this run" in ch09.q4.discussion


# ---------------------------------------------------------------- 10: the checkerboard
def test_ch10_bilinear_resize_functional_is_accepted_and_a_transposed_remedy_is_named():
    keras.utils.set_random_seed(1)
    transposed = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")
    inputs = keras.Input((None, None, 1))  # the learner's version: bilinear resizing, functional API
    up = keras.layers.Resizing(16, 16, interpolation="bilinear")(inputs)
    resized = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(up))
    measured = {"transposed": ch10.unevenness(transposed), "resized": ch10.unevenness(resized)}
    answer = dict(transposed=transposed, resized=resized, unevenness=measured, explanation=EXPLANATION)
    text = accepted(ch10.q4, answer)
    assert "transposed convolution's output varies" in text
    assert measured["resized"] < 0.01 < measured["transposed"]  # the remedy's point, whatever the weights
    again = keras.Sequential([keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")])
    rejected(ch10.q4, {**answer, "resized": again}, "contains a Conv2DTranspose")
    rejected(ch10.q4, {**answer, "unevenness": {"transposed": measured["resized"], "resized": measured["transposed"]}},
             "re-measured here gives")


def test_ch10_committed_cell_is_not_attempted():
    assert run_committed_cell("ch10", "q4").startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 11: what one more instance costs
def _measurements(growth_of_batch, sizes=(8, 16, 32)):
    """Measurement records as memory.measure_peak returns them (built here: a fresh process each is too slow)."""
    from utils import memory

    return [memory.Measurement(device="CPU:0", mode="training", batch_size=b, allocator_baseline=5_000_000,
                               allocator_peak=5_000_000 + growth_of_batch(b), process_baseline=None,
                               process_growth=None, seconds=0.5) for b in sizes]


def test_ch11_slope_from_two_end_points_is_accepted_and_the_average_is_named():
    from utils import memory

    image, layers = (24, 24, 3), [memory.Conv(6), memory.Conv(12, stride=2)]
    measured = _measurements(lambda b: 40_000 + 21_000 * b + (b % 3) * 50)
    first, last = measured[0], measured[-1]  # the learner's version: the slope between the end points
    slope = (last.allocator_growth - first.allocator_growth) / (last.batch_size - first.batch_size)
    answer = dict(measurements=measured, per_instance=slope, image=image, layers=layers, explanation=EXPLANATION)
    text = accepted(ch11.q4, answer)
    assert "per instance" in text and "measured / estimated" in text
    average = np.mean([m.allocator_growth / m.batch_size for m in measured])
    rejected(ch11.q4, {**answer, "per_instance": average}, "divided by the batch size")
    inference = [memory.Measurement(**{**vars(m), "mode": "inference"}) for m in measured]
    rejected(ch11.q4, {**answer, "measurements": inference}, "Measure the training step")


def test_ch11_committed_cell_is_not_attempted():
    assert run_committed_cell("ch11", "q4", IMAGE=None, LAYERS=None).startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 12: global pooling or Flatten
def test_ch12_functional_flatten_is_accepted_and_a_leftover_global_pool_is_named():
    x, y = toy_digits(1300, seed=9, jitter=1)

    def cnn(top):  # the learner's version: the functional API
        inputs = keras.Input((28, 28, 1))
        h = keras.layers.MaxPooling2D()(keras.layers.Conv2D(8, 3, activation="relu")(inputs))
        h = keras.layers.Conv2D(16, 3, activation="relu")(h)
        return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(top(h)))

    keras.utils.set_random_seed(0)
    pooled = _fit(cnn(keras.layers.GlobalMaxPooling2D()), x[:1000], y[:1000], epochs=3)
    flat = _fit(cnn(keras.layers.Flatten()), x[:1000], y[:1000], epochs=3)
    answer = dict(pooled=pooled, flat=flat, x_val=x[1000:], y_val=y[1000:], explanation=EXPLANATION)
    text = accepted(ch12.q8, answer)
    assert "points lost" in text
    rejected(ch12.q8, {**answer, "flat": cnn(keras.layers.GlobalAveragePooling2D())}, "still has a global pooling")
    rejected(ch12.q8, {**answer, "pooled": cnn(keras.layers.GlobalMaxPooling2D())}, "has it been trained")


def test_ch12_committed_cell_is_not_attempted_and_trains_nothing():
    def small_cnn():
        raise AssertionError("the committed cell must not train")

    text = run_committed_cell("ch12", "q8", small_cnn=small_cnn, x_fit=None, y_fit=None,
                              x_val=np.zeros((10, 28, 28, 1)), y_val=np.zeros(10))
    assert text.startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 13: one photo, three views
def test_ch13_views_from_pil_and_numpy_are_accepted_and_raw_pixels_are_named():
    from PIL import Image

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((24, 24, 3)), keras.layers.Conv2D(5, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(7, activation="softmax")])
    photo = (np.random.default_rng(4).random((30, 45, 3)) * 255).astype("uint8")

    def preprocess(x):  # as keras.applications' 'tf' mode does
        return x / 127.5 - 1

    crop = np.asarray(Image.fromarray(photo[:, 7:37]).resize((24, 24)))  # the learner's version: Pillow, np.flip
    views = {"centre crop": crop, "mirrored": np.flip(crop, axis=1),
             "squashed": np.asarray(Image.fromarray(photo).resize((24, 24)))}
    probs = model.predict(preprocess(np.stack(list(views.values())).astype("float32")), verbose=0)
    top1 = {name: (int(np.argmax(p)), float(np.max(p))) for name, p in zip(views, probs)}
    answer = dict(views=views, top1=top1, model=model, preprocess=preprocess, explanation=EXPLANATION)
    text = accepted(ch13.q4, answer)
    assert "Mirroring" in text
    raw = model.predict(np.stack(list(views.values())).astype("float32"), verbose=0)
    rejected(ch13.q4, {**answer, "top1": {name: (int(np.argmax(p)), float(np.max(p))) for name, p in zip(views, raw)}},
             "on raw pixels")
    rejected(ch13.q4, {**answer, "views": {**views, "squashed": crop}}, "is the centre crop")


def test_ch13_committed_cell_is_not_attempted():
    import types

    text = run_committed_cell("ch13", "q4", model=None, app=types.SimpleNamespace(preprocess_input=None))
    assert text.startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 14: freezing more or fewer blocks
def test_ch14_freezing_by_index_is_accepted_and_freezing_too_late_is_named():
    x, y = toy_digits(600, seed=8, classes=5, jitter=1)

    def digit_base(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                                 keras.layers.MaxPooling2D(), keras.layers.Conv2D(8, 3, activation="relu"),
                                 keras.layers.MaxPooling2D(), keras.layers.Flatten()], name="conv_base")

    pretrained = digit_base(0).get_weights()

    def transfer_model(frozen):  # the learner's version: layers by index, a functional head
        base = digit_base(100)
        base.set_weights(pretrained)
        for index in (0, 2)[:frozen]:
            base.layers[index].trainable = False
        inputs = keras.Input((28, 28, 1))
        return keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(base(inputs)))

    models = {k: _fit(transfer_model(k), x[:300], y[:300], epochs=3) for k in (0, 1, 2)}
    answer = dict(make=transfer_model, models=models, pretrained=pretrained, x_test=x[300:], y_test=y[300:],
                  explanation=EXPLANATION)
    text = accepted(ch14.q4, answer)
    assert "2 frozen" in text
    late = transfer_model(2)  # frozen by the learner's function, then unfrozen before training: it moves
    for layer in late.layers[1].layers:
        layer.trainable = True
    rejected(ch14.q4, {**answer, "models": {**models, 2: _fit(late, x[:300], y[:300], epochs=1)}},
             "changed in training")
    rejected(ch14.q4, {**answer, "make": lambda frozen: transfer_model(0)}, "make(1) trains")


def test_ch14_committed_cell_is_not_attempted():
    y_test = np.arange(10)
    text = run_committed_cell("ch14", "q4", pretrained_base_weights=[], x_test=np.zeros((10, 28, 28, 1)),
                              y_test=y_test, new_test=y_test >= 5)
    assert text.startswith(checker.BLANK_MARK)


# ---------------------------------------------------------------- 15: Grad-CAM on another layer
def test_ch15_grad_cam_on_the_first_layer_is_accepted():
    import tensorflow as tf

    from utils import visualize

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)),
                              keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1_1"),
                              keras.layers.MaxPooling2D(name="pool1"),
                              keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2_1"),
                              keras.layers.Flatten(name="flatten"),
                              keras.layers.Dense(10, activation="softmax", name="output")])
    images = toy_digits(6, seed=3, jitter=1)[0]

    def ink_density(layer_name):  # the learner's version: the chapter's loop, in a function
        on_ink, ink = [], []
        for image in images:
            heat, _ = visualize.grad_cam(model, image, layer_name)
            full = tf.image.resize(heat[..., None], (28, 28)).numpy()[..., 0]
            mask = image[..., 0] > 0.5
            on_ink.append(full[mask].sum() / full.sum())
            ink.append(mask.mean())
        return np.mean(on_ink) / np.mean(ink)

    densities = {name: ink_density(name) for name in ("conv2_1", "conv1_1")}
    answer = dict(layer="conv1_1", densities=densities, model=model, images=images, explanation=EXPLANATION)
    text = accepted(ch15.q4, answer)
    assert "28×28 grid" in text and "14×14 grid" in text
    rejected(ch15.q4, {**answer, "layer": "conv2_1", "densities": {"conv2_1": densities["conv2_1"]}},
             "choose a layer other than CAM_LAYER")
    rejected(ch15.q4, {**answer, "layer": "output"}, "has no spatial grid")
    no_resize = {**densities, "conv2_1": densities["conv2_1"] * 1.3}
    rejected(ch15.q4, {**answer, "densities": no_resize}, "re-computed here gives")


def test_ch15_committed_cell_is_not_attempted():
    text = run_committed_cell("ch15", "q4", digit_cnn=None, x_test=np.zeros((8, 28, 28, 1)), right=np.arange(4),
                              wrong=np.arange(4, 8), CAM_LAYER="conv2_1")
    assert text.startswith(checker.BLANK_MARK)


def test_ch15_cell_measures_the_digits_the_chapter_explained():
    """q4's cell takes x_test[right, wrong]: only the digit Grad-CAM cell may assign `right`/`wrong` before it."""
    path = next((ROOT / "notebooks").glob("15_*.ipynb"))
    sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    q4_cell = sources.index(notebook_cell("ch15", "q4"))
    assigning = [s for s in sources[:q4_cell] if re.search(r"^\s*(right|wrong)\b[^=\n]*=(?!=)", s, re.M)
                 or re.search(r"^\s*right\s*,\s*wrong\s*=", s, re.M)]
    assert len(assigning) == 1 and "x_test[k]" in assigning[0], \
        "another cell reassigns `right`/`wrong` (e.g. the flowers cell): q4 would measure the wrong images"
