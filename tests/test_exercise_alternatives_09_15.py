"""Issue 21 for chapters 09-15: the code exercises judge what a learner's code computes, not how it is written.

For every code exercise (``FunctionExercise`` or ``CustomExercise``) of chapters 09-15, at least three correct
solutions written differently from the reference (other idioms: ops instead of layers, nested or subclassed
models, NumPy, TensorFlow, plain loops) are each accepted; every planted mistake draws its own message; and
the numeric cases of the issue say what they should: 10 q2 names where notebook 10's (n − 1)·s + k and Keras
differ, 12 q3 states its precision, accepts any figure within it and names Géron's published 564.6 MB.
"""
from __future__ import annotations

import functools
import importlib
import math
import operator
import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from utils import checker

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [f"ch{n:02d}" for n in range(9, 16)]


def exercise(key):
    name, q = key.split(".")
    return getattr(importlib.import_module(f"utils.exercises.{name}"), q)


def code_exercises():
    keys = []
    for name in CHAPTERS:
        module = importlib.import_module(f"utils.exercises.{name}")
        keys += [f"{name}.{q}" for q, value in sorted(vars(module).items())
                 if isinstance(value, (checker.FunctionExercise, checker.CustomExercise))]
    return keys


def markdown(number):
    path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


# ---------------------------------------------------------------- ch09 q1: a residual unit (Keras models)
def unit_relu_of_plus(inputs, filters, strides=1):
    """`+` on Keras tensors instead of an Add layer, biases kept, shape test on `shape[3]`."""
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(inputs)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(y))
    s = inputs
    if strides > 1 or inputs.shape[3] != filters:
        s = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=strides, padding="same")(inputs))
    return layers.ReLU()(y + s)


def unit_nested_sequentials(inputs, filters, strides=1):
    """The branch and the projection as nested Sequential models, joined with keras.ops."""
    branch = keras.Sequential([layers.Conv2D(filters, 3, strides, "same", use_bias=False),
                               layers.BatchNormalization(), layers.Activation("relu"),
                               layers.Conv2D(filters, 3, 1, "same", use_bias=False), layers.BatchNormalization()])
    if (strides, inputs.shape[-1]) == (1, filters):
        shortcut = layers.Identity()
    else:
        shortcut = keras.Sequential([layers.Conv2D(filters, 1, strides), layers.BatchNormalization()])
    return keras.ops.relu(keras.ops.add(branch(inputs), shortcut(inputs)))


class _Unit(layers.Layer):
    """A subclassed layer: the projection is decided in build(), the sum and ReLU in call()."""

    def __init__(self, filters, strides, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = filters, strides

    def build(self, input_shape):
        self.conv1 = layers.Conv2D(self.filters, 3, self.strides, padding="same")
        self.bn1 = layers.BatchNormalization()
        self.conv2 = layers.Conv2D(self.filters, 3, padding="same")
        self.bn2 = layers.BatchNormalization()
        self.projection = None
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.projection = keras.Sequential([layers.Conv2D(self.filters, 1, self.strides),
                                                layers.BatchNormalization()])

    def call(self, x, training=False):
        y = keras.ops.relu(self.bn1(self.conv1(x), training=training))
        y = self.bn2(self.conv2(y), training=training)
        shortcut = x if self.projection is None else self.projection(x, training=training)
        return keras.ops.maximum(y + shortcut, 0.0)


def unit_subclassed_layer(inputs, filters, strides=1):
    return _Unit(filters, strides)(inputs)


def unit_layers_add_activation(inputs, filters, strides=1):
    """layers.add (the function), Activation('relu'), a zero-initialised last γ (Goyal et al.)."""
    y = layers.Conv2D(filters, (3, 3), strides=(strides, strides), padding="same", use_bias=False)(inputs)
    y = layers.Activation("relu")(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(gamma_initializer="zeros")(y)
    needs_projection = strides != 1 or inputs.shape[-1] != filters
    s = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=strides)(inputs)) if needs_projection else inputs
    return layers.Activation("relu")(layers.add([s, y]))


# ---------------------------------------------------------------- ch10 q1: three shapes, written as the learner may
def _run_layers():
    x = np.zeros((1, 16, 16, 8), np.float32)
    built = [layers.Conv2D(4, 3, dilation_rate=2, padding="valid"),
             layers.Conv2DTranspose(4, 3, strides=2, padding="valid"),
             layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")]
    return [layer(x).shape for layer in built]


def _none_batch():
    built = [layers.Conv2D(4, 3, dilation_rate=2, padding="valid"),
             layers.Conv2DTranspose(4, 3, strides=2, padding="valid"),
             layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")]
    return tuple(layer.compute_output_shape((None, 16, 16, 8)) for layer in built)


SHAPE_ANSWERS = {
    "lists": lambda: [[1, 12, 12, 4], [1, 33, 33, 4], [1, 16, 16, 16]],
    "ran the layers (TensorShapes)": _run_layers,
    "None batch from compute_output_shape": _none_batch,
    "a NumPy array": lambda: np.array([(1, 12, 12, 4), (1, 33, 33, 4), (1, 16, 16, 16)]),
    "whole floats": lambda: ((1.0, 12.0, 12.0, 4.0), (1, 33, 33, 4), (1, 16, 16, 16)),
}


# ---------------------------------------------------------------- ch10 q2: the transposed size
def transposed_keras(n, kernel, stride=1, padding="valid"):
    layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding)
    return layer.compute_output_shape((1, n, n, 1))[1]


def transposed_gap_form(n, kernel, stride=1, padding="valid"):
    return n * stride + (max(kernel - stride, 0) if padding == "valid" else 0)


def transposed_branches(n, kernel, stride=1, padding="valid"):
    if padding.lower() == "same":
        return n * stride
    size = (n - 1) * stride + kernel
    if kernel < stride:
        size += stride - kernel
    return size


def transposed_numpy(n, kernel, stride=1, padding="valid"):
    return np.int64(n * stride) if padding == "same" else (n - 1) * stride + np.maximum(kernel, stride)


# ---------------------------------------------------------------- ch11 q1: the bytes of the activations
def memory_numpy(shapes, batch_size=1, dtype="float32"):
    return np.dtype(dtype).itemsize * batch_size * np.prod(shapes, axis=1).sum()


def memory_bits_loop(shapes, batch_size=1, dtype="float32"):
    total = 0
    for h, w, c in shapes:
        total += h * w * c * batch_size * int(dtype[-2:]) / 8  # a float: 32 / 8 = 4.0
    return total


def memory_tf_dtype(shapes, batch_size=1, dtype="float32"):
    return tf.as_dtype(dtype).size * batch_size * sum(functools.reduce(operator.mul, s) for s in shapes)


# ---------------------------------------------------------------- ch12 q2: the parameters of a stack
def params_keras(image_shape, filters, kernel=3):
    model = keras.Sequential([keras.Input(image_shape)]
                             + [layers.Conv2D(maps, kernel, padding="same") for maps in filters])
    return model.count_params()


def params_numpy(image_shape, filters, kernel=3):
    channels = np.array([image_shape[-1], *filters])
    return ((kernel ** 2 * channels[:-1] + 1) * channels[1:]).sum()


def params_recursive(image_shape, filters, kernel=3):
    if not filters:
        return 0
    first, *rest = filters
    return (kernel * kernel * image_shape[2] + 1) * first + params_recursive((*image_shape[:2], first), rest, kernel)


# ---------------------------------------------------------------- ch12 q5: max pooling
def pool_loops(image, size):
    rows, cols = len(image) // size, len(image[0]) // size
    return [[max(image[i * size + a][j * size + b] for a in range(size) for b in range(size)) for j in range(cols)]
            for i in range(rows)]


def pool_windows(image, size):
    return np.lib.stride_tricks.sliding_window_view(np.asarray(image), (size, size))[::size, ::size].max(axis=(2, 3))


def pool_keras(image, size):
    x = np.asarray(image, np.float32)[None, :, :, None]
    return keras.layers.MaxPooling2D(pool_size=size)(x)[0, :, :, 0]


def pool_tf(image, size):
    x = tf.constant(np.asarray(image, np.float64)[None, :, :, None])
    return tf.nn.max_pool2d(x, ksize=size, strides=size, padding="VALID")[0, :, :, 0]


# ---------------------------------------------------------------- ch12 q6: local response normalisation
def lrn_tf(a, depth_radius, bias, alpha, beta):
    x = np.asarray(a, np.float32).reshape(1, 1, 1, -1)
    return tf.nn.local_response_normalization(x, depth_radius, bias, alpha, beta).numpy().ravel()


def lrn_convolve(a, depth_radius, bias, alpha, beta):
    a = np.asarray(a, float)
    full = np.convolve(a ** 2, np.ones(2 * depth_radius + 1))  # length n + 2r: the window sums, centred at i + r
    return a / (bias + alpha * full[depth_radius:depth_radius + len(a)]) ** beta


def lrn_lists(a, depth_radius, bias, alpha, beta):
    values = [float(v) for v in a]
    out = []
    for i, v in enumerate(values):
        window = values[max(0, i - depth_radius):min(len(values), i + depth_radius + 1)]
        out.append(v / (bias + alpha * sum(w * w for w in window)) ** beta)
    return out


def lrn_padded(a, depth_radius, bias, alpha, beta):
    squares = np.pad(np.asarray(a, float) ** 2, depth_radius)
    sums = np.lib.stride_tricks.sliding_window_view(squares, 2 * depth_radius + 1).sum(axis=-1)
    return np.asarray(a) / np.power(bias + alpha * sums, beta)


# ---------------------------------------------------------------- ch13 q1: a photo for Inception v3
def prepare_pil(image):
    from PIL import Image

    resized = np.asarray(Image.fromarray(image).resize((299, 299), Image.BILINEAR), np.float32)
    return np.expand_dims(resized / 127.5 - 1, axis=0)


def prepare_keras_layers(image):
    pipeline = keras.Sequential([layers.Resizing(299, 299), layers.Rescaling(1 / 127.5, offset=-1)])
    return pipeline(image[None].astype("float32"))


def prepare_preprocess_input(image):
    resized = tf.image.resize(image, (299, 299))
    return keras.applications.inception_v3.preprocess_input(resized)[tf.newaxis]


def prepare_nearest(image):
    resized = tf.image.resize(image[None], [299, 299], method="nearest").numpy().astype(float)
    return (resized - 127.5) / 127.5


# ---------------------------------------------------------------- ch14 q1: a tf.data pipeline
def pipeline_zip_map_options(images, labels, batch_size, seed):
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(images), tf.data.Dataset.from_tensor_slices(labels)))
    ds = ds.map(tf.autograph.experimental.do_not_convert(lambda x, y: (tf.cast(x, tf.float32), y)))  # "decoding"
    ds = ds.cache().shuffle(buffer_size=1000, seed=seed).batch(batch_size, drop_remainder=True).prefetch(1)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options)


def pipeline_keywords(images, labels, batch_size, seed):
    return (tf.data.Dataset.from_tensor_slices((images, labels))
            .cache()
            .shuffle(buffer_size=len(labels), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size=batch_size)
            .prefetch(buffer_size=tf.data.experimental.AUTOTUNE))


def pipeline_steps(images, labels, batch_size, seed):
    steps = [lambda d: d.cache(), lambda d: d.shuffle(2 * len(images), seed),
             lambda d: d.batch(batch_size), lambda d: d.prefetch(tf.data.AUTOTUNE)]
    return functools.reduce(lambda d, step: step(d), steps, tf.data.Dataset.from_tensor_slices((images, labels)))


# ---------------------------------------------------------------- ch15 q1: Grad-CAM's weighting
def cam_einsum(activations, gradients):
    return np.clip(np.einsum("hwk,k->hw", activations, gradients.mean(axis=(0, 1))), 0, None)


def cam_tf(activations, gradients):
    weights = tf.reduce_mean(gradients, axis=(0, 1))
    return tf.nn.relu(tf.reduce_sum(tf.cast(activations, tf.float32) * tf.cast(weights, tf.float32), axis=-1))


def cam_loops(activations, gradients):
    h, w, k = activations.shape
    weights = [sum(gradients[i, j, m] for i in range(h) for j in range(w)) / (h * w) for m in range(k)]
    return np.array([[max(0.0, sum(activations[i, j, m] * weights[m] for m in range(k))) for j in range(w)]
                     for i in range(h)])


def cam_matmul(activations, gradients):
    cam = activations @ np.mean(gradients.reshape(-1, gradients.shape[-1]), axis=0)
    return np.where(cam > 0, cam, 0.0)


def cam_keras_ops(activations, gradients):
    weights = keras.ops.mean(gradients, axis=[0, 1])
    return keras.ops.relu(keras.ops.tensordot(activations, weights, axes=1))


ALTERNATIVES = {
    "ch09.q1": [unit_relu_of_plus, unit_nested_sequentials, unit_subclassed_layer, unit_layers_add_activation],
    "ch10.q1": list(SHAPE_ANSWERS.values()),
    "ch10.q2": [transposed_keras, transposed_gap_form, transposed_branches, transposed_numpy],
    "ch11.q1": [memory_numpy, memory_bits_loop, memory_tf_dtype],
    "ch12.q2": [params_keras, params_numpy, params_recursive],
    "ch12.q5": [pool_loops, pool_windows, pool_keras, pool_tf],
    "ch12.q6": [lrn_tf, lrn_convolve, lrn_lists, lrn_padded],
    "ch13.q1": [prepare_pil, prepare_keras_layers, prepare_preprocess_input, prepare_nearest],
    "ch14.q1": [pipeline_zip_map_options, pipeline_keywords, pipeline_steps],
    "ch15.q1": [cam_einsum, cam_tf, cam_loops, cam_matmul, cam_keras_ops],
}
ANSWER_BUILDERS = {"ch10.q1"}  # answers are values: each entry builds one
CASES = [(key, i) for key, answers in ALTERNATIVES.items() for i in range(len(answers))]


def _label(key, i):
    answer = ALTERNATIVES[key][i]
    name = next(n for n, a in SHAPE_ANSWERS.items() if a is answer) if key in ANSWER_BUILDERS else answer.__name__
    return f"{key}-{name}"


# the code exercises of chapters 09-15 that issue 21 reviewed (the investigations added since have their own tests)
REVIEWED = ["ch09.q1", "ch10.q1", "ch10.q2", "ch11.q1", "ch12.q2", "ch12.q5", "ch12.q6", "ch13.q1", "ch14.q1",
            "ch15.q1"]


def test_every_code_exercise_of_chapters_09_to_15_has_three_alternatives():
    keys = code_exercises()
    assert set(REVIEWED) <= set(keys), f"not code exercises (any more): {set(REVIEWED) - set(keys)}"
    assert sorted(ALTERNATIVES) == REVIEWED
    for key in REVIEWED:
        reference = exercise(key).reference_answers()[0]
        answers = ALTERNATIVES[key]
        assert len(answers) >= 3 and reference not in answers, key


@pytest.mark.parametrize(("key", "i"), CASES, ids=[_label(k, i) for k, i in CASES])
def test_a_correct_answer_written_differently_is_accepted(key, i):
    answer = ALTERNATIVES[key][i]
    if key in ANSWER_BUILDERS:
        answer = answer()
    line = exercise(key).verdict(answer)
    assert line.startswith(checker.CORRECT), f"{_label(key, i)}: {line}"


@pytest.mark.parametrize("key", sorted(ALTERNATIVES))
def test_each_planted_mistake_draws_its_own_message(key):
    planted = exercise(key).planted()
    assert len(planted) >= 2
    lines = []
    for answer, fragment in planted:
        line = exercise(key).verdict(checker._resolve(answer))
        assert line.startswith(checker.WRONG) and fragment in line, f"{key}: {fragment!r} -> {line}"
        lines.append(line)
    assert len(set(lines)) == len(lines), f"{key}: two planted mistakes draw the same message"


# the planted mistakes each exercise had before issue 21, by name: they must stay planted
EXISTING = {
    "ch09.q1": ["_no_projection", "_projection_without_stride", "_relu_before_add"],
    "ch10.q2": ["_conv_formula", "_no_minus_one", "_kernel_forgotten", "_same_as_valid"],
    "ch11.q1": ["_forgot_batch", "_eight_bytes", "_dtype_ignored", "_counted_parameters"],
    "ch12.q2": ["_no_biases", "_bias_per_layer", "_reads_the_image", "_kernel_not_squared"],
    "ch12.q5": ["_average_pool", "_stride_one", "_keeps_edges"],
    "ch12.q6": ["_sum_not_squares", "_wraps_around", "_no_beta", "_own_map_left_out", "_alpha_over_n"],
    "ch13.q1": ["_zero_one", "_no_resize", "_no_batch"],
    "ch15.q1": ["_no_relu", "_summed", "_wrong_axis", "_no_weights"],
}


@pytest.mark.parametrize("key", sorted(EXISTING))
def test_the_mistakes_planted_before_stay_planted(key):
    names = [getattr(answer, "__name__", "") for answer, _ in exercise(key).planted()]
    assert set(EXISTING[key]) <= set(names), f"{key}: {set(EXISTING[key]) - set(names)} no longer planted"


def test_ch14_keeps_its_six_planted_pipelines():
    from utils.exercises import ch14

    assert len(ch14.q1.planted()) >= 6


# ---------------------------------------------------------------- ch09 q1: behaviour, not layer classes
def test_ch09_residual_unit_needs_no_add_layer():
    """The issue's case: a correct unit ending layers.ReLU()(y + s) has no Add layer and is accepted."""
    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, unit_relu_of_plus(inputs, 8, 2))
    assert not any(isinstance(layer, layers.Add) for layer in model.layers)
    assert exercise("ch09.q1").verdict(unit_relu_of_plus).startswith(checker.CORRECT)


# ---------------------------------------------------------------- ch10 q2: the taught formula
def test_ch10_q2_taught_formula_differs_from_keras_only_where_the_stride_exceeds_the_kernel():
    from utils.exercises import ch10

    differ = [case for case in ch10.CASES if ch10._taught_formula(*case) != transposed_keras(*case)]
    assert differ == ch10._WIDE and differ, "the cases where (n - 1)s + k and Keras differ"
    assert all(k < s and p == "valid" for _, k, s, p in differ)
    line = ch10.q2.verdict(ch10._taught_formula)
    assert line.startswith(checker.WRONG) and "notebook 10's (n − 1)·stride + kernel" in line
    for n, k, s, p in differ:  # the message names each differing case with both numbers
        assert f"n={n}, kernel={k}, stride={s}: Keras gives {transposed_keras(n, k, s, p)}" in line
        assert f"(n − 1)·stride + kernel {(n - 1) * s + k}" in line
    statement = markdown("10")
    for n, k, s, _ in differ:  # the statement says where the two differ
        assert f"{n} input pixels, kernel {k}, stride {s}" in statement


# ---------------------------------------------------------------- ch12 q3: precision and the published figure
def test_ch12_q3_states_its_precision_and_accepts_any_figure_within_it():
    from utils.exercises import ch12

    q3, exact = ch12.q3, ch12._TRAIN.total / 10**6
    assert "one decimal place" in q3.title
    assert "one decimal place" in markdown("12") and f"{q3.tolerance} MB" in markdown("12")
    for figure in (round(exact, 1), exact, round(exact, 2), exact + 0.9 * q3.tolerance, exact - 0.9 * q3.tolerance):
        assert q3.verdict(figure).startswith(checker.CORRECT), figure
    for figure in (round(exact), exact + 1.1 * q3.tolerance, math.floor(exact)):
        line = q3.verdict(figure)
        assert line.startswith(checker.WRONG) and "Close:" in line and "one decimal place" in line, (figure, line)


def test_ch12_q3_names_gerons_published_figure_and_explains_it():
    from utils.exercises import ch12

    per_image = sum(ch12._SIZES) / 10**6  # 10.52 MB of feature maps per image
    published = 50 * round(per_image, 1) + 50 * ch12._INPUT / 10**6 + round(ch12._PBYTES / 10**6, 1)
    assert round(published, 1) == 564.6  # the 2nd edition's Appendix A figure, as notebook 11 reproduces it
    line = ch12.q3.verdict(564.6)
    assert line.startswith(checker.WRONG) and "Géron's 2nd edition" in line
    assert f"{per_image:.2f} MB" in line and f"{round(per_image, 1)} before multiplying by 50" in line
    assert f"{50 * (per_image - round(per_image, 1)):.1f} MB" in line
    assert "Not quite" not in line


def test_ch12_q3_the_notes_figure_and_the_near_miss_keep_apart():
    from utils.exercises import ch12

    assert "course notes' figure" in ch12.q3.verdict(537.7)
    assert "Not quite" in ch12.q3.verdict(600.0)  # far off: the generic message
    assert "25 × 38" in ch12.q3.verdict(563.6)  # the floor mistake, 2 MB off, keeps its own message


# ---------------------------------------------------------------- ch10 q1: a shape that is not whole is refused
def test_ch10_q1_refuses_a_fractional_shape():
    from utils.exercises import ch10

    line = ch10.q1.verdict(((1, 12.5, 12, 4), (1, 33, 33, 4), (1, 16, 16, 16)))
    assert line.startswith(checker.WRONG) and "should be 4 numbers" in line


def test_the_notebooks_still_store_the_unattempted_line():
    """The statements changed (10, 12): their check cells still store 'Not attempted yet' from the code."""
    for number, key in (("10", "q2"), ("12", "q3")):
        path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
        cells = [c for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "code" and re.search(rf"^{key}\.check\(", c.source, re.M)]
        assert len(cells) == 1
        text = "".join(o.get("text", "") for o in cells[0].outputs)
        assert text == exercise(f"ch{number}.{key}").verdict(checker.BLANK) + "\n"


# ---------------------------------------------------------------- review 21 follow-up: defects a cold review found
def test_ch14_q1_an_infinite_repeat_gets_its_own_message_and_does_not_hang():
    def repeated(images, labels, batch_size, seed):
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).cache().shuffle(64, seed=seed)
        return ds.batch(batch_size).repeat().prefetch(1)

    def filtered_repeat(images, labels, batch_size, seed):  # unknown cardinality, still endless
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).cache().shuffle(64, seed=seed).repeat()
        return ds.filter(lambda x, y: True).batch(batch_size).prefetch(1)

    line = exercise("ch14.q1").verdict(repeated)
    assert line.startswith(checker.WRONG) and ".repeat()" in line and "never ends" in line
    line = exercise("ch14.q1").verdict(filtered_repeat)
    assert line.startswith(checker.WRONG) and ".repeat()" in line


def test_ch11_q1_tests_bfloat16_without_needing_numpy_to_know_it():
    from utils.exercises import ch11

    cases = [case for case in ch11.q1.cases if case[2] == "bfloat16"]
    assert cases and all(ch11.stack_memory(*case) == 2 * case[1] * sum(map(math.prod, case[0])) for case in cases)

    def bfloat16_as_four_bytes(shapes, batch_size=1, dtype="float32"):
        size = {"float16": 2, "bfloat16": 4, "float32": 4, "float64": 8}[dtype]
        return batch_size * size * sum(math.prod(s) for s in shapes)

    def sized_by_name(shapes, batch_size=1, dtype="float32"):  # the bits in the name: 16 / 8 = 2 for bfloat16 too
        return batch_size * int(dtype[-2:]) // 8 * sum(math.prod(s) for s in shapes)

    assert exercise("ch11.q1").verdict(sized_by_name).startswith(checker.CORRECT)
    line = exercise("ch11.q1").verdict(bfloat16_as_four_bytes)
    assert line.startswith(checker.WRONG) and "'bfloat16'" in line


def test_ch12_q3_forgotten_parameters_and_added_gradients_have_their_own_messages():
    from utils.exercises import ch12

    without = round((ch12._TRAIN.total - ch12._PBYTES) / 10**6, 1)  # 562.0
    with_gradients = round((ch12._TRAIN.total + ch12._PBYTES) / 10**6, 1)  # 569.2
    assert "parameters are forgotten" in ch12.q3.verdict(without)
    assert "parameters' gradients" in ch12.q3.verdict(with_gradients)
    statement = markdown("12")
    assert "parameters, stored once" in statement and "leave out the gradients" in statement


def test_ch13_q1_refuses_nan_a_stretch_bgr_and_a_transposed_photo_each_told_what_happened():
    def nan(image):
        return np.full((1, 299, 299, 3), np.nan, np.float32)

    def stretched(image):
        x = tf.image.resize(image, (299, 299)).numpy()
        return ((x - x.min()) / (x.max() - x.min()) * 2 - 1)[None]

    def bgr(image):
        return (tf.image.resize(image, (299, 299)).numpy()[..., ::-1] / 127.5 - 1)[None]

    def transposed(image):
        return (tf.image.resize(image.transpose(1, 0, 2), (299, 299)).numpy() / 127.5 - 1)[None]

    def centre_crop(image):  # Keras's Resizing with crop_to_aspect_ratio: a correct preparation
        return layers.Resizing(299, 299, crop_to_aspect_ratio=True)(image[None].astype("float32")) / 127.5 - 1

    q1 = exercise("ch13.q1")
    for answer, fragment in ((nan, "NaN or infinite"), (stretched, "stretched the photo's own minimum"),
                             (bgr, "BGR order"), (transposed, "no transpose or flip")):
        line = q1.verdict(answer)
        assert line.startswith(checker.WRONG) and fragment in line, (answer.__name__, line)
    assert q1.verdict(centre_crop).startswith(checker.CORRECT)


@pytest.mark.parametrize(("mistake", "fragment"), [
    ("_no_batch_norm", "it has no batch normalization"),
    ("_no_relu_between", "Put a ReLU between the two convolutions"),
    ("_stride_on_second", "the stride sits in the second 3x3 convolution"),
    ("_no_final_relu", "no ReLU comes last"),
    ("_maximum", "does not add the branch to the shortcut"),
    ("_relu_on_projection", "Your projection shortcut is not linear"),
])
def test_ch09_q1_behavioural_probes_name_each_wrong_unit(mistake, fragment):
    from utils.exercises import ch09

    line = ch09.q1.verdict(getattr(ch09, mistake))
    assert line.startswith(checker.WRONG) and fragment in line, line
    if mistake == "_no_final_relu":  # it has no ReLU before the addition either: not told it has one
        assert "not on F(x) before it" not in line


@pytest.mark.parametrize("key", ["ch10.q2", "ch11.q1", "ch12.q2"])
def test_counts_and_sizes_accept_whole_floats_but_not_fractions(key):
    reference = exercise(key).reference
    for whole in (lambda *a: float(reference(*a)), lambda *a: np.int64(reference(*a))):
        assert exercise(key).verdict(whole).startswith(checker.CORRECT), key
    line = exercise(key).verdict(lambda *a: reference(*a) + 0.25)
    assert line.startswith(checker.WRONG) and "not a whole number" in line, line


def test_ch12_q6_a_negative_slice_start_is_named():
    def negative_start(a, depth_radius, bias, alpha, beta):
        a = np.asarray(a, float)
        sums = np.array([np.sum(a[i - depth_radius:i + depth_radius + 1] ** 2) for i in range(len(a))])
        return a / (bias + alpha * sums) ** beta

    line = exercise("ch12.q6").verdict(negative_start)
    assert line.startswith(checker.WRONG) and "negative index" in line


def test_ch15_q1_a_relu_on_the_weights_is_named():
    def relu_on_weights(activations, gradients):
        return np.maximum((activations * np.maximum(gradients.mean((0, 1)), 0)).sum(-1), 0)

    line = exercise("ch15.q1").verdict(relu_on_weights)
    assert line.startswith(checker.WRONG) and "passed the weights through a ReLU" in line


def test_ch12_q5_a_running_max_from_zero_is_named():
    def from_zero(image, size):
        image = np.asarray(image)
        out = np.zeros((image.shape[0] // size, image.shape[1] // size))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                for value in image[i * size:(i + 1) * size, j * size:(j + 1) * size].ravel():
                    out[i, j] = max(out[i, j], value)
        return out

    line = exercise("ch12.q5").verdict(from_zero)
    assert line.startswith(checker.WRONG) and "never below 0" in line
