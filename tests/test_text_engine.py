"""Seed 001's BERT token features without torch: the Keras encoder gives transformers' features."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch (the pretrained extra) builds the tiny checkpoint and the reference")

from coaudiotext.features.pretrained import extract_text_features  # noqa: E402
from coaudiotext.testing import make_tiny_bert  # noqa: E402

TEXTS = ["so this is how it ends", "ok", "what did you say to her yesterday after the long meeting", "fine."]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-bert")
    make_tiny_bert(folder, texts=TEXTS, hidden_size=32, num_hidden_layers=2, seed=1)
    return folder


@pytest.mark.parametrize("pooling, padding", [("none", "max_length"), ("masked_mean", "longest"), ("cls", "max_length")])
def test_keras_engine_matches_torch(tiny_bert, tmp_path, pooling, padding):
    options = dict(model=str(tiny_bert), max_len=16, pooling=pooling, padding=padding, cache_dir=tmp_path, batch_size=3)
    reference, reference_mask = extract_text_features(TEXTS, **options)
    keras_features, keras_mask = extract_text_features(TEXTS, engine="keras", **options)
    assert keras_features.shape == reference.shape and np.array_equal(keras_mask, reference_mask)
    assert np.abs(keras_features - reference).max() <= 1e-4
    assert np.abs(reference).max() > 0.1  # real features, not zeros


def test_engines_are_cached_apart_and_checked(tiny_bert, tmp_path):
    options = dict(model=str(tiny_bert), max_len=16, cache_dir=tmp_path)
    extract_text_features(TEXTS, **options)
    extract_text_features(TEXTS, engine="keras", **options)
    assert len([p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".npz"]) == 2
    with pytest.raises(ValueError, match="engine"):
        extract_text_features(TEXTS, engine="onnx", **options)
