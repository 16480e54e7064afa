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
    assert course.images_dir() == course.ROOT / "images"
    plt.close(fig)
