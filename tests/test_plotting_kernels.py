"""Tests for utils.plotting.show_kernel_rows (the before/after kernel figure of notebook 05)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils.plotting import show_kernel_rows  # noqa: E402


def test_two_rows_one_shared_symmetric_scale():
    rng = np.random.default_rng(0)
    before, after = rng.normal(size=(5, 5, 3)), 3 * rng.normal(size=(5, 5, 3))
    fig = show_kernel_rows(before, after, "kernels")
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 6  # 3 kernels x 2 rows (the colour bar's axis holds no image)
    limit = max(np.abs(before).max(), np.abs(after).max())
    assert all(im.get_clim() == pytest.approx((-limit, limit)) for im in images)
    plt.close(fig)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="same|both have shape"):
        show_kernel_rows(np.zeros((3, 3, 2)), np.zeros((3, 3, 4)), "x")
