"""GE2E speaker encoder (SER-MMoE's speaker expert) in Keras, with the real pretrained weights.

SER-MMoE (hannawong/Speech-Emotion-Recognition, `model/SER_mmoe/modeling/`) gates its emotion experts
with a 256-d GE2E speaker embedding (Wan et al., "Generalized End-to-End Loss for Speaker
Verification", ICASSP 2018). Its `SpeakerEncoder` (`GE2E_model.py`) is the Real-Time-Voice-Cloning /
Resemblyzer voice encoder, and its `encoder.pt` is byte-identical to `resemblyzer/pretrained.pt` in the
PyPI wheel `resemblyzer` 0.1.4 (Apache-2.0, Resemble.AI), so the weights here are the real ones.

**Model** (`ge2e_speaker_encoder`): 40 mel channels -> 3 stacked `LSTM(256)` -> the last frame of the
top layer (PyTorch's `hidden[-1]`) -> `Dense(256)` -> ReLU -> `x / (||x|| + 1e-5)` (the original's
epsilon; resemblyzer's `VoiceEncoder` divides by `||x||` alone). The two GE2E loss scalars of the
checkpoint (`similarity_weight` 70.89, `similarity_bias` -4.18) are not used by the forward pass and
are not part of the Keras model.

**Preprocessing** (`preprocess_wav`, the original's `audio.py`): resample to 16 kHz (soxr "HQ", librosa's
default resampler), raise the volume to -30 dBFS (never lower it), then shorten long silences with
webrtcvad (mode 3, 30 ms windows, moving average over 8 windows, dilation over 6) when webrtcvad can be
imported, exactly as the original does (`if webrtcvad and trim_silence`). Without webrtcvad the
silences stay in (a warning says so once): embeddings then differ from the original's on audio with
long pauses. `vad="on"` makes webrtcvad required, `vad="off"` skips trimming.

**Mel** (`wav_to_mel`): `librosa.feature.melspectrogram` at 16 kHz, `n_fft` 400 (25 ms), hop 160 (10 ms),
periodic Hann, centred frames, 40 Slaney mel bands, power 2, **no log**. Centring pads with zeros
(`pad_mode="constant"`, librosa >= 0.9 and resemblyzer); the original called the pre-0.10 positional
API, whose padding may have been `"reflect"` (librosa < 0.9). Only the first frame of an utterance
differs.

**Utterance embedding** (`embed_utterances`, the original's `inference.embed_utterance`): the
waveform is cut into partial windows of `partials_n_frames` mel frames, the partials go through the
encoder as one batch, and the utterance embedding is the L2-normalised mean of the partial embeddings.
The original slices **30-frame** partials (0.3 s, `params_data.py`; its comment says "1600 ms") with
50% overlap (`overlap=0.5`, a step of 15 frames); resemblyzer uses 160 frames and a step of
`round(16000 / rate / 160)` frames with `rate=1.3` partials per second. Both keep the last partial only
if at least 75% of it is covered by audio (`min_coverage`), zero-padding the waveform to its end. The
two settings give different utterance embeddings (cosine about 0.6-0.7 on demo speech): 30 frames is
the faithful default.

**Weights.** `weights/ge2e_encoder.weights.h5` at the repository root holds the converted checkpoint;
loading it needs neither torch nor resemblyzer. `python -m coaudiotext.features.ge2e convert` rebuilds
it from resemblyzer's `pretrained.pt` (needs the `ge2e` extra; `torch.load(..., weights_only=True)`).

Command line:

    python -m coaudiotext.features.ge2e embed a.wav b.wav --out speakers.npy
    python -m coaudiotext.features.ge2e embed a.wav --partials-n-frames 160 --rate 1.3 --out r.npy
    python -m coaudiotext.features.ge2e convert --out weights/ge2e_encoder.weights.h5
    python -m coaudiotext.features.ge2e report --voices 8 --utterances 6

Example:

>>> import numpy as np
>>> wave = np.random.default_rng(0).normal(0, 0.1, 16000).astype("float32")
>>> embed_utterances([wave], 16000, vad="off").shape                  # doctest: +SKIP
(1, 256)
>>> compute_partial_slices(16000)                 # 1 s: six 30-frame partials, 15 frames apart
[(0, 30), (15, 45), (30, 60), (45, 75), (60, 90), (75, 105)]
"""

from __future__ import annotations

import argparse
import functools
import os
import pathlib
import sys
import warnings

import keras
import numpy as np
from keras import ops

from coaudiotext._checks import check_choice

__all__ = [
    "SAMPLE_RATE",
    "N_MELS",
    "PARTIALS_N_FRAMES",
    "DEFAULT_WEIGHTS",
    "LastFrame",
    "GE2ENormalization",
    "ge2e_speaker_encoder",
    "frame_model",
    "load_encoder",
    "load_torch_state",
    "set_torch_weights",
    "convert_pretrained",
    "normalize_volume",
    "trim_long_silences",
    "preprocess_wav",
    "wav_to_mel",
    "compute_partial_slices",
    "partial_mels",
    "embed_utterances",
    "voice_clustering_report",
    "main",
]

# Audio and mel (params_data.py of the original; resemblyzer/hparams.py)
SAMPLE_RATE = 16000
MEL_WINDOW_LENGTH_MS = 25
MEL_WINDOW_STEP_MS = 10
N_FFT = SAMPLE_RATE * MEL_WINDOW_LENGTH_MS // 1000  # 400
HOP_LENGTH = SAMPLE_RATE * MEL_WINDOW_STEP_MS // 1000  # 160
N_MELS = 40
PAD_MODES = ("constant", "reflect")

# Partial utterances (inference.py: compute_partial_slices)
PARTIALS_N_FRAMES = 30  # the original's params_data.py; resemblyzer: 160
RESEMBLYZER_PARTIALS_N_FRAMES = 160
RESEMBLYZER_RATE = 1.3
OVERLAP = 0.5
MIN_COVERAGE = 0.75

# Volume normalisation and voice activity detection
AUDIO_NORM_TARGET_DBFS = -30.0
VAD_WINDOW_LENGTH_MS = 30
VAD_MOVING_AVERAGE_WIDTH = 8
VAD_MAX_SILENCE_LENGTH = 6
VAD_CHOICES = ("auto", "on", "off")
INT16_MAX = 2**15 - 1

# Model (params_model.py)
LSTM_UNITS = 256
EMBEDDING_UNITS = 256
NUM_LAYERS = 3
NORM_EPSILON = 1e-5

DEFAULT_WEIGHTS = pathlib.Path(__file__).resolve().parents[2] / "weights" / "ge2e_encoder.weights.h5"
"""The converted pretrained weights shipped in the repository's `weights/` folder."""


# --------------------------------------------------------------------------------------------
# Layers and model
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="coaudiotext")
class LastFrame(keras.layers.Layer):
    """The last time step of a sequence: `x[:, -1]`, i.e. the final hidden state of an unmasked RNN.

    PyTorch's `nn.LSTM` returns `hidden[-1]`, the top layer's state after the last frame; for the
    fixed-length partial windows of the GE2E encoder that is the last frame of its output sequence.

    Args:
        **kwargs: base `Layer` arguments.

    Input: `(batch, frames, units)`. Output: `(batch, units)`.

    Example:

    >>> LastFrame()(np.arange(6, dtype="float32").reshape(1, 3, 2)).numpy().tolist()
    [[4.0, 5.0]]
    """

    def call(self, inputs):
        return inputs[:, -1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="coaudiotext")
class GE2ENormalization(keras.layers.Layer):
    """L2 normalisation with the GE2E encoder's epsilon: `x / (||x||_2 + epsilon)` over the last axis.

    Args:
        epsilon: float. Added to the norm (not under the square root). The original's
            `SpeakerEncoder.forward` uses 1e-5; resemblyzer's `VoiceEncoder` uses 0. Defaults to 1e-5.
        **kwargs: base `Layer` arguments.

    Input and output: `(batch, units)`.

    Example:

    >>> GE2ENormalization(epsilon=0.0)(np.array([[3.0, 4.0]], "float32")).numpy().tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    def __init__(self, epsilon=NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        return inputs / (ops.sqrt(ops.sum(ops.square(inputs), axis=-1, keepdims=True)) + self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config


def ge2e_speaker_encoder(
    n_mels=N_MELS,
    lstm_units=LSTM_UNITS,
    embedding_units=EMBEDDING_UNITS,
    num_layers=NUM_LAYERS,
    epsilon=NORM_EPSILON,
    name="ge2e_speaker_encoder",
):
    """The GE2E `SpeakerEncoder` of SER-MMoE (`GE2E_model.py`) as a functional Keras model, random weights.

    Load the real weights with `load_encoder()` (or `model.load_weights(DEFAULT_WEIGHTS)`).

    Args:
        n_mels: int. Mel channels per frame. Defaults to 40.
        lstm_units: int. Units of each LSTM layer. Defaults to 256.
        embedding_units: int. Size of the embedding (the linear layer). Defaults to 256.
        num_layers: int. Stacked LSTM layers. Defaults to 3.
        epsilon: float. Added to the L2 norm of the embedding. Defaults to 1e-5.
        name: str. Model name. Defaults to `"ge2e_speaker_encoder"`.

    Input: a dict `{"mels": (batch, frames, n_mels)}` of power mel frames (see `wav_to_mel`).
    Output: `(batch, embedding_units)`, non-negative and L2-normalised.

    Example:

    >>> encoder = ge2e_speaker_encoder()
    >>> encoder.count_params()
    1420544
    >>> tuple(encoder({"mels": np.zeros((2, 30, 40), "float32")}).shape)
    (2, 256)
    """
    # Inputs
    mels = keras.Input((None, n_mels), name="mels")

    # Layers
    frames = mels
    for index in range(num_layers):
        frames = keras.layers.LSTM(lstm_units, return_sequences=True, name=f"ge2e_lstm_{index + 1}")(frames)
    # frames: (batch, frames, lstm_units), the top LSTM layer
    last = LastFrame(name="ge2e_last_frame")(frames)  # (batch, lstm_units) = torch hidden[-1]
    embedding = keras.layers.Dense(embedding_units, name="ge2e_linear")(last)
    embedding = keras.layers.ReLU(name="ge2e_relu")(embedding)
    embedding = GE2ENormalization(epsilon=epsilon, name="ge2e_normalize")(embedding)  # (batch, embedding_units)

    # Model
    return keras.Model({"mels": mels}, embedding, name=name)


def frame_model(encoder):
    """A model from the encoder's mel input to the frame-level output of its top LSTM layer.

    Args:
        encoder: keras.Model built by `ge2e_speaker_encoder`.

    Returns:
        keras.Model: `{"mels": (batch, frames, n_mels)}` -> `(batch, frames, lstm_units)`, sharing the
        encoder's weights.
    """
    top = [layer for layer in encoder.layers if layer.name.startswith("ge2e_lstm_")][-1]
    return keras.Model(encoder.input, top.output, name=f"{encoder.name}_frames")


def _check_weights_path(weights):
    path = pathlib.Path(weights if weights is not None else DEFAULT_WEIGHTS)
    if not path.exists():
        raise FileNotFoundError(
            f"GE2E weights not found: {str(path)!r}. Rebuild them from resemblyzer's checkpoint with "
            "`pip install webrtcvad-wheels && pip install --no-deps resemblyzer==0.1.4` (torch too) and "
            f"`python -m coaudiotext.features.ge2e convert --out {path}`."
        )
    return path


@functools.lru_cache(maxsize=4)
def _cached_encoder(path, mtime_ns):
    encoder = ge2e_speaker_encoder()
    encoder.load_weights(path)
    return encoder


def load_encoder(weights=None):
    """The GE2E speaker encoder with pretrained weights (no torch needed); cached per weights file.

    Args:
        weights: str, path-like or None. A `.weights.h5` file written by `convert_pretrained`;
            None = `DEFAULT_WEIGHTS` (the shipped `weights/ge2e_encoder.weights.h5`). Defaults to None.

    Returns:
        keras.Model from `ge2e_speaker_encoder()`, weights loaded.

    Raises:
        FileNotFoundError: the weights file is missing (the message says how to rebuild it).

    Example:

    >>> encoder = load_encoder()                                     # doctest: +SKIP
    """
    path = _check_weights_path(weights).resolve()
    return _cached_encoder(str(path), path.stat().st_mtime_ns)


def _resemblyzer_checkpoint():
    try:
        import resemblyzer  # noqa: F401  (needs webrtcvad at import)
    except ImportError as error:
        raise ImportError(
            "Converting the GE2E weights needs resemblyzer's pretrained.pt: "
            "`pip install torch==2.13.0 webrtcvad-wheels && pip install --no-deps resemblyzer==0.1.4`, "
            f"or pass --checkpoint PATH. ({error})"
        ) from error
    return pathlib.Path(resemblyzer.__file__).resolve().parent / "pretrained.pt"


def load_torch_state(checkpoint=None):
    """The `model_state` tensors of a GE2E checkpoint as float32 numpy arrays (needs torch).

    Args:
        checkpoint: str, path-like or None. A Real-Time-Voice-Cloning / resemblyzer / SER-MMoE
            `encoder.pt`; None = resemblyzer's installed `pretrained.pt`. Defaults to None.

    Returns:
        `(state, step)`: dict name -> np.ndarray (`lstm.weight_ih_l0`, ..., `linear.bias`,
        `similarity_weight`, `similarity_bias`) and the training step stored in the checkpoint.
    """
    import torch

    path = pathlib.Path(checkpoint) if checkpoint is not None else _resemblyzer_checkpoint()
    # weights_only=True: tensors and plain containers only, never arbitrary pickled objects
    stored = torch.load(path, map_location="cpu", weights_only=True)
    state = stored["model_state"] if "model_state" in stored else stored
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in state.items()}, stored.get("step")


def set_torch_weights(encoder, state):
    """Copies PyTorch `SpeakerEncoder` tensors (numpy, from `load_torch_state`) into a Keras encoder.

    `nn.LSTM` and `keras.layers.LSTM` share the gate order (input, forget, cell, output); Keras keeps
    transposed matrices and one bias, `bias_ih + bias_hh`.

    Args:
        encoder: keras.Model from `ge2e_speaker_encoder`.
        state: dict name -> np.ndarray.
    """
    lstms = [layer for layer in encoder.layers if layer.name.startswith("ge2e_lstm_")]
    for index, layer in enumerate(lstms):
        layer.set_weights(
            [
                state[f"lstm.weight_ih_l{index}"].T,
                state[f"lstm.weight_hh_l{index}"].T,
                state[f"lstm.bias_ih_l{index}"] + state[f"lstm.bias_hh_l{index}"],
            ]
        )
    encoder.get_layer("ge2e_linear").set_weights([state["linear.weight"].T, state["linear.bias"]])


def convert_pretrained(out=DEFAULT_WEIGHTS, checkpoint=None):
    """Converts resemblyzer's `pretrained.pt` (= SER-MMoE's `encoder.pt`) into Keras `.weights.h5`.

    Needs torch and (without `checkpoint`) resemblyzer: the `ge2e` extra.

    Args:
        out: str or path-like. Output file; must end in `.weights.h5`. Defaults to `DEFAULT_WEIGHTS`.
        checkpoint: str, path-like or None. The PyTorch checkpoint; None = resemblyzer's. Defaults to None.

    Returns:
        dict: `out`, the checkpoint's `step`, `similarity_weight`, `similarity_bias` and `params`.
    """
    out = pathlib.Path(out)
    if not out.name.endswith(".weights.h5"):
        raise ValueError(f"Expected `out` to end in '.weights.h5'. Received: out={str(out)!r}")
    state, step = load_torch_state(checkpoint)
    encoder = ge2e_speaker_encoder()
    set_torch_weights(encoder, state)
    from coaudiotext.cache import atomic_path

    with atomic_path(out) as tmp:
        encoder.save_weights(tmp)
    return {
        "out": str(out),
        "step": step,
        "similarity_weight": float(state["similarity_weight"][0]),
        "similarity_bias": float(state["similarity_bias"][0]),
        "params": int(encoder.count_params()),
    }


# --------------------------------------------------------------------------------------------
# Preprocessing and mel frames (the original's audio.py)
# --------------------------------------------------------------------------------------------


def normalize_volume(wav, target_dbfs=AUDIO_NORM_TARGET_DBFS, increase_only=True):
    """Scales a waveform to `target_dbfs` (RMS in dB re full scale 1.0); with `increase_only`, never quieter.

    Args:
        wav: 1-D float array.
        target_dbfs: float. Target RMS level in dBFS. Defaults to -30.
        increase_only: bool. Leave waveforms louder than the target unchanged (the original's setting).
            Defaults to True.

    Returns:
        np.ndarray float32, same shape. An all-zero waveform is returned unchanged (the original
        would produce NaN).

    Example:

    >>> y = normalize_volume(np.full(100, 0.001, "float32"))
    >>> round(float(20 * np.log10(np.sqrt(np.mean(y ** 2)))), 3)
    -30.0
    """
    wav = np.asarray(wav, dtype=np.float32)
    power = float(np.mean(np.square(wav, dtype=np.float64))) if wav.size else 0.0
    if power <= 0.0:
        return wav
    change = target_dbfs - 10.0 * np.log10(power)
    if change < 0 and increase_only:
        return wav
    return (wav * (10.0 ** (change / 20.0))).astype(np.float32)


def _webrtcvad():
    try:
        import webrtcvad
    except ImportError:
        return None
    return webrtcvad


def trim_long_silences(wav, sample_rate=SAMPLE_RATE):
    """Shortens silences to at most `VAD_MAX_SILENCE_LENGTH` windows with webrtcvad (the original's settings).

    The waveform is cut to a whole number of 30 ms windows, converted to 16-bit PCM, each window is
    classified by `webrtcvad.Vad(mode=3)`, the flags are smoothed by a centred moving average over 8
    windows and rounded, the voiced regions are dilated by 6 windows on each side (a 7-window
    structuring element... applied as in `scipy.ndimage.binary_dilation(mask, np.ones(7))`), and only
    the samples of the kept windows are returned.

    Args:
        wav: 1-D float array at `sample_rate`, nominally in [-1, 1].
        sample_rate: int. 8000, 16000, 32000 or 48000 (webrtcvad's rates). Defaults to 16000.

    Returns:
        np.ndarray float32, at most as long as `wav`.

    Raises:
        ImportError: webrtcvad is not installed (`pip install webrtcvad-wheels`).
    """
    webrtcvad = _webrtcvad()
    if webrtcvad is None:
        raise ImportError("trim_long_silences needs webrtcvad: `pip install webrtcvad-wheels`.")
    wav = np.asarray(wav, dtype=np.float32)
    window = VAD_WINDOW_LENGTH_MS * sample_rate // 1000
    wav = wav[: len(wav) - len(wav) % window]
    if wav.size == 0:
        return wav
    pcm = np.round(wav * INT16_MAX).astype(np.int16).astype("<i2").tobytes()  # as the original's struct.pack
    vad = webrtcvad.Vad(3)
    step = 2 * window  # bytes per window
    flags = np.array([vad.is_speech(pcm[i : i + step], sample_rate) for i in range(0, len(pcm), step)], float)
    width = VAD_MOVING_AVERAGE_WIDTH
    padded = np.concatenate([np.zeros((width - 1) // 2), flags, np.zeros(width // 2)])
    voiced = np.round(np.convolve(padded, np.ones(width), mode="valid") / width).astype(bool)
    dilation = VAD_MAX_SILENCE_LENGTH + 1
    from scipy.ndimage import binary_dilation

    voiced = binary_dilation(voiced, np.ones(dilation))
    return wav[np.repeat(voiced, window)]


_warned_no_vad = False


def preprocess_wav(wav, source_sr=SAMPLE_RATE, normalize=True, vad="auto"):
    """The original's `preprocess_wav`: resample to 16 kHz, normalise the volume, trim long silences.

    Args:
        wav: 1-D float array, or a path to an audio file (read at its own rate, then resampled).
        source_sr: int or None. Sample rate of `wav` (ignored for a path). Defaults to 16000.
        normalize: bool. Raise the volume to -30 dBFS (never lower it). Defaults to True.
        vad: str. `"auto"`: trim with webrtcvad when it can be imported, as the original does (a
            warning says once when it cannot); `"on"`: webrtcvad required; `"off"`: no trimming.
            Defaults to `"auto"`.

    Returns:
        np.ndarray float32 at 16 kHz.

    Example:

    >>> preprocess_wav(np.zeros(22050, "float32"), 22050, vad="off").shape
    (16000,)
    """
    global _warned_no_vad
    check_choice("vad", vad, VAD_CHOICES)
    if isinstance(wav, (str, os.PathLike)):
        import librosa

        path = os.fspath(wav)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Audio file not found: {path!r}.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wav, source_sr = librosa.load(path, sr=None, mono=True)
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"Expected a 1-D mono waveform. Received: shape={wav.shape}")
    if source_sr is not None and int(source_sr) != SAMPLE_RATE and wav.size:
        import librosa

        wav = librosa.resample(wav, orig_sr=int(source_sr), target_sr=SAMPLE_RATE, res_type="soxr_hq")
    if normalize:
        wav = normalize_volume(wav, AUDIO_NORM_TARGET_DBFS, increase_only=True)
    if vad == "on" or (vad == "auto" and _webrtcvad() is not None):
        wav = trim_long_silences(wav)
    elif vad == "auto" and not _warned_no_vad:
        _warned_no_vad = True
        warnings.warn("webrtcvad is not installed: GE2E preprocessing keeps long silences (the original trims "
                      "them). `pip install webrtcvad-wheels` to trim, or pass vad='off' to silence this.",
                      UserWarning, stacklevel=2)
    return np.ascontiguousarray(wav, dtype=np.float32)


def wav_to_mel(wav, pad_mode="constant"):
    """Power mel frames of a 16 kHz waveform, as the original's `wav_to_mel_spectrogram` (librosa).

    Args:
        wav: 1-D float array at 16 kHz (see `preprocess_wav`).
        pad_mode: str. Padding of the centred frames: `"constant"` (zeros; librosa >= 0.9,
            resemblyzer) or `"reflect"` (librosa < 0.9). Defaults to `"constant"`.

    Returns:
        np.ndarray float32 `(1 + len(wav) // 160, 40)`.

    Example:

    >>> wav_to_mel(np.zeros(16000, "float32")).shape
    (101, 40)
    """
    import librosa

    check_choice("pad_mode", pad_mode, PAD_MODES)
    wav = np.asarray(wav, dtype=np.float32)
    mel = librosa.feature.melspectrogram(y=wav, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH,
                                         n_mels=N_MELS, pad_mode=pad_mode)
    return np.ascontiguousarray(mel.T, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Partial utterances and utterance embeddings (the original's inference.py)
# --------------------------------------------------------------------------------------------


def compute_partial_slices(n_samples, partials_n_frames=PARTIALS_N_FRAMES, overlap=OVERLAP, rate=None,
                           min_coverage=MIN_COVERAGE):
    """Where to cut an utterance of `n_samples` samples into partial windows of mel frames.

    Windows start every `round(partials_n_frames * (1 - overlap))` frames (the original), or, with
    `rate`, every `round(16000 / rate / 160)` frames (resemblyzer), and cover the whole utterance; the
    last one is dropped when less than `min_coverage` of it lies over real samples, unless it is the
    only one.

    Args:
        n_samples: int. Length of the 16 kHz waveform.
        partials_n_frames: int. Frames per partial window. Defaults to 30 (the original; resemblyzer 160).
        overlap: float in [0, 1). Overlap of consecutive windows, used when `rate` is None. Defaults to 0.5.
        rate: float or None. Partial windows per second (resemblyzer's `rate`, 1.3 there); overrides
            `overlap`. Defaults to None.
        min_coverage: float in (0, 1]. Defaults to 0.75.

    Returns:
        list of `(start, stop)` mel frame ranges; the waveform must be zero-padded to
        `stop * 160` samples of the last one.

    Example:

    >>> compute_partial_slices(16000, 160, rate=1.3)
    [(0, 160)]
    """
    partials_n_frames = int(partials_n_frames)
    if partials_n_frames < 1:
        raise ValueError(f"Expected `partials_n_frames` >= 1. Received: partials_n_frames={partials_n_frames}")
    if not 0 < min_coverage <= 1:
        raise ValueError(f"Expected 0 < `min_coverage` <= 1. Received: min_coverage={min_coverage}")
    if rate is None:
        if not 0 <= overlap < 1:
            raise ValueError(f"Expected 0 <= `overlap` < 1. Received: overlap={overlap}")
        frame_step = max(int(np.round(partials_n_frames * (1 - overlap))), 1)
    else:
        if rate <= 0:
            raise ValueError(f"Expected `rate` > 0 partial windows per second. Received: rate={rate}")
        frame_step = int(np.round((SAMPLE_RATE / rate) / HOP_LENGTH))
        lowest = SAMPLE_RATE / (HOP_LENGTH * partials_n_frames)
        if not 0 < frame_step <= partials_n_frames:
            raise ValueError(f"Expected `rate` between {lowest:g} and about {SAMPLE_RATE / HOP_LENGTH:g} for "
                             f"{partials_n_frames}-frame partials (windows must touch). Received: rate={rate}")
    n_frames = int(np.ceil((n_samples + 1) / HOP_LENGTH))
    steps = max(1, n_frames - partials_n_frames + frame_step + 1)
    slices = [(start, start + partials_n_frames) for start in range(0, steps, frame_step)]
    start = slices[-1][0] * HOP_LENGTH
    coverage = (n_samples - start) / (partials_n_frames * HOP_LENGTH)
    if coverage < min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices


def partial_mels(wav, partials_n_frames=PARTIALS_N_FRAMES, overlap=OVERLAP, rate=None, min_coverage=MIN_COVERAGE,
                 pad_mode="constant"):
    """The partial mel windows of one preprocessed 16 kHz utterance, as the original's `embed_utterance` cuts them.

    Args:
        wav: 1-D float array at 16 kHz, preprocessed (`preprocess_wav`).
        partials_n_frames, overlap, rate, min_coverage: see `compute_partial_slices`.
        pad_mode: str. See `wav_to_mel`. Defaults to `"constant"`.

    Returns:
        np.ndarray float32 `(n_partials, partials_n_frames, 40)`.
    """
    wav = np.asarray(wav, dtype=np.float32)
    slices = compute_partial_slices(len(wav), partials_n_frames, overlap, rate, min_coverage)
    needed = slices[-1][1] * HOP_LENGTH
    if needed >= len(wav):
        wav = np.pad(wav, (0, needed - len(wav)))
    mel = wav_to_mel(wav, pad_mode)
    return np.stack([mel[start:stop] for start, stop in slices])


def embed_utterances(waves, sample_rate=SAMPLE_RATE, partials_n_frames=PARTIALS_N_FRAMES, overlap=OVERLAP,
                     rate=None, min_coverage=MIN_COVERAGE, preprocess=True, vad="auto", pad_mode="constant",
                     weights=None, encoder=None, batch_size=64, return_partials=False):
    """GE2E utterance embeddings: preprocess, cut into partial windows, encode, average, L2-normalise.

    Args:
        waves: list of 1-D float arrays at `sample_rate`, or of audio file paths (read at their own rate).
        sample_rate: int. Sample rate of the arrays in `waves`. Defaults to 16000.
        partials_n_frames: int. Mel frames per partial window: 30 as the SER-MMoE original, 160 as
            resemblyzer. Defaults to 30.
        overlap: float. Overlap of consecutive windows (the original's parameter). Defaults to 0.5.
        rate: float or None. Partial windows per second instead of `overlap` (resemblyzer's
            parameter: pass 1.3 with 160 frames to reproduce `VoiceEncoder.embed_utterance`). Defaults to None.
        min_coverage: float. Keep the last window if this share of it is real audio. Defaults to 0.75.
        preprocess: bool. Apply `preprocess_wav` (resampling, volume, VAD); False expects 16 kHz waveforms
            that are already preprocessed. Defaults to True.
        vad: str. `"auto"`, `"on"` or `"off"`, see `preprocess_wav`. Defaults to `"auto"`.
        pad_mode: str. See `wav_to_mel`. Defaults to `"constant"`.
        weights: str, path-like or None. Weights file for `load_encoder`. Defaults to None (shipped weights).
        encoder: keras.Model or None. An encoder to use instead of `load_encoder(weights)`. Defaults to None.
        batch_size: int. Partial windows per encoder call; every call gets exactly this many (the
            last batch is zero-padded), so the encoder compiles once per window size. Defaults to 64.
        return_partials: bool. Also return the partial embeddings of each utterance. Defaults to False.

    Returns:
        np.ndarray float32 `(len(waves), 256)`, unit norm; with `return_partials`, also a list of
        `(n_partials_i, 256)` arrays.

    Example:

    >>> waves = [np.random.default_rng(i).normal(0, .1, 24000).astype("float32") for i in range(2)]
    >>> embed_utterances(waves, 16000, vad="off").shape                 # doctest: +SKIP
    (2, 256)
    """
    if isinstance(waves, (str, os.PathLike)) or (isinstance(waves, np.ndarray) and waves.ndim == 1):
        raise ValueError("Expected `waves` to be a list of waveforms or paths. Received a single one: wrap it in [].")
    check_choice("vad", vad, VAD_CHOICES)
    if encoder is None:
        encoder = load_encoder(weights)
    windows = []
    for wave in waves:
        if preprocess:
            wave = preprocess_wav(wave, sample_rate, vad=vad)
        elif isinstance(wave, (str, os.PathLike)):
            raise ValueError("preprocess=False expects waveforms, not paths.")
        elif sample_rate != SAMPLE_RATE:
            raise ValueError(f"preprocess=False expects 16 kHz waveforms. Received: sample_rate={sample_rate}")
        windows.append(partial_mels(wave, partials_n_frames, overlap, rate, min_coverage, pad_mode))
    if not windows:
        empty = np.zeros((0, EMBEDDING_UNITS), np.float32)
        return (empty, []) if return_partials else empty
    counts = [len(w) for w in windows]
    stacked = np.concatenate(windows)  # (total partials, partials_n_frames, 40)
    # Fixed-shape batches (the last one zero-padded): one compiled graph per window size, not per batch
    batch_size = int(batch_size)
    padded = np.zeros((-(-len(stacked) // batch_size) * batch_size,) + stacked.shape[1:], np.float32)
    padded[: len(stacked)] = stacked
    partials = np.concatenate([
        np.asarray(encoder.predict_on_batch({"mels": padded[i : i + batch_size]}))
        for i in range(0, len(padded), batch_size)
    ])[: len(stacked)]
    groups = np.split(partials, np.cumsum(counts)[:-1])
    means = np.stack([group.mean(axis=0) for group in groups])
    embeddings = (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)
    return (embeddings, groups) if return_partials else embeddings


# --------------------------------------------------------------------------------------------
# Voice clustering on the demo corpus
# --------------------------------------------------------------------------------------------


def _clustering_metrics(embeddings, labels):
    """Leave-one-out nearest-centroid accuracy and mean same/cross-voice cosine of unit vectors."""
    labels = np.asarray(labels)
    classes = sorted(set(labels.tolist()))
    similarity = embeddings @ embeddings.T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    correct = 0
    for i in range(len(labels)):
        scores = []
        for name in classes:
            members = (labels == name) & (np.arange(len(labels)) != i)
            centroid = embeddings[members].mean(axis=0)
            scores.append(float(embeddings[i] @ centroid / np.linalg.norm(centroid)))
        correct += classes[int(np.argmax(scores))] == labels[i]
    return {
        "nearest_centroid_accuracy": correct / len(labels),
        "same_voice_cosine": float(similarity[same & off_diagonal].mean()),
        "cross_voice_cosine": float(similarity[~same].mean()),
    }


def voice_clustering_report(num_voices=8, utterances_per_voice=6, partials_n_frames=(30, 160), seed=0,
                            weights=None, vad="auto"):
    """Do GE2E embeddings of the demo corpus's espeak-ng voices cluster by voice?

    Renders `utterances_per_voice` hand-written scripts with each of `num_voices` demo speakers (the
    unseen test voices of `coaudiotext.data.voices.speaker_pool(0, num_voices, seed)`: distinct
    variants, jittered pitch, range and rate), every voice speaking the same texts, so that clustering
    by voice is not clustering by text. Embeds them at each partial window size (the original's
    overlap 0.5) and scores each window size.

    Args:
        num_voices: int. Demo speakers. Defaults to 8.
        utterances_per_voice: int. Scripts spoken by every speaker (at least 2). Defaults to 6.
        partials_n_frames: sequence of int. Window sizes compared. Defaults to (30, 160).
        seed: int. Speaker pool seed. Defaults to 0.
        weights: str, path-like or None. See `load_encoder`. Defaults to None.
        vad: str. See `preprocess_wav`. Defaults to `"auto"`.

    Returns:
        dict: `voices` (espeak-ng specs), `texts`, and per window size `{frames: {"nearest_centroid_accuracy"
        (leave-one-out: each utterance against the voice centroids without itself), "same_voice_cosine"
        (mean over pairs of distinct utterances of one voice), "cross_voice_cosine"}}`, plus
        `"cosine_between_window_sizes"` (mean cosine of the same utterance's embeddings at the first two sizes).

    Example:

    >>> report = voice_clustering_report(num_voices=4, utterances_per_voice=3)   # doctest: +SKIP
    >>> report[30]["nearest_centroid_accuracy"]                                 # doctest: +SKIP
    1.0
    """
    from coaudiotext.data.espeak import render
    from coaudiotext.data.manifest import PUNCTUATION
    from coaudiotext.data.script_files import handwritten_scripts
    from coaudiotext.data.voices import speaker_pool

    if int(utterances_per_voice) < 2:
        raise ValueError(f"Expected `utterances_per_voice` >= 2. Received: utterances_per_voice={utterances_per_voice}")
    _, speakers = speaker_pool(0, int(num_voices), seed=seed)
    scripts, seen = [], set()
    for text, label in handwritten_scripts():
        if text not in seen:
            seen.add(text)
            scripts.append(text + PUNCTUATION[label])
        if len(scripts) == utterances_per_voice:
            break
    waves, labels, sample_rate = [], [], None
    for speaker in speakers:
        for text in scripts:
            samples, sample_rate = render(text, speaker.voice, speaker.rate, speaker.pitch, speaker.pitch_range)
            waves.append(samples)
            labels.append(speaker.speaker)
    encoder = load_encoder(weights)
    report = {
        "voices": [f"{s.voice}:{s.pitch}:{s.rate}:{s.pitch_range}" for s in speakers],
        "texts": scripts,
    }
    embeddings = {}
    for frames in partials_n_frames:
        embeddings[int(frames)] = embed_utterances(waves, sample_rate, partials_n_frames=int(frames), vad=vad,
                                                   encoder=encoder)
        report[int(frames)] = _clustering_metrics(embeddings[int(frames)], labels)
    sizes = list(embeddings)
    if len(sizes) >= 2:
        report["cosine_between_window_sizes"] = float(np.mean(np.sum(embeddings[sizes[0]] * embeddings[sizes[1]], 1)))
    return report


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.features.ge2e",
        description="GE2E speaker encoder of SER-MMoE (the Real-Time-Voice-Cloning / resemblyzer voice "
                    "encoder) in Keras, with the real pretrained weights: 256-d speaker embeddings of audio files.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n"
               "  python -m coaudiotext.features.ge2e embed a.wav b.flac --out speakers.npy\n"
               "  python -m coaudiotext.features.ge2e embed a.wav --partials-n-frames 160 --rate 1.3 --out r.npy"
               "   # as resemblyzer\n"
               "  python -m coaudiotext.features.ge2e convert --out weights/ge2e_encoder.weights.h5"
               "   # needs torch + resemblyzer\n"
               "  python -m coaudiotext.features.ge2e report --voices 8 --utterances 6",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    embed = commands.add_parser(
        "embed", help="embed audio files into an (N, 256) .npy array, one row per file in order",
        description="Embeds each audio file (any rate; resampled to 16 kHz, volume-normalised, long silences "
                    "trimmed with webrtcvad when installed) as the L2-normalised mean of its partial-window "
                    "embeddings, and saves an (N, 256) float32 array.")
    embed.add_argument("wavs", nargs="+", metavar="WAV", help="audio files (wav, flac, ogg, ...)")
    embed.add_argument("--out", required=True, help="output .npy file, rows in the order of WAV")
    embed.add_argument("--partials-n-frames", type=int, default=PARTIALS_N_FRAMES,
                       help="mel frames (10 ms) per partial window: 30 as SER-MMoE (default), 160 as resemblyzer")
    embed.add_argument("--overlap", type=float, default=OVERLAP,
                       help="overlap of consecutive windows, 0 <= x < 1 (default 0.5, the original)")
    embed.add_argument("--rate", type=float, default=None,
                       help="partial windows per second instead of --overlap (resemblyzer: 1.3)")
    embed.add_argument("--min-coverage", type=float, default=MIN_COVERAGE,
                       help="keep the last window if this share of it is audio (default 0.75)")
    embed.add_argument("--vad", choices=VAD_CHOICES, default="auto",
                       help="silence trimming with webrtcvad: auto (if installed, default), on (required), off")
    embed.add_argument("--weights", default=None, help=f"Keras weights file (default: {DEFAULT_WEIGHTS})")

    convert = commands.add_parser(
        "convert", help="convert resemblyzer's pretrained.pt into Keras .weights.h5 (needs torch + resemblyzer)",
        description="Converts the PyTorch GE2E checkpoint (resemblyzer 0.1.4's pretrained.pt, byte-identical to "
                    "SER-MMoE's encoder.pt) into Keras weights, loading it with torch.load(weights_only=True).")
    convert.add_argument("--out", default=str(DEFAULT_WEIGHTS), help="output .weights.h5 file")
    convert.add_argument("--checkpoint", default=None, help="a GE2E encoder.pt (default: resemblyzer's)")

    report = commands.add_parser(
        "report", help="do embeddings of demo espeak-ng voices cluster by voice? (30 vs 160 frames)",
        description="Renders the same hand-written scripts with several demo voices, embeds them at each window "
                    "size, and prints the leave-one-out nearest-centroid voice accuracy and the mean same-voice "
                    "and cross-voice cosine.")
    report.add_argument("--voices", type=int, default=8, help="demo voices (default 8)")
    report.add_argument("--utterances", type=int, default=6, help="utterances per voice (default 6)")
    report.add_argument("--frames", type=int, nargs="+", default=[30, 160], help="window sizes (default 30 160)")
    report.add_argument("--seed", type=int, default=0, help="speaker pool seed (default 0)")
    report.add_argument("--weights", default=None, help="Keras weights file (default: the shipped one)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "embed":
        embeddings = embed_utterances(args.wavs, None, args.partials_n_frames, args.overlap, args.rate,
                                      args.min_coverage, vad=args.vad, weights=args.weights)
        out = pathlib.Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, embeddings)
        print(f"Wrote {out}: {embeddings.shape[0]} x {embeddings.shape[1]} GE2E embeddings "
              f"({args.partials_n_frames}-frame partials).")
    elif args.command == "convert":
        info = convert_pretrained(args.out, args.checkpoint)
        print(f"Wrote {info['out']}: {info['params']:,} parameters from a checkpoint at step {info['step']} "
              f"(GE2E similarity weight {info['similarity_weight']:.4f}, bias {info['similarity_bias']:.4f}, "
              "not part of the encoder).")
    else:
        result = voice_clustering_report(args.voices, args.utterances, args.frames, args.seed, args.weights)
        print(f"{len(result['voices'])} voices x {len(result['texts'])} utterances: {', '.join(result['voices'])}")
        for frames in args.frames:
            row = result[frames]
            print(f"{frames:4d} frames: nearest-centroid voice accuracy {row['nearest_centroid_accuracy']:.3f}, "
                  f"same-voice cosine {row['same_voice_cosine']:.3f}, "
                  f"cross-voice cosine {row['cross_voice_cosine']:.3f}")
        if "cosine_between_window_sizes" in result:
            print(f"cosine between the window sizes' embeddings of one utterance: "
                  f"{result['cosine_between_window_sizes']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
