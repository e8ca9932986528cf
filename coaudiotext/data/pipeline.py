"""The data pipeline: manifest -> exactly the inputs a model declares -> batched tf.data.

A model's `ModelSpec.inputs` names its inputs (`audio`, `text`, `mfcc`, ...). Each
name is a *feature kind* below, with the settings it needs (`input_config`). The
settings are stored with every trained model, so `evaluate` and `predict`
rebuild the very same features for new data.

Features are computed once per (manifest rows, settings) and cached on disk
(`coaudiotext.cache.cached_arrays`: `.npz` + a JSON sidecar) under the cache folder
(`$COAUDIOTEXT_CACHE`, default `~/.cache/coaudiotext/features`); audio features are computed by the tf.data
pipeline of `coaudiotext.features` (decode + soxr resampling in a `py_function`,
STFT/mel/MFCC with `tf.signal`, parallel `map`, AUTOTUNE).

Example:

>>> config = input_config("bilstm", manifest)                 # doctest: +SKIP
>>> features = build_features(config, manifest)                # doctest: +SKIP
>>> features["audio"].shape                                    # doctest: +SKIP
(N, 200, 129)
>>> dataset = make_dataset(features, labels, batch_size=16, shuffle=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json

import numpy as np

from coaudiotext.cache import cache_root, cached_arrays, file_stamp, fingerprint

__all__ = [
    "FEATURE_KINDS",
    "cache_dir",
    "input_config",
    "build_features",
    "make_dataset",
    "encode_labels",
]

# input name -> (feature kind, default settings). Inputs that come in pairs
# (features + mask) share one extraction.
FEATURE_KINDS = {
    "audio": ("mel_rms", {"max_frames": 200}),
    "text": ("chars", {"kind": "auto", "max_chars": 30, "align": "end"}),
    "mfcc": ("mfcc", {"max_frames": 400}),
    "mfcc_mask": ("mfcc", {"max_frames": 400}),
    "bert": ("pretrained_text", {"model": None, "max_len": 64, "pooling": "none"}),
    "bert_mask": ("pretrained_text", {"model": None, "max_len": 64, "pooling": "none"}),
    "roberta": ("pretrained_text", {"model": None, "max_len": 256, "pooling": "masked_mean"}),
    "roberta_seq": ("pretrained_text", {"model": None, "max_len": 256, "pooling": "none"}),
    "wav2vec2": ("pretrained_audio", {"model": None, "pooling": "masked_mean"}),
    # RSA-CFN's mixer reads at most 6 s (96,000 samples at 16 kHz = 299 wav2vec2 frames); the
    # sequence is padded or cut to a fixed `max_frames` so every split has the model's shape.
    "wav2vec2_seq": ("pretrained_audio", {"model": None, "pooling": "none", "max_samples": 96000, "max_frames": 299}),
}


def cache_dir(*parts):
    """The cache folder (`$COAUDIOTEXT_CACHE` or `~/.cache/coaudiotext`), joined with `parts` (see
    `coaudiotext.cache.cache_root`, which this is)."""
    return cache_root(*parts)


def encode_labels(labels, class_names):
    """Maps label strings to indices of `class_names`; errors name the unknown labels."""
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(f"Labels {unknown} are not among the model's classes {list(class_names)}.")
    return np.array([index[label] for label in labels], dtype=np.int64)


def input_config(input_names, texts=None, overrides=None):
    """The feature settings of each model input.

    Args:
        input_names: iterable of str. The model's inputs (`ModelSpec.inputs`).
        texts: list of str or None. Training transcripts; used to resolve
            `text` kind `"auto"` (Hangul or Latin characters).
        overrides: dict or None. `{input_name: {setting: value}}`.

    Returns:
        dict `{input_name: {"feature": feature_kind, **settings}}`, JSON-able.
    """
    overrides = overrides or {}
    config = {}
    for name in input_names:
        if name not in FEATURE_KINDS:
            raise ValueError(f"Unknown model input {name!r}. Known inputs: {', '.join(FEATURE_KINDS)}.")
        kind, defaults = FEATURE_KINDS[name]
        settings = dict(defaults)
        settings.update(overrides.get(name, {}))
        if kind == "chars":
            from coaudiotext.features.text import TextFeaturizer

            featurizer = TextFeaturizer(**settings)
            if not featurizer.resolved:
                featurizer = featurizer.resolve(texts or [])
            settings = featurizer.get_config()
        if kind.startswith("pretrained") and not settings.get("model"):
            raise ValueError(
                f"Input {name!r} needs a pretrained encoder: pass --{ 'text' if kind == 'pretrained_text' else 'audio'}-encoder "
                "with a local folder or hub name (see README: pretrained features)."
            )
        config[name] = {"feature": kind, **settings}
    return config


def _cached(kind, settings, paths, texts, compute, use_cache=True):
    """The arrays `compute()` returns, cached under `cache_dir("features")` (`coaudiotext.cache.cached_arrays`).

    The entry is made from `kind`, `settings` and a fingerprint of the inputs (each file's path, size and
    modification time, then the texts); its sidecar records them, so it is used only while they match.
    """
    made_from = {
        "kind": kind,
        "settings": settings,
        "inputs": fingerprint(*(file_stamp(path) for path in paths), *texts),
        "count": len(paths),
    }
    return cached_arrays(cache_dir("features"), kind, made_from, compute, use_cache=use_cache)


def _extract(kind, settings, manifest, use_cache, progress):
    from coaudiotext import features

    paths = manifest.audio_paths
    texts = manifest.texts
    options = {k: v for k, v in settings.items() if k != "feature"}
    if kind == "mel_rms":
        return _cached(kind, options, paths, [], lambda: (features.extract("mel_rms", paths, progress=progress, **options),), use_cache)
    if kind == "mfcc":
        return _cached(kind, options, paths, [], lambda: tuple(features.extract("mfcc", paths, progress=progress, **options)), use_cache)
    if kind == "chars":
        from coaudiotext.features.text import TextFeaturizer

        return (TextFeaturizer.from_config(options)(texts),)
    if kind == "pretrained_text":
        from coaudiotext.features import pretrained

        return tuple(pretrained.extract_text_features(texts, **options))
    if kind == "pretrained_audio":
        from coaudiotext.features import pretrained

        max_frames = options.pop("max_frames", None)
        features, mask = pretrained.extract_audio_features(paths, progress=progress, **options)
        if max_frames is not None:
            features, mask = _fix_length(features, max_frames), _fix_length(mask, max_frames)
        return features, mask
    raise ValueError(f"Unknown feature kind {kind!r}.")


def _fix_length(array, length):
    """Pads with zeros or cuts axis 1 of `array` to `length`."""
    array = np.asarray(array)
    if array.shape[1] >= length:
        return array[:, :length]
    pad = [(0, 0)] * array.ndim
    pad[1] = (0, length - array.shape[1])
    return np.pad(array, pad)


def build_features(config, manifest, use_cache=True, progress=True):
    """Computes the arrays of every input in `config` for the rows of `manifest`.

    Returns:
        dict `{input_name: np.ndarray}` in the model's input order; paired inputs
        (`mfcc` + `mfcc_mask`, `bert` + `bert_mask`) come from one extraction.
    """
    done = {}
    out = {}
    for name, settings in config.items():
        kind = settings["feature"]
        key = json.dumps(settings, sort_keys=True)
        if key not in done:
            done[key] = _extract(kind, settings, manifest, use_cache, progress)
        arrays = done[key]
        out[name] = arrays[1] if name.endswith("_mask") else arrays[0]
        array = np.asarray(out[name])
        out[name] = array.astype(np.float32) if array.dtype.kind in "fb" else array
    return out


def make_dataset(features, labels=None, batch_size=16, shuffle=False, seed=0, sample_weights=None):
    """A batched, prefetched `tf.data.Dataset` of `(inputs_dict, labels)` from feature arrays."""
    import tensorflow as tf

    inputs = {name: array for name, array in features.items()}
    n = len(next(iter(inputs.values())))
    elements = (inputs,) if labels is None else (inputs, np.asarray(labels))
    if sample_weights is not None:
        elements = elements + (np.asarray(sample_weights, dtype=np.float32),)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        dataset = dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
