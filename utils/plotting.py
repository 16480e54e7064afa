"""Figures: one ``save_fig`` into ``images/``, one ``stamp`` saying what made a figure, and image grids."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


def save_fig(name: str, fig=None, *, images_dir: Path | str | None = None, dpi: int = 100) -> Path:
    """Save ``fig`` (default: the current figure) as ``images/<name>.png`` and return the path.

    ``images_dir`` defaults to ``utils.course.images_dir()``: the course's ``images/`` folder,
    or ``$CNN_COURSE_IMAGES_DIR`` when set (the test run points it at a temporary folder).

    Names are stable identifiers (lower case, digits, ``_`` and ``-``), so a
    notebook re-run overwrites its own figure instead of adding a new one. The
    PNG carries no software/date metadata, so unchanged figures give unchanged files.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"figure name {name!r} is not a stable file name: use lower case letters, "
            f"digits, '_' and '-', without an extension (e.g. 'temple_vertical')"
        )
    if images_dir is None:
        from utils.course import images_dir as default_images_dir

        images_dir = default_images_dir()
    images_dir = Path(images_dir)
    images_dir.mkdir(parents=True, exist_ok=True)
    fig = fig if fig is not None else plt.gcf()
    fig.tight_layout()
    path = images_dir / f"{name}.png"
    fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.1, metadata={"Software": None})
    return path


QUICK_RUN = "QUICK RUN (CNN_COURSE_FAST=1): shortened training on a subset, not the lesson's result"


STAMP_FONTSIZE = 9


def stamp(fig, provenance: str, *, env=None, standin: str | None = None):
    """Say on ``fig`` what made it: the data and how much training, e.g.
    ``stamp(fig, "MNIST, 8,000 training digits, 10 epochs", env=ENV)``.

    The provenance line goes under the figure in grey. In a quick run (``env.fast``, or
    ``CNN_COURSE_FAST=1`` when no ``env`` is given) a red QUICK RUN line follows, and
    ``standin`` (say "random weights: no ImageNet weights here") adds a red STAND-IN line,
    so such a figure can never pass for the reference result. Returns the figure.
    """
    if not isinstance(provenance, str) or not provenance.strip():
        raise ValueError("stamp needs the figure's provenance, e.g. 'MNIST, 8,000 training digits, 10 epochs'")
    if env is None:
        from utils.setup import fast_mode

        fast = fast_mode()
    else:
        fast = bool(env.fast)
    lines = [(provenance.strip(), "dimgray", "normal")]
    if fast:
        lines.append((QUICK_RUN, "red", "bold"))
    if standin:
        lines.append((f"STAND-IN: {standin}", "red", "bold"))
    for old in [t for t in fig.texts if getattr(t, "_cnn_course_stamp", False)]:
        old.remove()  # re-stamping (a re-run cell) replaces, never piles up
    # Each line wraps within the figure's width (about 12 characters of 9-pt text per inch), so a long
    # provenance adds rows under the plot instead of widening the saved PNG around it.
    width, height = fig.get_size_inches()
    chars = max(40, int(0.9 * width * 72 / (0.62 * STAMP_FONTSIZE)))
    row = 1.3 * STAMP_FONTSIZE / 72 / height  # one row of text, as a fraction of the figure's height
    y = -0.01
    for text, colour, weight in lines:
        wrapped = textwrap.fill(text, chars, break_long_words=False, break_on_hyphens=False)
        artist = fig.text(0.5, y, wrapped, ha="center", va="top", fontsize=STAMP_FONTSIZE, color=colour,
                          fontweight=weight, transform=fig.transFigure, linespacing=1.2)
        artist._cnn_course_stamp = True
        y -= row * (wrapped.count("\n") + 1)
    return fig


def _as_image(array) -> np.ndarray:
    image = np.asarray(array)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
        raise ValueError(
            f"cannot show an array of shape {image.shape} as an image: expected (h, w), "
            f"(h, w, 1), (h, w, 3) or (h, w, 4)"
        )
    return image


def show_images(images, titles=None, *, ncols: int = 4, cmap: str = "gray", size: float = 2.5,
                vmin=None, vmax=None, suptitle: str | None = None):
    """Show a list of images in a grid; returns the figure.

    Grayscale images use ``cmap``; colour images are shown as they are (uint8
    0-255 or float 0-1).
    """
    images = [_as_image(im) for im in images]
    if not images:
        raise ValueError("show_images got no images to show")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got ncols={ncols}")
    ncols = min(ncols, len(images))
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= len(images):
            continue
        image = images[k]
        ax.imshow(image, cmap=cmap if image.ndim == 2 else None, vmin=vmin, vmax=vmax,
                  interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_feature_maps(maps, *, ncols: int = 8, cmap: str = "viridis", size: float = 1.6,
                      max_maps: int | None = None, title: str | None = None):
    """Show the channels of one feature map tensor ``(h, w, channels)`` (or ``(1, h, w, c)``)."""
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(
            f"feature maps must have shape (h, w, channels) or (1, h, w, channels), got {maps.shape}"
        )
    channels = maps.shape[-1] if max_maps is None else min(max_maps, maps.shape[-1])
    fig = show_images([maps[..., c] for c in range(channels)], [f"map {c}" for c in range(channels)],
                      ncols=ncols, cmap=cmap, size=size)
    if title:
        fig.suptitle(title)
    return fig


def show_kernel_rows(before, after, title: str, *, size: float = 1.2, labels=("initial", "trained")):
    """Kernels before and after training, as two rows on one symmetric colour scale; returns the figure.

    ``before`` and ``after`` have shape ``(kh, kw, n)`` (the first input channel of ``n`` kernels).
    Red is a positive weight, blue a negative one, white 0; one colour bar serves every panel,
    so sizes compare across the two rows.
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.ndim != 3 or before.shape != after.shape:
        raise ValueError(f"before and after must both have shape (kh, kw, n), got {before.shape} and {after.shape}")
    n = before.shape[-1]
    limit = float(max(np.abs(before).max(), np.abs(after).max())) or 1.0
    fig = plt.figure(figsize=(size * n + 1.2, 2 * size + 0.9))
    grid = fig.add_gridspec(2, n + 1, width_ratios=[1] * n + [0.12])
    shown = None
    for row, (label, kernels) in enumerate(zip(labels, (before, after))):
        for k in range(n):
            ax = fig.add_subplot(grid[row, k])
            shown = ax.imshow(kernels[..., k], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{label} {k}", fontsize=8)
    fig.colorbar(shown, cax=fig.add_subplot(grid[:, n]), label="weight")
    fig.suptitle(title, fontsize=10)
    return fig
