"""Flower photos for transfer learning: loading, checking, splitting, pipelines, models.

**Data** (the data contract of :mod:`utils.data`), :func:`load_flowers`:

1. an explicit folder -- the ``path`` argument or ``$CNN_COURSE_FLOWERS_DIR`` --
   either one sub-folder per class (tf_flowers' layout) or ``train/`` and
   ``test/`` folders each holding class sub-folders (the Oxford flowers subset
   CI uses, which is *not* tf_flowers, and the loader says so); a ``.tgz``,
   ``.tar`` or ``.zip`` archive is extracted safely next to the Keras cache first;
2. the Keras cache: ``flower_photos_extracted/flower_photos`` (what Keras 3's
   ``get_file(..., extract=True)`` leaves), ``flower_photos`` (Keras 2's layout),
   or the archive itself if its SHA-256 matches;
3. a download of ``flower_photos.tgz`` (SHA-256 checked), extracted safely;
4. only in offline mode, a stand-in: coloured shapes the code draws (not flowers).

tf_flowers ships as one folder, so :func:`split_key` and :func:`assign_split` cut
it into train / validation / test by hashing each file's ``class/name``: a file's
split never depends on the order files are listed in, on which other files exist,
or on a shuffle, so no photo can land in two splits. Identical photos (same bytes)
are hashed under one name, so a duplicate cannot leak across splits either.

**Robust loading**: :func:`scan_class_folders` opens every file before training
and reports what it skips (corrupt, truncated, empty, not an image, a format
``tf.io.decode_image`` cannot read) and what the decoder will convert (grayscale,
RGBA, palette, CMYK, 16-bit images become 8-bit RGB); an empty class is dropped
with a message; nothing usable left is a :class:`NoUsableImages` error.
:func:`safe_extract` refuses any archive member that would land outside its
target folder (``..``, absolute paths, symbolic and hard links, devices).

**Pipelines and models**: :func:`make_pipeline` (decode, resize, cache, shuffle,
the model's ``preprocess_input``, batch, prefetch -- or the naive version for the
benchmark), :func:`make_augmentation` (applied inside the model, active only in
training), :func:`build_classifier` (frozen Inception v3 + pooling + dropout +
softmax), :func:`unfreeze_top` (fine-tune the blocks after ``mixed8`` with a fresh,
slower optimizer), :func:`compute_features` / :func:`build_head` (train the head
on cached bottleneck features), and :func:`run_hub_head` (the TF Hub route in a
subprocess, since it needs ``tf_keras``).
"""
from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np

from utils import setup
from utils.data import (
    DataUnavailable,
    Source,
    keras_cache_dir,
    sha256_of,
    unavailable_message,
)

FLOWERS_ENV = "CNN_COURSE_FLOWERS_DIR"

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

# The 12 species of the Oxford 17 flowers subset that CI points CNN_COURSE_FLOWERS_DIR at.
OXFORD_MINI_CLASSES = ("bluebell", "buttercup", "colts-foot", "daisy", "dandelion", "fritillary", "iris",
                       "lily-valley", "pansy", "sunflower", "tigerlily", "windflower")

STAND_IN_CLASSES = ("circle", "cross", "square", "star", "triangle")  # sorted: label order

# Formats tf.io.decode_image reads (Pillow's names; MPO is a camera JPEG).
DECODABLE_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar", ".tar.bz2", ".tbz2", ".zip")
SPLITS = ("train", "val", "test")
SPLIT_SALT = "cnn-course-flowers-v1"

# Inception v3: the input size it was trained at, the smallest it accepts, and where
# fine-tuning starts (the last two inception blocks come after the 'mixed8' concatenation,
# as in the Keras applications guide's "freeze the first 249 layers").
INCEPTION_SIZE = 299
INCEPTION_MIN_SIZE = 75
FINE_TUNE_AFTER = "mixed8"

HUB_ENV = "CNN_COURSE_TFHUB_INCEPTION_V3"
HUB_INCEPTION_V3 = "https://tfhub.dev/google/imagenet/inception_v3/feature_vector/5"


class NoUsableImages(ValueError):
    """A folder held no image that could be used (all missing, corrupt or unsupported)."""


class UnsafeArchive(ValueError):
    """An archive member would be written outside the extraction folder."""


def _say(text: str, verbose: bool) -> None:
    if verbose:
        print(text)


# ---------------------------------------------------------------------------
# safe archive extraction
# ---------------------------------------------------------------------------

def _inside(base: Path, name: str) -> bool:
    """True if archive member ``name`` stays inside ``base`` once joined and resolved."""
    if not name or PurePosixPath(name).is_absolute() or name.startswith("\\") or (len(name) > 1 and name[1] == ":"):
        return False
    target = (base / name).resolve()
    return target == base or base in target.parents


def _check_tar_members(tar: tarfile.TarFile, base: Path, archive: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for member in members:
        if member.issym() or member.islnk():
            problem = f"is a {'symbolic' if member.issym() else 'hard'} link (to {member.linkname!r})"
        elif not (member.isfile() or member.isdir()):
            problem = "is not a regular file or folder (device, FIFO ...)"
        elif not _inside(base, member.name):
            problem = "would be written outside the target folder"
        else:
            continue
        raise UnsafeArchive(
            f"refusing to extract {archive}: member {member.name!r} {problem}. Nothing was extracted. "
            f"The archive is damaged or was tampered with -- delete it and get a fresh copy")
    return members


def _check_zip_members(archive_zip: zipfile.ZipFile, base: Path, archive: Path) -> None:
    for info in archive_zip.infolist():
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            problem = "is a symbolic link"
        elif not _inside(base, info.filename):
            problem = "would be written outside the target folder"
        else:
            continue
        raise UnsafeArchive(
            f"refusing to extract {archive}: member {info.filename!r} {problem}. Nothing was extracted. "
            f"The archive is damaged or was tampered with -- delete it and get a fresh copy")


def safe_extract(archive: Path | str, target: Path | str) -> Path:
    """Extract a tar (plain, gz, bz2) or zip archive into ``target``, refusing unsafe members.

    Every member is checked *before* anything is written: a path that leaves
    ``target`` (``../x``, ``/etc/x``, or through a link already in the folder), a
    symbolic or hard link, or a device file makes the whole archive fail with
    :class:`UnsafeArchive`. Extraction goes to a temporary sibling folder that is
    renamed to ``target`` at the end, so a half-extracted folder never looks
    complete. Returns ``target``.
    """
    archive = Path(archive)
    target = Path(target)
    if not archive.is_file():
        raise FileNotFoundError(f"archive not found: {archive}")
    if target.exists():
        raise FileExistsError(f"extraction folder {target} already exists; delete it to extract again")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    base = staging.resolve()
    try:
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                members = _check_tar_members(tar, base, archive)
                if "filter" in inspect.signature(tar.extractall).parameters:
                    tar.extractall(staging, members=members, filter="data")
                else:  # Python < 3.11.4: the members were checked above
                    tar.extractall(staging, members=members)
        elif zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as archive_zip:
                _check_zip_members(archive_zip, base, archive)
                archive_zip.extractall(staging)
        else:
            raise ValueError(f"{archive} is neither a tar nor a zip archive (it may be truncated): "
                             f"delete it and get a fresh copy")
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


# ---------------------------------------------------------------------------
# scanning class folders
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FileIssue:
    """One file the scan skipped (``kind`` in :attr:`ScanReport.BAD`) or will convert (``"converted"``)."""

    path: Path
    kind: str
    detail: str

    def __str__(self) -> str:
        verb = "converted" if self.kind == "converted" else f"skipped ({self.kind})"
        return f"[flowers] {verb}: {self.path} -- {self.detail}"


@dataclass
class ScanReport:
    """What :func:`scan_class_folders` found: usable images per class and every issue."""

    BAD = ("empty-file", "not-an-image", "corrupt", "truncated", "unsupported-format", "empty-class",
           "duplicate", "conflicting-labels", "unknown-class")

    folder: Path
    class_names: tuple[str, ...]
    files: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    issues: list[FileIssue] = field(default_factory=list)

    @property
    def skipped(self) -> list[FileIssue]:
        return [issue for issue in self.issues if issue.kind != "converted"]

    @property
    def converted(self) -> list[FileIssue]:
        return [issue for issue in self.issues if issue.kind == "converted"]

    def counts(self) -> dict[str, int]:
        counter = Counter(self.labels)
        return {name: counter.get(k, 0) for k, name in enumerate(self.class_names)}


_MODE_NAMES = {"L": "grayscale (L)", "LA": "grayscale with alpha (LA)", "RGBA": "RGBA (alpha dropped)",
               "P": "palette (P)", "PA": "palette with alpha (PA)", "CMYK": "CMYK", "I;16": "16-bit grayscale",
               "I;16B": "16-bit grayscale", "I": "32-bit integer", "1": "1-bit black and white",
               "YCbCr": "YCbCr", "RGBX": "RGBX"}


def check_image(path: Path | str) -> tuple[str, str, str]:
    """Open one file the way the scan does; returns ``(status, detail, sha1 of its bytes)``.

    ``status`` is ``"ok"``, ``"converted"`` (readable, but not 8-bit RGB: the
    decoder turns it into RGB) or one of the :attr:`ScanReport.BAD` kinds. The
    whole image is decoded (JPEGs at 1/8 scale, which still reads every byte), so
    a truncated file is caught here and not in the middle of training.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    raw = path.read_bytes()
    digest = hashlib.sha1(raw).hexdigest()
    if not raw:
        return "empty-file", "the file is empty (0 bytes)", digest
    looks_like_image = path.suffix.lower() in IMAGE_SUFFIXES
    try:
        image = Image.open(io.BytesIO(raw))
    except UnidentifiedImageError:
        if looks_like_image:
            return "corrupt", "not a readable image although named like one: replace or delete it", digest
        what = path.suffix or "no extension"
        return "not-an-image", f"not an image file ({what}): move it out of the class folder", digest
    except (OSError, SyntaxError, ValueError) as error:  # a known format whose header is broken
        kind = "truncated" if "truncated" in str(error).lower() else "corrupt"
        return kind, f"the image header cannot be read ({error}): replace the file", digest
    with image:
        fmt = image.format or "unknown"
        if fmt not in DECODABLE_FORMATS:
            detail = f"{fmt} images cannot be read by tf.io.decode_image: convert it to JPEG or PNG"
            return "unsupported-format", detail, digest
        mode = image.mode
        try:
            if fmt in ("JPEG", "MPO"):
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
        except OSError as error:
            kind = "truncated" if "truncated" in str(error).lower() else "corrupt"
            return kind, f"{fmt} data cannot be decoded ({error}): replace the file", digest
        except (SyntaxError, ValueError) as error:
            return "corrupt", f"{fmt} data cannot be decoded ({error}): replace the file", digest
    if mode != "RGB":
        return "converted", f"{_MODE_NAMES.get(mode, mode)} {fmt} -> RGB (3 channels) when decoded", digest
    return "ok", "", digest


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def scan_class_folders(folder: Path | str, *, class_names: Sequence[str] | None = None,
                       verbose: bool = True) -> ScanReport:
    """Check every file in ``folder/<class>/`` and keep the usable images.

    Each bad file is reported (one line each) and skipped; grayscale, RGBA,
    palette and CMYK images are kept and reported as converted to RGB. A class
    folder with no usable image is reported and dropped. ``class_names`` fixes
    the label order (e.g. the training folder's classes, for a test folder);
    files of other classes are reported as ``unknown-class``. Raises
    :class:`NoUsableImages` when nothing usable is left.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"flower folder not found: {folder} -- point {FLOWERS_ENV} at a folder with "
                                f"one sub-folder of photos per class")
    subfolders = _class_folders(folder)
    if not subfolders:
        raise NoUsableImages(f"{folder} has no class sub-folders: put the photos of each class in its own "
                             f"folder ({folder}/daisy/*.jpg, {folder}/roses/*.jpg ...)")
    found: dict[str, list[tuple[Path, str]]] = {}
    issues: list[FileIssue] = []
    for sub in subfolders:
        if class_names is not None and sub.name not in class_names:
            issues.append(FileIssue(sub, "unknown-class", f"class '{sub.name}' is not one of the training "
                                                          f"classes {list(class_names)}; its photos are not used"))
            continue
        good = []
        for path in sorted(p for p in sub.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue  # .DS_Store, editor files: not photos, and not worth a line each
            status, detail, digest = check_image(path)
            if status not in ("ok", "converted"):
                issues.append(FileIssue(path, status, detail))
                continue
            if status == "converted":
                issues.append(FileIssue(path, "converted", detail))
            good.append((path, digest))
        if good:
            found[sub.name] = good
        else:
            issues.append(FileIssue(sub, "empty-class", f"class folder '{sub.name}' has no usable image; "
                                                        f"the class is dropped"))
    # A given class list keeps its label order (a test folder labels like its training folder).
    names = tuple(class_names) if class_names is not None else tuple(sorted(found))
    report = ScanReport(folder, names, issues=issues)
    for label, name in enumerate(names):
        for path, digest in found.get(name, []):
            report.files.append(path)
            report.labels.append(label)
            report.digests.append(digest)
    for issue in issues:
        _say(str(issue), verbose)
    if not report.files:
        bad = Counter(issue.kind for issue in report.skipped)
        raise NoUsableImages(
            f"no usable image in {folder}: {sum(bad.values())} problem(s) "
            f"({', '.join(f'{n} {k}' for k, n in sorted(bad.items())) or 'no files'}). "
            f"Each class folder needs at least one readable JPEG, PNG, GIF, BMP or WebP photo")
    return report


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


# ---------------------------------------------------------------------------
# the data contract
# ---------------------------------------------------------------------------

def find_image_root(path: Path | str) -> Path:
    """The folder whose sub-folders are the classes, from what ``get_file`` returned.

    Keras 3's ``get_file(..., extract=True)`` returns the extraction folder
    ``<name>_extracted`` and the archive's own top folder sits inside it
    (``flower_photos_extracted/flower_photos/daisy``); Keras 2 returned the
    archive's path and extracted beside it (``datasets/flower_photos/daisy``). A
    folder that holds exactly one sub-folder and no class images is descended into.
    """
    path = Path(path)
    if path.is_file():  # Keras 2: the archive's path; its folder was extracted next to it
        for suffix in ARCHIVE_SUFFIXES:
            if path.name.endswith(suffix):
                path = path.with_name(path.name[: -len(suffix)])
                break
    if not path.is_dir():
        raise FileNotFoundError(f"no extracted folder at {path}")
    while True:
        subs = _class_folders(path)
        direct_images = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        if len(subs) == 1 and not direct_images and _class_folders(subs[0]):
            path = subs[0]
            continue
        return path


def _is_train_test_layout(folder: Path) -> bool:
    return (folder / "train").is_dir() and (folder / "test").is_dir()


def describe_dataset(class_names: Sequence[str], n_images: int, layout: str) -> tuple[str, str]:
    """``(dataset name, note)`` for a local folder: says plainly when it is not tf_flowers."""
    names = tuple(class_names)
    if names == OXFORD_MINI_CLASSES:
        return ("Oxford 17 flowers subset", f"12 species, {n_images:,} photos, {layout} -- NOT tf_flowers")
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
        train, val, test, split_issues = split_folder(report, folder, val_fraction, test_fraction, verbose=verbose)
        issues = report.issues + split_issues
        class_names = report.class_names
        layout = f"hashed split {1 - val_fraction - test_fraction:.0%}/{val_fraction:.0%}/{test_fraction:.0%}"
    n_images = len(train) + len(val) + len(test)
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
        import keras

        # get_file silently switches to /tmp/.keras when the cache folder does not exist yet: create it.
        datasets.mkdir(parents=True, exist_ok=True)
        try:
            archive = Path(keras.utils.get_file(TF_FLOWERS_ARCHIVE, origin=TF_FLOWERS_URL, file_hash=TF_FLOWERS_SHA256,
                                                hash_algorithm="sha256", extract=False,
                                                cache_dir=str(keras_cache_dir("")), cache_subdir="datasets"))
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
        marker.write_text("made by utils.flowers.make_stand_in_images\n")
    data = flowers_from_folder(folder, val_fraction=val_fraction, test_fraction=test_fraction, verbose=False)
    note = (f"{len(STAND_IN_CLASSES)} classes of coloured shapes ({', '.join(STAND_IN_CLASSES)}), "
            f"{per_class} images each -- not flowers; set {FLOWERS_ENV} or go online for tf_flowers")
    return replace(data, source=Source("tf_flowers", "stand-in", "coloured shapes drawn by utils.flowers", note))


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


# ---------------------------------------------------------------------------
# tf.data pipelines
# ---------------------------------------------------------------------------

def inception_preprocess(images):
    """Inception v3's ``preprocess_input``: pixels 0-255 -> -1..1."""
    from keras.applications.inception_v3 import preprocess_input

    return preprocess_input(images)


def hub_preprocess(images):
    """TF Hub image models' convention: pixels 0-255 -> 0..1."""
    return images / 255.0


PREPROCESS = {"inception": inception_preprocess, "hub": hub_preprocess, None: None}


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
    ``preprocess`` is ``"inception"`` (-1..1), ``"hub"`` (0..1), ``None``
    (0..255 floats) or a function.
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


def find_base(model):
    """The nested convolutional base of a :func:`build_classifier` model."""
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name != "augmentation"]
    if len(nested) != 1:
        raise ValueError(f"expected one nested base model in {model.name}, found {[m.name for m in nested]}")
    return nested[0]


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
        mixed = [n for n in names if n.startswith("mixed") and "_" not in n]
        raise ValueError(f"no layer named {after!r} in {base.name}; the inception blocks end at {mixed}")
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
# the TF Hub route (tf_keras, in a subprocess)
# ---------------------------------------------------------------------------

# Runs in a fresh interpreter: TF_USE_LEGACY_KERAS must be set before TensorFlow is
# imported, and this process has already imported Keras 3. Reads a JSON job on
# stdin and prints one JSON line of results.
HUB_SCRIPT = r"""
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
job = json.load(sys.stdin)
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

tf_keras.utils.set_random_seed(job["seed"])
size = job["image_size"]

def load(path, label):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return tf.image.resize(image, (size, size), antialias=True) / 255.0, label

def pipeline(paths, labels, training):
    ds = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int32)))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if training:
        ds = ds.shuffle(len(paths), seed=job["seed"])
    return ds.batch(job["batch_size"]).prefetch(tf.data.AUTOTUNE)

features = hub.KerasLayer(job["handle"], trainable=False, name="hub_features")
model = tf_keras.Sequential([
    tf_keras.Input((size, size, 3)),
    features,
    tf_keras.layers.Dropout(job["dropout"]),
    tf_keras.layers.Dense(job["num_classes"], activation="softmax"),
])
model.compile(tf_keras.optimizers.Adam(job["learning_rate"]), "sparse_categorical_crossentropy", ["accuracy"])
train = pipeline(job["train_paths"], job["train_labels"], True)
val = pipeline(job["val_paths"], job["val_labels"], False)
history = model.fit(train, validation_data=val, epochs=job["epochs"], verbose=0)
print(json.dumps({
    "keras_version": tf_keras.__version__,
    "hub_layer_is_tf_keras": isinstance(features, tf_keras.layers.Layer),
    "feature_dim": int(model.layers[0].output_shape[-1]),
    "trainable_params": int(sum(tf.size(w).numpy() for w in model.trainable_weights)),
    "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
}))
"""


def hub_handle(verbose: bool = True) -> tuple[str | None, str]:
    """``(handle, why)`` for the TF Hub Inception v3 feature vector, by the data contract.

    ``$CNN_COURSE_TFHUB_INCEPTION_V3`` (a local SavedModel folder) first; then the
    hub address, unless offline mode is on (``handle`` is then ``None`` and ``why``
    says why the route is skipped).
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
        why = (f"offline mode and no local copy ({HUB_ENV} unset): the TF Hub route needs to download "
               f"the Inception v3 feature-vector model, so it is skipped")
        _say(f"[weights] {why}", verbose)
        return None, why
    _say(f"[weights] TF Hub Inception v3 feature vector: {HUB_INCEPTION_V3} (downloaded and cached by tensorflow_hub)",
         verbose)
    return HUB_INCEPTION_V3, "download"


def run_hub_head(handle: str, train: Split, val: Split, *, num_classes: int, image_size: int = INCEPTION_SIZE,
                 epochs: int = 1, batch_size: int = 32, dropout: float = 0.2, learning_rate: float = 1e-3,
                 seed: int = 0, timeout: float = 1800) -> dict:
    """Train a softmax head on a TF Hub feature-vector model through ``hub.KerasLayer``.

    Runs :data:`HUB_SCRIPT` in a subprocess with ``TF_USE_LEGACY_KERAS=1`` (Keras 2,
    ``tf_keras``), which ``hub.KerasLayer`` needs; returns its JSON result
    (history, feature size, the Keras version it ran).
    """
    if not len(train) or not len(val):
        raise ValueError("run_hub_head needs non-empty train and validation splits")
    job = {"handle": str(handle), "image_size": image_size, "num_classes": num_classes, "epochs": epochs,
           "batch_size": batch_size, "dropout": dropout, "learning_rate": learning_rate, "seed": seed,
           "train_paths": list(train.paths), "train_labels": train.labels.tolist(),
           "val_paths": list(val.paths), "val_labels": val.labels.tolist()}
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", HUB_SCRIPT], input=json.dumps(job), capture_output=True,
                            text=True, env=env, timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"the TF Hub subprocess failed (exit {result.returncode}):\n{tail}")
    return json.loads(lines[-1])
