"""Seed 004 (SER-MMoE): counts against the PyTorch modules, float64 parity, the contract, the quirks and their flags.

The PyTorch reference (`tests/reference_ser_mmoe.py`) re-implements the original's modules; counts
compare module by module. Parity runs the real widths on a few utterances of a few frames.
"""

import keras
import numpy as np
import pytest
from model_contract import run_model_contract

from coaudiotext.layers.ser_mmoe import (
    ExpertMixture,
    GE2EEmotionLoss,
    HardConcreteGate,
    LastFrameAttention,
    ge2e_emotion_loss,
)
from coaudiotext.models.ser_mmoe import LANGUAGES, SPECS, ser_mmoe, ser_mmoe_ge2e, training_model

T = 7  # frames in every test that runs a branch
SHAPES = {"phone_shape": (T, 230), "mfcc_shape": (T, 24), "wav2vec_shape": (T, 512)}
# Keras LSTMs have one bias per gate: 4 * units fewer per layer and direction than PyTorch.
LSTM_BIAS_DIFFERENCE = {"phone": 2 * 4 * 128, "mfcc": 2 * 2 * 4 * 64, "wav2vec": 2 * 4 * 128}
REFERENCE_BRANCH = {"phone": "allo", "mfcc": "mfcc", "wav2vec": "wav2vec"}


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def trainable_count(layer_or_model):
    return int(sum(np.prod(w.shape) for w in layer_or_model.trainable_weights))


def torch_count(module):
    return sum(p.numel() for p in module.parameters())


def branch_inputs(batch=5, seed=1, frames=T):
    rng = np.random.default_rng(seed)
    return {
        "phone": rng.standard_normal((batch, frames, 230)),
        "mfcc": rng.standard_normal((batch, frames, 24)),
        "wav2vec": rng.standard_normal((batch, frames, 512)),
        "ge2e": rng.random((batch, 256)),
        "utterance": rng.standard_normal((batch, 2048)),
        "phone_length": rng.integers(1, frames + 1, batch).astype("int32"),
        "mfcc_length": rng.integers(1, frames + 1, batch).astype("int32"),
        "wav2vec_length": rng.integers(1, frames + 1, batch).astype("int32"),
    }


@pytest.fixture(scope="module")
def reference():
    torch = pytest.importorskip("torch")
    from reference_ser_mmoe import SERModelReference

    torch.manual_seed(0)
    model = SERModelReference().double()
    for module in model.modules():  # non-trivial BatchNorm statistics, so that they are exercised
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.normal_(0.0, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.normal_(1.0, 0.2)
            module.bias.data.normal_(0.0, 0.2)
    return model.eval()


# --- counts ----------------------------------------------------------------------------


def test_reference_registers_the_original_count(reference):
    assert torch_count(reference) == 10_952_656  # SER_MODEL(None, 200, -1) on CPU
    assert torch_count(reference.SpeakerEncoder) == 1_423_618


@pytest.mark.parametrize("language", ["en", "ge", "fr", "pe"])
def test_component_counts_match_the_pytorch_modules(language, reference):
    from reference_ser_mmoe import TOWERS

    model = ser_mmoe(language)
    for branch, name in REFERENCE_BRANCH.items():
        keras_count = sum(
            model.get_layer(f"{branch}_{part}").count_params() for part in ("conv_k3", "conv_k5", "lstm", "attention")
        )
        assert keras_count == torch_count(getattr(reference, name)) - LSTM_BIAS_DIFFERENCE[branch], branch
    gate = sum(model.get_layer(n).count_params() for n in ("gate_1", "gate_2", "gate_3", "gate_scores"))
    assert gate == sum(torch_count(getattr(reference, f"W_{language}{s}")) for s in ("", "_1", "_2", "_3"))
    assert gate == (43_364 if language == "ge" else 43_397)
    assert model.get_layer("high_layer").count_params() == torch_count(reference.high_layer) == 131_073
    adaptor = model.get_layer("utterance_adaptor").count_params() + model.get_layer("utterance_adaptor_1").count_params()
    assert adaptor == torch_count(reference.adaptor) + torch_count(reference.adaptor1) == 1_180_416
    hidden = TOWERS[language]
    names = [f"dense1_{language}", f"bn_{language}", f"dense2_{language}", f"bn1_{language}", f"dense3_{language}",
             f"bn2_{language}", f"out_proj_{language}"] + (["dense4_pe", "bn3_pe"] if language == "pe" else [])
    tower_torch = sum(torch_count(getattr(reference, n)) for n in names)
    tower_keras = sum(trainable_count(layer) for layer in model.layers if layer.name.startswith("tower_") or layer.name == "logits")
    assert tower_keras == tower_torch == {"en": 429_188, "ge": 1_186_823, "fr": 1_186_823, "pe": 3_814_150}[language]
    assert hidden * 2 == model.get_layer("tower_1").units


def test_ge2e_key_counts():
    counts = {lang: trainable_count(ser_mmoe_ge2e(lang)) for lang in LANGUAGES}
    # gate + tower + output, as in the original (the first 256 tower inputs read the absent experts' zeros)
    assert counts == {"en": 43_397 + 429_188, "ge": 43_364 + 1_186_823, "fr": 43_397 + 1_186_823, "pe": 43_397 + 3_814_150}


def test_registry():
    from coaudiotext.models import MODELS, build_model

    assert list(SPECS) == ["ser_mmoe", "ser_mmoe_ge2e", "ser_phone", "ser_mfcc", "ser_wav2vec"]
    assert [key for key in MODELS if key in SPECS] == list(SPECS)
    assert MODELS["ser_mmoe_ge2e"].inputs == ("ge2e",)
    model = build_model("ser_mmoe_ge2e", language="fr", num_classes=7)
    assert [t.name for t in model.inputs] == ["ge2e"] and tuple(model.output.shape) == (None, 7)
    full = build_model("ser_mmoe")
    assert sorted(t.name for t in full.inputs) == sorted(MODELS["ser_mmoe"].inputs)
    assert tuple(full.output.shape) == (None, 4)
    mfcc = build_model("ser_mfcc")
    assert sorted(t.name for t in mfcc.inputs) == ["mfcc", "mfcc_length"]
    assert "gate_1" not in {layer.name for layer in mfcc.layers}
    train = MODELS["ser_mmoe"].train
    assert (train.optimizer, train.learning_rate, train.weight_decay, train.epsilon, train.epochs) == (
        "adamw", 5e-4 / 3, 1e-5, 1e-6, 20)


# --- parity with the PyTorch modules --------------------------------------------------


def _reference_outputs(reference, language, x, batch_first=False, mfcc_index=None):
    import torch

    t = {k: torch.from_numpy(np.asarray(v)) for k, v in x.items()}
    index = t["phone_length"].long() - 1
    if mfcc_index is None:
        mfcc_index = torch.clamp(t["mfcc_length"].long(), max=T - 1)  # the original's MFCC convention
    with torch.no_grad():
        logits, embedding = reference(
            language, t["phone"], t["ge2e"], t["mfcc"], index, mfcc_index, t["wav2vec"], t["wav2vec_length"].long() - 1,
            t["utterance"], batch_first=batch_first,
        )
    return logits.numpy(), embedding.numpy()


def _keras_outputs(model, x):
    sub = keras.Model(model.inputs, [model.get_layer("logits").output, model.get_layer("tower_embedding").output])
    return [numpy(v) for v in sub(x, training=False)]


@pytest.mark.parametrize("language, flags", [
    ("en", {}), ("ge", {}), ("fr", {}), ("pe", {}), ("en", {"batch_first_fix": True}), ("ge", {"fix_mfcc_length": True}),
], ids=["en", "ge", "fr", "pe", "en-batch_first_fix", "ge-fix_mfcc_length"])
def test_matches_the_pytorch_original_in_float64(language, flags, reference):
    from reference_ser_mmoe import copy_to_keras

    model = ser_mmoe(language, dtype="float64", **SHAPES, **flags)
    copy_to_keras(reference, model, language)
    x = branch_inputs()
    x["phone_length"][0] = x["mfcc_length"][0] = T  # a full-length utterance: the MFCC index clips to T - 1
    mfcc_index = None
    if flags.get("fix_mfcc_length"):
        import torch

        mfcc_index = torch.from_numpy(x["mfcc_length"]).long() - 1
    want_logits, want_embedding = _reference_outputs(
        reference, language, x, batch_first=flags.get("batch_first_fix", False), mfcc_index=mfcc_index)
    logits, embedding = _keras_outputs(model, x)
    assert logits.dtype == np.float64
    assert np.abs(logits - want_logits).max() <= 1e-12
    assert np.abs(embedding - want_embedding).max() <= 1e-12
    probabilities = numpy(model(x, training=False))
    want = np.exp(want_logits) / np.exp(want_logits).sum(-1, keepdims=True)
    assert np.abs(probabilities - want).max() <= 1e-12


def test_faithful_recurrence_depends_on_the_batch_and_the_fix_does_not():
    x = branch_inputs(batch=4, seed=3)
    order = [0, 3, 1, 2]
    shuffled = {k: v[order] for k, v in x.items()}
    outputs = {}
    for fix in (False, True):
        model = ser_mmoe("en", batch_first_fix=fix, dtype="float64", **SHAPES)
        if fix:
            model.set_weights(weights)
        weights = model.get_weights()
        first = numpy(model(x, training=False))
        again = numpy(model(shuffled, training=False))
        alone = numpy(model({k: v[:1] for k, v in x.items()}, training=False))  # a batch of one works
        outputs[fix] = (np.abs(first[0] - again[0]).max(), np.abs(first[0] - alone[0]).max())
    assert outputs[False][0] > 1e-9 and outputs[False][1] > 1e-9  # sample 0 changes with its batch
    assert outputs[True][0] < 1e-12 and outputs[True][1] < 1e-12


# --- the contract ---------------------------------------------------------------------


def test_contract_ge2e_key_fresh_process(tmp_path):
    model = ser_mmoe_ge2e("ge")
    x = {"ge2e": np.random.default_rng(0).random((6, 256)).astype("float32")}
    run_model_contract(model, x, tmp_path, fresh_process=True, atol=1e-5)


def test_contract_full_model_with_flags(tmp_path):
    model = ser_mmoe("fr", **SHAPES, fix_mask_off_by_one=True, high_layer_stochastic=True, l0_penalty=0.01)
    x = {k: (v.astype("float32") if v.dtype == np.float64 else v) for k, v in branch_inputs(batch=4).items()}
    run_model_contract(model, x, tmp_path, fresh_process=False, atol=1e-5)


# --- layers: hand-computed cases -------------------------------------------------------


def test_last_frame_attention_query_and_mask():
    layer = LastFrameAttention(2, kernel_initializer="identity")
    h = np.zeros((1, 4, 2), "float32")
    h[0, :, 0] = [1.0, 2.0, 3.0, 4.0]
    layer([h, np.array([3])])
    values = numpy(layer.value_kernel)
    # n = 3 valid frames: the query is frame 2, the faithful mask keeps frames 0 and 1 only
    scores = np.array([1.0, 2.0]) * 3.0 / np.sqrt(2.0)
    weights = np.exp(scores) / np.exp(scores).sum()
    want = weights @ (h[0, :2] @ values)
    np.testing.assert_allclose(numpy(layer([h, np.array([3])]))[0], want, rtol=1e-5)
    fixed = LastFrameAttention(2, kernel_initializer="identity", mask_query_frame=False)
    scores = np.array([1.0, 2.0, 3.0]) * 3.0 / np.sqrt(2.0)
    weights = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(numpy(fixed([h, np.array([3])]))[0], weights @ h[0, :3], rtol=1e-5)
    shifted = LastFrameAttention(2, kernel_initializer="identity", length_shift=1)  # MFCC: query = frame n (padding)
    out = numpy(shifted([h, np.array([3])]))[0]
    scores = np.array([1.0, 2.0, 3.0]) * 4.0 / np.sqrt(2.0)
    np.testing.assert_allclose(out, (np.exp(scores) / np.exp(scores).sum()) @ h[0, :3], rtol=1e-5)


def test_hard_concrete_gate_is_deterministic_unless_stochastic():
    gate = HardConcreteGate(3, seed=1)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype("float32")
    gate(x)
    u, alpha = numpy(gate.u), numpy(gate.alpha)
    s = 1 / (1 + np.exp(-(np.log(u) - np.log(1 - u) + np.log(alpha) / 0.9)))
    z = np.clip(s * 2.1 - 0.1, 0.0, 1.0)
    np.testing.assert_allclose(numpy(gate(x, training=True)), x @ (z * numpy(gate.w)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(gate(x, training=True)), numpy(gate(x, training=False)))
    noisy = HardConcreteGate(3, stochastic=True, l0_penalty=0.5, seed=1)
    noisy(x)
    noisy.set_weights(gate.get_weights())
    assert np.abs(numpy(noisy(x, training=True)) - numpy(noisy(x, training=False))).max() > 1e-3
    np.testing.assert_allclose(numpy(noisy(x, training=False)), numpy(gate(x)), rtol=1e-6)
    probability = 1 / (1 + np.exp(-(np.log(u) - np.log(1 - u) + np.log(alpha) / 0.9 - np.log(0.1 / 2.0))))
    noisy(x, training=True)
    assert len(noisy.losses) == 1
    np.testing.assert_allclose(float(numpy(noisy.losses[0])), 0.5 * probability.mean(), rtol=1e-5)
    noisy(x, training=False)
    assert not noisy.losses  # no penalty at inference


def test_expert_mixture_scales_sums_and_appends():
    mix = ExpertMixture(5, present=[0, 1, 3, 4], separate=3, width=2)
    experts = [np.full((1, 2), v, "float32") for v in (1.0, 2.0, 3.0, 4.0)]
    scores = np.array([[0.1, 0.2, 0.3, 0.15, 0.25]], "float32")  # 1 * .1 + 2 * .2 + 4 * .25 = 1.5; 3 * .15
    np.testing.assert_allclose(numpy(mix([experts, scores])), [[1.5, 1.5, 0.45, 0.45]], rtol=1e-6)


# --- the contrastive loss --------------------------------------------------------------


@pytest.mark.parametrize("prune", [False, True])
def test_contrastive_loss_matches_the_original(prune):
    torch = pytest.importorskip("torch")
    from reference_ser_mmoe import construct_matrix_embed, ge2e_loss

    rng = np.random.default_rng(4)
    labels = np.concatenate([rng.permutation(7), rng.integers(0, 7, 25), rng.permutation(7)])  # first-appearance order shuffled
    embeddings = rng.standard_normal((len(labels), 16))
    want = ge2e_loss(construct_matrix_embed(torch.from_numpy(embeddings), torch.from_numpy(labels), prune), 70.8929, -4.1807)
    got = ge2e_emotion_loss(keras.ops.convert_to_tensor(embeddings), labels, 7, 70.8929, -4.1807, prune=prune)
    assert abs(float(numpy(got)) - want.item()) <= 1e-10


def test_contrastive_loss_degenerate_batches():
    torch = pytest.importorskip("torch")
    from reference_ser_mmoe import construct_matrix_embed, ge2e_loss

    embeddings = np.random.default_rng(5).standard_normal((5, 4))
    singleton = np.array([0, 0, 1, 1, 2])  # class 2 has one sample
    assert np.isnan(ge2e_loss(construct_matrix_embed(torch.from_numpy(embeddings), torch.from_numpy(singleton)), 10.0, -5.0).item())
    x = keras.ops.convert_to_tensor(embeddings)
    assert np.isnan(float(numpy(ge2e_emotion_loss(x, singleton, 3, 10.0, -5.0, degenerate="nan"))))
    assert float(numpy(ge2e_emotion_loss(x, singleton, 3, 10.0, -5.0))) == 0.0
    with pytest.raises(ValueError):  # prune=True with no class above 5 samples: the original crashes
        construct_matrix_embed(torch.from_numpy(embeddings), torch.from_numpy(np.array([0, 0, 1, 1, 1])), prune=True)
    assert float(numpy(ge2e_emotion_loss(x, np.array([0, 0, 1, 1, 1]), 3, 10.0, -5.0, prune=True))) == 0.0
    assert np.isnan(float(numpy(ge2e_emotion_loss(x, np.array([0, 0, 1, 1, 1]), 3, 10.0, -5.0, prune=True, degenerate="nan"))))


def test_training_model_adds_alpha_times_the_contrastive_term():
    model = ser_mmoe_ge2e("fr", initializers="keras")
    train = training_model(model, "fr")
    rng = np.random.default_rng(6)
    x = rng.random((28, 256)).astype("float32")
    y = np.tile(np.arange(7), 4).astype("int32")
    loss_layer = train.get_layer("contrastive_loss")
    assert loss_layer.alpha == 0.015 and len(loss_layer.trainable_weights) == 2
    np.testing.assert_allclose([float(numpy(v)) for v in loss_layer.similarity()], [70.8929, -4.1807], rtol=1e-6)
    train.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy", run_eagerly=True)
    total = train.evaluate({"ge2e": x, "label": y}, y, batch_size=28, verbose=0)
    probabilities = numpy(model({"ge2e": x}, training=False))
    cross_entropy = -np.mean(np.log(probabilities[np.arange(28), y]))
    assert abs(total - cross_entropy) < 1e-5  # evaluation: no contrastive term (training only)
    embedding = numpy(keras.Model(model.inputs, model.get_layer("tower_embedding").output)({"ge2e": x}, training=True))
    assert np.isfinite(embedding).all()
    before = [float(numpy(v)) for v in loss_layer.similarity()]
    history = train.fit({"ge2e": x, "label": y}, y, batch_size=28, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    after = [float(numpy(v)) for v in loss_layer.similarity()]
    assert 0.5e-5 < abs(after[0] - before[0]) < 1.5e-5  # one Adam step (~lr = 1e-3) at 0.01 x the learning rate
    en = training_model(ser_mmoe_ge2e("en"), "en").get_layer("contrastive_loss")
    assert en.alpha == 0.1 and not en.trainable_weights  # 10 / -5, never trained in the original
    assert training_model(ser_mmoe_ge2e("pe"), "pe").get_layer("contrastive_loss").prune


def test_contrastive_term_is_in_the_training_loss():
    layer = GE2EEmotionLoss(3, alpha=0.5)
    embeddings = np.random.default_rng(7).standard_normal((6, 4)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    inputs = [keras.Input((4,)), keras.Input((), dtype="int32")]
    wrapper = keras.Model(inputs, layer(inputs))
    wrapper([embeddings, labels], training=True)
    want = 0.5 * float(numpy(ge2e_emotion_loss(keras.ops.convert_to_tensor(embeddings), labels, 3, 10.0, -5.0)))
    assert len(wrapper.losses) == 1 and abs(float(numpy(wrapper.losses[0])) - want) < 1e-6 and want > 0


# --- argument errors -------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"language": "de"}, "language"),
    ({"branches": ("phone", "text")}, "branches"),
    ({"language": "ge", "utterance": True, "gate_input": "ge2e"}, "ge"),
    ({"mfcc_shape": (10, 13)}, "mfcc_shape"),
    ({"batch_first_fix": "yes"}, "batch_first_fix"),
    ({"branches": (), "ge2e": False, "utterance": False}, "at least one input"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ser_mmoe(**kwargs)
