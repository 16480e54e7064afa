"""LeNet-5 (faithful and modern), Nielsen's small CNN, the typical CNN pattern and a dense baseline.

The LeNet-5 pieces follow LeCun, Bottou, Bengio & Haffner, "Gradient-based
learning applied to document recognition" (1998):

- :func:`lecun_tanh`: the scaled squashing function ``1.7159 * tanh(2x/3)``;
- :class:`TrainableSubsampling`: S2/S4, a 2x2 mean times a learnable per-map
  coefficient plus a learnable per-map bias, then the activation;
- :class:`PartialConv2D` with :data:`C3_CONNECTIONS`: C3, each of its 16 maps
  sees only 3, 4 or 6 of the 6 S2 maps (1,516 parameters instead of 2,416);
- :class:`RBFOutput`: one unit per class giving the squared Euclidean distance
  between its input and the class's weight vector (``84 x 10 = 840`` weights);
- :func:`lenet5_faithful` (60,840 parameters) and :func:`lenet5_modern`
  (max pooling, ReLU, softmax).

For the "typical CNN" chapter: :func:`nielsen_net`, :func:`typical_cnn`
(INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC) and
:func:`dense_net`; :func:`shift_images` / :func:`random_shifts` for the robustness test.
Training and scoring any of them (``train``, ``accuracy``, ``layer_table``...) live in
``utils/training.py``.
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from utils import convmath

PACKAGE = "cnn_course"
LECUN_A = 1.7159  # f(x) = A tanh(S x): chosen so that f(1) = 1 and f(-1) = -1
LECUN_S = 2.0 / 3.0
LECUN_BACKGROUND = -0.1  # input value of a white (background) pixel in the 1998 paper
LECUN_FOREGROUND = 1.175  # input value of a black (ink) pixel

# LeCun et al. 1998, Table I: the S2 maps (0-5) that each C3 map (0-15) sees.
C3_CONNECTIONS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),  # 3 consecutive maps
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),  # 4 consecutive
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),  # 4 non-consecutive
    (0, 1, 2, 3, 4, 5),  # all six
)

# Hand-drawn 7x12 bitmaps of the ten digits ('#' = +1, '.' = -1): the fixed RBF
# centres, in the spirit of the paper's stylised 7x12 character images.
DIGIT_BITMAPS: tuple[tuple[str, ...], ...] = (
    (".......", "..###..", ".#...#.", "#.....#", "#.....#", "#.....#",
     "#.....#", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    (".......", "...#...", "..##...", ".#.#...", "...#...", "...#...",
     "...#...", "...#...", "...#...", "...#...", ".#####.", "......."),
    (".......", "..###..", ".#...#.", "#.....#", "......#", ".....#.",
     "....#..", "...#...", "..#....", ".#.....", "#######", "......."),
    (".......", "..###..", ".#...#.", "......#", "......#", "...###.",
     "......#", "......#", "......#", ".#...#.", "..###..", "......."),
    (".......", "....#..", "...##..", "..#.#..", ".#..#..", "#...#..",
     "#######", "....#..", "....#..", "....#..", "....#..", "......."),
    (".......", "#######", "#......", "#......", "#.####.", "##....#",
     "......#", "......#", "#.....#", ".#...#.", "..###..", "......."),
    (".......", "..###..", ".#.....", "#......", "#......", "#.###..",
     "##...#.", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    (".......", "#######", "......#", ".....#.", ".....#.", "....#..",
     "....#..", "...#...", "...#...", "..#....", "..#....", "......."),
    (".......", "..###..", ".#...#.", "#.....#", ".#...#.", "..###..",
     ".#...#.", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    (".......", "..###..", ".#...#.", "#.....#", "#.....#", ".#...##",
     "..###.#", "......#", ".....#.", "....#..", ".###...", "......."),
)


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------

_positive_int = convmath.positive_int


def _int_tuple(name: str, values, *, allow_empty: bool = True) -> tuple[int, ...]:
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of positive integers, got {name}={values!r}") from None
    if not values and not allow_empty:
        raise ValueError(f"{name} must hold at least one positive integer, got {name}=()")
    for v in values:
        _positive_int(f"each entry of {name}", v)
    return tuple(int(v) for v in values)


def check_image_shape(input_shape, *, min_size: int = 1, exact_size: int | None = None,
                      builder: str = "the builder") -> tuple[int, int, int]:
    """:func:`utils.convmath.check_image_shape`, plus the size a digit network needs."""
    h, w, c = convmath.check_image_shape(input_shape, builder=builder)
    if exact_size is not None and (h, w) != (exact_size, exact_size):
        raise ValueError(f"{builder}: needs {exact_size}x{exact_size} images, got {h}x{w}; "
                         f"zero-pad 28x28 digits with lecun_normalise() (or pad_images(x, 2))")
    if min(h, w) < min_size:
        raise ValueError(f"{builder}: images of {h}x{w} are too small; at least {min_size}x{min_size} "
                         f"is needed for its layers")
    return h, w, c


# ---------------------------------------------------------------------------
# LeNet-5 pieces
# ---------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package=PACKAGE)
def lecun_tanh(x):
    """LeCun's scaled hyperbolic tangent ``1.7159 * tanh(2x / 3)`` (so ``f(+-1) = +-1``)."""
    return LECUN_A * ops.tanh(LECUN_S * x)


def _activation(activation):
    if activation == "lecun_tanh":
        return lecun_tanh
    return keras.activations.get(activation)


def _activation_config(activation):
    if activation is None:
        return None
    if activation is lecun_tanh:
        return "lecun_tanh"
    return keras.activations.serialize(activation)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TrainableSubsampling(keras.layers.Layer):
    """LeNet-5's S2/S4: ``activation(coefficient * mean(2x2 window) + bias)``, per map.

    Each feature map has one learnable coefficient and one learnable bias, so
    the layer has ``2 * channels`` parameters (12 for S2, 32 for S4). Windows
    do not overlap (stride = pool size).
    """

    def __init__(self, pool_size: int = 2, activation="lecun_tanh", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _positive_int("pool_size", pool_size)
        self.activation = _activation(activation)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: expects (batch, height, width, maps), got shape {input_shape}")
        h, w, channels = input_shape[1:]
        if h is not None and w is not None and min(h, w) < self.pool_size:
            raise ValueError(f"{self.name}: {h}x{w} maps are smaller than the {self.pool_size}x{self.pool_size} window")
        self.coefficient = self.add_weight(shape=(channels,), initializer="ones", name="coefficient")
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")

    def call(self, inputs):
        mean = ops.average_pool(inputs, self.pool_size, strides=self.pool_size, padding="valid")
        z = mean * self.coefficient + self.bias
        return self.activation(z) if self.activation is not None else z

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        p = self.pool_size
        return (b, None if h is None else h // p, None if w is None else w // p, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "activation": _activation_config(self.activation)}


def connection_matrix(connections: Sequence[Sequence[int]], in_channels: int) -> np.ndarray:
    """Boolean table ``(in_channels, filters)``: True where input map ``i`` feeds output map ``j``."""
    in_channels = _positive_int("in_channels", in_channels)
    if len(connections) == 0:
        raise ValueError("connections must list, for each output map, the input maps it sees; got none")
    table = np.zeros((in_channels, len(connections)), dtype=bool)
    for j, sources in enumerate(connections):
        sources = tuple(sources)
        if not sources:
            raise ValueError(f"output map {j} is connected to no input map; give it at least one")
        if len(set(sources)) != len(sources):
            raise ValueError(f"output map {j} lists an input map twice: {sources}")
        for i in sources:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < in_channels:
                raise ValueError(f"output map {j} refers to input map {i!r}, but the input has maps "
                                 f"0..{in_channels - 1}")
            table[i, j] = True
    return table


@keras.saving.register_keras_serializable(package=PACKAGE)
class PartialConv2D(keras.layers.Layer):
    """A 'valid' convolution in which each output map sees only some input maps (LeNet-5's C3).

    Only the connected kernel slices are weights: ``kernel`` has shape
    ``(kh, kw, n_connections)``, so ``count_params()`` is the true count
    (1,516 for C3). At call time they are scattered into a full
    ``(kh, kw, in_maps, filters)`` kernel whose unconnected slices are zero
    (:meth:`full_kernel`), and a normal convolution runs.
    """

    def __init__(self, filters: int, kernel_size=5, connections=C3_CONNECTIONS, activation="lecun_tanh",
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters = _positive_int("filters", filters)
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, (int, np.integer)) else tuple(kernel_size)
        if len(ks) != 2:
            raise ValueError(f"kernel_size must be an int or (height, width), got {kernel_size!r}")
        self.kernel_size = _int_tuple("kernel_size", ks)
        self.connections = tuple(tuple(c) for c in connections)
        if len(self.connections) != self.filters:
            raise ValueError(f"connections lists {len(self.connections)} output maps but filters={self.filters}; "
                             f"give one tuple of input maps per output map")
        self.activation = _activation(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: expects (batch, height, width, maps) with a known number of "
                             f"maps, got shape {input_shape}")
        in_channels = int(input_shape[-1])
        self.table = connection_matrix(self.connections, in_channels)
        # Column k of the connected kernel goes to flat slot (i * filters + j) of the full kernel.
        slots = np.flatnonzero(self.table.reshape(-1))
        placement = np.zeros((len(slots), self.table.size), dtype="float32")
        placement[np.arange(len(slots)), slots] = 1.0
        self._placement = placement
        self._slots = slots
        kh, kw = self.kernel_size
        full_shape = (kh, kw, in_channels, self.filters)

        def init_connected(shape, dtype=None):
            # Draw the full kernel as a Conv2D would, then keep the connected slices.
            full = self.kernel_initializer(full_shape, dtype=dtype)
            return ops.take(ops.reshape(full, (kh, kw, -1)), slots, axis=2)

        self.kernel = self.add_weight(shape=(kh, kw, len(slots)), initializer=init_connected, name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias")

    def full_kernel(self):
        """The ``(kh, kw, in_maps, filters)`` kernel actually convolved: zero where not connected."""
        kh, kw = self.kernel_size
        flat = ops.matmul(self.kernel, ops.convert_to_tensor(self._placement, dtype=self.kernel.dtype))
        return ops.reshape(flat, (kh, kw) + self.table.shape)

    def call(self, inputs):
        z = ops.conv(inputs, self.full_kernel(), strides=1, padding="valid") + self.bias
        return self.activation(z) if self.activation is not None else z

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        kh, kw = self.kernel_size
        return (b, None if h is None else h - kh + 1, None if w is None else w - kw + 1, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "connections": [[int(i) for i in c] for c in self.connections],
                "activation": _activation_config(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


def digit_codes() -> np.ndarray:
    """The ten 7x12 digit bitmaps as a ``(10, 84)`` array of +1 (ink) and -1 (background)."""
    return np.array([[1.0 if ch == "#" else -1.0 for row in rows for ch in row] for rows in DIGIT_BITMAPS],
                    dtype="float32")


@keras.saving.register_keras_serializable(package=PACKAGE)
class DigitCodes(keras.initializers.Initializer):
    """Initialise RBF centres ``(10, 84)`` with :func:`digit_codes`."""

    def __call__(self, shape, dtype=None):
        if tuple(shape) != (10, 84):
            raise ValueError(f"DigitCodes makes the (10, 84) digit bitmaps, not shape {tuple(shape)}; "
                             f"use RandomSign for other shapes")
        return ops.convert_to_tensor(digit_codes(), dtype=dtype or "float32")

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomSign(keras.initializers.Initializer):
    """Random +1/-1 entries (seeded): RBF centres for any number of classes."""

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def __call__(self, shape, dtype=None):
        rng = np.random.default_rng(self.seed)
        return ops.convert_to_tensor(rng.choice([-1.0, 1.0], size=tuple(shape)), dtype=dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RBFOutput(keras.layers.Layer):
    """Euclidean RBF units: ``y_i = sum_j (x_j - w_ij)**2``, one unit (and one centre) per class.

    The smallest output is the predicted class. Weights ``centres`` have shape
    ``(units, input_dim)``: 840 for LeNet-5's 84 -> 10. LeCun kept them fixed
    (``trainable=False``); trained freely with the distance-to-correct-class
    loss, all centres can collapse onto one point and the loss goes to zero.
    """

    def __init__(self, units: int = 10, centres_initializer="random_sign", **kwargs):
        super().__init__(**kwargs)
        self.units = _positive_int("units", units)
        if centres_initializer == "random_sign":
            centres_initializer = RandomSign(0)
        elif centres_initializer == "digit_codes":
            centres_initializer = DigitCodes()
        self.centres_initializer = keras.initializers.get(centres_initializer)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: expects flat inputs (batch, features), got shape {input_shape}; "
                             f"add a Flatten layer before it")
        self.centres = self.add_weight(shape=(self.units, int(input_shape[-1])),
                                       initializer=self.centres_initializer, name="centres")

    def call(self, inputs):
        diff = ops.expand_dims(inputs, 1) - ops.expand_dims(self.centres, 0)
        return ops.sum(ops.square(diff), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "centres_initializer": keras.initializers.serialize(self.centres_initializer)}


@keras.saving.register_keras_serializable(package=PACKAGE)
def rbf_loss(y_true, distances):
    """LeCun's maximum-likelihood criterion: the RBF output of the correct class, i.e. the
    squared error between F6's output and the correct class's code."""
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1, 1))
    return ops.take_along_axis(distances, labels, axis=1)[:, 0]


@keras.saving.register_keras_serializable(package=PACKAGE)
def rbf_accuracy(y_true, distances):
    """Accuracy for RBF outputs: the predicted class is the nearest centre."""
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    return ops.cast(ops.equal(ops.cast(ops.argmin(distances, axis=-1), "int32"), labels), "float32")


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


def lecun_normalise(images, pad: int = 2) -> np.ndarray:
    """LeCun's input: zero-pad 28x28 digits to 32x32, then map background (0) to -0.1
    and full ink (255) to 1.175. Returns float32 ``(n, 32, 32, 1)``."""
    x = pad_images(to_float(images), pad)
    return (LECUN_BACKGROUND + x * (LECUN_FOREGROUND - LECUN_BACKGROUND)).astype("float32")


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


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------

def lenet5_faithful(input_shape=(32, 32, 1), num_classes: int = 10, *, output: str = "rbf",
                    seed: int = 0) -> keras.Sequential:
    """LeNet-5 as in the 1998 paper: 60,840 parameters for 32x32x1 inputs and 10 classes.

    C1 6@28x28 (5x5) -> S2 6@14x14 (trainable subsampling) -> C3 16@10x10 (partial,
    :data:`C3_CONNECTIONS`) -> S4 16@5x5 -> C5 120@1x1 (5x5) -> F6 84 -> OUTPUT.
    Every layer up to F6 uses :func:`lecun_tanh`. ``output="rbf"`` ends in fixed
    Euclidean RBF units (the digit bitmaps for 10 classes; train with :func:`rbf_loss`);
    ``output="softmax"`` puts a softmax dense layer on the same body instead.
    """
    check_image_shape(input_shape, exact_size=32, builder="lenet5_faithful")
    num_classes = _positive_int("num_classes", num_classes)
    if output not in ("rbf", "softmax"):
        raise ValueError(f"output must be 'rbf' (LeCun's RBF units) or 'softmax', got output={output!r}")
    init = keras.initializers.GlorotUniform
    if output == "rbf":
        centres = DigitCodes() if num_classes == 10 else RandomSign(seed)
        head = RBFOutput(num_classes, centres_initializer=centres, trainable=False, name="OUTPUT")
    else:
        head = keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init(seed + 6),
                                  name="OUTPUT")
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        keras.layers.Conv2D(6, 5, activation=lecun_tanh, kernel_initializer=init(seed), name="C1"),
        TrainableSubsampling(2, name="S2"),
        PartialConv2D(16, 5, C3_CONNECTIONS, kernel_initializer=init(seed + 2), name="C3"),
        TrainableSubsampling(2, name="S4"),
        keras.layers.Conv2D(120, 5, activation=lecun_tanh, kernel_initializer=init(seed + 4), name="C5"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(84, activation=lecun_tanh, kernel_initializer=init(seed + 5), name="F6"),
        head,
    ], name=f"lenet5_faithful_{output}")


def lenet5_modern(input_shape=(32, 32, 1), num_classes: int = 10, *, seed: int = 0) -> keras.Sequential:
    """LeNet-5's layout with today's parts: ReLU, 2x2 max pooling, a full C3, softmax output.

    61,706 parameters for 32x32x1 inputs and 10 classes; train with
    sparse categorical cross-entropy.
    """
    check_image_shape(input_shape, exact_size=32, builder="lenet5_modern")
    num_classes = _positive_int("num_classes", num_classes)
    init = keras.initializers.GlorotUniform
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        keras.layers.Conv2D(6, 5, activation="relu", kernel_initializer=init(seed), name="C1"),
        keras.layers.MaxPooling2D(2, name="S2"),
        keras.layers.Conv2D(16, 5, activation="relu", kernel_initializer=init(seed + 2), name="C3"),
        keras.layers.MaxPooling2D(2, name="S4"),
        keras.layers.Conv2D(120, 5, activation="relu", kernel_initializer=init(seed + 4), name="C5"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(84, activation="relu", kernel_initializer=init(seed + 5), name="F6"),
        keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init(seed + 6), name="OUTPUT"),
    ], name="lenet5_modern")


def nielsen_net(input_shape=(28, 28, 1), num_classes: int = 10, *, filters: int = 3,
                activation: str = "relu", seed: int = 0) -> keras.Sequential:
    """Nielsen's small CNN: 28x28 -> 5x5 conv, 3 maps (3x24x24) -> 2x2 max pool (3x12x12)
    -> fully connected to 10 softmax outputs. 4,408 parameters with the defaults."""
    h, w, _ = check_image_shape(input_shape, min_size=6, builder="nielsen_net")
    filters = _positive_int("filters", filters)
    num_classes = _positive_int("num_classes", num_classes)
    init = keras.initializers.GlorotUniform
    return keras.Sequential([
        keras.Input(shape=(h, w, input_shape[2])),
        keras.layers.Conv2D(filters, 5, activation=activation, kernel_initializer=init(seed), name="conv"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init(seed + 1), name="output"),
    ], name="nielsen_net")


def typical_cnn(input_shape=(28, 28, 1), num_classes: int = 10, *,
                conv_blocks: Sequence[Sequence[int]] = ((16, 16), (32, 32)),
                dense_units: Sequence[int] = (64,), kernel_size: int = 3, pool=True,
                seed: int = 0) -> keras.Sequential:
    """INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC (softmax).

    ``conv_blocks`` lists the M blocks, each the filter counts of its N convolutions
    (3x3, 'same' padding, ReLU); ``pool`` (a bool, or one per block) says whether a 2x2
    max pool closes the block; ``dense_units`` lists the K hidden fully connected layers.
    """
    h, w, c = check_image_shape(input_shape, builder="typical_cnn")
    num_classes = _positive_int("num_classes", num_classes)
    kernel_size = _positive_int("kernel_size", kernel_size)
    if isinstance(conv_blocks, (int, np.integer)) or not isinstance(conv_blocks, Sequence):
        raise ValueError(f"conv_blocks must be a sequence of blocks, each a sequence of filter counts, "
                         f"e.g. ((16, 16), (32, 32)); got {conv_blocks!r}")
    blocks = [_int_tuple(f"conv_blocks[{m}]", block, allow_empty=False) for m, block in enumerate(conv_blocks)]
    if not blocks:
        raise ValueError("conv_blocks is empty: a CNN needs at least one convolution block")
    dense_units = _int_tuple("dense_units", dense_units)
    pools = [pool] * len(blocks) if isinstance(pool, bool) else list(pool)
    if len(pools) != len(blocks) or not all(isinstance(p, bool) for p in pools):
        raise ValueError(f"pool must be True/False or one bool per block ({len(blocks)} blocks), got pool={pool!r}")
    size = (h, w)
    for m, do_pool in enumerate(pools):
        if do_pool:
            if min(size) < 2:
                raise ValueError(f"typical_cnn: block {m} would pool a {size[0]}x{size[1]} map; use fewer "
                                 f"pooling blocks or larger images ({h}x{w} in)")
            size = tuple(convmath.conv_output_size(n, 2, 2) for n in size)
    init = keras.initializers.GlorotUniform
    layers = [keras.Input(shape=(h, w, c))]
    k = 0
    for m, (block, do_pool) in enumerate(zip(blocks, pools), start=1):
        for n, filters in enumerate(block, start=1):
            layers.append(keras.layers.Conv2D(filters, kernel_size, padding="same", activation="relu",
                                              kernel_initializer=init(seed + k), name=f"conv{m}_{n}"))
            k += 1
        if do_pool:
            layers.append(keras.layers.MaxPooling2D(2, name=f"pool{m}"))
    layers.append(keras.layers.Flatten(name="flatten"))
    for n, units in enumerate(dense_units, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", kernel_initializer=init(seed + k), name=f"fc{n}"))
        k += 1
    layers.append(keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init(seed + k),
                                     name="output"))
    return keras.Sequential(layers, name="typical_cnn")


def dense_net(input_shape=(28, 28, 1), num_classes: int = 10, *, hidden: Sequence[int] = (300, 100),
              seed: int = 0) -> keras.Sequential:
    """A fully connected baseline: flatten -> [Dense -> ReLU]*K -> Dense softmax.

    The default 784-300-100-10 is the two-hidden-layer network of LeCun et al. 1998
    (266,610 parameters).
    """
    h, w, c = check_image_shape(input_shape, builder="dense_net")
    num_classes = _positive_int("num_classes", num_classes)
    hidden = _int_tuple("hidden", hidden)
    init = keras.initializers.GlorotUniform
    layers = [keras.Input(shape=(h, w, c)), keras.layers.Flatten(name="flatten")]
    for n, units in enumerate(hidden, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", kernel_initializer=init(seed + n), name=f"fc{n}"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init(seed),
                                     name="output"))
    return keras.Sequential(layers, name="dense_net")
