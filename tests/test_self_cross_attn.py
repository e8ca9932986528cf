"""Seed 003 (SelfCrossAttn): exact counts, PyTorch parity, the model contract, the flags and the errors.

Counts are at the original shapes (glove 128x300, video 32x2048, mfcc120 1000x120, 7 classes),
built without a forward pass. Everything that runs a model uses tiny shapes.
"""

import keras
import numpy as np
import pytest
from model_contract import random_inputs, run_model_contract

from coaudiotext.layers.self_cross import FrameMixing, StatisticsPooling
from coaudiotext.models.self_cross_attn import SPECS, self_cross_attention, tva_cross, tva_cross_at, tva_self

# Verified by instantiating the original models.py (tva_self, tva_cross); the variants are the
# counts of reference/wave2_specs_addendum.md §1a.
EXPECTED_COUNTS = {
    "tva_self": 1_645_892,
    "tva_cross": 1_820_132,
    "tva_self_at": 257_707,
    "tva_cross_at": 257_707,
}
VARIANT_COUNTS = [
    ({"attention": "cross+self"}, 1_994_372),
    ({"pooling": "mean"}, 1_638_692),
    ({"attention": "cross", "pooling": "mean"}, 1_812_932),
    ({"modalities": ("a", "v"), "attention": "cross"}, 1_457_492),
    ({"modalities": ("t",)}, 196_087),
]
# Tiny sizes for everything that runs: E = 2 * 5 = 10, 2 heads of 5.
TINY_SHAPES = {"glove_shape": (6, 7), "video_shape": (5, 9), "mfcc120_shape": (8, 4)}
TINY = dict(rnn_units=5, num_heads=2, video_frames=4, audio_frames=3, num_classes=3)
IEMOCAP_NAMES = ("glove", "video", "mfcc120")


def tiny(builder=tva_self, **flags):
    return builder(**{**TINY_SHAPES, **TINY, **flags})


def randomize(model, seed=0, scale=0.3):
    """Non-zero values for every weight (biases included), so that every mapping is exercised."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, scale, w.shape) for w in model.get_weights()])
    return model


def logits_and_embedding(model, inputs):
    sub = keras.Model(model.inputs, [model.get_layer("classifier").output, model.get_layer("concat_linear").output])
    return [keras.ops.convert_to_numpy(t) for t in sub(inputs, training=False)]


def predict(model, inputs, training=False):
    return keras.ops.convert_to_numpy(model(inputs, training=training))


# --- counts and registry -------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(EXPECTED_COUNTS))
def test_parameter_count_at_default_shapes(key):
    spec = SPECS[key]
    shapes = {f"{name}_shape": spec.default_shapes[name] for name in spec.inputs}
    assert spec.builder(num_classes=spec.num_classes, **shapes).count_params() == EXPECTED_COUNTS[key]


@pytest.mark.parametrize("flags, count", VARIANT_COUNTS)
def test_variant_counts(flags, count):
    assert self_cross_attention(**flags).count_params() == count


def test_module_counts_match_the_original_modules():
    model = tva_cross()
    counts = {layer.name: layer.count_params() for layer in model.layers}
    assert counts["text_encoder"] == 130_320 and counts["video_encoder"] == 759_600
    assert counts["audio_encoder"] == 65_520
    assert counts["video_conv"] == 825 and counts["audio_conv"] == 500_500
    assert counts["concat_linear"] == 14_460 and counts["classifier"] == 427
    # nn.MultiheadAttention(120, 6): in_proj 3*E*E + 3*E, out_proj E*E + E
    mhas = ["mha_v_t", "mha_a_t", "mha_t_v", "mha_a_v", "mha_t_a", "mha_v_a"]
    assert [counts[name] for name in mhas] == [3 * 120 * 120 + 3 * 120 + 120 * 120 + 120] * 6
    gru = model.get_layer("audio_encoder").forward_layer
    assert gru.reset_after and tuple(gru.cell.bias.shape) == (2, 180)  # b_ih and b_hh, as PyTorch


def test_registry_specs():
    assert list(SPECS) == ["tva_self", "tva_cross", "tva_self_at", "tva_cross_at"]
    for key in ("tva_self", "tva_cross"):
        spec = SPECS[key]
        assert spec.inputs == IEMOCAP_NAMES and spec.num_classes == 7
        assert spec.default_shapes == {"glove": (128, 300), "video": (32, 2048), "mfcc120": (1000, 120)}
        assert (spec.train.optimizer, spec.train.learning_rate, spec.train.batch_size) == ("adam", 1e-3, 32)
    for key in ("tva_self_at", "tva_cross_at"):
        spec = SPECS[key]
        assert spec.inputs == ("audio", "text")
        model = spec.builder(num_classes=5, audio_shape=(20, 129), text_shape=(12, 43))
        assert sorted(t.name for t in model.inputs) == ["audio", "text"]
        assert tuple(model.output.shape) == (None, 5)
        assert tuple(model.get_layer("audio_conv").output.shape) == (None, 10, 129)  # frames halved


def test_keys_are_registered():
    from coaudiotext.models import MODELS

    assert [key for key in MODELS if key in SPECS] == list(SPECS)


# --- parity with the PyTorch original ------------------------------------------------


@pytest.mark.parametrize("builder", [tva_self, tva_cross], ids=["self", "cross"])
def test_matches_the_pytorch_original(builder):
    torch = pytest.importorskip("torch")
    from reference_self_cross_attn import TVACrossReference, TVASelfReference, copy_keras_weights

    model = randomize(tiny(builder, dtype="float64"))
    reference_class = TVASelfReference if builder is tva_self else TVACrossReference
    reference = reference_class(
        text_dim=7, video_frames=5, video_dim=9, video_out=4, audio_frames=8, audio_dim=4, audio_out=3,
        rnn_size=5, heads=2, attention_dropout=0.1, classes=3,
    ).double().eval()
    copy_keras_weights(model, reference)
    rng = np.random.default_rng(1)
    x = {name: rng.standard_normal((3,) + TINY_SHAPES[f"{name}_shape"]) for name in IEMOCAP_NAMES}
    with torch.no_grad():
        want_logits, want_embedding = (t.numpy() for t in reference(*(torch.from_numpy(x[n]) for n in IEMOCAP_NAMES)))
    logits, embedding = logits_and_embedding(model, x)
    assert logits.dtype == np.float64
    assert np.abs(logits - want_logits).max() <= 1e-6
    assert np.abs(embedding - want_embedding).max() <= 1e-6
    probabilities = predict(model, x)
    want = np.exp(want_logits) / np.exp(want_logits).sum(-1, keepdims=True)
    assert np.abs(probabilities - want).max() <= 1e-6
    # What is left (about 1e-9 here) is Keras's MultiHeadAttention scaling by 1/sqrt(head_dim) as a
    # float32 constant (TF converts the Python float to float32 before the cast). With that
    # constant in float64, the port agrees with PyTorch to float64 round-off.
    for name in reference.attention_names():
        layer = model.get_layer(name)
        if hasattr(layer, "_inverse_sqrt_key_dim"):
            layer._inverse_sqrt_key_dim = np.float64(1.0 / np.sqrt(layer.key_dim))
    logits, _ = logits_and_embedding(model, x)
    assert np.abs(logits - want_logits).max() <= 1e-12


# --- the model contract (config round trip, a training step, .keras reload) ----------


def test_contract_fresh_process(tmp_path):
    model = tiny(tva_cross)
    run_model_contract(model, random_inputs(model, batch_size=3), tmp_path, fresh_process=True)


def test_contract_demo_key_with_flags(tmp_path):
    model = tva_cross_at(
        audio_shape=(6, 5), text_shape=(4, 3), rnn_units=3, num_heads=1, num_classes=3,
        attention="cross+self", stats_order="mean_std", head_activation="relu", initializers="keras",
    )
    run_model_contract(model, random_inputs(model, batch_size=3), tmp_path, fresh_process=False)


# --- the flags change the computation ------------------------------------------------


@pytest.fixture(scope="module")
def tiny_inputs():
    rng = np.random.default_rng(2)
    return {name: rng.standard_normal((2,) + TINY_SHAPES[f"{name}_shape"]).astype("float32") for name in IEMOCAP_NAMES}


@pytest.mark.parametrize("flags", [{"stats_order": "mean_std"}, {"head_activation": "relu"}], ids=str)
def test_flags_with_the_same_weights_change_the_outputs(flags, tiny_inputs):
    base = randomize(tiny())
    other = tiny(**flags)
    other.set_weights(base.get_weights())
    assert np.abs(predict(base, tiny_inputs) - predict(other, tiny_inputs)).max() > 1e-4


def test_stats_pooling_is_std_then_mean(tiny_inputs):
    model = randomize(tiny())
    vectors = keras.Model(model.inputs, [model.get_layer(f"mha_{m}_mean").output for m in "tva"])
    stacked = np.stack([keras.ops.convert_to_numpy(v) for v in vectors(tiny_inputs)], axis=1)
    pooled = keras.Model(model.inputs, model.get_layer("statistics_pooling").output)(tiny_inputs)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(pooled), np.concatenate([stacked.std(1, ddof=1), stacked.mean(1)], -1), atol=1e-6
    )


def test_pooling_mean_and_single_vector(tiny_inputs):
    assert tiny(pooling="mean").get_layer("concat_linear").kernel.shape == (10, 5)  # noSP
    drop = tiny(modalities=("t",))
    zero = tiny(modalities=("t",), single_std="zero")
    assert drop.get_layer("concat_linear").kernel.shape == (10, 5)
    assert zero.get_layer("concat_linear").kernel.shape == (20, 5)
    inputs = {"glove": tiny_inputs["glove"]}
    pooled = keras.ops.convert_to_numpy(keras.Model(zero.inputs, zero.get_layer("statistics_pooling").output)(inputs))
    assert np.all(pooled[:, :10] == 0.0) and np.all(np.isfinite(predict(zero, inputs)))


def test_frame_mixing_off_feeds_the_frames_as_they_are():
    model = tiny(frame_mixing=False, video_shape=(None, 9))
    names = {layer.name for layer in model.layers}
    assert "video_conv" not in names and "audio_conv" not in names
    assert tuple(model.get_layer("audio_encoder").output.shape) == (None, 8, 10)


def test_text_dropout_is_the_only_training_noise_when_attention_dropout_is_zero(tiny_inputs):
    quiet = randomize(tiny(text_dropout=0.0, attention_dropout=0.0))
    noisy = tiny(text_dropout=0.25, attention_dropout=0.0)
    noisy.set_weights(quiet.get_weights())
    np.testing.assert_allclose(predict(quiet, tiny_inputs, True), predict(quiet, tiny_inputs), atol=1e-6)
    assert np.abs(predict(noisy, tiny_inputs, True) - predict(noisy, tiny_inputs)).max() > 1e-4


def test_cross_attention_queries_come_from_the_target():
    model = tva_cross_at(audio_shape=(6, 5), text_shape=(4, 3), rnn_units=3, num_heads=1)
    assert tuple(model.get_layer("mha_a_t").output.shape) == (None, 4, 6)  # query: text (4 tokens)
    assert tuple(model.get_layer("mha_t_a").output.shape) == (None, 3, 6)  # query: audio (6 -> 3 frames)


def test_initializers():
    torch_like = tiny(rnn_units=8, num_heads=2)
    for weight in torch_like.get_layer("text_encoder").weights:  # GRU: U(±1/sqrt(8)), biases too
        values = keras.ops.convert_to_numpy(weight)
        assert np.abs(values).max() <= 1 / np.sqrt(8) and np.abs(values).max() > 0
    mha = torch_like.get_layer("mha_t")
    assert np.abs(keras.ops.convert_to_numpy(mha.output_dense.kernel)).max() <= 1 / np.sqrt(16)
    assert np.all(keras.ops.convert_to_numpy(mha.query_dense.bias) == 0)
    conv = keras.ops.convert_to_numpy(torch_like.get_layer("audio_conv").bias)
    assert 0 < np.abs(conv).max() <= 1 / np.sqrt(8)
    keras_like = tiny(initializers="keras")
    assert np.all(keras.ops.convert_to_numpy(keras_like.get_layer("text_encoder").forward_layer.cell.bias) == 0)


def test_float64():
    model = tiny(dtype="float64")
    assert {w.dtype for w in model.weights} == {"float64"}
    assert model.output.dtype == "float64"


# --- the layers ----------------------------------------------------------------------


def test_frame_mixing_is_a_conv1d_over_frames_as_channels():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    layer = FrameMixing(4)
    layer.build(x.shape)
    kernel, bias = rng.standard_normal((5, 4)), rng.standard_normal(4)
    layer.set_weights([kernel, bias])
    want = np.einsum("btf,to->bof", x, kernel) + bias[None, :, None]  # torch: conv1d(x, W[o, t, 1])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), want, rtol=1e-5, atol=1e-5)
    assert FrameMixing.from_config(layer.get_config()).frames == 4


def test_statistics_pooling_values_and_errors():
    a, b, c = np.array([[1.0, 0.0]]), np.array([[3.0, 0.0]]), np.array([[5.0, 3.0]])
    stacked = np.stack([a, b, c], 1)
    got = keras.ops.convert_to_numpy(StatisticsPooling()([a, b, c]))
    np.testing.assert_allclose(got, np.concatenate([stacked.std(1, ddof=1), stacked.mean(1)], -1), rtol=1e-6)
    got = keras.ops.convert_to_numpy(StatisticsPooling(order="mean_std")([a, b, c]))
    np.testing.assert_allclose(got[:, :2], stacked.mean(1), rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(StatisticsPooling("mean")([a, b, c])), stacked.mean(1))
    assert np.all(keras.ops.convert_to_numpy(StatisticsPooling(undefined_std="zero")([a]))[:, :2] == 0)
    with pytest.raises(ValueError, match=r"std of 1 is undefined.*Received: 1 vector"):
        StatisticsPooling()([a])
    with pytest.raises(ValueError, match=r"order.*Received: order='mean'"):
        StatisticsPooling(order="mean")
    config = StatisticsPooling(order="mean_std", undefined_std="zero").get_config()
    assert StatisticsPooling.from_config(config).get_config() == config


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"attention": "both"}, r"attention.*Received: attention='both'"),
        ({"modalities": ("t", "x")}, r"modalities.*Received: modalities=\('t', 'x'\)"),
        ({"modalities": ("t", "t")}, r"distinct.*Received: modalities=\('t', 't'\)"),
        ({"modalities": ("a",), "attention": "cross"}, r"at least two modalities.*Received: modalities=\('a',\)"),
        ({"pooling": "max"}, r"pooling.*Received: pooling='max'"),
        ({"single_std": "nan"}, r"single_std.*Received: single_std='nan'"),
        ({"stats_order": "mean"}, r"stats_order.*Received: stats_order='mean'"),
        ({"head_activation": "swish"}, r"head_activation.*Received: head_activation='swish'"),
        ({"initializers": "he"}, r"initializers.*Received: initializers='he'"),
        ({"dtype": "float16"}, r"dtype.*Received: dtype='float16'"),
        ({"frame_mixing": 1}, r"frame_mixing.*Received: frame_mixing=1"),
        ({"num_heads": 4}, r"num_heads.*divide.*Received: num_heads=4, rnn_units=5"),
        ({"audio_frames": 0}, r"audio_frames.*positive int.*Received: audio_frames=0"),
        ({"text_dropout": 1.0}, r"text_dropout.*Received: text_dropout=1.0"),
        ({"video_shape": (None, 9)}, r"video_shape.*Received: video_shape=\(None, 9\)"),
        ({"mfcc120_shape": (8,)}, r"mfcc120_shape.*Received: mfcc120_shape=\(8,\)"),
        ({"input_names": {"t": "glove"}}, r"input_names.*Received: input_names="),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_clear_errors(flags, message):
    shapes = dict(TINY_SHAPES)
    for key in ("video_shape", "mfcc120_shape"):
        if key in flags:
            shapes[key] = flags.pop(key)
    with pytest.raises(ValueError, match=message):
        tva_self(**shapes, **{**TINY, **flags})
