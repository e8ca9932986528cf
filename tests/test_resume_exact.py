"""Exact resume: a run stopped after epoch k and resumed with `--resume` ends bit-identical to an uninterrupted one.

What the next epoch depends on is saved with each epoch and restored: weights and optimizer state (Adam
moments and step, in last.keras), the states of the dropout SeedGenerators, Python's and NumPy's generators
(the resume state inside last.keras) and the data order (a pure function of seed and epoch). The stop is
simulated in-process by an exception out of the epoch's checkpoint callback, at two moments: after the epoch
was fully saved, and inside the commit (last.keras written, state.json and the history line not yet), where a
`kill -9` can land too. In-process is the harder case: the resumed run also inherits this process' random
states, which the restore must override. (A subprocess killed with `kill -9` during epoch 3 of
`--model bilstm_att --data demo-tiny --epochs 4`, then resumed, gave the same bit-identical result.)
"""

import csv
import json

import numpy as np
import pytest

from coaudiotext import callbacks, train

MODEL, EPOCHS, STOP_AFTER = "text_bilstm_att", 3, 1  # text_bilstm_att: dropout and recurrent dropout, fast


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def _history(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _weights(run_dir):
    import keras

    return keras.saving.load_model(run_dir / "last.keras").get_weights()


def _train(out, **kwargs):
    return train.train(MODEL, data="demo-tiny", epochs=EPOCHS, out=str(out), seed=3, verbose=0, report=False, **kwargs)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "uninterrupted"
    _train(out)
    return out


def _stop_after_epoch(monkeypatch):
    """Dies once every callback of epoch k is done (TerminateOnNaN is the last): everything of epoch k is on disk."""
    import keras

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == STOP_AFTER:
            raise Killed

    monkeypatch.setattr(keras.callbacks.TerminateOnNaN, "on_epoch_end", on_epoch_end)
    return STOP_AFTER, STOP_AFTER  # state.json's epoch, history lines


def _stop_inside_commit(monkeypatch):
    """Dies between last.keras of epoch k (the commit) and state.json: no state.json yet, no history line."""
    real = callbacks._atomic_write_text

    def write(path, text):
        if path.name == "state.json" and json.loads(text)["epoch"] == STOP_AFTER:
            raise Killed
        real(path, text)

    monkeypatch.setattr(callbacks, "_atomic_write_text", write)
    return None, 0


@pytest.mark.parametrize("stop", [_stop_after_epoch, _stop_inside_commit], ids=["after-epoch", "inside-commit"])
def test_resumed_run_equals_uninterrupted_run(uninterrupted, tmp_path, monkeypatch, stop):
    out = tmp_path / "interrupted"
    with monkeypatch.context() as patch:
        state_epoch, lines = stop(patch)
        with pytest.raises(Killed):
            _train(out)
    state = out / "state.json"
    assert (json.loads(state.read_text())["epoch"] if state.exists() else None) == state_epoch
    assert len(_history(out)) == lines
    assert callbacks.read_resume_state(out / "last.keras")["epoch"] == STOP_AFTER  # the commit
    import random

    random.seed(12345)  # the resume must not depend on this process' random states
    np.random.seed(12345)
    train.train(None, resume=str(out), verbose=0, report=False)

    reference, resumed = _history(uninterrupted), _history(out)
    assert [row["epoch"] for row in resumed] == [str(e) for e in range(EPOCHS)]
    for key in ("loss", "accuracy", "val_loss", "val_macro_f1"):
        assert [row[key] for row in resumed] == [row[key] for row in reference], key  # the same digits
    for a, b in zip(_weights(uninterrupted), _weights(out)):
        np.testing.assert_array_equal(a, b)  # bit-identical (the brief allows 1e-6)
    assert json.loads((out / "state.json").read_text()) == json.loads((uninterrupted / "state.json").read_text())


def test_resume_state_round_trips_the_random_states():
    import random

    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5), keras.layers.Dense(2),
                              keras.layers.Dropout(0.3)])
    x = np.ones((8, 4), "float32")
    model(x, training=True)  # advances the dropout seed states
    saved = json.loads(json.dumps(callbacks.random_state(model)))  # through JSON, as in last.keras
    expected = (model(x, training=True).numpy(), random.random(), np.random.random())
    model(x, training=True)
    random.random(), np.random.random()
    assert callbacks.set_random_state(model, saved) == 2
    again = (model(x, training=True).numpy(), random.random(), np.random.random())
    np.testing.assert_array_equal(expected[0], again[0])
    assert expected[1:] == again[1:]
    with pytest.raises(ValueError, match="seed generator"):
        callbacks.set_random_state(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), saved)


def test_epoch_orders_are_a_function_of_seed_and_epoch():
    full = train._epoch_orders(10, 7, 5)
    assert full.shape == (5, 10) and all(sorted(row) == list(range(10)) for row in full)
    np.testing.assert_array_equal(train._epoch_orders(10, 7, 3), full[:3])  # no state carried between calls
    assert len({tuple(row) for row in full}) == 5  # reshuffled every epoch


@pytest.mark.parametrize("lines, done, expected", [
    (["epoch,loss", "0,1.5", "1,1.25", "2,1.0"], 2, ["epoch,loss", "0,1.5", "1,1.25"]),  # lines after the commit: cut
    (["epoch,loss", "0,1.5"], 2, ["epoch,loss", "0,1.5", "1,1.25"]),  # killed before CSVLogger's line: rebuilt
    ([], 1, ["epoch,loss,val_loss", "0,1.5,2.0"]),  # killed in the commit of epoch 1: the header is rebuilt too
    (["epoch,loss", "0,1.5", "1,1.2"], 2, ["epoch,loss", "0,1.5", "1,1.25"]),  # a half-written last line: redone
], ids=["ahead", "one-short", "empty", "half-line"])
def test_history_is_made_to_match_the_commit(tmp_path, lines, done, expected):
    path = tmp_path / "history.csv"
    text = "".join(line + "\r\n" for line in lines)  # CSVLogger writes the excel dialect
    if lines and lines[-1] == "1,1.2":
        text = text[:-2]  # no line end: the process died while writing it
    path.write_bytes(text.encode())
    rows = [{"epoch": 0, "loss": 1.5, "val_loss": 2.0}, {"epoch": 1, "loss": 1.25, "val_loss": 1.5}]
    train._restore_history(path, rows, done)
    assert path.read_bytes().decode() == "".join(line + "\r\n" for line in expected)
