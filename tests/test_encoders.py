"""Keras wav2vec2 / BERT / RoBERTa encoders against transformers + PyTorch, on tiny random checkpoints.

Every checkpoint is written here with `save_pretrained` (no download). Parity: the last and every hidden
state, max abs difference <= 1e-4 in float32, on a padded batch with an attention mask (compared at the
valid positions only, the ones transformers defines).
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import keras  # noqa: E402

from coaudiotext.encoders import bert as kbert  # noqa: E402
from coaudiotext.encoders import wav2vec2 as kw2v  # noqa: E402

TOL = 1e-4
ROOT = pathlib.Path(__file__).resolve().parents[1]
# (feat_extract_norm, do_stable_layer_norm): base is ("group", False), large-lv60 ("layer", True).
W2V_VARIANTS = [("group", False), ("layer", True), ("layer", False), ("group", True)]
TEXT_VARIANTS = ["bert", "roberta", "roberta_mlm"]


def _w2v_config(norm, stable):
    return transformers.Wav2Vec2Config(
        vocab_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        conv_dim=(16, 24), conv_stride=(5, 4), conv_kernel=(10, 4), conv_bias=norm == "layer",
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, feat_extract_norm=norm,
        do_stable_layer_norm=stable,
    )


def _text_model(kind):
    if kind == "bert":
        config = transformers.BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                         intermediate_size=37, max_position_embeddings=64)
        return transformers.BertModel(config)
    config = transformers.RobertaConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                        intermediate_size=37, max_position_embeddings=66, pad_token_id=1,
                                        type_vocab_size=1)
    # RobertaForMaskedLM: a task checkpoint ("roberta." prefix, an lm_head, no pooler), like klue/roberta-base.
    return transformers.RobertaModel(config) if kind == "roberta" else transformers.RobertaForMaskedLM(config)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Tiny random checkpoints: {key: folder}."""
    root = tmp_path_factory.mktemp("encoders")
    folders = {}
    for norm, stable in W2V_VARIANTS:
        torch.manual_seed(0)
        folder = root / f"w2v-{norm}-{stable}"
        transformers.Wav2Vec2Model(_w2v_config(norm, stable)).eval().save_pretrained(str(folder))
        folders[(norm, stable)] = folder
    for kind in TEXT_VARIANTS:
        torch.manual_seed(0)
        folder = root / kind
        _text_model(kind).eval().save_pretrained(str(folder))
        folders[kind] = folder
    return folders


def _waveforms():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((2, 1600)).astype("float32")
    mask = np.ones((2, 1600), "int32")
    mask[1, 1000:] = 0  # a padded second utterance
    values[1, 1000:] = 0.0
    return values, mask


def _tokens(pad_token_id, token_types):
    rng = np.random.default_rng(0)
    ids = rng.integers(3, 50, (2, 12)).astype("int32")
    mask = np.ones_like(ids)
    ids[1, 7:] = pad_token_id
    mask[1, 7:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if token_types:
        types = np.zeros_like(ids)
        types[:, 6:] = 1
        inputs["token_type_ids"] = types
    return inputs


def _reference_w2v(folder, values, mask):
    model = transformers.Wav2Vec2Model.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        kwargs = {} if mask is None else {"attention_mask": torch.as_tensor(mask.astype("int64"))}
        out = model(torch.as_tensor(values), output_hidden_states=True, **kwargs)
    return out.last_hidden_state.numpy(), [h.numpy() for h in out.hidden_states]


def _reference_text(folder, kind, inputs):
    if kind == "bert":
        model = transformers.BertModel.from_pretrained(str(folder)).eval()
    else:
        model = transformers.RobertaModel.from_pretrained(str(folder)).eval()  # the encoder of the MLM checkpoint too
    with torch.no_grad():
        out = model(**{k: torch.as_tensor(v.astype("int64")) for k, v in inputs.items()}, output_hidden_states=True)
    pooled = None if out.pooler_output is None else out.pooler_output.numpy()
    return out.last_hidden_state.numpy(), [h.numpy() for h in out.hidden_states], pooled


def _max_diffs(keras_out, last, hidden, valid):
    diffs = [float(np.abs(np.asarray(keras_out["last_hidden_state"]) - last)[valid].max())]
    assert len(keras_out["hidden_states"]) == len(hidden)
    diffs += [float(np.abs(np.asarray(a) - b)[valid].max()) for a, b in zip(keras_out["hidden_states"], hidden)]
    return diffs


# ---------------------------------------------------------------------------- parity


@pytest.mark.parametrize("norm,stable", W2V_VARIANTS)
def test_wav2vec2_parity_padded_batch(checkpoints, norm, stable):
    folder = checkpoints[(norm, stable)]
    values, mask = _waveforms()
    last, hidden = _reference_w2v(folder, values, mask)
    model = kw2v.from_pretrained(folder)
    out = model({"input_values": values, "attention_mask": mask})
    frames = kw2v.feat_extract_output_lengths(mask.sum(1), [10, 4], [5, 4])
    valid = np.asarray(out["frame_mask"]).astype(bool)
    np.testing.assert_array_equal(valid.sum(1), frames)
    assert out["last_hidden_state"].shape == last.shape
    diffs = _max_diffs(out, last, hidden, valid)
    assert max(diffs) <= TOL, diffs


def test_wav2vec2_all_ones_mask_equals_transformers_without_mask(checkpoints):
    folder = checkpoints[("group", False)]  # base models are run without a mask
    values = _waveforms()[0][:, :1200]
    last, hidden = _reference_w2v(folder, values, None)
    out = kw2v.from_pretrained(folder)({"input_values": values, "attention_mask": np.ones(values.shape, "int32")})
    assert max(_max_diffs(out, last, hidden, np.ones(last.shape[:2], bool))) <= TOL


def test_wav2vec2_reads_legacy_pytorch_bin_with_weight_g_v(checkpoints, tmp_path):
    """pytorch_model.bin (torch.load weights_only) with old weight_norm names and a CTC head under a prefix."""
    from safetensors.torch import load_file

    source = checkpoints[("layer", True)]
    state = load_file(str(source / "model.safetensors"))
    legacy = {}
    for name, tensor in state.items():
        name = name.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1",
                                                                                     "weight_v")
        legacy["wav2vec2." + name] = tensor
    legacy["lm_head.weight"] = torch.zeros(8, 32)
    legacy["lm_head.bias"] = torch.zeros(8)
    torch.save(legacy, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text((source / "config.json").read_text())
    values, mask = _waveforms()
    last, hidden = _reference_w2v(source, values, mask)
    out = kw2v.from_pretrained(tmp_path)({"input_values": values, "attention_mask": mask})
    assert max(_max_diffs(out, last, hidden, np.asarray(out["frame_mask"]).astype(bool))) <= TOL


@pytest.mark.parametrize("kind", TEXT_VARIANTS)
def test_bert_roberta_parity_padded_batch(checkpoints, kind):
    folder = checkpoints[kind]
    inputs = _tokens(pad_token_id=0 if kind == "bert" else 1, token_types=kind == "bert")
    last, hidden, pooled = _reference_text(folder, kind, inputs)
    model = kbert.from_pretrained(folder)
    assert sorted(model.input) == sorted(inputs)
    out = model(inputs)
    diffs = _max_diffs(out, last, hidden, inputs["attention_mask"].astype(bool))
    if kind == "roberta_mlm":
        assert "pooler_output" not in out  # RobertaForMaskedLM has no pooler
    else:
        diffs.append(float(np.abs(np.asarray(out["pooler_output"]) - pooled).max()))
    assert max(diffs) <= TOL, diffs


def test_roberta_positions_follow_padding():
    layer = kbert.BertEmbeddings(10, 4, max_position_embeddings=12, type_vocab_size=1, pad_token_id=1,
                                 variant="roberta")
    ids = np.array([[0, 5, 6, 2, 1, 1], [0, 5, 2, 1, 1, 1]], "int32")
    np.testing.assert_array_equal(np.asarray(layer.position_ids(ids)), [[2, 3, 4, 5, 1, 1], [2, 3, 4, 1, 1, 1]])


def test_tokenizer_from_the_same_folder(tmp_path):
    """make_tiny_bert's folder: its transformers tokenizer feeds the Keras model through `encode`."""
    from coaudiotext.testing import make_tiny_bert

    folder = make_tiny_bert(tmp_path / "tiny", texts=["오늘 입고"], num_hidden_layers=1)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = kbert.from_pretrained(folder)
    inputs = kbert.encode(tokenizer, ["오늘 입고 나가야지", "hello"], model, max_length=10)
    last, _, _ = _reference_text(folder, "bert", inputs)
    valid = inputs["attention_mask"].astype(bool)
    assert np.abs(np.asarray(model(inputs)["last_hidden_state"]) - last)[valid].max() <= TOL


# ---------------------------------------------------------------------------- loading errors


def test_unmatched_and_missing_tensors_are_named(checkpoints, tmp_path):
    from safetensors.numpy import load_file, save_file

    source = checkpoints["bert"]
    state = load_file(str(source / "model.safetensors"))
    state.pop("encoder.layer.1.output.dense.bias")
    state["encoder.layer.1.surprise.weight"] = np.zeros(3, np.float32)
    save_file(state, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text((source / "config.json").read_text())
    with pytest.raises(ValueError) as error:
        kbert.from_pretrained(tmp_path)
    assert "encoder.layer.1.surprise.weight" in str(error.value)
    assert "encoder.layer.1.output.dense.bias" in str(error.value)


def test_refuses_unsupported_config_and_missing_folder(checkpoints, tmp_path):
    config = json.loads((checkpoints[("group", False)] / "config.json").read_text())
    with pytest.raises(ValueError, match="add_adapter"):
        kw2v.config_to_args({**config, "add_adapter": True})
    with pytest.raises(ValueError, match="model_type"):
        kbert.config_to_args({"model_type": "gpt2"})
    with pytest.raises(FileNotFoundError, match="never downloads"):
        kbert.from_pretrained(tmp_path / "klue/roberta-base")


# ---------------------------------------------------------------------------- saving and training


def test_keras_round_trip_safe_mode(checkpoints, tmp_path):
    import coaudiotext.encoders  # noqa: F401  (registers the layers)

    values, mask = _waveforms()
    tokens = _tokens(pad_token_id=0, token_types=True)
    for model, inputs in ((kw2v.from_pretrained(checkpoints[("layer", True)]), {"input_values": values,
                                                                               "attention_mask": mask}),
                          (kbert.from_pretrained(checkpoints["bert"]), tokens)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
        before, after = model(inputs), reloaded(inputs)
        for a, b in zip(keras.tree.flatten(before), keras.tree.flatten(after)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def _fit_toy(encoder, inputs, pooled_output):
    """Encoder -> pooled output (or mean of the last hidden state) -> Dense(1); five Adam steps on a fixed target."""
    keras.utils.set_random_seed(0)
    out = encoder(encoder.input)
    features = out[pooled_output] if pooled_output in out else keras.layers.GlobalAveragePooling1D()(out["last_hidden_state"])
    head = keras.layers.Dense(1, name="head")(features)
    model = keras.Model(encoder.input, head)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", run_eagerly=True)  # tiny: tracing costs more
    target = np.array([[1.0], [-1.0]], "float32")
    before = [np.array(v) for v in encoder.trainable_variables]
    losses = model.fit(inputs, target, epochs=5, batch_size=2, verbose=0, shuffle=False).history["loss"]
    changed = [not np.allclose(b, np.asarray(v)) for b, v in zip(before, encoder.trainable_variables)]
    return losses, changed


def test_trainable_wav2vec2(checkpoints):
    encoder = kw2v.from_pretrained(checkpoints[("group", False)], hidden_dropout=0.0, activation_dropout=0.0,
                                   attention_dropout=0.0)
    values, mask = _waveforms()
    losses, changed = _fit_toy(encoder, {"input_values": values, "attention_mask": mask}, None)
    assert losses[-1] < losses[0], losses
    names = [v.path for v in encoder.trainable_variables]
    assert all(changed), [n for n, c in zip(names, changed) if not c]
    assert any("weight_g" in n for n in names) and any("weight_v" in n for n in names)


def test_trainable_bert(checkpoints):
    encoder = kbert.from_pretrained(checkpoints["bert"], hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    losses, changed = _fit_toy(encoder, _tokens(pad_token_id=0, token_types=True), "pooler_output")
    assert losses[-1] < losses[0], losses
    assert sum(changed) > len(changed) // 2  # unused embedding rows' tables still change (Adam on dense grads)


# ---------------------------------------------------------------------------- other backends


_JAX_SCRIPT = """
import sys
import numpy as np, keras
assert keras.backend.backend() == "jax"
from coaudiotext.encoders import bert, wav2vec2
w2v_folder, text_folder, inputs, result = sys.argv[1:5]
data = np.load(inputs)
w2v = wav2vec2.from_pretrained(w2v_folder)
# predict() jit-compiles the forward pass once: much faster on JAX than op-by-op eager calls
out = w2v.predict({"input_values": data["values"], "attention_mask": data["mask"]}, verbose=0)
text = bert.from_pretrained(text_folder)
tokens = {"input_ids": data["input_ids"], "attention_mask": data["attention_mask"]}
text_out = text.predict(tokens, verbose=0)
model = keras.Model(text.input, keras.layers.Dense(1)(text(text.input)["pooler_output"]))
model.compile(optimizer="adam", loss="mse")
before = np.array(text.get_layer("layer_0").attention.query.kernel)
loss = model.train_on_batch(tokens, np.ones((2, 1), "float32"))
moved = float(np.abs(np.array(text.get_layer("layer_0").attention.query.kernel) - before).max())
np.savez(result, w2v=np.asarray(out["last_hidden_state"]), frames=np.asarray(out["frame_mask"]),
         text=np.asarray(text_out["last_hidden_state"]), loss=loss, moved=moved)
"""


@pytest.fixture(scope="module", autouse=True)
def jax_job(checkpoints, tmp_path_factory):
    """Starts the JAX-backend run in a subprocess at the first test, so it overlaps the others."""
    if importlib.util.find_spec("jax") is None:
        yield None
        return
    folder = tmp_path_factory.mktemp("jax")
    values, mask = _waveforms()
    np.savez(folder / "inputs.npz", values=values, mask=mask, **_tokens(pad_token_id=1, token_types=False))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    args = [sys.executable, "-c", _JAX_SCRIPT, str(checkpoints[("layer", True)]), str(checkpoints["roberta"]),
            str(folder / "inputs.npz"), str(folder / "jax.npz")]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    job = {"process": process, "result": folder / "jax.npz"}
    yield job
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install jax)")
def test_runs_under_jax_backend(checkpoints, jax_job):
    """Forward parity of wav2vec2 (pre-LN, padded) and RoBERTa, and one training step, with KERAS_BACKEND=jax."""
    _, stderr = jax_job["process"].communicate(timeout=300)
    assert jax_job["process"].returncode == 0, stderr[-3000:]
    got = np.load(jax_job["result"])
    values, mask = _waveforms()
    tokens = _tokens(pad_token_id=1, token_types=False)
    last, _ = _reference_w2v(checkpoints[("layer", True)], values, mask)
    assert np.abs(got["w2v"] - last)[got["frames"].astype(bool)].max() <= TOL
    text_last, _, _ = _reference_text(checkpoints["roberta"], "roberta", tokens)
    assert np.abs(got["text"] - text_last)[tokens["attention_mask"].astype(bool)].max() <= TOL
    assert np.isfinite(got["loss"]) and got["moved"] > 0
