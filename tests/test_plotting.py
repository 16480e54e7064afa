import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils.plotting import save_fig, show_feature_maps, show_images  # noqa: E402


def test_save_fig_writes_a_stable_png(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_fig("my_figure-1", fig, images_dir=tmp_path)
    assert path == tmp_path / "my_figure-1.png"
    first = path.read_bytes()
    assert first.startswith(b"\x89PNG")
    save_fig("my_figure-1", fig, images_dir=tmp_path)
    assert path.read_bytes() == first, "re-saving an unchanged figure must give identical bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_figure-1.png"]
    plt.close(fig)


@pytest.mark.parametrize("name", ["Temple", "temple.png", "a b", "", "../escape", 3])
def test_save_fig_rejects_unstable_names(tmp_path, name):
    with pytest.raises(ValueError, match="stable file name"):
        save_fig(name, plt.figure(), images_dir=tmp_path)
    plt.close("all")


def test_show_images_grid_shape_and_titles():
    images = [np.zeros((5, 5)), np.ones((5, 5, 3)), np.zeros((5, 5, 1))]
    fig = show_images(images, ["a", "b", "c"], ncols=2)
    axes = fig.get_axes()
    assert len(axes) == 4  # 2 x 2 grid, last one empty
    assert [ax.get_title() for ax in axes[:3]] == ["a", "b", "c"]
    plt.close(fig)


def test_show_images_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        show_images([np.zeros((2, 2, 2, 2))])
    with pytest.raises(ValueError, match="2 titles for 1 images"):
        show_images([np.zeros((2, 2))], ["a", "b"])
    with pytest.raises(ValueError, match="no images"):
        show_images([])


def test_show_feature_maps_one_panel_per_channel():
    fig = show_feature_maps(np.random.rand(1, 6, 6, 5), ncols=5)
    assert len(fig.get_axes()) == 5
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(h, w, channels\)"):
        show_feature_maps(np.zeros((6, 6)))


def test_the_test_run_never_writes_the_committed_images(monkeypatch, tmp_path):
    from utils import course

    monkeypatch.setenv(course.IMAGES_ENV, str(tmp_path))
    fig = plt.figure()
    assert save_fig("redirected", fig) == tmp_path / "redirected.png"
    monkeypatch.delenv(course.IMAGES_ENV)
    monkeypatch.delenv(course.REFERENCE_ENV, raising=False)
    assert course.images_dir() == course.ROOT / "build" / "images"
    plt.close(fig)


def test_only_the_reference_run_writes_the_committed_images(monkeypatch):
    """A learner's run leaves the checkout clean: its figures go to build/images (git ignores build/)."""
    import subprocess

    from utils import course

    monkeypatch.delenv(course.IMAGES_ENV, raising=False)
    monkeypatch.setenv(course.REFERENCE_ENV, "1")
    assert course.images_dir() == course.ROOT / "images"
    monkeypatch.setenv(course.REFERENCE_ENV, "0")
    assert course.images_dir() == course.LEARNER_IMAGES_DIR
    if (course.ROOT / ".git").exists():
        probe = course.LEARNER_IMAGES_DIR / "probe.png"
        ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=course.ROOT)
        assert ignored.returncode == 0, "build/images must be ignored by git"


def _stamp_texts(fig):
    return [(t.get_text().replace("\n", " "), t.get_color()) for t in fig.texts]  # a stamp wraps at the width


def test_stamp_says_what_made_the_figure_and_marks_quick_runs():
    from types import SimpleNamespace

    from utils.plotting import QUICK_RUN, stamp

    fig, _ = plt.subplots()
    stamp(fig, "MNIST, 8,000 training digits, 10 epochs", env=SimpleNamespace(fast=False))
    assert _stamp_texts(fig) == [("MNIST, 8,000 training digits, 10 epochs", "dimgray")]
    stamp(fig, "MNIST, 200 digits, 1 epoch", env=SimpleNamespace(fast=True), standin="random weights")
    texts = [t for t, _ in _stamp_texts(fig)]
    assert texts == ["MNIST, 200 digits, 1 epoch", QUICK_RUN, "STAND-IN: random weights"], "re-stamping replaces"
    assert [c for _, c in _stamp_texts(fig)][1:] == ["red", "red"]
    plt.close(fig)


def test_stamp_reads_the_mode_switch_without_env(monkeypatch):
    from utils.plotting import QUICK_RUN, stamp

    monkeypatch.setenv("CNN_COURSE_FAST", "1")
    fig, _ = plt.subplots()
    assert QUICK_RUN in [t for t, _ in _stamp_texts(stamp(fig, "flowers, 3 epochs"))]
    with pytest.raises(ValueError, match="provenance"):
        stamp(fig, " ")
    plt.close(fig)


def test_stamp_is_inside_the_saved_png(tmp_path):
    from types import SimpleNamespace

    from utils.plotting import stamp

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1])
    plain = save_fig("plain", fig, images_dir=tmp_path)
    stamp(fig, "a provenance line long enough to widen nothing", env=SimpleNamespace(fast=True))
    stamped = save_fig("stamped", fig, images_dir=tmp_path)
    from PIL import Image

    assert Image.open(stamped).size[1] > Image.open(plain).size[1], "bbox_inches='tight' keeps the stamp"
    plt.close(fig)


def test_a_long_stamp_wraps_at_the_figure_width_instead_of_widening_the_png(tmp_path):
    """A provenance three times the figure's width adds rows under the plot; the PNG keeps the plot's width."""
    from types import SimpleNamespace

    from PIL import Image

    from utils.plotting import QUICK_RUN, stamp

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1])
    plain = Image.open(save_fig("plain", fig, images_dir=tmp_path)).size
    provenance = ("tf_flowers, 2,614 training photos at 32x32, a four-layer CNN, SGD with momentum 0.9, "
                  "learning rates tuned per activation, 5 seeds, each run stopped at 25 % training error")
    stamp(fig, provenance, env=SimpleNamespace(fast=True))
    stamped = Image.open(save_fig("stamped", fig, images_dir=tmp_path)).size
    texts = [t.get_text() for t in fig.texts]
    assert texts[0].count("\n") >= 2 and texts[0].replace("\n", " ") == provenance
    assert texts[1].replace("\n", " ") == QUICK_RUN
    assert stamped[0] <= plain[0] * 1.1, f"the stamp widened the PNG from {plain[0]} to {stamped[0]} pixels"
    renderer = fig.canvas.get_renderer()
    first, second = (t.get_window_extent(renderer) for t in fig.texts)
    assert first.y0 >= second.y1 - 1, "the QUICK RUN line sits below the wrapped provenance, not over it"
    plt.close(fig)
