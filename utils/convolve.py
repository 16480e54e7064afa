"""Convolution in plain NumPy: the reference the notebooks check TensorFlow against.

``correlate2d`` is what deep-learning libraries call "convolution" (no kernel
flip); ``convolve2d`` flips the kernel first, as mathematics and signal
processing define it. Both take padding ``"valid"``, ``"same"`` (TensorFlow's
rule, extra zero at the bottom/right), ``"full"`` or an int, and a stride.
Notebook 01 writes the same cross-correlation as one matrix product (``lessons.convolution.conv_matrix``).
"""
from __future__ import annotations

import numpy as np

from utils import convmath


def _check_inputs(image, kernel) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim not in (2, 3):
        raise ValueError(
            f"image must be 2-D (h, w) or 3-D (h, w, channels), got an array of rank {image.ndim} "
            f"with shape {image.shape}; drop the batch axis (image[0]) or add a channel axis"
        )
    if kernel.ndim != image.ndim:
        raise ValueError(
            f"kernel rank {kernel.ndim} (shape {kernel.shape}) does not match image rank {image.ndim} "
            f"(shape {image.shape}): a (h, w) image takes a (fh, fw) kernel, a (h, w, c) image a (fh, fw, c) kernel"
        )
    if image.ndim == 3 and kernel.shape[2] != image.shape[2]:
        raise ValueError(f"kernel has {kernel.shape[2]} channels but the image has {image.shape[2]}")
    if 0 in kernel.shape or 0 in image.shape:
        raise ValueError(f"empty array: image {image.shape}, kernel {kernel.shape}")
    return image, kernel


def paddings(image_shape, kernel_shape, stride: int = 1, padding="valid") -> tuple[tuple[int, int], tuple[int, int]]:
    """Zeros ``((top, bottom), (left, right))`` that ``padding`` adds to an image of ``image_shape``."""
    fh, fw = kernel_shape[:2]
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            pads = ((0, 0), (0, 0))
        elif mode == "same":
            pads = (convmath.same_padding(image_shape[0], fh, stride),
                    convmath.same_padding(image_shape[1], fw, stride))
        elif mode == "full":
            pads = ((fh - 1, fh - 1), (fw - 1, fw - 1))
        else:
            raise ValueError(f"padding must be 'valid', 'same', 'full' or an int, got padding={padding!r}")
    else:
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be a non-negative int or a mode name, got padding={padding!r}")
        pads = ((padding, padding), (padding, padding))
    return pads


def pad_image(image, kernel_shape, stride: int = 1, padding="valid") -> np.ndarray:
    """Zero-pad ``image`` the way ``padding`` asks (see module doc)."""
    image = np.asarray(image)
    pads = paddings(image.shape, kernel_shape, stride, padding)
    if image.ndim == 3:
        pads = pads + ((0, 0),)
    return np.pad(image, pads)


def correlate2d(image, kernel, stride: int = 1, padding="valid") -> np.ndarray:
    """Slide ``kernel`` over ``image``: multiply element-wise and sum, at every position.

    A 3-D image ``(h, w, c)`` takes a 3-D kernel ``(fh, fw, c)`` and the products
    are summed over the channels too, giving one 2-D feature map.
    """
    image, kernel = _check_inputs(image, kernel)
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive integer, got stride={stride!r}")
    padded = pad_image(image, kernel.shape, stride, padding)
    fh, fw = kernel.shape[:2]
    if fh > padded.shape[0] or fw > padded.shape[1]:
        raise ValueError(
            f"kernel {fh}x{fw} does not fit the image {image.shape[0]}x{image.shape[1]} "
            f"(padded to {padded.shape[0]}x{padded.shape[1]} by padding={padding!r}): "
            f"use a smaller kernel, more padding or 'same'"
        )
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)
    if image.ndim == 3:
        windows = windows[:, :, 0]  # the window spans all channels: one position on that axis
    windows = windows[::stride, ::stride]
    return np.tensordot(windows, kernel, axes=kernel.ndim)


def convolve2d(image, kernel, stride: int = 1, padding="valid") -> np.ndarray:
    """True convolution: flip the kernel (rows and columns), then correlate."""
    _, kernel_array = _check_inputs(image, kernel)
    return correlate2d(image, kernel_array[::-1, ::-1], stride, padding)

