"""Training-time speaker augmentation of the tutorial's mel + RMS frames (opt-in; no original uses it).

A model trained on a few dozen voices learns their loudness and their pitch and formant ranges along with
the tune, and on a voice it has never heard it can mistake a rise for a fall. `speaker` augmentation
makes each training batch sound like other speakers. For every training example it draws:

- a **gain** `g`, log-uniform in `[1/GAIN, GAIN]` (`GAIN = 3`). The 128 mel power columns are multiplied by
  `g**2`. The RMS column is max-normalised, so it stays as it is. The demo voices' loudness varies about
  8-fold in RMS.
- a **frequency warp** `alpha`, uniform in `[1 - WARP, 1 + WARP]` (`WARP = 0.12`, about +-2 semitones). The
  mel spectrum is read at `f / alpha` for every band centre `f`, by linear interpolation between bands.
  Bands read from above the top band get 0. This moves F0, its harmonics and the formants together, like a
  higher or lower voice (vocal tract length perturbation).

The draws are stateless: they are a function of `(seed, global batch index)`. So an augmented run is as
deterministic as a plain one, and a resumed run gets the same draws as an uninterrupted one. Validation,
test and `predict` never see augmentation.

    python -m coaudiotext.train --model ca --augment speaker

Example:

>>> import numpy as np
>>> from coaudiotext.augment import speaker_augment
>>> x = np.random.rand(4, 200, 129).astype("float32")
>>> y = speaker_augment(x, seed=0, step=0).numpy()
>>> y.shape, bool(np.allclose(y[..., 0], x[..., 0]))
((4, 200, 129), True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["AUGMENTATIONS", "GAIN", "WARP", "warp_sources", "warp_frames", "speaker_draws", "speaker_augment",
           "augment_inputs"]

AUGMENTATIONS = ("none", "speaker")
"""Values of `--augment`."""

GAIN = 3.0
WARP = 0.12

# The Slaney mel scale of the tutorial's filterbank (librosa `htk=False`): linear below 1 kHz, log above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def _hz_to_mel(hz, ops):
    """Slaney mel of `hz` with the array module `ops` (NumPy or `tf.experimental.numpy`)."""
    linear = hz / _F_SP
    log = _MIN_LOG_MEL + ops.log(ops.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return ops.where(hz >= _MIN_LOG_HZ, log, linear)


def _band_centres(n_mels, sample_rate):
    """Centre frequencies (Hz) of librosa's `n_mels` Slaney mel bands from 0 Hz to `sample_rate / 2`."""
    import librosa

    return librosa.mel_frequencies(n_mels=n_mels + 2, fmin=0.0, fmax=sample_rate / 2.0, htk=False)[1:-1]


def warp_sources(alpha, n_mels=128, sample_rate=22050):
    """The fractional band index each band reads from under warp `alpha` (NumPy; for tests and plots).

    Band `b` (centre `f_b`) takes the spectrum at `f_b / alpha`; the result is that frequency's position on the
    band-centre grid, so `alpha = 1` gives `0, 1, ..., n_mels - 1`.
    """
    centres = _band_centres(n_mels, sample_rate)
    mel_step = _hz_to_mel(np.float64(sample_rate / 2.0), np) / (n_mels + 1)
    return _hz_to_mel(centres[None, :] / np.atleast_1d(alpha)[:, None], np) / mel_step - 1.0


def warp_frames(frames, alpha, power_gain, sample_rate=22050):
    """Warps the mel frequency axis by `alpha` and scales the mel power by `power_gain`, per example (TF ops).

    Args:
        frames: float32 `(batch, time, 1 + n_mels)`: column 0 the max-normalised RMS, then mel power.
        alpha: float32 `(batch,)`. Frequency factor: band `f` takes the spectrum at `f / alpha` (> 1: higher voice).
        power_gain: float32 `(batch,)`. Factor of the mel power columns.
        sample_rate: int. Sample rate of the features' filterbank. Defaults to 22050.

    Returns:
        float32 tensor of the same shape; column 0 unchanged, zero (padding) frames stay zero.
    """
    import tensorflow as tf

    frames = tf.convert_to_tensor(frames, tf.float32)
    n_mels = int(frames.shape[-1]) - 1
    centres = tf.constant(_band_centres(n_mels, sample_rate), tf.float32)
    mel_step = float(_hz_to_mel(np.float64(sample_rate / 2.0), np) / (n_mels + 1))
    alpha = tf.convert_to_tensor(alpha, tf.float32)
    source = _hz_to_mel(centres[None, :] / alpha[:, None], tf.experimental.numpy) / mel_step - 1.0  # (batch, n_mels)
    inside = tf.cast((source > -1e-3) & (source < n_mels - 1 + 1e-3), tf.float32)  # float32 slack at the ends
    source = tf.clip_by_value(source, 0.0, n_mels - 1.0)
    low = tf.minimum(tf.cast(tf.floor(source), tf.int32), n_mels - 2)
    weight = source - tf.cast(low, tf.float32)
    mel = frames[..., 1:]
    below = tf.gather(mel, low, axis=2, batch_dims=1)  # (batch, time, n_mels)
    above = tf.gather(mel, low + 1, axis=2, batch_dims=1)
    warped = (below * (1.0 - weight[:, None, :]) + above * weight[:, None, :]) * inside[:, None, :]
    power_gain = tf.convert_to_tensor(power_gain, tf.float32)
    return tf.concat([frames[..., :1], warped * power_gain[:, None, None]], axis=-1)


def speaker_draws(batch, seed, step, gain=GAIN, warp=WARP):
    """`(alpha, power_gain)` of a batch: stateless draws fixed by `(seed, step)` (see the module docstring)."""
    import tensorflow as tf

    key = tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
    draws = tf.random.stateless_uniform([batch, 2], seed=key, minval=-1.0, maxval=1.0)
    return 1.0 + warp * draws[:, 1], tf.exp(2.0 * draws[:, 0] * float(np.log(gain)))


def speaker_augment(frames, seed, step, gain=GAIN, warp=WARP, sample_rate=22050):
    """Applies a random gain and frequency warp per example to a batch of mel + RMS frames (TensorFlow ops).

    Args:
        frames: float32 `(batch, time, 1 + n_mels)`: column 0 the max-normalised RMS, then mel power.
        seed: int. Run seed.
        step: int or scalar int tensor. Global batch index; with `seed`, it fixes the draws.
        gain: float. Largest amplitude factor (>= 1); power is scaled by `g**2`. Defaults to `GAIN`.
        warp: float. Largest relative frequency warp (0 <= warp < 1). Defaults to `WARP`.
        sample_rate: int. Sample rate of the features' filterbank. Defaults to 22050.

    Returns:
        float32 tensor of the same shape (`warp_frames` with the draws of `speaker_draws`).
    """
    import tensorflow as tf

    alpha, power_gain = speaker_draws(tf.shape(frames)[0], seed, step, gain, warp)
    return warp_frames(frames, alpha, power_gain, sample_rate)


def augment_inputs(inputs, kinds, augment, seed, step):
    """`inputs` (a dict of batch tensors) with `augment` applied to every input whose feature kind is `mel_rms`.

    Args:
        inputs: dict input name -> batch tensor.
        kinds: dict input name -> feature kind (`mel_rms`, `chars`, ...).
        augment: str. One of `AUGMENTATIONS`.
        seed: int. Run seed.
        step: scalar int tensor. Global batch index.
    """
    if augment not in AUGMENTATIONS:
        raise ValueError(f"Unknown augmentation {augment!r}. Expected one of: {', '.join(AUGMENTATIONS)}.")
    if augment == "none":
        return inputs
    return {name: speaker_augment(value, seed, step) if kinds.get(name) == "mel_rms" else value
            for name, value in inputs.items()}
