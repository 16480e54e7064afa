"""utils.pretrained: the data contract for weights and the class index, image preparation, top-k.

Everything runs offline: the files are made by the tests (a tiny model's
weights, a made-up class index) and the download step is replaced by a fake.
Inception v3 itself is built a few times (about a second each).
"""
import inspect
import json
import os
import time

import h5py
import keras
import numpy as np
import pytest
from PIL import Image

from utils import data, pretrained, setup

ALL_ENV = (pretrained.INCEPTION_WEIGHTS_ENV, pretrained.INCEPTION_NOTOP_WEIGHTS_ENV, pretrained.MOBILENET_WEIGHTS_ENV,
           pretrained.CLASS_INDEX_ENV)
# The real MobileNet file, from its variable (read before the autouse fixture hides it from the tests).
REAL_MOBILENET = os.environ.get(pretrained.MOBILENET_WEIGHTS_ENV) or None


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test sees the developer's weight files, variables or Keras cache."""
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv(setup.OFFLINE_ENV, "1")


@pytest.fixture(scope="module")
def inception():
    """Inception v3 built once, offline with an empty cache: random weights (and the output it printed)."""
    import contextlib
    import io
    import tempfile

    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as home:
        for name in ALL_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("KERAS_HOME", home)
        mp.setenv(setup.OFFLINE_ENV, "1")
        keras.utils.set_random_seed(0)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            model, source = pretrained.load_inception_v3()
    return model, source, printed.getvalue()


def tiny_model(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="dense")(x))


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def tiny_spec(tmp_path, md5="0" * 32, fname="tiny.weights.h5"):
    return pretrained.RemoteFile("tiny test weights", fname, "https://example.invalid/tiny.weights.h5", md5,
                                 "CNN_COURSE_TEST_TINY_WEIGHTS")


def fake_class_index(tmp_path):
    path = tmp_path / "imagenet_class_index.json"
    path.write_text(json.dumps({str(i): [f"n{i:08d}", f"thing_{i}"] for i in range(1000)}), encoding="utf-8")
    return path


# --- the constants are Keras's own -----------------------------------------

def test_file_names_urls_and_hashes_match_the_installed_keras():
    from keras.src.applications import imagenet_utils, inception_v3

    source = inspect.getsource(inception_v3)
    assert pretrained.INCEPTION_V3_WEIGHTS.url == inception_v3.WEIGHTS_PATH
    assert pretrained.INCEPTION_V3_NOTOP_WEIGHTS.url == inception_v3.WEIGHTS_PATH_NO_TOP
    for spec in (pretrained.INCEPTION_V3_WEIGHTS, pretrained.INCEPTION_V3_NOTOP_WEIGHTS):
        assert f'"{spec.fname}"' in source and f'file_hash="{spec.md5}"' in source
        assert spec.cached_path.name == spec.fname and spec.cached_path.parent.name == "models"
    assert pretrained.IMAGENET_CLASS_INDEX.url == imagenet_utils.CLASS_INDEX_PATH
    assert f'file_hash="{pretrained.IMAGENET_CLASS_INDEX.md5}"' in inspect.getsource(imagenet_utils)


def test_cache_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "elsewhere"))
    assert pretrained.INCEPTION_V3_WEIGHTS.cached_path == (
        tmp_path / "elsewhere" / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels.h5")


# --- the contract, on a tiny model ------------------------------------------

def test_explicit_file_is_used_and_loads_the_exact_weights(tmp_path, capsys):
    saved = tiny_model(1)
    path = tmp_path / "mine.weights.h5"
    saved.save_weights(path)
    target = tiny_model(2)
    assert not same_weights(saved, target)
    source = pretrained.load_weights_into(target, tiny_spec(tmp_path), path)
    assert same_weights(saved, target)
    assert (source.kind, source.location) == ("local", str(path))
    printed = capsys.readouterr().out
    # The report names the file by its last part only: no machine path in a stored output.
    assert "not the official Keras file" in source.note and ".../mine.weights.h5" in printed
    assert str(tmp_path) not in printed


def test_environment_variable_is_the_explicit_file(monkeypatch, tmp_path):
    saved = tiny_model(1)
    path = tmp_path / "mine.weights.h5"
    saved.save_weights(path)
    spec = tiny_spec(tmp_path)
    monkeypatch.setenv(spec.env_var, str(path))
    target = tiny_model(2)
    assert pretrained.load_weights_into(target, spec, verbose=False).kind == "local"
    assert same_weights(saved, target)


def test_missing_explicit_file_is_an_error_never_a_silent_fallback(monkeypatch, tmp_path):
    spec = tiny_spec(tmp_path)
    monkeypatch.setenv(spec.env_var, str(tmp_path / "nope.h5"))
    with pytest.raises(FileNotFoundError, match=rf"nope.h5 \(from \${spec.env_var}\) is not a file"):
        pretrained.load_weights_into(tiny_model(2), spec)


def test_verified_cache_is_used_without_network(tmp_path):
    saved = tiny_model(1)
    cached = pretrained.keras_cache_dir("models") / "tiny.weights.h5"
    cached.parent.mkdir(parents=True)
    saved.save_weights(cached)
    spec = tiny_spec(tmp_path, md5=pretrained.md5_of(cached))
    target = tiny_model(2)
    source = pretrained.load_weights_into(target, spec, verbose=False)
    assert (source.kind, source.location) == ("cache", str(cached)) and same_weights(saved, target)


def test_corrupted_cache_file_is_rejected_by_its_md5(capsys):
    spec = pretrained.INCEPTION_V3_WEIGHTS
    spec.cached_path.parent.mkdir(parents=True)
    spec.cached_path.write_bytes(b"half a download")
    with pytest.raises(data.DataUnavailable, match="does not match its MD5 9a0d58056eeedaa3f26cb7ebd46da564"):
        pretrained.locate(spec)
    assert "not using it" in capsys.readouterr().out
    model = tiny_model(2)
    before = model.get_weights()
    source = pretrained.load_weights_into(model, spec, verbose=False)  # offline: the stand-in, file untouched
    assert source.is_stand_in and all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_corrupted_cache_online_tries_a_fresh_download_with_keras_hash(monkeypatch, online):
    spec = pretrained.INCEPTION_V3_WEIGHTS
    spec.cached_path.parent.mkdir(parents=True)
    spec.cached_path.write_bytes(b"half a download")
    calls = []

    def fake_get_file(fname, origin, **kwargs):
        calls.append((fname, origin, kwargs))
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    with pytest.raises(data.DataUnavailable) as info:
        pretrained.locate(spec, verbose=False)
    (fname, origin, kwargs), = calls
    assert (fname, origin) == (spec.fname, spec.url)
    assert kwargs["file_hash"] == spec.md5 and kwargs["hash_algorithm"] == "md5"
    assert kwargs["cache_subdir"] == "models" and kwargs["cache_dir"] == str(pretrained.keras_cache_dir(""))
    assert "does not match its MD5" in str(info.value) and "Name or service not known" in str(info.value)


def test_a_download_is_reported_as_such(monkeypatch, online, tmp_path):
    spec = tiny_spec(tmp_path)

    def fake_get_file(fname, origin, cache_subdir, cache_dir, **kwargs):
        target = tmp_path / "downloaded.weights.h5"
        tiny_model(1).save_weights(target)
        return str(target)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    assert pretrained.load_weights_into(tiny_model(2), spec, verbose=False).kind == "download"


def test_offline_gives_random_weights_behind_the_banner_and_never_downloads(monkeypatch, capsys):
    def no_download(*args, **kwargs):
        raise AssertionError("offline mode must not download")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    source = pretrained.load_weights_into(tiny_model(2), pretrained.INCEPTION_V3_NOTOP_WEIGHTS, verbose=False)
    out = capsys.readouterr().out
    assert source.is_stand_in and "random" in source.location
    assert "RANDOM WEIGHTS" in out and "MEANINGLESS" in out and pretrained.INCEPTION_NOTOP_WEIGHTS_ENV in out
    assert str(source).startswith("*** STAND-IN")


def test_no_network_and_not_offline_is_one_quick_clear_error(online):
    """The real download attempt: it fails at once here; elsewhere, give it a bogus origin."""
    spec = pretrained.RemoteFile("Inception v3 ImageNet weights", pretrained.INCEPTION_V3_WEIGHTS.fname,
                                 "http://127.0.0.1:9/nothing-listens-here.h5", pretrained.INCEPTION_V3_WEIGHTS.md5,
                                 pretrained.INCEPTION_WEIGHTS_ENV)
    start = time.perf_counter()
    with pytest.raises(data.DataUnavailable) as info:
        pretrained.load_weights_into(tiny_model(2), spec)
    assert time.perf_counter() - start < 30
    message = str(info.value)
    assert "Inception v3 ImageNet weights is not available" in message and "failed" in message
    assert f"export {pretrained.INCEPTION_WEIGHTS_ENV}=/path/to/{spec.fname}" in message
    assert f"{setup.OFFLINE_ENV}=1" in message and "/path/to/folder" not in message


def test_file_that_is_not_weights_gets_a_clear_error(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an HDF5 file")
    with pytest.raises(ValueError, match="cannot load tiny test weights from .*junk.h5.*same architecture"):
        pretrained.load_weights_into(tiny_model(2), tiny_spec(tmp_path), junk, verbose=False)


def test_the_other_official_file_is_named_in_the_error(monkeypatch, tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"pretend notop file")
    notop = pretrained.RemoteFile("the base", "notop.h5", "https://example.invalid/notop.h5",
                                  pretrained.md5_of(path), "CNN_COURSE_TEST_NOTOP")
    monkeypatch.setattr(pretrained, "KNOWN_FILES", (notop,))
    with pytest.raises(ValueError, match=r"is notop.h5 \(the base\), not tiny.weights.h5.*CNN_COURSE_TEST_NOTOP"):
        pretrained.load_weights_into(tiny_model(2), tiny_spec(tmp_path), path)


# --- Inception v3 -------------------------------------------------------------

def test_offline_inception_is_random_behind_the_banner(inception):
    model, source, printed = inception
    assert source.is_stand_in and source.dataset == pretrained.INCEPTION_V3_WEIGHTS.what
    assert "RANDOM WEIGHTS" in printed and "MEANINGLESS" in printed and "*** STAND-IN" in printed
    assert model.input_shape == (None, 299, 299, 3) and model.output_shape == (None, 1000)
    assert model.count_params() == 23_851_784


def test_explicit_inception_file_loads_exactly(inception, tmp_path):
    model, _, _ = inception
    path = tmp_path / "inception_v3_mine.weights.h5"
    model.save_weights(path)
    keras.utils.set_random_seed(1)
    loaded, source = pretrained.load_inception_v3(weights_path=path, verbose=False)
    path.unlink()
    assert source.kind == "local" and not source.is_stand_in
    assert same_weights(model, loaded)


def test_keras_legacy_hdf5_layout_loads(tmp_path):
    """Keras's own weight files are legacy HDF5 (weights by layer order, a plain .h5 name)."""
    from keras.src.legacy.saving import legacy_h5_format

    saved = tiny_model(1)
    path = tmp_path / "tiny_weights_tf_dim_ordering_tf_kernels.h5"
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, saved)
    target = tiny_model(2)
    pretrained.load_weights_into(target, tiny_spec(tmp_path), path, verbose=False)
    assert same_weights(saved, target)


def test_include_top_false_uses_the_notop_file_and_its_variable(capsys):
    base, source = pretrained.load_inception_v3(include_top=False, input_shape=(75, 75, 3), pooling="avg")
    assert base.output_shape == (None, 2048) and base.count_params() == 21_802_784
    assert source.dataset == pretrained.INCEPTION_V3_NOTOP_WEIGHTS.what and source.is_stand_in
    assert pretrained.INCEPTION_NOTOP_WEIGHTS_ENV in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    ({"input_shape": (224, 224, 3)}, "takes 299×299×3 images"),
    ({"include_top": False, "input_shape": (64, 64, 3)}, "at least 75"),
    ({"include_top": False, "input_shape": (128, 128, 1)}, r"\(height, width, 3\)"),
    ({"pooling": "avg"}, "only applies to the base"),
    ({"include_top": False, "pooling": "mean"}, "'avg' or 'max'"),
    ({"include_top": "yes"}, "True or False"),
])
def test_bad_model_arguments_are_rejected_before_building(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pretrained.load_inception_v3(**kwargs)


# --- class index and decoding -------------------------------------------------

def test_class_index_from_its_variable_and_keras_compatible_decoding(monkeypatch, tmp_path):
    from keras.src.applications import imagenet_utils

    path = fake_class_index(tmp_path)
    monkeypatch.setenv(pretrained.CLASS_INDEX_ENV, str(path))
    classes, source = pretrained.load_imagenet_classes(verbose=False)
    assert source.kind == "local" and classes[7] == ("n00000007", "thing_7") and len(classes) == 1000
    preds = np.random.default_rng(0).dirichlet(np.ones(1000), size=2).astype(np.float32)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", json.loads(path.read_text()))
    expected = keras.applications.inception_v3.decode_predictions(preds, top=5)
    ours = pretrained.decode_predictions(preds, top=5, classes=classes)
    assert [[(w, n) for w, n, _ in row] for row in ours] == [[(w, n) for w, n, _ in row] for row in expected]
    np.testing.assert_allclose([[p for *_, p in row] for row in ours], [[p for *_, p in row] for row in expected])


def test_offline_without_class_index_shows_ids(capsys):
    classes, source = pretrained.load_imagenet_classes()
    assert classes is None and source.is_stand_in and "class ids" in capsys.readouterr().out
    preds = np.zeros((1, 1000))
    preds[0, 42] = 1
    assert pretrained.decode_predictions(preds, top=1) == [[("?", "class #42", 1.0)]]


def test_bad_class_index_and_bad_predictions_are_rejected(tmp_path):
    bad = tmp_path / "index.json"
    bad.write_text(json.dumps({"0": ["n1", "one"]}))
    with pytest.raises(ValueError, match="keys '0'..'999'"):
        pretrained.load_imagenet_classes(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="JSONDecodeError"):
        pretrained.parse_class_index(bad)
    with pytest.raises(ValueError, match=r"shape \(n, 1000\)"):
        pretrained.decode_predictions(np.zeros(1000))
    with pytest.raises(ValueError, match="top must be an integer"):
        pretrained.decode_predictions(np.zeros((1, 1000)), top=0)


# --- images in, top-k out -------------------------------------------------------

def test_prepare_image_maps_0_255_to_minus1_1_at_299():
    image = np.random.default_rng(0).integers(0, 256, size=(299, 299, 3)).astype(np.uint8)
    image[0, 0], image[0, 1] = 0, 255
    batch = pretrained.prepare_image(image)
    assert batch.shape == (1, 299, 299, 3) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], image / 127.5 - 1, atol=1e-6)
    assert batch[0, 0, 0, 0] == -1 and batch[0, 0, 1, 0] == 1


def test_center_crop_keeps_the_middle_and_stretch_keeps_everything():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :50] = (255, 0, 0)
    image[:, 50:150] = (0, 255, 0)
    image[:, 150:] = (0, 0, 255)
    cropped = pretrained.resize_image(image, 80)
    assert cropped.shape == (80, 80, 3) and np.all(cropped == (0, 255, 0))
    stretched = pretrained.resize_image(image, 80, center_crop=False)
    assert stretched[40, 0, 0] == 255 and stretched[40, -1, 2] == 255


def test_files_are_read_as_rgb(tmp_path, capsys):
    path = tmp_path / "gray.png"
    Image.fromarray(np.full((90, 120), 200, np.uint8)).save(path)
    batch = pretrained.prepare_image(path, size=75)
    assert batch.shape == (1, 75, 75, 3) and "converted L to RGB" in capsys.readouterr().out
    np.testing.assert_allclose(batch, 200 / 127.5 - 1, atol=1e-6)


@pytest.mark.parametrize("image, match", [
    (np.zeros((50, 50), np.uint8), "grayscale"),
    (np.zeros((50, 50, 1), np.uint8), "grayscale"),
    (np.zeros((50, 50, 4), np.uint8), "RGBA.*image\\[..., :3\\]"),
    (np.zeros((2, 50, 50, 3), np.uint8), "one image"),
    (np.zeros((50, 50, 5), np.uint8), r"shape \(height, width, 3\)"),
    (np.full((50, 50, 3), 0.5, np.float32), "multiply by 255"),
    (np.full((50, 50, 3), 300.0), "0-255"),
    (np.full((50, 50, 3), np.nan), "NaN"),
    (np.zeros((50, 50, 3), bool), "dtype bool"),
])
def test_wrong_images_are_rejected_with_the_fix(image, match):
    with pytest.raises(ValueError, match=match):
        pretrained.prepare_image(image)


def test_size_below_inception_minimum_is_rejected():
    with pytest.raises(ValueError, match="at least 75"):
        pretrained.prepare_image(np.zeros((100, 100, 3), np.uint8), size=32)


def test_top_k_rows_match_the_model_output(inception, monkeypatch, tmp_path):
    model, _, _ = inception
    image = np.random.default_rng(1).integers(0, 256, size=(240, 320, 3)).astype(np.uint8)
    probs = keras.ops.convert_to_numpy(model(pretrained.prepare_image(image), training=False))[0]
    rows = pretrained.top_k(model, image, k=5)
    assert [r.class_id for r in rows] == list(np.argsort(probs)[::-1][:5])
    np.testing.assert_allclose([r.prob for r in rows], np.sort(probs)[::-1][:5], rtol=1e-6)
    assert rows[0].name == f"class #{rows[0].class_id}"  # offline, no class index: ids
    named = pretrained.top_k(model, pretrained.prepare_image(image), k=3,
                             classes=pretrained.parse_class_index(fake_class_index(tmp_path)))
    assert [r.name for r in named] == [f"thing_{r.class_id}" for r in rows[:3]]
    assert "rank  class" in pretrained.format_top_k(rows)


def test_top_k_rejects_what_it_cannot_classify(inception):
    model, _, _ = inception
    raw_batch = np.full((1, 299, 299, 3), 128.0, np.float32)
    with pytest.raises(ValueError, match=r"values in \[-1, 1\]"):
        pretrained.top_k(model, raw_batch)
    with pytest.raises(ValueError, match="the model takes 299×299"):
        pretrained.top_k(model, np.zeros((1, 150, 150, 3), np.float32))
    with pytest.raises(ValueError, match="one image"):
        pretrained.top_k(model, np.zeros((2, 299, 299, 3), np.float32))
    with pytest.raises(ValueError, match="k must be an integer"):
        pretrained.top_k(model, raw_batch / 255, k=1001)
    with pytest.raises(ValueError, match="1000-class ImageNet classifier"):
        pretrained.top_k(tiny_model(0), np.zeros((8, 8, 3), np.uint8))


def test_plot_of_random_weights_is_stamped(inception):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [pretrained.Prediction(i, f"class #{i}", 0.1 / (i + 1)) for i in range(5)]
    image = np.zeros((60, 60, 3), np.uint8)
    fig = pretrained.plot_top_k(image, rows, source=inception[1])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title() for ax in fig.axes]
    assert any("RANDOM WEIGHTS" in t for t in texts)
    plt.close(fig)
    real = data.Source("Inception v3 ImageNet weights", "cache", "/x.h5")
    fig = pretrained.plot_top_k(image, rows, source=real)
    assert not any("RANDOM" in t.get_text() for ax in fig.axes for t in ax.texts)
    plt.close(fig)


# --- MobileNet and the choice of network ------------------------------------------------

def test_mobilenet_file_name_and_address_are_keras_s(monkeypatch, tmp_path):
    from keras.src.applications import mobilenet

    source = inspect.getsource(mobilenet)
    spec = pretrained.MOBILENET_WEIGHTS
    assert spec.url == mobilenet.BASE_WEIGHT_PATH + spec.fname
    assert '"mobilenet_%s_%d_tf.h5"' in source and spec.fname == "mobilenet_2_5_128_tf.h5"
    assert spec.env_var == "CNN_COURSE_MOBILENET_WEIGHTS" and spec in pretrained.KNOWN_FILES


def _mobilenet_spec_with_md5_of(monkeypatch, path):
    """Pretend a file made here is Keras's MobileNet file (its MD5 becomes the official one)."""
    fake = pretrained.RemoteFile(pretrained.MOBILENET_WEIGHTS.what, pretrained.MOBILENET_WEIGHTS.fname,
                                 pretrained.MOBILENET_WEIGHTS.url, pretrained.md5_of(path),
                                 pretrained.MOBILENET_WEIGHTS_ENV)
    spec = pretrained.NETWORKS["mobilenet"]
    monkeypatch.setitem(pretrained.NETWORKS, "mobilenet",
                        pretrained.NetworkSpec(**{**spec.__dict__, "weights": fake}))
    return fake


@pytest.fixture(scope="module")
def mobilenet_file(tmp_path_factory):
    """A MobileNet (alpha 0.25, 128 px) weight file made here, with seeded values (no download)."""
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(3)
    model = pretrained.NETWORKS["mobilenet"].build(None)
    path = tmp_path_factory.mktemp("mobilenet") / "made_here.h5"  # Keras's own files are legacy HDF5
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    return path, model


def test_mobilenet_by_the_contract_cache_then_refusals(monkeypatch, mobilenet_file, capsys):
    path, made = mobilenet_file
    fake = _mobilenet_spec_with_md5_of(monkeypatch, path)
    # 1. offline with nothing: NETWORK="mobilenet" keeps random weights behind the banner
    net = pretrained.choose_network("mobilenet")
    assert not net.real and net.weights_path is None and "RANDOM WEIGHTS" in capsys.readouterr().out
    # 2. a verified copy in the Keras cache is used (MD5 checked) and loads exactly
    fake.cached_path.parent.mkdir(parents=True)
    fake.cached_path.write_bytes(path.read_bytes())
    net = pretrained.choose_network("mobilenet")
    assert net.real and net.source.kind == "cache" and net.label.startswith("MobileNet")
    assert same_weights(net.build(), made)
    # 3. a tampered cached copy is refused (not loaded): offline, random weights again
    tampered = bytearray(path.read_bytes())
    tampered[-100] ^= 0xFF
    fake.cached_path.write_bytes(bytes(tampered))
    net = pretrained.choose_network("mobilenet")
    out = capsys.readouterr().out
    assert not net.real and "does not match its MD5" in out and "not using it" in out
    # 4. an explicit file under Keras's own name with another MD5 is refused, not used as given
    official_name = path.parent / fake.fname
    official_name.write_bytes(bytes(tampered))
    monkeypatch.setenv(pretrained.MOBILENET_WEIGHTS_ENV, str(official_name))
    with pytest.raises(ValueError, match="altered copy, refused"):
        pretrained.choose_network("mobilenet")
    # 5. another official file (Inception v3's, recognised by its MD5) is named in the error
    other = path.parent / "renamed.h5"
    other.write_bytes(path.read_bytes())
    monkeypatch.setattr(pretrained, "KNOWN_FILES", (pretrained.RemoteFile(
        "Inception v3 ImageNet weights", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "https://x.invalid/i.h5",
        pretrained.md5_of(other), pretrained.INCEPTION_WEIGHTS_ENV),))
    monkeypatch.setitem(pretrained.NETWORKS, "mobilenet", pretrained.NetworkSpec(
        **{**pretrained.NETWORKS["mobilenet"].__dict__, "weights": pretrained.MOBILENET_WEIGHTS}))
    monkeypatch.setenv(pretrained.MOBILENET_WEIGHTS_ENV, str(other))
    with pytest.raises(ValueError, match="inception_v3_weights_tf_dim_ordering_tf_kernels.h5"):
        pretrained.choose_network("mobilenet")


def test_mismatched_weight_file_is_refused_when_keras_loads_it(tmp_path):
    """A file saved for another architecture cannot pass for MobileNet's weights."""
    other = tmp_path / "other.weights.h5"
    tiny_model(0).save_weights(other)
    spec = pretrained.NETWORKS["mobilenet"]
    with pytest.raises(ValueError):
        spec.build(str(other))


def test_offline_inception_gives_way_to_mobilenet_in_one_line(monkeypatch, mobilenet_file, capsys):
    path, _ = mobilenet_file
    monkeypatch.setenv(pretrained.MOBILENET_WEIGHTS_ENV, str(path))
    net = pretrained.choose_network("inception_v3")
    out = capsys.readouterr().out
    assert net.key == "mobilenet" and net.requested == "inception_v3" and net.real and net.size == 128
    assert out.count("cannot be had") == 1 and "this run uses MobileNet" in out
    assert "used as given" in out  # not Keras's file: its MD5 differs, and it is not under Keras's name
    monkeypatch.delenv(pretrained.MOBILENET_WEIGHTS_ENV)
    net = pretrained.choose_network("inception_v3")
    assert not net.real and "nor MobileNet" in capsys.readouterr().out
    with pytest.raises(ValueError, match="NETWORK must be one of"):
        pretrained.choose_network("resnet")


def test_online_failure_is_an_error_not_a_fallback(monkeypatch, online):
    with pytest.raises(data.DataUnavailable):
        pretrained.choose_network("inception_v3", verbose=False)


def test_the_base_is_cut_at_conv_pw_13_relu_from_the_full_model(monkeypatch, mobilenet_file):
    path, made = mobilenet_file
    monkeypatch.setenv(pretrained.MOBILENET_WEIGHTS_ENV, str(path))
    net = pretrained.choose_network("mobilenet", verbose=False)
    base = pretrained.load_network_base(net)
    assert base.output_shape == (None, 4, 4, 256) and base.layers[-1].name == "conv_pw_13_relu"
    assert len(base.layers) < len(made.layers)  # the top (pooling, dropout, classifier) is gone
    for layer in base.layers:
        if layer.weights:
            assert same_weights(layer, made.get_layer(layer.name)), layer.name
    with pytest.raises(ValueError, match="takes 128 px"):
        pretrained.load_network_base(net, image_size=160)


@pytest.mark.skipif(REAL_MOBILENET is None, reason="CNN_COURSE_MOBILENET_WEIGHTS is not set (no real MobileNet file)")
def test_the_real_mobilenet_file_is_keras_s_and_knows_the_temple(monkeypatch, tmp_path):
    assert pretrained.md5_of(REAL_MOBILENET) == pretrained.MOBILENET_WEIGHTS.md5
    assert data.sha256_of(REAL_MOBILENET) == "fe295db7f78635f1403127e3ba8cdc6237f83262bdb745063a67c1d81190c7f8"
    monkeypatch.setenv(pretrained.MOBILENET_WEIGHTS_ENV, REAL_MOBILENET)
    net = pretrained.choose_network("inception_v3", verbose=False)
    assert net.real and "MD5 verified" in net.source.note
    china, _ = data.load_sample_image("china.jpg", verbose=False)
    # the whole photo stretched to 128x128, as the shared file's README checked it: 832 is "stupa"
    probs = net.build().predict(pretrained.prepare_image(china, 128, center_crop=False), verbose=0)[0]
    assert probs.argmax() == 832 and probs.max() > 0.5
    base = pretrained.load_network_base(net)
    assert base.output_shape == (None, 4, 4, 256)


def test_a_verified_class_index_is_installed_where_keras_looks(monkeypatch, tmp_path):
    index = fake_class_index(tmp_path)
    with pytest.raises(ValueError, match="not Keras's class index"):
        pretrained.install_class_index(index)  # made up: its MD5 is not Keras's
    fake = pretrained.RemoteFile("ImageNet class index", "imagenet_class_index.json",
                                 pretrained.IMAGENET_CLASS_INDEX.url, pretrained.md5_of(index),
                                 pretrained.CLASS_INDEX_ENV)
    monkeypatch.setattr(pretrained, "IMAGENET_CLASS_INDEX", fake)
    monkeypatch.setenv(pretrained.CLASS_INDEX_ENV, str(index))
    classes, _ = pretrained.load_imagenet_classes(verbose=False, for_keras=True)
    cached = tmp_path / "keras_home" / "models" / "imagenet_class_index.json"
    assert classes[7] == ("n00000007", "thing_7") and cached.read_bytes() == index.read_bytes()
