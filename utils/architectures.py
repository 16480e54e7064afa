"""Classic CNN architectures as Keras functional models: AlexNet and GoogLeNet (ResNet is in utils/resnet.py).

Each builder follows its paper's layer table and returns a ``keras.Model``;
``tests/test_architectures.py`` pins the parameter counts:

- :func:`alexnet` -- Krizhevsky et al. 2012: five convolutions (local response
  normalisation after the first two), three max pools, three dense layers with
  dropout. ``groups=2`` splits conv2/4/5 as the paper's two GPUs did; ``scale``
  shrinks every layer's width for a quick run, ``activation="tanh"`` swaps the ReLUs
  (the paper's Figure 1 comparison). :class:`PCALighting` is the paper's colour
  ("lighting") augmentation, :func:`rgb_pca` its principal components.
- :func:`inception_module` and :func:`googlenet` -- Szegedy et al. 2014; ``aux=True``
  adds the two auxiliary classifiers on modules 4a and 4d (training only).

Shared with :mod:`utils.resnet`: :func:`param_counts`, :func:`mult_adds` (multiply-adds
as He et al. count "FLOPs") and the argument checks.

A note on counts: Keras's ``count_params()`` also counts BatchNorm's moving mean
and variance (two non-trainable numbers per channel), which PyTorch keeps as
buffers, not parameters. :func:`param_counts` returns the three numbers.

Every builder checks its arguments and raises one ``ValueError`` naming the bad
value and what would work.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers

from utils import convmath
from utils.convmath import check_feature_map, check_image_shape, conv_macs

# ---------------------------------------------------------------------------
# argument checks and counts (shared with utils/resnet.py)
# ---------------------------------------------------------------------------

_positive_int = convmath.positive_int


def param_counts(model) -> tuple[int, int, int]:
    """``(total, trainable, non_trainable)`` parameter counts of a built Keras model or layer.

    ``total`` is ``model.count_params()``; ``non_trainable`` is, in these models,
    BatchNorm's moving mean and variance.
    """
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return trainable + non_trainable, trainable, non_trainable


def mult_adds(model) -> int:
    """Multiply-adds of one forward pass on one image, as He et al. count "FLOPs".

    Every ``Conv2D`` (output positions x kernel height x width x input maps per group x filters) and
    ``Dense`` layer (inputs x units), nested models included; biases, BatchNorm, pooling and the
    shortcut additions are left out (they are a small fraction).
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += mult_adds(layer)
        elif type(layer) is layers.Conv2D:
            kh, kw, per_group, out_maps = layer.kernel.shape
            total += math.prod(layer.output.shape[1:3]) * kh * kw * per_group * out_maps
        elif isinstance(layer, layers.Dense):
            total += math.prod(layer.kernel.shape)
    return total


# ---------------------------------------------------------------------------
# AlexNet
# ---------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="cnn_course")
class LocalResponseNormalization(keras.layers.Layer):
    """AlexNet's local response normalisation across channels, via ``tf.nn.local_response_normalization``.

    For each pixel and channel ``i``: ``b_i = a_i / (bias + alpha * sum_j a_j**2) ** beta``,
    the sum running over channels ``i - depth_radius ... i + depth_radius``. The
    defaults are the paper's ``k = 2, n = 5, alpha = 1e-4, beta = 0.75``: its
    equation applies ``alpha`` to the plain sum, as TensorFlow does (Caffe and
    PyTorch divide ``alpha`` by ``n`` instead). It has no weights.
    """

    def __init__(self, depth_radius: int = 2, bias: float = 2.0, alpha: float = 1e-4, beta: float = 0.75,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(depth_radius, bool) or not isinstance(depth_radius, int) or depth_radius < 0:
            raise ValueError(f"depth_radius must be a non-negative integer (n = 2 * depth_radius + 1 "
                             f"channels), got depth_radius={depth_radius!r}")
        for name, value in (("bias", bias), ("alpha", alpha), ("beta", beta)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {name}={value!r}")
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, float(bias), float(alpha), float(beta)

    def call(self, inputs):
        import tensorflow as tf

        return tf.nn.local_response_normalization(inputs, depth_radius=self.depth_radius, bias=self.bias,
                                                  alpha=self.alpha, beta=self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias,
                "alpha": self.alpha, "beta": self.beta}


def rgb_pca(images) -> tuple:
    """Principal components of RGB pixel values: ``(eigenvalues, eigenvectors)``, largest first.

    ``images`` is any array whose last axis holds R, G, B (one image or a
    batch). The eigenvectors are the columns of the returned ``(3, 3)`` matrix.
    AlexNet computed them over all ImageNet training pixels, once.
    """
    pixels = np.asarray(images, dtype=np.float64)
    if pixels.ndim < 2 or pixels.shape[-1] != 3:
        raise ValueError(f"rgb_pca needs RGB images with 3 channels on the last axis, got shape {pixels.shape}")
    pixels = pixels.reshape(-1, 3)
    if len(pixels) < 2:
        raise ValueError("rgb_pca needs at least two pixels to estimate a covariance")
    values, vectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


@keras.saving.register_keras_serializable(package="cnn_course")
class PCALighting(keras.layers.Layer):
    """AlexNet's lighting augmentation: shift every pixel of an image along the RGB principal components.

    For each image, draw ``alpha_i ~ N(0, std)`` and add ``sum_i alpha_i * sqrt(lambda_i) * p_i``
    to every pixel, where ``lambda_i, p_i`` are the eigenvalues and eigenvectors
    from :func:`rgb_pca`, computed on pixels in the same value range as the inputs.
    ``sqrt(lambda_i)`` is the standard deviation of the pixels along ``p_i``, so the
    shift is the same fraction of the pixel range whether pixels run 0-1 or 0-255.
    (The paper writes ``alpha_i * lambda_i`` and leaves the scale open; with
    variances the shift would grow with the square of the pixel scale. Common
    re-implementations scale by the standard deviations, as here.) One colour shift per image: the illumination changes,
    the content does not. Active only in training, like Keras's other random
    preprocessing layers.
    """

    def __init__(self, eigenvalues, eigenvectors, std: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        values = np.asarray(eigenvalues, dtype=np.float32)
        vectors = np.asarray(eigenvectors, dtype=np.float32)
        if values.shape != (3,) or vectors.shape != (3, 3):
            raise ValueError(f"PCALighting needs 3 eigenvalues and a (3, 3) eigenvector matrix (from rgb_pca), "
                             f"got shapes {values.shape} and {vectors.shape}")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"PCALighting's eigenvalues are variances and must be non-negative numbers "
                             f"(from rgb_pca), got {values.tolist()}")
        if not isinstance(std, (int, float)) or isinstance(std, bool) or std < 0:
            raise ValueError(f"std must be a non-negative number (the paper: 0.1), got std={std!r}")
        self.eigenvalues, self.eigenvectors, self.std, self.seed = values, vectors, float(std), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.std == 0:
            return inputs
        images = keras.ops.convert_to_tensor(inputs)
        batched = len(images.shape) == 4
        if not batched:
            images = keras.ops.expand_dims(images, 0)
        alphas = keras.random.normal((keras.ops.shape(images)[0], 3), stddev=self.std, seed=self.seed_generator)
        shift = keras.ops.matmul(alphas * np.sqrt(self.eigenvalues), keras.ops.transpose(self.eigenvectors))
        images = images + keras.ops.cast(shift[:, None, None, :], images.dtype)
        return images if batched else images[0]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "eigenvalues": self.eigenvalues.tolist(),
                "eigenvectors": self.eigenvectors.tolist(), "std": self.std, "seed": self.seed}


# (name, filters, kernel, stride, padding, grouped on two GPUs in the paper)
ALEXNET_CONVS = (
    ("conv1", 96, 11, 4, "valid", False),
    ("conv2", 256, 5, 1, "same", True),
    ("conv3", 384, 3, 1, "same", False),
    ("conv4", 384, 3, 1, "same", True),
    ("conv5", 256, 3, 1, "same", True),
)
ALEXNET_DENSE = 4096


def _pool_out(n: int) -> int:  # 3x3 max pool, stride 2, "valid" (TensorFlow's rule)
    return math.ceil((n - 2) / 2) if n >= 3 else 0


def alexnet_feature_size(size: int) -> int:
    """Side of AlexNet's last feature map (before the dense layers) for an input side ``size``.

    ``227 -> 55 -> 27 -> 13 -> 6``: conv1 (11x11, stride 4, valid), then three
    3x3 / stride-2 max pools; the 'same' convolutions keep the size. 0 means the
    input is too small.
    """
    _positive_int("size", size)
    n = math.ceil((size - 10) / 4) if size >= 11 else 0
    for _ in range(3):
        n = _pool_out(n)
    return max(n, 0)


def _scaled(width: int, scale: float, multiple: int) -> int:
    return max(multiple, int(round(width * scale / multiple)) * multiple)


def alexnet(input_shape=(227, 227, 3), classes: int = 1000, *, lrn: bool = True, scale: float = 1.0,
            groups: int = 1, dropout: float = 0.5, activation: str = "relu",
            kernel_initializer: str = "glorot_uniform", name: str = "alexnet") -> keras.Model:
    """AlexNet (Krizhevsky, Sutskever & Hinton 2012) as a functional model.

    ``conv1 96@11x11/4 -> LRN -> pool -> conv2 256@5x5 -> LRN -> pool -> conv3 384 ->
    conv4 384 -> conv5 256 -> pool -> fc6 4096 -> dropout -> fc7 4096 -> dropout -> fc8``,
    ReLU after every convolution and hidden dense layer, softmax at the end.

    - ``lrn``: local response normalisation after conv1 and conv2 (the paper's values).
    - ``scale``: multiplies every layer's width (``scale=0.25``: 24 filters in
      conv1, 1,024 units in fc6...), for a network that trains in seconds.
    - ``groups=2``: conv2, conv4 and conv5 see only the half of the previous
      layer's maps that sat on the same GPU, as in the paper (fewer weights).
    - ``activation``: ``"relu"`` (the paper) or ``"tanh"``, the saturating unit the
      paper's Figure 1 compares it with, in every convolution and hidden dense layer.
    - ``kernel_initializer``: Keras's default ``"glorot_uniform"``, or e.g. ``"he_normal"``
      (He et al. 2015: twice the variance, so that ReLU layers keep the signal's scale).

    With the single-tower default the model has 62,378,344 parameters; with
    ``groups=2`` 60,965,224. The input must be at least 67x67 so that three
    max pools leave a non-empty map (227x227 in the paper's layout).
    """
    h, w, _ = check_image_shape(input_shape, builder="alexnet")
    _positive_int("classes", classes)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"alexnet: scale must be a positive number (1.0 = the paper's widths), got scale={scale!r}")
    if groups not in (1, 2) or isinstance(groups, bool):
        raise ValueError(f"alexnet: groups must be 1 (one tower) or 2 (the paper's two GPUs), got groups={groups!r}")
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"alexnet: dropout must be a rate in [0, 1), got dropout={dropout!r}")
    if activation not in ("relu", "tanh"):
        raise ValueError(f"alexnet: activation must be 'relu' (the paper) or 'tanh' (its Figure 1 comparison), "
                         f"got activation={activation!r}")
    if min(alexnet_feature_size(h), alexnet_feature_size(w)) < 1:
        raise ValueError(f"alexnet: input {h}x{w} is too small: conv1 (11x11, stride 4) and three 3x3 "
                         f"stride-2 max pools leave no pixel; use at least 67x67 (the paper: 227x227)")

    inputs = keras.Input(shape=(h, w, input_shape[2]), name="image")
    x = inputs
    for layer_name, filters, kernel, stride, padding, grouped in ALEXNET_CONVS:
        g = groups if grouped else 1
        x = layers.Conv2D(_scaled(filters, scale, groups), kernel, strides=stride, padding=padding, groups=g,
                          activation=activation, kernel_initializer=kernel_initializer, name=layer_name)(x)
        if layer_name in ("conv1", "conv2"):
            if lrn:
                x = LocalResponseNormalization(name=f"lrn{layer_name[-1]}")(x)
            x = layers.MaxPooling2D(3, strides=2, name=f"pool{layer_name[-1]}")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    for layer_name in ("fc6", "fc7"):
        x = layers.Dense(_scaled(ALEXNET_DENSE, scale, 1), activation=activation,
                         kernel_initializer=kernel_initializer, name=layer_name)(x)
        x = layers.Dropout(dropout, name=f"dropout_{layer_name}")(x)
    outputs = layers.Dense(classes, activation="softmax", name="fc8")(x)
    return keras.Model(inputs, outputs, name=name)


# ---------------------------------------------------------------------------
# GoogLeNet
# ---------------------------------------------------------------------------

# The paper's Table 1: (f1, f3r, f3, f5r, f5, pool_proj) for each module.
GOOGLENET_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv_relu(x, filters, kernel, name, strides=1):
    return layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu", name=name)(x)


def inception_module(x, f1: int, f3r: int, f3: int, f5r: int, f5: int, pool_proj: int, *, name: str = "inception"):
    """GoogLeNet's inception module on feature map ``x``; returns ``f1 + f3 + f5 + pool_proj`` maps.

    Four branches side by side, each ReLU-activated and 'same'-padded so their
    outputs stack along the channel axis (depth concatenation):

    - 1x1 convolution, ``f1`` maps;
    - 1x1 bottleneck to ``f3r`` maps, then 3x3 convolution, ``f3`` maps;
    - 1x1 bottleneck to ``f5r`` maps, then 5x5 convolution, ``f5`` maps;
    - 3x3 max pool (stride 1), then 1x1 projection to ``pool_proj`` maps.
    """
    check_feature_map(x, builder="inception_module")
    for arg, value in (("f1", f1), ("f3r", f3r), ("f3", f3), ("f5r", f5r), ("f5", f5), ("pool_proj", pool_proj)):
        _positive_int(arg, value)
    b1 = _conv_relu(x, f1, 1, f"{name}_1x1")
    b3 = _conv_relu(_conv_relu(x, f3r, 1, f"{name}_3x3_reduce"), f3, 3, f"{name}_3x3")
    b5 = _conv_relu(_conv_relu(x, f5r, 1, f"{name}_5x5_reduce"), f5, 5, f"{name}_5x5")
    bp = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = _conv_relu(bp, pool_proj, 1, f"{name}_pool_proj")
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([b1, b3, b5, bp])


def inception_cost(in_channels: int, height: int, width: int, f1: int, f3r: int | None, f3: int,
                   f5r: int | None, f5: int, pool_proj: int | None, *, use_bias: bool = True) -> dict:
    """Parameters and multiply-adds of an inception module on a ``height x width x in_channels`` map.

    Pass ``f3r=f5r=pool_proj=None`` for the *naive* module without 1x1
    bottlenecks: the 3x3 and 5x5 convolutions then read all ``in_channels``
    maps and the pool branch passes its ``in_channels`` maps through. Returns
    ``{"params", "mult_adds", "out_channels", "branches"}`` (per-branch
    ``(params, mult_adds)``); multiply-adds leave out biases and the pooling.
    """
    for arg, value in (("in_channels", in_channels), ("height", height), ("width", width), ("f1", f1),
                       ("f3", f3), ("f5", f5)):
        _positive_int(arg, value)
    reducers = (f3r, f5r, pool_proj)
    if any(r is None for r in reducers) and not all(r is None for r in reducers):
        raise ValueError(f"inception_cost: give all of f3r, f5r, pool_proj (the bottleneck module) or none "
                         f"(the naive module), got f3r={f3r!r}, f5r={f5r!r}, pool_proj={pool_proj!r}")

    def conv(kernel, cin, cout):
        params = kernel * kernel * cin * cout + (cout if use_bias else 0)
        return params, conv_macs((height, width), kernel, cin, cout, padding="same")

    def chain(*convs):
        costs = [conv(*c) for c in convs]
        return sum(p for p, _ in costs), sum(m for _, m in costs)

    if f3r is None:
        branches = {"1x1": conv(1, in_channels, f1), "3x3": conv(3, in_channels, f3),
                    "5x5": conv(5, in_channels, f5), "pool": (0, 0)}
        out = f1 + f3 + f5 + in_channels
    else:
        for arg, value in (("f3r", f3r), ("f5r", f5r), ("pool_proj", pool_proj)):
            _positive_int(arg, value)
        branches = {"1x1": conv(1, in_channels, f1),
                    "3x3": chain((1, in_channels, f3r), (3, f3r, f3)),
                    "5x5": chain((1, in_channels, f5r), (5, f5r, f5)),
                    "pool": conv(1, in_channels, pool_proj)}
        out = f1 + f3 + f5 + pool_proj
    return {"params": sum(p for p, _ in branches.values()), "mult_adds": sum(m for _, m in branches.values()),
            "out_channels": out, "branches": branches}


AUX_LOSS_WEIGHT = 0.3  # the paper: each auxiliary loss is added to the total with weight 0.3
AUX_DROPOUT = 0.7      # the paper: "a dropout layer with 70% ratio of dropped outputs"


def googlenet_aux_head(x, classes: int, *, name: str):
    """One auxiliary classifier as Section 5 of the paper gives it, on module 4a's or 4d's output ``x``.

    5x5 average pool, stride 3 (14x14 -> 4x4) -> 1x1 conv, 128 maps, ReLU -> dense 1,024,
    ReLU -> dropout 70 % -> dense ``classes``, softmax.
    """
    check_feature_map(x, builder="googlenet_aux_head")
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_avg_pool")(x)
    x = _conv_relu(x, 128, 1, f"{name}_1x1")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(AUX_DROPOUT, name=f"{name}_dropout")(x)
    return layers.Dense(classes, activation="softmax", name=f"{name}_classifier")(x)


def googlenet(input_shape=(224, 224, 3), classes: int = 1000, *, lrn: bool = True, dropout: float = 0.4,
              aux: bool = False, name: str = "googlenet") -> keras.Model:
    """GoogLeNet (Szegedy et al. 2014, Table 1).

    ``7x7/2 conv 64 -> pool -> LRN -> 1x1 conv 64 -> 3x3 conv 192 -> LRN -> pool ->
    inception 3a, 3b -> pool -> 4a ... 4e -> pool -> 5a, 5b -> global average pool
    -> dropout -> dense`` (22 layers with weights). Pools are 3x3 / stride 2, 'same'.

    ``aux=True`` adds the two auxiliary classifiers (:func:`googlenet_aux_head`) on
    the outputs of modules 4a and 4d; the model then has three outputs,
    ``[main, aux_4a, aux_4d]``, to be trained with loss weights
    ``[1, AUX_LOSS_WEIGHT, AUX_LOSS_WEIGHT]``. At inference the paper drops them.
    """
    h, w, c = check_image_shape(input_shape, builder="googlenet")
    _positive_int("classes", classes)
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"googlenet: dropout must be a rate in [0, 1), got dropout={dropout!r}")
    if not isinstance(aux, bool):
        raise ValueError(f"googlenet: aux must be True or False, got aux={aux!r}")
    if aux and min(math.ceil(h / 16), math.ceil(w / 16)) < 5:
        raise ValueError(f"googlenet: with aux=True the input must be at least 65x65, so that the auxiliary "
                         f"heads' 5x5 average pool fits on module 4a's map (input/16 per side); "
                         f"got {h}x{w} (the paper: 224x224)")
    inputs = keras.Input(shape=(h, w, c), name="image")
    x = _conv_relu(inputs, 64, 7, "conv1_7x7", strides=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    if lrn:
        x = LocalResponseNormalization(name="lrn1")(x)
    x = _conv_relu(x, 64, 1, "conv2_3x3_reduce")
    x = _conv_relu(x, 192, 3, "conv2_3x3")
    if lrn:
        x = LocalResponseNormalization(name="lrn2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    aux_outputs = []
    for key, config in GOOGLENET_MODULES.items():
        if key in ("4a", "5a"):
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{key[0]}")(x)
        x = inception_module(x, *config, name=f"inception_{key}")
        if aux and key in ("4a", "4d"):
            aux_outputs.append(googlenet_aux_head(x, classes, name=f"aux_{key}"))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, [outputs, *aux_outputs] if aux else outputs, name=name)
