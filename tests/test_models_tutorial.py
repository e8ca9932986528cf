"""The CoAudioText tutorial models: exact parameter counts, the model contract, and the quirks.

Counts are at the tutorial's default shapes (audio 200x129, text 30x67, 7
classes). Everything that runs a model uses tiny shapes and, where the check is
not about it, `recurrent_activation="sigmoid"` for speed.
"""

import keras
import numpy as np
import pytest
from model_contract import random_inputs, run_model_contract

from coaudiotext.layers.activations import hard_sigmoid_keras21
from coaudiotext.layers.attention import AttentionBlock, LearnedSource, ReverseTime, ZeroSource, attention_weights
from coaudiotext.models import MODELS, build_model, input_shapes

# The tutorial's table (computed counts; Para-BRE-Att's "260K" is 261,937 in the code).
EXPECTED_COUNTS = {
    "bilstm": 116_743,
    "bilstm_att": 190_031,
    "para": 261_937,
    "text_bilstm_att": 77_097,
    "mha_a": 266_033,
    "mha_a_t": 270_129,
    "ca": 326_905,
}
SMALL = {"audio": (10, 7), "text": (6, 5)}
# Attention layers whose query comes from the zero source (dead attention), per model.
ZERO_SOURCE_ATTENTIONS = {
    "bilstm_att": ["speech_attention"],
    "para": ["speech_attention", "text_attention"],
    "text_bilstm_att": ["text_attention"],
    "mha_a": ["speech_attention"],
    "ca": ["speech_attention"],
}
# Branches whose keys and score-mixer kernel feed only a zero-query attention: they never train.
FROZEN_BRANCHES = {"bilstm_att": ["speech"], "para": ["speech", "text"], "text_bilstm_att": ["text"], "mha_a": ["speech"]}
# The contract reloads `ca` in a fresh process (about 10 s), with the faithful hard_sigmoid
# LSTMs, so every custom object (ZeroSource, AttentionBlock, ReverseTime, the activation)
# must come back from the package's registrations alone; the others reload in-process,
# some with flags that bring in the remaining layers.
FRESH_PROCESS = {"bilstm": {"recurrent_activation": "hard_sigmoid"}, "ca": {"align_backward": True, "recurrent_activation": "hard_sigmoid"}}
CONTRACT_FLAGS = {"mha_a": {"query": "learned"}, "mha_a_t": {"align_backward": True}}


def small_model(key, **flags):
    flags.setdefault("recurrent_activation", "sigmoid")
    shapes = input_shapes(key, **{name: SMALL[name] for name in MODELS[key].inputs})
    return build_model(key, num_classes=3, **shapes, **flags)


def train(model, inputs, steps=3):
    labels = np.arange(len(next(iter(inputs.values())))) % model.output.shape[-1]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=5e-3, epsilon=1e-8),
        loss="sparse_categorical_crossentropy",
        run_eagerly=True,  # tiny model, few steps: tracing would cost more than it saves
    )
    model.fit(inputs, labels, batch_size=len(labels), epochs=steps, verbose=0)


# --- registry and counts -------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(EXPECTED_COUNTS))
def test_parameter_count_at_default_shapes(key):
    assert build_model(key).count_params() == EXPECTED_COUNTS[key]


@pytest.mark.parametrize("key", sorted(EXPECTED_COUNTS))
def test_registry_spec(key):
    spec = MODELS[key]
    model = build_model(key)
    assert sorted(tensor.name for tensor in model.inputs) == sorted(spec.inputs)
    assert tuple(model.output.shape) == (None, 7)
    if key != "bilstm":
        assert spec.tutorial.startswith("tutorials/0") and spec.tutorial.endswith(".py")


def test_mha_variants_differ_by_hops_only():
    one, two = build_model("mha_a"), build_model("mha_a_t")
    names_one = {layer.name for layer in one.layers}
    names_two = {layer.name for layer in two.layers}
    assert names_one - names_two == {"speech_attention", "speech_attention_source", "speech_query"}
    assert names_two - names_one == {"text_to_speech_hop", "text_to_speech_query"}


def test_ca_shares_speech_keys_between_self_attention_and_exchange():
    model = build_model("ca")
    keys = model.get_layer("speech_context").output
    assert model.get_layer("speech_attention").input[1] is keys
    assert model.get_layer("text_to_speech_hop").input[1] is keys


def test_learned_query_adds_one_vector_per_zero_source():
    for key, names in ZERO_SOURCE_ATTENTIONS.items():
        learned = build_model(key, query="learned")
        assert learned.count_params() == EXPECTED_COUNTS[key] + 64 * len(names), key


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"query": "random"}, "query"),
        ({"recurrent_activation": "tanh"}, "recurrent_activation"),
        ({"score_mixing": "yes"}, "score_mixing"),
        ({"align_backward": 1}, "align_backward"),
    ],
)
def test_bad_flags_name_the_argument(flags, message):
    with pytest.raises(ValueError, match=message):
        build_model("ca", **flags)


def test_bad_hops():
    from coaudiotext.models.multi_hop_attention import multi_hop_attention

    with pytest.raises(ValueError, match="hops"):
        multi_hop_attention(hops=3)


# --- the contract ---------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(EXPECTED_COUNTS))
def test_model_contract(key, tmp_path):
    model = small_model(key, **FRESH_PROCESS.get(key, CONTRACT_FLAGS.get(key, {})))
    run_model_contract(model, random_inputs(model), tmp_path, fresh_process=key in FRESH_PROCESS)


# --- the attention block and its layers -----------------------------------------------


def _reference_attention(values, keys, query, kernel=None, bias=None):
    scores = np.einsum("bu,btu->bt", query, keys)
    if kernel is not None:
        scores = scores @ kernel + bias
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return (weights[..., None] * values).sum(1), weights


@pytest.mark.parametrize("score_mixing", [True, False])
def test_attention_block_matches_numpy(score_mixing):
    rng = np.random.default_rng(1)
    values, keys, query = (rng.standard_normal(s).astype("float32") for s in [(2, 5, 3), (2, 5, 4), (2, 4)])
    block = AttentionBlock(score_mixing=score_mixing)
    pooled, weights = block([values, keys, query], return_attention=True)
    if score_mixing:
        kernel, bias = rng.standard_normal((5, 5)).astype("float32"), rng.standard_normal(5).astype("float32")
        block.set_weights([kernel, bias])
        pooled, weights = block([values, keys, query], return_attention=True)
        expected = _reference_attention(values, keys, query, kernel, bias)
    else:
        assert block.count_params() == 0
        expected = _reference_attention(values, keys, query)
    np.testing.assert_allclose(np.asarray(pooled), expected[0], atol=1e-5)
    np.testing.assert_allclose(np.asarray(weights), expected[1], atol=1e-6)
    np.testing.assert_allclose(np.asarray(block([values, keys, query])), expected[0], atol=1e-5)


def test_attention_block_zero_query_is_positional():
    """q = 0 gives weights softmax(bias): the same for every sample, whatever the keys."""
    rng = np.random.default_rng(2)
    values, keys = rng.standard_normal((3, 4, 2)).astype("float32"), rng.standard_normal((3, 4, 6)).astype("float32")
    block = AttentionBlock()
    block([values, keys, np.zeros((3, 6), "float32")])
    bias = np.array([0.0, 1.0, 2.0, 3.0], "float32")
    block.score_mixer_bias.assign(bias)
    _, weights = block([values, keys, np.zeros((3, 6), "float32")], return_attention=True)
    np.testing.assert_allclose(np.asarray(weights), np.tile(np.exp(bias) / np.exp(bias).sum(), (3, 1)), atol=1e-6)


def test_attention_block_errors():
    with pytest.raises(ValueError, match="score_mixing"):
        AttentionBlock(score_mixing="yes")
    with pytest.raises(ValueError, match="same last dimension"):
        AttentionBlock()([np.zeros((1, 4, 2)), np.zeros((1, 4, 3)), np.zeros((1, 5))])
    with pytest.raises(ValueError, match="units"):
        ZeroSource(0)


@pytest.mark.parametrize(
    "layer, inputs",
    [
        (AttentionBlock(score_mixing=False, name="att"), [np.ones((2, 3, 4)), np.ones((2, 3, 5)), np.ones((2, 5))]),
        (ZeroSource(6, name="zero"), np.ones((2, 3, 4))),
        (LearnedSource(6, name="learned"), np.ones((2, 3, 4))),
        (ReverseTime(name="flip"), np.arange(12.0).reshape(2, 3, 2)),
    ],
)
def test_custom_layer_config_round_trip(layer, inputs):
    output = np.asarray(layer(inputs))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == layer.get_config()
    restored(inputs)
    restored.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(restored(inputs)), output)
    if isinstance(layer, ZeroSource):
        np.testing.assert_array_equal(output, np.zeros((2, 6)))
    if isinstance(layer, LearnedSource):
        np.testing.assert_array_equal(output[0], output[1])
        assert np.any(output != 0)
    if isinstance(layer, ReverseTime):
        np.testing.assert_array_equal(output, np.asarray(inputs)[:, ::-1])


# --- faithfulness ---------------------------------------------------------------------


def _query_layers(model, attention_name):
    prefix = attention_name.removesuffix("_attention")
    return [
        layer
        for layer in model.layers
        if layer.name.startswith(f"{prefix}_query") and isinstance(layer, keras.layers.Dense)
    ]


@pytest.mark.parametrize("key", sorted(ZERO_SOURCE_ATTENTIONS))
def test_dead_attention_stays_dead_after_training(key):
    """Zero source -> query exactly 0 forever -> the same attention weights for every sample."""
    model = small_model(key)
    inputs = random_inputs(model, batch_size=4)
    names = ZERO_SOURCE_ATTENTIONS[key]
    mixers_before = {name: keras.ops.convert_to_numpy(model.get_layer(name).score_mixer_bias) for name in names}
    frozen = [
        weight
        for prefix in FROZEN_BRANCHES.get(key, [])
        for weight in model.get_layer(f"{prefix}_context").weights
        + [model.get_layer(f"{prefix}_attention").score_mixer_kernel]
    ]
    frozen_before = [keras.ops.convert_to_numpy(weight) for weight in frozen]
    train(model, inputs)
    for name in names:
        weights = attention_weights(model, name, inputs)
        np.testing.assert_array_equal(weights, np.broadcast_to(weights[:1], weights.shape), err_msg=name)
        # The weights are softmax of the mixer bias, which did train.
        bias = keras.ops.convert_to_numpy(model.get_layer(name).score_mixer_bias)
        np.testing.assert_allclose(weights[0], np.exp(bias) / np.exp(bias).sum(), atol=1e-6)
        assert not np.array_equal(bias, mixers_before[name]), f"{name}: the mixer bias did not train"
        query_layers = _query_layers(model, name)
        assert query_layers, name
        for layer in query_layers:
            bias = keras.ops.convert_to_numpy(layer.bias)
            np.testing.assert_array_equal(bias, 0.0, err_msg=f"{layer.name}: the query bias moved")
    for weight, before in zip(frozen, frozen_before):  # zero gradient: keys and mixer kernel never train
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), before, err_msg=weight.path)


def test_learned_query_makes_attention_input_dependent():
    model = small_model("bilstm_att", query="learned")
    inputs = random_inputs(model, batch_size=4)
    train(model, inputs)
    weights = attention_weights(model, "speech_attention", inputs)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.ptp(weights, axis=0).max() > 1e-4, "learned-query attention is the same for every sample"
    assert np.any(keras.ops.convert_to_numpy(model.get_layer("speech_query").bias) != 0.0)


@pytest.mark.parametrize("key, prefix", [("mha_a", "speech"), ("ca", "text")])
def test_align_backward_flips_the_backward_lstm(key, prefix):
    default = small_model(key)
    aligned = small_model(key, align_backward=True)
    rng = np.random.default_rng(3)
    for layer in default.layers:
        if isinstance(layer, AttentionBlock):  # a zero-bias mixer pools uniformly: blind to time order
            layer.score_mixer_bias.assign(rng.standard_normal(layer.score_mixer_bias.shape))
    for layer in default.layers:  # by name: the layer order of the two graphs may differ
        aligned.get_layer(layer.name).set_weights(layer.get_weights())
    inputs = random_inputs(default, batch_size=3)
    assert not np.allclose(np.asarray(default(inputs)), np.asarray(aligned(inputs)), atol=1e-6)

    def parts(model):
        probe = keras.Model(
            model.inputs,
            [
                model.get_layer(f"{prefix}_lstm_forward").output[0],
                model.get_layer(f"{prefix}_lstm_backward").output[0],
                model.get_layer(f"{prefix}_bilstm").output,
            ],
        )
        return [np.asarray(t) for t in probe(inputs)]

    forward, backward, sequence = parts(default)
    np.testing.assert_array_equal(sequence, np.concatenate([forward, backward], -1))  # faithful: as returned
    aligned_forward, aligned_backward, aligned_sequence = parts(aligned)
    np.testing.assert_array_equal(aligned_forward, forward)
    np.testing.assert_array_equal(aligned_backward, backward)
    np.testing.assert_allclose(aligned_sequence, np.concatenate([forward, backward[:, ::-1]], -1), atol=1e-6)


def test_hard_sigmoid_is_keras21():
    x = np.array([-5.0, -2.5, -1.0, 0.0, 1.0, 2.5, 5.0], "float32")
    np.testing.assert_allclose(np.asarray(hard_sigmoid_keras21(x)), [0.0, 0.0, 0.3, 0.5, 0.7, 1.0, 1.0], atol=1e-7)


def _lstms(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer
        elif isinstance(layer, keras.layers.LSTM):
            yield layer


@pytest.mark.parametrize("key", sorted(EXPECTED_COUNTS))
def test_lstms_use_the_recurrent_activation_flag(key):
    lstms = list(_lstms(build_model(key)))
    assert lstms and all(lstm.cell.recurrent_activation is hard_sigmoid_keras21 for lstm in lstms)
    fast = list(_lstms(build_model(key, recurrent_activation="sigmoid")))
    assert all(lstm.cell.recurrent_activation is keras.activations.sigmoid for lstm in fast)
