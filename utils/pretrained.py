"""Pretrained ImageNet models by the data contract: Inception v3 and the class index.

A weight file is data like any other, so it follows the contract of
:mod:`utils.data`. In order, a loader uses:

1. an **explicit local file**: the ``weights_path`` argument, or an environment
   variable -- ``CNN_COURSE_INCEPTION_WEIGHTS`` for the full classifier,
   ``CNN_COURSE_INCEPTION_NOTOP_WEIGHTS`` for the convolutional base alone
   (``include_top=False``), ``CNN_COURSE_IMAGENET_CLASS_INDEX`` for the class
   names. An explicit file that does not exist is an error, never skipped;
2. **Keras's cache** (``$KERAS_HOME/models`` or ``~/.keras/models``) under the
   file names ``keras.applications`` uses, verified against the MD5 that Keras
   itself checks (a copy that does not match is reported and ignored);
3. a **download** with ``keras.utils.get_file`` and that hash -- never in offline mode;
4. only in **offline mode** (``CNN_COURSE_OFFLINE=1``): the model keeps its
   *random* initial weights behind a loud banner saying that its predictions are
   meaningless; without the class index, predictions are shown as class ids.

With no network and offline mode off, a loader raises
:class:`utils.data.DataUnavailable` with one message naming the fixes. Every
loader returns (and prints) a :class:`utils.data.Source` saying what it used::

    model, weights = load_inception_v3()          # the 1000-class ImageNet classifier
    base, weights = load_inception_v3(include_top=False, input_shape=(160, 160, 3))
    rows = top_k(model, "my_photo.jpg", k=5)      # [(class_id, name, prob), ...]

:func:`load_weights_into` applies the same contract to any built model and any
:class:`RemoteFile`, for other pretrained networks.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from utils import setup
from utils.data import (
    DataUnavailable,
    Source,
    download_verified,
    keras_cache_dir,
    read_rgb_image,
    unavailable_message,
)

INCEPTION_WEIGHTS_ENV = "CNN_COURSE_INCEPTION_WEIGHTS"
INCEPTION_NOTOP_WEIGHTS_ENV = "CNN_COURSE_INCEPTION_NOTOP_WEIGHTS"
MOBILENET_WEIGHTS_ENV = "CNN_COURSE_MOBILENET_WEIGHTS"
CLASS_INDEX_ENV = "CNN_COURSE_IMAGENET_CLASS_INDEX"

INCEPTION_SIZE = 299      # the input size Inception v3 was trained at
INCEPTION_MIN_SIZE = 75   # the smallest input its stride-2 stages accept
NUM_CLASSES = 1000        # ImageNet-1k (ILSVRC 2012)


@dataclass(frozen=True)
class RemoteFile:
    """One file of the contract: what it is, its Keras cache name, its origin and MD5."""

    what: str
    fname: str
    url: str
    md5: str
    env_var: str
    cache_subdir: str = "models"

    @property
    def cached_path(self) -> Path:
        return keras_cache_dir(self.cache_subdir) / self.fname


# As in keras/src/applications/inception_v3.py and imagenet_utils.py (a test pins them).
_APPS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
INCEPTION_V3_WEIGHTS = RemoteFile(
    "Inception v3 ImageNet weights", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
    _APPS_URL + "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
    "9a0d58056eeedaa3f26cb7ebd46da564", INCEPTION_WEIGHTS_ENV)
INCEPTION_V3_NOTOP_WEIGHTS = RemoteFile(
    "Inception v3 ImageNet weights without the classifier (include_top=False)",
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    _APPS_URL + "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "bcbd6486424b2319ff4ef7d526e38f63", INCEPTION_NOTOP_WEIGHTS_ENV)
IMAGENET_CLASS_INDEX = RemoteFile(
    "ImageNet class index", "imagenet_class_index.json",
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
    "c2c37ea517e94d9795004a39431a14cb", CLASS_INDEX_ENV)

# MobileNet v1, width multiplier alpha = 0.25, 128x128 input, with its 1000-class top: the file and
# address keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights="imagenet")
# downloads (keras/src/applications/mobilenet.py). Keras publishes no hash for it; the MD5 here is that
# of Keras's released file (SHA-256 fe295db7f78635f1403127e3ba8cdc6237f83262bdb745063a67c1d81190c7f8),
# checked by loading it and classifying known photos.
MOBILENET_WEIGHTS = RemoteFile(
    "MobileNet (alpha 0.25, 128 px) ImageNet weights", "mobilenet_2_5_128_tf.h5",
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/mobilenet_2_5_128_tf.h5",
    "8ef07e656c29ed236576fed9fdd37ce8", MOBILENET_WEIGHTS_ENV)

# Official files recognised by their MD5, so that the wrong one gets a precise error.
KNOWN_FILES = (INCEPTION_V3_WEIGHTS, INCEPTION_V3_NOTOP_WEIGHTS, MOBILENET_WEIGHTS, IMAGENET_CLASS_INDEX)


# ---------------------------------------------------------------------------
# the contract for one file
# ---------------------------------------------------------------------------

def md5_of(path: Path | str) -> str:
    """MD5 hex digest of a file (the hash ``keras.applications`` checks), read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unavailable(spec: RemoteFile, reason: str) -> str:
    # utils.data's message is written for dataset folders; a weight file is one file.
    return unavailable_message(spec.what, spec.env_var, reason).replace(
        "/path/to/folder", f"/path/to/{spec.fname}")


def _announce(source: Source, verbose: bool) -> Source:
    if verbose:
        print(source)
    return source


def locate(spec: RemoteFile, path: Path | str | None = None, *, verbose: bool = True) -> tuple[Path, str]:
    """Steps 1-3 of the contract for one file; returns ``(path, kind)``.

    ``kind`` is ``"local"`` (``path`` or ``$spec.env_var``), ``"cache"`` (Keras's
    cache, MD5 verified) or ``"download"``. Raises :class:`DataUnavailable` when
    there is no verified copy and none can be downloaded -- always in offline
    mode, where the caller falls back to its stand-in.
    """
    explicit = path if path is not None else (os.environ.get(spec.env_var) or None)
    if explicit is not None:
        origin = "the path argument" if path is not None else f"${spec.env_var}"
        explicit = Path(explicit).expanduser()
        if not explicit.is_file():
            raise FileNotFoundError(
                f"{spec.what}: {explicit} (from {origin}) is not a file -- give the path of {spec.fname} "
                f"(or of a file saved the same way), or unset {spec.env_var} to use the Keras cache")
        return explicit, "local"
    cached = spec.cached_path
    stale = ""
    if cached.is_file():
        if md5_of(cached) == spec.md5:
            return cached, "cache"
        stale = f"the cached {cached} does not match its MD5 {spec.md5} (corrupt or incomplete); "
        if verbose:
            print(f"[data] {stale[:-2]}: not using it")
    if setup.offline_mode():
        raise DataUnavailable(_unavailable(
            spec, f"{stale}no verified copy in the Keras cache ({cached}) and offline mode forbids downloading"))
    try:
        got = download_verified(spec.fname, spec.url, spec.md5, algorithm="md5", cache_subdir=spec.cache_subdir)
    except Exception as error:  # get_file raises plain Exception for network failures, ValueError for a bad hash
        raise DataUnavailable(_unavailable(
            spec, f"{stale}downloading {spec.url} failed ({type(error).__name__}: {error})")) from error
    return Path(got), "download"


def _local_note(spec: RemoteFile, path: Path) -> str:
    digest = md5_of(path)
    if digest == spec.md5:
        return "the official Keras file, MD5 verified"
    if path.name == spec.fname:
        raise ValueError(
            f"{path} has the name of Keras's {spec.fname} but not its MD5 {spec.md5} (got {digest}): a corrupt, "
            f"incomplete or altered copy, refused; download it again, or give weights you saved yourself under "
            f"another name")
    for other in KNOWN_FILES:
        if other.md5 == digest:
            raise ValueError(
                f"{path} is {other.fname} ({other.what}), not {spec.fname} ({spec.what}); "
                f"give the right file, or {other.env_var} is the variable for this one")
    return "not the official Keras file (its MD5 differs): used as given, e.g. weights you saved yourself"


def random_weights_banner(spec: RemoteFile) -> str:
    """The banner an offline model with random weights prints: its predictions are meaningless."""
    lines = [
        "RANDOM WEIGHTS: this network has NOT been trained.",
        f"No {spec.what} were found and offline mode is on",
        f"({setup.OFFLINE_ENV}=1), so every weight is a random number.",
        "Every label and probability it outputs is MEANINGLESS.",
        f"Real weights: go online, or set {spec.env_var}",
        f"to a local copy of {spec.fname}.",
    ]
    width = max(len(line) for line in lines)
    bar = "!" * (width + 8)
    return "\n".join([bar, *(f"!!  {line:<{width}}  !!" for line in lines), bar])


def load_weights_into(model, spec: RemoteFile, path: Path | str | None = None, *,
                      verbose: bool = True) -> Source:
    """Load ``spec``'s weights into the built Keras ``model`` by the contract; returns the :class:`Source`.

    Offline with no local or cached copy, nothing is loaded: the model keeps its
    random initial weights, :func:`random_weights_banner` is printed (always,
    whatever ``verbose`` says) and the source is a ``"stand-in"``.
    """
    try:
        file, kind = locate(spec, path, verbose=verbose)
    except DataUnavailable:
        if not setup.offline_mode():
            raise
        print(random_weights_banner(spec))
        return _announce(Source(spec.what, "stand-in", "random initial weights, nothing loaded",
                                f"predictions are meaningless; set {spec.env_var} or go online"), verbose)
    note = _local_note(spec, file) if kind == "local" else "MD5 verified"
    try:
        model.load_weights(file)
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise ValueError(
            f"cannot load {spec.what} from {file} into model {model.name!r} ({type(error).__name__}: {error}); "
            f"the file must be Keras's {spec.fname}, or weights that model.save_weights() wrote for the "
            f"same architecture") from error
    return _announce(Source(spec.what, kind, str(file), note), verbose)


# ---------------------------------------------------------------------------
# Inception v3
# ---------------------------------------------------------------------------

def _check_input_shape(input_shape, include_top: bool) -> tuple | None:
    if input_shape is None:
        return None
    try:
        shape = tuple(int(n) for n in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be (height, width, 3), got input_shape={input_shape!r}") from None
    if include_top and shape != (INCEPTION_SIZE, INCEPTION_SIZE, 3):
        raise ValueError(f"the ImageNet classifier (include_top=True) takes {INCEPTION_SIZE}×{INCEPTION_SIZE}×3 "
                         f"images, got input_shape={shape}; leave input_shape out, or use include_top=False "
                         f"(the convolutional base) for other sizes")
    if len(shape) != 3 or shape[2] != 3 or min(shape[:2]) < INCEPTION_MIN_SIZE:
        raise ValueError(f"input_shape must be (height, width, 3) with height and width at least "
                         f"{INCEPTION_MIN_SIZE}, got input_shape={shape}")
    return shape


def load_inception_v3(include_top: bool = True, weights_path: Path | str | None = None, *,
                      input_shape=None, pooling: str | None = None,
                      classifier_activation: str | None = "softmax", verbose: bool = True):
    """Inception v3 with ImageNet weights by the data contract; returns ``(model, Source)``.

    ``include_top=True``: the 1000-class classifier on 299×299×3 inputs (weights
    from ``weights_path`` or ``$CNN_COURSE_INCEPTION_WEIGHTS``, else the Keras
    cache or a download). ``include_top=False``: the convolutional base for
    transfer learning, any ``input_shape`` from 75×75×3 up and an optional
    ``pooling`` (``"avg"``/``"max"``), with weights from ``weights_path`` or
    ``$CNN_COURSE_INCEPTION_NOTOP_WEIGHTS``. Offline with neither, the weights
    are random and a banner says so (``source.is_stand_in`` is then true).
    """
    if not isinstance(include_top, bool):
        raise ValueError(f"include_top must be True or False, got include_top={include_top!r}")
    shape = _check_input_shape(input_shape, include_top)
    if include_top and pooling is not None:
        raise ValueError(f"pooling={pooling!r} only applies to the base (include_top=False); "
                         f"the classifier already ends in global average pooling")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', got pooling={pooling!r}")
    import keras

    model = keras.applications.InceptionV3(include_top=include_top, weights=None, input_shape=shape,
                                           pooling=pooling, classifier_activation=classifier_activation)
    spec = INCEPTION_V3_WEIGHTS if include_top else INCEPTION_V3_NOTOP_WEIGHTS
    source = load_weights_into(model, spec, weights_path, verbose=verbose)
    return model, source


# ---------------------------------------------------------------------------
# which ImageNet network a notebook runs: Inception v3 online, MobileNet where Inception cannot be had
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NetworkSpec:
    """One ImageNet classifier of ``keras.applications`` the chapters 13-15 can run."""

    key: str               # the value of NETWORK in the notebooks
    title: str             # how tables, figures and stamps name it
    application: str       # the class in keras.applications
    module: str            # its module (preprocess_input, decode_predictions)
    size: int              # the input size its ImageNet weights were trained at
    weights: RemoteFile    # the full classifier's weights (with the top)
    base_output: str       # the last layer of its convolutional base (where transfer learning cuts)
    fine_tune_after: str   # fine-tuning trains the layers after this one
    feature_dim: int       # channels of base_output = length of the pooled feature vector
    kwargs: tuple = ()     # extra arguments of the application, as (name, value) pairs

    def application_class(self):
        import keras

        return getattr(keras.applications, self.application)

    def keras_module(self):
        import keras

        return getattr(keras.applications, self.module)

    def build(self, weights_path: Path | str | None = None, **kwargs):
        """``keras.applications.<application>(weights=weights_path, ...)`` at its ImageNet input size."""
        arguments = dict(self.kwargs, input_shape=(self.size, self.size, 3), weights=None if weights_path is None
                         else str(weights_path))
        arguments.update(kwargs)
        return self.application_class()(**arguments)


NETWORKS = {
    "inception_v3": NetworkSpec("inception_v3", "Inception v3", "InceptionV3", "inception_v3", INCEPTION_SIZE,
                                INCEPTION_V3_WEIGHTS, "mixed10", "mixed8", 2048),
    "mobilenet": NetworkSpec("mobilenet", "MobileNet (alpha 0.25, 128 px)", "MobileNet", "mobilenet", 128,
                             MOBILENET_WEIGHTS, "conv_pw_13_relu", "conv_pw_11_relu", 256, (("alpha", 0.25),)),
}
FALLBACK_NETWORK = "mobilenet"


@dataclass(frozen=True)
class Network:
    """The network a run uses: its spec, the weight file the contract found (``None``: random), the report."""

    spec: NetworkSpec
    weights_path: str | None  # a str, as keras.applications' weights= argument takes it
    source: Source
    requested: str

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def size(self) -> int:
        return self.spec.size

    @property
    def real(self) -> bool:
        """True when the ImageNet weights were found (not random)."""
        return self.weights_path is not None

    @property
    def label(self) -> str:
        """What made a result, for tables, figures and stamps."""
        return f"{self.title}, ImageNet weights (Keras)" if self.real else f"{self.title}, RANDOM weights"

    def build(self, **kwargs):
        """The classifier with this run's weights (random when none were found)."""
        return self.spec.build(self.weights_path, **kwargs)


def choose_network(requested: str = "inception_v3", *, verbose: bool = True) -> Network:
    """The network a notebook runs, by the data contract; prints what it chose.

    ``requested`` is ``"inception_v3"`` or ``"mobilenet"``. Its weight file comes
    from its variable, the Keras cache (MD5 checked) or a download. In offline
    mode, when Inception v3's file cannot be had, one line says so and MobileNet
    (alpha 0.25, 128 px) runs from its file instead; when no file can be had at
    all, the network keeps random weights behind the banner, and the notebook
    skips every result that needs trained weights.
    """
    if requested not in NETWORKS:
        raise ValueError(f"NETWORK must be one of {list(NETWORKS)}, got {requested!r}")
    spec = NETWORKS[requested]
    try:
        path, kind = locate(spec.weights, verbose=verbose)
    except DataUnavailable:
        if not setup.offline_mode():
            raise
        if requested == FALLBACK_NETWORK:
            return _random_network(spec, requested, verbose)
        fallback = NETWORKS[FALLBACK_NETWORK]
        try:
            path, kind = locate(fallback.weights, verbose=verbose)
        except DataUnavailable:
            if verbose:
                print(f"{spec.title}'s ImageNet weights cannot be had here (offline, no local file), nor "
                      f"{fallback.title}'s: random weights, so every result that needs training is skipped.")
            return _random_network(fallback, requested, verbose)
        if verbose:
            print(f"{spec.title}'s ImageNet weights cannot be had here (offline, no local file): this run uses "
                  f"{fallback.title} from its local file instead.")
        spec = fallback
    note = _local_note(spec.weights, path) if kind == "local" else "MD5 verified"
    return Network(spec, str(path), _announce(Source(spec.weights.what, kind, str(path), note), verbose), requested)


def _random_network(spec: NetworkSpec, requested: str, verbose: bool) -> Network:
    print(random_weights_banner(spec.weights))
    source = Source(spec.weights.what, "stand-in", "random initial weights, nothing loaded",
                    f"predictions are meaningless; set {spec.weights.env_var} or go online")
    return Network(spec, None, _announce(source, verbose), requested)


def load_network_base(network: Network, *, image_size: int | None = None):
    """``network``'s convolutional base: the full classifier built with its weights, cut at ``base_output``.

    A weight file that holds the top cannot build ``include_top=False`` directly,
    so the whole classifier is built and loaded, and the base is the model from
    its input to ``spec.base_output`` (MobileNet: ``conv_pw_13_relu``; Inception
    v3: ``mixed10``). Only the ImageNet input size is offered, the size the
    classifier (and so the weight file) requires.
    """
    import keras

    if image_size is not None and image_size != network.size:
        raise ValueError(f"{network.title}'s weight file holds the classifier, which takes {network.size} px; "
                         f"got image_size={image_size}")
    full = network.build()
    return keras.Model(full.inputs, full.get_layer(network.spec.base_output).output, name=f"{network.key}_base")


def install_class_index(path: Path | str) -> Path:
    """Put a verified class index where Keras's own ``decode_predictions`` looks, so it works offline.

    ``keras.applications.<net>.decode_predictions`` reads ``imagenet_class_index.json``
    from Keras's cache and downloads it when absent; a copy with the right MD5 is
    what that download would leave there. Returns the cached path.
    """
    import shutil

    path = Path(path)
    if md5_of(path) != IMAGENET_CLASS_INDEX.md5:
        raise ValueError(f"{path} is not Keras's class index (MD5 {IMAGENET_CLASS_INDEX.md5}); not installing it")
    cached = IMAGENET_CLASS_INDEX.cached_path
    if not (cached.is_file() and md5_of(cached) == IMAGENET_CLASS_INDEX.md5):
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, cached)
    return cached


# ---------------------------------------------------------------------------
# the ImageNet class index and decoding
# ---------------------------------------------------------------------------

def parse_class_index(path: Path | str) -> dict[int, tuple[str, str]]:
    """Read Keras's ``imagenet_class_index.json``: ``{class_id: (wordnet_id, name)}`` for ids 0-999."""
    path = Path(path)
    problem = (f"{path} is not Keras's ImageNet class index (a JSON object with keys '0'..'999', "
               f"each [wordnet_id, name]); replace it with a fresh copy of {IMAGENET_CLASS_INDEX.fname}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{problem} ({type(error).__name__}: {error})") from error
    if not isinstance(raw, dict) or set(raw) != {str(i) for i in range(NUM_CLASSES)}:
        raise ValueError(problem)
    classes = {}
    for key, value in raw.items():
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise ValueError(f"{problem}; entry {key!r} is {value!r}")
        classes[int(key)] = (value[0], value[1])
    return classes


def load_imagenet_classes(path: Path | str | None = None, *, verbose: bool = True, for_keras: bool = False):
    """The 1000 ImageNet class names by the data contract; returns ``(classes, Source)``.

    ``classes`` maps a class id to ``(wordnet_id, name)``. Offline without a
    copy it is ``None`` and predictions are shown as class ids. With
    ``for_keras=True`` a local copy is also put in Keras's cache
    (:func:`install_class_index`), so ``keras.applications.*.decode_predictions``
    finds it offline.
    """
    try:
        file, kind = locate(IMAGENET_CLASS_INDEX, path, verbose=verbose)
    except DataUnavailable:
        if not setup.offline_mode():
            raise
        return None, _announce(Source(IMAGENET_CLASS_INDEX.what, "stand-in",
                                      "no class names: predictions are shown as class ids 0-999",
                                      f"set {CLASS_INDEX_ENV} or go online for the names"), verbose)
    classes = parse_class_index(file)
    if for_keras:
        install_class_index(file)
    return classes, _announce(Source(IMAGENET_CLASS_INDEX.what, kind, str(file), f"{len(classes)} classes"),
                              verbose)


def class_name(class_id: int, classes: dict | None) -> str:
    """The readable name of one class, or ``"class #id"`` when the names are unavailable."""
    return classes[class_id][1] if classes is not None else f"class #{class_id}"


def decode_predictions(preds, top: int = 5, classes: dict | None = None) -> list[list[tuple[str, str, float]]]:
    """Like ``keras.applications.inception_v3.decode_predictions``, with the class index from the contract.

    ``preds`` is ``(n, 1000)``; returns, per image, ``top`` tuples
    ``(wordnet_id, name, score)`` from the most probable down. Without names
    (``classes=None``) the WordNet id is ``"?"`` and the name ``"class #id"``.
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != NUM_CLASSES:
        raise ValueError(f"decode_predictions expects a batch of predictions of shape (n, {NUM_CLASSES}), "
                         f"got {preds.shape}; pass model.predict(batch), not one row or a feature vector")
    top = _check_k(top, "top")
    results = []
    for row in preds:
        ids = np.argsort(row, kind="stable")[::-1][:top]
        results.append([(classes[i][0] if classes is not None else "?", class_name(int(i), classes),
                         float(row[i])) for i in ids])
    return results


# ---------------------------------------------------------------------------
# images in, top-k out
# ---------------------------------------------------------------------------

def _check_k(k, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= NUM_CLASSES:
        raise ValueError(f"{name} must be an integer from 1 to {NUM_CLASSES}, got {name}={k!r}")
    return int(k)


def as_rgb_array(image) -> np.ndarray:
    """One RGB image as ``uint8`` ``(h, w, 3)``, from a file path or an array with values 0-255.

    Files go through :func:`utils.data.read_rgb_image` (grayscale, palette and
    RGBA files are converted and the conversion reported). Arrays must already be
    RGB: a grayscale, RGBA or batched array gets an error naming the fix.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_rgb_image(image)
    array = np.asarray(image)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"an image must hold numbers 0-255, got an array of dtype {array.dtype}")
    if array.ndim == 4:
        raise ValueError(f"expected one image (height, width, 3), got a batch of shape {array.shape}; "
                         f"pass the images one at a time (e.g. batch[0])")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 1):
        raise ValueError(f"got a grayscale image of shape {array.shape}; an ImageNet network needs 3 colour channels: "
                         f"np.stack([image] * 3, axis=-1) repeats the gray level, or pass the file path "
                         f"(read_rgb_image converts it)")
    if array.ndim == 3 and array.shape[-1] == 4:
        raise ValueError(f"got an RGBA image of shape {array.shape}; drop the alpha channel with image[..., :3], "
                         f"or pass the file path (read_rgb_image converts it)")
    if array.ndim != 3 or array.shape[-1] != 3 or min(array.shape[:2]) < 1:
        raise ValueError(f"expected an RGB image of shape (height, width, 3), got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ValueError("the image holds NaN or infinite values")
        if 0 < array.max() <= 1.0:
            raise ValueError("the image's values lie in [0, 1]; prepare_image expects 0-255 pixel values "
                             "(multiply by 255), as a photo file gives them")
    if array.min() < 0 or array.max() > 255:
        raise ValueError(f"pixel values must lie in 0-255, got {array.min()} to {array.max()}; "
                         f"pass the raw photo, not an already preprocessed one")
    return np.round(array).astype(np.uint8) if np.issubdtype(array.dtype, np.floating) else array.astype(np.uint8)


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < INCEPTION_MIN_SIZE:
        raise ValueError(f"size must be an integer of at least {INCEPTION_MIN_SIZE} (Inception v3's smallest "
                         f"input; {INCEPTION_SIZE} for the ImageNet classifier), got size={size!r}")
    return int(size)


def resize_image(image, size: int = INCEPTION_SIZE, *, center_crop: bool = True) -> np.ndarray:
    """The ``uint8`` ``(size, size, 3)`` square the network sees.

    With ``center_crop`` (the default) the largest centred square is cut out
    first, so the photo is not squashed; without it, the whole photo is
    stretched to a square (what ``keras.utils.load_img(target_size=...)`` does).
    Resizing is bilinear with antialiasing (Pillow).
    """
    from PIL import Image

    size = _check_size(size)
    array = as_rgb_array(image)
    if center_crop:
        h, w = array.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        array = array[top:top + side, left:left + side]
    return np.asarray(Image.fromarray(array).resize((size, size), Image.BILINEAR), dtype=np.uint8)


def prepare_image(image, size: int = INCEPTION_SIZE, *, center_crop: bool = True) -> np.ndarray:
    """A photo (path or RGB array, values 0-255) as Inception v3's input: ``float32`` ``(1, size, size, 3)``.

    :func:`resize_image`, then ``keras.applications.inception_v3.preprocess_input``,
    which maps pixel values 0..255 linearly to -1..1 (``x / 127.5 - 1``).
    """
    import keras

    square = resize_image(image, size, center_crop=center_crop).astype(np.float32)
    return keras.applications.inception_v3.preprocess_input(square[None])


class Prediction(NamedTuple):
    """One row of :func:`top_k`."""

    class_id: int
    name: str
    prob: float


def _model_batch(model, image) -> np.ndarray:
    height, width = tuple(model.input_shape[1:3])
    fixed = height is not None and width is not None
    if isinstance(image, (str, os.PathLike)) or np.ndim(image) != 4:
        if fixed and height != width:
            raise ValueError(f"the model takes {height}×{width} inputs; prepare the image to that size yourself")
        return prepare_image(image, height if fixed else INCEPTION_SIZE)
    batch = np.asarray(image, dtype=np.float32)
    if batch.shape[0] != 1 or batch.shape[-1] != 3:
        raise ValueError(f"top_k takes one image: a path, an RGB array (h, w, 3) or a prepared batch "
                         f"(1, h, w, 3); got shape {batch.shape} -- call it once per image")
    if fixed and batch.shape[1:3] != (height, width):
        raise ValueError(f"the prepared image is {batch.shape[1]}×{batch.shape[2]} but the model takes "
                         f"{height}×{width}; use prepare_image(image, size={height})")
    if batch.min() < -1.001 or batch.max() > 1.001:
        raise ValueError(f"a prepared batch must hold values in [-1, 1] (preprocess_input's range), got "
                         f"{batch.min():.3g} to {batch.max():.3g}; pass the raw image (h, w, 3) or "
                         f"prepare_image(...)'s output")
    return batch


def top_k(model, image, k: int = 5, classes: dict | None = None) -> list[Prediction]:
    """The ``k`` most probable ImageNet classes for one image: ``[(class_id, name, prob), ...]``.

    ``image`` is a file path, an RGB array (0-255, any size: it is prepared with
    :func:`prepare_image`) or a prepared batch of one. ``classes`` defaults to
    the class index loaded quietly by the contract; offline without it, names
    are ``"class #id"``.
    """
    k = _check_k(k)
    outputs = model.output_shape
    if not isinstance(outputs, tuple) or outputs[-1] != NUM_CLASSES or len(outputs) != 2:
        raise ValueError(f"top_k needs a {NUM_CLASSES}-class ImageNet classifier; model {model.name!r} outputs "
                         f"{outputs} -- use load_inception_v3(include_top=True)")
    if classes is None:
        classes, _ = load_imagenet_classes(verbose=False)
    import keras

    probs = keras.ops.convert_to_numpy(model(_model_batch(model, image), training=False))[0].astype(np.float64)
    if probs.min() < 0 or abs(probs.sum() - 1) > 1e-3:
        raise ValueError("the model's outputs are not probabilities (they do not sum to 1); build it with "
                         "classifier_activation='softmax'")
    ids = np.argsort(probs, kind="stable")[::-1][:k]
    return [Prediction(int(i), class_name(int(i), classes), float(probs[i])) for i in ids]


def format_top_k(rows: list[Prediction], *, digits: int = 4) -> str:
    """A small text table of :func:`top_k` rows."""
    width = max([len(r.name) for r in rows] + [4])
    lines = [f"rank  class  {'name':<{width}}  probability"]
    lines += [f"{n:>4}  {r.class_id:>5}  {r.name:<{width}}  {r.prob:>11.{digits}f}" for n, r in enumerate(rows, 1)]
    return "\n".join(lines)


def plot_top_k(image, rows: list[Prediction], *, title: str | None = None, source: Source | None = None):
    """The image beside a bar chart of its top-k probabilities; returns the figure.

    When ``source`` says the weights are a stand-in, the chart is stamped
    "RANDOM WEIGHTS -- meaningless", so the figure cannot pass for a real result.
    """
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("plot_top_k got no predictions to plot")
    shown = as_rgb_array(image)
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1.4]})
    ax_img.imshow(shown)
    ax_img.axis("off")
    if title:
        ax_img.set_title(title)
    names = [r.name if r.name == class_name(r.class_id, None) else f"{r.name.replace('_', ' ')} ({r.class_id})"
             for r in rows][::-1]
    probs = [r.prob for r in rows][::-1]
    bars = ax_bar.barh(range(len(rows)), probs, color="tab:blue")
    bars[-1].set_color("tab:orange")
    ax_bar.set_yticks(range(len(rows)), names)
    ax_bar.set_xlim(0, 1)
    ax_bar.set_xlabel("probability (softmax)")
    for y, p in enumerate(probs):
        inside = p > 0.8
        ax_bar.text(p - 0.01 if inside else p + 0.01, y, f"{p:.1%}", va="center", fontsize=9,
                    ha="right" if inside else "left", color="white" if inside else "black")
    if source is not None and source.is_stand_in:
        ax_bar.set_title("RANDOM WEIGHTS: these predictions are meaningless", color="red", fontweight="bold")
        ax_bar.text(0.5, 0.5, "RANDOM WEIGHTS", transform=ax_bar.transAxes, fontsize=26, color="red",
                    alpha=0.25, ha="center", va="center", rotation=20)
    else:
        ax_bar.set_title(f"top-{len(rows)} predictions")
    fig.tight_layout()
    return fig
