"""`import coaudiotext` stays light yet registers the custom objects; `coaudiotext.load_model` is safe."""

import json
import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights"


def _run(code):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_import_coaudiotext_does_not_import_keras():
    out = _run("import sys, coaudiotext; print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("order", ["coaudiotext first", "keras first"])
def test_keras_load_model_works_after_import_coaudiotext(order):
    imports = "import coaudiotext, keras" if order == "coaudiotext first" else "import keras, coaudiotext"
    out = _run(f"{imports}; m = keras.saving.load_model('weights/mha_a_t.keras', safe_mode=True); "
               "print(m.count_params())")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "269277"


def test_without_coaudiotext_keras_cannot_load_the_file():
    """The registration is what makes loading work (so the test above can fail)."""
    assert (WEIGHTS / "mha_a_t.keras").exists(), "the shipped weights are part of the repository"
    out = _run("import keras; keras.saving.load_model('weights/mha_a_t.keras')")
    assert out.returncode != 0
    assert "hard_sigmoid_keras21" in out.stderr or "coaudiotext" in out.stderr


def test_load_model_refuses_lambda_layers(tmp_path):
    import keras

    import coaudiotext

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="(?i)lambda|safe_mode"):
        coaudiotext.load_model(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        coaudiotext.load_model(tmp_path / "missing.keras")


def test_load_trained_returns_model_and_metadata(tmp_path):
    from coaudiotext.models import build_model
    from coaudiotext.predict import load_trained

    model = build_model("text_bilstm_att")
    path = tmp_path / "m.keras"
    model.save(path)
    with pytest.raises(ValueError, match="coaudiotext.json"):
        load_trained(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("coaudiotext.json", json.dumps({"model": "text_bilstm_att", "class_names": list("abcde")}))
    loaded, metadata = load_trained(path)
    assert metadata["model"] == "text_bilstm_att"
    assert loaded.count_params() == model.count_params()
