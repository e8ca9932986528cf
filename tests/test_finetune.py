"""Fine-tuning encoders + a RSA-CFN head (`coaudiotext.finetune`) on tiny random checkpoints.

The checkpoints are written in tmp_path with `save_pretrained` (no download): a tiny wav2vec2
(`make_tiny_wav2vec2`, large-lv60 layout) and a tiny RoBERTa (`RobertaForMaskedLM`, like klue/roberta-base)
with `make_tiny_bert`'s character tokenizer. The waveforms are synthetic (16 kHz noise), so the tests never
decode audio. The JAX / PyTorch train-step checks run in subprocesses only with COAUDIOTEXT_BACKEND_CHECKS=1
(each takes a minute or two on two cores).
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import keras  # noqa: E402

import coaudiotext  # noqa: E402
from coaudiotext import finetune as ft  # noqa: E402
from coaudiotext.models import build_model  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_TOKENS = 16
RATES = {"wav2vec2": 1e-3, "text": 1e-3, "head": 1e-3}


def _write_checkpoints(root):
    from coaudiotext.testing import make_tiny_bert, make_tiny_wav2vec2

    root = pathlib.Path(root)
    w2v = make_tiny_wav2vec2(root / "w2v", hidden_size=16, intermediate_size=24)
    text = pathlib.Path(make_tiny_bert(root / "roberta", hidden_size=16, intermediate_size=24))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(text))
    config = transformers.RobertaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=24, max_position_embeddings=MAX_TOKENS + tokenizer.pad_token_id + 1,
        pad_token_id=tokenizer.pad_token_id, type_vocab_size=1,
    )
    (text / "model.safetensors").unlink()
    (text / "config.json").unlink()
    torch.manual_seed(0)
    transformers.RobertaForMaskedLM(config).save_pretrained(str(text))
    return w2v, str(text)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return _write_checkpoints(tmp_path_factory.mktemp("finetune"))


def _data():
    rng = np.random.default_rng(0)
    audio = [rng.standard_normal(n).astype("float32") for n in (3000, 4000, 3500, 5000)]
    texts = ["yes it is", "no way", "yes sir", "no"]
    labels = ["a", "b", "a", "b"]
    return audio, texts, labels


def _values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


@pytest.fixture(scope="module")
def run(checkpoints, tmp_path_factory):
    """`rsa` fine-tuned 4 steps (freeze="feature_encoder"), with the weights before training."""
    w2v, text = checkpoints
    audio, texts, labels = _data()
    out = tmp_path_factory.mktemp("run")
    reference = ft.build_finetune_model("rsa", w2v, text, max_tokens=MAX_TOKENS, num_classes=2)
    groups = ft.variable_groups(reference)
    before = {part: _values(variables) for part, variables in groups.items()}
    result = ft.finetune("rsa", w2v, text, audio=audio, texts=texts, labels=labels, validation=(audio, texts, labels),
                         epochs=4, batch_size=4, learning_rates=RATES, max_tokens=MAX_TOKENS, out=out, verbose=0)
    return result, before, out


def test_loss_falls_and_encoders_change(run):
    result, before, _ = run
    losses = [step["loss"] for step in result["steps"]]
    assert len(losses) == 4 and all(step["finite"] for step in result["steps"])
    assert losses[-1] < losses[0] - 0.05, losses
    groups = ft.variable_groups(result["model"])
    for part in ft.PARTS:
        changed = [not np.allclose(a, b) for a, b in zip(before[part], _values(groups[part]))]
        assert sum(changed) >= 0.9 * len(changed), (part, sum(changed), len(changed))


def test_feature_encoder_frozen_by_default(run):
    result, _, _ = run
    model = result["model"]
    cnn = model.get_layer("wav2vec2").get_layer("feature_encoder")
    assert cnn.weights and not cnn.trainable_weights
    trainable = {id(v) for v in model.trainable_variables}
    assert not any(id(v) in trainable for v in cnn.weights)


def test_per_part_learning_rates(checkpoints):
    """Each part's AdamW owns exactly its variables, and a first Adam step moves a weight by about its rate."""
    w2v, text = checkpoints
    audio, texts, labels = _data()
    rates = {"wav2vec2": 1e-2, "text": 1e-4, "head": 1e-3}
    model = ft.build_finetune_model("rsa", w2v, text, max_tokens=MAX_TOKENS, num_classes=2)
    dropouts = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dropout)]
    for layer in dropouts:
        layer.rate = 0.0
    optimizer = ft.PartwiseAdamW(rates)
    groups = ft.variable_groups(model)
    optimizer.build(groups)
    for part in ft.PARTS:
        assert all(optimizer.owner(v) == part for v in groups[part])
        assert optimizer.optimizers[part].learning_rate.numpy() == pytest.approx(rates[part])
    assert {id(v) for v in optimizer.variables} == {id(v) for v in model.trainable_variables}
    before = {part: _values(groups[part]) for part in ft.PARTS}
    stepper = ft._Stepper(model, optimizer, run_eagerly=True)
    x = ft._batch(model, np.arange(4), ft.prepare_audio(audio, w2v),
                  ft.prepare_text(texts, text, model, MAX_TOKENS), "longest", 96000)
    stepper.step(x, np.array([0, 1, 0, 1], "int32"))
    for part in ft.PARTS:
        # Adam's first step is lr * g / (|g| + eps) = +-lr wherever the gradient is not tiny.
        moves = np.concatenate([np.abs(a - b).ravel() for a, b in zip(before[part], _values(groups[part]))])
        assert np.median(moves[moves > 0]) == pytest.approx(rates[part], rel=0.2), part


def test_freeze_encoders_changes_only_the_head(checkpoints):
    w2v, text = checkpoints
    audio, texts, labels = _data()
    result = ft.finetune("rsa", w2v, text, audio=audio, texts=texts, labels=labels, epochs=2, batch_size=4,
                         learning_rates=RATES, max_tokens=MAX_TOKENS, freeze="encoders", run_eagerly=True, verbose=0)
    model = result["model"]
    groups = ft.variable_groups(model)
    assert not groups["wav2vec2"] and not groups["text"] and groups["head"]
    reference = ft.build_finetune_model("rsa", w2v, text, max_tokens=MAX_TOKENS, num_classes=2, freeze="encoders")
    for name in ("wav2vec2", "text_encoder"):
        for a, b in zip(_values(reference.get_layer(name).weights), _values(model.get_layer(name).weights)):
            np.testing.assert_array_equal(a, b)
    head_before = _values(reference.get_layer("rsa").weights)
    head_after = _values(model.get_layer("rsa").weights)
    assert sum(not np.allclose(a, b) for a, b in zip(head_before, head_after)) > 0


def test_keras_round_trip_safe_mode(run, checkpoints, tmp_path):
    from coaudiotext.callbacks import atomic_save_model

    result, _, out = run
    w2v, text = checkpoints
    model = result["model"]
    assert coaudiotext.load_model(out / "best.keras", safe_mode=True).count_params() == model.count_params()
    assert (out / "history.json").is_file() and (out / "config.json").is_file()
    path = atomic_save_model(model, tmp_path / "last.keras")
    loaded = coaudiotext.load_model(path, safe_mode=True)
    audio, texts, _ = _data()
    x = ft._batch(loaded, np.arange(4), ft.prepare_audio(audio, w2v),
                  ft.prepare_text(texts, text, loaded, MAX_TOKENS), "longest", 96000)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x, training=False)), expected, atol=1e-6)
    assert expected.shape == (4, 2)


def test_head_matches_frozen_path(run):
    """The fine-tune model's head is the registry head the frozen-feature path trains (same code, same size)."""
    model = run[0]["model"]
    head = model.get_layer("rsa")
    frozen = build_model("rsa", num_classes=2, wav2vec2_shape=(16,), roberta_shape=(16,))
    assert head.count_params() == frozen.count_params()
    assert [type(layer).__name__ for layer in head.layers] == [type(layer).__name__ for layer in frozen.layers]
    assert set(model.input) == {"input_values", "input_ids", "attention_mask"}  # no sample mask: the original's


def test_sample_mask_option_and_errors(checkpoints, tmp_path):
    w2v, text = checkpoints
    model = ft.build_finetune_model("early_fusion", w2v, text, max_tokens=MAX_TOKENS, num_classes=2, sample_mask=True)
    assert "sample_mask" in model.input
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        ft.build_finetune_model("rsa", tmp_path / "missing", text)
    with pytest.raises(ValueError, match="Expected one of"):
        ft.build_finetune_model("bilstm", w2v, text)
    with pytest.raises(ValueError, match="freeze"):
        ft.build_finetune_model("rsa", w2v, text, freeze="cnn")
    assert ft.main(["--model", "rsa", "--wav2vec2", str(tmp_path / "missing"), "--text-encoder", text]) == 2


def test_default_rates_are_the_originals():
    assert ft.default_learning_rates("rsa") == {"wav2vec2": 1e-5, "text": 1e-5, "head": 1e-5}
    assert ft.default_learning_rates("wav2vec2_cls")["wav2vec2"] == 1e-4


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_subprocess(checkpoints, backend):
    if os.environ.get("COAUDIOTEXT_BACKEND_CHECKS") != "1":
        pytest.skip("set COAUDIOTEXT_BACKEND_CHECKS=1 (a minute or two per backend)")
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    w2v, text = checkpoints
    script = (
        "import numpy as np\n"
        "from coaudiotext.finetune import finetune\n"
        "rng = np.random.default_rng(0)\n"
        "audio = [rng.standard_normal(n).astype('float32') for n in (3000, 4000, 3500, 5000)]\n"
        f"r = finetune('rsa', {w2v!r}, {text!r}, audio=audio, texts=['yes', 'no way', 'yes sir', 'no'],\n"
        "             labels=['a', 'b', 'a', 'b'], epochs=5, batch_size=4, max_tokens=16, verbose=0,\n"
        "             learning_rates={'wav2vec2': 1e-3, 'text': 1e-3, 'head': 1e-3})\n"
        "losses = [s['loss'] for s in r['steps']]\n"
        "assert losses[-1] < losses[0], losses\n"
        "print('OK', losses)\n"
    )
    env = dict(os.environ, KERAS_BACKEND=backend)
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]
