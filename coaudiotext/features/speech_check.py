"""Does this audio look like the speech a model was trained on? Cheap checks of one signal, no model.

A classifier's softmax sums to 1 for *any* input: a pure chirp gets a confident label as readily as a
sentence. `speech_check(audio)` looks at the signal itself (numpy and librosa, no Keras) and returns a
list of human-readable notes, **empty for ordinary speech**. `coaudiotext.predict` emits each note as a
`UserWarning` (the command line prints them as `note: ...`). A note means "the probabilities are not
worth much for this input", never the opposite: an empty list does not prove the input is in-domain
(a human voice is far from the espeak-ng voices of the demo corpus and gets no note).

The checks, in order, with their thresholds (module constants):

| note | fires when | threshold |
|---|---|---|
| silent | the peak is below `SILENT_DBFS` (the other checks are then skipped) | -70 dBFS |
| near-silent | the peak is below `QUIET_DBFS` | -40 dBFS |
| too short | shorter than `MIN_SECONDS` | 0.3 s |
| too long | longer than `LONG_FACTOR` x the model's window (`window_seconds`); without a window, than `LONG_SECONDS` | 1.5 x; 20 s |
| clipped | more than `CLIP_SHARE` of the samples sit in flat tops (runs of >= 3 samples within 1e-4 of the peak; only for a peak >= -20 dBFS) | 0.5 % |
| no voicing | fewer than `VOICED_SHARE` of the sounding frames are periodic with a pitch in `FMIN`-`FMAX` | 5 %; 60-500 Hz |
| narrow band | the energy outside +-max(60 Hz, 10 %) of each frame's strongest frequency is, in the median frame, more than `-NARROW_DB` below the energy inside | 33 dB |
| steady | the levels of 8 log-spaced bands (100 Hz - 8 kHz) vary over time by less than `STEADY_DB` (median over the bands of their standard deviation over the sounding frames) | 3 dB |

*Sounding* frames (35 ms, hop 10 ms) are those within 40 dB of the loudest and above -70 dBFS.
*Periodic* is YIN's aperiodicity (de Cheveigné & Kawahara 2002: the minimum of the cumulative-mean-normalised
difference over the periods of 60-500 Hz, computed at 8 kHz) below `APERIODICITY` (0.3). The spectra are
~46 ms Blackman frames at the file's own rate (the low side lobes keep a tone's leakage out of the band).
Speech has voiced vowels with several harmonics and a spectrum that changes with every syllable; a sine or
a sweep puts all its energy in one narrow band; noise and isolated clicks are not periodic; a steady buzz
(square or sawtooth wave, click train, hum) and steady noise do not change over time. Clipping is looked for
in the file's own samples, before any resampling (resampling turns flat tops into ripples).

**Measured** with `python -m coaudiotext.features.speech_check [--seed S --per-voice N]`, which renders
the utterances and builds the signals itself (window 4.64 s, the shipped mel + RMS models'):

* **False alarms on speech: 0 of 550** demo-style utterances (generated sentences with their tune's
  punctuation), seeds 1 (2 per voice), 7, 11 and 23 (3 per voice), 50 voices each: the demo pool's 40
  seeded speakers (7 English language voices x the demo's variants, pitch 35-65, rate 140-210, range
  40-70) and 10 more (en-us+f3 at pitch 0 / rate 80 and at pitch 99 / rate 450, en-gb-x-rp+m3 at pitch 99
  / rate 80 / range 0, en+klatt3 at pitch 20 / rate 450, en-us+Andy, en-029+grandma, de+m1, fr+f2,
  es+m5, ko). The thresholds were set on seeds 1, 7 and 11; seed 23 was held out (0 of 150). Closest
  speech values to the thresholds: 0.34 s (rate 450), peak -16 dBFS, 0.09 % flat tops (espeak-ng's klatt5
  clips a little), 12 % voiced frames, -21 dB outside the band (en+anika saying "leave the gym", a
  near-sinusoidal /i/), 7.5 dB change.
* Outside the demo's voices: whispered speech (`en-us+whisper`) gets "no voicing" (11 of 11, rightly: the
  models never heard a whisper); en+klatt3 at pitch 0 and rate 450 got "too short" once (0.28 s) in 11;
  en+m1 at pitch 0 passed (0 of 11).
* Flagged, each synthetic signal: silence and dither at -86 dBFS (silent); speech at -53 dBFS peak
  (near-silent); white and pink noise (no voicing, steady); sines at 100, 220, 1000 and 5000 Hz (narrow
  band, steady; 5 kHz also no voicing); linear chirps 100 Hz-4 kHz, 50 Hz-10 kHz and 200-800 Hz and a
  logarithmic chirp 100 Hz-8 kHz (narrow band); a sine amplitude-modulated at 3 Hz (narrow band, steady);
  clicks at 4 per second (no voicing); a 100 Hz click train and a 120 Hz sawtooth (steady); a 150 Hz
  square wave (clipped, steady); speech x4 clipped (clipped); 0.2 s of speech (too short); 30 s of speech
  (too long).
* Not flagged, as intended: the same speech with white noise at 20 and 10 dB SNR, a 50 Hz hum at -20 dB,
  at a peak of -35 dBFS, with 1 s of silence each side, resampled to 8, 16 or 48 kHz, and at gain x1.5
  (0.1-0.3 % of samples clipped).
* Not caught (known limits): a tone or sweep buried in noise (its noise is not narrow, the sweep is not
  steady), music, and non-speech sounds that are voiced and change over time; clipping that happened
  before resampling.
* Cost: 6-15 ms per utterance (median over a seed's utterances, 1-3 s long), 20-40 ms for 3 s, 0.15-0.3 s
  for 30 s (each measure looks at 1,000 frames at most), on a busy 2-core machine; the first call in a
  process also imports soundfile and soxr (~0.4 s).

Example:

>>> import numpy as np
>>> sr = 22050
>>> t = np.arange(3 * sr) / sr
>>> [note.split(",")[0] for note in speech_check(0.5 * np.sin(2 * np.pi * 440 * t), sample_rate=sr)]
['its energy lies in one narrow band', 'the sound barely changes over time (band levels vary by 0.0 dB']
>>> speech_check(np.zeros(sr), sample_rate=sr)
['the audio is silent (peak -inf dBFS): there is nothing to classify']
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["speech_check"]

SILENT_DBFS = -70.0
QUIET_DBFS = -40.0
MIN_SECONDS = 0.3
LONG_FACTOR = 1.5
LONG_SECONDS = 20.0
CLIP_SHARE = 0.005
VOICED_SHARE = 0.05
FMIN, FMAX = 60.0, 500.0
APERIODICITY = 0.3
NARROW_DB = -33.0
STEADY_DB = 3.0

_PITCH_RATE = 8000  # the periodicity test runs at 8 kHz: cheap, and 500 Hz is far below Nyquist
_FRAME_S, _HOP_S = 0.035, 0.01  # 35 ms frames (2 periods of 60 Hz; shorter frames follow a fast pitch), 10 ms hop
_RANGE_DB = 40.0  # sounding frames: within 40 dB of the loudest
_MAX_FRAMES = 1000  # frames analysed per measure, evenly spaced over longer files
_MIN_SPECTRAL_FRAMES = 10


def _db(value):
    return 20 * np.log10(value) if value > 0 else -np.inf


def _read(audio, sample_rate):
    """`(mono float64 samples, sample rate)` from a path (native rate) or an array."""
    if isinstance(audio, (str, os.PathLike)):
        import soundfile

        try:
            samples, sample_rate = soundfile.read(os.fspath(audio), dtype="float64", always_2d=True)
        except Exception:  # not a libsndfile format: let librosa (audioread) decode it
            import librosa

            samples, sample_rate = librosa.load(os.fspath(audio), sr=None, mono=False)
            samples = np.atleast_2d(samples).T
        return samples.mean(axis=1), int(sample_rate)
    if sample_rate is None or isinstance(sample_rate, bool) or not float(sample_rate) > 0:
        raise ValueError(f"Expected `sample_rate` to be a positive number of Hz with an array `audio`. "
                         f"Received: sample_rate={sample_rate!r}")
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=1) if samples.shape[1] < samples.shape[0] else samples.mean(axis=0)
    if samples.ndim != 1:
        raise ValueError(f"Expected `audio` to be a path or a 1-D array of samples. Received: shape {samples.shape}")
    return samples, float(sample_rate)


def _frame_starts(num_samples, rate):
    """Start samples and length of the 35 ms / 10 ms frames at `rate` (the same times at every rate)."""
    length = int(round(_FRAME_S * rate))
    count = 1 + max(0, int((num_samples / rate - _FRAME_S) / _HOP_S + 1e-9))
    return np.round(np.arange(count) * _HOP_S * rate).astype(int), length


def _frame_rms(samples, rate):
    starts, length = _frame_starts(len(samples), rate)
    padded = np.pad(samples, (0, max(0, starts[-1] + length - len(samples))))
    cumulative = np.concatenate([[0.0], np.cumsum(padded ** 2)])
    return np.sqrt((cumulative[starts + length] - cumulative[starts]) / length)


def _spread(indices, limit=_MAX_FRAMES):
    """At most `limit` of `indices`, evenly spaced."""
    if len(indices) <= limit:
        return indices
    return indices[np.linspace(0, len(indices) - 1, limit).round().astype(int)]


def _aperiodicity(frames, min_period, max_period):
    """YIN's aperiodicity of each row of `frames` `(n, L)`: the minimum over periods `min_period..max_period`
    (samples) of the cumulative-mean-normalised difference function; ~0 for a periodic frame, ~1 for noise."""
    count, length = frames.shape
    width = length - max_period
    size = 1 << int(np.ceil(np.log2(2 * length)))
    correlation = np.fft.irfft(np.conj(np.fft.rfft(frames[:, :width], size)) * np.fft.rfft(frames, size), size)
    correlation = correlation[:, : max_period + 1]  # sum_j x[j] x[j + tau], j < width
    cumulative = np.concatenate([np.zeros((count, 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    lags = np.arange(max_period + 1)
    energy = cumulative[:, lags + width] - cumulative[:, lags]  # sum_j x[j + tau]^2
    difference = np.maximum(energy[:, :1] + energy - 2 * correlation, 0.0)[:, 1:]  # tau = 1..max_period
    normalised = difference * lags[1:] / np.maximum(np.cumsum(difference, axis=1), 1e-20)
    return normalised[:, min_period - 1:].min(axis=1)


def _flat_top_share(samples, peak):
    """Share of the samples in runs of >= 3 consecutive samples within 1e-4 of the peak magnitude."""
    at_peak = np.abs(samples) >= peak * (1 - 1e-4)
    edges = np.diff(np.concatenate([[0], at_peak.astype(np.int8), [0]]))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return runs[runs >= 3].sum() / len(samples)


def _voiced_share(samples, rate, sounding):
    """Share of the sounding frames that are periodic with a pitch in FMIN-FMAX (YIN at 8 kHz)."""
    import soxr  # what librosa.resample(res_type="soxr_hq") calls, without importing librosa and scipy.signal

    low = samples if rate == _PITCH_RATE else soxr.resample(samples, rate, _PITCH_RATE, quality="HQ")
    starts, length = _frame_starts(len(samples) * _PITCH_RATE / rate, _PITCH_RATE)
    count = min(len(starts), len(sounding))
    starts = starts[_spread(np.flatnonzero(sounding[:count]))]
    if not len(starts):
        return 0.0
    padded = np.pad(low, (0, max(0, int(starts[-1]) + length - len(low))))
    frames = padded[starts[:, None] + np.arange(length)]
    aperiodicity = _aperiodicity(frames, int(_PITCH_RATE // FMAX), int(np.ceil(_PITCH_RATE / FMIN)))
    return float(np.mean(aperiodicity < APERIODICITY))


def _spectral_frames(samples, rate):
    """Power spectra `(bins, frames)` of ~46-64 ms Blackman frames (hop a quarter), at most `_MAX_FRAMES`, and
    the bin frequencies."""
    size = 1 << int(round(np.log2(0.046 * rate)))
    hop = size // 4
    if len(samples) < size:
        samples = np.pad(samples, (0, size - len(samples)))
    starts = _spread(np.arange(0, len(samples) - size + 1, hop))
    frames = samples[starts[:, None] + np.arange(size)] * np.blackman(size)
    return np.abs(np.fft.rfft(frames, axis=1).T) ** 2, np.fft.rfftfreq(size, 1 / rate)


def _measures(samples, rate):
    """The measures the notes compare with their thresholds: `seconds`, `peak_dbfs`, and, where they apply
    (None otherwise), `flat_top` (share of samples in flat tops), `voiced` (share of sounding frames that
    are periodic), `narrow` (median over frames of the energy outside the narrow band around the strongest
    frequency relative to that inside, dB) and `change` (dB)."""
    peak = float(np.abs(samples).max())
    measures = {"seconds": len(samples) / rate, "peak_dbfs": _db(peak), "flat_top": None, "voiced": None,
                "narrow": None, "change": None}
    if measures["peak_dbfs"] < SILENT_DBFS:
        return measures
    if peak >= 0.1:  # clipping happens near full scale; a quiet signal's few levels would look flat
        measures["flat_top"] = _flat_top_share(samples, peak)
    rms = _frame_rms(samples, rate)
    sounding = rms > max(rms.max() * 10 ** (-_RANGE_DB / 20), 10 ** (SILENT_DBFS / 20))
    if sounding.any():
        measures["voiced"] = _voiced_share(samples, rate, sounding)
    power, frequencies = _spectral_frames(samples, rate)
    energy = power.sum(axis=0)
    power = power[:, energy > max(energy.max() * 10 ** (-_RANGE_DB / 10), 1e-20)]  # sounding frames
    if power.shape[1]:
        strongest = frequencies[power.argmax(axis=0)]  # (frames,)
        band = np.abs(frequencies[:, None] - strongest) <= np.maximum(60.0, 0.1 * strongest)  # (bins, frames)
        inside = (power * band).sum(axis=0)
        outside = np.maximum(power.sum(axis=0) - inside, 1e-30 * inside)
        measures["narrow"] = float(np.median(10 * np.log10(outside / inside)))
    if power.shape[1] >= _MIN_SPECTRAL_FRAMES:
        edges = np.geomspace(100.0, min(8000.0, rate / 2), 9)
        bands = np.stack([power[(frequencies >= low) & (frequencies < high)].sum(axis=0)
                          for low, high in zip(edges[:-1], edges[1:])])  # (8, frames)
        levels = 10 * np.log10(np.maximum(bands, bands.max() * 1e-8 + 1e-30))
        measures["change"] = float(np.median(levels.std(axis=1)))
    return measures


def speech_check(audio, sample_rate=None, window_seconds=None, window_end="last"):
    """Notes on how far `audio` is from ordinary speech; an empty list for ordinary speech.

    Args:
        audio: str, path-like or array. A sound file (read at its own sample rate, channels averaged)
            or float samples in [-1, 1] (1-D, or 2-D with channels averaged).
        sample_rate: float or None. The rate of an array `audio` in Hz; ignored for a file.
            Defaults to None.
        window_seconds: float or None. The length of audio the model reads (its `max_frames` window);
            None: compare with `LONG_SECONDS` instead. Defaults to None.
        window_end: str. Which end of a longer file the model keeps: `"last"` (mel + RMS features)
            or `"first"` (MFCC, wav2vec2). Used in the note only. Defaults to `"last"`.

    Returns:
        list of str: one human-readable note per check that fired (see the module docstring).

    Raises:
        ValueError: `sample_rate` missing for an array, or `window_end` not `"first"`/`"last"`.

    Example:

    >>> import numpy as np
    >>> speech_check(np.zeros(22050), sample_rate=22050)
    ['the audio is silent (peak -inf dBFS): there is nothing to classify']
    """
    if window_end not in ("first", "last"):
        raise ValueError(f"Expected window_end to be one of {{'first', 'last'}}. Received: window_end={window_end!r}")
    samples, rate = _read(audio, sample_rate)
    if samples.size == 0:
        return ["the audio holds no samples"]
    notes = []
    finite = np.isfinite(samples)
    if not finite.all():
        notes.append(f"{int((~finite).sum())} sample(s) are not finite (NaN or inf); they were read as 0")
        samples = np.where(finite, samples, 0.0)
    m = _measures(samples, rate)
    seconds, peak = m["seconds"], m["peak_dbfs"]
    if peak < SILENT_DBFS:
        return notes + [f"the audio is silent (peak {peak:.1f} dBFS): there is nothing to classify"]
    if peak < QUIET_DBFS:
        notes.append(f"the audio is near-silent (peak {peak:.1f} dBFS, below {QUIET_DBFS:.0f}): check the recording level")
    if seconds < MIN_SECONDS:
        notes.append(f"the audio lasts {seconds:.2f} s, less than {MIN_SECONDS} s: too short to carry a sentence "
                     "and its tune")
    if window_seconds is not None and seconds > LONG_FACTOR * window_seconds:
        notes.append(f"the audio lasts {seconds:.1f} s; the model reads only its {window_end} {window_seconds:.1f} s "
                     f"({100 * window_seconds / seconds:.0f}% of it) and never hears the rest")
    elif window_seconds is None and seconds > LONG_SECONDS:
        notes.append(f"the audio lasts {seconds:.1f} s, longer than {LONG_SECONDS:.0f} s: one utterance rarely "
                     "lasts that long; cut it into sentences")
    if m["flat_top"] is not None and m["flat_top"] > CLIP_SHARE:
        notes.append(f"the audio is clipped: {100 * m['flat_top']:.1f}% of the samples sit in flat tops at the peak "
                     f"({peak:.1f} dBFS)")
    if m["voiced"] is not None and m["voiced"] < VOICED_SHARE:
        notes.append(f"no voiced frames in the human pitch range: {100 * m['voiced']:.0f}% of the sounding frames are "
                     f"periodic at {FMIN:.0f}-{FMAX:.0f} Hz (speech has voiced vowels; the check asks for "
                     f"{100 * VOICED_SHARE:.0f}%)")
    if m["narrow"] is not None and m["narrow"] < NARROW_DB:
        notes.append(f"its energy lies in one narrow band, like a pure tone or a sweep: what lies outside "
                     f"+-max(60 Hz, 10%) of each frame's strongest frequency is {-m['narrow']:.0f} dB weaker "
                     f"(speech's harmonics keep it less than {-NARROW_DB:.0f} dB weaker)")
    if m["change"] is not None and m["change"] < STEADY_DB:
        notes.append(f"the sound barely changes over time (band levels vary by {m['change']:.1f} dB, under "
                     f"{STEADY_DB:.0f} dB): a steady tone, buzz or noise, not syllables")
    return notes


# --------------------------------------------------------------------------------------------
# The measurement behind the thresholds: python -m coaudiotext.features.speech_check
# --------------------------------------------------------------------------------------------

_DEMO_WINDOW = 200 * 512 / 22050  # the mel + RMS window of the shipped models: 200 frames, hop 512 at 22,050 Hz

# beyond the demo pool's jitter: extreme pitch/rate/range, other variants, other languages
_EXTRA_VOICES = (("en-us+f3", 0, 80, 50), ("en-us+f3", 99, 450, 99), ("en-gb-x-rp+m3", 99, 80, 0),
                 ("en-us+Andy", 20, 120, 20), ("en-029+grandma", 80, 300, 80), ("de+m1", 50, 175, 50),
                 ("fr+f2", 50, 175, 50), ("es+m5", 60, 200, 50), ("ko", 50, 175, 50), ("en+klatt3", 20, 450, 99))
# known misses on synthetic speech: pitch 0 pushes these voices below 60 Hz; whisper has no voicing at all
_OUTSIDE_VOICES = (("en+klatt3", 0, 450, 99), ("en+m1", 0, 175, 50), ("en-us+whisper", 50, 175, 50))


def _speech_set(per_voice=2, seed=1):
    """`(group, voice, text, samples, sample_rate)` of demo-style utterances: group "speech" for the demo
    pool's 40 speakers (drawn with `seed`) and `_EXTRA_VOICES`, "outside" for `_OUTSIDE_VOICES`, `per_voice`
    generated sentences each (drawn with `seed`)."""
    import random

    from coaudiotext.data import generator
    from coaudiotext.data.espeak import render
    from coaudiotext.data.manifest import FORMS, PUNCTUATION
    from coaudiotext.data.voices import speaker_pool

    rng = random.Random(seed)
    train, test = speaker_pool(30, 10, seed=seed + 2)
    voices = [(s.voice, s.pitch, s.rate, s.pitch_range) for s in train + test] + list(_EXTRA_VOICES)
    for group, voice_list in (("speech", voices), ("outside", _OUTSIDE_VOICES)):
        for voice, pitch, rate, pitch_range in voice_list:
            for _ in range(per_voice):
                form = rng.choice(list(FORMS))
                text = generator.generate(form, rng) + PUNCTUATION[rng.choice(FORMS[form])]
                samples, sr = render(text, voice, rate=rate, pitch=pitch, pitch_range=pitch_range)
                yield group, f"{voice}:{pitch}:{rate}", text, samples, sr


def _synthetic_set(sample_rate=22050):
    """`{name: samples}`: the signals every check is meant to catch (3 s each unless named otherwise)."""
    from scipy.signal import chirp, sawtooth, square

    from coaudiotext.data.espeak import render

    rng = np.random.default_rng(0)
    t = np.arange(3 * sample_rate) / sample_rate
    speech, _ = render("could you close the window in the kitchen before we leave?", "en-us+f3")
    pause = np.zeros(sample_rate // 4, np.float32)
    white = rng.normal(0, 1, len(t))
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.maximum(np.arange(len(t) // 2 + 1), 1)), len(t))
    return {
        "silence": np.zeros_like(t),
        "dither -86 dBFS": rng.normal(0, 1e-5, len(t)),
        "speech at -53 dBFS": speech * 0.003,
        "white noise": 0.1 * white,
        "pink noise": 0.2 * pink / np.abs(pink).max(),
        **{f"sine {f} Hz": 0.5 * np.sin(2 * np.pi * f * t) for f in (100, 220, 1000, 5000)},
        "chirp 100 Hz-4 kHz": 0.5 * chirp(t, 100, 3, 4000),
        "chirp 50 Hz-10 kHz": 0.5 * chirp(t, 50, 3, 10000),
        "chirp 200-800 Hz": 0.5 * chirp(t, 200, 3, 800),
        "log chirp 100 Hz-8 kHz": 0.5 * chirp(t, 100, 3, 8000, method="logarithmic"),
        "AM sine 200 Hz at 3 Hz": 0.5 * np.sin(2 * np.pi * 200 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)),
        "clicks 4/s": np.where(np.arange(len(t)) % (sample_rate // 4) == 0, 0.9, 0.0),
        "click train 100 Hz": np.where(np.arange(len(t)) % (sample_rate // 100) == 0, 0.9, 0.0),
        "square 150 Hz": 0.3 * square(2 * np.pi * 150 * t),
        "sawtooth 120 Hz": 0.3 * sawtooth(2 * np.pi * 120 * t),
        "speech x4, clipped": np.clip(speech * 4, -1, 1),
        "speech, 0.2 s": speech[: int(0.2 * sample_rate)],
        "speech, 30 s": np.tile(np.concatenate([speech, pause]), 12)[: 30 * sample_rate],
    }


def _speech_variants(sample_rate=22050):
    """`{name: (samples, sample_rate)}`: rendered speech made less clean in ordinary ways; none should be flagged."""
    import soxr

    from coaudiotext.data.espeak import render

    rng = np.random.default_rng(1)
    speech, _ = render("could you close the window in the kitchen before we leave?", "en-gb-x-rp+m3", rate=160)
    speech = speech.astype(np.float64)
    level = np.sqrt(np.mean(speech ** 2))
    t = np.arange(len(speech)) / sample_rate
    second = np.zeros(sample_rate)
    return {
        "white noise at 20 dB SNR": (speech + rng.normal(0, level / 10, len(speech)), sample_rate),
        "white noise at 10 dB SNR": (speech + rng.normal(0, level / np.sqrt(10), len(speech)), sample_rate),
        "50 Hz hum at -20 dB": (speech + 0.1 * level * np.sqrt(2) * np.sin(2 * np.pi * 50 * t), sample_rate),
        "quiet (x0.03, peak -35 dBFS)": (speech * 0.03 / np.abs(speech).max(), sample_rate),
        "1 s of silence each side": (np.concatenate([second, speech, second]), sample_rate),
        "resampled to 16 kHz": (soxr.resample(speech, sample_rate, 16000), 16000),
        "resampled to 8 kHz": (soxr.resample(speech, sample_rate, 8000), 8000),
        "resampled to 48 kHz": (soxr.resample(speech, sample_rate, 48000), 48000),
        "gain x1.5, clipped a little": (np.clip(1.5 * speech / np.abs(speech).max(), -1, 1), sample_rate),
    }


def _measure(argv=None):
    """Prints the false alarms on rendered speech (with each measure's closest value to its threshold) and
    the notes on every synthetic signal."""
    import argparse
    import collections
    import time

    parser = argparse.ArgumentParser(prog="python -m coaudiotext.features.speech_check",
                                     description="Measure the speech check on rendered speech and synthetic signals.")
    parser.add_argument("--seed", type=int, default=1, help="draws the voices and sentences (default 1)")
    parser.add_argument("--per-voice", type=int, default=2, help="sentences per voice (default 2)")
    args = parser.parse_args(argv)
    counts, alarms, costs, voices = collections.Counter(), [], [], collections.defaultdict(set)
    closest = {"seconds": np.inf, "peak_dbfs": np.inf, "flat_top": 0.0, "voiced": np.inf, "narrow": np.inf,
               "change": np.inf}
    for group, voice, text, samples, sr in _speech_set(args.per_voice, args.seed):
        start = time.perf_counter()
        notes = speech_check(samples, sr, window_seconds=_DEMO_WINDOW)
        costs.append(time.perf_counter() - start)
        counts[group] += 1
        voices[group].add(voice)
        if notes:
            alarms.append((group, voice, text, notes))
            counts[group + " flagged"] += 1
        if group == "speech":
            for key, value in _measures(np.asarray(samples, np.float64), sr).items():
                if value is not None:
                    closest[key] = max(closest[key], value) if key == "flat_top" else min(closest[key], value)
    print(f"speech, seed {args.seed} (window {_DEMO_WINDOW:.2f} s)")
    for group in ("speech", "outside"):
        print(f"  {group}: {counts[group + ' flagged']} of {counts[group]} utterances flagged "
              f"({len(voices[group])} voices)")
    for group, voice, text, notes in alarms:
        print(f"  [{group}] {voice} {text!r}: {' | '.join(note[:70] for note in notes)}")
    print("  closest speech value per measure: " + ", ".join(f"{k} {v:.3g}" for k, v in closest.items()))
    print(f"  cost per utterance: median {1000 * np.median(costs):.0f} ms, max {1000 * np.max(costs):.0f} ms")
    print("synthetic signals")
    for name, samples in _synthetic_set().items():
        start = time.perf_counter()
        notes = speech_check(samples.astype(np.float32), 22050, window_seconds=_DEMO_WINDOW)
        cost = time.perf_counter() - start
        short = "; ".join(note.split(":")[0].split(" (")[0] for note in notes) or "NOT FLAGGED"
        print(f"  {name:24s} {1000 * cost:5.0f} ms  {short}")
    print("speech made less clean (should not be flagged)")
    for name, (samples, rate) in _speech_variants().items():
        notes = speech_check(samples, rate, window_seconds=_DEMO_WINDOW)
        print(f"  {name:28s} {'; '.join(notes) or 'no note'}")
    return counts["speech flagged"]


if __name__ == "__main__":
    _measure()
