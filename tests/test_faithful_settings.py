"""Pins of the faithful settings, and tiny overfit runs (issue #10).

A review found five plausible bugs that the rest of the suite let through; each section below
catches one of them, by value where the setting is a number of the original and by behaviour
where it is a computation:

1. the optimizers: class, learning rate, epsilon (Keras 2.1 / PyTorch 1e-8, not Keras 3's 1e-7),
   clipping and weight decay of every registry key, as `make_optimizer`, `train`, the protocol
   runner, the SER-MMoE runner and the fine-tuner build them;
2. class weights stay off by default (the tutorial's were silently ignored by Keras 2.1.2);
3. `text_bert` pools the `[CLS]` token (its output depends on token 0 only);
4. every dropout rate a builder accepts is applied (outputs vary in training, not in inference);
5. peak normalisation (the RMS column, the MFCC `top_db`) runs over an utterance's real frames
   only: zero padding after a clip does not change its features.

Then one tiny overfit run per model family: on 32 fixed random examples, 30 full-batch steps of
`fit` with the family's own optimizer (at a larger rate) must at least halve the training loss.

The originals' numbers come from the seed documents (optimizers, batch sizes, epochs): the
tutorial's `Adam(lr=0.0005)` under Keras 2.1.2; seed 001's `train_*.sh` and korbert_vat; RSA-CFN's
`main.py`/`trainer.py`; SelfCrossAttn's `main_tva_1.py`; SER-MMoE's `training.py`.
"""

import importlib
import inspect

import keras
import numpy as np
import pytest

from coaudiotext.models import MODELS, TrainSettings, build_model


def numpy(x):
    return keras.ops.convert_to_numpy(x)


# ================================================================ 1. optimizers

# key -> (optimizer, learning_rate, epsilon, global clipnorm, weight_decay, batch_size, epochs);
# None for a batch size or epoch count the original does not fix (then not pinned).
TUTORIAL = ("adam", 5e-4, 1e-8, None, None, 16, 100)  # Adam(lr=0.0005), Keras 2.1.2 epsilon, no clipping
SEED001 = ("adam", 1e-5, 1e-8, 0.8, None, 64, 10)  # train_*.sh: lr 0.00001, clip_grad_norm_ 0.8, torch eps
TEXT_BERT = ("adamw", 2e-5, 1e-6, 1.0, 0.01, 100, 50)  # korbert_vat: BertAdam eps 1e-6, wd 0.01, clip 1.0
RSA_CONCAT = ("adamw", 1e-5, 1e-8, None, 0.0, 6, 10)  # AdamW(weight_decay=0), use_concat forces batch 6
RSA_HUGE = ("adamw", 1e-5, 1e-8, None, 0.0, 4, 10)  # rsa_cfn / hybrid force batch 4
SEED003 = ("adam", 1e-3, 1e-8, None, None, 32, None)  # torch Adam defaults; early stopping, no fixed epochs
SEED004 = ("adamw", 5e-4 / 3, 1e-6, None, 1e-5, 1024, 20)  # transformers.AdamW eps 1e-6; en chunk 1024

ORIGINAL_SETTINGS = {
    **{key: TUTORIAL for key in ("bilstm", "bilstm_att", "para", "text_bilstm_att", "mha_a", "mha_a_t", "ca")},
    "audio_transformer": SEED001,
    "crossmodal_transformer": SEED001,
    "text_bert": TEXT_BERT,
    **{key: RSA_CONCAT for key in ("early_fusion", "late_fusion", "stack", "residual", "rsa", "mlp_mixer")},
    "rsa_cfn": RSA_HUGE,
    "hybrid_fusion": RSA_HUGE,
    "wav2vec2_cls": ("adamw", 1e-4, 1e-8, None, 0.0, None, 10),  # main.py: lr 1e-4 for the wav-only model
    "roberta_cls": ("adamw", 1e-5, 1e-8, None, 0.0, None, 10),
    **{key: SEED003 for key in ("tva_self", "tva_cross", "tva_self_at", "tva_cross_at")},
    **{key: SEED004 for key in ("ser_mmoe", "ser_mmoe_ge2e", "ser_phone", "ser_mfcc", "ser_wav2vec")},
}
OPTIMIZER_CLASSES = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW}


def test_every_registry_key_has_pinned_settings():
    assert sorted(ORIGINAL_SETTINGS) == sorted(MODELS), "a new registry key needs its original's optimizer here"


def test_train_settings_default_is_keras_2_1_adam():
    settings = TrainSettings()
    assert (settings.optimizer, settings.learning_rate, settings.epsilon) == ("adam", 5e-4, 1e-8)
    assert settings.clipnorm is None and settings.weight_decay is None
    assert (settings.batch_size, settings.epochs) == (16, 100)


@pytest.mark.parametrize("key", sorted(ORIGINAL_SETTINGS))
def test_train_settings_are_the_originals(key):
    optimizer, rate, epsilon, clipnorm, decay, batch_size, epochs = ORIGINAL_SETTINGS[key]
    settings = MODELS[key].train
    assert settings.optimizer == optimizer
    assert settings.learning_rate == pytest.approx(rate, rel=1e-12)
    assert settings.epsilon == epsilon
    assert settings.clipnorm == clipnorm
    assert settings.weight_decay == decay
    if batch_size is not None:
        assert settings.batch_size == batch_size
    if epochs is not None:
        assert settings.epochs == epochs


def _check_optimizer(opt, optimizer, rate, epsilon, clipnorm, decay):
    assert type(opt) is OPTIMIZER_CLASSES[optimizer]  # exact class: AdamW subclasses Adam
    assert float(numpy(opt.learning_rate)) == pytest.approx(rate, rel=1e-6)
    assert opt.epsilon == pytest.approx(epsilon, rel=1e-12)
    assert (opt.beta_1, opt.beta_2, opt.amsgrad) == (0.9, 0.999, False)  # Keras 2.1 and PyTorch defaults
    assert opt.clipnorm is None and opt.clipvalue is None  # torch clip_grad_norm_ clips the global norm
    assert opt.global_clipnorm == clipnorm
    if optimizer == "adamw":
        assert opt.weight_decay == pytest.approx(decay, abs=1e-15)
    else:
        assert opt.weight_decay is None


@pytest.mark.parametrize("key", sorted(ORIGINAL_SETTINGS))
def test_make_optimizer_builds_the_original(key):
    from coaudiotext.train import make_optimizer

    optimizer, rate, epsilon, clipnorm, decay, _, _ = ORIGINAL_SETTINGS[key]
    _check_optimizer(make_optimizer(MODELS[key].train), optimizer, rate, epsilon, clipnorm, decay)


def test_make_optimizer_overrides_only_the_rate_and_is_fresh_per_model():
    from coaudiotext.train import make_optimizer

    settings = MODELS["crossmodal_transformer"].train
    _check_optimizer(make_optimizer(settings, learning_rate=1e-3), "adam", 1e-3, 1e-8, 0.8, None)
    # The tutorial shared one `adam_half` between every model of the session; here each gets its own.
    assert make_optimizer(settings) is not make_optimizer(settings)


class _StopBeforeTraining(Exception):
    pass


@pytest.fixture
def fit_spy(monkeypatch):
    """Replaces `keras.Model.fit` by a recorder that stops the caller: its model, optimizer and kwargs."""
    seen = {}

    def fit(self, *args, **kwargs):
        seen.update(model=self, optimizer=self.optimizer, kwargs=kwargs)
        raise _StopBeforeTraining

    monkeypatch.setattr(keras.Model, "fit", fit)
    return seen


@pytest.fixture
def tiny_manifest(tmp_path):
    """A 24-row manifest with short noise clips (train 16, val 4, test 4; one speaker set per split)."""
    import csv

    import soundfile

    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        path = tmp_path / f"u{i}.wav"
        soundfile.write(path, (0.1 * rng.standard_normal(2205)).astype("float32"), 22050)
        split = "train" if i < 16 else "val" if i < 20 else "test"
        rows.append({"audio_path": str(path), "text": f"sentence number {i}", "label": "ab"[i % 2],
                     "speaker": f"{split}{i % 2}", "split": split})
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def _train_until_fit(tiny_manifest, tmp_path, **kwargs):
    from coaudiotext.train import train

    with pytest.raises(_StopBeforeTraining):
        train("text_bilstm_att", data=str(tiny_manifest), out=tmp_path / "run", epochs=1, verbose=0, report=False,
              use_cache=False, **kwargs)


def test_train_compiles_the_original_optimizer_without_class_weights(fit_spy, tiny_manifest, tmp_path):
    _train_until_fit(tiny_manifest, tmp_path)
    _check_optimizer(fit_spy["optimizer"], *TUTORIAL[:5])
    assert fit_spy["model"].name == "text_bilstm_att"
    assert fit_spy["kwargs"]["class_weight"] is None  # 2. off unless asked for


def test_train_applies_class_weights_only_when_asked(fit_spy, tiny_manifest, tmp_path):
    _train_until_fit(tiny_manifest, tmp_path, use_class_weight=True)
    weights = fit_spy["kwargs"]["class_weight"]
    assert isinstance(weights, dict) and sorted(weights) == [0, 1]  # the spy sees them when they are on


def test_protocol_runner_compiles_the_seed003_adam(fit_spy):
    from coaudiotext import protocol

    assert (protocol.LEARNING_RATE, protocol.ADAM_EPSILON, protocol.BATCH_SIZE) == (1e-3, 1e-8, 32)
    rng = np.random.default_rng(0)
    arrays = {name: {"audio": rng.standard_normal((6, 6, 5)).astype("float32"),
                     "text": rng.standard_normal((6, 4, 3)).astype("float32"),
                     "labels": np.arange(6) % 3, "index": np.arange(6)} for name in ("train", "val", "test")}
    with pytest.raises(_StopBeforeTraining):
        protocol._train_one("tva_self_at", arrays, ["a", "b", "c"], seed=0, epochs=1, batch_size=protocol.BATCH_SIZE,
                            learning_rate=protocol.LEARNING_RATE, model_flags={"rnn_units": 3, "num_heads": 1},
                            verbose=0)
    _check_optimizer(fit_spy["optimizer"], *SEED003[:5])


def test_ser_mmoe_runner_compiles_the_seed004_adamw(fit_spy):
    from coaudiotext.ser_mmoe_run import run_port

    rng = np.random.default_rng(0)
    data = {name: (rng.random((8, 256)).astype("float32"), np.arange(8) % 2) for name in ("train", "val", "test")}
    with pytest.raises(_StopBeforeTraining):
        run_port(data, ["a", "b"], "ge", seed=0, epochs=1)
    _check_optimizer(fit_spy["optimizer"], *SEED004[:5])


def test_finetune_optimizer_is_the_rsa_cfn_adamw():
    from coaudiotext import finetune

    assert finetune.default_learning_rates("rsa") == {part: 1e-5 for part in finetune.PARTS}
    assert finetune.default_learning_rates("wav2vec2_cls") == {part: 1e-4 for part in finetune.PARTS}
    defaults = inspect.signature(finetune.finetune).parameters
    assert defaults["clipnorm"].default is None and defaults["epochs"].default == 10  # the original does not clip
    partwise = finetune.PartwiseAdamW(finetune.default_learning_rates("rsa"))
    for opt in partwise.optimizers.values():
        _check_optimizer(opt, "adamw", 1e-5, 1e-8, None, 0.0)


# ================================================================ 2. class weights


def test_class_weights_are_off_by_default_on_the_command_line(fit_spy, tiny_manifest, tmp_path):
    train_module = importlib.import_module("coaudiotext.train")  # the module, not the function
    parser = train_module.build_parser()
    assert parser.parse_args(["--model", "bilstm"]).use_class_weight is False
    assert parser.parse_args(["--model", "bilstm", "--class-weight"]).use_class_weight is True
    argv = ["--model", "text_bilstm_att", "--data", str(tiny_manifest), "--epochs", "1", "--quiet", "--no-cache"]
    with pytest.raises(_StopBeforeTraining):
        train_module.main(argv + ["--out", str(tmp_path / "plain")])
    assert fit_spy["kwargs"]["class_weight"] is None
    with pytest.raises(_StopBeforeTraining):
        train_module.main(argv + ["--out", str(tmp_path / "weighted"), "--class-weight"])
    assert isinstance(fit_spy["kwargs"]["class_weight"], dict)


# ================================================================ 3. text_bert pools [CLS]


def _randomise(model, seed=1, scale=0.5):
    rng = np.random.default_rng(seed)
    model.set_weights([(scale * rng.standard_normal(w.shape)).astype(w.dtype) for w in model.get_weights()])
    return model


def test_text_bert_output_depends_on_token_0_only():
    model = _randomise(build_model("text_bert", bert_shape=(6, 8), bert_mask_shape=(6,), num_classes=3))
    rng = np.random.default_rng(0)
    x = {"bert": rng.standard_normal((4, 6, 8)).astype("float32"), "bert_mask": np.ones((4, 6), "float32")}
    before = numpy(model(x, training=False))
    other = {"bert": x["bert"].copy(), "bert_mask": x["bert_mask"].copy()}
    other["bert"][:, 1:] = rng.standard_normal((4, 5, 8))  # every token but [CLS]
    other["bert_mask"][:, 3:] = 0.0
    np.testing.assert_array_equal(numpy(model(other, training=False)), before)
    cls_changed = {"bert": x["bert"].copy(), "bert_mask": x["bert_mask"]}
    cls_changed["bert"][:, 0] = rng.standard_normal((4, 8))
    assert np.abs(numpy(model(cls_changed, training=False)) - before).max() > 1e-3


# ================================================================ 4. dropout rates are applied

# key -> (small builder kwargs, dropout arguments tested by behaviour). Every dropout argument, the
# transformers' embed/attention/relu/residual ones too, is also checked on the layers it sets.
LSTM_PAIR = dict(audio_shape=(6, 5), text_shape=(4, 3), speech_lstm_units=3, text_lstm_units=2, attention_units=4,
                 hidden_units=6, num_classes=3)
HEADS = dict(wav2vec2_shape=(12,), roberta_shape=(8,), num_classes=3)
DROPOUT_CASES = {
    "bilstm_att": (dict(audio_shape=(6, 5), lstm_units=3, attention_units=4, hidden_units=6, num_classes=3),
                   ("dropout",)),
    "para": (LSTM_PAIR, ("dropout",)),
    "text_bilstm_att": (dict(text_shape=(4, 3), lstm_units=3, attention_units=4, hidden_units=6, num_classes=3),
                        ("dropout",)),
    "mha_a": (LSTM_PAIR, ("dropout",)),
    "mha_a_t": (LSTM_PAIR, ("dropout",)),
    "ca": (LSTM_PAIR, ("dropout",)),
    "audio_transformer": (dict(mfcc_shape=(6, 4), mfcc_mask_shape=(6,), num_heads=2, num_layers=1, num_classes=3),
                          ("out_dropout",)),
    "crossmodal_transformer": (dict(mfcc_shape=(6, 4), mfcc_mask_shape=(6,), bert_shape=(5, 6), bert_mask_shape=(5,),
                                    d_model=4, num_heads=2, num_layers=1, num_classes=3), ("out_dropout",)),
    "text_bert": (dict(bert_shape=(5, 6), bert_mask_shape=(5,), num_classes=3), ("dropout",)),
    "stack": (HEADS, ("dropout",)),
    "residual": (dict(HEADS, hidden_units=6), ("dropout",)),
    "rsa": (dict(HEADS, hidden_units=6, attention_units=5), ("dropout",)),
    "rsa_cfn": (dict(HEADS, projection_units=4, attention_units=3, hidden_units=8), ("dropout",)),
    "hybrid_fusion": (dict(HEADS, projection_units=4, attention_units=3, cfn_hidden_units=8, residual_units=6),
                      ("dropout",)),
    "mlp_mixer": (dict(wav2vec2_seq_shape=(5, 12), roberta_seq_shape=(4, 8), hidden_units=6, classifier_units=10,
                       audio_frames=7, num_classes=3), ("dropout",)),
    "wav2vec2_cls": (dict(wav2vec2_shape=(12,), hidden_units=5, num_classes=3), ("dropout",)),
    "tva_self": (dict(glove_shape=(6, 7), video_shape=(5, 9), mfcc120_shape=(8, 4), rnn_units=5, num_heads=2,
                      video_frames=4, audio_frames=3, num_classes=3), ("attention_dropout", "text_dropout")),
}

# Dropout layers of each model at those shapes, as in the original (e.g. rsa_cfn: the two residual blocks and
# the classifier; the tutorial head: two): a layer dropped from the graph fails even when its rate lives on in
# another. Keras' MultiHeadAttention counts twice (itself and its internal Dropout); one block per stack.
DROPOUT_LAYER_COUNTS = {
    "bilstm_att": 3, "para": 2, "text_bilstm_att": 2, "mha_a": 2, "mha_a_t": 2, "ca": 2,
    # transformers: embed + a block (attention 2, residual 2, relu 1) per stack, the BERT input, the head
    "audio_transformer": 1 + 5 + 1, "crossmodal_transformer": 1 + 4 * (1 + 5) + 1, "text_bert": 1,
    "stack": 5, "residual": 2, "rsa": 2, "rsa_cfn": 3, "hybrid_fusion": 2 + 3, "mlp_mixer": 4, "wav2vec2_cls": 2,
    "tva_self": 1 + 3 * 2,
}


def _dropout_arguments(builder):
    return [name for name, p in inspect.signature(builder).parameters.items()
            if "dropout" in name and not name.startswith("num_") and isinstance(p.default, float)]


def _inputs_for(model, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for tensor in model.inputs:
        shape = (batch,) + tuple(tensor.shape[1:])
        if tensor.name.endswith("_length"):
            out[tensor.name] = rng.integers(2, _steps_of(model, tensor.name) + 1, size=shape).astype("int32")
        elif tensor.name.endswith("mask"):
            value = (rng.random(shape) > 0.3).astype("float32")
            value[:, 0] = 1.0
            out[tensor.name] = value
        else:
            out[tensor.name] = rng.standard_normal(shape).astype("float32")
    return out


def _steps_of(model, length_name):
    """Frames of the sequence input whose length input is `length_name` (`mfcc_length` -> `mfcc`)."""
    sequence = {t.name: t for t in model.inputs}[length_name[: -len("_length")]]
    return int(sequence.shape[1])


def test_every_builder_with_a_dropout_argument_is_covered():
    for key, spec in MODELS.items():
        arguments = _dropout_arguments(spec.builder)
        if arguments:
            assert key in DROPOUT_CASES, f"{key} takes {arguments}: add it to DROPOUT_CASES"
            assert set(DROPOUT_CASES[key][1]) <= set(arguments), key


@pytest.mark.parametrize("key", sorted(DROPOUT_CASES))
def test_dropout_rates_are_applied(key):
    kwargs, arguments = DROPOUT_CASES[key]
    builder = MODELS[key].builder
    silent = {name: 0.0 for name in (*_dropout_arguments(builder), *arguments)}  # mha_a*, tva_*: **kwargs builders
    keras.utils.set_random_seed(0)
    off = _randomise(builder(**kwargs, **silent), scale=0.3)
    x = _inputs_for(off)
    inference = numpy(off(x, training=False))
    np.testing.assert_allclose(numpy(off(x, training=True)), numpy(off(x, training=True)), atol=1e-6,
                               err_msg=f"{key}: training outputs vary with every dropout rate at 0")
    for argument in arguments:
        on = builder(**kwargs, **{**silent, argument: 0.5})
        on.set_weights(off.get_weights())
        np.testing.assert_allclose(numpy(on(x, training=False)), inference, atol=1e-5,
                                   err_msg=f"{key}: {argument} changes the inference outputs")
        first, second = numpy(on(x, training=True)), numpy(on(x, training=True))
        assert np.abs(first - second).max() > 1e-4, f"{key}: {argument}=0.5 is not applied (outputs do not vary)"


def _dropout_layers(model):
    """(name, rate) of every Dropout layer and attention-probability dropout inside `model`, nested ones too."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Dropout):
            found.append((layer.name, round(float(layer.rate), 6)))
        elif isinstance(layer, keras.layers.MultiHeadAttention):
            found.append((layer.name, round(float(layer.dropout), 6)))
    return found


@pytest.mark.parametrize("key", sorted(DROPOUT_CASES))
def test_every_dropout_layer_takes_its_rate_from_an_argument(key):
    """Each dropout argument at its own rate: no layer keeps a hard-coded rate, and each rate reaches a layer."""
    kwargs, arguments = DROPOUT_CASES[key]
    builder = MODELS[key].builder
    names = sorted({*_dropout_arguments(builder), *arguments})
    rates = {name: round(0.11 + 0.01 * i, 6) for i, name in enumerate(names)}
    layers = _dropout_layers(builder(**kwargs, **rates))
    assert len(layers) == DROPOUT_LAYER_COUNTS[key], f"{key}: dropout layers {[name for name, _ in layers]}"
    fixed = [(name, rate) for name, rate in layers if rate not in rates.values()]
    assert not fixed, f"{key}: layers ignore the dropout arguments {rates}: {fixed}"
    unused = {name: rate for name, rate in rates.items() if rate not in {rate for _, rate in layers}}
    assert not unused, f"{key}: no layer has the rate of {unused}"


def test_ser_mmoe_tower_applies_the_languages_dropout():
    from coaudiotext.models.ser_mmoe import LANGUAGES

    model = build_model("ser_mmoe_ge2e")  # en tower: 512 tanh -> dropout .1, 256 relu -> dropout .1, 128 gelu
    wanted = sorted(rate for _, _, rate in LANGUAGES["en"]["tower"] if rate > 0)
    got = sorted(rate for _, rate in _dropout_layers(model))
    assert got == pytest.approx(wanted)
    x = {"ge2e": np.random.default_rng(0).random((8, 256)).astype("float32")}
    assert np.abs(numpy(model(x, training=True)) - numpy(model(x, training=True))).max() > 1e-5
    np.testing.assert_array_equal(numpy(model(x, training=False)), numpy(model(x, training=False)))


# ================================================================ 5. peaks over real frames only


def _loud_ending(hop, hops, seed=0):
    """A quiet clip of `hops * hop + hop - 1` samples ending in a loud burst of `hop / 2` samples.

    With that length the first frame past the end is centred on the burst, so a peak taken over the
    padding frames too (which still overlap the clip's last samples) is higher than the real one.
    """
    rng = np.random.default_rng(seed)
    y = 0.01 * rng.standard_normal(hops * hop + hop - 1).astype("float32")
    y[-(hop // 2):] += rng.standard_normal(hop // 2).astype("float32")
    return y


def test_rms_column_is_normalised_over_real_frames():
    from coaudiotext.features import audio

    y = _loud_ending(audio.HOP_LENGTH, 12)
    other = np.random.default_rng(1).standard_normal(len(y) + 6 * audio.HOP_LENGTH).astype("float32")
    alone, alone_lengths = audio.pad_waveforms([y])
    batch, lengths = audio.pad_waveforms([y, other])  # y padded with 6 hops of zeros
    layer = audio.MelRMS(max_frames=16)  # more than the clip's 13 frames: all of them are kept
    for name, compute in (("MelRMS", lambda w, n: layer(w, lengths=n)),
                          ("mel_rms_tf_batch", lambda w, n: audio.mel_rms_tf_batch(w, n, max_frames=16))):
        reference = numpy(compute(alone, alone_lengths))[0]
        padded = numpy(compute(batch, lengths))[0]
        assert reference[:, 0].max() == pytest.approx(1.0, abs=1e-6), name  # the loudest real frame is 1
        np.testing.assert_allclose(padded, reference, rtol=1e-5, atol=1e-7, err_msg=f"{name}: padding changed y")


def test_mfcc_top_db_is_taken_over_real_frames():
    from coaudiotext.features import audio

    y = _loud_ending(audio.MFCC_HOP_LENGTH, 12)
    other = np.random.default_rng(1).standard_normal(len(y) + 6 * audio.MFCC_HOP_LENGTH).astype("float32")
    alone, alone_lengths = audio.pad_waveforms([y])
    batch, lengths = audio.pad_waveforms([y, other])
    layer = audio.MFCC(max_frames=20)
    for name, compute in (("MFCC", lambda w, n: layer(w, lengths=n)),
                          ("mfcc_tf_batch", lambda w, n: audio.mfcc_tf_batch(w, n, max_frames=20))):
        reference, reference_mask = (numpy(t)[0] for t in compute(alone, alone_lengths))
        padded, padded_mask = (numpy(t)[0] for t in compute(batch, lengths))
        np.testing.assert_array_equal(padded_mask, reference_mask)
        np.testing.assert_allclose(padded, reference, rtol=1e-5, atol=1e-3, err_msg=f"{name}: padding changed y")


# ================================================================ tiny overfit, one run per family

OVERFIT_CLASSES = 3
OVERFIT_STEPS = 30
OVERFIT_RATE = 1e-2
OVERFIT_CASES = {  # family -> (registry key, small builder kwargs)
    "tutorial (MHA-AT)": ("mha_a_t", dict(audio_shape=(8, 5), text_shape=(6, 4), speech_lstm_units=8,
                                          text_lstm_units=8, attention_units=8, hidden_units=16)),
    "seed 001": ("crossmodal_transformer", dict(mfcc_shape=(8, 4), mfcc_mask_shape=(8,), bert_shape=(6, 8),
                                                bert_mask_shape=(6,), d_model=8, num_heads=2, num_layers=1)),
    "RSA-CFN head": ("rsa", dict(wav2vec2_shape=(12,), roberta_shape=(8,), hidden_units=6, attention_units=5)),
    "seed 003": ("tva_self", dict(glove_shape=(6, 7), video_shape=(5, 9), mfcc120_shape=(8, 4), rnn_units=5,
                                  num_heads=2, video_frames=4, audio_frames=3, modalities=("t", "a"))),
    # The gated mixture of the GE2E and utterance experts and the en tower; the conv-BiLSTM branches would
    # triple the time (they take one training step in tests/test_ser_mmoe.py).
    "seed 004": ("ser_mmoe", dict(branches=())),
}


@pytest.mark.parametrize("family", list(OVERFIT_CASES))
def test_tiny_overfit(family):
    from coaudiotext.train import make_optimizer

    key, kwargs = OVERFIT_CASES[family]
    keras.utils.set_random_seed(0)
    model = MODELS[key].builder(num_classes=OVERFIT_CLASSES, **kwargs)
    x = _inputs_for(model, batch=32)
    y = np.arange(32) % OVERFIT_CLASSES
    loss = keras.losses.SparseCategoricalCrossentropy()
    initial = float(loss(y, model(x, training=False)))
    model.compile(optimizer=make_optimizer(MODELS[key].train, learning_rate=OVERFIT_RATE),
                  loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)  # else fit traces its train step twice (variables on 1st call)
    # OVERFIT_STEPS full-batch steps in one epoch (the same 32 examples, in the same order, each step)
    model.fit({name: np.concatenate([v] * OVERFIT_STEPS) for name, v in x.items()}, np.tile(y, OVERFIT_STEPS),
              batch_size=32, epochs=1, shuffle=False, verbose=0)
    final = float(loss(y, model(x, training=False)))
    assert np.isfinite(final) and final < 0.5 * initial, f"{key}: training loss {initial:.3f} -> {final:.3f}"
