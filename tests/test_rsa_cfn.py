"""Seed-002 RSA-CFN heads: original counts, PyTorch parity of each head, contract, attention maps, mixed precision."""

import gc
import math
import warnings

import keras
import numpy as np
import pytest
from model_contract import run_model_contract

from coaudiotext.layers.fusion import FeatureSelfAttention, TensorFusion, plot_rsa_attention
from coaudiotext.models import MODELS, build_model
from coaudiotext.models import rsa_cfn as heads
from coaudiotext.models.fusion_heads import early_fusion
from coaudiotext.models.mlp_mixer import mlp_mixer

W, T, C = 12, 8, 3  # reduced widths for everything that trains
SMALL = {
    "early_fusion": {},
    "late_fusion": {},
    "stack": {},
    "residual": {"hidden_units": 6},
    "rsa": {"hidden_units": 6, "attention_units": 5},
    "rsa_cfn": {"projection_units": 4, "attention_units": 3, "hidden_units": 8},
    "hybrid_fusion": {"projection_units": 4, "attention_units": 3, "cfn_hidden_units": 8, "residual_units": 6},
    "mlp_mixer": {"hidden_units": 6, "classifier_units": 10, "audio_frames": 7},
    "wav2vec2_cls": {"hidden_units": 5},
    "roberta_cls": {},
}
SEQ = {"wav2vec2_seq": (5, W), "roberta_seq": (4, T)}


def _small_model(key, **extra):
    spec = MODELS[key]
    shapes = {name: SEQ[name] if name in SEQ else ((W,) if name == "wav2vec2" else (T,)) for name in spec.inputs}
    kwargs = {f"{name}_shape": shape for name, shape in shapes.items()}
    kwargs.update(SMALL[key], **extra)
    return spec.builder(num_classes=C, **kwargs), shapes


def _inputs(shapes, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal((batch,) + shape).astype("float32") for name, shape in shapes.items()}


def _randomise(model, seed=1, scale=0.4):
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.standard_normal(w.shape) * scale).astype("float32") for w in model.get_weights()])


# ---------------------------------------------------------------- parameter counts

# The parameter counts of the original PyTorch heads (`hyeonho1028/RSA-CFN`) at their shapes: pooled
# wav2vec2-large 1024 + KLUE-RoBERTa-base 768 (the mixer: 299 frames + 256 tokens), 7 classes.
FULL_COUNTS = {
    "early_fusion": 16135,
    "late_fusion": 12572,
    "stack": 16135,
    "residual": 5064711,
    "rsa": 5065737,
    "rsa_cfn": 328300813,
    "hybrid_fusion": 333394245,
    "mlp_mixer": 1344207,
    "wav2vec2_cls": 1056775,
    "roberta_cls": 6919,
}
HUGE = ("rsa_cfn", "hybrid_fusion")


@pytest.mark.parametrize("key", list(FULL_COUNTS))
def test_parameter_count_at_the_original_shapes_is_the_originals(key):
    if key in HUGE:
        # ~330M parameters: zero kernels build it in ~2 s and ~1.3 GB (random init peaks at ~3.4 GB); freed below.
        with pytest.warns(heads.LargeModelWarning, match=rf"{FULL_COUNTS[key]:,} parameters: .* GiB"):
            model = build_model(key, kernel_initializer="zeros")
    else:
        model = build_model(key)
    try:
        assert model.count_params() == FULL_COUNTS[key]
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


def test_full_width_rsa_cfn_is_one_layer_and_the_warning_suggests_a_built_size():
    with pytest.warns(heads.LargeModelWarning, match=r"projection_units=32 gives 4,599,949 for rsa_cfn"):
        model = build_model("rsa_cfn", kernel_initializer="zeros")
    try:
        assert model.get_layer("res_block2").count_params() == 293979906  # Linear(17,665 -> 16,641)
        assert model.get_layer("cross_fusion").output.shape == (None, 129 * 129)
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()
    # The count the warning quotes is the built model's.
    assert heads.rsa_cfn(projection_units=32).count_params() == heads._RSA_CFN_32_PARAMS == 4599949


def test_mixer_norm_fix_adds_one_layer_norm():
    assert mlp_mixer(fix_mixer_norm=True).count_params() == FULL_COUNTS["mlp_mixer"] + 2 * 256


def test_reduced_widths_do_not_warn():
    for key in SMALL:
        with warnings.catch_warnings():
            warnings.simplefilter("error", heads.LargeModelWarning)
            _small_model(key)


@pytest.mark.parametrize("key", HUGE)
def test_warning_reports_the_built_models_count(key, monkeypatch):
    monkeypatch.setattr(heads, "LARGE_MODEL_PARAMS", 100)
    with pytest.warns(heads.LargeModelWarning) as record:
        model, _ = _small_model(key)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{key} has {model.count_params():,} parameters: ")
    assert record[0].filename == __file__  # points at the caller of the builder


# ---------------------------------------------------------------- layers, by hand


@pytest.mark.parametrize("factorized", [True, False])
def test_feature_self_attention_by_hand(factorized):
    layer = FeatureSelfAttention(attention_units=2, factorized=factorized)
    x = np.array([[0.5, -1.0, 2.0]], "float32")
    layer.build((None, 3))
    wq, bq, wk, bk, wv, bv = [np.array([[1.0, -0.5]]), [0.1, 0.2], [[0.3, 0.7]], [0.0, -0.1], [[2.0]], [0.5]]
    layer.set_weights([np.asarray(w, "float32") for w in (wq, bq, wk, bk, wv, bv)])
    out, attention = layer(x, return_attention_scores=True)
    tokens = x[0][:, None]
    q, k, v = tokens @ np.array(wq) + bq, tokens @ np.array(wk) + bk, tokens @ np.array(wv) + bv
    scores = q @ k.T / math.sqrt(2)
    expected_attention = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(attention)[0], expected_attention, atol=1e-6)
    np.testing.assert_allclose(np.asarray(out)[0], (expected_attention @ v)[:, 0], atol=1e-6)
    assert layer.count_params() == 4 * 2 + 2
    clone = FeatureSelfAttention.from_config(layer.get_config())
    assert clone.attention_units == 2 and clone.factorized is factorized


def test_factorized_attention_equals_explicit_qk():
    x = np.random.default_rng(0).standard_normal((3, 40)).astype("float32")
    fast, literal = FeatureSelfAttention(16), FeatureSelfAttention(16, factorized=False)
    fast.build((None, 40))
    literal.build((None, 40))
    rng = np.random.default_rng(1)
    weights = [rng.uniform(-1, 1, w.shape).astype("float32") for w in fast.get_weights()]  # PyTorch-like init
    fast.set_weights(weights)
    literal.set_weights(weights)
    (out_a, map_a), (out_b, map_b) = fast(x, return_attention_scores=True), literal(x, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(map_a), np.asarray(map_b), atol=1e-6)
    np.testing.assert_allclose(np.asarray(out_a), np.asarray(out_b), atol=1e-5)


def test_tensor_fusion_order_matches_prepended_ones():
    a = np.array([[2.0, 3.0]], "float32")
    b = np.array([[5.0, 7.0, 11.0]], "float32")
    fused = np.asarray(TensorFusion()([a, b]))[0]
    expected = np.outer([1.0, 2.0, 3.0], [1.0, 5.0, 7.0, 11.0]).reshape(-1)  # torch.cat((ones, v)), row-major view
    np.testing.assert_array_equal(fused, expected)
    plain = np.asarray(TensorFusion(append_one=False)([a, b]))[0]
    np.testing.assert_array_equal(plain, np.outer(a[0], b[0]).reshape(-1))
    assert TensorFusion.from_config(TensorFusion(append_one=False).get_config()).append_one is False


# ---------------------------------------------------------------- PyTorch parity of every head


def _torch_reference(model, key, inputs, fix_mixer_norm=False):
    """The original heads' forward (`coaudiotext.reference.rsa_cfn`), in PyTorch float64 with the Keras weights."""
    pytest.importorskip("torch")
    from coaudiotext.reference.rsa_cfn import keras_forward

    return keras_forward(model, key, inputs, fix_mixer_norm=fix_mixer_norm)


@pytest.mark.parametrize("key", list(SMALL))
def test_matches_pytorch_reference(key):
    model, shapes = _small_model(key)
    _randomise(model)
    inputs = _inputs(shapes)
    expected = _torch_reference(model, key, inputs)
    np.testing.assert_allclose(np.asarray(model.predict(inputs, verbose=0)), expected, atol=2e-5)


def test_mixer_norm_fix_is_the_standard_block():
    model, shapes = _small_model("mlp_mixer", fix_mixer_norm=True)
    _randomise(model)
    inputs = _inputs(shapes)
    expected = _torch_reference(model, "mlp_mixer", inputs, fix_mixer_norm=True)
    np.testing.assert_allclose(np.asarray(model.predict(inputs, verbose=0)), expected, atol=2e-5)
    quirky, _ = _small_model("mlp_mixer")
    assert model.count_params() == quirky.count_params() + 2 * SMALL["mlp_mixer"]["hidden_units"]


def test_stack_is_early_fusion_at_inference_and_samples_dropout_in_training():
    stacked, shapes = _small_model("stack")
    early, _ = _small_model("early_fusion")
    _randomise(stacked)
    early.set_weights(stacked.get_weights())
    inputs = _inputs(shapes)
    np.testing.assert_allclose(stacked.predict(inputs, verbose=0), early.predict(inputs, verbose=0), atol=1e-6)
    trained = np.asarray(stacked(inputs, training=True))
    assert not np.allclose(trained, early.predict(inputs, verbose=0), atol=1e-4)


# ---------------------------------------------------------------- model contract (train step, save/reload)


@pytest.mark.parametrize("key", list(SMALL))
def test_model_contract(key, tmp_path):
    model, shapes = _small_model(key)
    # One model reloads in a fresh process (registration by import); the others in-process (time).
    run_model_contract(model, _inputs(shapes, batch=4), tmp_path, fresh_process=(key == "rsa_cfn"))


# ---------------------------------------------------------------- attention maps


def test_rsa_attention_map_model_mean_and_plot(tmp_path):
    model, shapes = _small_model("rsa")
    inputs = _inputs(shapes, batch=5)
    mapper = heads.attention_model(model)
    maps = np.asarray(mapper.predict(inputs, verbose=0))
    assert maps.shape == (5, W + T, W + T)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)
    mean = heads.mean_attention(model, inputs, batch_size=2)
    np.testing.assert_allclose(mean, maps.mean(0), atol=1e-6)
    with pytest.raises(ValueError, match="FeatureSelfAttention layers"):
        heads.attention_model(model, "nope")

    both, _ = _small_model("rsa", return_attention=True)
    outputs = both.predict(inputs, verbose=0)
    assert outputs["attention"].shape == (5, W + T, W + T) and outputs["probabilities"].shape == (5, C)

    path = tmp_path / "attention.png"
    figure = plot_rsa_attention(mean, boundaries=(W,), path=path)
    assert path.stat().st_size > 1000
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == ["wav2vec2", "RoBERTa"]
    with pytest.raises(ValueError, match=r"\(D, D\)"):
        plot_rsa_attention(np.zeros((3, 4)))


# ---------------------------------------------------------------- mixed precision, errors, registry


def test_mixed_float16_policy_gives_float32_probabilities():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model, shapes = _small_model("rsa_cfn")
        assert model.get_layer("cross_fusion").compute_dtype == "float16"
        inputs = _inputs(shapes, batch=4)
        probabilities = model(inputs)
        assert probabilities.dtype == "float32"
        model.compile(optimizer="adamw", loss="sparse_categorical_crossentropy")
        history = model.fit(inputs, np.arange(4) % C, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    finally:
        keras.config.set_dtype_policy(previous)


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"wav2vec2_shape.*\(features,\).*Received"):
        early_fusion(wav2vec2_shape=(10, 4))
    with pytest.raises(ValueError, match="audio_frames=299"):
        mlp_mixer(wav2vec2_seq_shape=(300, 1024))
    with pytest.raises(ValueError, match="roberta_seq_shape"):
        mlp_mixer(roberta_seq_shape=(None, 768))
    with pytest.raises(ValueError, match="attention_units"):
        FeatureSelfAttention(attention_units=0)


def test_registry_entries_and_training_settings():
    for key in FULL_COUNTS:
        spec = MODELS[key]
        assert spec.train.optimizer == "adamw" and spec.train.weight_decay == 0.0 and spec.train.epochs == 10
        assert spec.tutorial == "tutorials/09_rsa_cfn.py"
    assert MODELS["mlp_mixer"].inputs == ("wav2vec2_seq", "roberta_seq")
    assert MODELS["mlp_mixer"].default_shapes == {"wav2vec2_seq": (299, 1024), "roberta_seq": (256, 768)}
    assert MODELS["rsa"].inputs == ("wav2vec2", "roberta")
    assert MODELS["rsa_cfn"].train.batch_size == 4 and MODELS["early_fusion"].train.batch_size == 6
    assert MODELS["wav2vec2_cls"].train.learning_rate == 1e-4 and MODELS["roberta_cls"].train.learning_rate == 1e-5
