"""ResNet (He et al. 2015) as Keras functional models: residual and bottleneck units, ResNet-34/152, small ResNets.

Laid out as torchvision's models: convolutions without bias (the BatchNorm that
follows has its own shift), projection shortcuts (1x1 convolution + BatchNorm)
where the shape changes, the stride on the 3x3 convolution of a bottleneck unit,
BatchNorm with PyTorch's defaults (momentum 0.1 in PyTorch's convention = 0.9 in
Keras's, epsilon 1e-5):

- :func:`residual_unit` and :func:`bottleneck_unit`, with the paper's shortcut
  options A, B, C (:data:`SHORTCUTS`; :class:`ZeroPadShortcut` is option A);
- :func:`resnet`, :func:`resnet34`, :func:`resnet152` and :func:`resnet_depth`;
- :func:`small_resnet`, a CIFAR-style ``6n + 2``-layer ResNet for small images;
  ``skips=False`` gives the "plain" net of the same depth.

Parameter counts and multiply-adds come from :func:`utils.architectures.param_counts`
and :func:`utils.architectures.mult_adds` (``tests/test_resnet.py`` pins them).
Every builder checks its arguments and raises one ``ValueError`` naming the bad
value and what would work.
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from utils.convmath import check_feature_map, check_image_shape
from utils.convmath import positive_int as _positive_int

BLOCKS = ("basic", "bottleneck")
BOTTLENECK_EXPANSION = 4


def _conv_bn(x, filters, kernel, strides, name, *, use_bias, relu, zero_gamma=False):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=use_bias,
                      kernel_initializer="he_normal", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer="zeros" if zero_gamma else "ones",
                                  name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


# He et al. 2015, Table 3: A = identity, zero maps padded where the depth grows (no parameters);
# B = projections (1x1 conv + BN) only where the shape changes; C = projections on every shortcut.
SHORTCUTS = ("A", "B", "C")
STRIDE_ON = ("3x3", "1x1")  # where a downsampling bottleneck unit strides: torchvision ("v1.5") or the paper/Keras


@keras.saving.register_keras_serializable(package="cnn_course")
class ZeroPadShortcut(keras.layers.Layer):
    """The paper's option A shortcut: the input subsampled by ``strides``, with zero maps appended up to
    ``out_channels``. No parameters: the appended maps get no residual learning."""

    def __init__(self, out_channels: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = _positive_int("out_channels", out_channels)
        self.strides = _positive_int("strides", strides)

    def call(self, inputs):
        x = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.out_channels - inputs.shape[-1]
        return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]]) if extra > 0 else x

    def compute_output_shape(self, input_shape):
        sides = [None if n is None else -(-n // self.strides) for n in input_shape[1:3]]
        return (input_shape[0], *sides, self.out_channels)

    def get_config(self):
        return {**super().get_config(), "out_channels": self.out_channels, "strides": self.strides}


def _merge(x, shortcut_input, out_channels, strides, name, *, use_bias, skip, shortcut):
    if not skip:
        return layers.ReLU(name=f"{name}_out")(x)
    changes = strides != 1 or shortcut_input.shape[-1] != out_channels
    if shortcut == "C" or (changes and shortcut == "B"):
        shortcut_input = _conv_bn(shortcut_input, out_channels, 1, strides, f"{name}_proj", use_bias=use_bias,
                                  relu=False)
    elif changes:
        if shortcut_input.shape[-1] > out_channels:
            raise ValueError(f"{name}: shortcut 'A' can only add zero maps, but the unit goes from "
                             f"{shortcut_input.shape[-1]} to {out_channels} maps; use shortcut='B' (a projection)")
        shortcut_input = ZeroPadShortcut(out_channels, strides, name=f"{name}_pad")(shortcut_input)
    x = layers.Add(name=f"{name}_add")([x, shortcut_input])
    return layers.ReLU(name=f"{name}_out")(x)


def _check_unit(x, filters, strides, builder, shortcut):
    check_feature_map(x, builder=builder)
    _positive_int("filters", filters)
    _positive_int("strides", strides)
    if shortcut not in SHORTCUTS:
        raise ValueError(f"{builder}: shortcut={shortcut!r}: use 'A' (identity + zero maps), 'B' (projection "
                         f"where the shape changes) or 'C' (projection everywhere), the paper's Table 3")


def residual_unit(x, filters: int, strides: int = 1, *, use_bias: bool = False, skip: bool = True,
                  shortcut: str = "B", zero_init_residual: bool = False, name: str = "unit"):
    """ResNet's basic residual unit: ``relu(F(x) + shortcut(x))``, ``F`` = two 3x3 conv + BatchNorm.

    The layers learn the *residual* ``F(x) = h(x) - x``. ``shortcut`` is one of the paper's options
    (:data:`SHORTCUTS`); the default ``"B"`` is the identity, or a 1x1 convolution + BatchNorm where the
    stride or the number of maps changes. ``zero_init_residual=True`` starts the branch's last BN scale
    (gamma) at 0, so that at initialisation ``F(x) = 0`` and the unit returns ``relu(shortcut(x))``
    (Goyal et al. 2017; torchvision's ``zero_init_residual``). ``skip=False`` drops the shortcut: a
    "plain" unit.
    """
    _check_unit(x, filters, strides, "residual_unit", shortcut)
    y = _conv_bn(x, filters, 3, strides, f"{name}_1", use_bias=use_bias, relu=True)
    y = _conv_bn(y, filters, 3, 1, f"{name}_2", use_bias=use_bias, relu=False, zero_gamma=zero_init_residual)
    return _merge(y, x, filters, strides, name, use_bias=use_bias, skip=skip, shortcut=shortcut)


def bottleneck_unit(x, filters: int, strides: int = 1, *, use_bias: bool = False, skip: bool = True,
                    shortcut: str = "B", zero_init_residual: bool = False, stride_on: str = "3x3",
                    name: str = "unit"):
    """ResNet's bottleneck unit: 1x1 ``filters`` -> 3x3 ``filters`` -> 1x1 ``4 * filters``, plus the shortcut.

    The first 1x1 squeezes the depth (256 -> 64 in the first stage), the 3x3
    works on the thin map, the last 1x1 restores the depth. ``stride_on="3x3"``
    is torchvision's layout ("ResNet v1.5"); ``"1x1"`` puts the stride on the first
    1x1 convolution, as the paper and Keras's ``ResNet152`` do: the same parameters,
    fewer multiply-adds, but that 1x1 then reads only every other pixel of every other row.
    ``shortcut`` and ``zero_init_residual`` as in :func:`residual_unit`.
    """
    _check_unit(x, filters, strides, "bottleneck_unit", shortcut)
    if stride_on not in STRIDE_ON:
        raise ValueError(f"bottleneck_unit: stride_on={stride_on!r}: use '3x3' (torchvision, v1.5) or '1x1' "
                         f"(the paper, Keras)")
    s1, s3 = (strides, 1) if stride_on == "1x1" else (1, strides)
    y = _conv_bn(x, filters, 1, s1, f"{name}_1", use_bias=use_bias, relu=True)
    y = _conv_bn(y, filters, 3, s3, f"{name}_2", use_bias=use_bias, relu=True)
    y = _conv_bn(y, BOTTLENECK_EXPANSION * filters, 1, 1, f"{name}_3", use_bias=use_bias, relu=False,
                 zero_gamma=zero_init_residual)
    return _merge(y, x, BOTTLENECK_EXPANSION * filters, strides, name, use_bias=use_bias, skip=skip,
                  shortcut=shortcut)


def resnet_depth(block: str, stages: Sequence[int]) -> int:
    """Layers with weights along the main path: the stem conv, 2 or 3 per unit, the dense head."""
    if block not in BLOCKS:
        raise ValueError(f"unknown block={block!r}: use one of {BLOCKS}")
    stages = _stages(stages)
    return 2 + (2 if block == "basic" else 3) * sum(stages)


def _stages(stages) -> tuple[int, ...]:
    try:
        stages = tuple(stages)
    except TypeError:
        raise ValueError(f"stages must be a sequence of unit counts such as (3, 4, 6, 3), "
                         f"got stages={stages!r}") from None
    if not stages or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in stages):
        raise ValueError(f"stages must be a non-empty sequence of positive unit counts such as (3, 4, 6, 3), "
                         f"got stages={stages!r}")
    return stages


def resnet(input_shape=(224, 224, 3), classes: int = 1000, *, block: str = "basic", stages=(3, 4, 6, 3),
           filters=(64, 128, 256, 512), stem: str = "imagenet", use_bias: bool = False, skips: bool = True,
           shortcut: str = "B", zero_init_residual: bool = False, stride_on: str = "3x3",
           name: str | None = None) -> keras.Model:
    """A ResNet: stem, ``len(stages)`` stages of residual units, global average pool, dense softmax.

    - ``block``: ``"basic"`` (two 3x3 convs) or ``"bottleneck"`` (1x1, 3x3, 1x1 with 4x the maps out).
    - ``stages[i]`` units with ``filters[i]`` maps; each stage after the first
      starts with a stride-2 unit (half the size, twice the maps).
    - ``stem="imagenet"``: 7x7/2 conv ``filters[0]`` + BatchNorm + ReLU + 3x3/2 max pool;
      ``stem="small"``: one 3x3 conv, no downsampling (for 28x28 or 32x32 images).
    - ``use_bias``: biases on the convolutions (torchvision: no; Keras's ``ResNet152``: yes).
    - ``skips=False``: no shortcuts at all, the "plain" network of the same depth.
    - ``shortcut``: the paper's option ``"A"``, ``"B"`` (default, torchvision's and Keras's) or ``"C"``.
    - ``zero_init_residual``: every residual branch's last BN scale starts at 0 (each unit starts as
      ``relu(shortcut(x))``).
    - ``stride_on``: for bottleneck units, ``"3x3"`` (torchvision, default) or ``"1x1"`` (the paper, Keras).
    """
    h, w, c = check_image_shape(input_shape, builder="resnet")
    _positive_int("classes", classes)
    if block not in BLOCKS:
        raise ValueError(f"resnet: unknown block={block!r}: use 'basic' (ResNet-18/34) "
                         f"or 'bottleneck' (ResNet-50/101/152)")
    stages = _stages(stages)
    try:
        filters = tuple(filters)
    except TypeError:
        raise ValueError(f"resnet: filters must be a sequence with one width per stage, "
                         f"got filters={filters!r}") from None
    if len(filters) != len(stages):
        raise ValueError(f"resnet: {len(stages)} stages {stages} need {len(stages)} widths, "
                         f"got filters={filters}")
    for f in filters:
        if isinstance(f, bool) or not isinstance(f, int) or f < 1:
            raise ValueError(f"resnet: filters must be positive integers, got filters={filters}")
    if stem not in ("imagenet", "small"):
        raise ValueError(f"resnet: stem must be 'imagenet' (7x7/2 conv + max pool) or 'small' (one 3x3 conv), "
                         f"got stem={stem!r}")
    if block == "basic" and stride_on != "3x3":
        raise ValueError(f"resnet: stride_on={stride_on!r} applies to bottleneck units only (a basic unit has "
                         f"no 1x1 convolution); use block='bottleneck' or leave stride_on='3x3'")
    options = {"use_bias": use_bias, "skip": skips, "shortcut": shortcut, "zero_init_residual": zero_init_residual}
    if block == "bottleneck":
        options["stride_on"] = stride_on
    unit = residual_unit if block == "basic" else bottleneck_unit
    if name is None:
        name = f"{'resnet' if skips else 'plain'}{resnet_depth(block, stages)}"

    inputs = keras.Input(shape=(h, w, c), name="image")
    if stem == "imagenet":
        x = _conv_bn(inputs, filters[0], 7, 2, "stem", use_bias=use_bias, relu=True)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    else:
        x = _conv_bn(inputs, filters[0], 3, 1, "stem", use_bias=use_bias, relu=True)
    for s, (units, width) in enumerate(zip(stages, filters), start=1):
        for u in range(1, units + 1):
            strides = 2 if (s > 1 and u == 1) else 1
            x = unit(x, width, strides, name=f"stage{s}_unit{u}", **options)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)


def resnet34(input_shape=(224, 224, 3), classes: int = 1000, **kwargs) -> keras.Model:
    """ResNet-34: basic units, 3, 4, 6, 3 of them with 64, 128, 256, 512 maps (21,797,672 trainable parameters)."""
    return resnet(input_shape, classes, block="basic", stages=(3, 4, 6, 3), **kwargs)


def resnet152(input_shape=(224, 224, 3), classes: int = 1000, **kwargs) -> keras.Model:
    """ResNet-152: bottleneck units, 3, 8, 36, 3 of them, ending with 256, 512, 1,024, 2,048 maps."""
    return resnet(input_shape, classes, block="bottleneck", stages=(3, 8, 36, 3), **kwargs)


def small_resnet(input_shape=(28, 28, 1), classes: int = 10, *, units_per_stage: int = 3,
                 filters=(16, 32, 64), skips: bool = True, name: str | None = None, **kwargs) -> keras.Model:
    """A CIFAR-style ResNet for small images: a 3x3 stem, three stages of ``units_per_stage`` basic units.

    Depth ``6 * units_per_stage + 2`` (20 for 3 units per stage). ``skips=False``
    builds the plain network of the same depth: the same convolutions without
    any shortcut. ``shortcut="A"`` gives the paper's CIFAR-10 networks, whose residual and
    plain versions have exactly the same parameters; other keywords go to :func:`resnet`.
    """
    _positive_int("units_per_stage", units_per_stage)
    if not isinstance(filters, Sequence) or isinstance(filters, str) or not filters:
        raise ValueError(f"small_resnet: filters must list one width per stage, such as (16, 32, 64), "
                         f"got filters={filters!r}")
    stages = (units_per_stage,) * len(filters)
    return resnet(input_shape, classes, block="basic", stages=stages, filters=filters, stem="small",
                  skips=skips, name=name, **kwargs)
