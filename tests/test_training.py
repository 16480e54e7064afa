"""Tests for utils.training: train / accuracy on softmax and RBF heads, the per-N-step and per-step callbacks."""
import keras
import numpy as np
import pytest

from lessons.lenet import lenet5_faithful, lenet5_modern, rbf_accuracy, rbf_loss
from lessons.typical_cnn import nielsen_net
from utils import training

# LeNet-5's RBF output as notebook 06 trains and reads it: the distance to the correct code, the nearest wins
RBF = training.Head(loss=rbf_loss, metrics=(rbf_accuracy,), smallest_wins=True)


@pytest.fixture(scope="module")
def faithful():
    return lenet5_faithful()


# ---------------------------------------------------------------------------
# training and scoring
# ---------------------------------------------------------------------------

def test_train_records_history_curve_and_accuracy():
    rng = np.random.default_rng(5)
    x = rng.random((64, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 64)
    keras.utils.set_random_seed(0)
    model = nielsen_net()
    run = training.train(model, x, y, epochs=2, batch_size=16, learning_rate=0.01, cosine_decay=True,
                      test_data=(x[:32], y[:32]), eval_every=4)
    assert len(run.history["loss"]) == 2
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-6)  # decayed to 0 after 8 steps
    assert [step for step, _ in run.curve] == [0, 4, 8]
    assert [step for step, _ in run.loss_curve] == [0, 4, 8]
    probs = model.predict(x[:32], verbose=0)
    final_ce = -np.log(probs[np.arange(32), y[:32]]).mean()
    assert run.loss_curve[-1][1] == pytest.approx(final_ce, rel=1e-4)
    assert run.curve[-1][1] == pytest.approx(np.mean(probs.argmax(axis=1) == y[:32]))
    assert 0.0 <= run.test_accuracy <= 1.0
    with pytest.raises(ValueError, match="labels"):
        training.train(nielsen_net(), x, y[:10], epochs=1)
    with pytest.raises(ValueError, match="test_data"):
        training.train(nielsen_net(), x, y, epochs=1, eval_every=2)
    with pytest.raises(ValueError, match="learning_rate"):
        training.train(nielsen_net(), x, y, epochs=1, learning_rate=0)


def test_rbf_training_curve_uses_the_rbf_loss():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 32, 32, 1)).astype("float32")
    y = rng.integers(0, 10, 32)
    model = lenet5_faithful()
    run = training.train(model, x, y, epochs=1, batch_size=16, test_data=(x, y), eval_every=2, head=RBF)
    distances = model.predict(x, verbose=0)
    assert run.loss_curve[-1][1] == pytest.approx(distances[np.arange(32), y].mean(), rel=1e-4)
    assert run.test_accuracy == pytest.approx(np.mean(distances.argmin(axis=1) == y))
    assert "rbf_accuracy" in run.history


def test_rbf_model_predicts_the_nearest_centre(faithful):
    x = np.random.default_rng(6).normal(size=(4, 32, 32, 1)).astype("float32")
    distances = faithful.predict(x, verbose=0)
    np.testing.assert_array_equal(training.predict_labels(faithful, x, head=RBF), distances.argmin(axis=1))
    assert training.accuracy(faithful, x, distances.argmin(axis=1), head=RBF) == 1.0
    modern = lenet5_modern()
    np.testing.assert_array_equal(training.predict_labels(modern, x), modern.predict(x, verbose=0).argmax(axis=1))
    with pytest.raises(ValueError, match="training.Head"):
        training.predict_labels(faithful, x, head="rbf")
    with pytest.raises(ValueError, match="training.Head"):
        training.AccuracyEvery(x, [0] * 4, every=1, head=None)


# ---------------------------------------------------------------------------
# StepLossHistory
# ---------------------------------------------------------------------------

def test_step_loss_history_records_a_metric_too():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(40, 3)).astype(np.float32), rng.integers(0, 2, 40)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = training.StepLossHistory(batch_size=16, n_samples=40, key="accuracy")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[history])
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    expected = [float(np.mean(predicted[i:i + 16] == y[i:i + 16])) for i in range(0, 40, 16)]
    np.testing.assert_allclose(history.losses, expected, atol=1e-6)
    with pytest.raises(ValueError, match="'top5'"):
        model.fit(x, y, batch_size=16, verbose=0, callbacks=[training.StepLossHistory(16, 40, key="top5")])


def test_step_loss_history_recovers_each_batch_loss():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(50, 3)).astype(np.float32), rng.integers(0, 2, 50)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")  # no updates: losses are fixed
    history = training.StepLossHistory(batch_size=16, n_samples=50)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[history])
    expected = [float(model.evaluate(x[i:i + 16], y[i:i + 16], verbose=0)) for i in range(0, 50, 16)]
    assert len(history.losses) == 8  # 4 batches (16, 16, 16, 2) x 2 epochs
    np.testing.assert_allclose(history.losses, expected * 2, rtol=1e-4)
    with pytest.raises(ValueError, match="batch_size=0"):
        training.StepLossHistory(batch_size=0, n_samples=50)


def test_an_rbf_output_with_the_softmax_head_is_refused():
    model = lenet5_faithful()
    with pytest.raises(ValueError, match="ends in an RBFOutput layer.*pass the RBF head"):
        training.compile_model(model)
