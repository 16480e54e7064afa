"""The flower photos' data contract: tf_flowers' facts, hashed disjoint splits, folder -> cache -> download -> stand-in.

:func:`load_flowers` (the data contract of :mod:`utils.data`):

1. an explicit folder -- the ``path`` argument or ``$CNN_COURSE_FLOWERS_DIR`` --
   either one sub-folder per class (tf_flowers' layout) or ``train/`` and
   ``test/`` folders each holding class sub-folders (a data set that ships its
   own test split; the loader says when a folder is not tf_flowers); a ``.tgz``,
   ``.tar`` or ``.zip`` archive is extracted safely next to the Keras cache first;
2. the Keras cache: ``flower_photos_extracted/flower_photos`` (what Keras 3's
   ``get_file(..., extract=True)`` leaves), ``flower_photos`` (Keras 2's layout),
   or the archive itself if its SHA-256 matches;
3. a download of ``flower_photos.tgz`` (SHA-256 checked), extracted safely;
4. only in offline mode, a stand-in: coloured shapes the code draws (not flowers).

tf_flowers ships as one folder, so :func:`split_key` and :func:`assign_split` cut
it into train / validation / test by hashing each file's ``class/name``: a file's
split never depends on the order files are listed in, on which other files exist,
or on a shuffle. Identical photos (same bytes) are hashed under one name, so a
duplicate cannot leak across splits either; :func:`content_overlap` counts the photos
two splits share *by content*, the check that proves it. Every file is checked first
by :func:`utils.imagefiles.scan_class_folders`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from utils import setup
from utils.data import (
    DataUnavailable,
    Source,
    download_verified,
    keras_cache_dir,
    sha256_of,
    unavailable_message,
)
from utils.imagefiles import (
    ARCHIVE_SUFFIXES,
    FLOWERS_ENV,
    FileIssue,
    NoUsableImages,
    ScanReport,
    _class_folders,
    _say,
    find_image_root,
    safe_extract,
    scan_class_folders,
)

# tf_flowers: the TensorFlow team's flower_photos archive. Size and SHA-256 as
# TensorFlow Datasets records them (tensorflow_datasets/datasets/tf_flowers/checksums.tsv,
# for the same file at http://download.tensorflow.org/example_images/flower_photos.tgz).
# They could not be checked here (no network); get_file verifies the hash on download.
TF_FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
TF_FLOWERS_ARCHIVE = "flower_photos.tgz"
TF_FLOWERS_SHA256 = "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c"
TF_FLOWERS_BYTES = 228_813_984
TF_FLOWERS_FOLDER = "flower_photos"
TF_FLOWERS_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
TF_FLOWERS_IMAGES = 3670

STAND_IN_CLASSES = ("circle", "cross", "square", "star", "triangle")  # sorted: label order

SPLITS = ("train", "val", "test")
SPLIT_SALT = "cnn-course-flowers-v1"


# ---------------------------------------------------------------------------
# deterministic, disjoint splits
# ---------------------------------------------------------------------------

def split_key(path: Path | str, root: Path | str) -> str:
    """The name a file is hashed under: ``class/file`` relative to the class root, with ``/``."""
    return Path(path).relative_to(root).as_posix()


def split_fraction(key: str, salt: str = SPLIT_SALT) -> float:
    """A number in [0, 1) fixed by ``key`` alone (the first 8 bytes of a SHA-256)."""
    digest = hashlib.sha256(f"{salt}/{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(key: str, val_fraction: float, test_fraction: float, salt: str = SPLIT_SALT) -> str:
    """``"train"``, ``"val"`` or ``"test"`` for one file: the same answer on every machine and run."""
    u = split_fraction(key, salt)
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {name}={value}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction = {val_fraction + test_fraction} leaves no training "
                         f"data: keep their sum below 1 (e.g. 0.15 + 0.15)")


@dataclass(frozen=True)
class Split:
    """One split: file paths (as strings, for ``tf.data``) and integer labels."""

    name: str
    paths: tuple[str, ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)

    def counts(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=num_classes)

    def subset(self, per_class: int | None) -> Split:
        """The first ``per_class`` files of each class, in the split's (fixed) order."""
        if per_class is None:
            return self
        if per_class < 1:
            raise ValueError(f"per_class must be at least 1, got {per_class}")
        taken = Counter()
        keep = []
        for k, label in enumerate(self.labels):
            if taken[int(label)] < per_class:
                taken[int(label)] += 1
                keep.append(k)
        return Split(self.name, tuple(self.paths[k] for k in keep), self.labels[keep])


def _make_split(name: str, items: list[tuple[str, str, int]]) -> Split:
    """``items`` are ``(key, path, label)``; the order comes from the keys alone (class-mixed, machine-independent)."""
    items = sorted(items, key=lambda item: (split_fraction(item[0], salt="order"), item[0]))
    return Split(name, tuple(p for _, p, _ in items), np.array([lab for _, _, lab in items], dtype=np.int32))


@dataclass
class FlowerData:
    """Flower photos split three ways, with the class names and where they came from."""

    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    source: Source
    issues: list[FileIssue] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, *, train: int | None = None, val: int | None = None, test: int | None = None) -> FlowerData:
        """At most ``train`` / ``val`` / ``test`` photos per class (fast mode); the splits stay disjoint."""
        return replace(self, train=self.train.subset(train), val=self.val.subset(val), test=self.test.subset(test))

    def summary(self) -> str:
        return (f"{self.num_classes} classes | train {len(self.train):,} / val {len(self.val):,} / "
                f"test {len(self.test):,} photos")

    def table(self) -> str:
        """Photos per class and split, as aligned text."""
        width = max(len(n) for n in self.class_names)
        counts = [s.counts(self.num_classes) for s in (self.train, self.val, self.test)]
        lines = [f"{'class':<{width}}  train    val   test"]
        for k, name in enumerate(self.class_names):
            lines.append(f"{name:<{width}}  {counts[0][k]:5d}  {counts[1][k]:5d}  {counts[2][k]:5d}")
        return "\n".join(lines)


def split_folder(report: ScanReport, root: Path | str, val_fraction: float, test_fraction: float,
                 *, verbose: bool = True) -> tuple[Split, Split, Split, list[FileIssue]]:
    """Split one scanned folder three ways by hashing file names.

    Files with identical bytes are hashed under the name of the first copy, so
    copies land in the same split; identical photos filed under two classes are
    reported (``conflicting-labels``) and left out.
    """
    _check_fractions(val_fraction, test_fraction)
    root = Path(root)
    groups: dict[str, list[int]] = {}
    for k, digest in enumerate(report.digests):
        groups.setdefault(digest, []).append(k)
    issues, buckets = [], {name: [] for name in SPLITS}
    for members in groups.values():
        labels = {report.labels[k] for k in members}
        if len(labels) > 1:
            for k in members:
                issues.append(FileIssue(report.files[k], "conflicting-labels",
                                        f"the same photo is filed under {len(labels)} classes "
                                        f"({', '.join(report.class_names[lab] for lab in sorted(labels))}); left out"))
            continue
        group_key = min(split_key(report.files[k], root) for k in members)
        split = assign_split(group_key, val_fraction, test_fraction)
        for k in members:
            buckets[split].append((split_key(report.files[k], root), str(report.files[k]), report.labels[k]))
    for issue in issues:
        _say(str(issue), verbose)
    splits = tuple(_make_split(name, buckets[name]) for name in SPLITS)
    return (*splits, issues)



def file_digest(path: Path | str) -> str:
    """The SHA-1 of a file's bytes: the same for two copies of a photo, whatever their names."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def content_overlap(*splits: Split) -> dict[tuple[str, str], int]:
    """For each pair of splits, how many photos they share **by content** (a copy under another name counts).

    Comparing paths proves nothing: two splits never hold the same *path*. The bytes
    are what a model sees, so each file is hashed and the hashes are intersected.
    """
    digests = {split.name: {file_digest(p) for p in split.paths} for split in splits}
    names = [split.name for split in splits]
    return {(a, b): len(digests[a] & digests[b]) for i, a in enumerate(names) for b in names[i + 1:]}


# ---------------------------------------------------------------------------
# the data contract
# ---------------------------------------------------------------------------

def _is_train_test_layout(folder: Path) -> bool:
    return (folder / "train").is_dir() and (folder / "test").is_dir()


def describe_dataset(class_names: Sequence[str], n_images: int, layout: str) -> tuple[str, str]:
    """``(dataset name, note)`` for a local folder: says plainly when it is not tf_flowers."""
    names = tuple(class_names)
    if names == TF_FLOWERS_CLASSES:
        if n_images == TF_FLOWERS_IMAGES:
            return ("tf_flowers", f"verified structure: 5 classes, {TF_FLOWERS_IMAGES:,} photos")
        return ("tf_flowers classes", f"{n_images:,} photos, not the {TF_FLOWERS_IMAGES:,} of tf_flowers "
                                      f"-- a partial or altered copy")
    return ("local image folder", f"{len(names)} classes, {n_images:,} photos -- NOT tf_flowers")


def flowers_from_folder(folder: Path | str, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                        kind: str = "local", verbose: bool = True) -> FlowerData:
    """Flower photos from a local folder (no download); see :func:`load_flowers` for the layouts."""
    folder = Path(folder).expanduser()
    if folder.is_file():
        raise ValueError(f"{folder} is a file: give the folder of class sub-folders, or an archive "
                         f"({', '.join(ARCHIVE_SUFFIXES)}) through load_flowers")
    if not folder.is_dir():
        raise FileNotFoundError(f"flower folder not found: {folder} -- set {FLOWERS_ENV} to a folder with one "
                                f"sub-folder of photos per class, or with train/ and test/ folders")
    _check_fractions(val_fraction, test_fraction)
    if _is_train_test_layout(folder):
        train_report = scan_class_folders(folder / "train", verbose=verbose)
        try:
            test_report = scan_class_folders(folder / "test", class_names=train_report.class_names, verbose=verbose)
        except NoUsableImages as error:
            raise NoUsableImages(f"the test/ folder has no usable photo: {error}") from error
        test_digests = set(test_report.digests)
        keep = [k for k, d in enumerate(train_report.digests) if d not in test_digests]
        leaks = [FileIssue(train_report.files[k], "duplicate", "the same photo is in test/; left out of training")
                 for k in range(len(train_report.files)) if train_report.digests[k] in test_digests]
        for issue in leaks:
            _say(str(issue), verbose)
        train_report.files = [train_report.files[k] for k in keep]
        train_report.labels = [train_report.labels[k] for k in keep]
        train_report.digests = [train_report.digests[k] for k in keep]
        train, val, _, split_issues = split_folder(train_report, folder / "train", val_fraction, 0.0,
                                                   verbose=verbose)
        test = _make_split("test", [(split_key(p, folder / "test"), str(p), lab)
                                    for p, lab in zip(test_report.files, test_report.labels)])
        issues = train_report.issues + test_report.issues + leaks + split_issues
        class_names = train_report.class_names
        layout = "its own train/ and test/ folders, validation hashed out of train/"
    else:
        report = scan_class_folders(folder, verbose=verbose)
        n_scanned = len(report.files)  # before photos filed under two classes are left out
        train, val, test, split_issues = split_folder(report, folder, val_fraction, test_fraction, verbose=verbose)
        issues = report.issues + split_issues
        class_names = report.class_names
        layout = f"hashed split {1 - val_fraction - test_fraction:.0%}/{val_fraction:.0%}/{test_fraction:.0%}"
    n_images = len(train) + len(val) + len(test)
    if not _is_train_test_layout(folder):
        n_images = n_scanned
    name, note = describe_dataset(class_names, n_images, layout)
    folders = sum(1 for i in issues if i.kind in ("empty-class", "unknown-class"))
    files = sum(1 for i in issues if i.kind != "converted") - folders
    if files or folders:
        note += f"; {files} file(s) skipped, {folders} class folder(s) dropped"
    return FlowerData(class_names, train, val, test, Source(name, kind, str(folder), note), issues)


def _cached_tf_flowers() -> Path | None:
    """An extracted tf_flowers in the Keras cache (Keras 3 or Keras 2 layout), or None."""
    datasets = keras_cache_dir("datasets")
    stem = TF_FLOWERS_ARCHIVE.split(".")[0]
    for candidate in (datasets / f"{stem}_extracted", datasets / TF_FLOWERS_FOLDER):
        if candidate.is_dir():
            root = find_image_root(candidate)
            if tuple(p.name for p in _class_folders(root)) == TF_FLOWERS_CLASSES:
                return root
            print(f"[flowers] {candidate} does not hold tf_flowers' 5 class folders; ignoring it")
    return None


def tf_flowers_structure_problem(root: Path) -> str | None:
    """Check an extracted tf_flowers: 5 class folders and 3,670 JPEGs (a folder has no hash). ``None`` if fine."""
    classes = tuple(p.name for p in _class_folders(root))
    n_jpegs = sum(1 for p in root.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg"))
    if classes != TF_FLOWERS_CLASSES or n_jpegs != TF_FLOWERS_IMAGES:
        return (f"{root} is not a complete tf_flowers: found classes {list(classes)} and {n_jpegs:,} JPEGs, "
                f"expected {list(TF_FLOWERS_CLASSES)} and {TF_FLOWERS_IMAGES:,}")
    return None


def download_tf_flowers() -> tuple[Path, str]:
    """Cache -> download for tf_flowers; returns ``(class root, kind)``; raises :class:`DataUnavailable`.

    An extracted copy in the cache is used when its structure checks out; an
    incomplete one is reported and replaced (from the hash-verified archive, or
    a new download).
    """
    root = _cached_tf_flowers()
    if root is not None:
        problem = tf_flowers_structure_problem(root)
        if problem is None:
            return root, "cache"
        print(f"[flowers] {problem}; not using it")
    datasets = keras_cache_dir("datasets")
    archive = datasets / TF_FLOWERS_ARCHIVE
    extracted = datasets / f"{TF_FLOWERS_ARCHIVE.split('.')[0]}_extracted"
    if archive.is_file() and sha256_of(archive) == TF_FLOWERS_SHA256:
        kind = "cache"
    else:
        if setup.offline_mode():
            raise DataUnavailable(unavailable_message(
                "tf_flowers", FLOWERS_ENV, f"no copy in the Keras cache ({datasets}) and offline mode forbids "
                                           f"downloading"))
        try:
            archive = download_verified(TF_FLOWERS_ARCHIVE, TF_FLOWERS_URL, TF_FLOWERS_SHA256, algorithm="sha256",
                                        cache_subdir="datasets")
        except Exception as error:  # get_file raises plain Exception for network and hash failures
            raise DataUnavailable(unavailable_message(
                "tf_flowers", FLOWERS_ENV, f"downloading {TF_FLOWERS_URL} failed ({type(error).__name__}: {error})"
            )) from error
        kind = "download"
    if extracted.exists():
        shutil.rmtree(extracted)
    safe_extract(archive, extracted)
    root = find_image_root(extracted)
    problem = tf_flowers_structure_problem(root)
    if problem is not None:
        raise DataUnavailable(f"{problem}, although {archive} matched its SHA-256: report this, and meanwhile "
                              f"point {FLOWERS_ENV} at a folder of flower photos")
    return root, kind


def _stand_in_folder(seed: int) -> Path:
    return Path(tempfile.gettempdir()) / f"cnn_course_flowers_stand_in_v1_seed{seed}"


def make_stand_in_images(folder: Path | str, *, per_class: int = 30, size: int = 96, seed: int = 0) -> Path:
    """Write a stand-in dataset: coloured shapes on noisy backgrounds, one folder per shape.

    It exercises the same file pipeline as real photos, but it is *not* flowers:
    the class is the shape (circle, cross, square, star, triangle), whatever its
    colour, size, position or the background.
    """
    from PIL import Image, ImageDraw, ImageFilter

    if per_class < 1 or size < 16:
        raise ValueError(f"per_class must be >= 1 and size >= 16, got per_class={per_class}, size={size}")
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    for name in STAND_IN_CLASSES:
        (folder / name).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            background = rng.integers(0, 256, 3)
            noise = rng.normal(0, 25, (size, size, 3))
            canvas = Image.fromarray(np.clip(background * 0.5 + 60 + noise, 0, 255).astype(np.uint8))
            draw = ImageDraw.Draw(canvas)
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            r = size * rng.uniform(0.18, 0.32)
            cx, cy = rng.uniform(r + 2, size - r - 2, 2)
            if name == "circle":
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
            elif name == "square":
                draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
            elif name == "triangle":
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
            elif name == "star":
                angles = np.pi / 2 + np.arange(10) * np.pi / 5
                radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
                draw.polygon([(cx + q * np.cos(a), cy - q * np.sin(a)) for q, a in zip(radii, angles)], fill=colour)
            else:
                w = r * 0.35
                draw.rectangle([cx - r, cy - w, cx + r, cy + w], fill=colour)
                draw.rectangle([cx - w, cy - r, cx + w, cy + r], fill=colour)
            canvas.filter(ImageFilter.GaussianBlur(0.6)).save(folder / name / f"{name}_{k:03d}.jpg", quality=90)
    return folder


def stand_in_flowers(*, per_class: int = 30, seed: int = 0, val_fraction: float = 0.15,
                     test_fraction: float = 0.15) -> FlowerData:
    """The offline stand-in (coloured shapes, see :func:`make_stand_in_images`), split like tf_flowers."""
    folder = _stand_in_folder(seed)
    marker = folder / f".complete_{per_class}"
    if not marker.is_file():
        if folder.exists():
            shutil.rmtree(folder)
        make_stand_in_images(folder, per_class=per_class, seed=seed)
        marker.write_text("made by utils.flowers_data.make_stand_in_images\n")
    data = flowers_from_folder(folder, val_fraction=val_fraction, test_fraction=test_fraction, verbose=False)
    note = (f"{len(STAND_IN_CLASSES)} classes of coloured shapes ({', '.join(STAND_IN_CLASSES)}), "
            f"{per_class} images each -- not flowers; set {FLOWERS_ENV} or go online for tf_flowers")
    return replace(data, source=Source("tf_flowers", "stand-in", "coloured shapes drawn by utils.flowers_data", note))


def load_flowers(path: Path | str | None = None, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                 verbose: bool = True) -> FlowerData:
    """Flower photos by the data contract: local folder -> Keras cache -> download -> stand-in (offline).

    ``path`` (or ``$CNN_COURSE_FLOWERS_DIR``) is a folder with one sub-folder per
    class (tf_flowers' layout: split three ways by hashing file names), or with
    ``train/`` and ``test/`` folders of class sub-folders (``test/`` is the test
    split; validation is hashed out of ``train/``), or an archive of either. The
    :class:`Source` is printed: it names the data, and says NOT tf_flowers when
    it is not.
    """
    _check_fractions(val_fraction, test_fraction)
    given = path if path is not None else os.environ.get(FLOWERS_ENV) or None
    if given is not None:
        given = Path(given).expanduser()
        if given.is_file() and given.name.endswith(ARCHIVE_SUFFIXES):
            stem = next(given.name[: -len(s)] for s in ARCHIVE_SUFFIXES if given.name.endswith(s))
            extracted = keras_cache_dir("datasets") / f"{stem}_extracted"
            if not extracted.is_dir():
                _say(f"[flowers] extracting {given} to {extracted}", verbose)
                safe_extract(given, extracted)
            given = find_image_root(extracted)
        elif given.is_dir() and not _is_train_test_layout(given):
            given = find_image_root(given)
        data = flowers_from_folder(given, val_fraction=val_fraction, test_fraction=test_fraction, verbose=verbose)
    else:
        try:
            root, kind = download_tf_flowers()
        except DataUnavailable:
            if not setup.offline_mode():
                raise
            data = stand_in_flowers(val_fraction=val_fraction, test_fraction=test_fraction)
        else:
            data = flowers_from_folder(root, val_fraction=val_fraction, test_fraction=test_fraction, kind=kind,
                                       verbose=verbose)
    _say(str(data.source), verbose)
    return data

