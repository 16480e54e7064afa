"""The online path, executed: what a learner with internet runs, served from a mirror on 127.0.0.1.

CI has no internet, and the reference run is offline, so this is the only place the download
route runs. The module builds a mirror of every address the course downloads from -- a folder
``<mirror>/HOST/PATH`` for each ``https://HOST/PATH``, served by ``http.server`` -- and points
the loaders at it with ``CNN_COURSE_MIRROR`` (the setting a learner can use too: an institutional
mirror, a classroom cache). The mirror holds, made from ``../shared/data``:

- ``mnist.npz`` (Keras's layout: x_train/y_train/x_test/y_test, uint8) from the official IDX files;
- ``flower_photos.tgz`` (``flower_photos/<class>/*.jpg`` and a ``LICENSE.txt``, as the real archive);
- copies of MobileNet's ImageNet weights and Keras's class index (the published files);
- for Inception v3, the two weight files (with and without the top) in Keras's legacy HDF5 layout,
  with the real layer structure and random values, made here.

The notebooks then run with nbclient in fresh kernels, in fast mode with offline mode OFF, a fresh
Keras cache (``KERAS_HOME``) and none of the loaders' local-data variables: 01 (an MNIST chapter),
then 13, 14 and 15 in that order, sharing the cache, so 14's fine-tuned model reaches 15.
Notebook 14's TF Hub route is the one download no mirror can serve (``tensorflow_hub`` fetches
from Kaggle itself and checks no hash): the test puts an Inception v3 feature vector (real
structure, random weights) into TF Hub's own cache, so the route's code runs from there.

**Hashes.** The test-made archives cannot match the published hashes. The production checks are
not weakened: only in the test's kernels, a ``sitecustomize.py`` written into a temporary folder on
their ``PYTHONPATH`` sets the expected hash constants to those of the test-made files (MNIST's
SHA-256, tf_flowers' SHA-256, the two Inception v3 MD5s); the copies of the published files keep
their published hashes. ``test_the_published_hash_refuses_the_test_made_archive`` shows that without
that override the same mirror's ``mnist.npz`` is refused and deleted.

Without ``../shared/data`` (a clean clone) the notebook tests skip, saying so; the mirror's unit
tests always run. The whole module takes about 5 minutes on a 2-core CPU of its own.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from utils import data, flowers_data, pretrained

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NOTEBOOKS = ROOT / "notebooks"
MNIST_CHAPTER = "01_convolution.ipynb"
CHAIN = ("13_inception_v3_pretrained.ipynb", "14_transfer_learning_flowers.ipynb", "15_what_the_network_sees.ipynb")
CELL_TIMEOUT = 600

# What ../shared/data must hold for the mirror.
SHARED_FILES = {
    "mnist": SHARED / "mnist",
    "flowers": SHARED / "tf_flowers" / "flower_photos",
    "mobilenet_2_5_128_tf.h5": SHARED / "imagenet" / "mobilenet_2_5_128_tf.h5",
    "imagenet_class_index.json": SHARED / "imagenet" / "imagenet_class_index.json",
}
# A loader's report line: "[data] MNIST: download -- .../mnist.npz (...)" (utils.data.Source).
REPORT = re.compile(r"\[data\] (?P<what>[^\n]+?): (?P<kind>local|cache|download|package|stand-in) -- ")
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:root|tmp|home)(?:/|\b)")


# ---------------------------------------------------------------------------
# the mirror server
# ---------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the mirror folder; counts what it served and what it did not hold."""

    served: Counter
    missing: Counter

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = urllib.parse.urlsplit(self.path).path
        if Path(self.translate_path(self.path)).is_file():
            self.served[path] += 1
        else:
            self.missing[path] += 1
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """An HTTP server for ``folder`` on 127.0.0.1 (a free port) in a thread: yields ``(base URL, handler class)``."""
    handler = type("MirrorHandler", (_Handler,), {"served": Counter(), "missing": Counter()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="mirror", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def mirror_path(mirror: Path, url: str) -> Path:
    """Where the mirror holds the file of ``url``: ``<mirror>/HOST/PATH``."""
    parts = urllib.parse.urlsplit(url)
    return mirror / parts.netloc / parts.path.lstrip("/")


def put(mirror: Path, url: str) -> Path:
    target = mirror_path(mirror, url)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


# ---------------------------------------------------------------------------
# unit tests of the mirror setting (no shared data needed)
# ---------------------------------------------------------------------------

def test_mirror_url_maps_every_address_to_host_and_path_under_the_base(monkeypatch):
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    assert data.mirror_url(data.MNIST_URL) == data.MNIST_URL, "no mirror: the original address"
    monkeypatch.setenv(data.MIRROR_ENV, "  ")
    assert data.mirror_url(data.MNIST_URL) == data.MNIST_URL, "an empty setting is no mirror"
    for base in ("http://127.0.0.1:8000", "http://127.0.0.1:8000/"):
        monkeypatch.setenv(data.MIRROR_ENV, base)
        assert data.mirror_url(data.MNIST_URL) == \
            "http://127.0.0.1:8000/storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    monkeypatch.setenv(data.MIRROR_ENV, "https://mirror.example.edu/cnn-course/")
    assert data.mirror_url(flowers_data.TF_FLOWERS_URL) == ("https://mirror.example.edu/cnn-course/storage.googleapis"
                                                            ".com/download.tensorflow.org/example_images/flower_photos.tgz")
    assert data.mirror_url("https://host.example/a/b.json?v=2") == \
        "https://mirror.example.edu/cnn-course/host.example/a/b.json?v=2"
    monkeypatch.setenv(data.MIRROR_ENV, "file:///srv/cnn-mirror")
    assert data.mirror_url(pretrained.IMAGENET_CLASS_INDEX.url) == \
        "file:///srv/cnn-mirror/storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"


@pytest.mark.parametrize("base", ["mirror.example.edu", "/srv/cnn-mirror", "ftp://mirror.example.edu", "http://"])
def test_a_mirror_setting_that_is_not_a_base_url_is_a_clear_error(monkeypatch, base):
    monkeypatch.setenv(data.MIRROR_ENV, base)
    with pytest.raises(ValueError) as info:
        data.mirror_url(data.MNIST_URL)
    message = str(info.value)
    assert data.MIRROR_ENV in message and repr(base) in message and "file:///" in message and "unset" in message


@pytest.fixture
def tiny_mirror(tmp_path, monkeypatch):
    """A mirror holding one genuine and one tampered file, served; the Keras cache is empty; online."""
    mirror = tmp_path / "mirror"
    genuine, tampered = b"the genuine file\n" * 100, b"the genuine file\n" * 99 + b"an altered line!\n"
    put(mirror, "https://files.example.org/data/genuine.bin").write_bytes(genuine)
    put(mirror, "https://files.example.org/data/tampered.bin").write_bytes(tampered)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("CNN_COURSE_OFFLINE", "0")
    with serve(mirror) as (base, handler):
        monkeypatch.setenv(data.MIRROR_ENV, base)
        yield base, handler, hashlib.sha256(genuine).hexdigest(), hashlib.md5(genuine).hexdigest()


def test_a_mirror_serves_the_published_file(tiny_mirror, tmp_path):
    base, handler, sha256, _ = tiny_mirror
    got = data.download_verified("genuine.bin", "https://files.example.org/data/genuine.bin", sha256)
    assert got == tmp_path / "keras_home" / "datasets" / "genuine.bin" and data.sha256_of(got) == sha256
    assert handler.served == Counter({"/files.example.org/data/genuine.bin": 1})


def test_a_tampered_file_from_the_mirror_is_refused_and_deleted(tiny_mirror, tmp_path):
    """The published hash guards a mirrored download as it guards the original: no file, one clear error."""
    base, handler, sha256, md5 = tiny_mirror
    url = "https://files.example.org/data/tampered.bin"
    with pytest.raises(data.HashMismatch) as info:
        data.download_verified("tampered.bin", url, sha256)
    message = str(info.value)
    assert f"{base}/files.example.org/data/tampered.bin" in message and sha256 in message
    assert data.MIRROR_ENV in message and "deleted" in message
    assert not (tmp_path / "keras_home" / "datasets" / "tampered.bin").exists()
    # Through a loader: fetch_verified (MNIST's step) and pretrained.locate (weights, MD5) refuse it too.
    with pytest.raises(data.DataUnavailable) as info:
        data.fetch_verified("tampered.bin", url, sha256, what="test data", env_var="CNN_COURSE_TEST_DIR")
    assert "HashMismatch" in str(info.value) and "CNN_COURSE_TEST_DIR" in str(info.value)
    spec = pretrained.RemoteFile("test weights", "tampered.bin", url, md5, "CNN_COURSE_TEST_WEIGHTS")
    with pytest.raises(data.DataUnavailable) as info:
        pretrained.locate(spec, verbose=False)
    assert md5 in str(info.value) and not spec.cached_path.exists()
    assert handler.served["/files.example.org/data/tampered.bin"] == 3


def test_every_download_goes_through_download_verified():
    """Only utils.data calls Keras's get_file: so every download gets the mirror and the published hash."""
    import ast

    def calls_get_file(path):
        return any(isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "get_file"
                   for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))

    assert calls_get_file(ROOT / "utils" / "data.py")
    callers = [path.relative_to(ROOT).as_posix() for path in sorted((ROOT / "utils").rglob("*.py"))
               if path.name != "data.py" and calls_get_file(path)]
    assert not callers, f"{callers} call keras.utils.get_file themselves: use utils.data.download_verified"


# ---------------------------------------------------------------------------
# the mirror of the course's downloads, from ../shared/data
# ---------------------------------------------------------------------------

def remote_files() -> list[pretrained.RemoteFile]:
    """Every file utils.pretrained can download (its module-level RemoteFile constants)."""
    return [value for value in vars(pretrained).values() if isinstance(value, pretrained.RemoteFile)]


def write_legacy_h5(model, path: Path) -> None:
    """``model``'s weights in the HDF5 layout of Keras's published application weights (read by layer order)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.1.5"
        for layer in model.layers:
            group = f.create_group(layer.name)
            weights = layer.trainable_weights + layer.non_trainable_weights  # Keras 2's order
            names = [f"{layer.name}/{w.name}:0".encode() for w in weights]
            group.attrs["weight_names"] = names
            for name, weight in zip(names, weights):
                group.create_dataset(name.decode("utf8"), data=np.asarray(weight))


def make_inception_weights(mirror: Path) -> dict[str, str]:
    """Inception v3's two weight files, random values, real structure; returns ``{fname: md5}``."""
    import keras

    made = {}
    for spec, include_top in ((pretrained.INCEPTION_V3_WEIGHTS, True), (pretrained.INCEPTION_V3_NOTOP_WEIGHTS, False)):
        keras.utils.set_random_seed(0)
        model = keras.applications.InceptionV3(weights=None, include_top=include_top)
        target = put(mirror, spec.url)
        write_legacy_h5(model, target)
        # The file loads where the course loads it: keras.applications with weights=<file>.
        check = keras.applications.InceptionV3(weights=str(target), include_top=include_top)
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights()[:3], check.get_weights()[:3]))
        del model, check
        keras.backend.clear_session()
        made[spec.fname] = pretrained.md5_of(target)
    return made


def make_mnist_npz(mirror: Path) -> Path:
    mnist = data.mnist_from_folder(SHARED_FILES["mnist"])
    assert (len(mnist.x_train), len(mnist.x_test)) == (60000, 10000), "../shared/data/mnist is not the full MNIST"
    target = put(mirror, data.MNIST_URL)
    np.savez_compressed(target, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test,
                        y_test=mnist.y_test)
    return target


def make_flowers_tgz(mirror: Path) -> Path:
    """``flower_photos.tgz``: ``flower_photos/<class>/*.jpg`` and ``flower_photos/LICENSE.txt``, as the real one."""
    source = SHARED_FILES["flowers"]
    target = put(mirror, flowers_data.TF_FLOWERS_URL)
    licence = target.parent / "LICENSE.txt"
    licence.write_text("All images in this archive are licensed under the Creative Commons By-Attribution "
                       "License (test mirror: per-photo credits are in the official archive).\n")
    with tarfile.open(target, "w:gz", compresslevel=1) as tar:
        tar.add(licence, arcname=f"{flowers_data.TF_FLOWERS_FOLDER}/LICENSE.txt")
        for name in flowers_data.TF_FLOWERS_CLASSES:
            for photo in sorted((source / name).iterdir()):
                tar.add(photo, arcname=f"{flowers_data.TF_FLOWERS_FOLDER}/{name}/{photo.name}")
    licence.unlink()
    return target


SITECUSTOMIZE = '''\
"""Test-only: written by tests/test_online.py into a temporary folder on its kernels' PYTHONPATH.

The mirror's MNIST archive, flower archive and Inception v3 weight files are made by the test, so
they cannot match the published hashes. Here, in the test's kernels only, the expected hashes become
those of the test-made files; the download code and its hash checks run unchanged.
"""
import importlib

STRINGS = {strings!r}
REMOTE_MD5 = {remote_md5!r}

for (_module, _name), _value in STRINGS.items():
    _mod = importlib.import_module(_module)
    assert isinstance(getattr(_mod, _name), str), (_module, _name)
    setattr(_mod, _name, _value)  # module globals, read when a loader runs

from utils import pretrained as _pretrained  # noqa: E402

_done = set()
for _value in list(vars(_pretrained).values()):
    if isinstance(_value, _pretrained.RemoteFile) and _value.fname in REMOTE_MD5:
        # In place: the same object sits in NETWORKS, KNOWN_FILES and other modules' imports.
        object.__setattr__(_value, "md5", REMOTE_MD5[_value.fname])
        _done.add(_value.fname)
assert _done == set(REMOTE_MD5), ("not found in utils.pretrained", set(REMOTE_MD5) - _done)
'''


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """The mirror folder and the test-only hash overrides: ``(folder, strings, remote_md5)``."""
    absent = [path.relative_to(ROOT.parent).as_posix() for path in SHARED_FILES.values() if not path.exists()]
    if absent:
        pytest.skip(f"the online-path test builds its mirror from ../shared/data, which lacks "
                    f"{', '.join(absent)} here (a clean clone without ../shared skips this test)")
    folder = tmp_path_factory.mktemp("mirror")
    remote_md5 = make_inception_weights(folder)
    for spec in remote_files():
        if spec.fname in remote_md5:
            continue
        if spec.fname not in SHARED_FILES:
            pytest.fail(f"utils.pretrained can download {spec.fname} ({spec.url}), which this test cannot serve: "
                        f"add it to the mirror in tests/test_online.py")
        assert pretrained.md5_of(SHARED_FILES[spec.fname]) == spec.md5, \
            f"../shared's {spec.fname} is not the published file (MD5 {spec.md5})"
        shutil.copyfile(SHARED_FILES[spec.fname], put(folder, spec.url))
    strings = {
        ("utils.data", "MNIST_SHA256"): data.sha256_of(make_mnist_npz(folder)),
        ("utils.flowers_data", "TF_FLOWERS_SHA256"): data.sha256_of(make_flowers_tgz(folder)),
    }
    return folder, strings, remote_md5


def kernel_environment(base: str, home: Path, images: Path, site: Path) -> dict[str, str]:
    """A learner online: fast mode, offline OFF, the mirror, a fresh Keras cache, no local-data variable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CNN_COURSE_")}
    # No CNN_COURSE_IMAGES_DIR: figures go where a learner's do (build/images, ignored by git).
    env.update(CNN_COURSE_FAST="1", CNN_COURSE_OFFLINE="0", CNN_COURSE_MIRROR=base, KERAS_HOME=str(home),
               TFHUB_CACHE_DIR=str(home.parent / "tfhub_cache"))
    # A fresh temporary folder too: nothing left there by an earlier run (14's TF Hub files) can stand in.
    (home.parent / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(home.parent / "tmp")
    env["PYTHONPATH"] = os.pathsep.join([str(site)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY") or env.get("no_proxy"), "127.0.0.1", "localhost"]))
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    for key in ("COVERAGE_PROCESS_START", "PYTEST_XDIST_WORKER"):
        env.pop(key, None)
    return env


def cell_texts(nb) -> list[tuple[int, str, str]]:
    """``(cell index, stream name or output type, text)`` of every output, in order."""
    texts = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                texts.append((index, output.get("name", "stdout"), output.get("text", "")))
            elif kind in ("execute_result", "display_data"):
                texts.append((index, kind, output.get("data", {}).get("text/plain", "")))
            elif kind == "error":
                texts.append((index, "error", "\n".join(output.get("traceback", []))))
    return texts


def execute(name: str, env: dict[str, str], keep: Path) -> dict:
    """Run one notebook in a fresh kernel; returns its outputs, the error (if any) and the wall time.

    The executed notebook is written into ``keep`` (pytest's temporary folder), to read after a failure.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    error = None
    try:
        client.execute(env=env)
    except CellExecutionError as failure:
        cell = next((k for k, c in enumerate(nb.cells) for o in c.get("outputs", [])
                     if o.get("output_type") == "error"), None)
        error = f"{name}, cell {cell}: {failure}"
    keep.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, keep / name)
    return {"name": name, "texts": cell_texts(nb), "error": error, "seconds": time.perf_counter() - start}


# TF Hub's Inception v3 feature vector, real structure, random weights, as a Keras 2 SavedModel (what
# hub.KerasLayer loads). tensorflow_hub downloads from Kaggle itself and checks no hash, so the mirror
# does not apply to it (it would let a mirror hand out any model); the test puts the model where
# tensorflow_hub caches the handle instead (TFHUB_CACHE_DIR/<sha1 of the handle>), and notebook 14's
# TF Hub route runs from that cache: its download step is the one this test cannot serve.
HUB_MODEL = '''\
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

tf_keras.utils.set_random_seed(0)
model = tf_keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None, input_shape=(None, None, 3))
tf.saved_model.save(model, sys.argv[1])
'''


def prefill_hub_cache(cache: Path, env: dict[str, str]) -> Path:
    from utils import flowers

    target = cache / hashlib.sha1(flowers.HUB_INCEPTION_V3.encode("utf8")).hexdigest()
    made = subprocess.run([sys.executable, "-c", HUB_MODEL, str(target)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert made.returncode == 0 and (target / "saved_model.pb").is_file(), made.stderr[-3000:]
    return target


RELOAD = '''\
from utils import data, flowers_data, pretrained

data.load_mnist()
root, kind = flowers_data.download_tf_flowers()
print(data.Source("tf_flowers", kind, str(root)))
for spec in [v for v in vars(pretrained).values() if isinstance(v, pretrained.RemoteFile)]:
    for _ in range(2):  # a file no notebook loaded downloads now, then comes from the cache
        path, kind = pretrained.locate(spec, verbose=False)
        print(data.Source(spec.what, kind, str(path)))
'''


@pytest.fixture(scope="module")
def online_run(mirror, tmp_path_factory):
    """01, then 13, 14 and 15 online against the mirror (one Keras cache), then every loader once more."""
    folder, strings, remote_md5 = mirror
    scratch = tmp_path_factory.mktemp("online")
    site = scratch / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE.format(strings=strings, remote_md5=remote_md5))
    home, images = scratch / "keras_home", scratch / "images"
    dirty_before = checkout_changes()
    with serve(folder) as (base, handler):
        env = kernel_environment(base, home, images, site)
        start = time.perf_counter()
        prefill_hub_cache(Path(env["TFHUB_CACHE_DIR"]), env)
        hub_seconds = time.perf_counter() - start
        # Each runs even when one before it failed: one CI run reports every notebook's failure.
        runs = [execute(name, env, scratch / "executed") for name in (MNIST_CHAPTER, *CHAIN)]
        reload = subprocess.run([sys.executable, "-c", RELOAD], env=env, cwd=scratch, capture_output=True,
                                text=True, timeout=300)
    return {"runs": runs, "reload": reload, "hub_seconds": hub_seconds, "served": handler.served,
            "missing": handler.missing, "mirror": folder, "home": home, "scratch": scratch,
            "dirty_before": dirty_before, "dirty_after": checkout_changes()}


def checkout_changes() -> set[str] | None:
    """What `git status` reports under notebooks/ and images/ (None outside a git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "notebooks", "images"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return set(status.stdout.splitlines())


def test_a_learners_run_leaves_the_checkout_clean(online_run):
    """Figures go to build/images, the TF Hub script to build/hub/ (both ignored): git sees nothing new."""
    if online_run["dirty_before"] is None:
        pytest.skip("not a git checkout")
    added = online_run["dirty_after"] - online_run["dirty_before"]
    assert not added, f"running the notebooks changed the checkout: {sorted(added)}"


def all_texts(online_run, streams=("stdout", "execute_result", "display_data", "error")):
    for run in online_run["runs"]:
        for cell, stream, text in run["texts"]:
            if stream in streams:
                yield run["name"], cell, text


def test_the_notebooks_run_online_without_an_error(online_run):
    times = ", ".join(f"{run['name'][:2]} {run['seconds']:.0f} s" for run in online_run["runs"])
    print(f"online run: TF Hub cache {online_run['hub_seconds']:.0f} s, {times}")
    errors = [run["error"] for run in online_run["runs"] if run["error"]]
    assert not errors, errors[0]
    assert [run["name"] for run in online_run["runs"]] == [MNIST_CHAPTER, *CHAIN]


def test_every_loader_downloads_first_then_uses_its_cache(online_run):
    reload = online_run["reload"]
    assert reload.returncode == 0, reload.stderr[-3000:]
    reports = [(f"{name} cell {cell}", m["what"], m["kind"])
               for name, cell, text in all_texts(online_run) for m in REPORT.finditer(text)]
    reports += [("reload", m["what"], m["kind"]) for m in REPORT.finditer(reload.stdout)]
    seen: dict[str, list[tuple[str, str]]] = {}
    for where, what, kind in reports:
        if kind != "package":  # scikit-learn's sample photos ship with the package
            seen.setdefault(what, []).append((where, kind))
    expected = {"MNIST", "tf_flowers", *(spec.what for spec in remote_files())}
    assert set(seen) == expected, f"reports for {sorted(seen)}, expected {sorted(expected)}"
    for what, history in seen.items():
        kinds = [kind for _, kind in history]
        assert kinds[0] == "download" and len(kinds) >= 2 and set(kinds[1:]) == {"cache"}, \
            f"{what}: expected a download, then the cache: {history}"


def test_the_mirror_served_each_file_once_and_nothing_was_missing(online_run):
    folder = online_run["mirror"]
    files = {"/" + path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    assert not online_run["missing"], f"asked for files the mirror does not hold: {dict(online_run['missing'])}"
    assert dict(online_run["served"]) == {path: 1 for path in files}


def test_14_hands_its_fine_tuned_model_to_15(online_run):
    runs = {run["name"]: run for run in online_run["runs"]}
    assert CHAIN[2] in runs, "15 did not run"
    saved = [p for p in (online_run["home"] / "models").glob("*.keras")]
    assert saved, "14 saved no fine-tuned model in the Keras cache"
    out15 = "".join(text for _, stream, text in runs[CHAIN[2]]["texts"] if stream == "stdout")
    assert re.search(r"\[weights\] fine-tuned .+ from notebook 14", out15), \
        "15 did not load the model 14 saved: " + "; ".join(line for line in out15.splitlines() if "[weights]" in line)


def test_14_runs_its_tf_hub_route(online_run):
    runs = {run["name"]: run for run in online_run["runs"]}
    out14 = "".join(text for _, stream, text in runs[CHAIN[1]]["texts"] if stream == "stdout")
    assert "TF Hub route skipped" not in out14
    assert re.search(r"tf_keras [\d.]+: 2048-long features", out14), "14's TF Hub route printed no result"


def test_no_output_shows_a_stand_in_or_a_machine_path(online_run):
    for name, cell, text in all_texts(online_run):
        assert "STAND-IN" not in text and "RANDOM WEIGHTS" not in text, \
            f"{name} cell {cell} shows a stand-in online: {text[:500]}"
        found = MACHINE_PATH.search(text) or re.search(re.escape(str(online_run["scratch"])), text)
        context = text[max(0, found.start() - 80):found.end() + 80] if found else ""
        assert not found, f"{name} cell {cell} prints a machine path: ...{context}..."


def test_the_published_hash_refuses_the_test_made_archive(mirror, tmp_path, monkeypatch):
    """Without the test's override, the mirror's mnist.npz is refused by the real SHA-256 and deleted."""
    folder, strings, _ = mirror
    assert data.MNIST_SHA256 != strings[("utils.data", "MNIST_SHA256")]
    for key in [key for key in os.environ if key.startswith("CNN_COURSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CNN_COURSE_OFFLINE", "0")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    with serve(folder) as (base, handler):
        monkeypatch.setenv(data.MIRROR_ENV, base)
        with pytest.raises(data.DataUnavailable) as info:
            data.load_mnist(verbose=False)
    message = str(info.value)
    assert "HashMismatch" in message and data.MNIST_SHA256 in message and base in message
    assert handler.served == Counter({"/" + mirror_path(Path(), data.MNIST_URL).as_posix(): 1})
    assert not (tmp_path / "keras_home" / "datasets" / data.MNIST_NPZ).exists(), "the refused file is deleted"
