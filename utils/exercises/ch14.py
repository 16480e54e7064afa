"""Exercises for notebook 14 (transfer learning): definitions, references, planted mistakes."""
from __future__ import annotations

import functools

import numpy as np

from utils.checker import ChoiceExercise, CustomExercise, Lazy, Mistake, ValueExercise, call
from utils.convmath import dense_params
from utils.investigation import Investigation

# q1: a tf.data training pipeline in the right order, judged on a tiny dataset of 16 numbered elements.
_N, _BATCH, _SEED = 16, 4, 1


def _tiny():
    images = np.arange(_N, dtype="float32").reshape(_N, 1, 1, 1)  # element k is an "image" holding k
    return images, np.arange(_N, dtype="int64")


def _ops(ds) -> list[str]:
    """The dataset's operations from source to output (TensorSliceDataset, CacheDatasetV2, ...)."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(tf.raw_ops.DatasetToGraphV2(input_dataset=ds._variant_tensor).numpy())
    return [node.op for node in graph.node if node.op.endswith("Dataset") or "Dataset" in node.op]


def _epochs(ds, n=3) -> list[list[list[int]]]:
    return [[np.asarray(labels).ravel().astype(int).tolist() for _, labels in ds] for _ in range(n)]


def _check_pipeline(fn):
    import tensorflow as tf

    images, labels = _tiny()
    ds = call(fn, images, labels, _BATCH, _SEED)
    if not isinstance(ds, tf.data.Dataset):
        raise Mistake(f"Return the tf.data.Dataset itself, not a {type(ds).__name__}.")
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise Mistake(f"Each element should be an (images, labels) pair; the element spec is {spec}.")
    if spec[0].shape.rank != images.ndim:
        raise Mistake(f"Your dataset yields single images of shape {tuple(spec[0].shape)}, not batches: "
                      f"there is no batch. Add .batch(batch_size) after the shuffle.")
    cardinality = int(ds.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        raise Mistake("Your dataset never ends: .repeat() makes it infinite, so one epoch never finishes. Leave "
                      "it out: model.fit(..., epochs=n) starts the dataset again each epoch.")
    if cardinality == tf.data.UNKNOWN_CARDINALITY:  # e.g. a filter: read a bounded number of batches
        if len(list(ds.take(_N + 1))) > _N:
            raise Mistake(f"Your dataset yields more than {_N} batches from {_N} elements: did you add .repeat()?")
    epochs = _epochs(ds)
    for epoch in epochs:
        flat = [k for batch in epoch for k in batch]
        if sorted(flat) != list(range(_N)):
            raise Mistake(f"One epoch should hold each of the {_N} elements once; got labels {flat}. "
                          f"Did you add .repeat() or .take()?")
        if [len(b) for b in epoch[:-1]] != [_BATCH] * (len(epoch) - 1):
            raise Mistake(f"Batches should hold batch_size = {_BATCH} elements; got sizes {[len(b) for b in epoch]}.")
    def runs(epoch):  # every batch holds neighbours 0-3, 4-7, ... (in whatever batch order)
        return all(sorted(b) == list(range(min(b), min(b) + len(b))) and min(b) % _BATCH == 0 for b in epoch)

    if all(runs(epoch) for epoch in epochs):
        if all([k for batch in epoch for k in batch] == list(range(_N)) for epoch in epochs):
            raise Mistake("The elements come out in their original order: the dataset is not shuffled. "
                          "Add .shuffle(buffer, seed=seed) before .batch.")
        raise Mistake("Each batch holds neighbours (0-3, 4-7, ...) in a new order: shuffle after batch "
                      "shuffles whole batches, not the elements. Shuffle first, then batch.")
    if all(epoch == epochs[0] for epoch in epochs):
        raise Mistake("Every epoch comes out in the same order: cache after shuffle re-shuffles nothing (the "
                      "cache replays the first epoch's order), and so does reshuffle_each_iteration=False. "
                      "Cache first, then shuffle.")
    ops = _ops(ds)
    if not any(op.startswith("CacheDataset") for op in ops):
        raise Mistake("There is no .cache(): every epoch would decode the photos again. Cache right after "
                      "the (expensive) decoding, before the shuffle.")
    batched = max((i for i, op in enumerate(ops) if "Batch" in op), default=-1)
    if not any(op.startswith("PrefetchDataset") for op in ops[batched + 1:]):  # later options nodes are fine
        raise Mistake("End with .prefetch(tf.data.AUTOTUNE), after the batch, so the next batch is prepared while "
                      "the model trains on this one.")


def make_training_dataset(images, labels, batch_size, seed):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.cache()
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _planted(order):
    def make(images, labels, batch_size, seed):
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        steps = {"cache": lambda d: d.cache(), "shuffle": lambda d: d.shuffle(len(images), seed=seed),
                 "batch": lambda d: d.batch(batch_size), "prefetch": lambda d: d.prefetch(tf.data.AUTOTUNE),
                 "repeat": lambda d: d.repeat()}
        for step in order:
            ds = steps[step](ds)
        return ds
    return make


q1 = CustomExercise(
    "make_training_dataset: cache, shuffle, batch, prefetch in the right order",
    _check_pipeline,
    planted=[
        (_planted(["shuffle", "cache", "batch", "prefetch"]), "cache after shuffle re-shuffles nothing"),
        (_planted(["cache", "batch", "shuffle", "prefetch"]), "shuffle after batch"),
        (_planted(["cache", "shuffle", "prefetch"]), "there is no batch"),
        (_planted(["cache", "batch", "prefetch"]), "not shuffled"),
        (_planted(["shuffle", "batch", "prefetch"]), "There is no .cache()"),
        (_planted(["cache", "shuffle", "batch"]), "End with .prefetch"),
        (_planted(["cache", "shuffle", "batch", "repeat", "prefetch"]), "never ends: .repeat()"),
    ],
    reference_answer=make_training_dataset,
    note="Cache the decoded elements once, shuffle them anew each epoch, batch, prefetch.",
    hint="Each step works on what the previous one produced. What should the cache store, a fixed list of "
         "elements or one epoch's order? And what should the shuffle move, elements or batches?",
    solution=make_training_dataset,
)


# q2: trainable parameters of the head (pooling, dropout, softmax) on 2,048 maps for tf_flowers' 5 species.
_FEATURES, _CLASSES = 2048, 5

q2 = ValueExercise(
    "Trainable parameters of the head on 2,048 feature maps for 5 classes (base frozen)",
    dense_params(_FEATURES, _CLASSES),
    mistakes={
        _FEATURES * _CLASSES: "That counts the weights but not the 5 biases, one per output.",
        dense_params(256, _CLASSES): "That is the head on MobileNet's 256 feature maps; Inception v3's base gives "
                                     "2,048.",
        dense_params(8 * 8 * _FEATURES, _CLASSES): "That head reads all 8x8x2048 values: global average pooling "
                                                   "first reduces each map to one number, leaving 2,048.",
        dense_params(_FEATURES, _CLASSES) + 2 * _FEATURES: "Dropout and pooling have no weights: only the "
                                                           "dense layer trains.",
    },
    note=f"2048 x 5 weights + 5 biases = {dense_params(_FEATURES, _CLASSES):,}; pooling and dropout have none.",
    hint="Only the softmax (Dense) layer has weights. How many inputs does it get after global average pooling?",
    solution=f"Global average pooling turns 2,048 maps into 2,048 numbers; the Dense layer has 2048 x 5 weights "
             f"and 5 biases: `{dense_params(_FEATURES, _CLASSES):,}`. Check with "
             f"`utils.convmath.dense_params(2048, 5)`.",
)

# Keras's InceptionV3 (weights=None): its 94 BatchNormalization layers have scale=False, so each holds an offset
# and the moving mean and variance per channel. tests/test_exercise_choices.py rebuilds the model and checks both.
_BN_PARAMS, _ALL_PARAMS = 51_648, 23_851_784
# Keras's MobileNet (alpha=0.25, 128×128, weights=None, include_top=False: the course's base, cut as notebook 14
# cuts it): its 27 BatchNormalization layers keep the scale γ; the same test rebuilds it and checks both figures.
_MOBILENET_BN_PARAMS, _MOBILENET_BASE_PARAMS = 10_944, 218_544

q3 = ChoiceExercise(
    "Why batch norm stays in inference mode during fine-tuning",
    choices={
        "a": "Batch-norm layers have no weights of their own, so in training mode there would be nothing to update.",
        "b": "`training=False` turns off the gradient for the whole base, so fine-tuning changes only the head.",
        "c": "In training mode they would use each small batch of flowers' statistics and overwrite ImageNet's.",
        "d": "It is only for speed: batch norm in training mode is slower, and it gives the same result in the end.",
    },
    correct="c",
    feedback={
        "a": f"Batch norm has weights. Keras's Inception v3 builds it with scale=False: per channel a trainable "
             f"offset β and no scale, plus a moving mean and variance that training mode would update: "
             f"{_BN_PARAMS:,} of its {_ALL_PARAMS:,} parameters ({_BN_PARAMS / _ALL_PARAMS:.2%}). MobileNet, "
             f"the base of the course's run, keeps the scale: γ and β per channel, plus the moving statistics, "
             f"{_MOBILENET_BN_PARAMS:,} of its base's {_MOBILENET_BASE_PARAMS:,} parameters "
             f"({_MOBILENET_BN_PARAMS / _MOBILENET_BASE_PARAMS:.1%}). Few, but they normalise every map the next "
             f"layer reads.",
        "b": "training=False does not stop gradients: the unfrozen top blocks (after mixed8 in Inception v3, after "
             "conv_pw_11_relu in MobileNet) still train. It only makes batch norm (and dropout) behave as at "
             "inference.",
        "d": "The result is not the same: in training mode batch norm uses each batch's own mean and variance "
             "and updates its moving averages.",
    },
    note="Small batches of a new dataset give noisy statistics; replacing ImageNet's would shift the inputs of "
         "every later layer.",
    hint="What does a batch-norm layer compute in training mode, and what does it update?",
    solution="**c.** In training mode batch norm normalises with the current batch's statistics and updates "
             "its moving averages; with small batches of flowers that shifts every later layer's input away "
             "from what ImageNet training tuned it for. Calling the base with `training=False` (and keeping "
             "the batch-norm layers frozen) keeps the ImageNet statistics.",
)


# q4 (investigation): freeze more or fewer blocks of the digits miniature's pretrained base.
def _convs(model):
    import keras

    from utils.investigation import all_layers

    return [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Conv2D)]


def _trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _check_freezing(answer):
    import keras

    from utils.investigation import accuracy, keras_model, labelled_data

    make = answer["make"]
    if not callable(make):
        raise Mistake(f"'make' should be your function of `frozen` (its name, no parentheses), "
                      f"not {type(make).__name__}.")
    pretrained = [np.asarray(w) for w in answer["pretrained"]]
    fresh = {}
    for frozen in (0, 1, 2):
        try:
            fresh[frozen] = make(frozen)
        except Exception as error:  # the learner's code: one line
            raise Mistake(f"make({frozen}) raised {type(error).__name__}: {error}") from None
        if not isinstance(fresh[frozen], keras.Model):
            raise Mistake(f"make({frozen}) returned {type(fresh[frozen]).__name__}: return the model (base + head).")
    convs = _convs(fresh[0])
    if len(convs) < 2:
        raise Mistake("The model has fewer than two Conv2D layers: build it from digit_base and with_head.")
    kernel = convs[0].get_weights()[0]
    if not any(w.shape == kernel.shape and np.allclose(w, kernel) for w in pretrained):
        raise Mistake("make(0)'s first convolution does not hold the weights learned on digits 0-4: "
                      "base.set_weights(pretrained_base_weights) before building the model, whatever you freeze.")
    total = fresh[0].count_params()
    for frozen, model in fresh.items():
        expected = total - sum(layer.count_params() for layer in _convs(model)[:frozen])
        got = _trainable(model)
        if got != expected:
            raise Mistake(f"make({frozen}) trains {got:,} parameters; with its first {frozen} convolution(s) frozen "
                          f"and everything else trainable it should train {expected:,}. Set layer.trainable = False "
                          f"on the first {frozen} Conv2D layer(s) of the base only (and not base.trainable = False, "
                          f"which freezes all of it).")
    x, y = labelled_data(answer, "x_test", "y_test", at_least=300)
    models, scores = answer["models"], {}
    if not isinstance(models, dict) or sorted(models) != [0, 1, 2]:
        raise Mistake("'models' should be a dict {0: model, 1: model, 2: model}: the trained model for each "
                      "number of frozen convolutions.")
    for frozen in (0, 1, 2):
        model = keras_model(models, frozen)
        if [w.shape for w in model.weights] != [w.shape for w in fresh[frozen].weights]:
            raise Mistake(f"models[{frozen}] is not the network make({frozen}) builds.")
        for layer, start in zip(_convs(model)[:frozen], _convs(fresh[frozen])[:frozen]):
            if not all(np.allclose(a, b) for a, b in zip(layer.get_weights(), start.get_weights())):
                raise Mistake(f"In models[{frozen}], the frozen layer {layer.name} changed in training: freeze "
                              f"before compile and fit, and train the model make({frozen}) returned.")
        scores[frozen] = accuracy(model, x, y)
        if scores[frozen] < 0.4:
            raise Mistake(f"models[{frozen}] classifies {scores[frozen]:.1%} of your test examples (chance: 20 %): "
                          f"has it been trained?")
    return (f"Re-scored on your {len(y):,} test digits: " + ", ".join(
        f"{k} frozen {scores[k]:.1%} ({_trainable(fresh[k]):,} trainable)" for k in (0, 1, 2))
        + ". One sample of examples and one seed: a gap of a point or two can be noise.")


def _freezing_answer(mistake=None):
    import keras

    from utils.investigation import toy_digits

    x, y = toy_digits(700, seed=2, classes=5, jitter=1)

    def base_at(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                                 keras.layers.MaxPooling2D(), keras.layers.Conv2D(8, 3, activation="relu"),
                                 keras.layers.MaxPooling2D(), keras.layers.Flatten()])

    pretrained = base_at(0).get_weights()

    def make(frozen):
        base = base_at(1)
        if mistake != "no weights":
            base.set_weights(pretrained)
        convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
        for layer in convs[:frozen]:
            layer.trainable = False
        if mistake == "whole base" and frozen:
            base.trainable = False
        return keras.Sequential([base, keras.layers.Dense(5, activation="softmax")])

    models = {}
    for frozen in (0, 1, 2):
        model = make(frozen)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        if mistake is None:
            model.fit(x[:400], y[:400], epochs=3, batch_size=32, verbose=0)
        models[frozen] = model
    return dict(make=make, models=models, pretrained=pretrained, x_test=x[400:], y_test=y[400:],
                explanation="Freezing less lets the base adapt, but with few examples it can also overfit.")


@functools.lru_cache(maxsize=1)
def _freezing_trained():
    return _freezing_answer()


q4 = Investigation(
    "Investigation: freeze more or fewer blocks of the pretrained digit base",
    _check_freezing,
    keys=("make", "models", "pretrained", "x_test", "y_test"),
    given=("pretrained", "x_test", "y_test"),
    planted=[(Lazy(lambda: {**_freezing_trained(), "make": _freezing_answer("whole base")["make"]}),
              "which freezes all of it"),
             (Lazy(lambda: {**_freezing_trained(), "make": _freezing_answer("no weights")["make"]}),
              "does not hold the weights learned"),
             (Lazy(lambda: {**_freezing_trained(), "models": [None]}), "should be a dict {0: model")],
    reference_answer=Lazy(lambda: _freezing_trained()),
    discussion=(
        "Freezing is a bet on how well the old features fit the new task and how many examples there are. "
        "With everything frozen, only the head's 8,005 weights learn from 50 examples: little can overfit, but "
        "the features stay those of digits 0-4. Unfreezing a convolution lets it adapt, with thousands more "
        "weights learning from the same 50 examples, so it can fit them better or overfit them; a low layer "
        "(edges and strokes) is the most generic and the least useful to re-train, the top one the most "
        "specific to the old task, which is why fine-tuning unfreezes from the top down (the chapter's "
        "Inception v3 and MobileNet runs unfreeze their top blocks). This cell trains the three once, on one "
        "sample of 10 examples per digit 5-9 (rng 0, and digit_base(100) as in the hint: section 1's seed 0). "
        "Filled in and run on the course's data (the full MNIST, the base trained 5 epochs on the 5,131 digits "
        "0-4 of the first 10,000, 40 epochs at Adam's 1e-3), it gave 89.8 %, 90.0 % and 89.6 % with 0, 1 and 2 "
        "convolutions frozen. One sample says little, so `python tools/investigation_numbers.py 14` repeats "
        "the cell on five (sample k: rng k with digit_base(100 + k), section 1's seed k; sample 0 is this "
        "cell's): 89.5 %, 89.6 % and 89.5 % on average, the three within 0.4 points of each other on every "
        "sample, while the samples themselves ranged from 88.1 % to 90.9 %. Paired by sample, the gaps change "
        "sign (1 minus 0 frozen: +0.2, +0.1, +0.2, -0.1, +0.1 points; 2 minus 0: -0.2, -0.1, +0.1, +0.3, 0.0): a "
        "tie within seed noise. (Frozen = 2 is section 1's "
        "transfer setting at 10 per digit.) With "
        "50 examples (80 steps at Adam's 1e-3) the unfrozen convolutions do move: the same runs measured each "
        "trained kernel 18 to 24 % of its norm away from the 0-4 weights, yet the accuracy stayed put. Starting "
        "from the 0-4 filters, re-training them on 50 examples found no better features for 5-9, and no worse "
        "ones either; with more examples, more steps or a larger learning rate the choice starts to matter, "
        "and overfitting with it."),
    hint="base = digit_base(100); base.set_weights(pretrained_base_weights); then set trainable = False on the "
         "first `frozen` Conv2D layers of base.layers; return with_head(base).",
    solution="`transfer_model(frozen)` builds `digit_base(100)`, copies `pretrained_base_weights` into it, sets "
             "`trainable = False` on its first `frozen` `Conv2D` layers (not on the whole base), and returns "
             "`with_head(base)`. One sample cannot decide: compare the gaps "
             "paired by sample over several samples, as section 1 does with its seeds.",
    todo="write transfer_model(frozen) and your explanation, then run the cell (3 short trainings, ~15 s).",
)
