"""Feature extraction: one entry point, `extract(kind, paths, **options)`, over every feature kind.

Audio kinds (`coaudiotext.features.audio`) read files through `tf.data` (parallel
decode + soxr resampling, `tf.signal` per utterance, in parallel):

| kind | returns | source |
|---|---|---|
| `mel_rms` | float32 `(N, 200, 129)`: max-normalised RMS + 128 Slaney mel bands, last 200 frames | CoAudioText tutorial `make_data` |
| `mfcc` | `(features (N, 400, 40), mask (N, 400))` float32, mask 1 = real frame | seed 001 (torchaudio MFCC at 8 kHz) |

The modules are imported only when a kind is used, so `import coaudiotext.features`
stays light (no TensorFlow). A new kind is one line in `_KINDS`: its name and the
`module:function` that computes it.

Example:

>>> from coaudiotext import features
>>> audio = features.extract("mel_rms", ["a.wav", "b.wav"])        # doctest: +SKIP
>>> mfcc, mfcc_mask = features.extract("mfcc", ["a.wav", "b.wav"])  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect

__all__ = ["KINDS", "extract"]

# kind -> "module:function"; the function takes the list of inputs, then keyword options
_KINDS = {
    "mel_rms": "coaudiotext.features.audio:extract_mel_rms",
    "mfcc": "coaudiotext.features.audio:extract_mfcc",
}
KINDS = tuple(_KINDS)


def extract(kind, paths, **options):
    """Computes the features of one kind for a list of inputs.

    Args:
        kind: str. The feature kind, one of `KINDS` (`"mel_rms"`, `"mfcc"`).
        paths: list of str. The inputs (audio file paths for the audio kinds).
        **options: keyword options of the kind's function, e.g. `max_frames`,
            `sample_rate`, `batch_size`, `progress` (tqdm bar; default: shown for
            100 inputs or more). See `coaudiotext.features.audio.extract_mel_rms`
            and `extract_mfcc`.

    Returns:
        `mel_rms`: float32 `(N, max_frames, 129)`. `mfcc`: `(features, mask)`,
        float32 `(N, max_frames, 40)` and `(N, max_frames)` with 1 for real frames.

    Raises:
        ValueError: unknown `kind`, or an input cannot be processed (the message names it).

    Example:

    >>> extract("spectrogram", [])
    Traceback (most recent call last):
    ...
    ValueError: Unknown feature kind 'spectrogram'. Expected one of: mel_rms, mfcc.
    """
    if kind not in _KINDS:
        raise ValueError(f"Unknown feature kind {kind!r}. Expected one of: {', '.join(_KINDS)}.")
    module_name, function_name = _KINDS[kind].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    allowed = list(inspect.signature(function).parameters)[1:]  # after the inputs
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"Unknown option(s) {unknown} for feature kind {kind!r}. Expected any of: {', '.join(allowed)}.")
    return function(list(paths), **options)
