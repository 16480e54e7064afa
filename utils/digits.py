"""MNIST digit arrays for the CNN chapters: to float, zero-padded, shifted (robustness test, augmentation).

:func:`to_float`, :func:`pad_images`, and :func:`shift_images` / :func:`random_shifts` for the
robustness test and shift augmentation. The networks are taught, and defined, in their chapters:
Nielsen's CNN, the typical CNN pattern and the dense baseline in notebooks/05_typical_cnn_mnist.ipynb
(imported from ``lessons.typical_cnn``), LeNet-5 in notebooks/06_lenet5.ipynb (``lessons.lenet``).
Training and scoring (``train``, ``accuracy``, ``layer_table``...) live in ``utils/training.py``.
"""
from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------
# preprocessing
# ---------------------------------------------------------------------------

def _as_nhwc(images, name: str = "images") -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (n, height, width) or (n, height, width, channels), "
                         f"got {x.shape}")
    return x


def to_float(images) -> np.ndarray:
    """uint8 digits ``(n, 28, 28)`` -> float32 ``(n, 28, 28, 1)`` in [0, 1]."""
    x = _as_nhwc(images)
    if x.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels 0-255 (as load_mnist gives), got dtype {x.dtype}")
    return x.astype("float32") / 255.0


def pad_images(images, pad: int = 2) -> np.ndarray:
    """Zero-pad ``pad`` pixels on every side: 28x28 -> 32x32 with ``pad=2``."""
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValueError(f"pad must be a non-negative integer, got pad={pad!r}")
    x = _as_nhwc(images)
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def shift_images(images, dx: int = 0, dy: int = 0) -> np.ndarray:
    """Shift images ``dx`` pixels right and ``dy`` pixels down (negative: left/up), filling with 0.

    Works on ``(n, h, w)`` or ``(n, h, w, c)`` arrays and returns the same shape and dtype.
    Pixels pushed past the border are lost (nothing wraps round).
    """
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"images must have shape (n, height, width) or (n, height, width, channels), got {x.shape}")
    h, w = x.shape[1:3]
    for name, v, size in (("dx", dx, w), ("dy", dy, h)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must be an integer number of pixels, got {name}={v!r}")
        if abs(v) >= size:
            raise ValueError(f"{name}={v} would shift the whole {h}x{w} image out of the frame; use |{name}| < {size}")
    out = np.zeros_like(x)
    src_y = slice(max(0, -dy), h - max(0, dy))
    dst_y = slice(max(0, dy), h - max(0, -dy))
    src_x = slice(max(0, -dx), w - max(0, dx))
    dst_x = slice(max(0, dx), w - max(0, -dx))
    out[:, dst_y, dst_x] = x[:, src_y, src_x]
    return out


def random_shifts(images, max_shift: int = 2, *, seed: int = 0) -> np.ndarray:
    """Shift every image by its own random ``(dx, dy)``, each in ``-max_shift..max_shift``
    (data augmentation with :func:`shift_images`; same shape and dtype, seeded)."""
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative integer, got max_shift={max_shift!r}")
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"images must have shape (n, height, width) or (n, height, width, channels), got {x.shape}")
    rng = np.random.default_rng(seed)
    offsets = rng.integers(-max_shift, max_shift + 1, size=(len(x), 2))
    out = np.empty_like(x)
    for dx, dy in np.unique(offsets, axis=0):
        chosen = np.flatnonzero((offsets[:, 0] == dx) & (offsets[:, 1] == dy))
        out[chosen] = shift_images(x[chosen], int(dx), int(dy))
    return out
