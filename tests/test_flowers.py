"""utils.flowers: the tf.data pipeline, the transfer-learning model helpers, the TF Hub address, the benchmark."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _flower_files import (
    isolated,  # noqa: F401 (autouse: no test sees the real flower folder)
    make_class_tree,
)

from utils import data, flowers, flowers_data, setup

ROOT = Path(__file__).resolve().parents[1]




# --- pipelines ----------------------------------------------------------------------

@pytest.fixture
def photo_split(tmp_path):
    root = make_class_tree(tmp_path / "p", ["a", "b", "c"], 4)
    got = flowers_data.flowers_from_folder(root, val_fraction=0.0, test_fraction=0.0, verbose=False)
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
    unit = next(iter(flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=40,
                                           preprocess=lambda x: x / 255.0)))[0]
    assert 0 <= unit.numpy().min() and unit.numpy().max() <= 1


def test_training_pipeline_shuffles_reproducibly_each_epoch(photo_split):
    def epochs(seed):
        ds = flowers.make_pipeline(photo_split.paths, photo_split.labels, image_size=40, batch_size=12,
                                   training=True, seed=seed)
        return [next(iter(ds))[1].numpy().tolist(), next(iter(ds))[1].numpy().tolist()]

    first, second = epochs(3)
    assert sorted(first) == sorted(photo_split.labels.tolist())
    assert first != photo_split.labels.tolist() or second != photo_split.labels.tolist()
    assert epochs(3) == [first, second], "the same seed gives the same order"


def test_small_photo_arrays_decode_once_then_come_from_the_cache(photo_split, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    first = flowers.small_photo_arrays(photo_split, 12)
    assert first.dtype == np.uint8 and first.shape == (len(photo_split.paths), 12, 12, 3)
    np.testing.assert_array_equal(first, flowers.load_images(photo_split.paths, 12))
    cached = list((tmp_path / "keras_home" / "datasets" / "cnn_course_small_photos").iterdir())
    assert len(cached) == 1 and cached[0].name.startswith(f"{photo_split.name}_12px_")

    def no_decoding(*args):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(flowers, "load_images", no_decoding)
    np.testing.assert_array_equal(flowers.small_photo_arrays(photo_split, 12), first)
    with pytest.raises(AssertionError, match="decoded again"):  # another size is another array
        flowers.small_photo_arrays(photo_split, 14)


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

def test_hub_handle_follows_the_contract_and_names_the_kaggle_address(offline, monkeypatch, tmp_path):
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
    assert flowers.HUB_INCEPTION_V3.startswith("https://www.kaggle.com/models/google/inception-v3/TensorFlow2/")


def test_tensorflow_hub_resolves_http_handles_by_download_and_paths_as_paths():
    """What tensorflow_hub does with each form of address (no network needed to ask)."""
    pytest.importorskip("tensorflow_hub")  # hub imports pkg_resources: setuptools < 82
    from tensorflow_hub import compressed_module_resolver, resolver

    http = compressed_module_resolver.HttpCompressedFileResolver()
    for address in (flowers.HUB_INCEPTION_V3, flowers.HUB_INCEPTION_V3_TFHUB):
        assert http.is_supported(address), address
        assert http._append_compressed_format_query(address).endswith("?tf-hub-format=compressed")
    assert not http.is_supported("kaggle://google/inception-v3"), "no kaggle:// scheme in hub 0.16"
    assert resolver.PathResolver().is_supported("/some/local/saved_model")


def _notebook_hub_script() -> str:
    """The TF Hub script exactly as notebook 14 shows it (its %%writefile cell), without the magic line."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "14_transfer_learning_flowers.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%writefile")]
    assert len(cells) == 1, "notebook 14 should write exactly one script"
    return cells[0].split("\n", 1)[1]


def test_the_notebooks_hub_script_trains_a_head_on_a_local_savedmodel_under_tf_keras(tmp_path, photo_split):
    """The code the learner reads is the code that runs: a tiny 'feature vector' SavedModel through hub.KerasLayer."""
    pytest.importorskip("tensorflow_hub")
    import json

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
    script = tmp_path / "hub_head.py"
    script.write_text(_notebook_hub_script())
    split = {"paths": list(photo_split.paths), "labels": photo_split.labels.tolist()}
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"handle": str(saved), "image_size": 32, "num_classes": 3, "seed": 0, "batch_size": 4,
                               "epochs": 2, "result": str(tmp_path / "result.json"), "train": split, "val": split}))
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}  # the script sets it itself
    done = subprocess.run([sys.executable, str(script), str(job)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["keras_version"].startswith("2.") and result["hub_layer_is_keras_2"], "ran under tf_keras"
    assert result["feature_dim"] == 8 and result["trainable_params"] == 8 * 3 + 3
    assert len(result["history"]["loss"]) == 2 and "val_accuracy" in result["history"]


def _notebook_hub_folder_cell() -> tuple[str, str]:
    """Notebook 14's cell that chooses where the TF Hub script goes: its source and its stored output."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "14_transfer_learning_flowers.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and "HUB_SCRIPT =" in c.source]
    assert "nbval-ignore-output" not in cell.metadata.get("tags", []), "its output is compared: the same everywhere"
    return cell.source, "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_hub_workdir_is_fresh_in_the_temp_folder_whatever_the_course_root(monkeypatch, tmp_path):
    import tempfile

    from utils import course

    monkeypatch.setattr(course, "ROOT", tmp_path / "course")  # e.g. Colab's working folder
    monkeypatch.chdir(tmp_path)
    first, second = flowers.hub_workdir(), flowers.hub_workdir()
    assert first != second and first.is_dir() and second.is_dir(), "a fresh folder per run"
    temp = Path(tempfile.gettempdir()).resolve()
    for folder in (first, second):
        assert folder.resolve().parent == temp and folder.name.startswith(flowers.HUB_WORKDIR_PREFIX)
        assert not folder.resolve().is_relative_to(ROOT) and not folder.resolve().is_relative_to(tmp_path)


DRIVER_HUB_CELL = """
import contextlib, io, json, sys, tempfile
from pathlib import Path
import utils.course
from utils import flowers
namespace = {"Path": Path, "tempfile": tempfile, "flowers": flowers}
out = io.StringIO()
with contextlib.redirect_stdout(out):
    exec(compile(open(sys.argv[1]).read(), "hub_cell", "exec"), namespace)
script = namespace["HUB_SCRIPT"]
script.write_text("print('hello')")  # what %%writefile does next
print(json.dumps({"out": out.getvalue(), "script": str(script.resolve()), "job": str(namespace["HUB_JOB"]),
                  "in_checkout": utils.course.IN_CHECKOUT, "flowers": flowers.__file__,
                  "temp": tempfile.gettempdir()}))
"""


@pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(), reason="needs the course's sources to install")
def test_notebook_14s_hub_cell_prints_the_same_from_a_non_editable_install(tmp_path):
    """As on Colab (`pip install git+...`): the helpers in site-packages, the working folder not the course's."""
    import json
    import shutil

    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE-TEXT.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("utils", "lessons"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(source)], check=True, env=env, capture_output=True, timeout=300)
    content = tmp_path / "content"  # the notebook's working folder: no course in it
    content.mkdir()
    cell_source, stored = _notebook_hub_folder_cell()
    (tmp_path / "cell.py").write_text(cell_source)
    (tmp_path / "driver.py").write_text(DRIVER_HUB_CELL)
    env["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "cell.py")], cwd=content,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["flowers"]).is_relative_to(site) and report["in_checkout"] is False, "the installed helpers"
    assert report["out"] == stored, "the cell prints what the notebook stores, in a non-editable install too"
    script, job = Path(report["script"]), Path(report["job"])
    assert script == (content / "build" / "hub" / "hub_head.py").resolve(), "under build/ in the working folder"
    assert job.parent.parent == Path(report["temp"]) and not job.parent.exists(), "job: temp folder, removed at exit"
    assert [p.name for p in content.iterdir()] == ["build"], "nothing else written into the working folder"


def test_git_ignores_the_hub_script_where_notebook_14_writes_it():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a checkout")
    for folder in ("notebooks", "."):  # the notebook's working folder in a checkout, and the checkout itself
        path = (Path(folder) / "build" / "hub" / "hub_head.py").as_posix()
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert done.returncode == 0, f"git does not ignore {path}: a run would leave the checkout dirty"


def test_readme_and_benchmark_results_quote_one_flowers_target_and_notebook_14_prints_its_gap():
    import re

    def target(path):
        text = " ".join(path.read_text(encoding="utf-8").split())
        found = re.findall(r"The target, from one source for both networks: .*?for its network\.", text)
        assert len(found) == 1, f"{path.name} states the tf_flowers target once"
        return found[0]

    readme, results = target(ROOT / "README.md"), target(ROOT / "benchmarks" / "RESULTS.md")
    assert readme == results, "README.md and benchmarks/RESULTS.md quote the same target"
    assert "90–95 %" in readme and "above 80 %" in readme and "image_retraining.md" in readme
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "14_transfer_learning_flowers.ipynb", as_version=4)
    (cell,) = [c.source for c in nb.cells if "retraining tutorial" in c.source and c.cell_type == "code"]
    assert '(0.90, "90-95 % with Inception v3")' in cell and '(0.80, "above 80 % with MobileNet' in cell


def test_the_finetuned_model_is_found_where_notebook_14_saves_it(capsys):
    """Notebook 14 saves to finetuned_model_path() with a JSON beside it; notebook 15 loads both."""
    import json

    import keras

    model, why = flowers.load_finetuned()
    assert model is None and "no fine-tuned model" in why
    path = flowers.finetuned_model_path()
    assert path.name == flowers.FINETUNED_MODEL_FILE == "flowers_finetuned.keras"
    assert str(path.parent) not in why, "no machine path in a notebook's output"
    assert path.parent == data.keras_cache_dir("models")
    path.parent.mkdir(parents=True)
    tiny = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    tiny.save(path)
    path.with_suffix(".json").write_text(json.dumps({"class_names": ["a", "b"], "dataset": "tf_flowers"}))
    loaded, info = flowers.load_finetuned()
    out = capsys.readouterr().out
    assert info["class_names"] == ["a", "b"] and "2 classes" in out and str(path.parent) not in out
    x = np.ones((1, 4), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), tiny.predict(x, verbose=0), atol=1e-6)


def test_benchmark_script_explains_itself_and_checks_its_arguments():
    script = str(ROOT / "benchmarks" / "flowers_pipeline.py")
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    assert "naive" in shown.stdout and "cached" in shown.stdout and "--epochs" in shown.stdout
    refused = subprocess.run([sys.executable, script, "--epochs", "1"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "at least 2" in refused.stderr


def _conv_base(name="base"):
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name="conv_a")(inputs)
    x = keras.layers.ReLU(name="conv_a_relu")(x)
    x = keras.layers.Conv2D(6, 3, name="conv_b")(x)
    return keras.Model(inputs, keras.layers.ReLU(name="conv_b_relu")(x), name=name)


def test_find_base_skips_the_augmentation_block_in_front_of_the_base():
    """A Sequential is a Model: notebook 15 once took the augmentation block for the base (issue 19)."""
    import keras

    base = _conv_base("cut_base")
    inputs = keras.Input((32, 32, 3))
    x = flowers.make_augmentation(0)(inputs)  # a keras.Sequential, and the first nested model
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="predictions")(x))
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert nested[0].name == "augmentation", "the trap: the first nested Model is the augmentation"
    assert flowers.find_base(model) is base
    assert flowers.unfreeze_top(model, "conv_a_relu")["first_trainable"] == "conv_b"
    with pytest.raises(ValueError, match="its blocks end at"):
        flowers.unfreeze_top(model, "mixed8")
    two = keras.Model(inputs, keras.layers.Concatenate()([_conv_base("b1")(inputs), _conv_base("b2")(inputs)]))
    with pytest.raises(ValueError, match="expected one nested convolutional base"):
        flowers.find_base(two)


def test_the_saved_finetuned_model_round_trips_and_finds_its_base(capsys):
    import keras

    base = _conv_base()
    inputs = keras.Input((32, 32, 3))
    x = flowers.make_augmentation(0)(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(base(x, training=False))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="predictions")(x))
    info = {"class_names": ["a", "b"], "network": "MobileNet", "network_key": "mobilenet", "image_size": 32,
            "dataset": "tf_flowers", "mode": "quick"}
    with pytest.raises(ValueError, match="lacks"):
        flowers.save_finetuned(model, {"class_names": ["a", "b"]})
    path = flowers.save_finetuned(model, info)
    assert sorted(p.name for p in path.parent.iterdir()) == ["flowers_finetuned.json", "flowers_finetuned.keras"]
    loaded, got = flowers.load_finetuned()
    assert {key: got[key] for key in info} == info and "quick run" in capsys.readouterr().out
    assert got["keras_version"] == keras.__version__  # recorded, for the message when another Keras cannot read it
    assert flowers.find_base(loaded).name == "base"
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_a_finetuned_model_this_keras_cannot_read_is_reported_not_raised(capsys):
    """A model saved by another Keras (or a damaged file) gives one line naming the fix, and no model."""
    import json

    path = flowers.finetuned_model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a Keras archive")
    path.with_suffix(".json").write_text(json.dumps({"class_names": ["a", "b"], "keras_version": "9.9.9"}))
    model, why = flowers.load_finetuned()
    out = capsys.readouterr().out
    assert model is None and "cannot be loaded by Keras" in why and "9.9.9" in why and "notebook 14 again" in why
    assert why in out and str(path.parent) not in out


def test_mobilenet_preprocessing_is_the_pipeline_s():
    import keras

    x = np.array([[0.0, 127.5, 255.0]], "float32")
    np.testing.assert_allclose(keras.applications.mobilenet.preprocess_input(x.copy()),
                               flowers.PREPROCESS["mobilenet"](x.copy()))
