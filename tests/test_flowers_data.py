"""utils.flowers_data: the data contract (folder -> cache -> download -> stand-in) and disjoint hashed splits."""
import os
from pathlib import Path

import numpy as np
import pytest
from _flower_files import (
    isolated,  # noqa: F401 (autouse: no test sees the real flower folder)
    jpeg_bytes,
    make_class_tree,
    make_tgz,
    write_jpeg,
)

from utils import data, flowers_data, imagefiles, setup

ROOT = Path(__file__).resolve().parents[1]
# The real flower folder, from the variable the loader reads (read before the autouse fixture
# below hides it from every other test). CI and the reference run point it at tf_flowers.
REAL_FLOWERS = os.environ.get(imagefiles.FLOWERS_ENV) or None


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
    assert imagefiles.find_image_root(got) == got / "tiny_photos"
    # Keras 2 returned the archive's path and extracted beside it: also handled.
    keras2 = tmp_path / "k2"
    (keras2 / "tiny_photos").mkdir(parents=True)
    make_class_tree(keras2 / "tiny_photos", ["daisy"], 1)
    (keras2 / "tiny_photos.tgz").write_bytes(archive.read_bytes())
    assert imagefiles.find_image_root(keras2 / "tiny_photos.tgz") == keras2 / "tiny_photos"


@pytest.fixture
def tiny_tf_flowers(tmp_path, monkeypatch):
    """A 10-photo 'flower_photos.tgz' with tf_flowers' 5 classes; the module's constants point at it."""
    tree = make_class_tree(tmp_path / "src" / "flower_photos", flowers_data.TF_FLOWERS_CLASSES, 2)
    (tree / "LICENSE.txt").write_text("photo credits")
    archive = make_tgz(tmp_path / "flower_photos.tgz", tree, "flower_photos")
    monkeypatch.setattr(flowers_data, "TF_FLOWERS_URL", archive.resolve().as_uri())
    monkeypatch.setattr(flowers_data, "TF_FLOWERS_SHA256", data.sha256_of(archive))
    monkeypatch.setattr(flowers_data, "TF_FLOWERS_IMAGES", 10)
    return archive


def test_download_verifies_the_hash_and_extracts_in_keras3_layout(tiny_tf_flowers, online, tmp_path):
    got = flowers_data.load_flowers(verbose=False)
    extracted = tmp_path / "keras_home" / "datasets" / "flower_photos_extracted" / "flower_photos"
    assert got.source.kind == "download" and got.source.dataset == "tf_flowers"
    assert got.source.location == str(extracted)
    assert got.class_names == flowers_data.TF_FLOWERS_CLASSES
    assert len(got.train) + len(got.val) + len(got.test) == 10
    again = flowers_data.load_flowers(verbose=False)
    assert again.source.kind == "cache"


def test_cache_made_by_keras3_get_file_is_found_offline(tiny_tf_flowers, offline, tmp_path):
    import keras

    keras.utils.get_file("flower_photos.tgz", origin=flowers_data.TF_FLOWERS_URL, extract=True,
                         cache_dir=os.environ["KERAS_HOME"])  # Keras read KERAS_HOME at import
    got = flowers_data.load_flowers(verbose=False)
    assert got.source.kind == "cache" and not got.source.is_stand_in
    assert "verified structure" in got.source.note


def test_download_with_a_wrong_hash_is_refused(tiny_tf_flowers, online, monkeypatch):
    monkeypatch.setattr(flowers_data, "TF_FLOWERS_SHA256", "0" * 64)
    with pytest.raises(data.DataUnavailable, match="Fix one of"):
        flowers_data.load_flowers(verbose=False)


def test_incomplete_cache_is_reported_and_replaced(tiny_tf_flowers, monkeypatch, capsys):
    import keras

    keras.utils.get_file("flower_photos.tgz", origin=flowers_data.TF_FLOWERS_URL, extract=True,
                         cache_dir=os.environ["KERAS_HOME"])  # Keras read KERAS_HOME at import
    datasets = Path(os.environ["KERAS_HOME"]) / "datasets"
    victim = next(datasets.rglob("tulips_000.jpg"))
    victim.unlink()  # one photo lost: the structure check sees 9 of 10
    monkeypatch.setenv(setup.OFFLINE_ENV, "1")
    got = flowers_data.load_flowers(verbose=False)  # re-extracted from the hash-verified archive get_file kept
    assert "not a complete tf_flowers" in capsys.readouterr().out
    assert got.source.kind == "cache" and victim.is_file()
    victim.unlink()
    (datasets / "flower_photos.tgz").unlink()
    assert flowers_data.load_flowers(verbose=False).source.is_stand_in
    monkeypatch.setenv(setup.OFFLINE_ENV, "0")
    again = flowers_data.load_flowers(verbose=False)
    assert again.source.kind == "download" and victim.is_file()


def test_offline_without_data_gives_a_labelled_stand_in(offline, capsys):
    got = flowers_data.load_flowers()
    assert got.source.is_stand_in and got.class_names == flowers_data.STAND_IN_CLASSES
    assert "STAND-IN" in capsys.readouterr().out
    assert min(got.train.counts(5)) > 0 and len(got.test) > 0


def test_online_without_network_names_the_fixes(online, monkeypatch, tmp_path):
    monkeypatch.setattr(flowers_data, "TF_FLOWERS_URL", (tmp_path / "nowhere.tgz").as_uri())
    with pytest.raises(data.DataUnavailable, match=imagefiles.FLOWERS_ENV):
        flowers_data.load_flowers(verbose=False)


def test_env_var_and_local_archive(tmp_path, monkeypatch, capsys):
    tree = make_class_tree(tmp_path / "mine", ["ant", "bee"], 3)
    monkeypatch.setenv(imagefiles.FLOWERS_ENV, str(tree))
    got = flowers_data.load_flowers()
    assert got.class_names == ("ant", "bee") and got.source.kind == "local"
    assert "NOT tf_flowers" in capsys.readouterr().out
    archive = make_tgz(tmp_path / "mine.tar.gz", tree, "mine")
    from_archive = flowers_data.load_flowers(archive, verbose=False)
    assert from_archive.class_names == ("ant", "bee")
    assert (tmp_path / "keras_home" / "datasets" / "mine_extracted" / "mine" / "ant").is_dir()


def test_describe_dataset_says_what_is_not_tf_flowers():
    assert flowers_data.describe_dataset(flowers_data.TF_FLOWERS_CLASSES, 3670, "")[0] == "tf_flowers"
    assert "partial" in flowers_data.describe_dataset(flowers_data.TF_FLOWERS_CLASSES, 100, "")[1]
    name, note = flowers_data.describe_dataset(("bluebell", "iris"), 80, "train/test")
    assert name == "local image folder" and "NOT tf_flowers" in note and "2 classes" in note


@pytest.mark.skipif(REAL_FLOWERS is None,
                    reason=f"{flowers_data.FLOWERS_ENV} is not set (no real flower photos to check)")
def test_the_real_tf_flowers_is_recognised_split_disjoint_and_reported_without_paths(monkeypatch, capsys):
    folder = imagefiles.find_image_root(Path(REAL_FLOWERS))
    if tuple(p.name for p in imagefiles._class_folders(folder)) != flowers_data.TF_FLOWERS_CLASSES:
        pytest.skip(f"{imagefiles.FLOWERS_ENV} is not tf_flowers")
    monkeypatch.setenv(imagefiles.FLOWERS_ENV, REAL_FLOWERS)
    got = flowers_data.load_flowers()
    out = capsys.readouterr().out
    assert got.class_names == flowers_data.TF_FLOWERS_CLASSES and got.source.dataset == "tf_flowers"
    assert "3,670 photos" in out and "NOT tf_flowers" not in out
    # tf_flowers files one photo under both roses and tulips: left out, reported by class/file only
    assert "conflicting-labels" in out and str(folder.parent) not in out
    assert len(got.train) + len(got.val) + len(got.test) == flowers_data.TF_FLOWERS_IMAGES - 2
    assert 0.13 < len(got.test) / flowers_data.TF_FLOWERS_IMAGES < 0.17
    assert set(flowers_data.content_overlap(got.train.subset(40), got.val.subset(40), got.test.subset(40))
               .values()) == {0}


# --- splits -------------------------------------------------------------------------

def test_hashed_split_is_disjoint_stable_and_independent_of_other_files(tmp_path):
    root = make_class_tree(tmp_path / "f", ["a", "b", "c"], 40)
    first = flowers_data.flowers_from_folder(root, verbose=False)
    parts = [set(first.train.paths), set(first.val.paths), set(first.test.paths)]
    assert sum(map(len, parts)) == 120 and len(set.union(*parts)) == 120, "every file in exactly one split"
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    again = flowers_data.flowers_from_folder(root, verbose=False)
    assert again.train.paths == first.train.paths and again.test.paths == first.test.paths
    np.testing.assert_array_equal(again.train.labels, first.train.labels)
    # Adding photos never moves an existing one to another split (no take/skip over a shuffle).
    make_class_tree(root, ["a", "d"], 40, seed0=1000)
    for k in range(40, 60):
        write_jpeg(root / "a" / f"a_{k:03d}.jpg", 5000 + k)
    grown = flowers_data.flowers_from_folder(root, verbose=False)
    for name in flowers_data.SPLITS:
        old = set(getattr(first, name).paths)
        assert old <= set(getattr(grown, name).paths), f"a file left the {name} split"


def test_split_fractions_and_key_are_machine_independent():
    keys = [f"class{k % 5}/img_{k:05d}.jpg" for k in range(4000)]
    assigned = [flowers_data.assign_split(key, 0.15, 0.15) for key in keys]
    share = {name: assigned.count(name) / len(keys) for name in flowers_data.SPLITS}
    assert abs(share["test"] - 0.15) < 0.02 and abs(share["val"] - 0.15) < 0.02
    # The value depends on the key only: pinned, so a change of hashing is a visible decision.
    assert flowers_data.split_fraction("daisy/5547758_eea9edfd54_n.jpg") == pytest.approx(0.946571, abs=1e-6)
    assert flowers_data.split_key("/x/y/daisy/a.jpg", "/x/y") == "daisy/a.jpg"


def test_duplicate_photos_stay_in_one_split_and_conflicts_are_left_out(tmp_path, capsys):
    root = tmp_path / "f"
    payload = jpeg_bytes(7)
    for k in range(30):  # 30 copies of one photo under different names
        (root / "a").mkdir(parents=True, exist_ok=True)
        (root / "a" / f"copy_{k:02d}.jpg").write_bytes(payload)
    make_class_tree(root, ["b"], 5)
    write_jpeg(root / "c" / "twin.jpg", 99)
    write_jpeg(root / "b" / "twin.jpg", 99)  # same bytes filed under b and c
    got = flowers_data.flowers_from_folder(root, verbose=True)
    copies = [name for name in flowers_data.SPLITS if any("copy_" in p for p in getattr(got, name).paths)]
    assert len(copies) == 1, f"copies of one photo spread over {copies}"
    everything = got.train.paths + got.val.paths + got.test.paths
    assert not any(p.endswith("twin.jpg") for p in everything)
    assert "conflicting-labels" in capsys.readouterr().out


def test_train_test_layout_keeps_test_and_drops_leaked_photos(tmp_path, capsys):
    root = tmp_path / "ds"
    make_class_tree(root / "train", ["x", "y"], 10)
    make_class_tree(root / "test", ["x", "y"], 3, seed0=500)
    (root / "train" / "x" / "leak.jpg").write_bytes((root / "test" / "y" / "y_000.jpg").read_bytes())
    got = flowers_data.flowers_from_folder(root)
    assert len(got.test) == 6 and all("/test/" in p for p in got.test.paths)
    assert len(got.train) + len(got.val) == 20
    assert not any(p.endswith("leak.jpg") for p in got.train.paths + got.val.paths)
    assert "the same photo is in test/" in capsys.readouterr().out


def test_subset_keeps_the_first_per_class_and_validates(tmp_path):
    got = flowers_data.flowers_from_folder(make_class_tree(tmp_path / "f", ["a", "b"], 30), verbose=False)
    small = got.subset(train=3, val=1, test=2)
    assert list(small.train.counts(2)) == [3, 3] and list(small.test.counts(2)) == [2, 2]
    assert set(small.train.paths) <= set(got.train.paths)
    assert small.train.paths == tuple(p for p in got.train.paths if p in small.train.paths)
    with pytest.raises(ValueError, match="at least 1"):
        got.train.subset(0)
    with pytest.raises(ValueError, match="leaves no training"):
        flowers_data.flowers_from_folder(tmp_path / "f", val_fraction=0.5, test_fraction=0.5)



# --- the stand-in -----------------------------------------------------------------------

def test_stand_in_images_are_shapes_in_class_folders(tmp_path):
    root = flowers_data.make_stand_in_images(tmp_path / "s", per_class=2, size=32, seed=1)
    report = imagefiles.scan_class_folders(root, verbose=False)
    assert report.class_names == tuple(sorted(flowers_data.STAND_IN_CLASSES)) and len(report.files) == 10
    assert not report.issues
    with pytest.raises(ValueError, match="per_class"):
        flowers_data.make_stand_in_images(tmp_path / "t", per_class=0)


# --- the TF Hub route ---------------------------------------------------------------------


def test_content_overlap_counts_a_copy_under_another_name(tmp_path):
    """Paths never repeat across splits; a photo copied under a new name does, and must be counted."""
    train_files = [write_jpeg(tmp_path / "a" / f"t{k}.jpg", seed=k) for k in range(3)]
    test_files = [write_jpeg(tmp_path / "a" / "u0.jpg", seed=10)]
    copy = tmp_path / "a" / "copy_of_t1.jpg"
    copy.write_bytes(train_files[1].read_bytes())
    labels = np.zeros(3, dtype=np.int32)
    train = flowers_data.Split("train", tuple(map(str, train_files)), labels)
    val = flowers_data.Split("val", (str(copy),), labels[:1])
    test = flowers_data.Split("test", tuple(map(str, test_files)), labels[:1])
    assert not set(train.paths) & set(val.paths), "by path the splits look disjoint"
    assert flowers_data.content_overlap(train, val, test) == {("train", "val"): 1, ("train", "test"): 0,
                                                             ("val", "test"): 0}
