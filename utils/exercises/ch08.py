"""Exercises for notebook 08 (GoogLeNet and the inception module): definitions, references, planted mistakes."""
from __future__ import annotations

import math

from utils import architectures as arch
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise
from utils.convmath import conv_macs


# q1: the multiply-adds of one inception branch, with and without its 1x1 bottleneck.
def branch_macs(height, width, in_maps, kernel, out_maps, reduce=None):
    """Multiply-adds of a 'same'-padded kernel x kernel convolution, after an optional 1x1 reduction."""
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * in_maps * reduce + height * width * kernel * kernel * reduce * out_maps


def _forgot_the_1x1(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * kernel * kernel * reduce * out_maps


def _counted_params(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return kernel * kernel * in_maps * out_maps
    return in_maps * reduce + kernel * kernel * reduce * out_maps


def _kxk_reads_the_input(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * in_maps * reduce + height * width * kernel * kernel * in_maps * out_maps


def _1x1_at_kernel_size(height, width, in_maps, kernel, out_maps, reduce=None):
    if reduce is None:
        return height * width * kernel * kernel * in_maps * out_maps
    return height * width * kernel * kernel * (in_maps * reduce + reduce * out_maps)


_BRANCH_CASES = [(28, 28, 192, 5, 32, 16), (28, 28, 192, 5, 32, None), (28, 28, 192, 3, 128, 96),
                 (14, 14, 528, 5, 128, 32), (7, 7, 832, 3, 384, 192), (10, 6, 64, 3, 32, 8), (7, 7, 832, 5, 128, None)]

q1 = FunctionExercise(
    "branch_macs(height, width, in_maps, kernel, out_maps, reduce): an inception branch's multiply-adds",
    reference=branch_macs,
    cases=_BRANCH_CASES,
    mistakes=[
        (_forgot_the_1x1, "Your bottlenecked branch is too cheap: you forgot the 1×1 layer's own cost, "
                          "height × width × in_maps × reduce multiply-adds."),
        (_counted_params, "You counted weights, not multiply-adds: each weight is used once per output pixel, "
                          "so multiply by height × width."),
        (_kxk_reads_the_input, "After the bottleneck the k×k convolution reads the reduce maps, not the in_maps: "
                               "that is the whole saving."),
        (_1x1_at_kernel_size, "The 1×1 convolution costs in_maps multiply-adds per output value, not "
                              "kernel × kernel × in_maps: its kernel is 1×1."),
    ],
    hint="A 'same'-padded k×k convolution from c_in to c_out maps on an h×w map costs h·w·k·k·c_in·c_out "
         "multiply-adds. With a bottleneck, add the 1×1 (c_in → reduce) and the k×k (reduce → c_out).",
    solution=branch_macs,
)


# q2: the widest bottleneck that cuts module 4e's 5x5 branch tenfold.
_H, _CIN, _K, _COUT, _FACTOR = 14, 528, 5, 128, 10
_DIRECT = conv_macs((_H, _H), _K, _CIN, _COUT, padding="same")
_WIDEST = max(r for r in range(1, _CIN + 1)
              if _FACTOR * branch_macs(_H, _H, _CIN, _K, _COUT, r) <= _DIRECT)
_BOUND = 25 * _CIN * _COUT / (_FACTOR * (_CIN + 25 * _COUT))
_F5R_4E = arch.GOOGLENET_MODULES["4e"][3]  # the paper's 1x1 reduction before 4e's 5x5
_PAPER_SAVING = _DIRECT / branch_macs(_H, _H, _CIN, _K, _COUT, _F5R_4E)

q2 = ValueExercise(
    "The most 1x1 maps r for which module 4e's 5x5 branch (14x14x528 -> 128 maps) costs at least 10 times less",
    _WIDEST,
    mistakes={
        _CIN // _FACTOR: "That leaves out the 1×1 layer's own cost: with r maps it adds 14·14·528·r multiply-adds, "
                         "so r must be smaller than 528 / 10.",
        _WIDEST + 1: f"{_WIDEST + 1} maps cost a little more than a tenth: round down, the bound is "
                     f"{_BOUND:.2f}.",
    },
    note=f"r·(528 + 25·128) ≤ 25·528·128 / 10 gives r ≤ {_BOUND:.2f}, "
         f"so {_WIDEST}. The paper uses {_F5R_4E}.",
    hint="Direct: 14·14·25·528·128. Bottlenecked: 14·14·r·(528 + 25·128). Find the largest whole r with "
         "10 × bottlenecked ≤ direct (the 14·14 cancels).",
    solution=f"`r ≤ 25·528·128 / (10·(528 + 25·128)) = {_BOUND:.2f}`, "
             f"so **{_WIDEST}** maps. (GoogLeNet's 4e uses {_F5R_4E}, a {_PAPER_SAVING:.1f}× saving.)",
)


# q3: the output shape of inception module 4e.
_F1, _F3R, _F3, _F5R, _F5, _PP = arch.GOOGLENET_MODULES["4e"]
_OUT = _F1 + _F3 + _F5 + _PP

q3 = ValueExercise(
    "Output shape (height, width, channels) of inception module 4e on its 14x14x528 input",
    (14, 14, _OUT),
    mistakes={
        (14, 14, _F1 + _F3R + _F3 + _F5R + _F5 + _PP): "You also counted the 1×1 reduce layers' maps: they feed the "
                                                       "3×3 and 5×5 convolutions and are not part of the output.",
        (14, 14, _F1 + _F3 + _F5 + 528): "That is the naive module, whose pool branch passes its 528 input maps "
                                         f"through. Here the pool branch ends with a 1×1 projection to {_PP} maps.",
        (14, 14, _F1 + _F3 + _F5): "Four branches are concatenated: you left out the pool branch's 1×1 projection.",
        (7, 7, _OUT): "Every branch has stride 1 and 'same' padding: the module keeps 14×14. The max pools between "
                      "the stages halve the size, not the modules.",
    },
    note=f"{_F1} + {_F3} + {_F5} + {_PP} = {_OUT} maps, at the input's 14×14.",
    hint="Only the last layer of each of the four branches reaches the depth concatenation; stride 1 and "
         "'same' padding keep the height and width.",
    solution=f"`(14, 14, {_F1} + {_F3} + {_F5} + {_PP}) = (14, 14, {_OUT})`; check with "
             "`arch.inception_module(keras.Input((14, 14, 528)), *arch.GOOGLENET_MODULES['4e']).shape`.",
)


# q4: global average pooling against flattening.
_GAP_HEAD = 1024 * 1000 + 1000
_FLAT_HEAD = 7 * 7 * 1024 * 1000 + 1000

q4 = ChoiceExercise(
    "Why does GoogLeNet's classifier need about 1 million parameters where AlexNet's dense layers need 58.6 million?",
    choices={
        "a": "Global average pooling turns each of the 1,024 final 7x7 maps into one number, so the dense layer "
             "reads 1,024 inputs instead of 7x7x1,024.",
        "b": "Global average pooling has learnable weights that do the dense layers' work.",
        "c": "GoogLeNet's last feature maps are smaller than AlexNet's.",
        "d": "Global average pooling keeps where each feature is, so the classifier needs fewer weights.",
    },
    correct="a",
    feedback={
        "b": "Global average pooling has no weights at all: it only averages each map.",
        "c": f"They are larger: 7×7×1,024 against AlexNet's 6×6×256. Flattened, they would feed "
             f"{7 * 7 * 1024:,} inputs into the 1,000-way layer: {_FLAT_HEAD:,} parameters.",
        "d": "It is the opposite: averaging a map throws away where the feature was, keeping only how strongly "
             "it was present.",
    },
    note=f"1,024 × 1,000 + 1,000 = {_GAP_HEAD:,} parameters after pooling; {_FLAT_HEAD:,} if the 7×7×1,024 "
         f"maps were flattened ({_FLAT_HEAD / _GAP_HEAD:.0f}× more).",
    hint="Count the inputs of the dense layer in each case.",
    solution=f"**a**. After global average pooling the classifier has 1,024 × 1,000 + 1,000 = {_GAP_HEAD:,} "
             f"parameters; flattening 7×7×1,024 maps would need {_FLAT_HEAD:,}. The pooling itself has none, "
             "and it discards where a feature was.",
)
assert math.isclose(_GAP_HEAD, 1_025_000)
