"""Compile, train and evaluate the course's small Keras models; per-step and per-N-step callbacks.

- :func:`layer_table` / :func:`print_layer_table`: each layer's output shape and parameters;
- :class:`Head`: how a classifier's output is trained and read; :data:`SOFTMAX` (cross-entropy, the
  largest score wins) unless told otherwise, such as LeNet-5's RBF units (notebook 06: its loss, metric
  and "the smallest distance wins");
- :func:`compile_model` and :func:`train` (Adam, optional cosine decay) return a
  :class:`TrainingRun`; :func:`accuracy` and :func:`predict_labels` score a model;
- callbacks: :class:`AccuracyEvery` scores on held-out data every N steps,
  :class:`StepLossHistory` records the loss (or a metric) of every step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np

from utils.convmath import positive_int as _positive_int

# ---------------------------------------------------------------------------
# inspecting, training and scoring
# ---------------------------------------------------------------------------

def layer_table(model: keras.Model) -> list[tuple[str, str, tuple, int]]:
    """``(name, layer class, output shape without batch, parameters)`` for each layer."""
    return [(layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
            for layer in model.layers]


def print_layer_table(model: keras.Model) -> None:
    """Print :func:`layer_table` as aligned text, with the total."""
    print(f"{model.name}: input {tuple(model.input_shape[1:])}")
    for name, kind, shape, params in layer_table(model):
        print(f"  {name:<9} {kind:<21} -> {str(shape):<15} {params:>9,} params")
    print(f"  {'total':<9} {'':<21}    {'':<15} {model.count_params():>9,} params")


@dataclass(frozen=True)
class Head:
    """How a classifier's output is trained and read.

    ``loss`` and ``metrics`` go to ``model.compile``, and the loss is what :class:`AccuracyEvery`
    records. ``smallest_wins``: the predicted class is the smallest output (distances, as LeNet-5's
    RBF units give, with their own loss and metric) instead of the largest (scores, as softmax gives).
    """

    loss: object = "sparse_categorical_crossentropy"
    metrics: tuple = ("accuracy",)
    smallest_wins: bool = False

    def labels(self, outputs) -> np.ndarray:
        """The predicted class of each row of ``outputs``."""
        outputs = np.asarray(outputs)
        return outputs.argmin(axis=1) if self.smallest_wins else outputs.argmax(axis=1)

    def losses(self, y, outputs) -> np.ndarray:
        """The loss of each row of ``outputs`` against the labels ``y``."""
        if self.loss == "sparse_categorical_crossentropy":
            return -np.log(np.clip(outputs[np.arange(len(y)), y], 1e-7, 1.0))
        return np.asarray(keras.ops.convert_to_numpy(keras.losses.get(self.loss)(y, outputs)))


SOFTMAX = Head()  # softmax scores, sparse categorical cross-entropy, accuracy: the default everywhere here


def _check_head(head) -> Head:
    if not isinstance(head, Head):
        raise ValueError(f"head must be a training.Head (training.SOFTMAX, or Head(loss=..., metrics=..., "
                         f"smallest_wins=...) for a distance output), got head={head!r}")
    return head


def predict_labels(model: keras.Model, x, batch_size: int = 512, *, head: Head = SOFTMAX) -> np.ndarray:
    """Predicted class per image: argmax of the scores, or argmin of distances (``head.smallest_wins``)."""
    return _check_head(head).labels(model.predict(x, batch_size=batch_size, verbose=0))


def accuracy(model: keras.Model, x, y, batch_size: int = 512, *, head: Head = SOFTMAX) -> float:
    """Fraction of images classified correctly."""
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"got {len(x)} images but {len(y)} labels")
    return float(np.mean(predict_labels(model, x, batch_size, head=head) == y))


class AccuracyEvery(keras.callbacks.Callback):
    """Every ``every`` training steps (and at step 0), score the model on ``(x, y)``.

    ``curve`` collects ``(step, accuracy)`` and ``loss_curve`` ``(step, loss)``, the loss
    being the one the model trains on (``head.loss``: cross-entropy for softmax outputs),
    averaged over ``(x, y)``; ``head`` also says how a prediction is read.
    """

    def __init__(self, x, y, every: int, *, head: Head = SOFTMAX):
        super().__init__()
        self.x, self.y = x, np.asarray(y).reshape(-1)
        self.every = _positive_int("every", every)
        self.head = _check_head(head)
        self.curve: list[tuple[int, float]] = []
        self.loss_curve: list[tuple[int, float]] = []
        self._step = 0

    def _score(self):
        out = self.model.predict(self.x, batch_size=512, verbose=0)
        hits, loss = self.head.labels(out) == self.y, self.head.losses(self.y, out).mean()
        self.curve.append((self._step, float(hits.mean())))
        self.loss_curve.append((self._step, float(loss)))

    def on_train_begin(self, logs=None):
        if not self.curve:
            self._score()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self._score()


@dataclass
class TrainingRun:
    """What :func:`train` returns: Keras's per-epoch history, test accuracy and loss curves, timing."""

    history: dict
    curve: list = field(default_factory=list)
    loss_curve: list = field(default_factory=list)
    test_accuracy: float | None = None
    seconds: float = 0.0


def compile_model(model: keras.Model, learning_rate=1e-3, *, head: Head = SOFTMAX) -> keras.Model:
    """Adam, with the head's loss and metrics (sparse categorical cross-entropy and accuracy for softmax)."""
    if isinstance(learning_rate, (int, float)) and not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive (or a keras LearningRateSchedule), got {learning_rate!r}")
    head = _check_head(head)
    last = model.layers[-1] if model.layers else None
    if not head.smallest_wins and type(last).__name__ == "RBFOutput":
        raise ValueError(f"{model.name} ends in an RBFOutput layer (distances, smallest wins), but "
                         f"a softmax head trains it with cross-entropy on those distances: pass the RBF head, "
                         f"head=training.Head(loss=rbf_loss, metrics=(rbf_accuracy,), smallest_wins=True) "
                         f"(notebook 6 builds it)")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=head.loss, metrics=list(head.metrics))
    return model


def train(model: keras.Model, x_train, y_train, *, epochs: int, batch_size: int = 64,
          learning_rate: float = 1e-3, cosine_decay: bool = False, test_data=None,
          eval_every: int | None = None, verbose: int = 0, head: Head = SOFTMAX) -> TrainingRun:
    """Compile (:func:`compile_model`, Adam, the ``head``'s loss) and fit; score on ``test_data=(x, y)`` if given.

    ``cosine_decay`` lowers the learning rate from ``learning_rate`` to 0 along a
    half cosine over all the training steps. With ``eval_every`` (and ``test_data``),
    the test accuracy is also recorded every that many steps, for learning curves
    finer than one point per epoch.
    """
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch_size", batch_size)
    if len(x_train) != len(y_train):
        raise ValueError(f"got {len(x_train)} training images but {len(y_train)} labels")
    if eval_every is not None and test_data is None:
        raise ValueError("eval_every needs test_data=(x_test, y_test) to evaluate on")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    if cosine_decay:
        steps = epochs * int(np.ceil(len(x_train) / batch_size))
        learning_rate = keras.optimizers.schedules.CosineDecay(float(learning_rate), steps)
    compile_model(model, learning_rate, head=head)
    callbacks = [AccuracyEvery(*test_data, every=eval_every, head=head)] if eval_every else []
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True,
                        callbacks=callbacks, verbose=verbose)
    seconds = time.perf_counter() - start
    run = TrainingRun(history=dict(history.history), seconds=seconds,
                      curve=callbacks[0].curve if callbacks else [],
                      loss_curve=callbacks[0].loss_curve if callbacks else [])
    if test_data is not None:
        run.test_accuracy = accuracy(model, *test_data, head=head)
    return run


# ---------------------------------------------------------------------------
# per-step history, for brief training runs
# ---------------------------------------------------------------------------

class StepLossHistory(keras.callbacks.Callback):
    """Record the training loss (or another logged value) of every step (batch), for curves of short runs.

    Keras reports, after each batch, the *running mean* of the loss over the
    epoch so far (weighted by batch size). This callback recovers each batch's
    own loss from two consecutive means. Give the ``batch_size`` and the number
    of training samples ``n_samples`` passed to ``fit`` (the last batch of an
    epoch may be smaller). ``losses`` holds one value per step, all epochs in a row.
    ``key="accuracy"`` records each batch's accuracy instead (any metric that is a
    mean over the samples works the same way).
    """

    def __init__(self, batch_size: int, n_samples: int, key: str = "loss"):
        super().__init__()
        self.batch_size = _positive_int("batch_size", batch_size)
        self.n_samples = _positive_int("n_samples", n_samples)
        self.key = key
        self.losses: list[float] = []

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_epoch_begin(self, epoch, logs=None):
        self._seen, self._mean = 0, 0.0

    def on_train_batch_end(self, batch, logs=None):
        if logs is None or self.key not in logs:
            raise ValueError(f"StepLossHistory needs {self.key!r} in fit's batch logs; compile the model with "
                             f"a loss (and metrics=[{self.key!r}] for a metric); logs have {sorted(logs or {})}")
        size = min(self.batch_size, self.n_samples - self._seen)
        if size < 1:
            raise ValueError(f"more batches than n_samples={self.n_samples} and batch_size={self.batch_size} "
                             f"allow: pass fit's real batch_size and number of samples")
        mean = float(logs[self.key])
        seen = self._seen + size
        self.losses.append((mean * seen - self._mean * self._seen) / size)
        self._seen, self._mean = seen, mean
