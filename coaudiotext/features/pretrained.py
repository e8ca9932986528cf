"""Frozen pretrained encoders (transformers + PyTorch) as feature extractors, with a disk cache.

`transformers` 5 has no TensorFlow classes, so BERT/RoBERTa/wav2vec2 features are computed
once with PyTorch (`torch.no_grad()`, `eval()`) and stored as numpy arrays; the Keras models
train on those arrays.

- `extract_text_features(texts, model=...)` -> `(features, mask)`: the last hidden layer of a
  BERT-like encoder, per token (`pooling="none"`, seed 001's "BERT last layer") or pooled
  (`"mean"` over all positions including padding, as RSA-CFN; `"masked_mean"`; `"cls"`).
- `extract_audio_features(audio, model=...)` -> `(features, mask)`: wav2vec2's last hidden
  layer per frame (`"none"`) or pooled over time (`"masked_mean"`, the default; `"mean"` over
  all frames of the zero-padded batch without an attention mask, as RSA-CFN does).
- A disk cache: one `.npz` per (model, settings, inputs) and a JSON sidecar recording the
  model path, a hash of its config, a fingerprint of its weight files, the settings, the
  torch/transformers versions and the date. A cached result is used only when the sidecar
  still matches; otherwise it is recomputed.
- Offline stand-ins for the encoders (random-weight tiny BERT and wav2vec2, for tests and demos)
  are in `coaudiotext.testing`; `--make-tiny` below writes one.

Command line:

    python -m coaudiotext.features.pretrained --manifest data/manifest.csv \\
        --model klue/roberta-base --kind text --pooling masked_mean --out features/
    python -m coaudiotext.features.pretrained --make-tiny bert --out /tmp/tiny-bert

Example:

>>> from coaudiotext.testing import make_tiny_bert                         # doctest: +SKIP
>>> path = make_tiny_bert("/tmp/tiny-bert")                               # doctest: +SKIP
>>> features, mask = extract_text_features(["hello world"], model=path, max_len=8)  # doctest: +SKIP
>>> features.shape, mask.shape                                            # doctest: +SKIP
((1, 8, 32), (1, 8))
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import pathlib
import sys

import numpy as np

from coaudiotext._checks import check_choice
from coaudiotext.cache import atomic_write_json, cache_root, cached_arrays, file_stamp, fingerprint

__all__ = [
    "TEXT_POOLING",
    "AUDIO_POOLING",
    "extract_text_features",
    "extract_audio_features",
    "default_cache_dir",
    "main",
]


TEXT_POOLING = ("none", "mean", "masked_mean", "cls")
AUDIO_POOLING = ("none", "mean", "masked_mean")
_TRUNCATION = ("right", "original")
_PADDING = ("max_length", "longest")
_ENGINES = ("torch", "keras")
_CACHE_FORMAT = 2  # 2: entries of coaudiotext.cache.cached_arrays


# ---------------------------------------------------------------------------- helpers


def default_cache_dir():
    """`$COAUDIOTEXT_CACHE/pretrained` (default `~/.cache/coaudiotext/pretrained`; `coaudiotext.cache.cache_root`)."""
    return cache_root("pretrained")


def _versions():
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__}


def _model_identity(model):
    """What identifies an encoder: its path or name, a config hash and a weight-file fingerprint."""
    from transformers import AutoConfig

    model = str(model)
    local = os.path.isdir(model)
    config = AutoConfig.from_pretrained(model)
    config_json = json.dumps(config.to_dict(), sort_keys=True, default=str)
    weights = []
    if local:
        for entry in sorted(pathlib.Path(model).iterdir()):
            if entry.suffix in (".safetensors", ".bin", ".pt", ".h5", ".msgpack") and entry.is_file():
                stat = entry.stat()
                weights.append(f"{entry.name}:{stat.st_size}:{int(stat.st_mtime_ns)}")
    return {
        "model": model,
        "model_path": str(pathlib.Path(model).resolve()) if local else None,
        "config_hash": hashlib.sha256(config_json.encode()).hexdigest()[:16],
        "weights_fingerprint": hashlib.sha256("|".join(weights).encode()).hexdigest()[:16] if weights else None,
    }


def _audio_digest(audio):
    parts = []
    for item in audio:
        if isinstance(item, (str, os.PathLike)):
            parts.append(file_stamp(item))
        else:
            array = np.ascontiguousarray(np.asarray(item, dtype=np.float32))
            parts.append(hashlib.sha256(array.tobytes()).hexdigest())
    return fingerprint(*parts)


def _cached(kind, identity, settings, input_digest, count, compute, cache_dir, use_cache):
    """Runs `compute()` or reads its cached result (`coaudiotext.cache.cached_arrays`).

    The entry is named by the kind, the model, the settings and the inputs; its sidecar also records the
    model's config hash and weight fingerprint and the torch/transformers versions, and any difference
    recomputes it in place.
    """
    if not use_cache:
        return compute()
    made_from = {
        "format": _CACHE_FORMAT,
        "kind": kind,
        **identity,
        "settings": settings,
        "versions": _versions(),
        "input_digest": input_digest,
        "count": count,
    }

    def info(arrays):
        features, mask = arrays
        return {"pooling": settings.get("pooling"), "max_len": settings.get("max_len"),
                "features_shape": list(features.shape), "mask_shape": list(mask.shape)}

    folder = cache_dir if cache_dir is not None else default_cache_dir()
    return cached_arrays(folder, kind, made_from, compute, key_fields=("kind", "model", "settings", "input_digest"),
                         info=info, use_cache=use_cache)


def _device(device):
    import torch

    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _progress(iterable, enabled, total, desc):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional
        return iterable
    return tqdm(iterable, total=total, desc=desc)


# ---------------------------------------------------------------------------- text


def _encode_texts(tokenizer, texts, max_len, truncation, padding, batch_size):
    """Token ids and attention masks `(N, length)`, per the truncation/padding policy."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if truncation == "original":
        if cls_id is None or sep_id is None:
            raise ValueError("truncation='original' needs a tokenizer with [CLS] and [SEP] tokens.")
        pieces = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
        rows = []
        for start in range(0, len(pieces), batch_size):
            batch = pieces[start : start + batch_size]
            # seed-001 collate_fn: the length cap ignores the two special tokens, and longer
            # sequences keep their *last* tokens, so the longest lose [CLS] (and a word piece).
            batch_len = min(max_len, max(len(p) for p in batch))
            for ids in batch:
                sample = [cls_id] + list(ids) + [sep_id]
                if batch_len - len(sample) > 0:
                    sample = sample + [pad_id] * (batch_len - len(sample))
                else:
                    sample = sample[-batch_len:]
                rows.append(sample)
        length = max_len if padding == "max_length" else max(len(r) for r in rows)
        ids = np.full((len(rows), length), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = [int(t != pad_id) for t in row]  # the original's mask: ids != [PAD]
        return ids, mask
    encoded = tokenizer(
        list(texts),
        max_length=max_len,
        truncation=True,
        padding="max_length" if padding == "max_length" else "longest",
        return_attention_mask=True,
    )
    return np.asarray(encoded["input_ids"], dtype=np.int64), np.asarray(encoded["attention_mask"], dtype=np.int64)


def _pool(hidden, mask, pooling):
    """Pools `(N, T, H)` with a `(N, T)` mask; `"none"` returns the sequence with padding kept."""
    if pooling == "none":
        return hidden
    if pooling == "mean":
        return hidden.mean(axis=1)
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask[..., None].astype(np.float32)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


def _text_hidden_keras(model, ids, mask, batch_size, progress, device=None):
    """Last hidden states `(N, L, H)` of `coaudiotext.encoders.bert` for token ids and masks (`device` unused)."""
    from coaudiotext.encoders.bert import from_pretrained

    encoder = from_pretrained(model)
    names = list(encoder.input) if isinstance(encoder.input, dict) else []
    outputs = []
    starts = range(0, len(ids), int(batch_size))
    for start in _progress(starts, progress, len(starts), "text features"):
        batch = {"input_ids": ids[start : start + batch_size].astype(np.int32),
                 "attention_mask": mask[start : start + batch_size].astype(np.int32)}
        if "token_type_ids" in names:
            batch["token_type_ids"] = np.zeros_like(batch["input_ids"])
        hidden = encoder(batch, training=False)["last_hidden_state"]
        outputs.append(np.asarray(hidden, dtype=np.float32))
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, ids.shape[1], 0), np.float32)


def _text_hidden_torch(model, ids, mask, batch_size, progress, device=None):
    """Last hidden states `(N, L, H)` of transformers' PyTorch model (eval mode, no gradients)."""
    import torch
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(model)
    target = _device(device)
    encoder.to(target).eval()
    outputs = []
    starts = range(0, len(ids), int(batch_size))
    with torch.no_grad():
        for start in _progress(starts, progress, len(starts), "text features"):
            batch_ids = torch.as_tensor(ids[start : start + batch_size], device=target)
            batch_mask = torch.as_tensor(mask[start : start + batch_size], device=target)
            hidden = encoder(input_ids=batch_ids, attention_mask=batch_mask).last_hidden_state
            outputs.append(hidden.float().cpu().numpy())
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, ids.shape[1], 0), np.float32)


def extract_text_features(
    texts,
    model,
    max_len=64,
    pooling="none",
    cache_dir=None,
    batch_size=32,
    truncation="right",
    padding="max_length",
    use_cache=True,
    device=None,
    progress=False,
    engine="torch",
):
    """Last-layer features of a frozen BERT-like encoder for each text.

    Args:
        texts: list of str. Transcripts (already normalised as the corpus requires, e.g.
            `coaudiotext.data.pkl_corpus.normalize_text` for seed 001).
        model: str. A local folder (`save_pretrained` layout, tokenizer included) or a hub name.
        max_len: int. Maximum tokens including `[CLS]`/`[SEP]`. Defaults to 64 (seed 001).
        pooling: str. `"none"`: per-token features `(N, L, H)`, padding positions keep the
            encoder's outputs as in the original (use the mask); `"mean"`: mean over all L
            positions, padding included (RSA-CFN's pooling); `"masked_mean"`: mean over real
            tokens; `"cls"`: the first token. Defaults to `"none"`.
        cache_dir: str, path or None. Cache folder; None uses `default_cache_dir()`.
        batch_size: int. Texts per forward pass. Defaults to 32.
        truncation: str. `"right"`: `[CLS] ids [SEP]` truncated at the end (standard);
            `"original"`: seed 001's collate function, which caps each batch at
            `min(max_len, longest text in the batch)` *without* counting the special tokens and
            keeps the last tokens, so the longest texts of each batch lose `[CLS]`. Its result
            depends on `batch_size` and order (the original used random batches of 64), which
            is why it is not the default. Defaults to `"right"`.
        padding: str. `"max_length"`: L = `max_len` (fixed shapes; the registry's `bert`
            input); `"longest"`: L = the longest sequence here. Seed 001 padded each batch to
            its longest text; since BERT masks its padding, the features of a batch padded to
            its own length are the first positions of these (to float rounding), which is how
            `crossmodal_transformer(text_padding="batch")` rebuilds the original's batches from
            `"max_length"` features (it cuts every batch after its longest text).
            Defaults to `"max_length"`.
        use_cache: bool. Read/write the disk cache. Defaults to True.
        device: str or None. Torch device; None picks CUDA when available.
        progress: bool. Show a progress bar. Defaults to False.
        engine: str. `"torch"`: transformers' PyTorch model (the reference). `"keras"`: the same checkpoint
            in `coaudiotext.encoders.bert` (Keras 3, any backend, no torch needed; the tokenizer is still
            transformers'); equal to torch's features to <= 1e-4 (measured ~1e-6 on tiny checkpoints).
            Defaults to `"torch"`.

    Returns:
        `(features, mask)`: float32 `(N, L, H)` (or `(N, H)` when pooled) and the int32 token
        mask `(N, L)` (1 = real token), whatever the pooling.
    """
    check_choice("pooling", pooling, TEXT_POOLING)
    check_choice("engine", engine, _ENGINES)
    check_choice("truncation", truncation, _TRUNCATION)
    check_choice("padding", padding, _PADDING)
    if int(max_len) < 2:
        raise ValueError(f"max_len must be >= 2 ([CLS] and [SEP]). Received: max_len={max_len}")
    texts = [str(t) for t in texts]
    identity = _model_identity(model)
    settings = {"max_len": int(max_len), "pooling": pooling, "truncation": truncation, "padding": padding}
    if truncation == "original":
        settings["batch_size"] = int(batch_size)
    if engine != "torch":
        settings["engine"] = engine  # torch caches keep their keys

    def compute():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model))
        ids, mask = _encode_texts(tokenizer, texts, int(max_len), truncation, padding, int(batch_size))
        run = _text_hidden_keras if engine == "keras" else _text_hidden_torch
        hidden = run(str(model), ids, mask, batch_size, progress, device)
        return _pool(hidden, mask, pooling).astype(np.float32), mask.astype(np.int32)

    return _cached("text", identity, settings, fingerprint(*texts), len(texts), compute, cache_dir, use_cache)


# ---------------------------------------------------------------------------- audio


def _load_audio(item, sr):
    if isinstance(item, (str, os.PathLike)):
        import librosa

        waveform, _ = librosa.load(str(item), sr=sr, mono=True)  # soxr resampling
        return waveform.astype(np.float32)
    waveform = np.asarray(item, dtype=np.float32)
    if waveform.ndim != 1:
        raise ValueError(f"Waveforms must be 1-D arrays at sr={sr}. Received an array of shape {waveform.shape}.")
    return waveform


def _frames(num_samples, config):
    """wav2vec2's conv feature encoder output length (`_get_feat_extract_output_lengths`)."""
    length = int(num_samples)
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        length = (length - kernel) // stride + 1
    return max(length, 0)


def _padded(batch, length=None, mask_dtype=np.int64):
    """Waveforms zero-padded to `length` samples (None: the longest of the batch).

    Returns `(values float32 (b, S), sample mask (b, S) of mask_dtype)`, 1 on real samples; each waveform
    must be at most `length` long. Used by the extraction here (int64 mask, as torch) and by
    `coaudiotext.finetune` (int32 mask, `length=max_samples` for `audio_padding="max_length"`).
    """
    length = max(len(w) for w in batch) if length is None else int(length)
    values = np.zeros((len(batch), length), np.float32)
    sample_mask = np.zeros((len(batch), length), mask_dtype)
    for i, w in enumerate(batch):
        values[i, : len(w)] = w
        sample_mask[i, : len(w)] = 1
    return values, sample_mask


def _store_pooled(features, hidden, start, lengths, pooling):
    """Writes the batch's last hidden states `(b, frames, H)` into `features` from row `start`, pooled."""
    for i in range(len(hidden)):
        n = lengths[start + i]
        if pooling == "mean":
            features[start + i] = hidden[i].mean(axis=0)
        elif pooling == "masked_mean":
            features[start + i] = hidden[i, :n].mean(axis=0) if n else 0.0
        else:
            features[start + i, :n] = hidden[i, :n]


def _audio_features(model, audio, sr, pooling, max_samples, batch_size, device, progress):
    """`extract_audio_features` without the cache: wav2vec2 (PyTorch) over the normalised waveforms."""
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    feature_extractor = AutoFeatureExtractor.from_pretrained(model)
    encoder = AutoModel.from_pretrained(model)
    target = _device(device)
    encoder.to(target).eval()
    config = encoder.config
    waveforms = []
    for item in audio:
        values = feature_extractor(_load_audio(item, sr), sampling_rate=sr, return_tensors="np")["input_values"][0]
        if max_samples is not None:
            values = values[: int(max_samples)]
        waveforms.append(values.astype(np.float32))
    lengths = [_frames(len(w), config) for w in waveforms]
    total_frames = max(lengths) if lengths else 0
    masked = pooling != "mean"
    step = int(batch_size) if (not masked or getattr(feature_extractor, "return_attention_mask", False)) else 1
    shape = (len(audio), total_frames, config.hidden_size) if pooling == "none" else (len(audio), config.hidden_size)
    features = np.zeros(shape, np.float32)
    starts = range(0, len(audio), step)
    with torch.no_grad():
        for start in _progress(starts, progress, len(starts), "audio features"):
            values, sample_mask = _padded(waveforms[start : start + step])
            kwargs = {"input_values": torch.as_tensor(values, device=target)}
            if masked and step > 1:
                kwargs["attention_mask"] = torch.as_tensor(sample_mask, device=target)
            hidden = encoder(**kwargs).last_hidden_state.float().cpu().numpy()  # (b, frames, H)
            _store_pooled(features, hidden, start, lengths, pooling)
    mask = np.zeros((len(audio), total_frames), np.int32)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    return features, mask


def extract_audio_features(
    audio,
    model,
    sr=16000,
    pooling="masked_mean",
    max_samples=None,
    batch_size=8,
    cache_dir=None,
    use_cache=True,
    device=None,
    progress=False,
):
    """Last-layer wav2vec2 features of each waveform (frozen encoder).

    Each waveform is normalised on its own by the model's feature extractor (zero mean, unit
    variance, when its config says `do_normalize`), then truncated to `max_samples` and
    zero-padded to the longest in its batch, as RSA-CFN's collator does.

    Args:
        audio: list of paths (decoded and resampled to `sr` with librosa/soxr) or of 1-D float
            arrays already at `sr`.
        model: str. A local folder (model + `preprocessor_config.json`) or a hub name.
        sr: int. Sample rate of the model. Defaults to 16000.
        pooling: str. `"masked_mean"`: mean over the frames of the real samples, the model
            given an attention mask (models whose feature extractor has
            `return_attention_mask=False`, e.g. wav2vec2-base, are run one utterance at a time
            instead, so padding never enters); `"mean"`: RSA-CFN's pooling, the mean over all
            frames of the zero-padded batch with no attention mask (its result depends on
            `batch_size`); `"none"`: per-frame features `(N, T, H)`, zero beyond each
            utterance's frames, computed as for `"masked_mean"`. Defaults to `"masked_mean"`.
        max_samples: int or None. Truncate longer waveforms (RSA-CFN: 96000 = 6 s).
            Defaults to None (no truncation).
        batch_size: int. Waveforms per forward pass. Defaults to 8.
        cache_dir: str, path or None. Cache folder; None uses `default_cache_dir()`.
        use_cache: bool. Read/write the disk cache. Defaults to True.
        device: str or None. Torch device; None picks CUDA when available.
        progress: bool. Show a progress bar. Defaults to False.

    Returns:
        `(features, mask)`: float32 `(N, H)` pooled (or `(N, T, H)` for `"none"`) and the int32
        frame mask `(N, T)` (1 = frame of real samples), T the longest utterance's frames.
    """
    check_choice("pooling", pooling, AUDIO_POOLING)
    audio = list(audio)
    identity = _model_identity(model)
    settings = {
        "sr": int(sr),
        "pooling": pooling,
        "max_samples": None if max_samples is None else int(max_samples),
        "batch_size": int(batch_size) if pooling == "mean" else None,
    }

    def compute():
        return _audio_features(str(model), audio, sr, pooling, max_samples, batch_size, device, progress)

    return _cached("audio", identity, settings, _audio_digest(audio), len(audio), compute, cache_dir, use_cache)


# ---------------------------------------------------------------------------- command line


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.features.pretrained",
        description="Extract frozen transformers features for the rows of a manifest (cached), "
        "or write a random-weight tiny model for offline tests.",
    )
    parser.add_argument("--manifest", help="manifest CSV (audio_path,text,label,speaker,split)")
    parser.add_argument("--model", help="local folder or hub name of the encoder")
    parser.add_argument("--kind", choices=("text", "audio"), default="text")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--pooling", default=None, help=f"text: {TEXT_POOLING}; audio: {AUDIO_POOLING}")
    parser.add_argument("--max-len", type=int, default=64, help="text: max tokens incl. [CLS]/[SEP]")
    parser.add_argument("--truncation", choices=_TRUNCATION, default="right")
    parser.add_argument("--padding", choices=_PADDING, default="max_length")
    parser.add_argument("--text-column", default="text", help="text or asr_text")
    parser.add_argument("--sr", type=int, default=16000, help="audio: model sample rate")
    parser.add_argument("--max-samples", type=int, default=None, help="audio: truncate waveforms")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--device", default=None)
    parser.add_argument("--make-tiny", choices=("bert", "wav2vec2"), default=None,
                        help="write a random-weight tiny model to --out and exit")
    return parser


def _write_tiny(args):
    """`--make-tiny`: a random-weight stand-in (`coaudiotext.testing`) in `--out`."""
    from coaudiotext.testing import make_tiny_bert, make_tiny_wav2vec2

    texts = None
    if args.manifest:
        from coaudiotext.data.manifest import read_manifest

        texts = read_manifest(args.manifest, check_files=False).texts
    path = make_tiny_bert(args.out, texts=texts) if args.make_tiny == "bert" else make_tiny_wav2vec2(args.out)
    print(f"Wrote a random-weight tiny {args.make_tiny} to {path}")


def _extract_manifest(args):
    """The features, mask and pooling of the manifest's rows, as the arguments ask."""
    from coaudiotext.data.manifest import read_manifest

    manifest = read_manifest(args.manifest, check_files=args.kind == "audio", text_column=args.text_column)
    common = dict(cache_dir=args.cache_dir, use_cache=not args.no_cache, device=args.device, progress=True)
    if args.kind == "text":
        pooling = args.pooling or "none"
        features, mask = extract_text_features(
            manifest.texts, model=args.model, max_len=args.max_len, pooling=pooling,
            batch_size=args.batch_size or 32, truncation=args.truncation, padding=args.padding, **common,
        )
    else:
        pooling = args.pooling or "masked_mean"
        features, mask = extract_audio_features(
            manifest.audio_paths, model=args.model, sr=args.sr, pooling=pooling,
            max_samples=args.max_samples, batch_size=args.batch_size or 8, **common,
        )
    return features, mask, pooling


def _write_features(args, features, mask, pooling):
    """`KIND_features.npy`, `KIND_mask.npy` and the `KIND_features.json` record in `--out`."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / f"{args.kind}_features.npy", features)
    np.save(out / f"{args.kind}_mask.npy", mask)
    meta = {
        "manifest": str(pathlib.Path(args.manifest).resolve()),
        "kind": args.kind,
        "text_column": args.text_column if args.kind == "text" else None,
        **_model_identity(args.model),
        "pooling": pooling,
        "max_len": args.max_len if args.kind == "text" else None,
        "features_shape": list(features.shape),
        "mask_shape": list(mask.shape),
        "versions": _versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_json(out / f"{args.kind}_features.json", meta, ensure_ascii=False)
    print(f"Wrote {args.kind} features {features.shape} and mask {mask.shape} to {out}")


def main(argv=None):
    """`python -m coaudiotext.features.pretrained`: extract features of a manifest, or write a tiny model."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.make_tiny:
        _write_tiny(args)
        return 0
    if not args.manifest or not args.model:
        parser.error("--manifest and --model are required (or use --make-tiny)")
    features, mask, pooling = _extract_manifest(args)
    _write_features(args, features, mask, pooling)
    return 0


if __name__ == "__main__":
    sys.exit(main())
