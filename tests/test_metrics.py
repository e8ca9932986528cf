"""Named metrics agree with scikit-learn; the F1 callback writes them into Keras logs."""

import numpy as np
import pytest
from sklearn import metrics as skm

from coaudiotext.metrics import classification_metrics, confusion_matrix

NAMES = ["s", "yn", "wh", "c", "r"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, size=200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 5, size=200))
    if seed == 2:  # a class never predicted and one never present
        y_pred[y_pred == 3] = 0
        y_true[y_true == 4] = 1
    m = classification_metrics(y_true, y_pred, NAMES)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert m["ua"] == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="weighted", zero_division=0))
    assert m["macro_precision"] == pytest.approx(skm.precision_score(y_true, y_pred, average="macro", zero_division=0))
    assert m["macro_recall"] == pytest.approx(skm.recall_score(y_true, y_pred, average="macro", zero_division=0))
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=range(5), zero_division=0)
    for i, name in enumerate(NAMES):
        assert m["per_class"][name]["precision"] == pytest.approx(p[i])
        assert m["per_class"][name]["recall"] == pytest.approx(r[i])
        assert m["per_class"][name]["f1"] == pytest.approx(f[i])
        assert m["per_class"][name]["support"] == s[i]
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(y_true, y_pred, labels=range(5)))
    assert m["n"] == 200


def test_wa_and_ua_differ_on_imbalanced_data():
    # 90 of class 0 all right, 10 of class 1 all wrong: WA 0.9, UA 0.5 - the names must not be swapped.
    y_true = np.array([0] * 90 + [1] * 10)
    y_pred = np.zeros(100, dtype=int)
    m = classification_metrics(y_true, y_pred, ["a", "b"])
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["ua"] == pytest.approx(0.5)


def test_confusion_matrix_rejects_length_mismatch():
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix([0, 1], [0], 2)


def test_f1_callback_logs_for_multi_input_model():
    import keras

    from coaudiotext.callbacks import F1Callback

    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, out)
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(32, 3)).astype("float32"), "b": rng.normal(size=(32, 2)).astype("float32")}
    y = rng.integers(0, 3, size=32)
    callback = F1Callback((x, y), class_names=["x", "y", "z"])
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    assert len(history.history["val_macro_f1"]) == 2
    predictions = np.argmax(model.predict(x, verbose=0), axis=-1)
    expected = skm.f1_score(y, predictions, average="macro", zero_division=0)
    assert history.history["val_macro_f1"][-1] == pytest.approx(expected)


def test_f1_callback_on_a_dataset_scores_the_model_as_an_eager_call_does():
    """The dataset path runs `model.predict` (compiled once, fast); its classes equal calling the model."""
    import keras

    from coaudiotext.callbacks import F1Callback
    from coaudiotext.data.pipeline import make_dataset

    a = keras.Input((5, 3), name="a")
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.LSTM(4)(a))
    model = keras.Model({"a": a}, out)
    rng = np.random.default_rng(1)
    x = {"a": rng.normal(size=(70, 5, 3)).astype("float32")}
    y = rng.integers(0, 3, size=70)
    callback = F1Callback(make_dataset(x, y, batch_size=16), class_names=["x", "y", "z"])
    callback.set_model(model)
    metrics = callback.compute()
    eager = np.argmax(np.asarray(model(x, training=False)), axis=-1)
    assert metrics["macro_f1"] == pytest.approx(skm.f1_score(y, eager, average="macro", zero_division=0))
    assert metrics["accuracy"] == pytest.approx(np.mean(eager == y)) and metrics["n"] == 70
