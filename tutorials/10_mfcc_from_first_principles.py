# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10. MFCC from first principles
#
# Mel-frequency cepstral coefficients (MFCC) are the input of the cross-modal Transformer of
# tutorial 08 (seed 001) and one of the branches of the SER-MMoE notes (seed 004). This notebook
# computes them **in numpy, one step at a time**, following the walk-through of seed 004:
#
# 1. pre-emphasis, 2. framing, 3. windowing, 4. FFT (power spectrum), 5. mel filterbank,
# 6. logarithm (decibels), 7. discrete cosine transform (DCT).
#
# Then it checks the result against two references: `librosa.feature.mfcc` and the package's
# own MFCC (`coaudiotext.features.audio`: a librosa reference, a `tf.signal` version for
# `tf.data` and a Keras layer). Each step is a few lines of numpy you can change and re-run.
#
# Set `COAUDIOTEXT_FAST=1` to run quickly (CI does); nothing here depends on it except the
# length of the timing loop at the end.

# %%
import os

FAST = os.environ.get("COAUDIOTEXT_FAST", "0") == "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import time

import librosa
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Audio, display

from coaudiotext.data import demo
from coaudiotext.features import audio as audio_features

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 0. A signal
#
# We synthesise one utterance with espeak-ng (the generator of the demo corpus, see tutorial 00):
# a yes/no question, so its pitch rises at the end. espeak-ng speaks at 22,050 Hz; seed 001
# resamples to 8 kHz before its MFCC, and so do we (`librosa.resample` uses soxr, the same
# resampler as `coaudiotext.features.audio.load_audio`).

# %%
y22, sr22 = demo.render("you locked the door?", voice="en-us+f3")
sr = audio_features.MFCC_SAMPLE_RATE  # 8000 Hz, as seed 001
y = librosa.resample(y22, orig_sr=sr22, target_sr=sr, res_type="soxr_hq").astype(np.float32)
print(f"{len(y22)} samples at {sr22} Hz -> {len(y)} samples at {sr} Hz ({len(y) / sr:.2f} s)")
display(Audio(y, rate=sr))

t = np.arange(len(y)) / sr
plt.figure(figsize=(10, 2.5))
plt.plot(t, y, lw=0.5)
plt.xlabel("time (s)")
plt.title("waveform at 8 kHz")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 1. Pre-emphasis
#
# A first-order high-pass filter, `x'[n] = x[n] - a * x[n-1]` with `a` about 0.97, **amplifies the
# high frequencies**, which in speech have much less energy than the low ones: it balances the
# spectrum. (librosa's `mfcc` and seed 001's torchaudio `MFCC` do **not** pre-emphasise; we use it
# in the classic recipe and switch it off for the parity checks below.)

# %%
PRE_EMPHASIS = 0.97


def pre_emphasis(x, a=PRE_EMPHASIS):
    return np.append(x[0], x[1:] - a * x[:-1])


y_pre = pre_emphasis(y)

spectrum_before = np.abs(np.fft.rfft(y)) ** 2
spectrum_after = np.abs(np.fft.rfft(y_pre)) ** 2
frequencies = np.fft.rfftfreq(len(y), 1 / sr)
plt.figure(figsize=(10, 3))
plt.semilogy(frequencies, spectrum_before + 1e-12, lw=0.5, label="original")
plt.semilogy(frequencies, spectrum_after + 1e-12, lw=0.5, alpha=0.7, label="pre-emphasised")
plt.xlabel("frequency (Hz)")
plt.ylabel("power")
plt.title("whole-signal power spectrum: pre-emphasis lifts the high frequencies")
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Framing
#
# Speech is not stationary, so a Fourier transform of the whole utterance mixes everything.
# Instead we cut it into short, overlapping **frames** in which the signal is roughly stationary.
# Seed 001 uses frames of `n_fft = 400` samples (50 ms at 8 kHz) every `hop = 200` samples (25 ms).
#
# *Centred* frames (librosa's and torchaudio's default) first pad `n_fft / 2` samples on each side,
# so that frame `t` is centred on sample `t * hop`; seed 001 pads by **reflection**. The number of
# frames is then `1 + len(y) // hop`.

# %%
N_FFT, HOP = audio_features.MFCC_N_FFT, audio_features.MFCC_HOP_LENGTH


def frame(x, n_fft=N_FFT, hop=HOP, center=True, pad_mode="reflect"):
    if center:
        x = np.pad(x, n_fft // 2, mode=pad_mode)
    count = 1 + (len(x) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]  # (frames, n_fft)
    return x[index]


frames = frame(y)
print("frames:", frames.shape, "(frames, samples per frame); expected", 1 + len(y) // HOP, "frames")

# %% [markdown]
# ## 3. Windowing
#
# Cutting a frame out of the signal makes its ends jump to zero, and the FFT sees those jumps as
# broadband energy (spectral leakage). A tapering window fixes that. Seed 004 writes the
# generalised cosine window `w[n] = (1 - a) - a cos(2 pi n / (N - 1))`: `a = 0.46` is **Hamming**,
# `a = 0.5` is **Hann**. librosa and torchaudio use the *periodic* Hann window (denominator `N`
# instead of `N - 1`), which is what we need to match them.

# %%
def cosine_window(n, a, periodic=True):
    denominator = n if periodic else n - 1
    return (1 - a) - a * np.cos(2 * np.pi * np.arange(n) / denominator)


hann = cosine_window(N_FFT, 0.5)
hamming = cosine_window(N_FFT, 0.46, periodic=False)
print("periodic Hann equals scipy's get_window('hann'):",
      np.allclose(hann, librosa.filters.get_window("hann", N_FFT, fftbins=True)))

loud = int(np.argmax((frames**2).sum(axis=1)))  # the loudest frame, for the pictures
fig, axes = plt.subplots(1, 3, figsize=(12, 2.8))
axes[0].plot(frames[loud])
axes[0].set_title(f"frame {loud}")
axes[1].plot(hann, label="Hann (periodic)")
axes[1].plot(hamming, label="Hamming")
axes[1].legend()
axes[1].set_title("windows")
axes[2].plot(frames[loud] * hann)
axes[2].set_title("windowed frame (Hann)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. FFT: the power spectrum of every frame
#
# The real FFT of an `N`-sample frame gives `N / 2 + 1` frequency bins from 0 to `sr / 2`
# (201 bins at 8 kHz with `N = 400`: one every 20 Hz). Seed 001 takes the **power** (`|X|^2`).

# %%
windowed = frames * hann  # (frames, n_fft)
power = np.abs(np.fft.rfft(windowed, axis=1)) ** 2  # (frames, n_fft // 2 + 1)
print("power spectrogram:", power.shape)

window_leak = np.abs(np.fft.rfft(frames[loud])) ** 2
plt.figure(figsize=(10, 3))
bins = np.fft.rfftfreq(N_FFT, 1 / sr)
plt.semilogy(bins, window_leak + 1e-12, label="no window (rectangular)")
plt.semilogy(bins, power[loud] + 1e-12, label="Hann window")
plt.xlabel("frequency (Hz)")
plt.title(f"power spectrum of frame {loud}: the window reduces leakage between harmonics")
plt.legend()
plt.tight_layout()
plt.show()

plt.figure(figsize=(10, 3))
plt.imshow(10 * np.log10(power.T + 1e-10), origin="lower", aspect="auto",
           extent=[0, len(y) / sr, 0, sr / 2], cmap="magma")
plt.colorbar(label="dB")
plt.xlabel("time (s)")
plt.ylabel("Hz")
plt.title("power spectrogram (shown in dB)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. The mel filterbank
#
# The ear resolves low frequencies finely and high frequencies coarsely. The **mel scale** models
# this; seed 004 gives the HTK formula `m = 2595 log10(1 + f / 700)`. A mel filterbank is a set of
# triangular filters whose corners are **equally spaced in mel** between `fmin` and `fmax`: many
# narrow filters at low frequencies, few wide ones at high frequencies. Each filter sums the power
# of the FFT bins under its triangle.
#
# There are two common mel scales and two normalisations:
#
# * HTK (`htk=True`) is the formula above; **Slaney** (librosa's default) is linear below 1 kHz
#   and logarithmic above.
# * Unnormalised filters peak at 1 (seed 001, torchaudio's default); **Slaney normalisation** divides
#   each triangle by its width so that each filter has the same area (librosa's default).
#
# We evaluate each triangle at the exact centre frequency of every FFT bin (as librosa does;
# older recipes round the corners to bin indices, which changes the numbers slightly).

# %%
def hz_to_mel(f, htk=True):
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    linear = 3.0 * f / 200.0  # Slaney: 200/3 Hz per mel below 1 kHz ...
    logarithmic = 15.0 + 27.0 * np.log(np.maximum(f, 1e-10) / 1000.0) / np.log(6.4)  # ... log above
    return np.where(f >= 1000.0, logarithmic, linear)


def mel_to_hz(m, htk=True):
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (m - 15.0)), 200.0 * m / 3.0)


def mel_filterbank(sr, n_fft, n_mels, fmin=0.0, fmax=None, htk=True, slaney_norm=False):
    fmax = sr / 2 if fmax is None else fmax
    corners = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)  # (n_mels + 2,)
    bin_hz = np.fft.rfftfreq(n_fft, 1 / sr)  # (n_fft // 2 + 1,)
    lower, centre, upper = corners[:-2, None], corners[1:-1, None], corners[2:, None]
    rising = (bin_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bin_hz[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))  # (n_mels, n_fft // 2 + 1)
    if slaney_norm:
        weights *= (2.0 / (upper - lower))
    return weights


N_MELS = audio_features.MFCC_N_MELS  # 128, as seed 001
fbank = mel_filterbank(sr, N_FFT, N_MELS, htk=True)
peaks = fbank.max(axis=1)
print(f"filterbank {fbank.shape}: 128 mel bands over 201 FFT bins 20 Hz apart; the narrowest low filters "
      f"only graze a bin (smallest peak weight {peaks.min():.2f} instead of 1, {int((peaks < 0.5).sum())} filters below 0.5)")

fig, axes = plt.subplots(1, 2, figsize=(12, 3))
f = np.linspace(0, sr / 2, 200)
axes[0].plot(f, hz_to_mel(f, htk=True), label="HTK")
axes[0].plot(f, hz_to_mel(f, htk=False) * hz_to_mel(sr / 2, True) / hz_to_mel(sr / 2, False), label="Slaney (rescaled)")
axes[0].set_xlabel("Hz")
axes[0].set_ylabel("mel")
axes[0].legend()
axes[0].set_title("mel scales")
for row in mel_filterbank(sr, N_FFT, 20, htk=True):
    axes[1].plot(bins, row)
axes[1].set_xlabel("Hz")
axes[1].set_title("20 HTK mel filters (seed 001 uses 128)")
plt.tight_layout()
plt.show()

mel_power = power @ fbank.T  # (frames, n_mels)
print("mel power spectrogram:", mel_power.shape)

# %% [markdown]
# ## 6. Logarithm (decibels)
#
# Loudness perception is roughly logarithmic, and the log turns the multiplicative source-filter
# model of speech into a sum. Seed 001 converts to decibels like librosa's `power_to_db`:
# `10 log10(max(S, amin))` with `amin = 1e-10`, then clips everything more than `top_db = 80` dB
# below the utterance's maximum (so silent frames and nearly empty filters get a finite floor).

# %%
AMIN, TOP_DB = audio_features.AMIN, audio_features.TOP_DB


def power_to_db(S, amin=AMIN, top_db=TOP_DB):
    db = 10.0 * np.log10(np.maximum(S, amin))
    return np.maximum(db, db.max() - top_db) if top_db is not None else db


log_mel = power_to_db(mel_power)

fig, axes = plt.subplots(1, 2, figsize=(12, 3))
axes[0].imshow(mel_power.T, origin="lower", aspect="auto", cmap="magma")
axes[0].set_title("mel power (linear): a few loud bins dominate")
axes[1].imshow(log_mel.T, origin="lower", aspect="auto", cmap="magma")
axes[1].set_title("log-mel (dB)")
for axis in axes:
    axis.set_xlabel("frame")
    axis.set_ylabel("mel band")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 7. DCT: from log-mel to cepstral coefficients
#
# Neighbouring mel bands are strongly correlated. The type-II discrete cosine transform rotates
# each log-mel frame onto cosine shapes across the bands; the first coefficients describe the
# smooth **spectral envelope** (the vocal tract), the later ones the fine structure. Keeping the
# first `n_mfcc` (40 in seed 001, 12-13 in classic ASR) compresses and decorrelates the features.
#
# `DCT[k, n] = sqrt(2 / N) cos(pi k (2n + 1) / (2N))`, with row 0 scaled by `sqrt(1/2)` so that the
# matrix is orthonormal (`norm="ortho"` in scipy, librosa and torchaudio).
# (`tf.signal.mfccs_from_log_mel_spectrograms` uses another scaling: its c0 differs by sqrt(2).)

# %%
def dct_matrix(n_mels, n_mfcc):
    n = np.arange(n_mels)
    k = np.arange(n_mfcc)[:, None]
    matrix = np.sqrt(2.0 / n_mels) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels))
    matrix[0] *= np.sqrt(0.5)
    return matrix  # (n_mfcc, n_mels)


N_MFCC = audio_features.N_MFCC  # 40
full = dct_matrix(N_MELS, N_MELS)
print("the full DCT matrix is orthonormal:", np.allclose(full @ full.T, np.eye(N_MELS)))

mfcc = log_mel @ dct_matrix(N_MELS, N_MFCC).T  # (frames, n_mfcc)

fig, axes = plt.subplots(1, 2, figsize=(12, 3))
for k in range(4):
    axes[0].plot(dct_matrix(N_MELS, 4)[k], label=f"c{k}")
axes[0].legend()
axes[0].set_title("first DCT basis vectors over the mel bands")
image = axes[1].imshow(mfcc.T[1:], origin="lower", aspect="auto", cmap="coolwarm")
axes[1].set_title("MFCC c1..c39 (c0, the overall loudness, left out for contrast)")
axes[1].set_xlabel("frame")
plt.colorbar(image, ax=axes[1])
plt.tight_layout()
plt.show()

# smoothing: the first 13 coefficients, inverted, give the spectral envelope of a frame
envelope = mfcc[loud, :13] @ dct_matrix(N_MELS, 13)
plt.figure(figsize=(10, 2.8))
plt.plot(log_mel[loud], label="log-mel frame")
plt.plot(envelope, label="inverse DCT of c0..c12 (the envelope)")
plt.xlabel("mel band")
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. All steps in one function
#
# The seven steps above, assembled. The defaults are seed 001's settings (no pre-emphasis, periodic
# Hann, centred frames with reflect padding, HTK mel without normalisation, `top_db` 80,
# ortho DCT-II, 40 coefficients); every knob can be turned back to the classic recipe.

# %%
def mfcc_numpy(y, sr, n_fft=N_FFT, hop=HOP, n_mels=N_MELS, n_mfcc=N_MFCC, pre_emphasis_coef=0.0,
               window="hann", center=True, pad_mode="reflect", htk=True, slaney_norm=False, top_db=TOP_DB):
    x = pre_emphasis(y, pre_emphasis_coef) if pre_emphasis_coef else y  # 1. pre-emphasis
    x = frame(x.astype(np.float64), n_fft, hop, center, pad_mode)  # 2. framing
    a = 0.5 if window == "hann" else 0.46
    x = x * cosine_window(n_fft, a, periodic=(window == "hann"))  # 3. window
    S = np.abs(np.fft.rfft(x, axis=1)) ** 2  # 4. power spectrum
    M = S @ mel_filterbank(sr, n_fft, n_mels, htk=htk, slaney_norm=slaney_norm).T  # 5. mel filterbank
    L = power_to_db(M, top_db=top_db)  # 6. log
    return L @ dct_matrix(n_mels, n_mfcc).T  # 7. DCT -> (frames, n_mfcc)


ours = mfcc_numpy(y, sr)
print("our MFCC:", ours.shape)

# %% [markdown]
# ## 9. Check against librosa
#
# (a) With seed 001's settings, against `librosa.feature.melspectrogram` + `power_to_db` + `mfcc`
# written out with the same arguments. (b) With **librosa's own defaults** (22,050 Hz, `n_fft`
# 2048, hop 512, zero padding, Slaney mel with Slaney normalisation, 20 coefficients), against a
# plain `librosa.feature.mfcc(y=y, sr=sr)`. The differences are float rounding: our numpy runs
# in float64, librosa partly in float32.

# %%
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Empty filters detected": expected with 128 HTK mels at 8 kHz
    librosa_mel = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=N_FFT, hop_length=HOP, window="hann", center=True, pad_mode="reflect",
        power=2.0, n_mels=N_MELS, htk=True, norm=None)
librosa_seed001 = librosa.feature.mfcc(S=librosa.power_to_db(librosa_mel, ref=1.0, amin=AMIN, top_db=TOP_DB),
                                       n_mfcc=N_MFCC, dct_type=2, norm="ortho").T

ours_default = mfcc_numpy(y22, sr22, n_fft=2048, hop=512, n_mels=128, n_mfcc=20, pad_mode="constant",
                          htk=False, slaney_norm=True)
librosa_default = librosa.feature.mfcc(y=y22, sr=sr22).T

parity = pd.DataFrame([
    {"comparison": "numpy vs librosa, seed-001 settings (8 kHz, 40 MFCC)",
     "shape": str(ours.shape),
     "max |diff|": float(np.abs(ours - librosa_seed001).max()),
     "max |value|": float(np.abs(librosa_seed001).max())},
    {"comparison": "numpy vs librosa.feature.mfcc defaults (22.05 kHz, 20 MFCC)",
     "shape": str(ours_default.shape),
     "max |diff|": float(np.abs(ours_default - librosa_default).max()),
     "max |value|": float(np.abs(librosa_default).max())},
])
parity

# %% [markdown]
# ## 10. Check against `coaudiotext.features.audio`
#
# The package computes seed 001's MFCC three ways, all returning the **first 400 frames**
# (zero-padded at the end) and a key mask (1 = real frame):
#
# * `mfcc_reference(y)`: the librosa reference, one utterance at a time;
# * `mfcc_tf(y)`: `tf.signal`, graph-safe, for `tf.data.Dataset.map`;
# * the `MFCC` Keras layer (built from `keras.ops`, so it can run inside a model on a GPU) on a
#   padded batch `(waveforms, lengths)`.

# %%
import tensorflow as tf

reference, mask = audio_features.mfcc_reference(y)
real = int(mask.sum())
tf_features, tf_mask = audio_features.mfcc_tf(tf.constant(y))
batch, lengths = audio_features.pad_waveforms([y, y[: len(y) // 2]])  # a second, shorter row: padding must not leak
layer_features, layer_mask = audio_features.MFCC(name="mfcc")(batch, lengths=lengths)
layer_features = np.asarray(layer_features)

print(f"{real} real frames of {len(mask)}; ours has {len(ours)} frames")
checks = pd.DataFrame([
    {"comparison": "numpy (this notebook) vs mfcc_reference", "max |diff|": float(np.abs(ours[:real] - reference[:real]).max())},
    {"comparison": "mfcc_tf vs mfcc_reference", "max |diff|": float(np.abs(np.asarray(tf_features) - reference).max())},
    {"comparison": "MFCC layer (row 0 of a padded batch) vs mfcc_reference", "max |diff|": float(np.abs(layer_features[0] - reference).max())},
    {"comparison": "MFCC layer (short row 1) vs mfcc_reference of that row",
     "max |diff|": float(np.abs(layer_features[1] - audio_features.mfcc_reference(y[: len(y) // 2])[0]).max())},
])
checks

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3))
for axis, (title, values) in zip(axes, [("numpy (this notebook)", ours[:real]), ("mfcc_reference", reference[:real]),
                                       ("MFCC Keras layer", layer_features[0][:real])]):
    axis.imshow(values.T, origin="lower", aspect="auto", cmap="coolwarm")
    axis.set_title(title)
    axis.set_xlabel("frame")
axes[0].set_ylabel("coefficient")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 11. What pre-emphasis and the Hamming window change
#
# The classic recipe of seed 004 (pre-emphasis 0.97, Hamming window) gives different numbers
# from seed 001's (and librosa's) settings. Neither is "the" MFCC: a model must be trained and
# used with the same recipe, which is why `coaudiotext` stores the feature settings inside every
# trained model.

# %%
classic = mfcc_numpy(y, sr, pre_emphasis_coef=0.97, window="hamming")
print("mean |difference| per coefficient, classic recipe vs seed 001 (first 8):",
      np.abs(classic - ours).mean(axis=0)[:8].round(2))

repeats = 3 if FAST else 20
start = time.perf_counter()
for _ in range(repeats):
    mfcc_numpy(y, sr)
numpy_ms = 1000 * (time.perf_counter() - start) / repeats
start = time.perf_counter()
for _ in range(repeats):
    audio_features.mfcc_reference(y)
librosa_ms = 1000 * (time.perf_counter() - start) / repeats
print(f"one {len(y) / sr:.2f} s utterance: numpy {numpy_ms:.1f} ms, librosa reference {librosa_ms:.1f} ms")

# %% [markdown]
# ## Results
#
# The numbers this notebook just computed: largest absolute difference between our step-by-step
# numpy MFCC and each reference (MFCC values span roughly +-several hundred, so differences of
# 1e-3 or less are float32 rounding).

# %%
results = pd.concat([parity[["comparison", "max |diff|"]], checks], ignore_index=True)
results["max |diff|"] = results["max |diff|"].map(lambda v: f"{v:.2e}")
results

# %% [markdown]
# **What to take away.** An MFCC is seven small steps; every one has a knob (pre-emphasis,
# frame and hop, window, mel scale and normalisation, log floor and `top_db`, DCT scaling,
# number of coefficients), and different libraries turn them differently. With the knobs set
# alike, numpy, librosa, `tf.signal` and the Keras layer agree to float precision.
# Tutorial 08 feeds these features (first 400 frames + key mask) to the cross-modal Transformer.
