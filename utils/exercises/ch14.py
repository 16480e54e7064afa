"""Exercises for notebook 14 (transfer learning): definitions, references, planted mistakes."""
from __future__ import annotations

import numpy as np

from utils.checker import ChoiceExercise, CustomExercise, Mistake, ValueExercise, call
from utils.convmath import dense_params

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
    if not ops or not ops[-1].startswith("PrefetchDataset"):
        raise Mistake("End with .prefetch(tf.data.AUTOTUNE), so the next batch is prepared while the model "
                      "trains on this one.")


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
                 "batch": lambda d: d.batch(batch_size), "prefetch": lambda d: d.prefetch(tf.data.AUTOTUNE)}
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

q3 = ChoiceExercise(
    "Why batch norm stays in inference mode during fine-tuning",
    choices={
        "a": "Batch-norm layers have no weights, so there is nothing to train.",
        "b": "In training mode they would normalise with the statistics of each small batch of flowers and update "
             "their ImageNet moving averages, shifting every later layer's input away from what it was trained on, "
             "so the fine-tuning would start by wrecking the features.",
        "c": "`training=False` turns off the gradient for the whole base, so fine-tuning changes only the head.",
        "d": "It is only for speed: batch norm in training mode is slower and gives the same result.",
    },
    correct="b",
    feedback={
        "a": "Batch norm has weights: a scale and an offset per channel (trainable), and the moving mean and "
             "variance (statistics). Inception v3's batch-norm layers hold about 0.03 % of its parameters.",
        "c": "training=False does not stop gradients: the unfrozen convolutions after mixed8 still train. It "
             "only makes batch norm (and dropout) behave as at inference.",
        "d": "The result is not the same: in training mode batch norm uses each batch's own mean and variance "
             "and updates its moving averages.",
    },
    note="Small batches of a new dataset give noisy statistics; replacing ImageNet's would shift the inputs of "
         "every later layer.",
    hint="What does a batch-norm layer compute in training mode, and what does it update?",
    solution="**b.** In training mode batch norm normalises with the current batch's statistics and updates "
             "its moving averages; with small batches of flowers that shifts every later layer's input away "
             "from what ImageNet training tuned it for. Calling the base with `training=False` (and keeping "
             "the batch-norm layers frozen) keeps the ImageNet statistics.",
)
