"""espeak-ng through ctypes: bit-exact rendering of one utterance, and the voices it knows.

`render(text, voice)` speaks `text` with espeak-ng (bundled by the `espeakng-loader` wheel, no system
package) and returns float32 samples at 22,050 Hz. The punctuation in `text` picks the tune: `.` falls,
`?` rises, `!` is exclamatory. Rendering is serialised (espeak-ng is a global C library) and bit-exact:
the library is loaded afresh for every utterance and its random sources are seeded from the text and voice.

Example:

>>> from coaudiotext.data.espeak import render
>>> samples, sr = render("close the window?", voice="en-us+f3")
>>> sr
22050
"""

import contextlib
import ctypes
import functools
import os
import pathlib
import shutil
import tempfile
import threading
import zlib

import numpy as np

__all__ = ["SAMPLE_RATE", "render", "list_voices", "check_variant", "check_range", "RATE_LIMITS", "PITCH_LIMITS"]

SAMPLE_RATE = 22050
"""espeak-ng's native sample rate; every rendered utterance uses it."""

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_EE_OK = 0
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
RATE_LIMITS, PITCH_LIMITS = (80, 450), (0, 99)

_CALLBACK_TYPE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_LOCK = threading.RLock()
_chunks = []
_private_library = None


def _collect(wav, num_samples, events):
    if wav and num_samples > 0:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
    return 0


_CALLBACK = _CALLBACK_TYPE(_collect)  # kept alive for the life of the module


def _espeakng_loader():
    try:
        import espeakng_loader
    except ImportError as error:  # pragma: no cover - dependency is in requirements
        raise ImportError(
            "The demo corpus needs the `espeakng-loader` package (libespeak-ng and its data as a wheel): "
            "pip install espeakng-loader"
        ) from error
    return espeakng_loader


def _library_path():
    """Path of a private copy of libespeak-ng, so our dlopen/dlclose never shares state with other users."""
    global _private_library
    if _private_library is None or not os.path.exists(_private_library):
        source = _espeakng_loader().get_library_path()
        folder = tempfile.mkdtemp(prefix="coaudiotext-espeak-")
        target = os.path.join(folder, "libespeak-ng-coaudiotext" + os.path.splitext(source)[1])
        shutil.copyfile(source, target)
        import atexit

        atexit.register(shutil.rmtree, folder, True)
        _private_library = target
    return _private_library


def _dlclose(handle):
    import _ctypes

    closer = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if closer is not None:
        closer(handle)


@contextlib.contextmanager
def _fresh_engine():
    """A freshly loaded, initialised espeak-ng (all its static state zeroed); closed afterwards.

    espeak-ng keeps hidden state between utterances (pitch flutter phase, waveform phase, gain control),
    so the same call renders slightly different samples depending on what came before. Loading the
    library anew per utterance makes every render bit-exact; it costs about 5 ms (dictionary loading).
    Two random sources remain and are seeded by `render`: espeak-ng's own generator (breath noise of
    variants such as `f2`, `f3`, `victor`), which `espeak_ng_Initialize` seeds from the clock, and libc
    `rand()` (the `klatt3` speech player).
    """
    loader = _espeakng_loader()
    lib = ctypes.CDLL(_library_path())
    try:
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(loader.get_data_path()), 0)
        if rate != SAMPLE_RATE:
            raise RuntimeError(f"espeak-ng initialisation failed or runs at {rate} Hz (expected {SAMPLE_RATE}).")
        lib.espeak_SetSynthCallback(_CALLBACK)
        if hasattr(lib, "espeak_ng_SetRandSeed"):
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            lib.espeak_ng_SetRandSeed.restype = None
        yield lib
    finally:
        with contextlib.suppress(Exception):
            lib.espeak_Terminate()
        _dlclose(lib._handle)


def check_range(name, value, limits, default):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not limits[0] <= value <= limits[1]:
        raise ValueError(f"Expected `{name}` to be an integer in [{limits[0]}, {limits[1]}] or None. "
                         f"Received: {name}={value!r}")
    return int(value)


def render(text, voice="en-us", rate=None, pitch=None, pitch_range=None):
    """Speaks `text` with espeak-ng and returns the samples.

    The punctuation in `text` chooses the tune: `.` falls, `?` rises, `!` is exclamatory. Rendering is
    serialised (espeak-ng is a global C library) and bit-exact: the same arguments always give the same
    samples.

    Args:
        text: str. What to say, including any clause-final punctuation.
        voice: str. An espeak-ng voice, optionally with a variant: `"en-us"`, `"en-gb-x-rp"`,
            `"en-us+f3"`, `"en+klatt2"`, `"ko"`. See `list_voices()`. Defaults to `"en-us"`.
        rate: int or None. Speaking rate in words per minute, 80-450; None = espeak-ng's 175.
        pitch: int or None. Base pitch, 0-99 (50 = the voice's own pitch; the scale is about x0.5 at 0
            and x2 at 99); None = 50.
        pitch_range: int or None. Intonation range, 0-99 (0 = monotone); None = 50.

    Returns:
        `(samples, sample_rate)`: float32 array `(num_samples,)` in [-1, 1] and `22050`.

    Example:

    >>> samples, sr = render("you locked the door?", voice="en-us+m3", rate=160, pitch=45)
    >>> samples.dtype, sr
    (dtype('float32'), 22050)
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"Expected `text` to be a non-empty string. Received: text={text!r}")
    if not isinstance(voice, str) or not voice.strip():
        raise ValueError(f"Expected `voice` to be an espeak-ng voice name such as 'en-us+f3'. Received: voice={voice!r}")
    rate = check_range("rate", rate, RATE_LIMITS, 175)
    pitch = check_range("pitch", pitch, PITCH_LIMITS, 50)
    pitch_range = check_range("pitch_range", pitch_range, PITCH_LIMITS, 50)
    check_variant(voice)
    encoded = text.encode("utf-8")
    with _LOCK, _fresh_engine() as lib:
        status = lib.espeak_SetVoiceByName(voice.strip().encode("utf-8"))
        if status != _EE_OK:
            languages, variants = list_voices()
            raise ValueError(
                f"Unknown espeak-ng voice {voice!r} (espeak-ng status {status}). Expected LANGUAGE or "
                f"LANGUAGE+VARIANT, e.g. 'en-us+f3'. English languages: "
                f"{', '.join(v for v in languages if v.startswith('en'))}; variants: {', '.join(variants)}."
            )
        lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        lib.espeak_SetParameter(_PARAM_RANGE, pitch_range, 0)
        _chunks.clear()
        seed = zlib.crc32(f"{voice}|{text}".encode("utf-8"))
        if hasattr(lib, "espeak_ng_SetRandSeed"):  # breath noise; Initialize seeded it with time()
            lib.espeak_ng_SetRandSeed(seed)
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).srand(seed)  # the klatt3 speech player draws from libc rand()
        status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        if status != _EE_OK:
            raise RuntimeError(f"espeak-ng failed to synthesise {text!r} with voice {voice!r} (status {status}).")
        samples = np.concatenate(_chunks) if _chunks else np.zeros(0, np.int16)
        _chunks.clear()
    return samples.astype(np.float32) / 32768.0, SAMPLE_RATE


def check_variant(voice):
    # espeak-ng silently ignores an unknown variant ('en-us+bogus' speaks plain en-us): check it here.
    if "+" in voice:
        variant = voice.split("+", 1)[1].strip()
        variants = list_voices()[1]
        if variant not in variants:
            raise ValueError(f"Unknown espeak-ng voice variant {variant!r} in voice={voice!r}. "
                             f"Expected one of: {', '.join(variants)}.")


@functools.lru_cache(maxsize=None)
def list_voices():
    """The espeak-ng language voices and voice variants bundled with `espeakng_loader`.

    Returns:
        `(languages, variants)`: sorted tuples of names usable as `LANGUAGE` and `LANGUAGE+VARIANT`.
    """
    data = pathlib.Path(_espeakng_loader().get_data_path())
    languages = sorted({p.name.lower() for p in (data / "lang").rglob("*") if p.is_file()})
    variants = sorted(p.name for p in (data / "voices" / "!v").iterdir() if p.is_file())
    return tuple(languages), tuple(variants)
