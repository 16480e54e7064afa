"""utils.flowers: safe extraction, the data contract, disjoint splits, robust scans, pipelines, models, TF Hub."""
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import data, flowers, setup

ROOT = Path(__file__).resolve().parents[1]
# The real flower folder, from the variable the loader reads (read before the autouse fixture
# below hides it from every other test). CI points it at the 12-species Oxford subset.
REAL_FLOWERS = os.environ.get(flowers.FLOWERS_ENV) or None


def _is_oxford_mini(folder) -> bool:
    train = Path(folder) / "train"
    if not train.is_dir():
        return False
    return tuple(sorted(p.name for p in train.iterdir() if p.is_dir())) == flowers.OXFORD_MINI_CLASSES


# --- helpers that make files ---------------------------------------------------

def jpeg_bytes(seed: int = 0, size=(40, 48), mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def write_jpeg(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(seed))
    return path


def make_class_tree(root: Path, classes, per_class: int, seed0: int = 0) -> Path:
    seed = seed0
    for name in classes:
        for k in range(per_class):
            write_jpeg(root / name / f"{name}_{k:03d}.jpg", seed)
            seed += 1
    return root


def make_tgz(archive: Path, tree: Path, arcname: str) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname=arcname)
    return archive


def tar_with(archive: Path, *members) -> Path:
    """A tar.gz holding the given (TarInfo, bytes or None) members, built by hand."""
    with tarfile.open(archive, "w:gz") as tar:
        for info, payload in members:
            if payload is not None:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    return archive


def file_member(name: str, payload: bytes = b"evil"):
    return tarfile.TarInfo(name), payload


def link_member(name: str, target: str, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test sees the developer's flower folder, hub model or Keras cache."""
    monkeypatch.delenv(flowers.FLOWERS_ENV, raising=False)
    monkeypatch.delenv(flowers.HUB_ENV, raising=False)
    (tmp_path / "keras_home").mkdir()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(flowers, "_stand_in_folder", lambda seed: tmp_path / f"stand_in_{seed}")


# --- safe extraction ----------------------------------------------------------------

def test_safe_extract_extracts_a_normal_archive(tmp_path):
    tree = make_class_tree(tmp_path / "src", ["a", "b"], 2)
    archive = make_tgz(tmp_path / "ok.tgz", tree, "photos")
    target = flowers.safe_extract(archive, tmp_path / "out" / "ok_extracted")
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
    with pytest.raises(flowers.UnsafeArchive, match=why):
        flowers.safe_extract(archive, target)
    assert not target.exists(), "nothing is extracted when one member is unsafe"
    assert not list(tmp_path.rglob("escaped.txt"))
    assert list((tmp_path / "deep" / "er").iterdir()) == []


def test_safe_extract_refuses_an_absolute_path(tmp_path):
    outside = tmp_path / "outside" / "absolute.txt"
    archive = tar_with(tmp_path / "abs.tgz", file_member(str(outside)))
    with pytest.raises(flowers.UnsafeArchive, match="outside the target"):
        flowers.safe_extract(archive, tmp_path / "target")
    assert not outside.exists()


def test_safe_extract_refuses_a_path_through_an_existing_link(tmp_path):
    """A member may look inside but resolve outside through a link already on disk."""
    assert not flowers._inside((tmp_path / "base").resolve(), "/etc/passwd")
    base = tmp_path / "base"
    base.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (base / "sneaky").symlink_to(tmp_path / "elsewhere")
    assert not flowers._inside(base.resolve(), "sneaky/escaped.txt")
    assert flowers._inside(base.resolve(), "fine/x.jpg")


def test_safe_extract_refuses_zip_traversal_and_zip_symlinks(tmp_path):
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("photos/ok.txt", "fine")
        z.writestr("../escaped.txt", "evil")
    with pytest.raises(flowers.UnsafeArchive, match="outside the target"):
        flowers.safe_extract(bad, tmp_path / "t1")
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as z:
        info = zipfile.ZipInfo("photos/link")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "../../etc")
    with pytest.raises(flowers.UnsafeArchive, match="symbolic link"):
        flowers.safe_extract(link, tmp_path / "t2")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "t1").exists()


def test_safe_extract_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="archive not found"):
        flowers.safe_extract(tmp_path / "missing.tgz", tmp_path / "t")
    (tmp_path / "junk.tgz").write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="neither a tar nor a zip"):
        flowers.safe_extract(tmp_path / "junk.tgz", tmp_path / "t")
    (tmp_path / "exists").mkdir()
    make_tgz(tmp_path / "ok.tgz", make_class_tree(tmp_path / "src", ["a"], 1), "p")
    with pytest.raises(FileExistsError, match="already exists"):
        flowers.safe_extract(tmp_path / "ok.tgz", tmp_path / "exists")


# --- Keras 3's get_file layout and the contract ----------------------------------------

def test_keras3_get_file_extract_returns_the_extraction_folder(tmp_path):
    """Pins Keras 3's behaviour: get_file(..., extract=True) returns '<name>_extracted', not the archive."""
    import keras

    tree = make_class_tree(tmp_path / "src", ["daisy", "roses"], 2)
    archive = make_tgz(tmp_path / "tiny_photos.tgz", tree, "tiny_photos")
    (tmp_path / "cache").mkdir()  # get_file falls back to /tmp/.keras when cache_dir does not exist
    got = Path(keras.utils.get_file("tiny_photos.tgz", origin=archive.resolve().as_uri(), extract=True,
                                    cache_dir=str(tmp_path / "cache")))
    assert got == tmp_path / "cache" / "datasets" / "tiny_photos_extracted"
    assert got.is_dir() and not (got / "daisy").exists(), "the archive's top folder sits inside"
    assert flowers.find_image_root(got) == got / "tiny_photos"
    # Keras 2 returned the archive's path and extracted beside it: also handled.
    keras2 = tmp_path / "k2"
    (keras2 / "tiny_photos").mkdir(parents=True)
    make_class_tree(keras2 / "tiny_photos", ["daisy"], 1)
    (keras2 / "tiny_photos.tgz").write_bytes(archive.read_bytes())
    assert flowers.find_image_root(keras2 / "tiny_photos.tgz") == keras2 / "tiny_photos"


@pytest.fixture
def tiny_tf_flowers(tmp_path, monkeypatch):
    """A 10-photo 'flower_photos.tgz' with tf_flowers' 5 classes; the module's constants point at it."""
    tree = make_class_tree(tmp_path / "src" / "flower_photos", flowers.TF_FLOWERS_CLASSES, 2)
    (tree / "LICENSE.txt").write_text("photo credits")
    archive = make_tgz(tmp_path / "flower_photos.tgz", tree, "flower_photos")
    monkeypatch.setattr(flowers, "TF_FLOWERS_URL", archive.resolve().as_uri())
    monkeypatch.setattr(flowers, "TF_FLOWERS_SHA256", data.sha256_of(archive))
    monkeypatch.setattr(flowers, "TF_FLOWERS_IMAGES", 10)
    return archive


def test_download_verifies_the_hash_and_extracts_in_keras3_layout(tiny_tf_flowers, online, tmp_path):
    got = flowers.load_flowers(verbose=False)
    extracted = tmp_path / "keras_home" / "datasets" / "flower_photos_extracted" / "flower_photos"
    assert got.source.kind == "download" and got.source.dataset == "tf_flowers"
    assert got.source.location == str(extracted)
    assert got.class_names == flowers.TF_FLOWERS_CLASSES
    assert len(got.train) + len(got.val) + len(got.test) == 10
    again = flowers.load_flowers(verbose=False)
    assert again.source.kind == "cache"


def test_cache_made_by_keras3_get_file_is_found_offline(tiny_tf_flowers, offline, tmp_path):
    import keras

    keras.utils.get_file("flower_photos.tgz", origin=flowers.TF_FLOWERS_URL, extract=True,
                         cache_dir=os.environ["KERAS_HOME"])  # Keras read KERAS_HOME at import
    got = flowers.load_flowers(verbose=False)
    assert got.source.kind == "cache" and not got.source.is_stand_in
    assert "verified structure" in got.source.note


def test_download_with_a_wrong_hash_is_refused(tiny_tf_flowers, online, monkeypatch):
    monkeypatch.setattr(flowers, "TF_FLOWERS_SHA256", "0" * 64)
    with pytest.raises(data.DataUnavailable, match="Fix one of"):
        flowers.load_flowers(verbose=False)


def test_incomplete_cache_is_reported_and_replaced(tiny_tf_flowers, monkeypatch, capsys):
    import keras

    keras.utils.get_file("flower_photos.tgz", origin=flowers.TF_FLOWERS_URL, extract=True,
                         cache_dir=os.environ["KERAS_HOME"])  # Keras read KERAS_HOME at import
    datasets = Path(os.environ["KERAS_HOME"]) / "datasets"
    victim = next(datasets.rglob("tulips_000.jpg"))
    victim.unlink()  # one photo lost: the structure check sees 9 of 10
    monkeypatch.setenv(setup.OFFLINE_ENV, "1")
    got = flowers.load_flowers(verbose=False)  # re-extracted from the hash-verified archive get_file kept
    assert "not a complete tf_flowers" in capsys.readouterr().out
    assert got.source.kind == "cache" and victim.is_file()
    victim.unlink()
    (datasets / "flower_photos.tgz").unlink()
    assert flowers.load_flowers(verbose=False).source.is_stand_in
    monkeypatch.setenv(setup.OFFLINE_ENV, "0")
    again = flowers.load_flowers(verbose=False)
    assert again.source.kind == "download" and victim.is_file()


def test_offline_without_data_gives_a_labelled_stand_in(offline, capsys):
    got = flowers.load_flowers()
    assert got.source.is_stand_in and got.class_names == flowers.STAND_IN_CLASSES
    assert "STAND-IN" in capsys.readouterr().out
    assert min(got.train.counts(5)) > 0 and len(got.test) > 0


def test_online_without_network_names_the_fixes(online, monkeypatch, tmp_path):
    monkeypatch.setattr(flowers, "TF_FLOWERS_URL", (tmp_path / "nowhere.tgz").as_uri())
    with pytest.raises(data.DataUnavailable, match=flowers.FLOWERS_ENV):
        flowers.load_flowers(verbose=False)


def test_env_var_and_local_archive(tmp_path, monkeypatch, capsys):
    tree = make_class_tree(tmp_path / "mine", ["ant", "bee"], 3)
    monkeypatch.setenv(flowers.FLOWERS_ENV, str(tree))
    got = flowers.load_flowers()
    assert got.class_names == ("ant", "bee") and got.source.kind == "local"
    assert "NOT tf_flowers" in capsys.readouterr().out
    archive = make_tgz(tmp_path / "mine.tar.gz", tree, "mine")
    from_archive = flowers.load_flowers(archive, verbose=False)
    assert from_archive.class_names == ("ant", "bee")
    assert (tmp_path / "keras_home" / "datasets" / "mine_extracted" / "mine" / "ant").is_dir()


def test_describe_dataset_says_what_is_not_tf_flowers():
    name, note = flowers.describe_dataset(flowers.OXFORD_MINI_CLASSES, 960, "train/test")
    assert name == "Oxford 17 flowers subset" and "12 species" in note and "NOT tf_flowers" in note
    assert flowers.describe_dataset(flowers.TF_FLOWERS_CLASSES, 3670, "")[0] == "tf_flowers"
    assert "partial" in flowers.describe_dataset(flowers.TF_FLOWERS_CLASSES, 100, "")[1]


@pytest.mark.skipif(REAL_FLOWERS is None, reason=f"{flowers.FLOWERS_ENV} is not set (no real flower photos to check)")
def test_the_ci_flowers_are_announced_as_not_tf_flowers(monkeypatch, capsys):
    if not _is_oxford_mini(REAL_FLOWERS):
        pytest.skip(f"{flowers.FLOWERS_ENV} is not the 12-species Oxford subset this test knows the facts of")
    monkeypatch.setenv(flowers.FLOWERS_ENV, REAL_FLOWERS)
    got = flowers.load_flowers()
    out = capsys.readouterr().out
    assert "Oxford 17 flowers subset" in out and "12 species" in out and "NOT tf_flowers" in out
    assert got.num_classes == 12 and len(got.test) == 240 and len(got.train) + len(got.val) == 720
    assert not set(got.train.paths) & set(got.val.paths)
    assert all("/test/" in p for p in got.test.paths) and not any("/test/" in p for p in got.train.paths)


# --- splits -------------------------------------------------------------------------

def test_hashed_split_is_disjoint_stable_and_independent_of_other_files(tmp_path):
    root = make_class_tree(tmp_path / "f", ["a", "b", "c"], 40)
    first = flowers.flowers_from_folder(root, verbose=False)
    parts = [set(first.train.paths), set(first.val.paths), set(first.test.paths)]
    assert sum(map(len, parts)) == 120 and len(set.union(*parts)) == 120, "every file in exactly one split"
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    again = flowers.flowers_from_folder(root, verbose=False)
    assert again.train.paths == first.train.paths and again.test.paths == first.test.paths
    np.testing.assert_array_equal(again.train.labels, first.train.labels)
    # Adding photos never moves an existing one to another split (no take/skip over a shuffle).
    make_class_tree(root, ["a", "d"], 40, seed0=1000)
    for k in range(40, 60):
        write_jpeg(root / "a" / f"a_{k:03d}.jpg", 5000 + k)
    grown = flowers.flowers_from_folder(root, verbose=False)
    for name in flowers.SPLITS:
        old = set(getattr(first, name).paths)
        assert old <= set(getattr(grown, name).paths), f"a file left the {name} split"


def test_split_fractions_and_key_are_machine_independent():
    keys = [f"class{k % 5}/img_{k:05d}.jpg" for k in range(4000)]
    assigned = [flowers.assign_split(key, 0.15, 0.15) for key in keys]
    share = {name: assigned.count(name) / len(keys) for name in flowers.SPLITS}
    assert abs(share["test"] - 0.15) < 0.02 and abs(share["val"] - 0.15) < 0.02
    # The value depends on the key only: pinned, so a change of hashing is a visible decision.
    assert flowers.split_fraction("daisy/5547758_eea9edfd54_n.jpg") == pytest.approx(0.946571, abs=1e-6)
    assert flowers.split_key("/x/y/daisy/a.jpg", "/x/y") == "daisy/a.jpg"


def test_duplicate_photos_stay_in_one_split_and_conflicts_are_left_out(tmp_path, capsys):
    root = tmp_path / "f"
    payload = jpeg_bytes(7)
    for k in range(30):  # 30 copies of one photo under different names
        (root / "a").mkdir(parents=True, exist_ok=True)
        (root / "a" / f"copy_{k:02d}.jpg").write_bytes(payload)
    make_class_tree(root, ["b"], 5)
    write_jpeg(root / "c" / "twin.jpg", 99)
    write_jpeg(root / "b" / "twin.jpg", 99)  # same bytes filed under b and c
    got = flowers.flowers_from_folder(root, verbose=True)
    copies = [name for name in flowers.SPLITS if any("copy_" in p for p in getattr(got, name).paths)]
    assert len(copies) == 1, f"copies of one photo spread over {copies}"
    everything = got.train.paths + got.val.paths + got.test.paths
    assert not any(p.endswith("twin.jpg") for p in everything)
    assert "conflicting-labels" in capsys.readouterr().out


def test_train_test_layout_keeps_test_and_drops_leaked_photos(tmp_path, capsys):
    root = tmp_path / "ds"
    make_class_tree(root / "train", ["x", "y"], 10)
    make_class_tree(root / "test", ["x", "y"], 3, seed0=500)
    (root / "train" / "x" / "leak.jpg").write_bytes((root / "test" / "y" / "y_000.jpg").read_bytes())
    got = flowers.flowers_from_folder(root)
    assert len(got.test) == 6 and all("/test/" in p for p in got.test.paths)
    assert len(got.train) + len(got.val) == 20
    assert not any(p.endswith("leak.jpg") for p in got.train.paths + got.val.paths)
    assert "the same photo is in test/" in capsys.readouterr().out


def test_subset_keeps_the_first_per_class_and_validates(tmp_path):
    got = flowers.flowers_from_folder(make_class_tree(tmp_path / "f", ["a", "b"], 30), verbose=False)
    small = got.subset(train=3, val=1, test=2)
    assert list(small.train.counts(2)) == [3, 3] and list(small.test.counts(2)) == [2, 2]
    assert set(small.train.paths) <= set(got.train.paths)
    assert small.train.paths == tuple(p for p in got.train.paths if p in small.train.paths)
    with pytest.raises(ValueError, match="at least 1"):
        got.train.subset(0)
    with pytest.raises(ValueError, match="leaves no training"):
        flowers.flowers_from_folder(tmp_path / "f", val_fraction=0.5, test_fraction=0.5)


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
    report = flowers.scan_class_folders(root)
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
    got = flowers.flowers_from_folder(root, val_fraction=0.0, test_fraction=0.0, verbose=False)
    assert len(got.train) == 3 and got.class_names == ("roses", "tulips")
    assert "6 file(s) skipped, 2 class folder(s) dropped" in got.source.note


def test_nothing_usable_is_a_clear_error(tmp_path):
    root = tmp_path / "bad"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.jpg").write_bytes(b"garbage")
    (root / "a" / "y.txt").write_text("hello")
    (root / "b").mkdir()
    with pytest.raises(flowers.NoUsableImages, match=r"no usable image in .*1 corrupt, 2 empty-class, 1 not-an-image"):
        flowers.scan_class_folders(root, verbose=False)
    with pytest.raises(flowers.NoUsableImages, match="no class sub-folders"):
        flowers.scan_class_folders(tmp_path / "bad" / "b", verbose=False)
    with pytest.raises(FileNotFoundError, match=flowers.FLOWERS_ENV):
        flowers.scan_class_folders(tmp_path / "missing")
    with pytest.raises(ValueError, match="no usable image"):  # NoUsableImages is a ValueError
        flowers.load_flowers(root, verbose=False)


# --- pipelines ----------------------------------------------------------------------

@pytest.fixture
def photo_split(tmp_path):
    root = make_class_tree(tmp_path / "p", ["a", "b", "c"], 4)
    got = flowers.flowers_from_folder(root, val_fraction=0.0, test_fraction=0.0, verbose=False)
    return got.train


def test_pipeline_shapes_ranges_and_naive_equals_tuned(photo_split):
    tuned = list(flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=40, batch_size=5))
    naive = list(flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=40, batch_size=5,
                                       tuned=False))
    assert [tuple(x.shape) for x, _ in tuned] == [(5, 40, 40, 3), (5, 40, 40, 3), (2, 40, 40, 3)]
    images = np.concatenate([x.numpy() for x, _ in tuned])
    assert images.dtype == np.float32 and images.min() >= -1 and images.max() <= 1 and images.min() < -0.5
    np.testing.assert_array_equal(images, np.concatenate([x.numpy() for x, _ in naive]))
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in tuned]), photo_split.labels)
    hub = next(iter(flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=40, preprocess="hub")))[0]
    assert 0 <= hub.numpy().min() and hub.numpy().max() <= 1


def test_training_pipeline_shuffles_reproducibly_each_epoch(photo_split):
    def epochs(seed):
        ds = flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=40, batch_size=12,
                                   training=True, seed=seed)
        return [next(iter(ds))[1].numpy().tolist(), next(iter(ds))[1].numpy().tolist()]

    first, second = epochs(3)
    assert sorted(first) == sorted(photo_split.labels.tolist())
    assert first != photo_split.labels.tolist() or second != photo_split.labels.tolist()
    assert epochs(3) == [first, second], "the same seed gives the same order"


def test_pipeline_rejects_bad_arguments(photo_split):
    with pytest.raises(ValueError, match="labels"):
        flowers.make_pipeline(photo_split.paths, photo_split.labels[:-1], image_size=40)
    with pytest.raises(ValueError, match="preprocess must be"):
        flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=40, preprocess="vgg")
    with pytest.raises(ValueError, match="image_size"):
        flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=0)


# --- models ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inception75():
    import keras

    keras.utils.set_random_seed(0)
    return keras.applications.InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3))


@pytest.fixture(scope="module")
def classifier(inception75):
    return flowers.build_classifier(3, inception75, image_size=75, dropout=0.0)


def test_classifier_layout_and_frozen_base(classifier, inception75):
    assert [layer.name for layer in classifier.layers] == [
        "image", "augmentation", inception75.name, "avg_pool", "dropout", "predictions"]
    assert classifier.output_shape == (None, 3)
    head_params = 2048 * 3 + 3
    assert sum(int(np.prod(w.shape)) for w in classifier.trainable_weights) == head_params


def test_augmentation_is_used_by_the_model_only_in_training(classifier):
    x = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    infer = [classifier(x, training=False).numpy() for _ in range(2)]
    np.testing.assert_allclose(infer[0], infer[1])
    train = [classifier(x, training=True).numpy() for _ in range(3)]
    assert any(not np.allclose(t, infer[0], atol=1e-6) for t in train), "augmentation changed nothing in training"
    aug = classifier.get_layer("augmentation")
    np.testing.assert_array_equal(aug(x, training=False).numpy(), x)


def test_unfreeze_top_trains_the_blocks_after_mixed8_with_a_fresh_slower_optimizer(inception75):
    model = flowers.build_classifier(3, inception75, image_size=75, augmentation=False)
    flowers.compile_classifier(model, 1e-3)
    head_optimizer = model.optimizer
    info = flowers.unfreeze_top(model, "mixed8", learning_rate=1e-5)
    names = [layer.name for layer in inception75.layers]
    assert names.index("mixed8") + 1 == 249, "the Keras guide's 'freeze the first 249 layers'"
    assert all(not layer.trainable for layer in inception75.layers[:249])
    trainable = [layer for layer in inception75.layers if layer.trainable and layer.weights]
    assert trainable and all(names.index(layer.name) >= 249 for layer in trainable)
    assert not any(layer.__class__.__name__ == "BatchNormalization" for layer in trainable)
    # the first convolution after mixed8 (auto-generated names carry session-wide counters)
    first_conv_after = next(layer.name for layer in inception75.layers[249:] if layer.__class__.__name__ == "Conv2D")
    assert info["first_trainable"] == first_conv_after
    assert model.optimizer is not head_optimizer
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)
    assert info["trainable_params"] > 2048 * 3 + 3
    with pytest.raises(ValueError, match="mixed10"):
        flowers.unfreeze_top(model, "mixed99")
    flowers.build_classifier(3, inception75, image_size=75, augmentation=False)  # refreezes the shared base
    assert not inception75.trainable


def test_cached_features_train_a_head_that_fits_the_full_model(classifier, photo_split):
    ds = flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=75, batch_size=5)
    features, labels = flowers.compute_features(flowers.feature_extractor(classifier), ds)
    assert features.shape == (12, 2048)
    np.testing.assert_array_equal(labels, photo_split.labels)
    head = flowers.build_head(2048, 3, dropout=0.0, seed=1)
    flowers.compile_classifier(head, 1e-2)
    timer = flowers.epoch_timer()
    head.fit(flowers.feature_dataset(features, labels, training=True), epochs=2, verbose=0, callbacks=[timer],
             shuffle=False)
    assert len(timer.seconds) == 2 and all(s > 0 for s in timer.seconds)
    flowers.copy_head(head, classifier)
    images = np.concatenate([x.numpy() for x, _ in ds])
    np.testing.assert_allclose(classifier(images, training=False).numpy(), head(features, training=False).numpy(),
                               atol=1e-5)


def test_confusion_matrix_counts_true_against_predicted():
    matrix = flowers.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_model_helpers_reject_bad_arguments(inception75):
    with pytest.raises(ValueError, match="at least 75"):
        flowers.build_classifier(3, inception75, image_size=64)
    with pytest.raises(ValueError, match="num_classes"):
        flowers.build_classifier(1, inception75, image_size=75)
    with pytest.raises(ValueError, match="dropout"):
        flowers.build_classifier(3, inception75, image_size=75, dropout=1.0)
    with pytest.raises(ValueError, match="at least 75"):
        flowers.inception_base(50)


# --- the stand-in -----------------------------------------------------------------------

def test_stand_in_images_are_shapes_in_class_folders(tmp_path):
    root = flowers.make_stand_in_images(tmp_path / "s", per_class=2, size=32, seed=1)
    report = flowers.scan_class_folders(root, verbose=False)
    assert report.class_names == tuple(sorted(flowers.STAND_IN_CLASSES)) and len(report.files) == 10
    assert not report.issues
    with pytest.raises(ValueError, match="per_class"):
        flowers.make_stand_in_images(tmp_path / "t", per_class=0)


# --- the TF Hub route ---------------------------------------------------------------------

def test_hub_handle_follows_the_contract(offline, monkeypatch, tmp_path):
    handle, why = flowers.hub_handle(verbose=False)
    assert handle is None and "skipped" in why
    monkeypatch.setenv(flowers.HUB_ENV, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        flowers.hub_handle()
    monkeypatch.setenv(flowers.HUB_ENV, str(tmp_path))
    assert flowers.hub_handle(verbose=False)[0] == str(tmp_path)
    monkeypatch.delenv(flowers.HUB_ENV)
    monkeypatch.setenv(setup.OFFLINE_ENV, "0")
    assert flowers.hub_handle(verbose=False)[0] == flowers.HUB_INCEPTION_V3


def test_hub_route_trains_a_head_on_a_local_savedmodel_through_hub_keraslayer(tmp_path, photo_split):
    """The test saves a tiny 'feature vector' SavedModel; a subprocess loads it with hub.KerasLayer (tf_keras)."""
    import tensorflow as tf

    class TinyFeatures(tf.Module):
        def __init__(self):
            super().__init__()
            self.kernel = tf.Variable(np.random.default_rng(0).normal(size=(3, 8)).astype("float32"))

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def __call__(self, images):
            return tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.kernel)

    saved = tmp_path / "tiny_hub_model"
    tf.saved_model.save(TinyFeatures(), str(saved))
    assert "TF_USE_LEGACY_KERAS" not in os.environ or os.environ["TF_USE_LEGACY_KERAS"] != "1"
    result = flowers.run_hub_head(str(saved), photo_split, photo_split, num_classes=3, image_size=32, epochs=2,
                                  batch_size=4, timeout=300)
    assert result["keras_version"].startswith("2.") and result["hub_layer_is_tf_keras"], "ran under tf_keras"
    assert result["feature_dim"] == 8 and result["trainable_params"] == 8 * 3 + 3
    assert len(result["history"]["loss"]) == 2 and "val_accuracy" in result["history"]
    with pytest.raises(ValueError, match="non-empty"):
        flowers.run_hub_head(str(saved), photo_split.subset(1), flowers.Split("val", (), np.array([])),
                             num_classes=3)


# --- the benchmark script ---------------------------------------------------------------------

def test_benchmark_script_explains_itself_and_checks_its_arguments():
    script = str(ROOT / "benchmarks" / "flowers_pipeline.py")
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    assert "naive" in shown.stdout and "cached" in shown.stdout and "--epochs" in shown.stdout
    refused = subprocess.run([sys.executable, script, "--epochs", "1"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "at least 2" in refused.stderr
