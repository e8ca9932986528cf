"""Frozen transformers feature extraction with tiny random-weight models (never a hub download)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from coaudiotext.features import pretrained  # noqa: E402
from coaudiotext.testing import make_tiny_bert, make_tiny_wav2vec2  # noqa: E402

TEXTS = ["오늘 입고 나가야지.", "hello world", "정말 무서워!", "a b c d e f g h i j k l m n o p"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), texts=TEXTS)


@pytest.fixture(scope="module")
def tiny_wav2vec2(tmp_path_factory):
    return make_tiny_wav2vec2(tmp_path_factory.mktemp("tiny-w2v"))


def _reference_hidden(model_dir, texts, max_len):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    encoded = tokenizer(texts, max_length=max_len, truncation=True, padding="max_length", return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state.numpy()
    return hidden, encoded["attention_mask"].numpy(), encoded["input_ids"].numpy(), tokenizer


def test_tiny_bert_tokenizes_characters_not_unk(tiny_bert):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    tokens = tokenizer.tokenize(TEXTS[0])
    assert "[UNK]" not in tokens and tokens[:2] == ["오", "##늘"]


def test_text_features_all_poolings(tiny_bert, tmp_path):
    hidden, mask, ids, tokenizer = _reference_hidden(tiny_bert, TEXTS, 12)
    features, got_mask = pretrained.extract_text_features(TEXTS, model=tiny_bert, max_len=12, cache_dir=tmp_path)
    assert features.shape == (4, 12, 32) and features.dtype == np.float32
    np.testing.assert_array_equal(got_mask, mask)
    np.testing.assert_allclose(features, hidden, atol=1e-5)
    assert ids[3, 0] == tokenizer.cls_token_id and ids[3, -1] == tokenizer.sep_token_id  # right truncation
    pooled = {p: pretrained.extract_text_features(TEXTS, model=tiny_bert, max_len=12, pooling=p, use_cache=False)[0]
              for p in ("mean", "masked_mean", "cls")}
    np.testing.assert_allclose(pooled["mean"], hidden.mean(1), atol=1e-5)
    np.testing.assert_allclose(pooled["cls"], hidden[:, 0], atol=1e-5)
    want = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(pooled["masked_mean"], want, atol=1e-5)


def test_original_truncation_drops_cls_of_the_longest(tiny_bert):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    ids, mask = pretrained._encode_texts(tokenizer, ["ab", "abcd"], max_len=64, truncation="original",
                                         padding="longest", batch_size=2)
    # batch length = min(64, longest piece count 4): "abcd" -> [CLS] a b c d [SEP] keeps its last 4
    assert ids.shape == (2, 4)
    assert tokenizer.convert_ids_to_tokens(ids[1].tolist()) == ["##b", "##c", "##d", "[SEP]"]
    assert tokenizer.convert_ids_to_tokens(ids[0].tolist()) == ["[CLS]", "a", "##b", "[SEP]"]
    np.testing.assert_array_equal(mask, [[1, 1, 1, 1], [1, 1, 1, 1]])


def test_cache_round_trip_and_stale_sidecar(tiny_bert, tmp_path, monkeypatch):
    first, first_mask = pretrained.extract_text_features(TEXTS, model=tiny_bert, max_len=10, cache_dir=tmp_path)
    sidecars = list(tmp_path.glob("text-*.json"))
    assert len(sidecars) == 1 and len(list(tmp_path.glob("text-*.npz"))) == 1
    meta = json.loads(sidecars[0].read_text())
    for key in ("model", "model_path", "config_hash", "settings", "versions", "pooling", "max_len", "date"):
        assert key in meta
    assert meta["max_len"] == 10 and meta["pooling"] == "none" and "torch" in meta["versions"]

    # second call: served from the cache, the encoder is never loaded
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("the encoder was loaded although the cache is valid")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", refuse)
    second, second_mask = pretrained.extract_text_features(TEXTS, model=tiny_bert, max_len=10, cache_dir=tmp_path)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first_mask, second_mask)

    # a sidecar that no longer matches (e.g. another transformers version) -> recomputed
    meta["versions"]["transformers"] = "0.0.0"
    sidecars[0].write_text(json.dumps(meta))
    with pytest.raises(AssertionError, match="encoder was loaded"):
        pretrained.extract_text_features(TEXTS, model=tiny_bert, max_len=10, cache_dir=tmp_path)
    monkeypatch.undo()
    third, _ = pretrained.extract_text_features(TEXTS, model=tiny_bert, max_len=10, cache_dir=tmp_path)
    np.testing.assert_allclose(third, first, atol=1e-6)
    assert json.loads(sidecars[0].read_text())["versions"]["transformers"] == transformers.__version__


def test_audio_features_masked_mean_and_sequence(tiny_wav2vec2, tmp_path):
    from transformers import AutoModel

    rng = np.random.default_rng(0)
    waves = [rng.normal(size=n).astype(np.float32) * 0.1 for n in (3200, 6400, 4800)]
    pooled, mask = pretrained.extract_audio_features(waves, model=tiny_wav2vec2, batch_size=3, cache_dir=tmp_path)
    sequence, seq_mask = pretrained.extract_audio_features(waves, model=tiny_wav2vec2, pooling="none", use_cache=False)
    assert pooled.shape == (3, 32) and sequence.shape == (3, 20, 32)  # 320 samples per frame
    np.testing.assert_array_equal(mask.sum(1), [10, 20, 15])
    np.testing.assert_array_equal(seq_mask, mask)
    # each utterance alone (no padding at all) gives the same pooled vector
    model = AutoModel.from_pretrained(tiny_wav2vec2).eval()
    for i, wave in enumerate(waves):
        normalised = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
        with torch.no_grad():
            alone = model(torch.tensor(normalised[None])).last_hidden_state[0].numpy()
        np.testing.assert_allclose(pooled[i], alone.mean(0), atol=1e-4)
        np.testing.assert_allclose(sequence[i, : len(alone)], alone, atol=1e-4)
        assert np.all(sequence[i, len(alone):] == 0)
    # the original's unmasked mean over the zero-padded batch differs for the short ones
    legacy, _ = pretrained.extract_audio_features(waves, model=tiny_wav2vec2, pooling="mean", batch_size=3,
                                                  use_cache=False)
    assert not np.allclose(legacy[0], pooled[0], atol=1e-4)


def test_audio_without_attention_mask_support_runs_one_by_one(tmp_path):
    from transformers import AutoModel

    model_dir = make_tiny_wav2vec2(tmp_path / "base-like", return_attention_mask=False)
    rng = np.random.default_rng(1)
    waves = [rng.normal(size=n).astype(np.float32) for n in (1600, 4800)]
    pooled, _ = pretrained.extract_audio_features(waves, model=model_dir, batch_size=2, use_cache=False)
    model = AutoModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        short = model(torch.tensor(((waves[0] - waves[0].mean()) / np.sqrt(waves[0].var() + 1e-7))[None]))
    np.testing.assert_allclose(pooled[0], short.last_hidden_state[0].numpy().mean(0), atol=1e-4)


def test_audio_from_paths_and_cli(tiny_bert, tmp_path):
    soundfile = pytest.importorskip("soundfile")
    from coaudiotext.data.manifest import write_manifest

    rows = []
    for i, text in enumerate(TEXTS[:2]):
        path = tmp_path / f"u{i}.wav"
        soundfile.write(path, np.sin(np.arange(8000) * 0.05 * (i + 1)).astype(np.float32) * 0.3, 8000)
        rows.append({"audio_path": str(path), "text": text, "label": "중립", "speaker": "s1", "split": "train"})
    manifest = write_manifest(rows, tmp_path / "manifest.csv")
    out = tmp_path / "features"
    assert pretrained.main(["--manifest", str(manifest), "--model", tiny_bert, "--kind", "text", "--max-len", "16",
                            "--out", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert np.load(out / "text_features.npy").shape == (2, 16, 32)
    assert json.loads((out / "text_features.json").read_text())["max_len"] == 16
    w2v = pretrained.main(["--make-tiny", "wav2vec2", "--out", str(tmp_path / "w2v")])
    assert w2v == 0
    # paths are decoded and resampled (8 kHz file -> 16 kHz: 16000 samples -> 50 frames)
    features, mask = pretrained.extract_audio_features([rows[0]["audio_path"]], model=str(tmp_path / "w2v"),
                                                       pooling="none", use_cache=False)
    assert features.shape == (1, 50, 32) and mask.sum() == 50


def test_bad_arguments_are_named(tiny_bert):
    with pytest.raises(ValueError, match="pooling"):
        pretrained.extract_text_features(["x"], model=tiny_bert, pooling="max")
    with pytest.raises(ValueError, match="truncation"):
        pretrained.extract_text_features(["x"], model=tiny_bert, truncation="left")
    with pytest.raises(ValueError, match="pooling"):
        pretrained.extract_audio_features([np.zeros(400)], model=tiny_bert, pooling="cls")
