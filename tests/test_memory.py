"""utils.memory: the exercise's figures pinned, shapes and parameters against Keras, a real measurement."""
import subprocess
import sys

import numpy as np
import pytest

from utils import convmath, memory
from utils.memory import Conv

# The exercise: 3x3 kernels, stride 2, SAME padding, 100/200/400 maps, 200x300 RGB images.
IMAGE = (200, 300, 3)
EXERCISE = [Conv(100, 3, 2), Conv(200, 3, 2), Conv(400, 3, 2)]


# --- the exercise's figures ---------------------------------------------------------------------

def test_exercise_layers_shapes_params_and_bytes():
    stack = memory.conv_stack(IMAGE, EXERCISE)
    assert [layer.params for layer in stack] == [2_800, 180_200, 720_400]
    assert [layer.shape for layer in stack] == [(100, 150, 100), (50, 75, 200), (25, 38, 400)]
    # 4 bytes per float in every layer: the third is 1,520,000 bytes (the seed used 3 bytes: 1,140,000)
    assert [layer.bytes for layer in stack] == [6_000_000, 3_000_000, 1_520_000]
    assert memory.parameter_count(IMAGE, EXERCISE) == 903_400
    assert memory.parameter_bytes(IMAGE, EXERCISE) == 3_613_600  # not the seed's 3,623,600
    assert memory.input_bytes(IMAGE) == 720_000
    assert memory.input_bytes(IMAGE, 50) == 36_000_000
    assert memory.activation_bytes((25, 38, 400), 50, "float16") == 50 * 2 * 25 * 38 * 400 == 38_000_000


def test_exercise_estimates():
    one = memory.inference_estimate(IMAGE, EXERCISE)
    assert (one.activations, one.inputs, one.params, one.total) == (9_000_000, 0, 3_613_600, 12_613_600)
    assert round(one.mb, 1) == 12.6 and round(one.mib, 1) == 12.0
    train_one = memory.training_estimate(IMAGE, EXERCISE)
    assert train_one.total == 10_520_000 + 720_000 + 3_613_600
    batch = memory.training_estimate(IMAGE, EXERCISE, 50)
    assert (batch.activations, batch.inputs, batch.params) == (526_000_000, 36_000_000, 3_613_600)
    assert batch.total == 565_613_600
    assert round(batch.mb, 1) == 565.6 and round(batch.mib, 1) == 539.4
    assert "565.6 MB" in str(batch) and "539.4 MiB" in str(batch)


def test_inference_counts_the_input_as_tensor_zero_or_holds_it():
    # a big input and a small first layer: the (input, layer 1) pair is the largest
    layers = [Conv(1, 3, 4), Conv(1, 3, 1)]
    est = memory.inference_estimate((64, 64, 8), layers, params=False)
    assert est.activations == 4 * (64 * 64 * 8 + 16 * 16)
    held = memory.inference_estimate((64, 64, 8), layers, 3, params=False, hold_input=True)
    assert (held.activations, held.inputs) == (3 * 4 * (16 * 16 * 2), 3 * 4 * 64 * 64 * 8)
    single = memory.inference_estimate((8, 8, 1), [Conv(2)], hold_input=True, params=False)
    assert single.activations == 8 * 8 * 2 * 4


def test_training_options_add_what_they_say():
    base = memory.training_estimate(IMAGE, EXERCISE, 50)
    adam = memory.training_estimate(IMAGE, EXERCISE, 50, param_gradients=True, optimizer_slots=2)
    assert adam.optimizer == 3 * 3_613_600 and adam.total - base.total == 3 * 3_613_600
    nothing = memory.training_estimate(IMAGE, EXERCISE, 50, inputs=False, params=False)
    assert nothing.total == 526_000_000


def test_reverse_pass_peak():
    # layer 2's step: output 1 (its input) held, gradients of outputs 2 and 1
    assert memory.reverse_pass_peak([6, 3, 2]) == (6, 9)
    assert memory.reverse_pass_peak([5]) == (0, 5)
    assert memory.reverse_pass_peak([1, 1, 10]) == (2, 11)
    est = memory.training_estimate(IMAGE, EXERCISE, 50, param_gradients=True, reverse_pass=True)
    assert (est.activations, est.gradients) == (300_000_000, 450_000_000)
    assert est.total == 300_000_000 + 36_000_000 + 2 * 3_613_600 + 450_000_000
    # with two layers or more the reverse pass holds more than the forward pass (at the top step:
    # every output, plus the top two gradients, less the top output); with one layer it does not
    flat = memory.training_estimate((8, 8, 1), [Conv(1)] * 4, reverse_pass=True, inputs=False, params=False)
    assert flat.total == 4 * (3 * 64 + 2 * 64)
    single = memory.training_estimate((8, 8, 1), [Conv(2)], reverse_pass=True)
    assert (single.activations, single.gradients) == (8 * 8 * 2 * 4, 0)


def test_half_precision_halves_activations_and_inputs():
    full = memory.training_estimate(IMAGE, EXERCISE, 50)
    half = memory.training_estimate(IMAGE, EXERCISE, 50, dtype="float16")
    mixed = memory.training_estimate(IMAGE, EXERCISE, 50, dtype="float16", param_dtype="float32")
    assert 2 * half.total == full.total
    assert mixed.params == full.params and 2 * mixed.activations == full.activations


# --- against Keras --------------------------------------------------------------------------------

def test_exercise_model_matches_keras():
    model = memory.keras_model(IMAGE, EXERCISE)
    assert model.count_params() == 903_400
    for layer, ours in zip(model.layers, memory.conv_stack(IMAGE, EXERCISE)):
        assert layer.count_params() == ours.params
        assert tuple(layer.output.shape[1:]) == ours.shape


@pytest.mark.parametrize("image, layers", [
    ((33, 47, 2), [Conv(4, 5, 3, "valid"), Conv(6, 3, 1, "same"), Conv(3, 2, 2, "valid")]),
    ((17, 9, 5), [Conv(7, 1, 2, "same"), Conv(2, 4, 1, "valid")]),
    ((28, 28, 1), [Conv(8, 3, 1, "valid"), Conv(16, 3, 2, "same"), Conv(32, 3, 2, "same")]),
])
def test_shapes_and_params_match_keras(image, layers):
    model = memory.keras_model(image, layers)
    for layer, ours in zip(model.layers, memory.conv_stack(image, layers)):
        assert layer.count_params() == ours.params
        assert tuple(layer.output.shape[1:]) == ours.shape
        assert ours.bytes == convmath.tensor_bytes(ours.shape)
    out = model(np.zeros((2, *image), np.float32))
    assert tuple(out.shape) == (2, *memory.conv_stack(image, layers)[-1].shape)
    assert model.count_params() == memory.parameter_count(image, layers)


def test_mixed_precision_model_keeps_float32_parameters():
    model = memory.keras_model((8, 8, 3), [Conv(4)], dtype="mixed_float16")
    assert model.layers[0].compute_dtype == "float16" and model.layers[0].variable_dtype == "float32"
    assert model.count_params() == memory.parameter_count((8, 8, 3), [Conv(4)])


# --- remedies and replicas ---------------------------------------------------------------------------

def test_remedy_effects():
    rows = {r.name: r for r in memory.remedy_effects(IMAGE, EXERCISE, 50)}
    base = rows["as given"].estimate.total
    assert base == 565_613_600
    assert rows["smaller mini-batch"].estimate.total == 263_000_000 + 18_000_000 + 3_613_600
    # stride 4 in layer 1: 50x75x100, then 25x38x200, 13x19x400
    assert rows["larger stride"].estimate.activations == 50 * 4 * (50 * 75 * 100 + 25 * 38 * 200 + 13 * 19 * 400)
    assert rows["fewer layers"].estimate.params == 4 * (2_800 + 180_200)
    assert 2 * rows["16-bit floats"].estimate.total == base
    assert rows["mixed precision"].estimate.params == 3_613_600
    assert rows["several devices"].estimate.batch_size == 25
    assert all(r.estimate.total < base for name, r in rows.items() if name != "as given")


def test_remedy_effects_on_the_estimate_with_the_reverse_pass():
    options = {"reverse_pass": True, "param_gradients": True}
    rows = {r.name: r.estimate for r in memory.remedy_effects(IMAGE, EXERCISE, 50, **options)}
    assert rows["as given"] == memory.training_estimate(IMAGE, EXERCISE, 50, **options)
    # the reverse pass peaks at layer 2: layer 1's output (6 MB) + the gradients of layers 2 and 1 (3 + 6 MB)
    assert rows["as given"].activations + rows["as given"].gradients == 50 * 15_000_000
    assert rows["as given"].total == 750_000_000 + 36_000_000 + 2 * 3_613_600
    # so dropping layer 3 leaves that peak where it was: only its parameters (and their gradients) go
    assert rows["as given"].total - rows["fewer layers"].total == 2 * 4 * 720_400
    assert rows["several devices"].activations + rows["several devices"].gradients == 25 * 15_000_000
    assert rows["mixed precision"].optimizer == 3_613_600  # float32 parameter gradients
    with_adam = memory.remedy_effects(IMAGE, EXERCISE, 50, optimizer_slots=2, **options)[0].estimate
    assert with_adam.total - rows["as given"].total == 2 * 3_613_600


# What tf.distribute.MirroredStrategy's experimental_distribute_dataset gave on TensorFlow 2.21
# (5 logical CPUs); notebook 11 checks the 2- and 3-replica splits against the strategy itself.
@pytest.mark.parametrize("batch, replicas, expected", [
    (50, 2, [25, 25]), (51, 2, [26, 25]), (50, 3, [17, 17, 16]), (50, 4, [13, 13, 13, 11]),
    (9, 4, [3, 3, 3, 0]), (7, 5, [2, 2, 2, 1, 0]), (5, 1, [5]),
])
def test_split_batch_known_values(batch, replicas, expected):
    assert memory.split_batch(batch, replicas) == expected
    assert sum(expected) == batch


# --- measuring --------------------------------------------------------------------------------------

def test_process_memory_sees_a_large_allocation():
    if memory.process_memory()["current"] is None or not memory.reset_process_peak():
        pytest.skip("needs Linux's /proc/self/status and clear_refs")
    before = memory.process_memory()["current"]
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, every page written
    grown = memory.process_memory()["peak"] - before
    del block
    assert grown >= 60 * 2**20
    assert memory.reset_process_peak()
    assert memory.process_memory()["peak"] < before + 32 * 2**20


def test_measure_peak_of_a_small_stack():
    image, layers, batch = (64, 64, 3), [Conv(32, 3, 1), Conv(8, 3, 2)], 8
    inference, training = memory.measure_peak(image, layers, batch)
    assert (inference.mode, training.mode) == ("inference", "training")
    assert inference.device in ("CPU:0", "GPU:0") and inference.batch_size == batch
    # the allocator held at least the two consecutive outputs, and not wildly more
    pair = memory.inference_estimate(image, layers, batch, hold_input=True, params=False).activations
    assert pair <= inference.allocator_growth < 2 * pair + 2**20
    # the input batch and the parameters were there before the step
    assert inference.allocator_baseline >= memory.input_bytes(image, batch) + memory.parameter_bytes(image, layers)
    # training keeps more than inference
    assert training.allocator_growth > inference.allocator_growth
    if inference.device == "CPU:0":
        assert inference.process_baseline > 100 * 2**20  # Python + TensorFlow alone
        assert inference.process_growth > 0


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: Conv(0), "filters must be a positive integer"),
    (lambda: Conv(8, 3, 2, "full"), "padding must be 'same' or 'valid'"),
    (lambda: Conv(8, 2.5), "kernel must be a positive integer"),
    (lambda: memory.conv_stack((200, 300), EXERCISE), "three positive ints"),
    (lambda: memory.conv_stack(IMAGE, []), "layers is empty"),
    (lambda: memory.conv_stack(IMAGE, Conv(8)), "wrap it in a list"),
    (lambda: memory.conv_stack(IMAGE, [(100, 3, 2)]), "not a Conv"),
    (lambda: memory.conv_stack((4, 4, 1), [Conv(1, 5, 1, "valid")]), "larger than the input"),
    (lambda: memory.training_estimate(IMAGE, EXERCISE, 0), "batch_size must be a positive integer"),
    (lambda: memory.training_estimate(IMAGE, EXERCISE, optimizer_slots=-1), "optimizer_slots"),
    (lambda: memory.inference_estimate(IMAGE, EXERCISE, dtype="float12"), "unknown dtype"),
    (lambda: memory.split_batch(50, 0), "replicas must be a positive integer"),
    (lambda: memory.remedy_effects(IMAGE, EXERCISE, 50, smaller_batch=50), "not smaller"),
    (lambda: memory.remedy_effects(IMAGE, EXERCISE, 50, drop_layer=3), "does not index"),
    (lambda: memory.remedy_effects(IMAGE, EXERCISE[:1], 50), "at least two layers"),
    (lambda: memory.measure_peak(IMAGE, EXERCISE, 50, modes=("predict",)), "modes must list"),
    (lambda: memory.measure_peak(IMAGE, EXERCISE, 50, optimizer="sgdd"), "optimizer"),
])
def test_bad_input_raises_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_failing_measurement_reports_the_child_error(monkeypatch):
    monkeypatch.setattr(sys, "executable", "false")  # a "Python" that exits 1 at once
    with pytest.raises(RuntimeError, match="measuring process failed"):
        memory.measure_peak((8, 8, 1), [Conv(1)], 1, modes=("inference",))


# --- the measuring process's environment, Keras applications, mixed precision ---------------------------

def test_child_environment_lets_a_gpu_child_take_memory_as_needed(monkeypatch):
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    env = memory.child_environment()
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and env["TF_CPU_ALLOCATOR_USE_BFC"] == "true"
    monkeypatch.setenv("TF_FORCE_GPU_ALLOW_GROWTH", "false")  # a user's own choice is kept
    assert memory.child_environment()["TF_FORCE_GPU_ALLOW_GROWTH"] == "false"


def test_measure_peak_starts_its_child_with_that_environment(monkeypatch):
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    seen = {}

    def fake_run(command, **kwargs):
        seen.update(kwargs["env"])
        return subprocess.CompletedProcess(command, 1, "", "stopped by the test")

    monkeypatch.setattr(memory.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError, match="stopped by the test"):
        memory.measure_peak((8, 8, 1), [Conv(1)], 1, modes=("inference",))
    assert seen["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"


def test_the_child_applies_a_mixed_precision_policy_and_counts_adams_slots():
    spec = {"input_shape": [32, 32, 3], "layers": [{"filters": 16, "kernel": 3, "stride": 1, "padding": "same"}],
            "batch_size": 4, "modes": ["inference", "training"], "optimizer": "adam", "seed": 0,
            "dtype_policy": "mixed_bfloat16"}
    inference, training = memory._run_child(spec, timeout=300)
    assert inference.dtype_policy == training.dtype_policy == "mixed_bfloat16"
    assert inference.parameters == convmath.conv_params(3, 3, 16) and inference.variable_bytes == 4 * 448
    # Adam: two float32 slots per weight, plus its step counter and learning rate
    assert 2 * inference.variable_bytes <= inference.optimizer_bytes <= 2 * inference.variable_bytes + 64
    assert training.allocator_growth > 0
    # the baseline, stage by stage: the last stage is what the allocator held before the steps
    stages = training.baseline_stages
    assert list(stages) == ["start", "model built", "optimizer slots", "steps traced", "input batch"]
    assert stages["input batch"] == training.allocator_baseline and training.input_bytes == 4 * 32 * 32 * 3 * 4
    assert stages["model built"] - stages["start"] >= inference.variable_bytes
    assert stages["optimizer slots"] - stages["model built"] >= 2 * inference.variable_bytes


@pytest.mark.parametrize("kwargs, match", [
    ({"application": "resnet"}, "not known"),
    ({"input_size": 64}, "at least 75"),
    ({"dtype_policy": "float16"}, "not one of"),
    ({"modes": "fit"}, "modes must list"),
])
def test_measure_application_peak_rejects_bad_input(kwargs, match):
    args = {"application": "inception_v3", "input_size": 299, "batch_size": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        memory.measure_application_peak(args.pop("application"), args.pop("input_size"), args.pop("batch_size"),
                                        **args)


def test_keras_training_estimate_walks_down_and_drops_batch_norm_outputs():
    import keras

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same", use_bias=False),
                              keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
                              keras.layers.Conv2D(2, 1)])
    est = memory.keras_training_estimate(model, 5)
    maps = [5 * 4 * 8 * 8 * 4] * 3 + [5 * 4 * 8 * 8 * 2]  # conv, bn, relu, conv: batch 5, float32
    assert est["all outputs"] == sum(maps)
    assert est["kept outputs"] == sum(maps) - maps[1]
    assert est["parameter gradients"] == 4 * (3 * 3 * 3 * 4 + 2 * 4 + 4 * 2 + 2)  # BN's gamma and beta train
    # going down: at the last conv, the outputs below it (BN's dropped) + its gradients + two map gradients
    at_top = maps[0] + maps[2] + 4 * (4 * 2 + 2) + maps[3] + maps[2]
    at_relu = maps[0] + 4 * (4 * 2 + 2) + maps[2] + maps[1]
    assert est["walk peak"] == max(at_top, at_relu) and est["peak layer"] == model.layers[-1].name
    assert est["peak index"] == est["layers"] == 4
    with pytest.raises(ValueError, match="batch_size"):
        memory.keras_training_estimate(model, 0)
