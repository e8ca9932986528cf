"""The package under `KERAS_BACKEND=jax`: training end to end, and the shipped weights give TensorFlow's numbers.

The data pipeline stays on tf.data (TensorFlow is installed with the package); the models run on JAX. The CPU
`jax` wheel comes with the `test` extra; without it these tests skip.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("jax", reason="jax is in the test extra (pip install -e '.[test]')")

ROOT = pathlib.Path(__file__).resolve().parents[1]
JAX_ENV = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3",
               TF_ENABLE_ONEDNN_OPTS="0")


def test_train_runs_end_to_end_under_jax(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "coaudiotext.train", "--model", "mha_a_t", "--data", "demo-tiny",
                           "--epochs", "2", "--out", str(out), "--quiet"], capture_output=True, text=True,
                          env=JAX_ENV, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    environment = json.loads((out / "environment.json").read_text())
    assert environment["keras_backend"] == "jax"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["parameters"] > 0 and 0 <= metrics["test"]["accuracy"] <= 1
    lines = (out / "history.csv").read_text().splitlines()
    assert len(lines) == 3 and all(np.isfinite(float(v)) for v in lines[1].split(",")[1:] if v not in ("", "NA"))


@pytest.mark.parametrize("key", ["mha_a_t", "ca"])
def test_shipped_weights_give_tensorflows_probabilities_under_jax(tmp_path, key):
    import coaudiotext
    from coaudiotext.data import resolve_data
    from coaudiotext.data.pipeline import build_features
    from coaudiotext.predict import read_metadata

    weights = ROOT / "weights" / f"{key}.keras"
    metadata = read_metadata(weights)
    manifest, _ = resolve_data("demo-tiny", progress=False)
    rows = manifest.split("test")
    features = build_features(metadata["features"], rows, progress=False)
    expected = np.asarray(coaudiotext.load_model(weights, compile=False).predict(features, verbose=0))
    np.savez(tmp_path / "features.npz", **features)
    code = ("import sys, numpy as np, keras, coaudiotext; assert keras.backend.backend() == 'jax'; "
            f"m = coaudiotext.load_model({str(weights)!r}, compile=False); "
            f"f = dict(np.load({str(tmp_path / 'features.npz')!r})); "
            f"np.save({str(tmp_path / 'jax.npy')!r}, np.asarray(m.predict(f, verbose=0)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=JAX_ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = np.load(tmp_path / "jax.npy")
    assert got.shape == expected.shape == (len(rows), 5)
    assert np.abs(got - expected).max() <= 1e-5, np.abs(got - expected).max()
