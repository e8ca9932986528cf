"""Keras callbacks: validation F1 metrics into the logs, and atomic best/last checkpoints.

The tutorial printed macro F1 from three pasted callbacks reading
`self.validation_data` (gone in TF >= 2.2). Here one `F1Callback` takes a
validation set with any number of inputs and writes `val_macro_f1`,
`val_weighted_f1`, `val_ua`, `val_macro_precision` and `val_macro_recall` into
the Keras logs, so `ModelCheckpoint`, `EarlyStopping`, `TensorBoard` and
`BestCheckpoint` below can use them. Put it *before* those callbacks.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import threading

import keras
import numpy as np

from coaudiotext.metrics import classification_metrics

__all__ = ["F1Callback", "BestCheckpoint", "InterruptAtBatchEnd", "atomic_save_model", "random_state", "set_random_state",
           "read_resume_state", "RESUME_ENTRY"]

RESUME_ENTRY = "coaudiotext_resume.json"
"""Name of the resume state inside `last.keras` (a zip): epoch, best value, history and random states."""


def _inputs_of(*element):
    return element[0]


def _targets_of(*element):
    return element[1]


def _predict_classes(model, data, batch_size):
    """Predicted and true classes of a `tf.data.Dataset` of `(inputs, labels)`.

    `model.predict` runs the compiled predict function, built once per model and reused every epoch: calling
    the model eagerly batch by batch gave the same probabilities but took ~11 s per epoch instead of ~1 s on
    480 demo utterances (the recurrent layers run step by step in eager mode).
    """
    if hasattr(data, "element_spec"):
        import tensorflow as tf

        inputs = data.map(tf.autograph.experimental.do_not_convert(_inputs_of))
        labels = np.concatenate([np.asarray(t) for t in data.map(tf.autograph.experimental.do_not_convert(_targets_of))])
        probabilities = np.asarray(model.predict(inputs, verbose=0))
        return np.argmax(probabilities, axis=-1), labels
    raise TypeError("expected a tf.data.Dataset")


class F1Callback(keras.callbacks.Callback):
    """Computes F1, precision, recall and UA on a validation set at every epoch end.

    Args:
        validation_data: a `tf.data.Dataset` yielding `(inputs, labels)`, or a tuple
            `(inputs, labels)` where `inputs` is an array, a list of arrays or a dict
            of arrays (any number of model inputs).
        class_names: list of str. Class names, for the per-class report.
        prefix: str. Prefix of the log keys. Defaults to `"val_"`.
        batch_size: int. Batch size for prediction when arrays are given. Defaults to 64.

    Logs (with the default prefix): `val_macro_f1`, `val_weighted_f1`, `val_ua`,
    `val_macro_precision`, `val_macro_recall`. The full metrics of the last epoch are
    in `self.last_metrics`.

    Example:

    >>> f1 = F1Callback((x_val, y_val), class_names=["s", "yn"])        # doctest: +SKIP
    >>> model.fit(x, y, callbacks=[f1, keras.callbacks.EarlyStopping("val_macro_f1", mode="max")])  # doctest: +SKIP
    """

    KEYS = ("macro_f1", "weighted_f1", "ua", "macro_precision", "macro_recall")

    def __init__(self, validation_data, class_names, prefix="val_", batch_size=64):
        super().__init__()
        self.validation_data = validation_data
        self.class_names = list(class_names)
        self.prefix = prefix
        self.batch_size = batch_size
        self.last_metrics = None

    def compute(self):
        data = self.validation_data
        if isinstance(data, tuple) and len(data) == 2 and not hasattr(data, "element_spec"):
            inputs, labels = data
            probabilities = self.model.predict(inputs, batch_size=self.batch_size, verbose=0)
            predictions = np.argmax(probabilities, axis=-1)
            labels = np.asarray(labels)
        else:
            predictions, labels = _predict_classes(self.model, data, self.batch_size)
        return classification_metrics(labels, predictions, self.class_names)

    def on_epoch_end(self, epoch, logs=None):
        metrics = self.compute()
        self.last_metrics = metrics
        if logs is not None:
            for key in self.KEYS:
                logs[self.prefix + key] = metrics[key]


def atomic_save_model(model, path, metadata=None, resume_state=None):
    """Saves `model` to `path` (`.keras`) atomically, optionally embedding `metadata`.

    The model is written to a temporary file in the same folder and renamed, so an
    interrupted save never leaves a broken file. `metadata` (a JSON-able dict: labels,
    feature settings, model key) is stored inside the `.keras` zip as
    `coaudiotext.json`; `coaudiotext.predict.load_trained` reads it back. `resume_state`
    (a JSON-able dict) is stored as `RESUME_ENTRY`, in the same atomic file as the weights
    and optimizer state it belongs to; `read_resume_state` reads it back.
    """
    import zipfile

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    try:
        model.save(tmp)
        if metadata is not None or resume_state is not None:
            with zipfile.ZipFile(tmp, "a") as archive:
                if metadata is not None:
                    archive.writestr("coaudiotext.json", json.dumps(metadata, indent=2, sort_keys=True))
                if resume_state is not None:
                    archive.writestr(RESUME_ENTRY, json.dumps(resume_state))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_resume_state(path):
    """The resume state embedded in a `.keras` file by `BestCheckpoint`, or None (older runs, other files)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            if RESUME_ENTRY not in archive.namelist():
                return None
            return json.loads(archive.read(RESUME_ENTRY))
    except (OSError, zipfile.BadZipFile, ValueError):
        return None


def _seed_states(model):
    """The state variables of `model`'s `SeedGenerator`s (dropout masks), in layer order.

    `model.variables` holds them besides the weights; `.keras` files keep only the weights
    (and the optimizer), so a reloaded model would draw new dropout masks."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def random_state(model):
    """Every random state the next epoch of `model` depends on, as a JSON-able dict.

    The states of the model's `SeedGenerator`s (dropout and recurrent-dropout masks), of Keras'
    global `SeedGenerator` (if one was made), of Python's `random` and of NumPy's global generator.
    The optimizer state is not here: `.keras` files keep it. The data order is not here either:
    `coaudiotext.train` derives each epoch's order from (seed, epoch). `set_random_state` restores it.
    """
    import random

    from keras.src.backend.common import global_state

    state = {"seed_generators": [np.asarray(v.numpy()).tolist() for v in _seed_states(model)]}
    generator = global_state.get_global_attribute("global_seed_generator")
    if generator is not None:
        state["global_seed_generator"] = np.asarray(generator.state.numpy()).tolist()
    version, internal, gauss = random.getstate()
    state["python"] = [version, list(internal), gauss]
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state["numpy"] = [kind, keys.tolist(), int(position), int(has_gauss), float(cached)]
    return state


def set_random_state(model, state):
    """Restores a `random_state(model)` into `model` (the same architecture) and the global generators.

    Returns the number of seed generators restored; raises ValueError when `model` has a different number of them.
    """
    import random

    variables = _seed_states(model)
    saved = state.get("seed_generators", [])
    if len(saved) != len(variables):
        raise ValueError(f"The saved random state has {len(saved)} seed generator(s) but the model has "
                         f"{len(variables)}: it belongs to another model.")
    for variable, value in zip(variables, saved):
        variable.assign(np.asarray(value, dtype=variable.dtype))
    if "global_seed_generator" in state:
        from keras.src.random.seed_generator import global_seed_generator  # made on demand

        global_seed_generator().state.assign(np.asarray(state["global_seed_generator"], dtype="uint32"))
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        kind, keys, position, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    return len(variables)


class BestCheckpoint(keras.callbacks.Callback):
    """Keeps `best.keras` (by a monitored log value) and `last.keras` + a resume state, atomically.

    Args:
        directory: path. Run directory.
        monitor: str. Log key to select on, e.g. `"val_macro_f1"` or `"val_loss"`.
        mode: str. `"max"` or `"min"`.
        metadata: dict or None. Embedded in every saved `.keras` file.
        initial_best: float or None. Best value so far (when resuming).
        initial_best_epoch: int or None. Its epoch (1-based).
        initial_history: list of dict or None. Logs of the epochs before (when resuming), each with its 0-based
            `"epoch"`.
        extra_state: dict or None. JSON-able settings stored with every resume state (e.g. the seed).

    After each epoch, `last.keras` holds the weights, the optimizer state and (entry
    `RESUME_ENTRY`) the resume state: epoch, best value and epoch, the logs of every epoch
    so far and `random_state(model)`. That one atomic file is the commit of the epoch:
    a run killed at any moment (even `kill -9` between two files) resumes from a consistent
    epoch. `state.json` repeats epoch and best for people and scripts, so
    `python -m coaudiotext.train --resume RUN_DIR` continues where training stopped.
    """

    def __init__(self, directory, monitor="val_macro_f1", mode="max", metadata=None, initial_best=None,
                 initial_best_epoch=None, initial_history=None, extra_state=None):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"Expected mode to be one of {{'max', 'min'}}. Received: mode={mode!r}")
        self.directory = pathlib.Path(directory)
        self.monitor = monitor
        self.mode = mode
        self.metadata = metadata
        self.best = initial_best
        self.best_epoch = initial_best_epoch
        self.history = [dict(row) for row in (initial_history or [])]
        self.extra_state = dict(extra_state or {})

    def _improved(self, value):
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(
                f"BestCheckpoint monitors {self.monitor!r} but the logs only have {sorted(logs)}. "
                "Put F1Callback before BestCheckpoint to log val_macro_f1 etc."
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch = value, epoch + 1
            atomic_save_model(self.model, self.directory / "best.keras", self.metadata)
        row = {"epoch": epoch, **{key: _plain(value) for key, value in logs.items() if key != "epoch"}}
        self.history = [r for r in self.history if r.get("epoch", -1) < epoch] + [row]
        state = {
            "epoch": epoch + 1,
            "monitor": self.monitor,
            "mode": self.mode,
            "best": self.best,
            "best_epoch": self.best_epoch,
        }
        resume = {**state, **self.extra_state, "history": self.history, "random": random_state(self.model)}
        atomic_save_model(self.model, self.directory / "last.keras", self.metadata, resume_state=resume)
        _atomic_write_text(self.directory / "state.json", json.dumps(state, indent=2))


def _plain(value):
    """A log value as JSON keeps it (floats exactly: JSON round-trips Python floats)."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else array.tolist()


def _atomic_write_text(path, text):
    from coaudiotext.cache import atomic_write_text

    atomic_write_text(path, text)  # temporary file removed on failure (a full disk leaves no orphan)


class InterruptAtBatchEnd(keras.callbacks.Callback):
    """Turns Ctrl-C during `fit` into a `KeyboardInterrupt` raised at the next batch end.

    Python raises `KeyboardInterrupt` wherever the main thread happens to be, which can be inside
    TensorFlow's own bookkeeping (a lock taken, a `tf.data` iterator half advanced) or inside a
    checkpoint write; a process interrupted there can hang instead of stopping. Used as a context manager
    around `fit` (main thread only; elsewhere it does nothing), it replaces the SIGINT handler by one that
    only sets a flag, and the callback raises at the next train or test batch end, a point where no
    TensorFlow call and no file write is in progress. A second Ctrl-C interrupts at once, as before.

    Example:

    >>> stopper = InterruptAtBatchEnd()
    >>> with stopper:                               # doctest: +SKIP
    ...     model.fit(data, callbacks=[stopper])
    """

    def __init__(self):
        super().__init__()
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:  # the second Ctrl-C: do not wait for the batch
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False

    def _check(self, batch=None, logs=None):
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_epoch_begin = _check
