"""Seed-001 Transformers: exact counts, fairseq positions, masks, PyTorch parity, per-batch padding, save/reload."""

import math
import pathlib

import numpy as np
import pytest

from coaudiotext.layers.transformer import (
    CrossmodalTransformer,
    SequencePooling,
    SinusoidalPositionalEmbedding,
    TransformerEncoderBlock,
    TrimToLongest,
    ValidConvMask,
    sinusoidal_table,
)
from coaudiotext.models import MODELS, build_model
from coaudiotext.models.crossmodal_transformer import (
    audio_transformer,
    crossmodal_transformer,
    text_bert,
    text_padding_of,
)

SMALL = dict(
    mfcc_shape=(20, 8),
    mfcc_mask_shape=(20,),
    bert_shape=(10, 12),
    bert_mask_shape=(10,),
    d_model=16,
    num_heads=4,
    num_layers=2,
)


def _small_inputs(batch=3, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "mfcc": rng.normal(size=(batch, 20, 8)).astype("float32"),
        "mfcc_mask": np.ones((batch, 20), "float32"),
        "bert": rng.normal(size=(batch, 10, 12)).astype("float32"),
        "bert_mask": np.ones((batch, 10), "float32"),
    }
    x["mfcc"][0, 14:] = 0.0  # right padding, as the MFCC featuriser leaves it
    x["mfcc_mask"][0, 14:] = 0.0
    x["bert_mask"][1, 6:] = 0.0  # padded tokens keep (non-zero) BERT outputs, as in the original
    return x


# ---------------------------------------------------------------- exact parameter counts


def test_exact_parameter_counts():
    assert build_model("audio_transformer").count_params() == 82447
    assert build_model("crossmodal_transformer").count_params() == 988807
    assert build_model("text_bert").count_params() == 595975
    # the fixes change no weights
    assert crossmodal_transformer(key_mask=True, causal=False, merge_how="masked_mean").count_params() == 988807
    assert crossmodal_transformer(text_padding="fixed").count_params() == 988807
    assert audio_transformer(key_mask=True, merge_how="masked_mean").count_params() == 82447


def test_registry_entries():
    for key in ("audio_transformer", "crossmodal_transformer", "text_bert"):
        assert key in MODELS
    spec = MODELS["crossmodal_transformer"]
    assert spec.inputs == ("mfcc", "mfcc_mask", "bert", "bert_mask")
    assert (spec.train.learning_rate, spec.train.batch_size, spec.train.epochs, spec.train.clipnorm) == (
        1e-5,
        64,
        10,
        0.8,
    )
    model = build_model("crossmodal_transformer")
    assert sorted(t.name for t in model.inputs) == sorted(spec.inputs)


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="merge_how"):
        audio_transformer(merge_how="max")
    with pytest.raises(ValueError, match="num_heads"):
        audio_transformer(num_heads=7)  # 7 does not divide 40
    with pytest.raises(ValueError, match="pooling"):
        text_bert(pooling="max")
    with pytest.raises(ValueError, match="text_padding"):
        crossmodal_transformer(text_padding="longest")


# ---------------------------------------------------------------- layers


def _fairseq_positions_numpy(tokens, dim, padding_idx=0):
    """fairseq make_positions + SinusoidalPositionalEmbedding, in float64 numpy."""
    keep = (tokens != padding_idx).astype(np.int64)
    positions = np.cumsum(keep, axis=1) * keep + padding_idx
    half = dim // 2
    freq = np.exp(np.arange(half) * -(math.log(10000) / (half - 1)))
    table = np.arange(positions.max() + 1)[:, None] * freq[None, :]
    table = np.concatenate([np.sin(table), np.cos(table)], axis=1)
    if dim % 2:
        table = np.concatenate([table, np.zeros((len(table), 1))], axis=1)
    table[padding_idx] = 0
    return table[positions]


@pytest.mark.parametrize("dim", [40, 64, 7])
def test_positions_match_fairseq(dim):
    rng = np.random.default_rng(1)
    tokens = rng.normal(size=(2, 400)).astype("float32")
    tokens[0, 300:] = 0.0  # right padding
    tokens[1, [0, 5, 6]] = 0.0  # interior zeros do not advance the count
    got = np.asarray(SinusoidalPositionalEmbedding(dim)(tokens))
    want = _fairseq_positions_numpy(tokens, dim)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.all(got[0, 300:] == 0) and np.all(got[1, [0, 5, 6]] == 0)
    # element 7 of row 1 is the 5th non-padding element -> position 5
    np.testing.assert_allclose(got[1, 7], sinusoidal_table(6, dim)[5], atol=1e-5)


def test_sinusoidal_table_layout():
    table = sinusoidal_table(3, 8)
    np.testing.assert_array_equal(table[0], 0)
    np.testing.assert_allclose(table[1, :4], np.sin(np.exp(np.arange(4) * -math.log(10000) / 3)), rtol=1e-6)
    np.testing.assert_allclose(table[1, 4:], np.cos(np.exp(np.arange(4) * -math.log(10000) / 3)), rtol=1e-6)
    with pytest.raises(ValueError, match="embedding_dim"):
        sinusoidal_table(3, 2)


def test_causal_cross_attention_pattern():
    """Query i sees keys 0..i (triu(diagonal=1) masked), for Tq < Tk and Tq > Tk."""
    for tq, tk in ((3, 6), (6, 3)):
        block = TransformerEncoderBlock(8, 2, attn_dropout=0.0, res_dropout=0.0, relu_dropout=0.0)
        rng = np.random.default_rng(2)
        query = rng.normal(size=(1, tq, 8)).astype("float32")
        key = rng.normal(size=(1, tk, 8)).astype("float32")
        block(query, key)
        _, scores = block.attention(query, key, key, use_causal_mask=True, return_attention_scores=True)
        allowed = np.asarray(scores)[0, 0] > 0  # (tq, tk)
        want = np.tril(np.ones((tq, tk), bool))
        np.testing.assert_array_equal(allowed, want)
        # and the block output for query i does not depend on keys after i
        out = np.asarray(block(query, key))
        changed = key.copy()
        changed[0, -1] = rng.normal(size=8) * 3.0  # (a constant shift would vanish in the LayerNorm)
        out2 = np.asarray(block(query, changed))
        np.testing.assert_allclose(out[0, : tk - 1], out2[0, : tk - 1], atol=1e-6)
        if tq >= tk:  # queries tk-1.. see the changed key
            assert not np.allclose(out[0, tk - 1 :], out2[0, tk - 1 :], atol=1e-4)


def test_valid_conv_mask_and_pooling():
    mask = np.array([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]], "float32")
    shrunk = np.asarray(ValidConvMask(3)(mask))
    np.testing.assert_array_equal(shrunk, [[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    x = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2)
    seq_mask = np.array([[1, 1, 0], [1, 0, 0]], "float32")
    np.testing.assert_allclose(SequencePooling("mean")(x), x.mean(1))
    np.testing.assert_allclose(SequencePooling("last")(x), x[:, -1])
    np.testing.assert_allclose(SequencePooling("first")(x), x[:, 0])
    np.testing.assert_allclose(SequencePooling("masked_mean")(x, seq_mask), [x[0, :2].mean(0), x[1, 0]])


def test_key_mask_hides_padded_keys():
    stack = CrossmodalTransformer(8, num_heads=2, num_layers=1, embed_dropout=0, attn_dropout=0, causal=False)
    rng = np.random.default_rng(3)
    query = rng.normal(size=(1, 4, 8)).astype("float32")
    key = rng.normal(size=(1, 6, 8)).astype("float32")
    key_mask = np.array([[1, 1, 1, 1, 0, 0]], "float32")
    out = np.asarray(stack(query, key, key_mask=key_mask))
    changed = key.copy()
    changed[0, 4:] = rng.normal(size=(2, 8))
    np.testing.assert_allclose(out, np.asarray(stack(query, changed, key_mask=key_mask)), atol=1e-5)
    assert not np.allclose(out, np.asarray(stack(query, changed)), atol=1e-3)  # unmasked: they matter


# ---------------------------------------------------------------- parity with the PyTorch original


def _torch_reference(keras_model, d, heads, layers_per_stack, audio_only=False):
    """The PyTorch re-implementation of `MULTModel` (`coaudiotext.reference.transformer`), weights from Keras."""
    pytest.importorskip("torch")
    from coaudiotext.reference.transformer import keras_forward

    return keras_forward(keras_model, d, heads, layers_per_stack, audio_only=audio_only)


def test_crossmodal_matches_pytorch_reference():
    model = crossmodal_transformer(**SMALL)
    x = _small_inputs()
    reference = _torch_reference(model, d=16, heads=4, layers_per_stack=2)
    want = reference(x["mfcc"], x["bert"])
    got = np.asarray(model(x, training=False))
    np.testing.assert_allclose(got, want, atol=1e-5)  # measured: 2.4e-7


def test_audio_transformer_matches_pytorch_reference():
    model = audio_transformer(mfcc_shape=(20, 8), mfcc_mask_shape=(20,), num_heads=2, num_layers=2)
    x = _small_inputs()
    want = _torch_reference(model, d=8, heads=2, layers_per_stack=2, audio_only=True)(x["mfcc"])
    got = np.asarray(model({"mfcc": x["mfcc"], "mfcc_mask": x["mfcc_mask"]}, training=False))
    np.testing.assert_allclose(got, want, atol=1e-5)


# ---------------------------------------------------------------- per-batch text padding (issue #16)


def test_trim_to_longest_layer():
    mask = np.array([[1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0]], "float32")
    x = np.arange(2 * 8 * 3, dtype="float32").reshape(2, 8, 3)
    trimmed, trimmed_mask = TrimToLongest()(x, mask)
    np.testing.assert_array_equal(trimmed, x[:, :5])  # the batch's longest: 5 real steps
    np.testing.assert_array_equal(trimmed_mask, mask[:, :5])
    short = np.array([[1, 0, 0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0, 0, 0]], "float32")
    assert TrimToLongest()(x, short)[0].shape == (2, 3, 3)  # the last real step counts, interior zeros too
    assert TrimToLongest(min_steps=4)(x, short)[0].shape == (2, 4, 3)  # a following Conv1D(k) needs k steps
    assert TrimToLongest(min_steps=20)(x, short)[0].shape == (2, 8, 3)  # never longer than the padding
    assert not TrimToLongest().supports_jit
    with pytest.raises(ValueError, match="min_steps"):
        TrimToLongest(min_steps=0)


def _short_batch(seed=4, padded=12, lengths=(5, 7, 4)):
    """A batch whose texts all end before the stored padding: features padded to `padded`, the longest 7 tokens.

    Padding positions keep non-zero features, as BERT's outputs at [PAD] tokens are non-zero.
    """
    rng = np.random.default_rng(seed)
    batch = len(lengths)
    x = {
        "mfcc": rng.normal(size=(batch, 20, 8)).astype("float32"),
        "mfcc_mask": np.ones((batch, 20), "float32"),
        "bert": rng.normal(size=(batch, padded, 12)).astype("float32"),
        "bert_mask": (np.arange(padded)[None, :] < np.array(lengths)[:, None]).astype("float32"),
    }
    x["mfcc"][1, 15:] = 0.0
    x["mfcc_mask"][1, 15:] = 0.0
    return x, max(lengths)


def _pair(**flags):
    """The same weights, padded per batch and to the fixed length."""
    small = dict(SMALL, bert_shape=(12, 12), bert_mask_shape=(12,), num_layers=1, **flags)
    batch = crossmodal_transformer(**small)
    fixed = crossmodal_transformer(**small, text_padding="fixed")
    fixed.set_weights(batch.get_weights())
    return batch, fixed


def test_batch_padding_matches_the_original_collate():
    """The original pads each batch to its longest text: port (fed the stored 12-padded features) == PyTorch
    reference fed the batch at its own length; fixed padding matches the reference only at the fixed length."""
    x, longest = _short_batch()
    batch, fixed = _pair()
    assert (text_padding_of(batch), text_padding_of(fixed)) == ("batch", "fixed")
    reference = _torch_reference(batch, d=16, heads=4, layers_per_stack=1)
    want = reference(x["mfcc"], x["bert"][:, :longest])  # the original's batch: (3, 7, 12)
    got = np.asarray(batch(x, training=False))
    np.testing.assert_allclose(got, want, atol=1e-5)  # measured: 1.0e-7
    got_fixed = np.asarray(fixed(x, training=False))
    np.testing.assert_allclose(got_fixed, reference(x["mfcc"], x["bert"]), atol=1e-5)  # the same model at 12
    assert np.abs(got_fixed - want).max() > 1e-3  # ...so the padding length changes the output (measured: 0.21)


def test_fixes_make_the_padding_irrelevant():
    """With the key mask and the masked mean (the opt-in fixes), per-batch and fixed padding agree."""
    x, _ = _short_batch()
    batch, fixed = _pair(key_mask=True, merge_how="masked_mean")
    np.testing.assert_allclose(np.asarray(batch(x, training=False)), np.asarray(fixed(x, training=False)), atol=1e-5)


def test_variable_token_length():
    """Built with `bert_shape=(None, hidden)` the models take any token length; 12-padded input is cut to 7."""
    x, longest = _short_batch()
    small = dict(SMALL, bert_shape=(None, 12), bert_mask_shape=(None,), num_layers=1)
    model = crossmodal_transformer(**small)
    cut = dict(x, bert=x["bert"][:, :longest], bert_mask=x["bert_mask"][:, :longest])
    eager = np.asarray(model(x, training=False))
    np.testing.assert_allclose(eager, np.asarray(model(cut, training=False)), atol=1e-6)
    np.testing.assert_allclose(model.predict(x, batch_size=3, verbose=0), eager, atol=1e-5)  # compiled, as in fit
    fixed = crossmodal_transformer(**small, text_padding="fixed")
    assert fixed(cut, training=False).shape == (3, 7)
    head = text_bert(bert_shape=(None, 12), bert_mask_shape=(None,))
    assert head({"bert": cut["bert"], "bert_mask": cut["bert_mask"]}, training=False).shape == (3, 7)


def test_batch_padding_end_to_end_with_bert_features(tmp_path):
    """Tiny random BERT: features stored at max_len 64 and cut by the model == the original's collate (pad the batch
    to min(64, longest piece count), the longest losing [CLS], BERT over that batch) fed to the reference."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoModel, AutoTokenizer

    from coaudiotext.features.pretrained import extract_text_features
    from coaudiotext.testing import make_tiny_bert

    texts = ["ab", "abc de", "abcdefgh", "a b c d"]
    folder = make_tiny_bert(tmp_path / "bert", texts=texts, hidden_size=16, intermediate_size=24)
    stored, stored_mask = extract_text_features(texts, model=folder, max_len=64, truncation="original",
                                                batch_size=len(texts), use_cache=False)
    assert stored.shape == (4, 64, 16)

    # the original's AudioTextBatchFunction, written out
    tokenizer = AutoTokenizer.from_pretrained(folder)
    pieces = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    length = min(64, max(len(p) for p in pieces))
    rows = []
    for ids in pieces:
        row = [tokenizer.cls_token_id] + ids + [tokenizer.sep_token_id]
        rows.append(row + [tokenizer.pad_token_id] * (length - len(row)) if len(row) < length else row[-length:])
    ids = torch.tensor(rows)
    with torch.no_grad():
        original = AutoModel.from_pretrained(folder).eval()(
            input_ids=ids, attention_mask=(ids != tokenizer.pad_token_id).long()).last_hidden_state.numpy()
    assert original.shape == (4, length, 16)
    # BERT masks its padding: the batch at its own length is the first positions of the stored features
    np.testing.assert_allclose(stored[:, :length], original, atol=1e-5)
    assert stored_mask[:, length:].sum() == 0 and stored_mask[:, length - 1].max() == 1

    rng = np.random.default_rng(5)
    mfcc = rng.normal(size=(4, 20, 8)).astype("float32")
    x = {"mfcc": mfcc, "mfcc_mask": np.ones((4, 20), "float32"), "bert": stored, "bert_mask": stored_mask}
    small = dict(SMALL, bert_shape=(64, 16), bert_mask_shape=(64,), num_layers=1)
    model = crossmodal_transformer(**small)
    want = _torch_reference(model, d=16, heads=4, layers_per_stack=1)(mfcc, original)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), want, atol=1e-5)
    fixed = crossmodal_transformer(**small, text_padding="fixed")
    fixed.set_weights(model.get_weights())
    assert np.abs(np.asarray(fixed(x, training=False)) - want).max() > 1e-3


def test_shipped_weights_say_fixed_padding():
    """The shipped cross-modal file was trained on text padded to 64: it holds no trimming layer and a fixed
    (64, hidden) input, so `evaluate` repeats what training did and its results.json rows stay valid.
    (`text_bert` pools `[CLS]`, which padding does not change.)"""
    import keras

    import coaudiotext

    path = pathlib.Path(__file__).resolve().parents[1] / "weights" / "crossmodal_transformer.keras"
    assert path.exists(), "weights/crossmodal_transformer.keras is part of the repository"
    model = coaudiotext.load_model(path, compile=False)
    assert text_padding_of(model) == "fixed"
    assert tuple(model.get_layer("bert").output.shape[1:2]) == (64,)
    # new files: the layer is registered by the modules `coaudiotext.load_model` imports (not only by models/)
    assert keras.saving.get_registered_object("coaudiotext>TrimToLongest") is TrimToLongest
    assert TrimToLongest.__module__.startswith(coaudiotext._REGISTERING_MODULES[0])


# ---------------------------------------------------------------- shapes, training, saving


@pytest.mark.parametrize("merge_how", ["average", "last", "masked_mean"])
def test_output_shapes_per_merge_mode(merge_how):
    x = _small_inputs()
    model = crossmodal_transformer(**SMALL, merge_how=merge_how, key_mask=merge_how == "masked_mean")
    probabilities = np.asarray(model(x, training=False))
    assert probabilities.shape == (3, 7)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    audio = audio_transformer(mfcc_shape=(20, 8), mfcc_mask_shape=(20,), num_heads=2, num_layers=1, merge_how=merge_how)
    assert np.asarray(audio({"mfcc": x["mfcc"], "mfcc_mask": x["mfcc_mask"]}, training=False)).shape == (3, 7)


def test_faithful_model_ignores_masks_and_fix_uses_them():
    """Beyond the batch's longest text (here: full rows 0 and 2), the faithful model reads no mask."""
    x = _small_inputs()
    other = dict(x, mfcc_mask=np.zeros_like(x["mfcc_mask"]) + 1, bert_mask=np.ones_like(x["bert_mask"]))
    faithful = crossmodal_transformer(**SMALL)
    np.testing.assert_array_equal(faithful(x, training=False), faithful(other, training=False))
    fixed = crossmodal_transformer(**SMALL, key_mask=True, merge_how="masked_mean")
    assert not np.allclose(fixed(x, training=False)[:2], fixed(other, training=False)[:2])


@pytest.mark.parametrize("key", ["crossmodal_transformer", "audio_transformer", "text_bert"])
def test_model_contract(key, tmp_path):
    """Shapes, get_config round trip, one training step, `.keras` reload (fresh process for the cross model)."""
    from model_contract import run_model_contract  # tests/model_contract.py

    x = _small_inputs(batch=4)
    if key == "crossmodal_transformer":
        small = dict(SMALL, num_layers=1)
        model = crossmodal_transformer(**small, key_mask=True, causal=False, merge_how="masked_mean")
    elif key == "audio_transformer":
        model = audio_transformer(mfcc_shape=(20, 8), mfcc_mask_shape=(20,), num_heads=2, num_layers=1)
        x = {"mfcc": x["mfcc"], "mfcc_mask": x["mfcc_mask"]}
    else:
        model = text_bert(bert_shape=(10, 12), bert_mask_shape=(10,), pooling="masked_mean")
        x = {"bert": x["bert"], "bert_mask": x["bert_mask"]}
    run_model_contract(model, x, tmp_path, fresh_process=key == "crossmodal_transformer")
