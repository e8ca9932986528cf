"""Every registry key trains through `coaudiotext.train` on the tiny demo corpus, and its best.keras evaluates.

Models over pretrained-encoder features get them from tiny random-weight BERT / wav2vec2
encoders built from configs (nothing is downloaded), so these runs only show that the path works.
"""

import json

import pytest

from coaudiotext.models import MODELS

PRETRAINED_TEXT = ("bert", "bert_mask", "roberta", "roberta_seq")
PRETRAINED_AUDIO = ("wav2vec2", "wav2vec2_seq")
# The two ~330M-parameter heads are trained at reduced width in their own tests, not here.
FULL_WIDTH_ONLY = {"rsa_cfn", "hybrid_fusion"}
# Keys over inputs the manifest pipeline does not build (seed 003's IEMOCAP-fold arrays: glove, video,
# mfcc120) are tested on arrays in tests/test_self_cross_attn.py; their demo twins (`tva_*_at`) run here.
from coaudiotext.data.pipeline import FEATURE_KINDS  # noqa: E402

ARRAY_ONLY = {key for key, spec in MODELS.items() if not set(spec.inputs) <= set(FEATURE_KINDS)}


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory):
    from coaudiotext.data import resolve_data
    from coaudiotext.testing import make_tiny_bert, make_tiny_wav2vec2

    folder = tmp_path_factory.mktemp("encoders")
    manifest, _ = resolve_data("demo-tiny")
    text = make_tiny_bert(folder / "bert", texts=manifest.texts)
    audio = make_tiny_wav2vec2(folder / "wav2vec2")
    return str(text), str(audio)


def _overrides(key, encoders):
    overrides = {}
    for name in MODELS[key].inputs:
        if name in PRETRAINED_TEXT:
            overrides[name] = {"model": encoders[0]}
        if name in PRETRAINED_AUDIO:
            overrides[name] = {"model": encoders[1]}
    return overrides


@pytest.mark.parametrize("key", [k for k in MODELS if k not in FULL_WIDTH_ONLY | ARRAY_ONLY])
def test_every_key_trains_and_evaluates(key, tmp_path, request):
    from coaudiotext.evaluate import evaluate
    from coaudiotext.train import train

    spec = MODELS[key]
    needs_encoders = any(name in PRETRAINED_TEXT + PRETRAINED_AUDIO for name in spec.inputs)
    encoders = request.getfixturevalue("tiny_encoders") if needs_encoders else None
    # Smaller than the originals where a flag allows it, to keep CI fast; counts are tested elsewhere.
    flags = {}
    if key in ("bilstm", "bilstm_att", "para", "text_bilstm_att", "mha_a", "mha_a_t", "ca"):
        flags = {"recurrent_activation": "sigmoid"}
    if key in ("audio_transformer", "crossmodal_transformer"):
        flags = {"num_layers": 1}
    results = train(key, data="demo-tiny", out=tmp_path / key, epochs=1, batch_size=16, verbose=0, report=False,
                    model_flags=flags, feature_overrides=_overrides(key, encoders) if encoders else None)
    assert results["test"]["n"] == 12
    assert results["extra"]["handwritten"]["n"] == 12  # evaluated, never selected on
    assert 0.0 <= results["test"]["accuracy"] <= 1.0
    assert json.loads((tmp_path / key / "state.json").read_text())["epoch"] == 1
    again = evaluate(tmp_path / key / "best.keras", "demo-tiny", split="test")
    assert again["accuracy"] == pytest.approx(results["test"]["accuracy"])
    assert again["macro_f1"] == pytest.approx(results["test"]["macro_f1"])
