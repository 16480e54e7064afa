"""The code exercises of chapters 01-08 judge what an answer computes, not how it is written (issue 21).

For each code exercise (01 q2, 02 q2, 03 q1, 04 q1, 05 q1, 06 q1, 07 q3, 08 q1): at least three correct
solutions in other idioms than the reference (plain loops, vectorised NumPy, TensorFlow/Keras ops or layers;
for 05 q1 Sequential, functional, subclassed and nested models, a Softmax layer or an activation) are all
accepted, and every anticipated mistake draws its own message.
"""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import signal

from utils import checker
from utils.checker import CORRECT, WRONG
from utils.exercises import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08


def accepted(exercise, answer):
    line = exercise.verdict(answer)
    assert line.startswith(CORRECT), f"{exercise}: a correct answer was refused: {line}"
    return line


def refused(exercise, answer, fragment):
    line = exercise.verdict(answer)
    assert line.startswith(WRONG) and fragment in line, f"{exercise}: expected {fragment!r}, got: {line}"
    return line


# --- 01 q2: cross_correlate(image, kernel) ---------------------------------------------------------------

def cc_plain_loops(image, kernel):  # lists of lists, four loops, no NumPy
    h, w, fh, fw = len(image), len(image[0]), len(kernel), len(kernel[0])
    return [[sum(image[i + m][j + n] * kernel[m][n] for m in range(fh) for n in range(fw))
             for j in range(w - fw + 1)] for i in range(h - fh + 1)]


def cc_windows_einsum(image, kernel):  # vectorised: every window at once
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum("ijmn,mn->ij", windows, kernel)


def cc_shifted_sums(image, kernel):  # a loop over the kernel's weights, each adding a shifted image
    (h, w), (fh, fw) = image.shape, kernel.shape
    out = np.zeros((h - fh + 1, w - fw + 1))
    for m in range(fh):
        for n in range(fw):
            out += kernel[m, n] * image[m:m + h - fh + 1, n:n + w - fw + 1]
    return out


def cc_scipy(image, kernel):
    return signal.correlate2d(image, kernel, mode="valid")


def cc_tensorflow(image, kernel):  # what Conv2D runs, in float32, returned as a tensor
    x = tf.constant(image, tf.float32)[None, :, :, None]
    k = tf.constant(kernel, tf.float32)[:, :, None, None]
    return tf.nn.conv2d(x, k, strides=1, padding="VALID")[0, :, :, 0]


@pytest.mark.parametrize("fn", [cc_plain_loops, cc_windows_einsum, cc_shifted_sums, cc_scipy, cc_tensorflow])
def test_01_q2_accepts_every_way_of_computing_the_cross_correlation(fn):
    accepted(ch01.q2, fn)


def test_01_q2_a_wrong_array_shows_where_it_differs_and_the_tolerance():
    line = refused(ch01.q2, lambda image, kernel: ch01.cross_correlate(image, kernel) + 0.01, "at [0, 0]")
    assert "np.allclose" in line and "1e-05" in line
    shape = refused(ch01.q2, lambda image, kernel: np.zeros((2, 2)), "shape")
    assert "(2, 2)" in shape
    refused(ch01.q2, lambda image, kernel: "text", "return an array of numbers")


def cc_int_accumulator(image, kernel):  # np.zeros(..., dtype=int): each sum is truncated
    image, kernel = np.asarray(image), np.asarray(kernel)
    (h, w), (fh, fw) = image.shape, kernel.shape
    out = np.zeros((h - fh + 1, w - fw + 1), dtype=int)
    for i in range(h - fh + 1):
        for j in range(w - fw + 1):
            out[i, j] = np.sum(image[i:i + fh, j:j + fw] * kernel)
    return out


def test_01_q2_cases_hold_fractions_and_negatives_and_an_int_accumulator_is_named():
    assert any(np.any(image != np.round(image)) for image, _ in ch01.CASES)
    assert any(np.any(image < 0) for image, _ in ch01.CASES)
    refused(ch01.q2, cc_int_accumulator, "lose their fractions")
    refused(ch01.q2, lambda image, kernel: ch01.cross_correlate(image, kernel).astype(int), "lose their fractions")


# --- 02 q2: output_size(n, kernel, stride, padding, dilation) ----------------------------------------------

def os_branches(n, kernel, stride=1, padding="valid", dilation=1):
    span = dilation * (kernel - 1) + 1
    if padding == "same":
        return -(-n // stride)  # ceil without math
    pad = 0 if padding == "valid" else padding
    return math.floor((n + 2 * pad - span) / stride) + 1


def os_counting_positions(n, kernel, stride=1, padding="valid", dilation=1):  # count where the window starts
    if padding == "same":
        return len(range(0, n, stride))
    pad = 0 if padding == "valid" else padding
    return len(range(0, n + 2 * pad - dilation * (kernel - 1), stride))


def os_numpy(n, kernel, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return int(np.ceil(n / stride))
    pad = 0 if padding == "valid" else padding
    return int(np.floor((n + 2 * pad - dilation * (kernel - 1) - 1) / stride)) + 1


def os_ask_keras(n, kernel, stride=1, padding="valid", dilation=1):  # let Keras compute it
    layers = [keras.Input((n, 1))]
    if not isinstance(padding, str):
        layers.append(keras.layers.ZeroPadding1D(padding))
        padding = "valid"
    layers.append(keras.layers.Conv1D(1, kernel, strides=stride, padding=padding, dilation_rate=dilation))
    return keras.Sequential(layers).output_shape[1]


def os_run_tensorflow(n, kernel, stride=1, padding="valid", dilation=1):  # run a convolution, read its shape
    x = tf.zeros((1, n, 1))
    if not isinstance(padding, str):
        x = tf.pad(x, [[0, 0], [padding, padding], [0, 0]])
        padding = "valid"
    y = tf.nn.convolution(x, tf.zeros((kernel, 1, 1)), strides=stride, padding=padding.upper(), dilations=dilation)
    return y.shape[1]


@pytest.mark.parametrize("fn", [os_branches, os_counting_positions, os_numpy, os_ask_keras, os_run_tensorflow])
def test_02_q2_accepts_the_formula_in_any_form_and_keras_itself(fn):
    accepted(ch02.q2, fn)


def test_02_q2_a_whole_float_is_accepted_and_a_fractional_size_is_named():
    accepted(ch02.q2, lambda *args: float(ch02.output_size(*args)))  # np.ceil(n / stride) gives 3.0
    accepted(ch02.q2, lambda *args: np.int64(ch02.output_size(*args)))
    refused(ch02.q2, lambda *args: ch02.output_size(*args) + 0.5, "not a whole number")


# --- 03 q1: conv_layer_params(fh, fw, in_channels, filters) ------------------------------------------------

def cp_loop(fh, fw, in_channels, filters):
    total = 0
    for _ in range(filters):
        total += fh * fw * in_channels + 1
    return total


def cp_numpy(fh, fw, in_channels, filters):  # a NumPy integer
    return np.prod([fh, fw, in_channels, filters]) + filters


def cp_keras_layer(fh, fw, in_channels, filters):  # build the layer and ask it
    layer = keras.layers.Conv2D(filters, (fh, fw))
    layer.build((None, 32, 32, in_channels))
    return layer.count_params()


def cp_tensorflow(fh, fw, in_channels, filters):  # a 0-d int32 tensor
    return tf.reduce_prod([fh, fw, in_channels, filters]) + filters


@pytest.mark.parametrize("fn", [cp_loop, cp_numpy, cp_keras_layer, cp_tensorflow])
def test_03_q1_accepts_any_way_of_counting(fn):
    accepted(ch03.q1, fn)


def test_03_q1_a_whole_float_or_float_tensor_is_accepted_a_fractional_count_is_named():
    accepted(ch03.q1, lambda *args: float(ch03.conv_layer_params(*args)))
    accepted(ch03.q1, lambda *args: tf.constant(float(ch03.conv_layer_params(*args))))
    refused(ch03.q1, lambda *args: ch03.conv_layer_params(*args) - 0.5, "not a whole number")
    line = refused(ch03.q1, lambda *args: ch03.conv_layer_params(*args) / 3, "the answer is")  # far off: generic
    assert "not a whole number" not in line


# --- 04 q1: max_pool(x, size, stride) ----------------------------------------------------------------------

def mp_lists(x, size, stride):  # plain Python over nested lists
    rows, cols = range(0, len(x) - size + 1, stride), range(0, len(x[0]) - size + 1, stride)
    return [[max(x[i + a][j + b] for a in range(size) for b in range(size)) for j in cols] for i in rows]


def mp_windows(x, size, stride):  # every window at once, every stride-th kept
    return np.lib.stride_tricks.sliding_window_view(x, (size, size))[::stride, ::stride].max(axis=(2, 3))


def mp_tensorflow(x, size, stride):
    return tf.nn.max_pool2d(x[None, :, :, None], size, stride, "VALID")[0, :, :, 0]


def mp_keras_layer(x, size, stride):
    return keras.layers.MaxPooling2D(size, strides=stride)(x[None, :, :, None].astype("float32"))[0, :, :, 0]


@pytest.mark.parametrize("fn", [mp_lists, mp_windows, mp_tensorflow, mp_keras_layer])
def test_04_q1_accepts_loops_numpy_and_keras(fn):
    accepted(ch04.q1, fn)


def test_04_q1_min_pooling_is_told_where_it_differs():
    line = refused(ch04.q1, lambda x, size, stride: -mp_windows(-x, size, stride), "the answer is")
    assert "np.allclose" in line


def mp_running_max_from_zero(x, size, stride):
    h, w = ((n - size) // stride + 1 for n in x.shape)
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            for u in range(size):
                for v in range(size):
                    out[i, j] = max(out[i, j], x[i * stride + u, j * stride + v])
    return out


def mp_int_output(x, size, stride):
    h, w = ((n - size) // stride + 1 for n in x.shape)
    out = np.zeros((h, w), dtype=int)
    for i in range(h):
        for j in range(w):
            out[i, j] = x[i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out


def test_04_q1_negative_fractional_maps_catch_a_zero_start_a_relu_and_int_outputs():
    assert any(np.all(x < 0) for x, _, _ in ch04.CASES)
    assert any(np.any(x != np.round(x)) for x, _, _ in ch04.CASES)
    refused(ch04.q1, mp_running_max_from_zero, "never below 0")
    refused(ch04.q1, lambda x, size, stride: ch04.max_pool(np.maximum(x, 0), size, stride), "never below 0")
    refused(ch04.q1, mp_int_output, "lose their fractions")
    refused(ch04.q1, lambda x, size, stride: ch04.max_pool(x, size, stride).astype(int), "lose their fractions")


def test_04_q1_a_window_starting_at_i_not_i_times_stride_is_named():
    def window_at_i(x, size, stride):
        h, w = ((n - size) // stride + 1 for n in x.shape)
        return np.array([[x[i:i + size, j:j + size].max() for j in range(w)] for i in range(h)])

    refused(ch04.q1, window_at_i, "start at row i, column j")


# --- 05 q1: a CNN under a budget ---------------------------------------------------------------------------

def functional_softmax_layer():
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(10)(x)))


def sequential_softmax_layer_no_input():  # built by the check's own call
    return keras.Sequential([keras.layers.Conv2D(4, 5, activation="relu"), keras.layers.MaxPooling2D(4),
                             keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Softmax()])


def sequential_activation_layer():
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Activation("softmax")])


class SubclassedOps(keras.Model):  # layers for the weights, keras.ops in call
    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(6, 5, strides=2)
        self.dense = keras.layers.Dense(10)

    def call(self, x):
        x = keras.ops.relu(self.conv(x))
        x = keras.ops.max(x, axis=(1, 2))  # global max pooling as an op
        return keras.ops.softmax(self.dense(x))


class ConvByHand(keras.layers.Layer):  # no Conv2D at all: a kernel weight and keras.ops.conv
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(3, 3, int(input_shape[-1]), 4), initializer="glorot_uniform")

    def call(self, x):
        return keras.ops.relu(keras.ops.conv(x, self.kernel, strides=2))


def ops_instead_of_layers():
    return keras.Sequential([keras.Input((28, 28, 1)), ConvByHand(), keras.layers.AveragePooling2D(2),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation=keras.activations.softmax)])


def nested_models():
    body = keras.Sequential([keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(3),
                             keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.GlobalAveragePooling2D()],
                            name="body")
    head = keras.Sequential([keras.layers.Dense(10), keras.layers.Softmax()], name="head")
    return keras.Sequential([keras.Input((28, 28, 1)), body, head])


def fully_convolutional_any_size():  # declares (None, None, 1): it reads 28x28x1 too
    return keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(10, 3),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Softmax()])


CNNS = [functional_softmax_layer, sequential_softmax_layer_no_input, sequential_activation_layer, SubclassedOps,
        ops_instead_of_layers, nested_models, fully_convolutional_any_size]


@pytest.mark.parametrize("build", CNNS, ids=[b.__name__ for b in CNNS])
def test_05_q1_accepts_every_way_of_building_a_softmax_cnn(build):
    line = accepted(ch05.q1, build())
    assert "10 probabilities" in line and "parameters" in line


def test_05_q1_says_only_what_it_verified():
    """Conv2D(1, 28) + Dense has no pooling: it is a CNN within the budget, and the verdict claims no pooling."""
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(1, 28), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    line = accepted(ch05.q1, model)
    assert "pool" not in line.lower() and f"{model.count_params():,} parameters" in line


class ConvComputedThenDiscarded(keras.Model):  # a typo: the pooled input goes on, not the convolved maps
    def __init__(self):
        super().__init__()
        self.conv, self.pool = keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(2)
        self.flat, self.out = keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        self.pool(self.conv(x))
        return self.out(self.flat(self.pool(x)))


def test_05_q1_a_convolution_must_reach_the_output_and_the_verdict_says_so():
    refused(ch05.q1, ConvComputedThenDiscarded(), "does not depend on them")
    assert "depends on its convolution kernels" in accepted(ch05.q1, ch05.small_cnn())


def test_05_q1_softmax_over_the_batch_and_a_1x1x10_map_have_their_own_messages():
    body = [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.MaxPooling2D(4),
            keras.layers.Flatten(), keras.layers.Dense(10)]
    line = refused(ch05.q1, keras.Sequential(body + [keras.layers.Softmax(axis=0)]), "the wrong axis")
    assert "sigmoid" not in line
    fully_conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
                                   keras.layers.Conv2D(10, 13, activation="softmax")])
    line = refused(ch05.q1, fully_conv, "(1, 1, 10)")
    assert "global-pool" in line and "End with Dense(10" not in line


def test_05_q1_tutorial_style_logits_are_recognised_and_explained():
    seeded = keras.initializers.GlorotUniform  # seeded: some logits are negative at every build
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=seeded(seed=3))(inputs)
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D(2)(x))
    logits = keras.layers.Dense(10, kernel_initializer=seeded(seed=4))(x)
    line = refused(ch05.q1, keras.Model(inputs, logits), "from_logits=True")
    assert "probabilities" in line and "softmax" in line


def test_05_q1_over_budget_names_the_largest_layer_inside_nested_models():
    body = keras.Sequential([keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.Flatten()], name="body")
    head = keras.Sequential([keras.layers.Dense(10, activation="softmax", name="big_dense")], name="head")
    line = refused(ch05.q1, keras.Sequential([keras.Input((28, 28, 1)), body, head]), "over the budget")
    assert "big_dense (54,090)" in line


PLANTED_05 = {fragment: answer for answer, fragment in ch05.q1.planted()}


@pytest.mark.parametrize("fragment", list(PLANTED_05))
def test_05_q1_each_planted_mistake_draws_its_own_message(fragment):
    refused(ch05.q1, checker._resolve(PLANTED_05[fragment]), fragment)


def test_05_q1_a_model_that_fails_on_the_images_is_reported_in_one_line():
    class Broken(keras.Model):
        def call(self, x):
            raise RuntimeError("boom")

    line = refused(ch05.q1, Broken(), "Running your model on 8 images of shape (28, 28, 1) raised RuntimeError")
    assert line.count("\n") == 0
    refused(ch05.q1, keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                                       keras.layers.Dense(10, activation="softmax")]), "reads inputs of shape")


# --- 06 q1: partial_conv_params(connections, kernel) -------------------------------------------------------

def pc_one_line(connections, kernel=5):
    return sum(len(sources) for sources in connections) * kernel ** 2 + len(connections)


def pc_connection_matrix(connections, kernel=5):  # the table as a 0/1 NumPy matrix, as the paper draws it
    table = np.zeros((len(connections), 1 + max(i for sources in connections for i in sources)), dtype=int)
    for j, sources in enumerate(connections):
        table[j, list(sources)] = 1
    return table.sum() * kernel * kernel + table.shape[0]


def pc_counting_loop(connections, kernel=5):
    total = 0
    for sources in connections:
        total += 1  # the map's bias
        for _ in sources:
            total += kernel * kernel
    return total


def pc_keras_layers(connections, kernel=5):  # one Conv2D(1, kernel) per output map, on the maps it sees
    return sum(_built_conv(kernel, len(sources)).count_params() for sources in connections)


def _built_conv(kernel, channels):
    layer = keras.layers.Conv2D(1, kernel)
    layer.build((None, 16, 16, channels))
    return layer


@pytest.mark.parametrize("fn", [pc_one_line, pc_connection_matrix, pc_counting_loop, pc_keras_layers])
def test_06_q1_accepts_any_way_of_counting_the_table(fn):
    accepted(ch06.q1, fn)


# --- 07 q3: dropout(x, keep_mask, rate, training) ----------------------------------------------------------

def do_where(x, keep_mask, rate, training):
    return np.where(keep_mask == 1, x / (1 - rate), 0.0) if training else x


def do_loops(x, keep_mask, rate, training):
    if not training:
        return x.copy()
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = x[i, j] / (1 - rate) if keep_mask[i, j] else 0.0
    return out


def do_tensorflow(x, keep_mask, rate, training):  # float32 tensors
    x = tf.constant(x, tf.float32)
    return x * tf.constant(keep_mask, tf.float32) * (1.0 / (1.0 - rate)) if training else x


def do_keras_ops(x, keep_mask, rate, training):  # one expression for both cases
    mask = keep_mask if training else np.ones_like(keep_mask)
    return keras.ops.multiply(x, mask) / (1 - rate if training else 1)


@pytest.mark.parametrize("fn", [do_where, do_loops, do_tensorflow, do_keras_ops])
def test_07_q3_accepts_numpy_loops_and_tensor_ops(fn):
    accepted(ch07.q3, fn)


# --- 08 q1: branch_macs(height, width, in_maps, kernel, out_maps, reduce) ----------------------------------

def bm_layer_list(height, width, in_maps, kernel, out_maps, reduce=None):
    layers = [(kernel, in_maps, out_maps)] if reduce is None else [(1, in_maps, reduce), (kernel, reduce, out_maps)]
    return sum(height * width * k * k * c_in * c_out for k, c_in, c_out in layers)


def bm_keras_weights(height, width, in_maps, kernel, out_maps, reduce=None):  # weights x positions
    layers = [keras.Input((height, width, in_maps))]
    if reduce is not None:
        layers.append(keras.layers.Conv2D(reduce, 1, use_bias=False))
    layers.append(keras.layers.Conv2D(out_maps, kernel, padding="same", use_bias=False))
    return keras.Sequential(layers).count_params() * height * width


def bm_numpy(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce:
        return np.prod([height, width, in_maps, reduce]) + np.prod([height, width, kernel, kernel, reduce, out_maps])
    return np.prod([height, width, kernel, kernel, in_maps, out_maps])


def bm_tensorflow(height, width, in_maps, kernel, out_maps, reduce=None):  # int64 tensors
    def cost(k, c_in, c_out):
        return tf.reduce_prod(tf.constant([height, width, k, k, c_in, c_out], tf.int64))

    return cost(kernel, in_maps, out_maps) if reduce is None else cost(1, in_maps, reduce) + cost(kernel, reduce,
                                                                                                  out_maps)


@pytest.mark.parametrize("fn", [bm_layer_list, bm_keras_weights, bm_numpy, bm_tensorflow])
def test_08_q1_accepts_formulas_numpy_tensors_and_keras(fn):
    accepted(ch08.q1, fn)


# --- every planted mistake of the function exercises: its own message, word for word --------------------

FUNCTIONS = {"01.q2": ch01.q2, "02.q2": ch02.q2, "03.q1": ch03.q1, "04.q1": ch04.q1, "06.q1": ch06.q1,
             "07.q3": ch07.q3, "08.q1": ch08.q1}
PLANTED = [(key, i) for key, exercise in FUNCTIONS.items() for i in range(len(exercise.planted()))]


@pytest.mark.parametrize(("key", "i"), PLANTED, ids=[f"{k}-{i}" for k, i in PLANTED])
def test_each_planted_mistake_draws_exactly_its_message(key, i):
    exercise = FUNCTIONS[key]
    mistake, message = exercise.planted()[i]
    assert exercise.verdict(mistake) == f"{WRONG} {message}"
    assert len({m for _, m in exercise.planted()}) == len(exercise.planted())


# --- the checker's part --------------------------------------------------------------------------------

def test_plain_turns_tensors_and_numpy_scalars_into_values():
    assert checker.plain(tf.constant(3)) == 3 and isinstance(checker.plain(tf.constant(3)), int)
    assert isinstance(checker.plain(np.float32(2.5)), float) and checker.plain(np.array(7)) == 7
    assert isinstance(checker.plain(tf.ones((2, 2))), np.ndarray) and checker.plain("x") == "x"
    assert checker.default_compare(520, tf.constant(520)) and checker.default_compare(520, tf.constant(520.0))
    assert not checker.default_compare(520, tf.constant(520.5)) and not checker.default_compare(520, True)


def test_a_custom_check_can_say_what_it_verified():
    def check(answer):
        if answer < 0:
            raise checker.Mistake("negative")
        return f"{answer} is not negative" if answer else None

    ex = checker.CustomExercise("sign", check, planted=[(-1, "negative")], reference_answer=1, note="fixed note",
                                hint="h", solution="s")
    assert ex.verdict(2) == f"{CORRECT} 2 is not negative" and ex.verdict(0) == f"{CORRECT} fixed note"


# --- review 21 follow-up: whole floats everywhere, and the commonest mistakes named --------------------------

@pytest.mark.parametrize("exercise", [ch02.q2, ch03.q1, ch06.q1, ch08.q1], ids=["02q2", "03q1", "06q1", "08q1"])
def test_counts_and_sizes_accept_whole_floats_and_numpy_ints_but_not_fractions(exercise):
    reference = exercise.reference
    accepted(exercise, lambda *args, **kwargs: float(reference(*args, **kwargs)))
    accepted(exercise, lambda *args, **kwargs: np.float64(reference(*args, **kwargs)))
    accepted(exercise, lambda *args, **kwargs: np.int64(reference(*args, **kwargs)))
    refused(exercise, lambda *args, **kwargs: reference(*args, **kwargs) + 0.25, "not a whole number")


def test_02_q2_same_size_rounded_down_is_named():
    def floor_same(n, kernel, stride=1, padding="valid", dilation=1):
        if padding == "same":
            return n // stride
        return ch02.output_size(n, kernel, stride, padding, dilation)

    refused(ch02.q2, floor_same, "n // stride rounds down")
    accepted(ch02.q2, lambda n, kernel, stride=1, padding="valid", dilation=1:
             np.ceil(n / stride) if padding == "same" else ch02.output_size(n, kernel, stride, padding, dilation))


def test_07_q3_an_inverted_mask_and_a_reversed_training_flag_are_named():
    def inverted(x, keep_mask, rate, training):
        return x * (1 - keep_mask) / (1 - rate) if training else x

    def reversed_flag(x, keep_mask, rate, training):
        return x if training else x * keep_mask / (1 - rate)

    refused(ch07.q3, inverted, "You kept the units the mask drops")
    refused(ch07.q3, reversed_flag, "training and inference are swapped")


def test_08_q1_flops_and_biases_are_named():
    refused(ch08.q1, lambda *args: 2 * ch08.branch_macs(*args), "FLOPs")
    refused(ch08.q1, ch08._with_biases, "for the biases")
