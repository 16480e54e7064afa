"""Transfer-learning plumbing for the flower chapters (14, 15) and the benchmark: decode, pipeline, models, timers.

Notebook 14 writes the lesson's code itself (the ``tf.data`` chain, the frozen base
and its head, the unfreeze loop, the recompile); this module holds the same steps as
tested helpers for the chapters and the benchmark that reuse them, and notebook 14
checks its own code against them: :func:`decode_and_resize` (any image file -> RGB
uint8 at one size), :func:`make_pipeline` (the tuned ``tf.data`` chain, or the naive
one the benchmark compares against), :func:`make_augmentation`,
:func:`inception_base`, :func:`build_classifier`, :func:`unfreeze_top`, the cached
bottleneck features (:func:`feature_extractor`, :func:`compute_features`,
:func:`build_head`, :func:`copy_head`), :func:`epoch_timer`, :func:`predict_labels`,
:func:`confusion_matrix`, the TF Hub address by the data contract
(:func:`hub_handle`) and the folder of its script's job and result (:func:`hub_workdir`), and where
notebook 14 saves its fine-tuned model for 15 (:func:`finetuned_model_path`, :func:`load_finetuned`).

The data contract (:func:`load_flowers`, the splits) lives in :mod:`utils.flowers_data`
and the file checks in :mod:`utils.imagefiles`; the names notebooks used from here
before the split are re-exported below, so ``from utils import flowers`` keeps working.
"""
from __future__ import annotations

import json
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from utils import setup
from utils.data import keras_cache_dir
from utils.flowers_data import (  # noqa: F401  (re-exported: notebooks import them from here)
    FLOWERS_ENV,
    TF_FLOWERS_CLASSES,
    TF_FLOWERS_IMAGES,
    FlowerData,
    Split,
    content_overlap,
    load_flowers,
)
from utils.imagefiles import scan_class_folders  # noqa: F401

# Inception v3: the input size it was trained at, the smallest it accepts, and where
# fine-tuning starts (the last two inception blocks come after the 'mixed8' concatenation,
# as in the Keras applications guide's "freeze the first 249 layers").
INCEPTION_SIZE = 299
INCEPTION_MIN_SIZE = 75
FINE_TUNE_AFTER = "mixed8"

# The TF Hub route. tfhub.dev now redirects to Kaggle Models. tensorflow_hub 0.16.1 resolves
# any http(s) handle the same way (HttpCompressedFileResolver: it appends ?tf-hub-format=compressed
# and follows redirects to a .tar.gz); it has no kaggle-specific resolver and no kaggle:// scheme.
# The Kaggle address is the model's current home, so the course uses it; it replaces
# https://tfhub.dev/google/imagenet/inception_v3/feature_vector/5 (inputs 0..1, 2,048 features).
HUB_ENV = "CNN_COURSE_TFHUB_INCEPTION_V3"
HUB_INCEPTION_V3 = "https://www.kaggle.com/models/google/inception-v3/TensorFlow2/feature-vector/2"
HUB_INCEPTION_V3_TFHUB = "https://tfhub.dev/google/imagenet/inception_v3/feature_vector/5"

# Notebook 14 saves its fine-tuned classifier here (with a JSON of its class names, network, image size,
# dataset and mode beside it) whenever its base had real ImageNet weights; notebook 15 loads it when present.
FINETUNED_MODEL_FILE = "flowers_finetuned.keras"


def _say(text: str, verbose: bool) -> None:
    if verbose:
        print(text)


# ---------------------------------------------------------------------------
# tf.data pipelines
# ---------------------------------------------------------------------------

def inception_preprocess(images):
    """Inception v3's ``preprocess_input``: pixels 0-255 -> -1..1."""
    from keras.applications.inception_v3 import preprocess_input

    return preprocess_input(images)


PREPROCESS = {"inception": inception_preprocess, "mobilenet": inception_preprocess, None: None}
# MobileNet's preprocess_input is the same straight line (mode "tf": x / 127.5 - 1); a test checks it.


def decode_and_resize(path, image_size: int):
    """Read one file, decode it as 3-channel RGB (grayscale/RGBA/CMYK converted) and resize; uint8."""
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def make_pipeline(paths: Sequence[str], labels, *, image_size: int, batch_size: int = 32,
                  preprocess: str | Callable | None = "inception", training: bool = False, tuned: bool = True,
                  cache: bool | str = True, seed: int = 0):
    """A ``tf.data`` pipeline of ``(images, labels)`` batches from image files.

    Tuned (default): decode + resize in parallel, **cache** the resized uint8
    images (in memory, or a file path), shuffle (training only, a new order each
    epoch from ``seed``), the model's ``preprocess_input``, batch, **prefetch**.
    ``tuned=False`` is the naive version the benchmark compares against:
    decode and resize every epoch, one image at a time, no cache, no prefetch.
    ``preprocess`` is ``"inception"`` (-1..1), ``None`` (0..255 floats) or a
    function (e.g. ``lambda x: x / 255`` for 0..1).
    """
    import tensorflow as tf

    if len(paths) != len(labels):
        raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
    if len(paths) == 0:
        raise ValueError("no image paths to build a pipeline from")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive int, got {image_size!r}")
    if callable(preprocess):
        prep = preprocess
    elif preprocess in PREPROCESS:
        prep = PREPROCESS[preprocess]
    else:
        raise ValueError(f"preprocess must be one of {list(PREPROCESS)} or a function, got {preprocess!r}")
    parallel = tf.data.AUTOTUNE if tuned else None

    def load(path, label):
        return decode_and_resize(path, image_size), label

    def finish(image, label):
        image = tf.cast(image, tf.float32)
        return (prep(image) if prep is not None else image), label

    ds = tf.data.Dataset.from_tensor_slices((list(map(str, paths)), np.asarray(labels, dtype=np.int32)))
    ds = ds.map(load, num_parallel_calls=parallel)
    if tuned and cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if training:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(finish, num_parallel_calls=parallel).batch(batch_size)
    if tuned:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def load_images(paths: Sequence[str], image_size: int) -> np.ndarray:
    """Decode and resize a few files into a uint8 array ``(n, size, size, 3)`` (for plotting)."""
    return np.stack([decode_and_resize(str(p), image_size).numpy() for p in paths])


def small_photo_arrays(split, image_size: int) -> np.ndarray:
    """A split's photos as one uint8 array ``(n, size, size, 3)``, in the split's order: decoded once, then cached.

    For the small-photo experiments (notebooks 05 and 07 train on every tf_flowers photo at 32-36 px).
    The array is saved in the Keras cache under a name made from the size and the file list (path, size,
    modification time), so another split, size or changed file gets its own file; it is written beside its
    final name and renamed, so an interrupted run leaves no half-written array.
    """
    import hashlib

    files = "\n".join(f"{p}:{os.path.getsize(p)}:{os.path.getmtime(p)}" for p in split.paths)
    key = hashlib.sha256(f"{image_size}\n{files}".encode()).hexdigest()[:16]
    cache = keras_cache_dir("datasets") / "cnn_course_small_photos" / f"{split.name}_{image_size}px_{key}.npy"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"partial_{os.getpid()}_{cache.name}")
        np.save(partial, load_images(split.paths, image_size))
        os.replace(partial, cache)
    return np.load(cache)


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------

def make_augmentation(seed: int = 0, *, flip: bool = True, rotation: float = 0.1, zoom: float = 0.15):
    """Random flips, rotations and zooms as layers, to put *inside* the model.

    Keras preprocessing layers are active only when the model is called with
    ``training=True`` (``fit``), and pass images through unchanged in
    ``predict``/``evaluate``. They work on any value range (no clipping to 0-255).
    """
    import keras

    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="reflect", seed=seed + 2))
    if not layers:
        raise ValueError("make_augmentation needs at least one of flip, rotation, zoom")
    return keras.Sequential(layers, name="augmentation")


def _check_size(image_size: int) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < INCEPTION_MIN_SIZE:
        raise ValueError(f"Inception v3 needs images of at least {INCEPTION_MIN_SIZE}x{INCEPTION_MIN_SIZE} pixels, "
                         f"got image_size={image_size!r}: use {INCEPTION_MIN_SIZE} or more ({INCEPTION_SIZE} is "
                         f"what it was trained at)")


def inception_base(image_size: int = INCEPTION_SIZE, weights_path: Path | str | None = None, *,
                   verbose: bool = True):
    """Inception v3 without its classifier, for ``image_size`` inputs; returns ``(model, Source)``.

    The ImageNet weights follow the data contract through
    :func:`utils.pretrained.load_inception_v3` (``weights_path`` or
    ``$CNN_COURSE_INCEPTION_NOTOP_WEIGHTS`` -> Keras cache -> download; offline
    with none of them, random weights behind a banner).
    """
    _check_size(image_size)
    from utils import pretrained

    return pretrained.load_inception_v3(include_top=False, weights_path=weights_path,
                                        input_shape=(image_size, image_size, 3), verbose=verbose)


def build_classifier(num_classes: int, base, *, image_size: int, dropout: float = 0.2, augmentation=None,
                     seed: int = 0):
    """Frozen ``base`` + global average pooling + dropout + softmax, with augmentation inside.

    The base is called with ``training=False``, so its batch-norm layers keep
    their ImageNet statistics even after :func:`unfreeze_top` makes it trainable.
    ``augmentation`` is a layer (e.g. :func:`make_augmentation`) applied to the
    input; ``False`` builds the model without it. The layers are named
    ``augmentation``, ``avg_pool``, ``dropout`` and ``predictions``.
    """
    import keras

    _check_size(image_size)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    base.trainable = False
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = inputs
    if augmentation is None:
        augmentation = make_augmentation(seed)
    if augmentation is not False:
        x = augmentation(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    return keras.Model(inputs, outputs, name="flower_classifier")


def compile_classifier(model, learning_rate: float) -> None:
    """Compile with a *new* Adam optimizer (never reuse the head-training one) and sparse cross-entropy."""
    import keras

    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])


def _has_convolutions(model) -> bool:
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) or (isinstance(layer, keras.Model) and _has_convolutions(layer)):
            return True
    return False


def find_base(model):
    """The nested convolutional base of a transfer-learning classifier.

    A ``keras.Sequential`` is a ``keras.Model`` too, so "the first nested model"
    can be the augmentation block in front of the base: the base is the one
    nested model that holds convolutions.
    """
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    bases = [m for m in nested if _has_convolutions(m)]
    if len(bases) != 1:
        raise ValueError(f"expected one nested convolutional base in {model.name!r}, found "
                         f"{[m.name for m in bases]} among its nested models {[m.name for m in nested]}")
    return bases[0]


def unfreeze_top(model, after: str = FINE_TUNE_AFTER, *, learning_rate: float = 1e-5) -> dict:
    """Make the base's layers after ``after`` trainable and recompile with a fresh, slower optimizer.

    Everything up to and including layer ``after`` stays frozen, and so do all
    batch-norm layers (their statistics and scales are kept). With the default
    ``"mixed8"``, the last two inception blocks (``mixed9``, ``mixed10``) train.
    Returns a dict of counts (trainable layers and parameters).
    """
    import keras

    base = find_base(model)
    names = [layer.name for layer in base.layers]
    if after not in names:
        blocks = [n for n in names if (n.startswith("mixed") and "_" not in n) or n.endswith("_relu")]
        raise ValueError(f"no layer named {after!r} in {base.name}; its blocks end at {blocks[-12:]}")
    cut = names.index(after) + 1
    base.trainable = True
    for k, layer in enumerate(base.layers):
        layer.trainable = k >= cut and not isinstance(layer, keras.layers.BatchNormalization)
    compile_classifier(model, learning_rate)
    trainable = [layer for layer in base.layers if layer.trainable and layer.weights]
    return {"after": after, "base_layers": len(base.layers), "trainable_base_layers": len(trainable),
            "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            "first_trainable": trainable[0].name if trainable else None}


def feature_extractor(model):
    """Input image -> pooled base features (no augmentation, no dropout): the bottleneck."""
    import keras

    base = find_base(model)
    inputs = keras.Input(model.input_shape[1:], name="image")
    pooled = model.get_layer("avg_pool")(base(inputs, training=False))
    return keras.Model(inputs, pooled, name="bottleneck")


def compute_features(extractor, dataset) -> tuple[np.ndarray, np.ndarray]:
    """Run ``extractor`` once over a (non-shuffled) dataset of ``(images, labels)``: the feature cache."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *extractor.input_shape[1:]), tf.float32)
    step = tf.function(lambda images: extractor(images, training=False), input_signature=[spec])
    feats, labels = [], []
    for images, batch_labels in dataset:
        feats.append(step(images).numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(feats), np.concatenate(labels)


def build_head(feature_dim: int, num_classes: int, *, dropout: float = 0.2, seed: int = 0):
    """The classifier's head alone (dropout + softmax), to train on cached features."""
    import keras

    inputs = keras.Input((feature_dim,), name="features")
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    return keras.Model(inputs, outputs, name="head")


def copy_head(head, model) -> None:
    """Put the head's trained softmax weights into the full classifier."""
    model.get_layer("predictions").set_weights(head.get_layer("predictions").get_weights())


def feature_dataset(features: np.ndarray, labels: np.ndarray, *, batch_size: int = 32, training: bool = False,
                    seed: int = 0):
    """Cached features as a shuffled (training) or ordered ``tf.data`` dataset."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((features.astype(np.float32), labels.astype(np.int32)))
    if training:
        ds = ds.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _epoch_timer_class():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall-clock seconds of each epoch of ``fit``."""

        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer


def epoch_timer():
    """A Keras callback whose ``.seconds`` lists each epoch's wall-clock time."""
    return _epoch_timer_class()()


def predict_labels(model, dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(true labels, predicted labels, probabilities)`` over an ordered dataset."""
    probs, labels = [], []
    for images, batch_labels in dataset:
        probs.append(model.predict_on_batch(images))
        labels.append(batch_labels.numpy())
    probs = np.concatenate(probs)
    return np.concatenate(labels), probs.argmax(axis=1), probs


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]``."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix



# ---------------------------------------------------------------------------
# the TF Hub address, and the fine-tuned model notebook 14 saves
# ---------------------------------------------------------------------------

def hub_handle(verbose: bool = True) -> tuple[str | None, str]:
    """``(handle, why)`` for the TF Hub Inception v3 feature vector, by the data contract.

    ``$CNN_COURSE_TFHUB_INCEPTION_V3`` (a local SavedModel folder) first; then the
    Kaggle Models address :data:`HUB_INCEPTION_V3`, unless offline mode is on
    (``handle`` is then ``None`` and ``why`` says why the route is skipped).
    """
    local = os.environ.get(HUB_ENV)
    if local:
        if not Path(local).is_dir():
            raise FileNotFoundError(f"{HUB_ENV}={local} is not a folder: point it at an extracted SavedModel "
                                    f"(a folder holding saved_model.pb)")
        why = f"local SavedModel from {HUB_ENV}"
        _say(f"[weights] TF Hub Inception v3 feature vector: {why} ({local})", verbose)
        return local, why
    if setup.offline_mode():
        return _none_because(f"offline mode and no local copy ({HUB_ENV} unset): the TF Hub route needs to "
                             f"download the Inception v3 feature-vector model, so it is skipped", verbose)
    _say(f"[weights] TF Hub Inception v3 feature vector: {HUB_INCEPTION_V3} (downloaded and cached by "
         f"tensorflow_hub)", verbose)
    return HUB_INCEPTION_V3, "download"


def _none_because(why: str, verbose: bool) -> tuple[None, str]:
    """A loader's "nothing to return": say why in one ``[weights]`` line, and return ``(None, why)``."""
    _say(f"[weights] {why}", verbose)
    return None, why


HUB_WORKDIR_PREFIX = "cnn_course_hub_"


def hub_workdir() -> Path:
    """A fresh folder for the job and the result of notebook 14's TF Hub script, in the system's temporary folder.

    Independent of :data:`utils.course.ROOT` (a checkout, or Colab's working folder with a
    non-editable install) and never in the course's files. Fresh on every call, so two runs at
    once never share a job, and a result is never an earlier run's. Removed when the Python
    process (the notebook's kernel) exits. (The script itself goes to ``build/hub/`` in the
    notebook's working folder, so that ``%%writefile`` prints a path without a machine's folders.)
    """
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=HUB_WORKDIR_PREFIX))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def finetuned_model_path() -> Path:
    """Where notebook 14 saves its fine-tuned classifier: ``<Keras cache>/models/`` + :data:`FINETUNED_MODEL_FILE`."""
    return keras_cache_dir("models") / FINETUNED_MODEL_FILE


def load_finetuned(*, verbose: bool = True):
    """``(model, info)`` for the classifier notebook 14 saved, or ``(None, why)`` when there is none.

    ``info`` is the JSON saved beside it: class names, image size, data source, test accuracy.
    """
    path = finetuned_model_path()
    info_path = path.with_suffix(".json")
    where = f"the Keras cache (models/{path.name})"  # no machine path in a notebook's output
    if not path.is_file() or not info_path.is_file():
        return _none_because(f"no fine-tuned model in {where}: notebook 14 saves one after a run whose base had "
                             f"ImageNet weights", verbose)
    import keras

    info = json.loads(info_path.read_text())
    try:
        model = keras.models.load_model(path, compile=False)  # for inference: no optimizer state to restore
    except (TypeError, ValueError, OSError, zipfile.BadZipFile) as error:  # e.g. saved by a newer Keras
        saved_with = info.get("keras_version", "an unknown version")
        return _none_because(f"the fine-tuned model in {where} cannot be loaded by Keras {keras.__version__} "
                             f"(saved with Keras {saved_with}: {type(error).__name__}): run notebook 14 again "
                             f"with this Keras to save a new one", verbose)
    _say(f"[weights] fine-tuned {info.get('network', 'network')} from notebook 14, in {where} "
         f"({info.get('dataset')}, {len(info.get('class_names', []))} classes, {info.get('mode', '?')} run)", verbose)
    return model, info


def save_finetuned(model, info: dict) -> Path:
    """Save notebook 14's fine-tuned model and its JSON where :func:`load_finetuned` looks; returns the path.

    Both files are written beside their final names and then renamed, so a reader
    (notebook 15, perhaps running at the same time) never sees a half-written model.
    """
    missing = {"class_names", "network", "network_key", "image_size", "dataset", "mode"} - set(info)
    if missing:
        raise ValueError(f"the fine-tuned model's info lacks {sorted(missing)}")
    path = finetuned_model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"partial_{os.getpid()}_{path.name}")
    model.save(partial)
    info_partial = partial.with_suffix(".json")
    import keras

    info_partial.write_text(json.dumps({**info, "keras_version": keras.__version__}))
    os.replace(partial, path)
    os.replace(info_partial, path.with_suffix(".json"))
    return path
