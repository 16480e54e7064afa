"""How much memory a CNN needs: estimates from the layer shapes, and a measured peak.

The estimates follow the textbook exercise (a stack of convolution layers on one
image size) and are built on :mod:`utils.convmath`:

- :func:`conv_stack` -- per layer: output shape, parameters, activation bytes;
- :func:`inference_estimate` -- making predictions: a layer's output can be
  freed once the next layer is computed, so the peak is the largest pair of
  *consecutive* tensors (the input counts as tensor 0), plus the parameters;
- :func:`training_estimate` -- backpropagation needs every layer's output,
  so all layers are kept, for every instance of the mini-batch, plus the
  input batch and the parameters (optionally their gradients, the optimizer's
  slots and the gradient tensors backpropagation itself creates);
- :func:`remedy_effects` -- the five classic remedies for running out of
  memory, each as the estimate it gives;
- :func:`split_batch` -- how ``tf.distribute.MirroredStrategy`` splits a
  global batch across replicas.

:func:`measure_peak` runs a real forward pass (or training step) in a fresh
Python process and reports TensorFlow's allocator peak
(``tf.config.experimental.get_memory_info``) and, on a CPU, how much the
process's resident memory grew above its baseline (``VmHWM - VmRSS`` from
``/proc/self/status``). On a CPU, TensorFlow keeps allocator statistics only
when its CPU allocator is the BFC allocator: TensorFlow 2.21 uses it by default
where oneDNN is on (x86 Linux); elsewhere ``get_memory_info("CPU:0")`` raises
``ValueError: Allocator stats not available`` unless
``TF_CPU_ALLOCATOR_USE_BFC=true`` was set before TensorFlow started. The fresh
process sets it, and gives a clean baseline. :func:`measure_application_peak` does the same for a
whole Keras application (Inception v3, random weights), in float32 or mixed precision, with the
optimizer's state. The child process gets ``TF_FORCE_GPU_ALLOW_GROWTH=true`` (:func:`child_environment`).

Units: ``MB`` is 10**6 bytes and ``MiB`` is 2**20 bytes; published answers mix
the two, so :class:`Estimate` prints both.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from utils import convmath
from utils.convmath import check_image_shape

# ---------------------------------------------------------------------------
# the network: a plain stack of Conv2D layers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    """One ``Conv2D`` layer of a plain stack: ``filters`` maps, square ``kernel``, ``stride``, ``padding``."""

    filters: int
    kernel: int = 3
    stride: int = 1
    padding: str = "same"

    def __post_init__(self):
        for name in ("filters", "kernel", "stride"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Conv {name} must be a positive integer, got {name}={value!r}")
        if not isinstance(self.padding, str) or self.padding.lower() not in ("same", "valid"):
            raise ValueError(f"Conv padding must be 'same' or 'valid', got padding={self.padding!r}")


@dataclass(frozen=True)
class Layer:
    """What one layer produces for *one* instance: output ``shape`` (h, w, c), ``params``, ``bytes``."""

    name: str
    shape: tuple[int, ...]
    params: int
    bytes: int


def _convs(layers) -> tuple[Conv, ...]:
    if isinstance(layers, Conv):
        raise ValueError("layers must be a list of Conv layers, got a single Conv: wrap it in a list")
    try:
        layers = tuple(layers)
    except TypeError:
        raise ValueError(f"layers must be a list of Conv layers, got {layers!r}") from None
    if not layers:
        raise ValueError("layers is empty: give at least one Conv layer")
    for k, layer in enumerate(layers):
        if not isinstance(layer, Conv):
            raise ValueError(f"layers[{k}] is {layer!r}, not a Conv: build it as Conv(filters, kernel, stride)")
    return layers


def _batch(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got batch_size={batch_size!r}")
    return batch_size


def conv_stack(input_shape: Sequence[int], layers: Sequence[Conv], dtype: str = "float32") -> list[Layer]:
    """Output shape, parameter count and activation bytes (one instance) of each layer.

    Shapes come from :func:`utils.convmath.conv_output_shape`, parameters from
    :func:`utils.convmath.conv_params`, bytes from :func:`utils.convmath.tensor_bytes`.
    """
    h, w, c = check_image_shape(input_shape)
    out = []
    for k, layer in enumerate(_convs(layers), start=1):
        h, w = convmath.conv_output_shape((h, w), layer.kernel, layer.stride, layer.padding)
        params = convmath.conv_params(layer.kernel, c, layer.filters)
        c = layer.filters
        out.append(Layer(f"conv{k}", (h, w, c), params, convmath.tensor_bytes((h, w, c), dtype)))
    return out


def activation_bytes(shape: Sequence[int], batch_size: int = 1, dtype: str = "float32") -> int:
    """Bytes of one layer's output ``shape`` (no batch axis) for ``batch_size`` instances."""
    return convmath.tensor_bytes((_batch(batch_size), *tuple(shape)), dtype)


def input_bytes(input_shape: Sequence[int], batch_size: int = 1, dtype: str = "float32") -> int:
    """Bytes of the input batch (``batch_size`` images of ``input_shape``)."""
    return activation_bytes(check_image_shape(input_shape), batch_size, dtype)


def parameter_count(input_shape: Sequence[int], layers: Sequence[Conv]) -> int:
    """Total parameters of the stack (weights and biases)."""
    return sum(layer.params for layer in conv_stack(input_shape, layers))


def parameter_bytes(input_shape: Sequence[int], layers: Sequence[Conv], dtype: str = "float32") -> int:
    """Bytes of all parameters at ``dtype``."""
    return convmath.params_bytes(parameter_count(input_shape, layers), dtype)


# ---------------------------------------------------------------------------
# estimates
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """An estimate's parts, in bytes; ``total`` is their sum.

    ``activations``: layer outputs held at the peak; ``inputs``: the input batch;
    ``params``: the parameters; ``optimizer``: the parameters' gradients and the
    optimizer's slots; ``gradients``: gradients of layer outputs held at the
    peak of the reverse pass.
    """

    question: str
    batch_size: int
    activations: int
    inputs: int
    params: int
    optimizer: int = 0
    gradients: int = 0

    @property
    def total(self) -> int:
        return self.activations + self.inputs + self.params + self.optimizer + self.gradients

    @property
    def mb(self) -> float:
        return self.total / 10**6

    @property
    def mib(self) -> float:
        return self.total / 2**20

    def __str__(self) -> str:
        parts = [("activations", self.activations), ("inputs", self.inputs), ("parameters", self.params),
                 ("parameter gradients and optimizer slots", self.optimizer),
                 ("activation gradients", self.gradients)]
        shown = " + ".join(f"{name} {value:,}" for name, value in parts if value)
        return (f"{self.question}, batch {self.batch_size}: {shown} = {self.total:,} B "
                f"= {convmath.format_bytes(self.total, 'MB')} = {convmath.format_bytes(self.total, 'MiB')}")


def _largest_pair(sizes: Sequence[int]) -> int:
    if len(sizes) == 1:
        return sizes[0]
    return max(a + b for a, b in zip(sizes, sizes[1:]))


def inference_estimate(input_shape: Sequence[int], layers: Sequence[Conv], batch_size: int = 1, *,
                       dtype: str = "float32", param_dtype: str | None = None, params: bool = True,
                       hold_input: bool = False) -> Estimate:
    """RAM to make predictions: the largest two *consecutive* tensors, times the batch, plus the parameters.

    The input counts as tensor 0 (it must exist while the first layer is
    computed). With ``hold_input=True`` the caller keeps the input batch alive
    the whole time (as a Python variable does), so it is added on top and the
    pairs are taken among the layers' outputs only.
    """
    batch = _batch(batch_size)
    stack = conv_stack(input_shape, layers, dtype)
    x = input_bytes(input_shape, 1, dtype)
    sizes = [layer.bytes for layer in stack]
    if hold_input:
        activations, inputs = batch * _largest_pair(sizes), batch * x
    else:
        activations, inputs = batch * _largest_pair([x, *sizes]), 0
    p = parameter_bytes(input_shape, layers, param_dtype or dtype) if params else 0
    return Estimate("inference", batch, activations, inputs, p)


def reverse_pass_peak(sizes: Sequence[int]) -> tuple[int, int]:
    """``(activations, gradients)`` held at the peak of the reverse pass through a plain stack.

    ``sizes`` are the layers' output sizes, first layer first. Going down from
    the top, layer ``k``'s step needs the outputs of the layers below it (its
    input, for its weight gradient; the ones further down wait for their own
    turn) and holds the gradient arriving at its output while it makes the one
    for its input (none for layer 1: the input image needs no gradient). The
    outputs of layer ``k`` and above are no longer needed (the layers are
    linear; an activation such as ReLU would keep its own output too).
    """
    sizes = list(sizes)
    best = (0, 0)
    for k in range(len(sizes), 0, -1):
        held = sum(sizes[:k - 1])
        grads = sizes[k - 1] + (sizes[k - 2] if k >= 2 else 0)
        if held + grads > sum(best):
            best = (held, grads)
    return best


def training_estimate(input_shape: Sequence[int], layers: Sequence[Conv], batch_size: int = 1, *,
                      dtype: str = "float32", param_dtype: str | None = None, inputs: bool = True,
                      params: bool = True, param_gradients: bool = False, optimizer_slots: int = 0,
                      reverse_pass: bool = False) -> Estimate:
    """RAM to train on a mini-batch: every layer's output kept for the reverse pass.

    The bare minimum (the textbook's answer) is all layers' outputs times the
    batch, plus the input batch, plus the parameters. Optionally add the
    parameters' gradients (``param_gradients``), ``optimizer_slots`` copies of
    the parameters (SGD 0, momentum 1, Adam 2), and walk the reverse pass
    (``reverse_pass``, see :func:`reverse_pass_peak`): the estimate is then the
    larger of the forward peak (all outputs) and the reverse pass's peak.
    """
    batch = _batch(batch_size)
    if isinstance(optimizer_slots, bool) or not isinstance(optimizer_slots, int) or optimizer_slots < 0:
        raise ValueError(f"optimizer_slots must be a non-negative integer (SGD 0, momentum 1, Adam 2), "
                         f"got optimizer_slots={optimizer_slots!r}")
    sizes = [layer.bytes for layer in conv_stack(input_shape, layers, dtype)]
    activations, gradients = sum(sizes), 0
    if reverse_pass:
        held, grads = reverse_pass_peak(sizes)
        if held + grads > activations:
            activations, gradients = held, grads
    p = parameter_bytes(input_shape, layers, param_dtype or dtype) if params else 0
    return Estimate("training", batch, batch * activations, input_bytes(input_shape, batch, dtype) if inputs else 0,
                    p, p * (int(param_gradients) + optimizer_slots), batch * gradients)


_training_estimate = training_estimate


def split_batch(global_batch: int, replicas: int) -> list[int]:
    """Per-replica batch sizes when ``tf.distribute.MirroredStrategy`` splits a global batch.

    As ``experimental_distribute_dataset`` does it (TensorFlow 2.21): each
    replica in turn takes ``ceil(global_batch / replicas)`` instances until
    none are left, so the last replicas may get fewer (50 over 4 replicas:
    13, 13, 13, 11).
    """
    _batch(global_batch)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"replicas must be a positive integer, got replicas={replicas!r}")
    share = math.ceil(global_batch / replicas)
    return [max(0, min(share, global_batch - k * share)) for k in range(replicas)]


@dataclass(frozen=True)
class Remedy:
    """One remedy for running out of memory: what changes, and the estimate it gives."""

    name: str
    change: str
    estimate: Estimate


def remedy_effects(input_shape: Sequence[int], layers: Sequence[Conv], batch_size: int, *,
                   smaller_batch: int | None = None, stride_layer: int = 0, stride: int = 4,
                   drop_layer: int = -1, half_dtype: str = "float16", devices: int = 2,
                   reverse_pass: bool = False, param_gradients: bool = False,
                   optimizer_slots: int = 0) -> list[Remedy]:
    """The training estimate before and after each of the five classic remedies.

    Each estimate is :func:`training_estimate` with ``reverse_pass``,
    ``param_gradients`` and ``optimizer_slots`` as given (default: the textbook's
    bare minimum; ``reverse_pass=True, param_gradients=True`` is the estimate a
    measurement confirms, notebook 11).

    1. a smaller mini-batch (``smaller_batch``, default half);
    2. a larger ``stride`` in layer ``stride_layer``;
    3. one layer fewer (``drop_layer``, default the last);
    4. 16-bit floats: everything in ``half_dtype``, and mixed precision
       (16-bit activations, 32-bit parameters);
    5. ``devices`` replicas: each holds its share of the batch and a full copy
       of the parameters (the largest share is shown).
    """
    layers = _convs(layers)
    batch = _batch(batch_size)
    smaller = smaller_batch if smaller_batch is not None else max(1, batch // 2)
    if _batch(smaller) >= batch:
        raise ValueError(f"smaller_batch={smaller} is not smaller than batch_size={batch}")
    if len(layers) < 2:
        raise ValueError("the 'fewer layers' remedy needs at least two layers to drop one")
    for name, index in (("stride_layer", stride_layer), ("drop_layer", drop_layer)):
        if isinstance(index, bool) or not isinstance(index, int) or not -len(layers) <= index < len(layers):
            raise ValueError(f"{name}={index!r} does not index the {len(layers)} layers: "
                             f"use 0..{len(layers) - 1} (or -1 for the last)")
    strided = list(layers)
    strided[stride_layer] = replace(strided[stride_layer], stride=stride)
    fewer = [layer for k, layer in enumerate(layers) if k != drop_layer % len(layers)]
    k_stride, k_drop = stride_layer % len(layers) + 1, drop_layer % len(layers) + 1
    shares = split_batch(batch, devices)
    share = shares[0]

    def training_estimate(shape, stack, size, **kwargs):
        return _training_estimate(shape, stack, size, reverse_pass=reverse_pass, param_gradients=param_gradients,
                                  optimizer_slots=optimizer_slots, **kwargs)

    return [
        Remedy("as given", f"batch {batch}, float32", training_estimate(input_shape, layers, batch)),
        Remedy("smaller mini-batch", f"batch {batch} -> {smaller}",
               training_estimate(input_shape, layers, smaller)),
        Remedy("larger stride", f"layer {k_stride}: stride {layers[stride_layer].stride} -> {stride}",
               training_estimate(input_shape, strided, batch)),
        Remedy("fewer layers", f"without layer {k_drop}", training_estimate(input_shape, fewer, batch)),
        Remedy("16-bit floats", f"everything in {half_dtype}",
               training_estimate(input_shape, layers, batch, dtype=half_dtype)),
        Remedy("mixed precision", f"activations and inputs {half_dtype}, parameters float32",
               training_estimate(input_shape, layers, batch, dtype=half_dtype, param_dtype="float32")),
        Remedy("several devices", f"{devices} replicas, batch split {shares}: parameters on each",
               training_estimate(input_shape, layers, share)),
    ]


def keras_training_estimate(model, batch_size: int, *, bytes_per_value: int = 4) -> dict:
    """What one training step adds, estimated from a Keras model's layers in order (notebook 11).

    Returns bytes (and the layer where the walk peaks):

    - ``"all outputs"``: every layer's output for the batch (the textbook's bare minimum);
    - ``"kept outputs"``: the same without the outputs of ``BatchNormalization`` layers, which no
      gradient needs (the normalisation's gradient uses its *input*, the ReLU after it its own
      output, the next convolution that ReLU's output);
    - ``"parameter gradients"``: one value per trainable weight;
    - the reverse-pass walk, :func:`reverse_pass_peak` generalised: going down from the top layer,
      the step at layer ``k`` holds the kept outputs of the layers below it, the gradients of the
      parameters of layer ``k`` and above (made so far), and the gradients at its output and at
      the previous layer's output. ``"walk peak"`` is the largest total, ``"peak layer"`` where (``"peak index"``: its
      position, 1 for the first of the ``"layers"``);
      ``"walk activations"``, ``"walk parameter gradients"`` and ``"walk gradients"`` its parts.
    """
    import keras

    batch = _batch(batch_size)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not layers:
        raise ValueError("keras_training_estimate needs a model with layers")
    out = [batch * bytes_per_value * math.prod(layer.output.shape[1:]) for layer in layers]
    kept = [0 if isinstance(layer, keras.layers.BatchNormalization) else size for layer, size in zip(layers, out)]
    grads = [bytes_per_value * sum(math.prod(w.shape) for w in layer.trainable_weights) for layer in layers]
    best = None
    for k in range(len(layers) - 1, -1, -1):
        parts = (sum(kept[:k]), sum(grads[k:]), out[k] + (out[k - 1] if k else 0))
        if best is None or sum(parts) > sum(best[0]):
            best = (parts, k)
    (acts, param_grads, act_grads), k = best
    return {"all outputs": sum(out), "kept outputs": sum(kept), "parameter gradients": sum(grads),
            "walk activations": acts, "walk parameter gradients": param_grads, "walk gradients": act_grads,
            "walk peak": acts + param_grads + act_grads, "peak layer": layers[k].name, "peak index": k + 1,
            "layers": len(layers)}


# ---------------------------------------------------------------------------
# Keras: the same stack as a model
# ---------------------------------------------------------------------------


def keras_model(input_shape: Sequence[int], layers: Sequence[Conv], *, activation=None, dtype=None, seed: int = 0):
    """The stack as a ``keras.Sequential`` model (seeded Glorot initialisers)."""
    import keras

    shape = check_image_shape(input_shape)
    model = keras.Sequential(name="conv_stack")
    model.add(keras.Input(shape))
    for k, layer in enumerate(_convs(layers), start=1):
        model.add(keras.layers.Conv2D(layer.filters, layer.kernel, strides=layer.stride, padding=layer.padding,
                                      activation=activation, dtype=dtype, name=f"conv{k}",
                                      kernel_initializer=keras.initializers.GlorotUniform(seed=seed + k)))
    return model


# ---------------------------------------------------------------------------
# measuring: process memory and TensorFlow's allocator
# ---------------------------------------------------------------------------

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(key: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024  # the kernel reports kB (KiB)
    raise RuntimeError(f"{_STATUS} has no {key} line")


def process_memory() -> dict:
    """This process's resident memory now (``current``) and its peak (``peak``), in bytes.

    Linux: ``VmRSS`` and ``VmHWM`` from ``/proc/self/status``. Elsewhere the
    peak comes from ``resource.getrusage`` and ``current`` is ``None``.
    """
    if _STATUS.is_file():
        return {"current": _status_bytes("VmRSS"), "peak": _status_bytes("VmHWM")}
    import resource  # Unix only

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"current": None, "peak": peak if sys.platform == "darwin" else peak * 1024}


def reset_process_peak() -> bool:
    """Reset the peak (``VmHWM``) to the current resident size; ``False`` where the OS cannot."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Measurement:
    """A measured run: the device, TensorFlow's allocator and the process, in bytes.

    ``allocator_peak`` is the most bytes TensorFlow's allocator held during the
    run (parameters and the input batch included); ``allocator_baseline`` what it
    held just before. ``process_baseline`` is the process's resident size before
    the run (Python, TensorFlow's libraries, the model) and ``process_growth``
    how far its peak rose above that (``None`` on a GPU, where it says nothing).
    ``baseline_stages`` splits ``allocator_baseline``: what the allocator held
    (``current``) after each stage of the set-up, in order: ``"start"``,
    ``"model built"``, ``"optimizer slots"`` (training only), ``"steps traced"``,
    ``"input batch"`` (the last equals ``allocator_baseline``); ``input_bytes`` is
    the input batch's size.
    """

    device: str
    mode: str
    batch_size: int
    allocator_baseline: int
    allocator_peak: int
    process_baseline: int | None
    process_growth: int | None
    seconds: float
    model: str = "conv stack"
    dtype_policy: str = "float32"
    parameters: int | None = None
    variable_bytes: int | None = None
    optimizer_bytes: int | None = None
    input_bytes: int | None = None
    baseline_stages: dict | None = None

    @property
    def allocator_growth(self) -> int:
        return self.allocator_peak - self.allocator_baseline


APPLICATIONS = {"inception_v3": ("InceptionV3", 75)}  # the Keras application and its smallest input side


def _build(spec: dict):
    """The model a spec describes: the conv stack, or a Keras application with random weights."""
    import keras

    shape = tuple(spec["input_shape"])
    if spec.get("application"):
        builder = getattr(keras.applications, APPLICATIONS[spec["application"]][0])
        keras.utils.set_random_seed(spec["seed"])
        return builder(weights=None, input_shape=shape, classes=spec.get("classes", 1000))
    return keras_model(shape, [Conv(**layer) for layer in spec["layers"]], seed=spec["seed"])


def _variable_bytes(variables) -> int:
    return sum(int(v.numpy().nbytes) for v in variables)


def _probe(spec: dict) -> list[dict]:
    """Run in a fresh process (see :func:`measure_peak`): build, warm up, then run each mode once."""
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)  # one op at a time: a repeatable peak
    import keras

    policy = spec.get("dtype_policy", "float32")
    keras.mixed_precision.set_global_policy(policy)
    shape = tuple(spec["input_shape"])
    gpu = bool(tf.config.list_physical_devices("GPU"))
    device = "GPU:0" if gpu else "CPU:0"
    def held():
        return int(tf.config.experimental.get_memory_info(device)["current"])

    stages = {"start": held()}
    model = _build(spec)
    stages["model built"] = held()
    signature = [tf.TensorSpec((None, *shape), tf.float32)]
    optimizer = keras.optimizers.get(spec["optimizer"])
    if policy == "mixed_float16":  # float16 gradients need loss scaling (bfloat16 ones do not)
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)

    @tf.function(input_signature=signature)
    def predict(x):
        return model(x, training=False)

    @tf.function(input_signature=signature)
    def train(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.cast(model(x, training=True), tf.float32)))
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    steps = {"inference": predict, "training": train}
    if "training" in spec["modes"]:  # the slots now, so that the set-up's stages can be told apart
        optimizer.build(model.trainable_variables)
        stages["optimizer slots"] = held()
    for mode in spec["modes"]:  # trace, create the variables and the optimizer's slots
        np.asarray(steps[mode](tf.zeros((1, *shape))))
    extra = {"model": spec.get("application") or "conv stack", "dtype_policy": policy,
             "parameters": int(model.count_params()), "variable_bytes": _variable_bytes(model.weights),
             "optimizer_bytes": _variable_bytes(optimizer.variables) if "training" in spec["modes"] else 0}
    # Made by an op on the device, so the input batch lives in the measured allocator (a tensor converted
    # from NumPy may be placed in host memory the allocator never sees, which made the baseline flaky).
    stages["steps traced"] = held()
    with tf.device(device):
        x = tf.random.stateless_normal((spec["batch_size"], *shape), seed=[spec["seed"], 0])
    stages["input batch"] = held()
    extra.update(input_bytes=int(np.prod(x.shape)) * x.dtype.size, baseline_stages=stages)
    process_baseline = process_memory()["current"] if not gpu and reset_process_peak() else None
    results = []
    for mode in spec["modes"]:
        tf.config.experimental.reset_memory_stats(device)
        allocator_baseline = tf.config.experimental.get_memory_info(device)["current"]
        start = time.perf_counter()
        np.asarray(steps[mode](x))  # np.asarray waits for the result
        seconds = time.perf_counter() - start
        growth = process_memory()["peak"] - process_baseline if process_baseline is not None else None
        results.append(asdict(Measurement(device, mode, spec["batch_size"], allocator_baseline,
                                          tf.config.experimental.get_memory_info(device)["peak"],
                                          process_baseline, growth, seconds, **extra)))
    return results


def child_environment() -> dict:
    """The environment of the measuring process: BFC allocator statistics on a CPU, GPU memory on demand.

    ``TF_FORCE_GPU_ALLOW_GROWTH=true`` makes the child (and, through :mod:`utils.setup`, the notebook's
    own kernel) take GPU memory as it needs it: otherwise the kernel reserves nearly all of it at
    start-up and the child finds none on a GPU runtime. A value the user set is kept.
    """
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, TF_CPU_ALLOCATOR_USE_BFC="true", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    return env


def _run_child(spec: dict, timeout: float) -> list[Measurement]:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "utils.memory", json.dumps(spec)], cwd=root,
                            env=child_environment(), capture_output=True, text=True, timeout=timeout)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"the measuring process failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return [Measurement(**item) for item in json.loads(lines[-1])]


def _modes(modes) -> tuple[str, ...]:
    modes = tuple([modes] if isinstance(modes, str) else modes)
    if not modes or any(mode not in ("inference", "training") for mode in modes):
        raise ValueError(f"modes must list 'inference' and/or 'training', got modes={modes!r}")
    return modes


def _optimizer(optimizer: str) -> str:
    import keras

    try:
        keras.optimizers.get(optimizer)
    except ValueError as error:
        raise ValueError(f"optimizer={optimizer!r} is not a Keras optimizer name: use 'sgd', 'adam', "
                         f"'rmsprop' ...") from error
    return optimizer


def measure_peak(input_shape: Sequence[int], layers: Sequence[Conv], batch_size: int, *,
                 modes: Sequence[str] = ("inference", "training"), optimizer: str = "sgd", seed: int = 0,
                 timeout: float = 600) -> list[Measurement]:
    """Measure a forward pass (``"inference"``) and/or a training step (``"training"``) in a fresh process.

    A fresh process gives a clean baseline (no memory pooled by earlier work)
    and lets us ask for TensorFlow's BFC allocator on the CPU
    (``TF_CPU_ALLOCATOR_USE_BFC=true``, read only at start-up), whose
    statistics ``get_memory_info`` reports. On a GPU the GPU's allocator is
    measured. Both steps are traced (and the optimizer's
    slots created) on a batch of one before anything is measured; the modes then
    run once each, in order, on the same batch. The allocator's peak is reset
    before each; the process's growth is measured from one baseline taken
    before the first, so for a later mode it is the peak of all runs so far
    (the allocator keeps what it once took from the system).
    """
    spec = {"input_shape": list(check_image_shape(input_shape)), "layers": [asdict(layer) for layer in _convs(layers)],
            "batch_size": _batch(batch_size), "modes": list(_modes(modes)), "optimizer": _optimizer(optimizer),
            "seed": seed}
    return _run_child(spec, timeout)


POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def measure_application_peak(application: str, input_size: int, batch_size: int, *,
                             modes: Sequence[str] = ("inference", "training"), optimizer: str = "adam",
                             dtype_policy: str = "float32", seed: int = 0, timeout: float = 900) -> list[Measurement]:
    """:func:`measure_peak` for a whole Keras application (``"inception_v3"``), with random weights.

    Memory does not depend on the weights' values, so no download is needed. ``dtype_policy`` is
    a Keras mixed-precision policy (``"mixed_bfloat16"`` on CPUs with bfloat16 instructions,
    ``"mixed_float16"`` on GPUs). Each :class:`Measurement` also reports the parameter count and
    the bytes of the model's variables and of the optimizer's (Adam: two slots per weight).
    """
    if application not in APPLICATIONS:
        raise ValueError(f"application={application!r} is not known: use one of {sorted(APPLICATIONS)}")
    smallest = APPLICATIONS[application][1]
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < smallest:
        raise ValueError(f"input_size must be an int of at least {smallest} for {application}, "
                         f"got input_size={input_size!r}")
    if dtype_policy not in POLICIES:
        raise ValueError(f"dtype_policy={dtype_policy!r} is not one of {POLICIES}")
    spec = {"application": application, "input_shape": [input_size, input_size, 3], "batch_size": _batch(batch_size),
            "modes": list(_modes(modes)), "optimizer": _optimizer(optimizer), "seed": seed,
            "dtype_policy": dtype_policy}
    return _run_child(spec, timeout)


if __name__ == "__main__":  # the fresh process measure_peak starts
    print(json.dumps(_probe(json.loads(sys.argv[1]))))
