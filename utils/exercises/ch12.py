"""Exercises for notebook 12 (the course notes' exercises, try-first): definitions, references, worked answers."""
from __future__ import annotations

import functools
import inspect
import math
import numbers
import textwrap

import numpy as np

from utils import convmath, memory
from utils.checker import ChoiceExercise, FunctionExercise, Lazy, Mistake, ValueExercise
from utils.investigation import Investigation
from utils.memory import Conv


def _code(fn) -> str:
    """A reference function's source as a Markdown code block, for a solution that also explains."""
    return "```python\n" + textwrap.dedent(inspect.getsource(fn)).strip() + "\n```"


# q1 (notes' exercise 1): a dense layer with as many outputs as Conv2D(32, 3) on a 28x28 digit.
_PIXELS, _OUTPUTS = 28 * 28, 26 * 26 * 32
_CONV = convmath.conv_params(3, 1, 32)
_DENSE = convmath.dense_params(_PIXELS, _OUTPUTS)

q1 = ValueExercise(
    "Parameters of a Dense layer giving Conv2D(32, 3)'s 26x26x32 outputs from a 28x28 digit's 784 pixels",
    _DENSE,
    mistakes={
        _PIXELS * _OUTPUTS: "Biases forgotten: a Dense layer has one bias per output neuron, "
                            f"{_OUTPUTS:,} of them, on top of the 784 × {_OUTPUTS:,} weights.",
        _PIXELS * _OUTPUTS + _PIXELS: "The biases belong to the outputs, not the inputs: one per output neuron, "
                                      f"{_OUTPUTS:,}, not 784.",
        _CONV: "That is the convolution's count, 3·3·1·32 + 32: its 32 kernels are shared by all 26×26 positions. "
               "A Dense layer has no sharing: every output neuron has its own weight for every pixel.",
        26 * 26 * 32 * 9: "That gives every output neuron its own 3×3 patch of weights (a locally connected layer "
                          "without biases). A Dense neuron reads all 784 pixels, and has a bias.",
    },
    note=f"784 × {_OUTPUTS:,} + {_OUTPUTS:,} = {_DENSE:,}, against {_CONV} for the convolution: "
         f"{_DENSE / _CONV:,.0f} times more.",
    hint="Every one of the 26 × 26 × 32 output neurons has a weight for each of the 784 pixels, and a bias.",
    solution=f"""784 × {_OUTPUTS:,} + {_OUTPUTS:,} = **{_DENSE:,}** parameters, against 3·3·1·32 + 32 = {_CONV} for
`Conv2D(32, 3)` ({_DENSE / _CONV:,.0f} times fewer).

The course notes' answer to *"What are the advantages of a CNN over a fully connected network for image
classification?"*:

- **Far fewer parameters.** A convolutional neuron connects only to a small patch, and all neurons of a
  feature map share one kernel. Fewer parameters train faster, need less data and overfit less.
- **A feature learned in one place is found everywhere.** The same kernel slides over the whole image,
  so an edge or a loop detector learned at the top left also fires at the bottom right. A convolution is
  *equivariant* to shifts: move the image 3 pixels and its feature maps move 3 pixels; pooling turns that
  into tolerance to position.
- **It knows that neighbouring pixels belong together.** A dense network treats the pixels as an
  unordered list; a CNN's architecture builds in that nearby pixels form local patterns, which lower
  layers detect and higher layers combine into larger ones.

The dense network learns "ink in these pixels": moved a few pixels, the ink is somewhere it never saw.
A CNN ending in a global max pool asks only *whether* each feature appears, wherever it is; a CNN that
flattens its last maps into a dense layer keeps some of the dense network's sensitivity to position.""",
)


# q2 (notes' exercise 2, parameters): the parameters of a stack of convolution layers.
def stack_params(image_shape, filters, kernel=3):
    """Parameters of Conv2D layers with ``filters`` maps each, stacked on an image (height, width, channels)."""
    total, in_channels = 0, image_shape[-1]
    for maps in filters:
        total += (kernel * kernel * in_channels + 1) * maps  # one kernel per map over all inputs, one bias
        in_channels = maps
    return total


def _no_biases(image_shape, filters, kernel=3):
    channels = [image_shape[-1], *filters]
    return sum(kernel * kernel * a * b for a, b in zip(channels, channels[1:]))


def _bias_per_layer(image_shape, filters, kernel=3):
    return _no_biases(image_shape, filters, kernel) + len(filters)


def _reads_the_image(image_shape, filters, kernel=3):
    return sum((kernel * kernel * image_shape[-1] + 1) * maps for maps in filters)


def _kernel_not_squared(image_shape, filters, kernel=3):
    channels = [image_shape[-1], *filters]
    return sum((kernel * a + 1) * b for a, b in zip(channels, channels[1:]))


_IMAGE, _FILTERS = (200, 300, 3), [100, 200, 400]
_LAYERS = [Conv(f, 3, 2) for f in _FILTERS]
_PER_LAYER = [convmath.conv_params(3, a, b) for a, b in zip([3, *_FILTERS], _FILTERS)]
_PARAMS = memory.parameter_count(_IMAGE, _LAYERS)

q2 = FunctionExercise(
    "stack_params(image_shape, filters, kernel): the parameters of a stack of convolution layers",
    reference=stack_params,
    cases=[(_IMAGE, _FILTERS, 3), ((28, 28, 1), [6, 16], 5), ((224, 224, 3), [64], 7),
           ((32, 32, 16), [32, 32, 64], 3), ((28, 28, 1), [32], 3), ((64, 64, 3), [8, 8], 1)],
    mistakes=[
        (_no_biases, "Biases forgotten: each feature map has one bias, so add `maps` per layer."),
        (_bias_per_layer, "Biases counted once per layer instead of once per feature map: each of a layer's "
                          "maps has its own bias."),
        (_reads_the_image, "Every layer of yours reads the image's channels. Only the first does: the second "
                           "reads the first layer's 100 maps, so its kernels are 3×3×100."),
        (_kernel_not_squared, "A kernel of size 3 has 3 × 3 = 9 weights per input channel, not 3: square it."),
    ],
    hint="A layer with m maps on c input channels has (kernel·kernel·c + 1)·m parameters; the next layer's "
         "c is this layer's m. The height and width of the image do not enter.",
    solution=f"""{_code(stack_params)}

For the notes' network (`stack_params((200, 300, 3), [100, 200, 400])`): (3·3·3 + 1)·100 = {_PER_LAYER[0]:,},
(3·3·100 + 1)·200 = {_PER_LAYER[1]:,}, (3·3·200 + 1)·400 = {_PER_LAYER[2]:,}; in all **{_PARAMS:,}**. The
course notes get the same total. Neither the 200×300 size nor the stride enters: a kernel's weights are
shared by every position.""",
)


# q3 (notes' exercise 2, memory): the bare minimum to train on a mini-batch of 50, in MB.
_BATCH = 50
_TRAIN = memory.training_estimate(_IMAGE, _LAYERS, _BATCH)
_SIZES = [layer.bytes for layer in memory.conv_stack(_IMAGE, _LAYERS)]
_SHAPES = [layer.shape for layer in memory.conv_stack(_IMAGE, _LAYERS)]
_INPUT = memory.input_bytes(_IMAGE)
_PBYTES = memory.parameter_bytes(_IMAGE, _LAYERS)
_FLOOR_L3 = 25 * 37 * 400 * 4  # (50 - 1) // 2 + 1 = 25, but 75 // 2 = 37 instead of ceil(75 / 2) = 38
_INFER = memory.inference_estimate(_IMAGE, _LAYERS)
_MB = 10**6
# the notes' 537.7: 10.03 MiB per image rounded to 10, times 50, + 34.3 MiB of inputs + 3.4 MiB of parameters
_NOTES_MIB = round(sum(_SIZES) / 2**20) * _BATCH + round(_BATCH * _INPUT / 2**20, 1) + round(_PBYTES / 2**20, 1)


def _mb(n_bytes):
    return round(n_bytes / _MB, 1)


# Géron's 2nd edition (Appendix A; handson-ml3 repeats it): 10.52 MB of maps per image rounded to 10.5 first
_PER_IMAGE_MB = sum(_SIZES) / _MB
_GERON = _BATCH * round(_PER_IMAGE_MB, 1) + _BATCH * _INPUT / _MB + round(_PBYTES / _MB, 1)
_PRECISION, _NEAR = 0.05, 1.5  # MB: one decimal place is asked; "close" below 1.5 MB off


class _Rounded(ValueExercise):
    """A figure asked to one decimal place: a figure close to the answer but outside that precision, and not
    an anticipated mistake, is told so (rounded too early, or too coarsely), not just "Not quite"."""

    near_miss = float(round(_TRAIN.mb))  # the figure to the nearest MB: a planted near miss

    def _judge(self, answer):
        try:
            return super()._judge(answer)
        except Mistake:
            value = answer.item() if isinstance(answer, np.generic) else answer
            if (isinstance(value, numbers.Real) and not isinstance(value, bool)
                    and abs(value - self.expected) <= _NEAR
                    and all(abs(value - wrong) > self.tolerance for wrong in self.mistakes)):
                raise Mistake(f"Close: {value} is within {_NEAR} MB of the exact figure but not within "
                              f"{self.tolerance} MB, the one decimal place asked. Keep the bytes exact and divide "
                              "by 10^6 only at the end, then give one decimal.") from None
            raise

    def planted(self):
        return super().planted() + [(self.near_miss, "Close:")]


q3 = _Rounded(
    "RAM (in MB = 10^6 bytes, to one decimal place) to train the 3-layer CNN on a mini-batch of 50 200x300 RGB "
    "images, float32",
    _TRAIN.mb,
    tolerance=_PRECISION,
    mistakes={
        _GERON: f"That is the figure Géron's 2nd edition publishes (Appendix A; the handson-ml3 notebook repeats "
                f"it): it rounds the {_PER_IMAGE_MB:.2f} MB of feature maps per image to "
                f"{round(_PER_IMAGE_MB, 1)} before multiplying by {_BATCH}, which loses {_BATCH} × "
                f"{_PER_IMAGE_MB - round(_PER_IMAGE_MB, 1):.2f} = "
                f"{_BATCH * (_PER_IMAGE_MB - round(_PER_IMAGE_MB, 1)):.1f} MB. Keep the exact bytes to the end "
                "(notebook 11 reconciles the published figures).",
        _TRAIN.total / 4 / _MB: "That counts values, not bytes: a float32 takes 4 bytes, so multiply by 4.",
        (sum(_SIZES) + _BATCH * _INPUT + _PBYTES) / _MB: "The batch of 50 is not multiplied: every image of the "
                                                         "mini-batch has its own feature maps, all kept for the "
                                                         "reverse pass.",
        (_BATCH * sum(_SIZES) + _PBYTES) / _MB: "The input images are forgotten: the batch of 50 RGB images "
                                                f"takes 50 × 200 × 300 × 3 × 4 = {_BATCH * _INPUT:,} bytes.",
        (_BATCH * (sum(_SIZES) + _INPUT + _PBYTES)) / _MB: "The parameters are multiplied by 50: they are shared "
                                                           "by the whole batch, stored once.",
        (_BATCH * (sum(_SIZES[:2]) + _FLOOR_L3) + _BATCH * _INPUT + _PBYTES) / _MB:
            "The third layer is 25 × 38, not 25 × 37: with SAME padding a stride of 2 gives ceil(75 / 2) = 38.",
        _TRAIN.mib: "That is MiB (2^20 bytes); the question asks for MB (10^6 bytes).",
        float(_TRAIN.total): "That is the right figure in bytes: the question asks for MB, 10^6 bytes.",
        _INFER.mb: "That is the memory to predict one image (two consecutive layers and the parameters). "
                   "Training keeps every layer's output, for each of the 50 images.",
        _NOTES_MIB: "That is the course notes' figure: MiB, with 10.03 MiB per image rounded to 10 before "
                    "multiplying by 50, and then called MB.",
        (_TRAIN.total - _PBYTES) / _MB: f"The parameters are forgotten: training keeps the {_PARAMS:,} weights "
                                        f"and biases too, 4 bytes each, {_PBYTES:,} B stored once.",
        (_TRAIN.total + _PBYTES) / _MB: f"That adds the parameters' gradients ({_PBYTES:,} B): the question asks "
                                        "for the bare minimum (feature maps, inputs, parameters); the gradients and "
                                        "the optimizer's state come on top.",
    },
    note=f"50 × {sum(_SIZES):,} B of feature maps + {_BATCH * _INPUT:,} B of inputs + {_PBYTES:,} B of "
         f"parameters = {_TRAIN.total:,} B.",
    hint="SAME with stride 2 halves each side, rounding up: list the three output shapes. Training keeps every "
         "layer's output for every image of the batch; add the input batch and the parameters "
         "(stored once), 4 bytes per float32.",
    solution=f"""The maps are {' → '.join('×'.join(map(str, s)) for s in _SHAPES)} (SAME, stride 2: ceil(n / 2)),
so one image's feature maps take 4 × ({' + '.join(f'{math.prod(s):,}' for s in _SHAPES)}) =
{sum(_SIZES):,} bytes. Training keeps them all, for each of the 50 images: {_BATCH * sum(_SIZES):,} B. Add the
input batch, 50 × 200 × 300 × 3 × 4 = {_BATCH * _INPUT:,} B, and the {_PARAMS:,} parameters × 4 =
{_PBYTES:,} B, stored once: **{_TRAIN.total:,} B = {_TRAIN.mb:.1f} MB = {_TRAIN.mib:.1f} MiB**, a bare
minimum (the gradients of the reverse pass and the optimizer's state come on top).

**Predicting one image** needs less: once a layer is computed, the one before it can be freed, so the peak is
the largest two *consecutive* tensors, {_SIZES[0]:,} + {_SIZES[1]:,} B, plus the parameters:
**{_INFER.total:,} B = {_INFER.mb:.1f} MB**.

**The course notes slip** on this exercise: they write the third layer as "3 × 25 × 38 × 400" (4 bytes per
float32, not 3), the parameters as 3,623,600 B ({_PBYTES:,}), a total of 17.8 MB for one image (layer 1
counted twice; {_INFER.mb:.1f} MB is right) and 537.7 MB for the batch (MiB, with 10.03 MiB per image
rounded to 10; {_TRAIN.mb:.1f} MB = {_TRAIN.mib:.1f} MiB is right). Géron's 2nd edition gives {_GERON:.1f} MB: its
{_PER_IMAGE_MB:.2f} MB per image rounded to {round(_PER_IMAGE_MB, 1)} before multiplying by {_BATCH}.
[Notebook 11](11_parameters_and_memory.ipynb) reconciles each published figure and measures the real peak.""",
)


# q4 (notes' exercise 3): running out of GPU memory while training.
# On the estimate notebook 11's measurement confirmed (the reverse pass and the parameters' gradients),
# not on the bare minimum it rejected.
_REMEDIES = {r.name: r.estimate.mb for r in memory.remedy_effects(_IMAGE, _LAYERS, _BATCH, reverse_pass=True,
                                                                  param_gradients=True)}
_ADAM = memory.training_estimate(_IMAGE, _LAYERS, _BATCH, reverse_pass=True, param_gradients=True,
                                 optimizer_slots=2)
_SGD = memory.training_estimate(_IMAGE, _LAYERS, _BATCH, reverse_pass=True, param_gradients=True)

q4 = ChoiceExercise(
    "Training the exercise's CNN on batches of 50 runs out of GPU memory. Which change does NOT help?",
    choices={
        "a": "Halve the mini-batch to 25 images.",
        "b": "Give the first layer a stride of 4 instead of 2.",
        "c": "Switch the optimizer from plain SGD to Adam.",
        "d": "Keep the activations in 16-bit floats (mixed precision).",
        "e": "Split each batch over two GPUs with tf.distribute.MirroredStrategy.",
    },
    correct="c",
    feedback={
        "a": f"It helps: the feature maps are per image, so halving the batch cuts the estimate from "
             f"{_REMEDIES['as given']:.1f} to {_REMEDIES['smaller mini-batch']:.1f} MB.",
        "b": f"It helps: a larger stride shrinks the maps of that layer and of every layer above it "
             f"({_REMEDIES['as given']:.1f} → {_REMEDIES['larger stride']:.1f} MB).",
        "d": f"It helps: 2 bytes per activation instead of 4 ({_REMEDIES['as given']:.1f} → "
             f"{_REMEDIES['mixed precision']:.1f} MB).",
        "e": f"It helps: each GPU holds half the batch's maps and a copy of the parameters "
             f"({_REMEDIES['several devices']:.1f} MB per GPU).",
    },
    note=f"Adam keeps two extra values per parameter (its moment estimates): {_SGD.mb:.1f} → {_ADAM.mb:.1f} MB "
         "with the parameter gradients. Here the parameters are small next to the maps; in a network of "
         "many millions of parameters they are not.",
    hint="What does each change do to the feature maps of the batch, and what does Adam store for every "
         "parameter?",
    solution=f"""**c**: Adam stores two moment estimates per parameter, so it *adds* memory
({_SGD.mb:.1f} → {_ADAM.mb:.1f} MB with the reverse pass and the gradients,
`memory.training_estimate(..., optimizer_slots=2)`).

The course notes' five remedies for running out of memory, with what each saves on this network
(`utils.memory.remedy_effects` on the estimate notebook 11's measurement confirmed, from
{_REMEDIES['as given']:.1f} MB):

1. a smaller mini-batch (25 images: {_REMEDIES['smaller mini-batch']:.1f} MB);
2. a larger stride in one or more layers (stride 4 in layer 1: {_REMEDIES['larger stride']:.1f} MB);
3. fewer layers (without the last: {_REMEDIES['fewer layers']:.1f} MB, almost no saving here: the training peak
   is at layer 2, which stays; removing a layer helps when it holds the peak or many parameters);
4. 16-bit floats instead of 32-bit ({_REMEDIES['16-bit floats']:.1f} MB; mixed precision, 16-bit activations
   and 32-bit parameters: {_REMEDIES['mixed precision']:.1f} MB);
5. the model or the batch spread over several devices (2 GPUs: {_REMEDIES['several devices']:.1f} MB each).

Each has a price: a noisier gradient, a coarser map, a smaller model, less precision, more hardware.
[Notebook 11](11_parameters_and_memory.ipynb) measures them and splits a batch with `MirroredStrategy`.""",
)


# q5 (notes' exercise 4): max pooling in NumPy.
def max_pool(image, size):
    """Max pooling of a 2-D array with size x size windows and stride size; incomplete edge windows dropped."""
    image = np.asarray(image)
    rows, cols = image.shape[0] // size, image.shape[1] // size
    windows = image[:rows * size, :cols * size].reshape(rows, size, cols, size)
    return windows.max(axis=(1, 3))


def _average_pool(image, size):
    image = np.asarray(image, dtype=float)
    rows, cols = image.shape[0] // size, image.shape[1] // size
    return image[:rows * size, :cols * size].reshape(rows, size, cols, size).mean(axis=(1, 3))


def _stride_one(image, size):
    image = np.asarray(image)
    rows, cols = image.shape[0] - size + 1, image.shape[1] - size + 1
    return np.array([[image[i:i + size, j:j + size].max() for j in range(cols)] for i in range(rows)])


def _keeps_edges(image, size):
    image = np.asarray(image)
    rows, cols = -(-image.shape[0] // size), -(-image.shape[1] // size)
    return np.array([[image[i * size:(i + 1) * size, j * size:(j + 1) * size].max() for j in range(cols)]
                     for i in range(rows)])


def _max_from_zero(image, size):  # a running max started at 0: a window of negative values gives 0
    return np.maximum(max_pool(image, size), 0)


WINDOW = np.array([[1, 3, 2, 0],
                   [4, 2, 1, 1],
                   [0, 1, 5, 6],
                   [2, 2, 7, 1]])
_RNG = np.random.default_rng(12)
_POOL_CASES = [(WINDOW, 2), (np.arange(25).reshape(5, 5), 2), (_RNG.integers(-9, 10, (6, 6)), 3),
               (_RNG.integers(-9, 10, (7, 4)), 2), (_RNG.normal(size=(6, 9)), 2), (WINDOW, 4)]

q5 = FunctionExercise(
    "max_pool(image, size): max pooling of a 2-D array, size x size windows, stride size",
    reference=max_pool,
    cases=_POOL_CASES,
    mistakes=[
        (_average_pool, "That is average pooling: max pooling keeps the largest value of each window."),
        (_stride_one, "Your windows overlap: they move one pixel at a time. Keras's MaxPooling2D moves them by "
                      "the pool size (strides default to pool_size), so a 4×4 input gives 2×2."),
        (_keeps_edges, "Your output keeps the incomplete windows at the right and bottom edges (padding='same'). "
                       "Keras's default, padding='valid', drops them: floor(n / size) windows per axis."),
        (_max_from_zero, "Your pooled values are never below 0: a running max that starts at 0 loses a window whose "
                         "values are all negative. Start from the window's first value (or -np.inf), or take "
                         ".max() of the window."),
    ],
    hint="Cut the image to a whole number of windows, image[:rows*size, :cols*size], reshape it to "
         "(rows, size, cols, size) and take the max over axes 1 and 3 (or loop over the windows).",
    solution=f"""{_code(max_pool)}

On the notebook's 4×4 window, `max_pool(WINDOW, 2)` is `{max_pool(WINDOW, 2).tolist()}`.

The course notes' question: *why add a max pooling layer rather than a convolution with the same stride,
and why has it no parameters?* A max pooling neuron outputs the largest value in its window: a fixed rule
with nothing to learn, so the layer has no weights at all. It shrinks the maps (less computation and
memory in the layers above) at no cost in parameters, and its output does not change when a feature moves
a little inside a window. A strided convolution also shrinks the maps, but it has weights to learn and to
store: a 2×2 one from 1 map to 1 map has {convmath.conv_params(2, 1, 1)} parameters. LeNet-5's subsampling
layers were different: they averaged each window, then applied a learnable coefficient and bias per map,
so 6 maps cost 12 parameters. Modern max pooling dropped even those.""",
)


# q6 (notes' exercise 5): local response normalisation at one pixel.
def lrn(a, depth_radius, bias, alpha, beta):
    """LRN across the maps of one pixel (a 1-D array), as tf.nn.local_response_normalization computes it."""
    a = np.asarray(a, dtype=float)
    sums = np.array([np.sum(a[max(0, i - depth_radius):i + depth_radius + 1] ** 2) for i in range(len(a))])
    return a / (bias + alpha * sums) ** beta


def _sum_not_squares(a, depth_radius, bias, alpha, beta):
    a = np.asarray(a, dtype=float)
    sums = np.array([np.sum(a[max(0, i - depth_radius):i + depth_radius + 1]) for i in range(len(a))])
    return a / (bias + alpha * sums) ** beta


def _wraps_around(a, depth_radius, bias, alpha, beta):
    a = np.asarray(a, dtype=float)
    width = min(2 * depth_radius + 1, len(a))
    sums = np.array([sum(a[(i + d) % len(a)] ** 2 for d in range(-depth_radius, -depth_radius + width))
                     for i in range(len(a))])
    return a / (bias + alpha * sums) ** beta


def _no_beta(a, depth_radius, bias, alpha, beta):
    return lrn(a, depth_radius, bias, alpha, 1.0)


def _own_map_left_out(a, depth_radius, bias, alpha, beta):
    a = np.asarray(a, dtype=float)
    sums = np.array([np.sum(a[max(0, i - depth_radius):i + depth_radius + 1] ** 2) - a[i] ** 2
                     for i in range(len(a))])
    return a / (bias + alpha * sums) ** beta


def _negative_start(a, depth_radius, bias, alpha, beta):  # a[i - r:...]: a negative start counts from the end
    a = np.asarray(a, dtype=float)
    sums = np.array([np.sum(a[i - depth_radius:i + depth_radius + 1] ** 2) for i in range(len(a))])
    return a / (bias + alpha * sums) ** beta


def _alpha_over_n(a, depth_radius, bias, alpha, beta):
    return lrn(a, depth_radius, bias, alpha / (2 * depth_radius + 1), beta)


_STRONG = np.array([1, 1, 1, 8, 1, 1, 1], float)
_LRN_CASES = [(_STRONG, 2, 2.0, 0.1, 0.75), (np.array([3.0, 0.5, 2.0, 4.0, 1.0]), 1, 1.0, 0.2, 0.5),
              (_RNG.uniform(0, 60, 10), 2, 2.0, 1e-3, 0.75), (np.array([2.0, 5.0, 1.0, 3.0]), 3, 1.0, 0.05, 0.75)]

q6 = FunctionExercise(
    "lrn(a, depth_radius, bias, alpha, beta): local response normalisation across the maps at one pixel",
    reference=lrn,
    cases=_LRN_CASES,
    mistakes=[
        (_sum_not_squares, "You sum the responses; the divisor sums their squares, a_j²."),
        (_wraps_around, "Your window wraps around from the last map to the first. Maps have an order but no "
                        "cycle: near the ends the window is cut, a[max(0, i − r) : i + r + 1]."),
        (_no_beta, "The power β is missing: the divisor is (k + α·Σ a_j²) ** β."),
        (_own_map_left_out, "You leave the map's own response out of its window: the sum runs over "
                            "j = i − r … i + r, i included, so a strong map also damps itself."),
        (_alpha_over_n, "You divide α by the window size 2r + 1: that is the convention of the paper, Caffe and "
                        "PyTorch. tf.nn.local_response_normalization multiplies the sum by α itself."),
        (_negative_start, "Your first maps' windows are wrong: for i < r, a[i − r : i + r + 1] starts at a negative "
                          "index, which Python counts from the end (often an empty slice, a sum of 0). Clip the "
                          "start: a[max(0, i − r) : i + r + 1]."),
    ],
    hint="For each map i, sum a_j² over j from max(0, i − r) to i + r (both ends included), then "
         "b_i = a_i / (bias + alpha · sum) ** beta.",
    solution=f"""{_code(lrn)}

The course notes' question: *what does a local response normalisation layer do?* It makes neighbouring
feature maps compete. At each pixel, every response is divided by a quantity that grows with the
responses of the maps next to it (in channel order):

$$b_i = \\frac{{a_i}}{{\\left(k + \\alpha \\sum_{{j=i-r}}^{{i+r}} a_j^2\\right)^\\beta}}$$

A map that responds strongly at a pixel thus damps its neighbours there, and itself, since its own square
is in its divisor; maps are pushed to respond to different things, a wider range of features. AlexNet
used it after its first two convolutions with r = 2 (5 maps), k = 2, α = 10⁻⁴, β = 0.75 (the paper divides
α by the 5 maps, TensorFlow does not: [notebook 7](07_alexnet.ipynb) checks the two conventions). On
the 7 maps `[1, 1, 1, 8, 1, 1, 1]` with r = 2, k = 2, α = 0.1, β = 0.75, maps 1 to 5 are within reach of the
strong map 3 and are divided by about 5: `{np.round(lrn(_STRONG, 2, 2.0, 0.1, 0.75), 3).tolist()}`. Later work
found that it helped little (VGG, 2014), and batch normalisation took its place.""",
)


# q7 (notes' exercise 6): the main idea of AlexNet, GoogLeNet and ResNet.
q7 = ChoiceExercise(
    "The main innovation of AlexNet, GoogLeNet and ResNet",
    choices={
        "a": "AlexNet: the first CNN trained by backpropagation; GoogLeNet: only 3×3 convolutions; ResNet: batch "
             "normalisation after every convolution.",
        "b": "AlexNet: inception modules of parallel branches; GoogLeNet: skip connections that add a unit's input to "
             "its output; ResNet: stacked convolutions.",
        "c": "AlexNet: much larger and deeper than LeNet-5; GoogLeNet: more parameters than AlexNet, which let it go "
             "deeper; ResNet: skip connections.",
        "d": "AlexNet: larger, deeper than LeNet-5, convolutions stacked directly; GoogLeNet: inception modules, 1×1 "
             "bottlenecks; ResNet: skip connections.",
    },
    correct="d",
    feedback={
        "a": "LeNet-5 (1998) was already trained by backpropagation; a stack of only 3×3 convolutions is VGG "
             "(2014); batch normalisation is Ioffe and Szegedy's (2015): ResNet uses it, but its idea is the "
             "shortcut.",
        "b": "The ideas are shuffled: inception modules are GoogLeNet's, skip connections ResNet's, and "
             "stacking convolutions without a pooling layer after each one was AlexNet's.",
        "c": "GoogLeNet is deeper with *fewer* parameters than AlexNet: its 1×1 bottlenecks cut the channels "
             "the 3×3 and 5×5 convolutions read. The cells after this exercise count both.",
    },
    note="A residual unit computes relu(F(x) + x): its layers learn only what to add to x.",
    hint="Which one stacks convolutions without a pooling layer after each, which puts branches side by side, "
         "and which adds a unit's input to its output?",
    solution="""**d**.

**AlexNet** (2012) was much larger and deeper than LeNet-5, and it stacked convolution layers directly on
top of each other instead of following each one with a pooling layer (three convolutions follow each other
between its second and third pooling layers). It also made ReLU, dropout and heavy data augmentation
standard practice, trained on two GPUs. See [7. AlexNet](07_alexnet.ipynb).

**GoogLeNet** (2014) introduced the *inception module*: 1×1, 3×3 and 5×5 convolutions and a pooling branch
side by side, their maps stacked. Cheap 1×1 "bottleneck" convolutions in front of the 3×3 and 5×5 ones cut
the channels they read, which let the network go much deeper with far fewer parameters than AlexNet. The
course notes say 10 times fewer; the cell after this exercise prints the ratio the builders of notebooks 7
and 8 give. See [8. GoogLeNet and the inception module](08_googlenet_inception.ipynb).

**ResNet** (2015) introduced the *skip connection*: a residual unit adds its input to its output,
`relu(F(x) + x)`, so its layers learn only the *residual* F(x) = h(x) − x. A unit whose residual branch
outputs zero is the identity, so an extra unit can always fall back to passing its input on, and gradients
flow back through the shortcuts. That made networks of 152 layers trainable. Zero-initialising the last
BatchNorm γ of every residual branch (Goyal et al. 2017; torchvision's `zero_init_residual`) makes each unit
start as that identity. See [9. ResNet](09_resnet.ipynb).""",
)


# q8 (investigation): global max pooling against Flatten under the CNN's top, on shifted digits.
def _shift_right(images, pixels):
    out = np.zeros_like(images)
    out[:, :, pixels:] = images[:, :, :images.shape[2] - pixels]
    return out


def _check_flatten(answer):
    from utils.investigation import accuracy, all_layers, keras_model, labelled_data

    pooled, flat = keras_model(answer, "pooled"), keras_model(answer, "flat")
    if pooled is flat:
        raise Mistake("'pooled' and 'flat' are the same model: train one of each.")
    for key, model in (("pooled", pooled), ("flat", flat)):
        if tuple(model.input_shape[1:]) != (28, 28, 1) or tuple(model.output_shape[1:]) != (10,):
            raise Mistake(f"{key!r} maps {tuple(model.input_shape[1:])} to {tuple(model.output_shape[1:])}: both "
                          f"read (28, 28, 1) digits and give 10 probabilities.")
    kinds = {key: [type(layer).__name__ for layer in all_layers(model)] for key, model in (("pooled", pooled),
                                                                                            ("flat", flat))}
    if not any(k.startswith("Global") for k in kinds["pooled"]):
        raise Mistake("'pooled' has no global pooling layer: it should be the chapter's small_cnn().")
    if any(k.startswith("Global") for k in kinds["flat"]):
        raise Mistake("'flat' still has a global pooling layer: replace GlobalMaxPooling2D by Flatten, so the "
                      "dense layer sees where each feature is.")
    if "Flatten" not in kinds["flat"] and "Reshape" not in kinds["flat"]:
        raise Mistake("'flat' has neither global pooling nor Flatten: put keras.layers.Flatten() where "
                      "GlobalMaxPooling2D was.")
    x, y = labelled_data(answer, "x_val", "y_val", at_least=300)
    scores = {key: [accuracy(model, _shift_right(x, s), y) for s in (0, 6)]
              for key, model in (("pooled", pooled), ("flat", flat))}
    for key, (centred, _) in scores.items():
        if centred < 0.75:
            raise Mistake(f"{key!r} classifies {centred:.1%} of your centred digits: has it been trained?")
    lost = {key: 100 * (a - b) for key, (a, b) in scores.items()}
    return (f"Re-scored on your {len(y):,} digits, centred and moved 6 px right: global max pooling "
            f"{scores['pooled'][0]:.1%} -> {scores['pooled'][1]:.1%} ({lost['pooled']:.1f} points lost), Flatten "
            f"{scores['flat'][0]:.1%} -> {scores['flat'][1]:.1%} ({lost['flat']:.1f} points lost); parameters "
            f"{pooled.count_params():,} against {flat.count_params():,}.")


def _flatten_cnn(top):
    import keras

    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Conv2D(16, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Conv2D(16, 3, activation="relu"),
                             top, keras.layers.Dense(10, activation="softmax")])


def _flatten_answer(train=True):
    import keras

    from utils.investigation import toy_digits

    x, y = toy_digits(1400, seed=5, jitter=1)
    answer = dict(x_val=x[1000:], y_val=y[1000:],
                  explanation="Global pooling forgets where a feature was, so a moved digit reads the same.")
    for key, top in (("pooled", keras.layers.GlobalMaxPooling2D()), ("flat", keras.layers.Flatten())):
        keras.utils.set_random_seed(0)
        model = _flatten_cnn(top)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        if train:
            model.fit(x[:1000], y[:1000], epochs=3, batch_size=32, verbose=0)
        answer[key] = model
    return answer


def _global_average():
    import keras

    return keras.layers.GlobalAveragePooling2D()


@functools.lru_cache(maxsize=1)
def _flatten_trained():
    return _flatten_answer()


q8 = Investigation(
    "Investigation: global max pooling or Flatten under the CNN, on shifted digits",
    _check_flatten,
    keys=("pooled", "flat", "x_val", "y_val"),
    given=("x_val", "y_val"),
    planted=[(Lazy(lambda: {**_flatten_trained(), "flat": _flatten_trained()["pooled"]}), "are the same model"),
             (Lazy(lambda: _flatten_answer(train=False)), "has it been trained"),
             (Lazy(lambda: {**_flatten_trained(), "flat": _flatten_cnn(_global_average())}),
              "still has a global pooling layer")],
    reference_answer=Lazy(lambda: _flatten_trained()),
    discussion=(
        "The convolutions and local poolings are (nearly) shift-equivariant: a moved digit gives moved maps. "
        "What the top of the network does with the maps decides the rest. Global max pooling keeps each map's "
        "largest value wherever it is, so a feature found anywhere counts the same: the 6-pixel move still "
        "costs points (the poolings are only nearly equivariant, and a wide digit's right edge leaves the frame), "
        "but far fewer than with Flatten. "
        "Flatten hands the dense layer every position "
        "separately; it learned its weights on centred digits, so a moved digit lights up positions it has "
        "never weighted, and the accuracy falls, as the dense network's did in this chapter (without any "
        "convolution at all). Flatten also costs parameters (the dense layer reads 3×3×64 values instead of 64). "
        "This is why modern CNNs end in global pooling (GoogLeNet, notebook 8; ResNet, notebook 9), and why the "
        "equivariance of convolution becomes (partial) invariance only through pooling. "
        "`python tools/investigation_numbers.py 12` repeats this cell on the course's data (the full MNIST, 3 epochs "
        "on 2,000 digits, the first 2,000 validation digits) over 5 seeds, each seed setting the initial weights "
        "and the order: global max pooling lost 32.5 to 42.7 points at 6 px, Flatten 67.3 to 79.0 (down to 10 to "
        "19 %; chance is 10 %), although Flatten was better on centred digits (86.7 to 89.5 % against 84.9 to "
        "86.3 %). Paired by seed, Flatten lost 35.8 points more (95 % interval 28.5 to 43.0, every seed). "
        "Global pooling does not make the shift free; it loses far fewer points than Flatten."),
    hint="Copy small_cnn() and replace keras.layers.GlobalMaxPooling2D() by keras.layers.Flatten(); the training "
         "and the check's shifted scoring are in the cell.",
    solution="`flat_cnn()` is `small_cnn()` with `keras.layers.Flatten()` in place of `GlobalMaxPooling2D()`. "
             "Train both the same way; the check scores them on the validation digits centred and moved 6 px, "
             "and reports the points each one loses.",
    todo="write flat_cnn() and your explanation, then run the cell (two trainings, about 30 s).",
)
