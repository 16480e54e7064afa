"""Exercises for notebook 06 (LeNet-5): definitions, references, planted mistakes."""
from __future__ import annotations

from utils import convmath, lenet
from utils.checker import ChoiceExercise, FunctionExercise, ValueExercise


# q1: the parameters of a partially connected convolution such as C3, given its connection table.
def partial_conv_params(connections, kernel=5):
    """Parameters of a convolution whose output map j sees only the input maps listed in connections[j]."""
    weights = sum(kernel * kernel * len(sources) for sources in connections)  # one kernel per connection
    biases = len(connections)  # one bias per output map
    return weights + biases


def _full_connectivity(connections, kernel=5):
    in_maps = 1 + max(max(sources) for sources in connections)
    return kernel * kernel * in_maps * len(connections) + len(connections)


def _no_biases(connections, kernel=5):
    return sum(kernel * kernel * len(sources) for sources in connections)


def _bias_per_connection(connections, kernel=5):
    return sum(kernel * kernel * len(sources) + len(sources) for sources in connections)


CASES = [(lenet.C3_CONNECTIONS, 5), (lenet.C3_CONNECTIONS, 3), (((0,), (0, 1), (1,)), 5),
         (((0, 1, 2),), 3), (((0, 2), (1, 3), (0, 1, 2, 3)), 5)]

q1 = FunctionExercise(
    "partial_conv_params(connections, kernel): C3's parameter count from its connection table",
    reference=partial_conv_params,
    cases=CASES,
    mistakes=[
        (_full_connectivity, "That is a fully connected convolution (every output map sees every input map, "
                             "2,416 for C3): count one kernel only for each connection listed in the table."),
        (_no_biases, "Your counts are short by one per output map: each C3 map also has one bias."),
        (_bias_per_connection, "You count a bias for each connection: a map has one bias however many input "
                               "maps it sees."),
    ],
    hint="Each listed connection (output map j, input map i) carries one kernel of kernel × kernel weights; "
         "each output map adds one bias.",
    solution=partial_conv_params,
)


# q2: predict S4's output shape when 28x28 digits are zero-padded to 32x32.
def _chain(side, same=False):
    c1 = side if same else convmath.conv_output_size(side, 5)
    s2 = convmath.conv_output_size(c1, 2, 2)
    c3 = s2 if same else convmath.conv_output_size(s2, 5)
    return (convmath.conv_output_size(c3, 2, 2), convmath.conv_output_size(c3, 2, 2), 16)


q2 = ValueExercise(
    "LeNet-5 on a 28×28 digit padded to 32×32: the output shape (height, width, maps) of S4",
    _chain(32),
    mistakes={
        _chain(28): "That is the shape without the padding (28 → 24 → 12 → 8 → 4), or a forgotten +1: the input "
                    "is 32×32, and a 5×5 kernel fits at 32 − 5 + 1 = 28 positions.",
        _chain(32, same=True): "That is with padding='same' convolutions: LeNet-5's convolutions are 'valid', "
                               "each trims 4 pixels.",
        _chain(32)[:2] + (6,): "Height and width are right; S4 pools C3's 16 maps, not S2's 6.",
    },
    note="32 → C1 28 → S2 14 → C3 10 → S4 5: exactly the 5×5 that C5's 5×5 kernels cover once.",
    hint="Each 5×5 'valid' convolution trims 4 pixels (n − 5 + 1); each 2×2 subsampling halves. S4 keeps C3's "
         "number of maps.",
    solution="`32 − 5 + 1 = 28`, `28 / 2 = 14`, `14 − 5 + 1 = 10`, `10 / 2 = 5`, with C3's 16 maps: "
             "**(5, 5, 16)**. `training.layer_table(lenet.lenet5_faithful())` prints it.",
)


# q3: the RBF output.
q3 = ChoiceExercise(
    "LeNet-5's RBF output units keep their 7×12 codes fixed. Why, with the plain RBF loss?",
    choices={
        "a": "The RBF units have no gradient with respect to their codes, so they could not learn anyway.",
        "b": "If the codes learned too, the cheapest way to a zero loss would be to move all ten codes onto the "
             "same point, and the network would stop telling digits apart.",
        "c": "Fixed codes make the squared distance bounded, so the gradients cannot explode.",
        "d": "Fixed codes are needed because a smaller distance means a more likely class.",
    },
    correct="b",
    feedback={
        "a": "The distance Σ(x − w)² depends on w as much as on x: its gradient on the code is −2(x − w). "
             "Keras would train the codes if they were not frozen (trainable=False).",
        "c": "The distance is not bounded by fixing the codes; and bounded or not is not why they are fixed.",
        "d": "That says how the output is read (the smallest distance wins), not why the codes must not learn.",
    },
    note="The plain loss only pulls F6's output to the correct code; nothing pushes the codes apart. "
         "LeCun et al. add a term for that (Sec. II-C of the paper).",
    hint="The plain loss is the distance to the correct class's code and nothing else. What would gradient "
         "descent do to the codes if it could move them?",
    solution="**b**. The loss is only the correct code's distance; with learnable codes a collapse of all codes "
             "(and of F6's output) onto one point drives it to zero for every digit.",
)
