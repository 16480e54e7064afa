"""utils.imagefiles: safe archive extraction and the check of every file in class folders."""
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _flower_files import (
    file_member,
    isolated,  # noqa: F401 (autouse: no test sees the real flower folder)
    jpeg_bytes,
    link_member,
    make_class_tree,
    make_tgz,
    tar_with,
    write_jpeg,
)
from PIL import Image

from utils import flowers, flowers_data, imagefiles

ROOT = Path(__file__).resolve().parents[1]




# --- safe extraction ----------------------------------------------------------------

def test_safe_extract_extracts_a_normal_archive(tmp_path):
    tree = make_class_tree(tmp_path / "src", ["a", "b"], 2)
    archive = make_tgz(tmp_path / "ok.tgz", tree, "photos")
    target = imagefiles.safe_extract(archive, tmp_path / "out" / "ok_extracted")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.jpg")) == [
        "photos/a/a_000.jpg", "photos/a/a_001.jpg", "photos/b/b_000.jpg", "photos/b/b_001.jpg"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ok_extracted"], "no staging folder is left behind"


@pytest.mark.parametrize("members, why", [
    ([file_member("photos/ok.txt"), file_member("../escaped.txt")], "outside the target"),
    ([file_member("photos/../../escaped.txt")], "outside the target"),
    ([link_member("photos/link", "../../")], "symbolic link"),
    ([link_member("photos/link", "../.."), file_member("photos/link/escaped.txt")], "symbolic link"),
    ([link_member("photos/hard", "/etc/passwd", tarfile.LNKTYPE)], "hard link"),
    ([(tarfile.TarInfo("photos/dev"), None)], None),
], ids=["dot-dot", "dot-dot-inside", "symlink", "symlink-then-write-through-it", "hardlink", "device"])
def test_safe_extract_refuses_malicious_tarballs(tmp_path, members, why):
    members = list(members)
    if why is None:  # a character device
        members[0][0].type, why = tarfile.CHRTYPE, "not a regular file"
    archive = tar_with(tmp_path / "evil.tgz", *members)
    target = tmp_path / "deep" / "er" / "evil_extracted"
    with pytest.raises(imagefiles.UnsafeArchive, match=why):
        imagefiles.safe_extract(archive, target)
    assert not target.exists(), "nothing is extracted when one member is unsafe"
    assert not list(tmp_path.rglob("escaped.txt"))
    assert list((tmp_path / "deep" / "er").iterdir()) == []


def test_safe_extract_refuses_an_absolute_path(tmp_path):
    outside = tmp_path / "outside" / "absolute.txt"
    archive = tar_with(tmp_path / "abs.tgz", file_member(str(outside)))
    with pytest.raises(imagefiles.UnsafeArchive, match="outside the target"):
        imagefiles.safe_extract(archive, tmp_path / "target")
    assert not outside.exists()


def test_safe_extract_refuses_a_path_through_an_existing_link(tmp_path):
    """A member may look inside but resolve outside through a link already on disk."""
    assert not imagefiles._inside((tmp_path / "base").resolve(), "/etc/passwd")
    base = tmp_path / "base"
    base.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (base / "sneaky").symlink_to(tmp_path / "elsewhere")
    assert not imagefiles._inside(base.resolve(), "sneaky/escaped.txt")
    assert imagefiles._inside(base.resolve(), "fine/x.jpg")


def test_safe_extract_refuses_zip_traversal_and_zip_symlinks(tmp_path):
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("photos/ok.txt", "fine")
        z.writestr("../escaped.txt", "evil")
    with pytest.raises(imagefiles.UnsafeArchive, match="outside the target"):
        imagefiles.safe_extract(bad, tmp_path / "t1")
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as z:
        info = zipfile.ZipInfo("photos/link")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "../../etc")
    with pytest.raises(imagefiles.UnsafeArchive, match="symbolic link"):
        imagefiles.safe_extract(link, tmp_path / "t2")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "t1").exists()


def test_safe_extract_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="archive not found"):
        imagefiles.safe_extract(tmp_path / "missing.tgz", tmp_path / "t")
    (tmp_path / "junk.tgz").write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="neither a tar nor a zip"):
        imagefiles.safe_extract(tmp_path / "junk.tgz", tmp_path / "t")
    (tmp_path / "exists").mkdir()
    make_tgz(tmp_path / "ok.tgz", make_class_tree(tmp_path / "src", ["a"], 1), "p")
    with pytest.raises(FileExistsError, match="already exists"):
        imagefiles.safe_extract(tmp_path / "ok.tgz", tmp_path / "exists")


# --- robust scanning ---------------------------------------------------------------------

@pytest.fixture
def messy(tmp_path):
    """Class folders with every kind of bad and odd file, made here."""
    root = tmp_path / "messy"
    good = write_jpeg(root / "roses" / "good.jpg", 1)
    (root / "roses" / "corrupt.jpg").write_bytes(b"this is not really a JPEG" * 3)
    full = jpeg_bytes(2, size=(64, 64))
    (root / "roses" / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (root / "roses" / "notes.txt").write_text("shot on a sunny day")
    (root / "roses" / "empty.jpg").write_bytes(b"")
    (root / "roses" / ".DS_Store").write_bytes(b"\x00\x01")
    Image.fromarray(np.full((30, 30, 3), 90, np.uint8)).save(root / "roses" / "scan.tiff")
    (root / "tulips").mkdir()
    Image.fromarray(np.arange(900, dtype=np.uint8).reshape(30, 30)).save(root / "tulips" / "gray.png")
    rgba = np.dstack([np.full((30, 30, 3), 200, np.uint8), np.full((30, 30), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "tulips" / "alpha.png")
    (root / "empty_class").mkdir()
    (root / "only_bad").mkdir()
    (root / "only_bad" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    return root, good


def test_scan_reports_each_bad_file_and_keeps_the_good_ones(messy, capsys):
    root, good = messy
    report = imagefiles.scan_class_folders(root)
    out = capsys.readouterr().out
    kinds = {issue.path.name: issue.kind for issue in report.issues}
    assert kinds == {"corrupt.jpg": "corrupt", "truncated.jpg": "truncated", "notes.txt": "not-an-image",
                     "empty.jpg": "empty-file", "scan.tiff": "unsupported-format", "gray.png": "converted",
                     "alpha.png": "converted", "empty_class": "empty-class", "broken.png": "corrupt",
                     "only_bad": "empty-class"}
    assert report.class_names == ("roses", "tulips"), "empty classes are dropped"
    assert sorted(p.name for p in report.files) == ["alpha.png", "good.jpg", "gray.png"]
    for name in ("corrupt.jpg", "truncated.jpg", "notes.txt", "empty.jpg", "scan.tiff", "empty_class"):
        assert name in out, f"{name} is not reported"
    assert "grayscale (L) PNG -> RGB" in out and "RGBA (alpha dropped) PNG -> RGB" in out
    assert ".DS_Store" not in out


def test_converted_images_decode_to_three_channels(messy):
    root, _ = messy
    gray = flowers.load_images([root / "tulips" / "gray.png"], 32)[0]
    alpha = flowers.load_images([root / "tulips" / "alpha.png"], 32)[0]
    assert gray.shape == alpha.shape == (32, 32, 3)
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    assert np.all(alpha == 200), "the alpha channel is dropped, the colour kept"


def test_loader_goes_on_with_the_good_files(messy):
    root, _ = messy
    got = flowers_data.flowers_from_folder(root, val_fraction=0.0, test_fraction=0.0, verbose=False)
    assert len(got.train) == 3 and got.class_names == ("roses", "tulips")
    assert "6 file(s) skipped, 2 class folder(s) dropped" in got.source.note


def test_nothing_usable_is_a_clear_error(tmp_path):
    root = tmp_path / "bad"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.jpg").write_bytes(b"garbage")
    (root / "a" / "y.txt").write_text("hello")
    (root / "b").mkdir()
    with pytest.raises(imagefiles.NoUsableImages,
                       match=r"no usable image in .*1 corrupt, 2 empty-class, 1 not-an-image"):
        imagefiles.scan_class_folders(root, verbose=False)
    with pytest.raises(imagefiles.NoUsableImages, match="no class sub-folders"):
        imagefiles.scan_class_folders(tmp_path / "bad" / "b", verbose=False)
    with pytest.raises(FileNotFoundError, match=imagefiles.FLOWERS_ENV):
        imagefiles.scan_class_folders(tmp_path / "missing")
    with pytest.raises(ValueError, match="no usable image"):  # NoUsableImages is a ValueError
        flowers_data.load_flowers(root, verbose=False)

