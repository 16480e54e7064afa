"""Exercises for notebook 11 (parameters and memory): definitions, references, planted mistakes."""
from __future__ import annotations

import math

from utils import convmath
from utils.checker import ChoiceExercise, FunctionExercise, Lazy, ValueExercise, default_compare
from utils.investigation import Investigation

_ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


# q1: the memory of a given layer stack, written by the learner.
def stack_memory(shapes, batch_size=1, dtype="float32"):
    """Bytes of the activations: every layer's output shape (height, width, channels), for the whole batch."""
    bytes_per_value = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}[dtype]
    values = sum(math.prod(shape) for shape in shapes)
    return batch_size * values * bytes_per_value


def _forgot_batch(shapes, batch_size=1, dtype="float32"):
    return sum(math.prod(shape) for shape in shapes) * _ITEMSIZE[dtype]


def _eight_bytes(shapes, batch_size=1, dtype="float32"):
    return batch_size * sum(math.prod(shape) for shape in shapes) * 8


def _dtype_ignored(shapes, batch_size=1, dtype="float32"):
    return batch_size * sum(math.prod(shape) for shape in shapes) * 4


def _counted_parameters(shapes, batch_size=1, dtype="float32"):
    channels = [3] + [shape[-1] for shape in shapes]  # RGB input, 3x3 kernels
    return sum(convmath.conv_params(3, c_in, c_out) for c_in, c_out in zip(channels, channels[1:])) \
        * _ITEMSIZE[dtype]


def _same_bytes(expected, got):
    """A number of bytes: an int, or a whole float such as ``bits / 8 * values`` gives."""
    if isinstance(got, float) and got.is_integer():
        got = int(got)
    return default_compare(expected, got)


_EXERCISE = [(100, 150, 100), (50, 75, 200), (25, 38, 400)]
CASES = [(_EXERCISE, 1, "float32"), (_EXERCISE, 50, "float32"), (_EXERCISE, 50, "float16"),
         ([(112, 112, 64), (56, 56, 128)], 8, "float32"), ([(28, 28, 16), (14, 14, 32), (7, 7, 64)], 32, "float16"),
         ([(14, 14, 6), (5, 5, 16)], 3, "float64"), ([(32, 32, 16), (16, 16, 32)], 4, "bfloat16")]

q1 = FunctionExercise(
    "stack_memory(shapes, batch_size, dtype): the bytes of a layer stack's activations",
    reference=stack_memory,
    cases=CASES,
    compare=_same_bytes,
    mistakes=[
        (_forgot_batch, "Your bytes do not grow with batch_size: every instance of the mini-batch has its own "
                        "feature maps, so multiply by the batch size (the parameters are shared, the "
                        "activations are not)."),
        (_eight_bytes, "Your bytes are twice too large for float32: 8 bytes is a float64. A float32 takes "
                       "32 bits = 4 bytes, a float16 or bfloat16 2 bytes."),
        (_dtype_ignored, "Right for float32, but a float16 or bfloat16 takes 2 bytes and a float64 8: use the "
                         "dtype's size (e.g. {'float16': 2, 'bfloat16': 2, 'float32': 4, 'float64': 8}[dtype])."),
        (_counted_parameters, "You counted the parameters (kernels and biases), which do not depend on the map "
                              "sizes. The activations are height × width × channels values per layer and "
                              "per instance."),
    ],
    hint="For each shape, multiply height × width × channels (math.prod). Sum over the layers, multiply by "
         "the batch size and by the bytes per value of the dtype.",
    solution=stack_memory,
)


# q2: a convolution layer's parameters and their bytes.
_K, _C_IN, _FILTERS = 5, 32, 64
_P = convmath.conv_params(_K, _C_IN, _FILTERS)

q2 = ValueExercise(
    "Parameters of Conv2D(64, 5) on a 32-channel input, and their bytes in float32: (parameters, bytes)",
    (_P, 4 * _P),
    mistakes={
        (_K * _K * _C_IN * _FILTERS, 4 * _K * _K * _C_IN * _FILTERS):
            "You left out the biases: each of the 64 filters has one.",
        (_K * _K * _C_IN * _FILTERS + 1, 4 * (_K * _K * _C_IN * _FILTERS + 1)):
            "Biases counted once per layer instead of once per filter: add 64, not 1.",
        ((_K * _K + 1) * _FILTERS, 4 * (_K * _K + 1) * _FILTERS):
            "Each filter has one 5×5 kernel *per input channel*: 5 × 5 × 32 weights, plus its bias.",
        (_P, 8 * _P): "The count is right, but a float32 takes 4 bytes, not 8.",
        (_P, 32 * _P): "The count is right, but 32 is the bits of a float32: it takes 4 bytes.",
        (_P, _P): "The count is right; the bytes are 4 per float32 parameter.",
    },
    note=f"(5 × 5 × 32 + 1) × 64 = {_P:,} parameters, × 4 bytes = {4 * _P:,} bytes. The input's height and "
         "width do not enter.",
    hint="(kernel height × kernel width × input channels + 1) × filters; then 4 bytes each.",
    solution=f"`({_K} × {_K} × {_C_IN} + 1) × {_FILTERS} = {_P:,}` parameters and `4 × {_P:,} = {4 * _P:,}` "
             "bytes: `(51264, 205056)`. Check with `keras.layers.Conv2D(64, 5)` built on `(None, 28, 28, 32)` "
             "and `count_params()`.",
)


# q3: why training needs more memory than inference.
q3 = ChoiceExercise(
    "Why does training a CNN need more memory than making predictions with it?",
    choices={
        "a": "Backpropagation needs each layer's output until the reverse pass, plus gradients and optimizer state.",
        "b": "During training the weights are kept in a higher precision, float64, than for prediction.",
        "c": "Training reads larger images than prediction does, so every feature map is larger.",
        "d": "Training loads the whole training set into memory before the first step, while prediction needs one "
             "image.",
    },
    correct="a",
    feedback={
        "b": "The weights have the same dtype in both (float32 unless you choose otherwise); what grows is "
             "what training keeps besides them.",
        "c": "The same network takes the same image size in both; the difference is what is kept per image.",
        "d": "A tf.data pipeline streams mini-batches from disk; only the current batch's tensors are held.",
    },
    note="Inference: the largest two consecutive tensors. Training: all layers' outputs × the batch, the "
         "gradients of the reverse pass, the parameters' gradients and, for Adam, two slots per weight.",
    hint="Think of what the reverse pass reads, and what the optimizer keeps between steps.",
    solution="**a**. The reverse pass reads the outputs the forward pass computed, so they are all kept for "
             "every instance; it then holds gradient tensors as large as the layers, the parameters' gradients, "
             "and the optimizer's slots (momentum 1, Adam 2 per weight).",
)


# q4 (investigation): the memory one more instance of the mini-batch costs, measured against the estimate.
def _check_per_instance(answer):
    import numpy as np

    from utils import memory
    from utils.checker import Mistake
    from utils.investigation import number

    measured = answer["measurements"]
    if not isinstance(measured, (list, tuple)) or not all(isinstance(m, memory.Measurement) for m in measured):
        raise Mistake("'measurements' should be the list of what memory.measure_peak(...) returned, one "
                      "Measurement per batch size.")
    if any(m.mode != "training" for m in measured):
        raise Mistake("Measure the training step: memory.measure_peak(IMAGE, LAYERS, batch, modes=(\"training\",)).")
    sizes = sorted({m.batch_size for m in measured})
    if len(sizes) < 3:
        raise Mistake(f"Measure at least 3 different batch sizes ({sizes} given): a line through 2 points cannot "
                      f"show whether the growth is linear.")
    batch = np.array([m.batch_size for m in measured], dtype=float)
    growth = np.array([m.allocator_growth for m in measured], dtype=float)
    slope, intercept = np.polyfit(batch, growth, 1)
    got = number(answer, "per_instance", low=0)
    if not math.isclose(got, slope, rel_tol=0.05):
        average = float(np.mean(growth / batch))
        why = (" That is the growth divided by the batch size, which leaves the fixed part in: fit a line "
               "(np.polyfit(batch_sizes, growths, 1)) and take its slope." if math.isclose(got, average, rel_tol=0.05)
               else " Fit a line through (batch size, allocator_growth) and take its slope, in bytes.")
        raise Mistake(f"per_instance = {got:,.0f} B, but the slope of your measurements is {slope:,.0f} B per "
                      f"instance.{why}")
    image, layers = answer["image"], answer["layers"]
    per = [memory.training_estimate(image, layers, b, reverse_pass=True, param_gradients=True, inputs=True).total
           for b in (1, 2)]
    estimate = per[1] - per[0]
    residual = np.abs(np.polyval((slope, intercept), batch) - growth).max() / growth.max()
    return (f"From your {len(measured)} measurements (batches {', '.join(str(s) for s in sizes)}, "
            f"{measured[0].device}): "
            f"{slope / 1e6:.2f} MB per instance, {intercept / 1e6:+.1f} MB fixed; the line misses a measurement by "
            f"at most {residual:.1%}. The chapter's estimate (reverse pass and input included) adds "
            f"{estimate / 1e6:.2f} MB per instance: measured / estimated = {slope / estimate:.2f}.")


def _per_instance_answer(report="slope"):
    from utils import memory

    image, layers = (20, 30, 3), [memory.Conv(8, stride=2), memory.Conv(16, stride=2)]
    measurements = []
    for b, noise in ((10, 3_000), (20, -2_000), (40, 1_000)):
        per = memory.training_estimate(image, layers, b, reverse_pass=True, param_gradients=True).total
        measurements.append(memory.Measurement(device="CPU:0", mode="training", batch_size=b, allocator_baseline=10**6,
                                               allocator_peak=10**6 + 50_000 + int(1.1 * per) + noise,
                                               process_baseline=None, process_growth=None, seconds=0.1))
    import numpy as np

    batch = np.array([m.batch_size for m in measurements], float)
    growth = np.array([m.allocator_growth for m in measurements], float)
    per_instance = float(np.polyfit(batch, growth, 1)[0]) if report == "slope" else float(np.mean(growth / batch))
    return dict(measurements=measurements, per_instance=per_instance, image=image, layers=layers,
                explanation="The growth is linear in the batch size; the fixed part holds the weights and buffers.")


q4 = Investigation(
    "Investigation: what one more instance of the mini-batch costs",
    _check_per_instance,
    keys=("measurements", "per_instance", "image", "layers"),
    given=("image", "layers"),
    planted=[(Lazy(lambda: _per_instance_answer(report="average")), "divided by the batch size"),
             (Lazy(lambda: {**_per_instance_answer(), "measurements": _per_instance_answer()["measurements"][:2]}),
              "at least 3 different batch sizes"),
             (Lazy(lambda: {**_per_instance_answer(), "measurements": [None]}), "the list of what")],
    reference_answer=Lazy(_per_instance_answer),
    discussion=(
        "A training step holds every layer's output for the reverse pass, and each of those grows with the "
        "batch, so the slope is what one more instance costs (its activations, their gradients in the reverse "
        "pass, its slice of the input) and the intercept what does not depend on the batch. The weights are not "
        "in it: measure_peak subtracts a baseline taken after the model was built and traced, and the "
        "optimizer's slots would be in that baseline too (its default, plain SGD, keeps none). So the intercept "
        "is the weights' gradients (3.6 MB) and, mostly, the allocator's rounding and oneDNN's buffers. The "
        "course's run of this cell (2-core CPU, TensorFlow's "
        "BFC allocator) measured 149, 538 and 787 MB at batches 10, 25 and 50: a fitted slope of 15.3 MB per "
        "instance, within 3 % of the chapter's estimate with the reverse pass per instance, 15.7 MB: its 753.6 MB "
        "for a batch of 50 less the 3.6 MB of parameter gradients, divided by 50, plus one instance's input, "
        "0.72 MB ((753.6 - 3.6) / 50 + 0.72 = 15.72). That is well above the "
        "bare minimum of the layers' outputs alone (10.5 MB). The points miss the line by up to 12 % of the "
        "largest growth, though: the allocator takes memory in rounded chunks and TensorFlow picks different "
        "kernels and temporary buffers for different batch sizes, so one measurement is a poor guide and the "
        "slope over several is a better one. This is also why halving the mini-batch is the first remedy when a "
        "GPU runs out of memory: it halves the part that grows with the batch and leaves the fixed part."),
    hint="measurements = [memory.measure_peak(IMAGE, LAYERS, b, modes=(\"training\",))[0] for b in (10, 25, 50)]; "
         "then np.polyfit of the batch sizes against m.allocator_growth gives the slope.",
    solution="Measure the training step at 3 or more batch sizes with `memory.measure_peak(IMAGE, LAYERS, b, "
             "modes=(\"training\",))`, fit a line through (batch size, `allocator_growth`) with `np.polyfit`, and "
             "report its slope in bytes. Compare it with the estimate's growth per instance.",
    todo="measure, fill in per_instance and your explanation, then run the cell (3 fresh processes: ~1 min).",
)
