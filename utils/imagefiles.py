"""Image folders on disk: safe archive extraction, a check of every file in class folders, the class root.

:func:`safe_extract` refuses any archive member that would land outside its target
folder (``..``, absolute paths, symbolic and hard links, devices) before writing
anything. :func:`scan_class_folders` opens every file of ``folder/<class>/`` before
training and reports what it skips (corrupt, truncated, empty, not an image, a format
``tf.io.decode_image`` cannot read) and what the decoder will convert (grayscale,
RGBA, palette, CMYK, 16-bit images become 8-bit RGB); an empty class is dropped with
a message; nothing usable left is a :class:`NoUsableImages` error. Each kept file
carries the SHA-1 of its bytes, so copies can be found whatever their names.
:func:`find_image_root` finds the folder whose sub-folders are the classes in what
``keras.utils.get_file`` extracted (Keras 2 and Keras 3 layouts). Used by
:mod:`utils.flowers_data`.
"""
from __future__ import annotations

import hashlib
import inspect
import io
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

FLOWERS_ENV = "CNN_COURSE_FLOWERS_DIR"  # named in the messages; the loader lives in utils.flowers_data

# Formats tf.io.decode_image reads (Pillow's names; MPO is a camera JPEG).
DECODABLE_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar", ".tar.bz2", ".tbz2", ".zip")


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
        # class/file only: the report names the photo, and no machine's folder layout reaches an output
        return f"[flowers] {verb}: .../{self.path.parent.name}/{self.path.name} -- {self.detail}"


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

