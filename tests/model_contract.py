"""The shared model contract: every registry model goes through `run_model_contract`.

After keras-hub's `run_model_saving_test`: on tiny random inputs, a model must

1. give outputs of the right shape (probabilities: non-negative, rows summing to 1);
2. round-trip its `get_config()` (`from_config` rebuilds the same graph, same predictions
   with the same weights);
3. train one step (compiled with Adam, sparse categorical cross-entropy): finite loss,
   trainable weights change;
4. save to `.keras` and reload with `safe_mode=True`, in a fresh Python process
   (nothing registered by the test process can help) or in-process, with identical
   predictions.

Usage (from a test):

    from model_contract import run_model_contract
    run_model_contract(model, {"audio": x}, tmp_path)
"""

import copy
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np

__all__ = ["random_inputs", "run_model_contract", "reload_in_fresh_process"]

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

_RELOAD_SCRIPT = textwrap.dedent(
    """
    import importlib, os, sys
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras
    for module in sys.argv[4:]:
        importlib.import_module(module)  # registers the package's custom objects
    model = keras.saving.load_model(sys.argv[1], safe_mode=True)
    data = np.load(sys.argv[2])
    inputs = {name: data[name] for name in data.files}
    np.save(sys.argv[3], keras.ops.convert_to_numpy(model(inputs, training=False)))
    """
)


def random_inputs(model, batch_size=4, seed=0):
    """Random float32 inputs for every `keras.Input` of `model`, keyed by input name.

    Inputs whose name ends in `mask` get 0/1 values with at least the first position set.
    """
    rng = np.random.default_rng(seed)
    inputs = {}
    for tensor in model.inputs:
        shape = (batch_size,) + tuple(tensor.shape[1:])
        if tensor.name.endswith("mask"):
            value = (rng.random(shape) > 0.3).astype("float32")
            value[:, 0] = 1.0
        else:
            value = rng.standard_normal(shape).astype("float32")
        inputs[tensor.name] = value
    return inputs


def reload_in_fresh_process(path, inputs, tmp_path, imports=("coaudiotext.models",), timeout=300):
    """Loads the `.keras` file `path` in a new Python process (`safe_mode=True`) and returns its predictions.

    Args:
        path: str or Path. The saved `.keras` file.
        inputs: dict of arrays keyed by input name.
        tmp_path: Path. Folder for the exchanged arrays.
        imports: tuple of str. Modules the fresh process imports before loading
            (they register the custom layers). Defaults to `("coaudiotext.models",)`.
        timeout: float. Seconds before the process is killed.
    """
    tmp_path = pathlib.Path(tmp_path)
    inputs_file = tmp_path / "contract_inputs.npz"
    predictions_file = tmp_path / "contract_predictions.npy"
    np.savez(inputs_file, **inputs)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env["KERAS_BACKEND"] = keras.backend.backend()
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = subprocess.run(
        [sys.executable, "-c", _RELOAD_SCRIPT, str(path), str(inputs_file), str(predictions_file), *imports],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"Reloading {path} in a fresh process failed:\n{result.stderr[-4000:]}")
    return np.load(predictions_file)


def run_model_contract(
    model,
    inputs,
    tmp_path,
    *,
    fresh_process=True,
    probabilities=True,
    train_steps=1,
    imports=("coaudiotext.models",),
    atol=1e-6,
    run_eagerly=True,
):
    """Checks the model contract; returns the predictions of the trained model.

    Args:
        model: keras.Model. An uncompiled model with named dict inputs.
        inputs: dict of arrays keyed by input name (a small batch).
        tmp_path: Path. A temporary folder (pytest's `tmp_path`).
        fresh_process: bool. Reload the `.keras` file in a new Python process
            (`True`) or in this one (`False`, faster). Defaults to `True`.
        probabilities: bool. The output is a (batch, classes) probability
            vector; `False` only checks the batch size and finiteness. Defaults to `True`.
        train_steps: int. Optimizer steps of the training check. Defaults to 1.
        imports: tuple of str. Modules the fresh process imports. Defaults to `("coaudiotext.models",)`.
        atol: float. Tolerance of the prediction comparisons. Defaults to 1e-6.
        run_eagerly: bool. Train without tracing a `tf.function` (much faster for
            a single step of a tiny model). Defaults to `True`.
    """
    tmp_path = pathlib.Path(tmp_path)
    names = sorted(tensor.name for tensor in model.inputs)
    assert sorted(inputs) == names, f"inputs {sorted(inputs)} do not match the model's inputs {names}"
    batch_size = len(next(iter(inputs.values())))

    # 1. Outputs
    before = _predict(model, inputs)
    assert before.shape[0] == batch_size, f"output batch {before.shape[0]} != input batch {batch_size}"
    assert np.all(np.isfinite(before)), "non-finite outputs"
    if probabilities:
        assert before.ndim == 2, f"expected (batch, classes) probabilities, got shape {before.shape}"
        assert np.all(before >= 0.0), "negative probabilities"
        np.testing.assert_allclose(before.sum(axis=-1), 1.0, atol=1e-5, err_msg="probabilities do not sum to 1")

    # 2. get_config round trip
    config = model.get_config()
    rebuilt = model.__class__.from_config(copy.deepcopy(config))  # from_config consumes its argument
    assert rebuilt.get_config() == config, "get_config() does not round-trip through from_config()"
    assert rebuilt.count_params() == model.count_params()
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(_predict(rebuilt, inputs), before, atol=atol)

    # 3. Training
    if train_steps:
        num_classes = before.shape[-1] if probabilities else 2
        labels = np.arange(batch_size) % num_classes
        initial = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=1e-3),
            loss="sparse_categorical_crossentropy",
            run_eagerly=run_eagerly,
        )
        history = model.fit(inputs, labels, batch_size=batch_size, epochs=train_steps, verbose=0)
        losses = history.history["loss"]
        assert np.all(np.isfinite(losses)), f"non-finite training loss {losses}"
        changed = [
            not np.array_equal(w0, keras.ops.convert_to_numpy(w)) for w0, w in zip(initial, model.trainable_weights)
        ]
        assert any(changed), "no trainable weight changed after a training step"
    after = _predict(model, inputs)

    # 4. Save and reload (safe_mode=True)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    if fresh_process:
        reloaded = reload_in_fresh_process(path, inputs, tmp_path, imports=imports)
    else:
        reloaded = _predict(keras.saving.load_model(path, safe_mode=True), inputs)
    np.testing.assert_allclose(reloaded, after, atol=atol, err_msg="reloaded .keras model predicts differently")
    return after


def _predict(model, inputs):
    """Inference-mode outputs as numpy (a direct call: no `predict` function to trace)."""
    return keras.ops.convert_to_numpy(model(inputs, training=False))
