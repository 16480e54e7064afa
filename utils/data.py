"""The data contract: one rule for every dataset and every pretrained weight file.

In order, a loader uses:

1. an **explicit local path**: a function argument, or the dataset's environment
   variable (``CNN_COURSE_MNIST_DIR`` ...);
2. the **local cache** (Keras's ``~/.keras/datasets``, or ``$KERAS_HOME``),
   verified against its SHA-256;
3. a **download** (hash-verified) -- skipped entirely in offline mode;
4. only in **offline mode** (``CNN_COURSE_OFFLINE=1``), a clearly labelled
   **stand-in**.

With no network and no offline mode, the loader raises :class:`DataUnavailable`,
whose message names the three fixes. Every loader returns a :class:`Source` saying
what it used and prints it, so a learner always sees which data was used.

A download may come from a **mirror** (an institutional mirror, a classroom cache):
with ``CNN_COURSE_MIRROR=<base URL>``, every address ``https://HOST/PATH`` is fetched
from ``<base URL>/HOST/PATH`` instead (:func:`mirror_url`). The file is still checked
against its published hash, so a mirror cannot hand out anything else
(:func:`download_verified`).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import re
import struct
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils import setup

MNIST_ENV = "CNN_COURSE_MNIST_DIR"
MIRROR_ENV = "CNN_COURSE_MIRROR"

# keras.datasets.mnist: the file, where it comes from, and its SHA-256 (as Keras checks it).
MNIST_NPZ = "mnist.npz"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

# The original IDX file names (gzip-compressed or not).
MNIST_IDX = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# With only the 10k test set on disk, this many digits train and the rest test.
MNIST_SUBSET_TRAIN = 8000
# Digits carved out of the training set for validation (MnistData.split_validation).
MNIST_VALIDATION = 5000

SAMPLE_IMAGES = ("china.jpg", "flower.jpg")


class DataUnavailable(RuntimeError):
    """No local copy, no cache, the download failed and offline mode is off."""


class HashMismatch(ValueError):
    """A downloaded file is not the published one: its hash differs (it has been deleted)."""


@dataclass(frozen=True)
class Source:
    """Where a loader's data (or weights) came from.

    ``kind`` is one of ``"local"``, ``"cache"``, ``"download"``, ``"package"``
    (shipped inside an installed package) or ``"stand-in"``.
    """

    dataset: str
    kind: str
    location: str
    note: str = ""

    @property
    def is_stand_in(self) -> bool:
        return self.kind == "stand-in"

    def __str__(self) -> str:
        # Paths are cut to their last part (".../mnist"): the report still says which data was used,
        # and no machine's folder layout ends up in a notebook's stored output.
        text = f"[data] {self.dataset}: {self.kind} -- {_short_paths(self.location)}"
        if self.note:
            text += f" ({self.note})"
        if self.is_stand_in:
            text = "*** STAND-IN, NOT THE REAL DATA *** " + text
        return text


# A file path (POSIX or Windows), not the path part of an address such as https://host/file.
_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:)?(?:[\\/][^\s()\\/]+)+[\\/]?")


def _short_paths(text: str) -> str:
    """Every file path in ``text`` cut to its last part: ``/home/me/data/mnist`` -> ``.../mnist``."""
    def last_part(match):
        parts = [p for p in re.split(r"[\\/]", match.group(0)) if p]
        return ".../" + parts[-1] if parts else match.group(0)

    return _PATH.sub(last_part, text)


def _announce(source: Source, verbose: bool) -> Source:
    if verbose:
        print(source)
    return source


# ---------------------------------------------------------------------------
# files, hashes and the download step
# ---------------------------------------------------------------------------

def hash_of(path: Path | str, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks: ``"sha256"``, or ``"md5"`` (what ``keras.applications`` checks)."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: Path | str) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    return hash_of(path, "sha256")


def keras_cache_dir(subdir: str = "datasets") -> Path:
    """Keras's cache folder (``$KERAS_HOME`` or ``~/.keras``) for ``subdir``."""
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / subdir


def unavailable_message(what: str, env_var: str, reason: str) -> str:
    """The one message a loader gives when it has nothing to return."""
    return (
        f"{what} is not available: {reason}.\n"
        f"Fix one of:\n"
        f"  1. connect to the internet and run this cell again (it downloads and caches the data);\n"
        f"  2. point {env_var} at a local copy (export {env_var}=/path/to/folder);\n"
        f"  3. turn offline mode on ({setup.OFFLINE_ENV}=1) to use a clearly labelled stand-in."
    )


def mirror_url(url: str) -> str:
    """The address a download is fetched from: ``url`` itself, or its copy on ``$CNN_COURSE_MIRROR``.

    With ``CNN_COURSE_MIRROR=<base>`` (``http://``, ``https://`` or ``file://``),
    ``https://HOST/PATH`` becomes ``<base>/HOST/PATH``: a mirror holds each file under
    its host and path, e.g. ``<base>/storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz``.
    """
    base = os.environ.get(MIRROR_ENV, "").strip()
    if not base:
        return url
    mirror = urllib.parse.urlsplit(base)
    if mirror.scheme not in ("http", "https", "file") or (mirror.scheme != "file" and not mirror.netloc):
        raise ValueError(f"{MIRROR_ENV}={base!r} is not a mirror's address: give its base URL, "
                         f"e.g. {MIRROR_ENV}=https://mirror.example.org/cnn-course or, for a folder, "
                         f"{MIRROR_ENV}=file:///srv/cnn-course-mirror (or unset it to download from the original)")
    origin = urllib.parse.urlsplit(url)
    if origin.scheme not in ("http", "https") or not origin.netloc:
        raise ValueError(f"cannot map {url!r} onto the mirror {base!r}: not an http(s) address")
    mapped = f"{base.rstrip('/')}/{origin.netloc}{origin.path}"
    return f"{mapped}?{origin.query}" if origin.query else mapped


def download_verified(fname: str, url: str, file_hash: str, *, algorithm: str = "sha256",
                      cache_subdir: str = "datasets") -> Path:
    """Download ``url`` (or its copy on ``$CNN_COURSE_MIRROR``) into Keras's cache, checked against ``file_hash``.

    The one download step of every loader (MNIST, tf_flowers, the pretrained weights and
    the class index). ``keras.utils.get_file`` checks the published hash; a file that does
    not match is deleted (Keras leaves it in the cache) and :class:`HashMismatch` says where
    it came from. Network failures propagate as ``get_file`` raises them.
    """
    import keras

    origin = mirror_url(url)
    folder = keras_cache_dir(cache_subdir)
    # Keras reads KERAS_HOME only at import and falls back to /tmp/.keras when the folder is
    # missing, so name the cache explicitly and create it: the file lands where the cache step looks.
    folder.mkdir(parents=True, exist_ok=True)
    try:
        got = keras.utils.get_file(fname, origin=origin, file_hash=file_hash, hash_algorithm=algorithm,
                                   cache_dir=str(keras_cache_dir("")), cache_subdir=cache_subdir)
    except ValueError as error:  # Keras: "Incomplete or corrupted file detected ..."
        target = folder / fname
        if not target.is_file():
            raise
        actual = hash_of(target, algorithm)
        if actual == file_hash:
            raise
        target.unlink()
        via = f" (the mirror ${MIRROR_ENV} for {url})" if origin != url else ""
        raise HashMismatch(
            f"{origin}{via} sent a file whose {algorithm.upper()} is {actual}, not the published {file_hash}: "
            f"it is not the real {fname} (a broken download, or an altered copy), so it was deleted. "
            + (f"Check the mirror, or unset {MIRROR_ENV} to download from the original."
               if via else "Run the cell again to download it afresh.")) from error
    return Path(got)


def fetch_verified(fname: str, url: str, sha256: str, *, what: str, env_var: str,
                   cache_subdir: str = "datasets") -> tuple[Path, str]:
    """Cache -> download step of the contract for one file; returns ``(path, kind)``.

    A cached file whose hash does not match is reported and downloaded again; a
    download whose hash does not match is deleted and reported. In offline mode
    nothing is downloaded and :class:`DataUnavailable` is raised (the caller then
    falls back to its stand-in).
    """
    cached = keras_cache_dir(cache_subdir) / fname
    if cached.is_file():
        if sha256_of(cached) == sha256:
            return cached, "cache"
        print(f"[data] cached {cached} does not match its SHA-256; downloading it again")
    if setup.offline_mode():
        raise DataUnavailable(unavailable_message(
            what, env_var, f"no verified copy in the cache ({cached}) and offline mode forbids downloading"))
    try:
        path = download_verified(fname, url, sha256, algorithm="sha256", cache_subdir=cache_subdir)
    except Exception as error:  # get_file raises plain Exception subclasses for network failures; HashMismatch
        raise DataUnavailable(unavailable_message(
            what, env_var, f"downloading {url} failed ({type(error).__name__}: {error})")) from error
    return path, "download"


# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------

def read_rgb_image(path: Path | str, *, verbose: bool = True) -> np.ndarray:
    """Read an image file as a ``uint8`` array of shape ``(h, w, 3)``.

    Grayscale, palette and RGBA images are converted to RGB and the conversion
    is reported. A missing file or one that is not a readable image raises an
    error naming the file and the fix.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image file not found: {path} -- check the spelling; a relative path starts "
                                f"from the folder the notebook runs in (notebooks/), or give an absolute path")
    if not path.is_file():
        raise IsADirectoryError(f"{path} is a folder, not an image file -- give the path of one image")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode != "RGB":
                if verbose:
                    print(f"[image] {path.name}: converted {mode} to RGB")
                image = image.convert("RGB")
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot read {path} as an image ({type(error).__name__}: {error}); the file is "
                         f"corrupt, truncated or not an image -- open it in an image viewer or replace it") from error
    return array.copy()


def load_sample_image(name: str = "china.jpg", path: Path | str | None = None, *,
                      verbose: bool = True) -> tuple[np.ndarray, Source]:
    """One of scikit-learn's sample photos (``china.jpg``: the temple, ``flower.jpg``).

    ``path`` (a local file) takes precedence; otherwise the photo ships inside
    the scikit-learn package, so no download is ever needed. Returns
    ``(uint8 array (h, w, 3), Source)``.
    """
    if path is not None:
        image = read_rgb_image(path, verbose=verbose)
        return image, _announce(Source(name, "local", str(path)), verbose)
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"unknown sample image {name!r}: choose one of {SAMPLE_IMAGES}, "
                         f"or pass path= to use your own photo")
    try:
        from sklearn.datasets import load_sample_image as sk_load
    except ImportError as error:
        raise ImportError("the sample photos ship with scikit-learn: pip install scikit-learn") from error
    image = np.asarray(sk_load(name), dtype=np.uint8)
    return image, _announce(Source(name, "package", "scikit-learn's bundled sample images"), verbose)


# ---------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------

def parse_idx(raw: bytes, *, name: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an IDX file (MNIST's format) into a ``uint8`` array.

    The header is two zero bytes, a type byte (``0x08``: unsigned byte), the
    number of dimensions, then one big-endian int32 per dimension. Magic 2051
    (images, 3 dims) and 2049 (labels, 1 dim) are MNIST's.
    """
    if len(raw) < 4:
        raise ValueError(f"{name}: {len(raw)} bytes is too short for an IDX header")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or ndim < 1:
        magic = struct.unpack(">I", raw[:4])[0]
        raise ValueError(f"{name}: bad IDX magic number {magic} (expected 2049 for labels or 2051 "
                         f"for images, unsigned-byte data); is this an MNIST IDX file?")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise ValueError(f"{name}: header says {dims} = {expected} bytes of data, "
                         f"file holds {len(raw) - header}; the file is truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _read_idx_file(folder: Path, stem: str) -> np.ndarray | None:
    for candidate, opener in ((folder / f"{stem}.gz", gzip.open), (folder / stem, open)):
        if candidate.is_file():
            try:
                with opener(candidate, "rb") as handle:
                    raw = handle.read()
            except (OSError, EOFError) as error:
                raise ValueError(f"cannot read {candidate} ({error}); the file is corrupt -- "
                                 f"replace it with a fresh copy") from error
            return parse_idx(raw, name=str(candidate))
    return None


@dataclass
class MnistData:
    """MNIST arrays (uint8 images ``(n, 28, 28)``, uint8 labels) and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: Source

    def __iter__(self):  # allows (x_train, y_train), (x_test, y_test) = ... like Keras
        yield (self.x_train, self.y_train)
        yield (self.x_test, self.y_test)

    def split_validation(self, n_val: int = MNIST_VALIDATION, *, seed: int = 0):
        """Carve a validation set out of the *training* digits: ``(x_fit, y_fit), (x_val, y_val)``.

        The validation digits choose epochs and settings; the test digits are kept for the
        final figures (touched once). The carve is a fixed permutation of the training set
        (``seed``), so it is the same on every machine and run; ``n_val`` is capped at a fifth
        of the training digits (the offline stand-in has only 2,000).
        """
        n = len(self.x_train)
        if not isinstance(n_val, (int, np.integer)) or n_val < 1:
            raise ValueError(f"n_val must be a positive number of digits, got n_val={n_val!r}")
        n_val = min(int(n_val), n // 5)
        order = np.random.default_rng(seed).permutation(n)
        fit, val = np.sort(order[n_val:]), np.sort(order[:n_val])
        return (self.x_train[fit], self.y_train[fit]), (self.x_train[val], self.y_train[val])

    def sizes(self) -> str:
        """``"60,000 training / 10,000 test digits"``: the sizes read from the data that was loaded."""
        return f"{len(self.x_train):,} training / {len(self.x_test):,} test digits"


def _check_mnist_pair(x: np.ndarray, y: np.ndarray, where: str) -> None:
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{where}: images have shape {x.shape}, expected (n, 28, 28)")
    if y.shape != (x.shape[0],):
        raise ValueError(f"{where}: {y.shape[0]} labels for {x.shape[0]} images")
    if y.size and y.max() > 9:
        raise ValueError(f"{where}: labels must be 0-9, found {int(y.max())}")


def mnist_from_folder(folder: Path | str) -> MnistData:
    """MNIST from a local folder: ``mnist.npz`` (Keras's file) or the IDX files.

    With the full IDX set the official 60k/10k split is used. With only the 10k
    test files, the first 8,000 digits train and the last 2,000 test, and the
    :class:`Source` says so.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder not found: {folder} -- set {MNIST_ENV} to a folder holding "
                                f"{MNIST_NPZ} or the IDX files ({', '.join(MNIST_IDX.values())}, .gz or not)")
    npz = folder / MNIST_NPZ
    if npz.is_file():
        with np.load(npz) as f:
            x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        _check_mnist_pair(x_train, y_train, str(npz))
        _check_mnist_pair(x_test, y_test, str(npz))
        return MnistData(x_train, y_train, x_test, y_test,
                         Source("MNIST", "local", str(npz), f"{len(x_train):,} train / {len(x_test):,} test"))
    arrays = {key: _read_idx_file(folder, stem) for key, stem in MNIST_IDX.items()}
    if arrays["x_test"] is None or arrays["y_test"] is None:
        raise FileNotFoundError(f"{folder} holds neither {MNIST_NPZ} nor the MNIST test IDX files "
                                f"({MNIST_IDX['x_test']}[.gz], {MNIST_IDX['y_test']}[.gz])")
    _check_mnist_pair(arrays["x_test"], arrays["y_test"], str(folder))
    if arrays["x_train"] is not None and arrays["y_train"] is not None:
        _check_mnist_pair(arrays["x_train"], arrays["y_train"], str(folder))
        return MnistData(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                         Source("MNIST", "local", f"IDX files in {folder}",
                                f"{len(arrays['x_train']):,} train / {len(arrays['x_test']):,} test"))
    x, y = arrays["x_test"], arrays["y_test"]
    n_train = min(MNIST_SUBSET_TRAIN, len(x) * 4 // 5)
    return MnistData(x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                     Source("MNIST", "local", f"IDX files in {folder}",
                            f"ONLY the official 10k test set: first {n_train:,} digits used to train, "
                            f"last {len(x) - n_train:,} to test -- a subset, not the 60k training set"))


def synthetic_digits(n: int = 2000, *, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in for MNIST that the code makes: digits drawn with a font, jittered.

    Each image is a digit rendered with Pillow's default font at a random
    size, position and stroke, then lightly blurred and noised. It is learnable
    (a small CNN separates the classes) but it is *not* handwriting.
    """
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    if n < 1:
        raise ValueError(f"n must be at least 1, got n={n}")
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = np.zeros((n, size, size), dtype=np.uint8)
    fonts = {}
    for k, label in enumerate(labels):
        font_size = int(rng.integers(16, 23))
        if font_size not in fonts:
            fonts[font_size] = ImageFont.load_default(size=font_size)
        canvas = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(canvas)
        left, top, right, bottom = draw.textbbox((0, 0), str(label), font=fonts[font_size])
        x = (size - (right - left)) / 2 - left + rng.uniform(-3, 3)
        y = (size - (bottom - top)) / 2 - top + rng.uniform(-3, 3)
        draw.text((x, y), str(label), fill=255, font=fonts[font_size],
                  stroke_width=int(rng.integers(0, 2)), stroke_fill=255)
        canvas = canvas.rotate(rng.uniform(-15, 15), resample=Image.BILINEAR)
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
        noisy = np.asarray(canvas, dtype=np.float32) + rng.normal(0, 8, (size, size))
        images[k] = np.clip(noisy, 0, 255).astype(np.uint8)
    return images, labels


def load_mnist(path: Path | str | None = None, *, verbose: bool = True) -> MnistData:
    """MNIST by the data contract: local path -> Keras cache -> download -> stand-in (offline only).

    ``path`` (or ``$CNN_COURSE_MNIST_DIR``) is a folder with ``mnist.npz`` or
    the IDX files. Returns :class:`MnistData`; ``.source`` says what was used
    (and it is printed).
    """
    folder = path if path is not None else os.environ.get(MNIST_ENV) or None
    if folder is not None:
        data = mnist_from_folder(folder)
        _announce(data.source, verbose)
        return data
    try:
        npz, kind = fetch_verified(MNIST_NPZ, MNIST_URL, MNIST_SHA256, what="MNIST", env_var=MNIST_ENV)
    except DataUnavailable:
        if not setup.offline_mode():
            raise
        x, y = synthetic_digits(2500, seed=0)
        data = MnistData(x[:2000], y[:2000], x[2000:], y[2000:],
                         Source("MNIST", "stand-in", "synthetic font-drawn digits made by utils.data",
                                f"2,000 train / 500 test; set {MNIST_ENV} or go online for the real MNIST"))
        _announce(data.source, verbose)
        return data
    with np.load(npz) as f:
        data = MnistData(f["x_train"], f["y_train"], f["x_test"], f["y_test"],
                         Source("MNIST", kind, str(npz), "60,000 train / 10,000 test"))
    _announce(data.source, verbose)
    return data
