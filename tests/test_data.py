import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import data, setup

# The real MNIST folder, from the variable the loader reads (read before the autouse fixture
# below hides it from every other test). CI points it at the real 10k test set.
REAL_MNIST = os.environ.get(data.MNIST_ENV) or None


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(folder: Path, stem: str, array: np.ndarray, gz: bool = True) -> None:
    raw = idx_bytes(array)
    if gz:
        with gzip.open(folder / f"{stem}.gz", "wb") as f:
            f.write(raw)
    else:
        (folder / stem).write_bytes(raw)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test sees the developer's MNIST folder or Keras cache."""
    monkeypatch.delenv(data.MNIST_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


# --- IDX -------------------------------------------------------------------

def test_parse_idx_round_trip_and_magic_numbers():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    raw = idx_bytes(images)
    assert struct.unpack(">I", raw[:4])[0] == 2051
    assert struct.unpack(">I", idx_bytes(np.array([7, 2]))[:4])[0] == 2049
    np.testing.assert_array_equal(data.parse_idx(raw), images)


def test_parse_idx_rejects_bad_magic_and_truncation():
    with pytest.raises(ValueError, match="bad IDX magic number"):
        data.parse_idx(b"\x00\x00\x0d\x03" + b"\x00" * 20)
    raw = idx_bytes(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        data.parse_idx(raw[:-5])
    with pytest.raises(ValueError, match="too short"):
        data.parse_idx(b"\x00")


# --- MNIST from a folder ------------------------------------------------------

def test_folder_with_only_the_test_set_is_split_8000_2000_and_says_so(tmp_path):
    x = np.random.default_rng(0).integers(0, 255, (10000, 28, 28), dtype=np.uint8)
    y = (np.arange(10000) % 10).astype(np.uint8)
    write_idx(tmp_path, data.MNIST_IDX["x_test"], x)
    write_idx(tmp_path, data.MNIST_IDX["y_test"], y, gz=False)
    mnist = data.mnist_from_folder(tmp_path)
    assert mnist.x_train.shape == (8000, 28, 28) and mnist.x_test.shape == (2000, 28, 28)
    np.testing.assert_array_equal(mnist.x_test, x[8000:])
    assert mnist.source.kind == "local" and "ONLY the official 10k test set" in mnist.source.note
    (x_train, y_train), (x_test, y_test) = mnist
    assert len(y_train) == 8000 and len(y_test) == 2000


def test_folder_with_full_idx_set_uses_the_official_split(tmp_path):
    rng = np.random.default_rng(1)
    for key, n in (("x_train", 60), ("x_test", 10)):
        write_idx(tmp_path, data.MNIST_IDX[key], rng.integers(0, 255, (n, 28, 28)))
        write_idx(tmp_path, data.MNIST_IDX["y" + key[1:]], rng.integers(0, 10, n))
    mnist = data.mnist_from_folder(tmp_path)
    assert (len(mnist.x_train), len(mnist.x_test)) == (60, 10)
    assert "60 train / 10 test" in mnist.source.note


def test_folder_with_keras_npz(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.arange(5, dtype=np.uint8),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.arange(2, dtype=np.uint8))
    assert len(data.mnist_from_folder(tmp_path).x_train) == 5


def test_bad_folders_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST folder not found.*CNN_COURSE_MNIST_DIR"):
        data.mnist_from_folder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="neither mnist.npz nor the MNIST test IDX files"):
        data.mnist_from_folder(tmp_path)
    (tmp_path / f"{data.MNIST_IDX['x_test']}.gz").write_bytes(b"not gzip at all")
    (tmp_path / data.MNIST_IDX["y_test"]).write_bytes(idx_bytes(np.zeros(3)))
    with pytest.raises(ValueError, match="corrupt"):
        data.mnist_from_folder(tmp_path)


def test_wrong_image_shape_in_folder_is_rejected(tmp_path):
    write_idx(tmp_path, data.MNIST_IDX["x_test"], np.zeros((4, 32, 32)))
    write_idx(tmp_path, data.MNIST_IDX["y_test"], np.zeros(4))
    with pytest.raises(ValueError, match=r"expected \(n, 28, 28\)"):
        data.mnist_from_folder(tmp_path)


@pytest.mark.skipif(REAL_MNIST is None, reason=f"{data.MNIST_ENV} is not set (no real MNIST folder to check)")
def test_real_mnist_test_set_matches_its_documented_facts(monkeypatch, capsys):
    monkeypatch.setenv(data.MNIST_ENV, REAL_MNIST)
    mnist = data.load_mnist()
    assert mnist.source.kind == "local" and "[data] MNIST: local" in capsys.readouterr().out
    # With the full set, y_test is the official test set; with only the 10k test files, the
    # loader splits them 8,000 / 2,000 and the two parts together are the test set.
    full = len(mnist.y_train) == 60_000
    labels = mnist.y_test if full else np.concatenate([mnist.y_train, mnist.y_test])
    if not full:
        assert (len(mnist.y_train), len(mnist.y_test)) == (8_000, 2_000)
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --- the contract ------------------------------------------------------------

def test_env_var_path_comes_first(monkeypatch, tmp_path, capsys):
    write_idx(tmp_path, data.MNIST_IDX["x_test"], np.zeros((10, 28, 28)))
    write_idx(tmp_path, data.MNIST_IDX["y_test"], np.arange(10))
    monkeypatch.setenv(data.MNIST_ENV, str(tmp_path))
    mnist = data.load_mnist()
    assert mnist.source.kind == "local" and str(tmp_path) in mnist.source.location
    assert "[data] MNIST: local" in capsys.readouterr().out


def _fake_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    path = cache / data.MNIST_NPZ
    np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.arange(3, dtype=np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    return path


def test_verified_cache_is_used_without_network(monkeypatch, tmp_path, offline):
    path = _fake_cache(tmp_path, monkeypatch)
    monkeypatch.setattr(data, "MNIST_SHA256", data.sha256_of(path))
    mnist = data.load_mnist(verbose=False)
    assert mnist.source.kind == "cache" and len(mnist.x_train) == 3


def test_cache_with_wrong_hash_is_not_trusted(monkeypatch, tmp_path, offline, capsys):
    _fake_cache(tmp_path, monkeypatch)  # the real MNIST hash will not match this file
    mnist = data.load_mnist()
    out = capsys.readouterr().out
    assert "does not match its SHA-256" in out
    assert mnist.source.is_stand_in and "STAND-IN, NOT THE REAL DATA" in out


def test_offline_without_data_gives_a_labelled_learnable_stand_in(offline):
    mnist = data.load_mnist(verbose=False)
    assert mnist.source.kind == "stand-in" and "synthetic" in mnist.source.location
    assert mnist.x_train.shape == (2000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert sorted(np.unique(mnist.y_train).tolist()) == list(range(10))
    # the digits differ by class: class-mean images are not all alike
    means = np.stack([mnist.x_train[mnist.y_train == d].mean(0) for d in range(10)])
    assert np.abs(means[1] - means[8]).mean() > 5


def test_no_network_and_not_offline_is_one_clear_error(monkeypatch, online, tmp_path):
    import keras

    calls = []

    def failing_get_file(*args, **kwargs):
        calls.append(kwargs.get("origin"))
        assert kwargs.get("cache_dir") == str(tmp_path / "keras_home")
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", failing_get_file)
    with pytest.raises(data.DataUnavailable) as info:
        data.load_mnist()
    message = str(info.value)
    assert calls == [data.MNIST_URL]
    assert (tmp_path / "keras_home" / "datasets").is_dir(), "the download goes where the cache step looks"
    for fix in ("connect to the internet", data.MNIST_ENV, setup.OFFLINE_ENV):
        assert fix in message


def test_offline_mode_never_tries_to_download(monkeypatch, offline):
    import keras

    def no_download(*args, **kwargs):
        raise AssertionError("offline mode must not download")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    assert data.load_mnist(verbose=False).source.is_stand_in


# --- images ------------------------------------------------------------------

def test_sample_images_ship_with_scikit_learn():
    temple, source = data.load_sample_image("china.jpg", verbose=False)
    flower, _ = data.load_sample_image("flower.jpg", verbose=False)
    assert temple.shape == (427, 640, 3) and flower.shape == (427, 640, 3)
    assert temple.dtype == np.uint8 and source.kind == "package"


def test_unknown_sample_image_names_the_choices():
    with pytest.raises(ValueError, match="china.jpg"):
        data.load_sample_image("temple.png")


def test_explicit_image_path_and_conversions(tmp_path, capsys):
    Image.fromarray(np.full((4, 5), 128, np.uint8), "L").save(tmp_path / "gray.png")
    Image.fromarray(np.zeros((4, 5, 4), np.uint8), "RGBA").save(tmp_path / "rgba.png")
    gray, source = data.load_sample_image("mine", path=tmp_path / "gray.png")
    assert gray.shape == (4, 5, 3) and source.kind == "local"
    assert data.read_rgb_image(tmp_path / "rgba.png").shape == (4, 5, 3)
    out = capsys.readouterr().out
    assert "converted L to RGB" in out and "converted RGBA to RGB" in out


def test_bad_image_paths_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="image file not found"):
        data.read_rgb_image(tmp_path / "missing.jpg")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        data.read_rgb_image(tmp_path)
    (tmp_path / "notes.jpg").write_text("this is not a JPEG")
    with pytest.raises(ValueError, match="corrupt, truncated or not an image"):
        data.read_rgb_image(tmp_path / "notes.jpg")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "ok.jpg")
    raw = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.jpg"):
        data.read_rgb_image(tmp_path / "cut.jpg")


def test_source_text_is_honest():
    assert str(data.Source("X", "download", "/p")) == "[data] X: download -- .../p"
    assert str(data.Source("X", "stand-in", "made")).startswith("*** STAND-IN")
    assert os.path.basename(str(data.keras_cache_dir())) == "datasets"


def test_a_source_report_names_the_data_but_no_machine_path():
    from utils.data import Source

    line = str(Source("MNIST", "local", "IDX files in /home/someone/data/mnist",
                      "first 8,000 digits to train / last 2,000 to test"))
    assert line == ("[data] MNIST: local -- IDX files in .../mnist "
                    "(first 8,000 digits to train / last 2,000 to test)")
    assert "/home" not in str(Source("MNIST", "cache", "/home/x/.keras/datasets/mnist.npz"))
    assert "C:" not in str(Source("flowers", "local", r"C:\Users\me\flower_photos"))
    url = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert str(Source("MNIST", "download", url)).endswith(url), "an address is not a machine path"
    stand_in = str(Source("MNIST", "stand-in", "synthetic digits made by utils.data"))
    assert stand_in.startswith("*** STAND-IN") and "utils.data" in stand_in
