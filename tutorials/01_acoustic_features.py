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
# # 01. Acoustic features: mel spectrogram + RMS energy
#
# *CoAudioText tutorial, section 1: extracting acoustic features.*
#
# The tutorial describes every utterance by a **mel spectrogram** (128 mel bands, librosa
# defaults) and its **RMS energy**, frame by frame, and keeps the **last 200 frames**. Its code:
#
# ```python
# y, sr = librosa.load(filename)                      # 22,050 Hz
# D = np.abs(librosa.stft(y))**2                      # power spectrogram
# ss, phase = librosa.magphase(librosa.stft(y))
# rmse = librosa.feature.rmse(S=ss)                   # RMS energy per frame
# rmse = rmse/np.max(rmse)
# S = librosa.feature.melspectrogram(S=D)             # 128 mel bands, no log!
# data_s_rmse[i][:,0] = rmse[-mlen:,0]                # column 0: RMS
# data_s_rmse[i][:,1:] = S[-mlen:,:]                  # columns 1..128: mel power
# ```
#
# We rebuild it step by step next to librosa, then compare the three implementations in
# `coaudiotext.features.audio`: the librosa **reference**, the **`tf.signal`** version used by the
# `tf.data` pipeline, and the **Keras layer** `MelRMS` (which can run inside a model, on a GPU).

# %%
import os

FAST = os.environ.get("COAUDIOTEXT_FAST", "0") == "1"
DATA = "demo-tiny" if FAST else "demo"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import time

import keras
import librosa
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import soundfile
import tensorflow as tf
from IPython.display import Audio, Markdown, display

from coaudiotext import features
from coaudiotext.data import resolve_data
from coaudiotext.features import audio as audio_features

manifest, class_names = resolve_data(DATA)
table = pd.DataFrame(manifest.rows)
print(f"{DATA}: {len(table)} utterances")


def db(x):
    """Decibels, for display only (the tutorial's features have no log)."""
    return 10 * np.log10(np.maximum(x, 1e-10))


# %% [markdown]
# ## 1. Load an utterance
#
# A yes/no question and the same words as a statement, by one test voice. `load_audio` reads a file
# as mono float32 at 22,050 Hz (librosa's default rate, the tutorial's).

# %%
test = table[table.split == "test"]
question = test[test.label == "yn"].iloc[0]
statement = test[(test.label == "s") & (test.text == question.text) & (test.speaker == question.speaker)]
statement = statement.iloc[0] if len(statement) else test[test.label == "s"].iloc[0]

sr = audio_features.SAMPLE_RATE
y = audio_features.load_audio(question.audio_path, sr=sr)
print(f"'{question.text}?' ({question.speaker}): {len(y)} samples, {len(y) / sr:.2f} s at {sr} Hz")
display(Audio(y, rate=sr))

# %% [markdown]
# ## 2. Short-time Fourier transform and power spectrogram
#
# librosa's defaults: frames of `n_fft = 2048` samples (93 ms) every `hop = 512` samples (23 ms),
# periodic Hann window, frames **centred** on `t * hop` by padding `n_fft / 2` zeros on each side
# (`pad_mode="constant"` since librosa 0.10). That gives `1 + len(y) // 512` frames and
# `1 + 2048 / 2 = 1025` frequency bins. The tutorial squares the magnitude: a **power** spectrogram.

# %%
n_fft, hop = audio_features.N_FFT, audio_features.HOP_LENGTH
stft = librosa.stft(y, n_fft=n_fft, hop_length=hop, window="hann", center=True, pad_mode="constant")
magnitude = np.abs(stft)
D = magnitude**2
print("STFT:", stft.shape, "(bins, frames); expected frames:", 1 + len(y) // hop)

plt.figure(figsize=(10, 3))
plt.imshow(db(D), origin="lower", aspect="auto", cmap="magma", extent=[0, len(y) / sr, 0, sr / 2])
plt.colorbar(label="dB (display only)")
plt.xlabel("time (s)")
plt.ylabel("Hz")
plt.title("power spectrogram, 1025 bins")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Mel filterbank
#
# `librosa.feature.melspectrogram(S=D)` multiplies the power spectrogram by a `(128, 1025)` matrix of
# triangular filters on the **Slaney** mel scale (linear below 1 kHz, logarithmic above), each
# normalised to unit area. (Tutorial 10 builds such a filterbank from scratch.)

# %%
mel_basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=128)  # (128, 1025), Slaney scale and norm
S_manual = mel_basis @ D  # (128, frames)
S = librosa.feature.melspectrogram(S=D, sr=sr)
print("mel_basis @ D equals librosa.feature.melspectrogram(S=D):", np.allclose(S_manual, S, rtol=1e-5, atol=0))

fig, axes = plt.subplots(1, 2, figsize=(12, 3))
for band in range(0, 128, 12):
    axes[0].plot(librosa.fft_frequencies(sr=sr, n_fft=n_fft), mel_basis[band])
axes[0].set_xlim(0, 8000)
axes[0].set_xlabel("Hz")
axes[0].set_title("every 12th Slaney mel filter")
axes[1].imshow(db(S), origin="lower", aspect="auto", cmap="magma")
axes[1].set_xlabel("frame")
axes[1].set_ylabel("mel band")
axes[1].set_title("mel power spectrogram (dB for display)")
plt.tight_layout()
plt.show()

# %% [markdown]
# **No logarithm.** The tutorial feeds the mel *power* to the network as it is. Its values span
# many orders of magnitude: most of the input is close to 0 and a few loud low-frequency bins
# dominate. We keep this (faithful) because the published numbers were obtained with it; a log
# compression is the usual choice today.

# %%
print(f"mel power: max {S.max():.3g}, median {np.median(S):.3g}, "
      f"{(S < 1e-3 * S.max()).mean():.0%} of the values are below 1/1000 of the maximum")

# %% [markdown]
# ## 4. RMS energy
#
# `librosa.feature.rms(S=magnitude)` is the root-mean-square energy of each windowed frame,
# computed from the spectrum. By Parseval's theorem it equals `sqrt(mean(frame * window)^2)`
# computed on the samples (that is how the `tf.signal` version does it). The tutorial divides
# it by its maximum over the utterance, so column 0 lies in [0, 1].

# %%
rms = librosa.feature.rms(S=magnitude, frame_length=n_fft, hop_length=hop)[0]  # (frames,)
padded = np.pad(y, n_fft // 2)
frames = np.stack([padded[i * hop: i * hop + n_fft] for i in range(len(rms))])
window = librosa.filters.get_window("hann", n_fft)
rms_time = np.sqrt(np.mean((frames * window) ** 2, axis=1))
print(f"RMS from the spectrum vs from the samples: max relative difference "
      f"{np.abs(rms - rms_time).max() / rms.max():.1e}")
rms_normalised = rms / rms.max()

# %% [markdown]
# ## 5. 129 columns, the last 200 frames
#
# Column 0 is the normalised RMS, columns 1..128 the mel power: a `(frames, 129)` matrix. The
# tutorial keeps the **last** 200 frames (4.6 s) and pads shorter utterances with zeros **at the
# front**. Why the end? The intention is marked at the end of the sentence: the Korean
# sentence-final ending and, above all, the final rise or fall of the pitch. Aligning every
# utterance on its last frame puts that final tune at the same place, right before the BiLSTM's
# last step, and an over-long utterance loses its beginning, never its end.

# %%
frames_129 = np.concatenate([rms_normalised[:, None], S.T], axis=1)  # (frames, 129)
max_frames = audio_features.MAX_FRAMES
ours = np.zeros((max_frames, 129), dtype=np.float32)
kept = frames_129[-max_frames:]
ours[max_frames - len(kept):] = kept

reference = audio_features.mel_rms_reference(y)  # the package's librosa reference
print("ours:", ours.shape, "| max |ours - mel_rms_reference| / max:",
      f"{np.abs(ours - reference).max() / np.abs(reference).max():.1e}")

infos = [soundfile.info(path) for path in table.audio_path]
lengths_in_frames = np.array([1 + (info.frames * sr // info.samplerate) // hop for info in infos])
plt.figure(figsize=(8, 2.8))
plt.hist(lengths_in_frames, bins=30)
plt.axvline(max_frames, color="red", ls="--", label=f"{max_frames} frames kept")
plt.xlabel("utterance length (frames of 512 samples)")
plt.ylabel("utterances")
plt.legend()
plt.title(f"{DATA}: {(lengths_in_frames > max_frames).mean():.0%} of the utterances are longer than 200 frames")
plt.tight_layout()
plt.show()

# %% [markdown]
# What the model sees for the question and the statement: mostly front padding, then the
# utterance, ending at frame 199. (dB for display; row 0, the RMS, drawn on top.)

# %%
pair = [(question, "yn"), (statement, statement.label)]
fig, axes = plt.subplots(2, 2, figsize=(13, 6.5))
for column, (row, label) in enumerate(pair):
    x = audio_features.mel_rms_reference(audio_features.load_audio(row.audio_path))
    axis = axes[0, column]
    axis.imshow(db(x[:, 1:].T), origin="lower", aspect="auto", cmap="magma", vmin=-60)
    axis.plot(np.arange(max_frames), x[:, 0] * 127, color="cyan", lw=1, label="RMS (column 0, scaled)")
    axis.set_title(f"{label}: '{row.text}'")
    axis.set_xlabel("frame (last 200)")
    axis.set_ylabel("mel band")
    zoom = axes[1, column]  # the last 40 frames, low bands: the harmonics follow the pitch
    zoom.imshow(db(x[-40:, 1:41].T), origin="lower", aspect="auto", cmap="magma", vmin=-40,
                extent=[max_frames - 40, max_frames, 0, 40])
    zoom.set_title(f"{label}: last 40 frames, mel bands 0-40 (harmonics follow the pitch)")
    zoom.set_xlabel("frame")
    zoom.set_ylabel("mel band")
axes[0, 0].legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Three implementations that agree
#
# * `mel_rms_reference(y)`: librosa, one utterance at a time (the code above, packaged).
# * `mel_rms_tf(y)`: `tf.signal` (zero-pad `n_fft/2`, `tf.signal.frame`, Hann, `rfft`, power, matmul
#   by librosa's mel matrix as a constant, RMS from the framed samples). Graph-safe: it runs inside
#   `tf.data.Dataset.map`.
# * `MelRMS`: a Keras layer from `keras.ops`, for a padded batch `(waveforms, lengths)`; with the
#   lengths it is exact for every row, whatever the padding.
#
# We compare them on the mel columns in dB (over the bins within 80 dB of the maximum) and on the RMS.

# %%
def compare(name, candidate, reference):
    candidate, reference = np.asarray(candidate), np.asarray(reference)
    loud = reference[:, 1:] > reference[:, 1:].max() * 1e-8
    return {"implementation": name,
            "max |dB diff| (mel)": float(np.abs(db(candidate[:, 1:]) - db(reference[:, 1:]))[loud].max()),
            "max |diff| (RMS)": float(np.abs(candidate[:, 0] - reference[:, 0]).max())}


y2 = audio_features.load_audio(statement.audio_path)
batch, batch_lengths = audio_features.pad_waveforms([y, y2])
layer = audio_features.MelRMS(name="mel_rms")
layer_out = np.asarray(layer(batch, lengths=batch_lengths))

parity = pd.DataFrame([
    compare("mel_rms_tf (tf.signal)", audio_features.mel_rms_tf(tf.constant(y)), reference),
    compare("MelRMS layer, row 0 of a padded batch", layer_out[0], reference),
    compare("MelRMS layer, row 1 of a padded batch", layer_out[1], audio_features.mel_rms_reference(y2)),
])
parity

# %% [markdown]
# **Not** a match: `keras.layers.MelSpectrogram`. It looks like the same thing, but it uses the HTK
# mel scale without normalisation, reflect padding and (by default) a dB conversion with `top_db`
# per batch. Even with the dB switched off, its numbers are far from librosa's; this is why the
# package has its own layer.

# %%
keras_mel = keras.layers.MelSpectrogram(fft_length=n_fft, sequence_stride=hop, sampling_rate=sr, num_mel_bins=128,
                                        min_freq=0.0, max_freq=sr / 2, power_to_db=False)
keras_out = np.asarray(keras_mel(y[None]))[0].T  # (frames, 128)
keras_out = keras_out[-max_frames:]
reference_mel = reference[max_frames - len(keras_out):, 1:]
loud = reference_mel > reference_mel.max() * 1e-8
keras_gap = float(np.abs(db(keras_out) - db(reference_mel))[loud].max())
print(f"keras.layers.MelSpectrogram vs librosa: max |dB diff| {keras_gap:.1f} dB")

# %% [markdown]
# ## 7. The whole corpus through `tf.data`
#
# `coaudiotext.features.extract("mel_rms", paths)` decodes the files in parallel (soxr resampling in
# a `py_function`), pads them into batches and runs the batched `tf.signal` features. The training
# pipeline (`coaudiotext.data.pipeline.build_features`) calls it and caches the result on disk.

# %%
paths = list(table.audio_path[: 24 if FAST else 200])
start = time.perf_counter()
corpus_features = features.extract("mel_rms", paths, progress=False)
extract_seconds = time.perf_counter() - start
start = time.perf_counter()
reference_features = np.stack([audio_features.mel_rms_reference(audio_features.load_audio(p)) for p in paths])
reference_seconds = time.perf_counter() - start
relative = np.abs(corpus_features - reference_features).max() / np.abs(reference_features).max()
print(f"{len(paths)} files -> {corpus_features.shape}; tf.data {extract_seconds:.2f} s, "
      f"librosa loop {reference_seconds:.2f} s; max relative difference {relative:.1e}")

# %% [markdown]
# ## Results

# %%
results = pd.concat([
    parity.assign(**{"max |dB diff| (mel)": parity["max |dB diff| (mel)"].map("{:.1e}".format),
                     "max |diff| (RMS)": parity["max |diff| (RMS)"].map("{:.1e}".format)}),
    pd.DataFrame([{"implementation": "keras.layers.MelSpectrogram (not used)", "max |dB diff| (mel)": f"{keras_gap:.1f}",
                   "max |diff| (RMS)": "-"},
                  {"implementation": f"features.extract on {len(paths)} files (relative to reference)",
                   "max |dB diff| (mel)": f"{relative:.1e} (rel.)", "max |diff| (RMS)": "-"}]),
], ignore_index=True)
results

# %% [markdown]
# **Next**: tutorial 02 trains the tutorial's first model, a BiLSTM, on these `(200, 129)` frames.
