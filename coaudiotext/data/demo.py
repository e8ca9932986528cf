"""The embedded synthetic intention corpus (`demo`): the ProSem problem, made licence-free.

The same words carry different intentions depending on intonation. A script file (TSV with the header
`text<TAB>label`) lists short English sentences; each is *spoken* by espeak-ng as `text + punctuation`,
where the clause-final punctuation comes from the label (espeak-ng picks a falling, rising or exclamatory
tune from it), and *transcribed* as `text` without punctuation, as speech recognition would produce it.

Labels are ProSem codes, with their punctuation (`PUNCTUATION`):

| label | meaning | spoken as |
|---|---|---|
| `s` | statement | `text.` |
| `yn` | yes/no question | `text?` |
| `wh` | wh-question | `text.` |
| `c` | command | `text!` |
| `r` | request | `text?` |

Scripts come in three forms (`FORMS`): declarative (`s`/`yn`), wh-form (`wh`/`yn`, the latter an echo
question) and imperative (`c`/`r`). Every embedded script appears once with every label its form admits,
so the text alone is capped at 50% accuracy and the tune alone cannot tell the form; together they can.
`yn` belongs to two forms, so it is twice as frequent as each other label (1/3 of the utterances).

Voices are espeak-ng language voices combined with voice variants (`en-us+f3`, `en-gb-x-rp+klatt4`, ...),
each with its own pitch, pitch-range and rate jitter; each combination is one `speaker`. The default
corpus has three splits: `train`, `val` (held-out scripts of the training voices; scripts seen in training
with other voices) and `test` (unseen voices **and** unseen scripts). Everything is deterministic from the
seed: rendering is bit-exact for a given (text, voice, rate, pitch), whatever was rendered before.

Entry points:

* `render(text, voice)`: one utterance as float32 samples at 22,050 Hz.
* `build_demo_corpus(out_dir)`: writes `out_dir/manifest.csv` (`audio_path,text,label,speaker,split`)
  and the wav files.
* `demo_manifest(size)`: the cached corpus under `$COAUDIOTEXT_CACHE` (or `~/.cache/coaudiotext`).
* `python -m coaudiotext.data.demo --out DIR [--scripts TSV] [--voices V1,V2] [--report]`.

Example:

>>> from coaudiotext.data import demo
>>> samples, sr = demo.render("close the window?", voice="en-us+f3")
>>> sr
22050
"""

import argparse
import contextlib
import csv
import ctypes
import dataclasses
import functools
import hashlib
import importlib.resources
import io
import os
import pathlib
import random
import shutil
import sys
import tempfile
import threading
import zlib

import numpy as np

__all__ = [
    "LABELS",
    "PUNCTUATION",
    "FORMS",
    "SAMPLE_RATE",
    "GENERATOR_VERSION",
    "DemoSize",
    "SIZES",
    "BASE_VOICES",
    "VARIANTS",
    "RISING_LABELS",
    "MANIFEST_COLUMNS",
    "FEMALE_VARIANTS",
    "MALE_VARIANTS",
    "Speaker",
    "ScriptFileError",
    "render",
    "list_voices",
    "read_scripts",
    "embedded_scripts",
    "speaker_pool",
    "parse_voice",
    "script_forms",
    "build_demo_corpus",
    "demo_manifest",
    "cache_dir",
    "text_only_ceiling",
    "pitch_track",
    "pitch_ratio",
    "pitch_check",
    "report",
    "main",
]

# ---------------------------------------------------------------------------------------------------------
# Labels, forms, sizes
# ---------------------------------------------------------------------------------------------------------

LABELS = ("s", "yn", "wh", "c", "r")
"""The demo labels (ProSem codes), in class-index order."""

PUNCTUATION = {"s": ".", "yn": "?", "wh": ".", "c": "!", "r": "?"}
"""Label -> clause-final punctuation appended to the spoken string."""

FORMS = {"declarative": ("s", "yn"), "wh": ("wh", "yn"), "imperative": ("c", "r")}
"""Script form -> the labels each script of that form is spoken with."""

RISING_LABELS = ("yn", "r")
"""Labels spoken with `?` (a rising tune)."""

SAMPLE_RATE = 22050
"""espeak-ng's native sample rate; every rendered utterance uses it."""

GENERATOR_VERSION = "1"
"""Bump when rendering or corpus layout changes, so cached corpora are rebuilt."""

MANIFEST_COLUMNS = ("audio_path", "text", "label", "speaker", "split")

# Default corpus size. Per training voice: DEFAULT_TRAIN_SCRIPTS_PER_FORM training scripts and
# DEFAULT_VAL_SCRIPTS_PER_FORM other training scripts (for `val`) per form, each spoken with every label of its
# form; each test voice speaks every test script (DEFAULT_TEST_SCRIPTS_PER_FORM=None) with every label.
# 24 x 21 x 6 = 3,024 train, 24 x 2 x 6 = 288 val, 6 x 14 x 6 = 504 test utterances.
DEFAULT_TRAIN_VOICES = 24
DEFAULT_TEST_VOICES = 6
DEFAULT_TRAIN_SCRIPTS_PER_FORM = 21
DEFAULT_VAL_SCRIPTS_PER_FORM = 2
DEFAULT_TEST_SCRIPTS_PER_FORM = None


@dataclasses.dataclass(frozen=True)
class DemoSize:
    """How many voices and scripts the demo corpus uses.

    Args:
        train_voices: int. Voices of the `train` and `val` splits.
        test_voices: int. Unseen voices of the `test` split.
        train_scripts_per_form: int. Training scripts per form spoken by each training voice (each with
            every label of its form, 2 utterances per script).
        val_scripts_per_form: int. Further training scripts per form spoken by each training voice for
            the `val` split (not in that voice's `train` utterances).
        test_scripts_per_form: int or None. Test scripts per form spoken by each test voice; None = all.

    Utterances: train = `train_voices * train_scripts_per_form * 3 * 2`, val likewise with
    `val_scripts_per_form`, test = `test_voices * test_scripts_per_form * 3 * 2`.
    """

    train_voices: int
    test_voices: int
    train_scripts_per_form: int
    val_scripts_per_form: int
    test_scripts_per_form: "int | None" = None


SIZES = {
    "default": DemoSize(
        train_voices=DEFAULT_TRAIN_VOICES,
        test_voices=DEFAULT_TEST_VOICES,
        train_scripts_per_form=DEFAULT_TRAIN_SCRIPTS_PER_FORM,
        val_scripts_per_form=DEFAULT_VAL_SCRIPTS_PER_FORM,
        test_scripts_per_form=DEFAULT_TEST_SCRIPTS_PER_FORM,
    ),
    # CI smoke runs: 48 train + 24 val + 24 test utterances, every label in every split.
    "tiny": DemoSize(train_voices=4, test_voices=2, train_scripts_per_form=2, val_scripts_per_form=1,
                     test_scripts_per_form=2),
}
"""Size presets of the embedded corpus."""

# ---------------------------------------------------------------------------------------------------------
# espeak-ng through ctypes
# ---------------------------------------------------------------------------------------------------------

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_EE_OK = 0
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_RATE_LIMITS, _PITCH_LIMITS = (80, 450), (0, 99)

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


def _check_range(name, value, limits, default):
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
    rate = _check_range("rate", rate, _RATE_LIMITS, 175)
    pitch = _check_range("pitch", pitch, _PITCH_LIMITS, 50)
    pitch_range = _check_range("pitch_range", pitch_range, _PITCH_LIMITS, 50)
    _check_variant(voice)
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


def _check_variant(voice):
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


# ---------------------------------------------------------------------------------------------------------
# Voices (speakers)
# ---------------------------------------------------------------------------------------------------------

BASE_VOICES = ("en", "en-us", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-scotland", "en-gb-x-gbclan")
"""English espeak-ng language voices used by the demo corpus. Left out: `en-gb-x-gbcwmd` (Welsh English:
its statements rise, the pitch check separates only 62% of its utterances) and `en-shaw` (Shavian script)."""

FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "anika", "belinda", "grandma", "linda",
                   "steph", "steph2", "steph3")
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "klatt3", "klatt4", "klatt5", "klatt6",
                 "Andy", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo", "Lee", "adam", "benjamin",
                 "boris", "david", "ed", "edward", "gustave", "iven", "iven2", "john", "max", "michel",
                 "miguel", "norbert", "pedro", "sandro", "travis", "victor")
VARIANTS = FEMALE_VARIANTS + MALE_VARIANTS
"""espeak-ng voice variants used by the demo corpus: those whose questions rise measurably on 24 test
renders (pitch check >= 96% on 3 base voices). Left out, among others: `klatt`, `klatt2`, `croak`, the
`robosoft*` robots, `whisper*` (no voicing), `Demonic`, `aunty`."""

FEMALE_SHARE = 0.4
PITCH_JITTER = (35, 65)  # espeak-ng pitch parameter (50 = the variant's own pitch)
RANGE_JITTER = (40, 70)  # espeak-ng pitch-range parameter (50 = default intonation range)
RATE_JITTER = (140, 210)  # words per minute (175 = espeak-ng default)


@dataclasses.dataclass(frozen=True)
class Speaker:
    """One demo speaker: an espeak-ng voice with fixed pitch, pitch range and rate.

    Args:
        speaker: str. Speaker id written to the manifest (`spk07`, or the voice spec for `--voices`).
        voice: str. espeak-ng `LANGUAGE[+VARIANT]`.
        pitch: int or None. espeak-ng pitch (0-99); None = 50.
        rate: int or None. Words per minute; None = 175.
        pitch_range: int or None. espeak-ng pitch range (0-99); None = 50.
    """

    speaker: str
    voice: str
    pitch: "int | None" = None
    rate: "int | None" = None
    pitch_range: "int | None" = None


def _interleave(female, male, count, female_share):
    """`count` items alternating genders so that about `female_share` of them are female; cycles on reuse."""
    out, n_female = [], 0
    for i in range(count):
        want_female = female and (not male or n_female < round((i + 1) * female_share))
        source = female if want_female else male
        n_female += bool(want_female)
        out.append(source[(n_female - 1 if want_female else i - n_female) % len(source)])
    return out


def speaker_pool(train_voices, test_voices, seed=0):
    """The demo speakers: training voices and unseen test voices, deterministic from `seed`.

    Test speakers use voice variants that no training speaker uses (unseen voices); base language voices
    and pitch/rate jitter are drawn per speaker. About 40% of the speakers use female variants. When there
    are more training speakers than training variants, variants repeat with another base voice and jitter.

    Args:
        train_voices: int. Number of training speakers (`spk00`, `spk01`, ...).
        test_voices: int. Number of test speakers (numbered after the training ones).
        seed: int. Random seed. Defaults to 0.

    Returns:
        `(train_speakers, test_speakers)`: two lists of `Speaker`.
    """
    for name, value in (("train_voices", train_voices), ("test_voices", test_voices)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"Expected `{name}` to be a non-negative integer. Received: {name}={value!r}")
    rng = random.Random(f"coaudiotext-demo-voices-{seed}")
    female, male = list(FEMALE_VARIANTS), list(MALE_VARIANTS)
    rng.shuffle(female)
    rng.shuffle(male)
    n_test_female = min(round(test_voices * FEMALE_SHARE), len(female) - 1)
    n_test_male = test_voices - n_test_female
    if n_test_male > len(male) - 1:
        raise ValueError(f"Expected at most {len(male) + len(female) - 2} test voices (each needs a variant unused "
                         f"in training). Received: test_voices={test_voices}")
    test_variants = female[:n_test_female] + male[:n_test_male]
    rng.shuffle(test_variants)
    train_variants = _interleave(female[n_test_female:], male[n_test_male:], train_voices, FEMALE_SHARE)

    def draw(index, variant):
        return Speaker(
            speaker=f"spk{index:02d}",
            voice=f"{rng.choice(BASE_VOICES)}+{variant}",
            pitch=rng.randint(*PITCH_JITTER),
            rate=rng.randint(*RATE_JITTER),
            pitch_range=rng.randint(*RANGE_JITTER),
        )

    train = [draw(i, v) for i, v in enumerate(train_variants)]
    test = [draw(train_voices + i, v) for i, v in enumerate(test_variants)]
    return train, test


def parse_voice(spec):
    """Parses a `--voices` entry `VOICE[:PITCH[:RATE[:RANGE]]]` (e.g. `en-us+f3:55:170`) into a `Speaker`."""
    parts = [p.strip() for p in str(spec).split(":")]
    if not parts[0] or len(parts) > 4:
        raise ValueError(f"Expected a voice as VOICE[:PITCH[:RATE[:RANGE]]], e.g. 'en-us+f3:55:170'. Received: {spec!r}")
    numbers = []
    for name, text in zip(("pitch", "rate", "pitch_range"), parts[1:]):
        try:
            numbers.append(int(text) if text else None)
        except ValueError:
            raise ValueError(f"Expected an integer {name} in voice {spec!r}. Received: {text!r}") from None
    numbers += [None] * (3 - len(numbers))
    _check_range("pitch", numbers[0], _PITCH_LIMITS, None)
    _check_range("rate", numbers[1], _RATE_LIMITS, None)
    _check_range("pitch_range", numbers[2], _PITCH_LIMITS, None)
    _check_variant(parts[0])
    name = "".join(c if c.isalnum() or c in "+-._" else "_" for c in ":".join(p for p in parts if p))
    return Speaker(speaker=name.replace(":", "_"), voice=parts[0], pitch=numbers[0], rate=numbers[1],
                   pitch_range=numbers[2])


# ---------------------------------------------------------------------------------------------------------
# Script files
# ---------------------------------------------------------------------------------------------------------


class ScriptFileError(ValueError):
    """A script TSV has bad lines. `errors` lists `(line_number, message)` for every bad line."""

    def __init__(self, path, errors):
        self.path = str(path)
        self.errors = list(errors)
        lines = "\n".join(f"  line {line}: {message}" for line, message in self.errors)
        super().__init__(f"Bad script file {self.path} ({len(self.errors)} bad line(s); expected a header "
                         f"'text<TAB>label' and rows 'TEXT<TAB>LABEL'):\n{lines}")


def read_scripts(path, labels=None):
    """Reads and validates a script TSV (`text<TAB>label` header, one utterance script per row).

    Every problem is collected and reported at once, with its line number: missing header, wrong number
    of fields, empty text, unknown label, text ending in clause punctuation (the label supplies it),
    duplicate rows. Blank lines are skipped.

    Args:
        path: str or path-like. The TSV file (UTF-8).
        labels: iterable of str or None. Allowed labels; None = the keys of `PUNCTUATION`.

    Returns:
        list of `(text, label)` in file order.

    Raises:
        ScriptFileError: listing every bad line.
    """
    allowed = tuple(PUNCTUATION) if labels is None else tuple(labels)
    path = pathlib.Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"Script file not found: {path}") from None
    lines = raw.splitlines()
    errors, rows, seen = [], [], {}
    if not lines or [f.strip().lower() for f in lines[0].split("\t")] != ["text", "label"]:
        found = repr(lines[0][:60]) if lines else "an empty file"
        errors.append((1, f"missing header 'text<TAB>label' (found {found})"))
    for index in range(1, len(lines)):
        number, line = index + 1, lines[index]
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            errors.append((number, f"expected 2 tab-separated fields (text, label), found {len(fields)}"))
            continue
        text, label = fields[0].strip(), fields[1].strip()
        problems = []
        if not text:
            problems.append("empty text")
        elif text[-1] in ".?!":
            problems.append(f"text ends with {text[-1]!r}: clause-final punctuation comes from the label")
        if label not in allowed:
            problems.append(f"unknown label {label!r} (expected one of: {', '.join(allowed)})")
        if not problems and (text, label) in seen:
            problems.append(f"duplicate of line {seen[(text, label)]}")
        if problems:
            errors.append((number, "; ".join(problems)))
            continue
        seen[(text, label)] = number
        rows.append((text, label))
    if errors:
        raise ScriptFileError(path, errors)
    return rows


def _scripts_root():
    return importlib.resources.files("coaudiotext.data") / "scripts"


def embedded_scripts():
    """The embedded English scripts: `{"train": rows, "test": rows}` (disjoint sets of scripts).

    Each script appears once with every label of its form (`FORMS`); rows are `(text, label)`.
    """
    out = {}
    for split in ("train", "test"):
        with importlib.resources.as_file(_scripts_root() / f"demo_{split}.tsv") as path:
            out[split] = read_scripts(path, labels=LABELS)
    return out


def script_forms(rows):
    """Groups rows by script and checks that each script carries exactly the labels of one form.

    Args:
        rows: list of `(text, label)`.

    Returns:
        dict form -> list of scripts (texts) in first-appearance order.

    Raises:
        ValueError: naming every script whose label set is not one of `FORMS`.
    """
    labels_of = {}
    for text, label in rows:
        labels_of.setdefault(text, []).append(label)
    by_labels = {frozenset(v): k for k, v in FORMS.items()}
    forms, bad = {form: [] for form in FORMS}, []
    for text, labels in labels_of.items():
        form = by_labels.get(frozenset(labels)) if len(labels) == 2 else None
        if form is None:
            bad.append(f"{text!r}: {labels}")
        else:
            forms[form].append(text)
    if bad:
        raise ValueError("Scripts whose labels are not exactly one form's " + str(dict(FORMS)) + ":\n  " + "\n  ".join(bad))
    return forms


# ---------------------------------------------------------------------------------------------------------
# Corpus building
# ---------------------------------------------------------------------------------------------------------


def _resolve_size(size):
    if isinstance(size, DemoSize):
        for field in dataclasses.fields(size):
            value = getattr(size, field.name)
            if not (value is None and field.name == "test_scripts_per_form") and (
                    isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"Expected DemoSize.{field.name} to be a non-negative integer. "
                                 f"Received: {field.name}={value!r}")
        return size
    if size not in SIZES:
        raise ValueError(f"Unknown demo size {size!r}. Expected one of: {', '.join(SIZES)} (or a DemoSize).")
    return SIZES[size]


def _rotation(items, count, voice_index):
    """`count` items for one voice, a window rotating with the voice index so coverage stays even."""
    return [items[(voice_index * count + i) % len(items)] for i in range(count)]


def _default_plan(size, seed):
    """(speaker, text, label, split) tuples of the default corpus, plus the speakers."""
    scripts = embedded_scripts()
    train_forms, test_forms = script_forms(scripts["train"]), script_forms(scripts["test"])
    train_speakers, test_speakers = speaker_pool(size.train_voices, size.test_voices, seed)
    rng = random.Random(f"coaudiotext-demo-scripts-{seed}")
    plan = []
    for form, labels in FORMS.items():
        items = list(train_forms[form])
        rng.shuffle(items)
        need = size.train_scripts_per_form + size.val_scripts_per_form
        if need > len(items):
            raise ValueError(f"Size asks {need} training scripts per form and voice but the {form} form has "
                             f"{len(items)}: lower train_scripts_per_form/val_scripts_per_form.")
        for j, spk in enumerate(train_speakers):
            # window rotating by train_scripts_per_form per voice: every script is trained on about equally often
            window = [items[(j * size.train_scripts_per_form + i) % len(items)] for i in range(need)]
            for i, text in enumerate(window):
                split = "train" if i < size.train_scripts_per_form else "val"
                plan += [(spk, text, label, split) for label in labels]
        items = list(test_forms[form])
        rng.shuffle(items)
        count = len(items) if size.test_scripts_per_form is None else min(size.test_scripts_per_form, len(items))
        for j, spk in enumerate(test_speakers):
            plan += [(spk, text, label, "test") for text in _rotation(items, count, j) for label in labels]
    order = {s.speaker: k for k, s in enumerate(train_speakers + test_speakers)}
    split_order = {"train": 0, "val": 1, "test": 2}
    plan.sort(key=lambda p: (order[p[0].speaker], split_order[p[3]]))  # stable: keeps form/script/label order
    return plan, train_speakers + test_speakers


def _custom_plan(scripts, voices, seed):
    if scripts is None:
        embedded = embedded_scripts()
        rows = embedded["train"] + embedded["test"]
    else:
        rows = read_scripts(scripts)
    if voices is None:
        default = SIZES["default"]  # the default corpus's unseen test voices (same ids, voices and jitter)
        speakers = speaker_pool(default.train_voices, default.test_voices, seed)[1]
    else:
        if isinstance(voices, str):
            voices = [v for v in voices.split(",") if v.strip()]
        speakers = [v if isinstance(v, Speaker) else parse_voice(v) for v in voices]
        if not speakers:
            raise ValueError("Expected at least one voice in `voices`. Received an empty list.")
        names = [s.speaker for s in speakers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Duplicate voices: {', '.join(duplicates)}")
    plan = [(spk, text, label, "test") for spk in speakers for text, label in rows]
    return plan, speakers


def _atomic_write_wav(path, samples, sample_rate):
    import soundfile

    # Encode in memory (writing to a file through soundfile fsyncs on close: ~7 ms a file), then write
    # the bytes to a temporary name and rename it into place.
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, subtype="PCM_16", format="WAV")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def _atomic_write_csv(path, header, rows):
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def build_demo_corpus(out_dir, scripts=None, voices=None, seed=0, split=None, size="default",
                      pitch_ratios=False, progress=True):
    """Renders the synthetic intention corpus and writes its manifest.

    Two modes:

    * **Default** (`scripts` and `voices` both None): the embedded English scripts and a seeded pool of
      voices, split into `train` (training voices x training scripts), `val` (other training scripts of
      the same training voices) and `test` (unseen voices x unseen scripts), sized by `size`.
    * **Custom** (`scripts` and/or `voices` given): every row of the script file (default: every embedded
      script) is spoken once by every voice (default: the seed's unseen test voices), all in split
      `split` (default `"test"`).

    `split`, when given, puts every row in that split (in both modes).

    Writes `out_dir/manifest.csv` with columns `audio_path,text,label,speaker,split` (`audio_path` relative
    to `out_dir`, e.g. `audio/spk03/0012.wav`; `text` is the transcript without punctuation), 16-bit PCM
    wav files at 22,050 Hz, and `out_dir/speakers.csv` (speaker, voice, pitch, rate, pitch_range). Files are
    written atomically (temporary file, then rename). Same arguments, same bytes.

    Args:
        out_dir: str or path-like. Output folder (created if needed).
        scripts: str, path-like or None. A script TSV (`text<TAB>label`); see `read_scripts`.
        voices: list of str, comma-separated str, or None. espeak-ng voices as `VOICE[:PITCH[:RATE[:RANGE]]]`,
            e.g. `["en-us+f3", "en-gb-x-rp+m3:40:160"]`.
        seed: int. Seed of the voice pool, jitter and script assignment. Defaults to 0.
        split: str or None. Put every row in this split. Defaults to None (default mode: train/val/test;
            custom mode: `"test"`).
        size: str or DemoSize. `"default"` or `"tiny"` (default mode only). Defaults to `"default"`.
        pitch_ratios: bool. Add a `pitch_ratio` column (see `pitch_ratio`; ~30 ms per utterance).
            Defaults to False.
        progress: bool. Show a tqdm progress bar. Defaults to True.

    Returns:
        pathlib.Path of the manifest.

    Example:

    >>> manifest = build_demo_corpus("/tmp/demo-tiny", size="tiny", progress=False)
    >>> manifest.name
    'manifest.csv'
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` to be an integer. Received: seed={seed!r}")
    if split is not None and (not isinstance(split, str) or not split.strip() or "," in split):
        raise ValueError(f"Expected `split` to be a non-empty name such as 'test'. Received: split={split!r}")
    if scripts is None and voices is None:
        plan, speakers = _default_plan(_resolve_size(size), int(seed))
    else:
        plan, speakers = _custom_plan(scripts, voices, int(seed))
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    from tqdm.auto import tqdm

    rows, counters = [], {}
    for spk, text, label, row_split in tqdm(plan, desc="rendering demo corpus", unit="utt", disable=not progress,
                                             leave=False):
        samples, sample_rate = render(text + PUNCTUATION[label], spk.voice, rate=spk.rate, pitch=spk.pitch,
                                      pitch_range=spk.pitch_range)
        index = counters[spk.speaker] = counters.get(spk.speaker, -1) + 1
        relative = f"audio/{spk.speaker}/{index:04d}.wav"
        _atomic_write_wav(out_dir / relative, samples, sample_rate)
        row = [relative, text, label, spk.speaker, split or row_split]
        if pitch_ratios:
            ratio = pitch_ratio(samples, sample_rate)
            row.append("" if not np.isfinite(ratio) else f"{ratio:.4f}")
        rows.append(row)
    _atomic_write_csv(out_dir / "speakers.csv", ("speaker", "voice", "pitch", "rate", "pitch_range"),
                      [(s.speaker, s.voice, s.pitch, s.rate, s.pitch_range) for s in speakers])
    header = MANIFEST_COLUMNS + (("pitch_ratio",) if pitch_ratios else ())
    manifest = out_dir / "manifest.csv"
    _atomic_write_csv(manifest, header, rows)
    return manifest


# ---------------------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------------------


def cache_dir():
    """The user cache folder: `$COAUDIOTEXT_CACHE`, else `~/.cache/coaudiotext`."""
    root = os.environ.get("COAUDIOTEXT_CACHE")
    return pathlib.Path(root).expanduser() if root else pathlib.Path.home() / ".cache" / "coaudiotext"


def _corpus_key(size_name, size, seed):
    digest = hashlib.sha256()
    for split in ("train", "test"):
        digest.update((_scripts_root() / f"demo_{split}.tsv").read_bytes())
    digest.update(repr((GENERATOR_VERSION, dataclasses.asdict(size), BASE_VOICES, VARIANTS, FEMALE_SHARE,
                        PITCH_JITTER, RANGE_JITTER, RATE_JITTER, PUNCTUATION)).encode())
    return f"demo-{size_name}-{seed}-{digest.hexdigest()[:12]}"


def demo_manifest(size="default", seed=0, progress=True):
    """The cached default demo corpus, built on first use.

    Lives in `cache_dir()/demo-<size>-<seed>-<hash>/` where the hash covers the scripts, the generator
    version and the size, voice and jitter settings. A missing corpus is built in a temporary folder
    beside it and renamed into place, so an interrupted build never leaves a half corpus.

    Args:
        size: str. `"default"` or `"tiny"`. Defaults to `"default"`.
        seed: int. Defaults to 0.
        progress: bool. Show a progress bar while rendering. Defaults to True.

    Returns:
        pathlib.Path of `manifest.csv`.
    """
    resolved = _resolve_size(size)
    if isinstance(size, DemoSize):
        raise ValueError("demo_manifest caches named sizes only; use build_demo_corpus for a DemoSize.")
    root = cache_dir()
    final = root / _corpus_key(size, resolved, seed)
    manifest = final / "manifest.csv"
    if manifest.is_file():
        return manifest
    root.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=root))
    try:
        build_demo_corpus(tmp, seed=seed, size=size, progress=progress)
        os.chmod(tmp, 0o755)  # mkdtemp made it private
        try:
            os.rename(tmp, final)
        except OSError:
            if not manifest.is_file():  # not a concurrent build that finished first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest


# ---------------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------------


def _read_manifest(manifest):
    if isinstance(manifest, (list, tuple)):
        return [dict(r) for r in manifest]
    with open(manifest, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def text_only_ceiling(manifest, split=None):
    """Accuracy of the best text-only guess: each script's majority label, counted on the same rows.

    An upper bound for any classifier that sees only the transcript. 0.5 on the demo corpus, where each
    script appears equally often with each of its form's two labels.

    Args:
        manifest: path of a manifest CSV, or a list of row dicts.
        split: str or None. Only rows of this split; None = all rows.

    Returns:
        float accuracy (nan when no rows).
    """
    rows = [r for r in _read_manifest(manifest) if split is None or r["split"] == split]
    counts = {}
    for r in rows:
        per = counts.setdefault(r["text"], {})
        per[r["label"]] = per.get(r["label"], 0) + 1
    correct = sum(max(per.values()) for per in counts.values())
    return correct / len(rows) if rows else float("nan")


def pitch_track(samples, sample_rate=SAMPLE_RATE, fmin=50.0, fmax=600.0, method="yin"):
    """F0 of the voiced frames (Hz), in time order.

    `method="yin"` (default, ~30 ms per utterance): `librosa.yin` (frame 1024, hop 256) with voicing decided
    by periodicity (normalised autocorrelation at the estimated period > 0.5) and energy (frame RMS > 5%
    of the utterance maximum). `method="pyin"`: `librosa.pyin`'s voiced flag (same frames; ~10x slower,
    and on espeak-ng it drops more of the final rise). Frames further than x0.55 / x1.8 from the median
    F0 are dropped as octave errors.

    Args:
        samples: 1-D float array.
        sample_rate: int. Defaults to 22050.
        fmin: float. Lowest F0 searched. Defaults to 50.
        fmax: float. Highest F0 searched. Defaults to 600.
        method: str. `"yin"` or `"pyin"`. Defaults to `"yin"`.

    Returns:
        1-D float array of F0 values.
    """
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    frame, hop = 1024, 256
    if y.size < frame:
        return np.zeros(0)
    if method == "pyin":
        f0, voiced, _ = librosa.pyin(y, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=frame, hop_length=hop)
        f0 = f0[voiced & np.isfinite(f0)]
    elif method == "yin":
        f0 = librosa.yin(y, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=frame, hop_length=hop)
        frames = librosa.util.frame(np.pad(y, frame // 2), frame_length=frame, hop_length=hop)[:, : len(f0)]
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=0))
        periodicity = np.zeros(len(f0))
        for i, f in enumerate(f0):
            lag = int(round(sample_rate / f))
            a, b = frames[: frame - lag, i].astype(np.float64), frames[lag:, i].astype(np.float64)
            norm = np.sqrt(np.dot(a, a) * np.dot(b, b))
            periodicity[i] = np.dot(a, b) / norm if norm > 0 else 0.0
        f0 = f0[(periodicity > 0.5) & (rms > 0.05 * rms.max())] if rms.max() > 0 else np.zeros(0)
    else:
        raise ValueError(f"Unknown pitch method {method!r}. Expected one of: yin, pyin.")
    if f0.size:
        median = np.median(f0)
        f0 = f0[(f0 > 0.55 * median) & (f0 < 1.8 * median)]
    return f0


def pitch_ratio(samples, sample_rate=SAMPLE_RATE, method="yin"):
    """Final rise: mean F0 of the last 3 voiced frames / median F0 of the first 80% of voiced frames.

    Questions (`?`) end higher than statements (`.`) and commands (`!`); see `pitch_check`.

    Args:
        samples: 1-D float array.
        sample_rate: int. Defaults to 22050.
        method: str. `"yin"` or `"pyin"`, see `pitch_track`. Defaults to `"yin"`.

    Returns:
        float ratio, nan when fewer than 5 voiced frames are found.
    """
    f0 = pitch_track(samples, sample_rate, method=method)
    if f0.size < 5:
        return float("nan")
    head = f0[: max(1, int(0.8 * f0.size))]
    return float(np.mean(f0[-3:]) / np.median(head))


def _best_threshold(values, rising):
    """Threshold on `values` (predict rising when >= threshold) with the best accuracy on these data."""
    values, rising = np.asarray(values, float), np.asarray(rising, bool)
    candidates = np.unique(values[np.isfinite(values)])
    if not candidates.size:
        return float("nan"), float("nan")
    midpoints = np.concatenate([candidates[:1], (candidates[1:] + candidates[:-1]) / 2])
    accuracy = [np.mean(np.where(np.isfinite(values), values >= t, False) == rising) for t in midpoints]
    best = int(np.argmax(accuracy))
    return float(midpoints[best]), float(accuracy[best])


def pitch_check(manifest, split=None, max_per_label=100, method="yin", seed=0, progress=False):
    """Measures the final-rise ratio per label and how well one threshold tells `?` tunes from the others.

    Args:
        manifest: path of a manifest CSV (audio paths relative to its folder).
        split: str or None. Only this split; None = all rows.
        max_per_label: int or None. Analyse at most this many utterances per label (a seeded sample);
            None = all. Defaults to 100.
        method: str. `"yin"` or `"pyin"`. Defaults to `"yin"`.
        seed: int. Seed of the sample. Defaults to 0.
        progress: bool. Progress bar. Defaults to False.

    Returns:
        dict with `per_label` (label -> n, mean, std, median, min, max of the ratio), `rising_mean`,
        `other_mean`, `threshold` and `threshold_accuracy` (best single threshold, fit on these same
        utterances, predicting rising for `yn`/`r`), `accuracy_at_1` (threshold 1.0), `n`, `n_nan`.
    """
    import soundfile
    from tqdm.auto import tqdm

    manifest = pathlib.Path(manifest)
    rows = [r for r in _read_manifest(manifest) if split is None or r["split"] == split]
    rng = random.Random(seed)
    chosen = []
    for label in sorted({r["label"] for r in rows}):
        of_label = [r for r in rows if r["label"] == label]
        if max_per_label is not None and len(of_label) > max_per_label:
            of_label = rng.sample(of_label, max_per_label)
        chosen += of_label
    ratios, labels = [], []
    for r in tqdm(chosen, desc="pitch check", unit="utt", disable=not progress, leave=False):
        samples, sample_rate = soundfile.read(str(manifest.parent / r["audio_path"]), dtype="float32")
        ratios.append(pitch_ratio(samples, sample_rate, method=method))
        labels.append(r["label"])
    ratios, labels = np.asarray(ratios, float), np.asarray(labels)
    rising = np.isin(labels, RISING_LABELS)
    per_label = {}
    for label in [l for l in LABELS if l in set(labels)] + sorted(set(labels) - set(LABELS)):
        x = ratios[(labels == label) & np.isfinite(ratios)]
        per_label[label] = {
            "n": int(np.sum(labels == label)),
            "mean": float(np.mean(x)) if x.size else float("nan"),
            "std": float(np.std(x)) if x.size else float("nan"),
            "median": float(np.median(x)) if x.size else float("nan"),
            "min": float(np.min(x)) if x.size else float("nan"),
            "max": float(np.max(x)) if x.size else float("nan"),
        }
    threshold, accuracy = _best_threshold(ratios, rising)
    finite = np.isfinite(ratios)
    return {
        "n": int(ratios.size),
        "n_nan": int(np.sum(~finite)),
        "per_label": per_label,
        "rising_mean": float(np.mean(ratios[rising & finite])) if np.any(rising & finite) else float("nan"),
        "other_mean": float(np.mean(ratios[~rising & finite])) if np.any(~rising & finite) else float("nan"),
        "threshold": threshold,
        "threshold_accuracy": accuracy,
        "accuracy_at_1": float(np.mean(np.where(finite, ratios >= 1.0, False) == rising)) if ratios.size else float("nan"),
    }


def report(manifest, max_per_label=100, method="yin", progress=False):
    """A printable summary of a demo corpus: sizes, disjointness, text-only ceiling, pitch check.

    Args:
        manifest: path of a manifest CSV.
        max_per_label: int or None. Utterances per label for the pitch check. Defaults to 100.
        method: str. Pitch tracker, `"yin"` or `"pyin"`. Defaults to `"yin"`.
        progress: bool. Progress bar for the pitch check. Defaults to False.

    Returns:
        `(text, figures)`: the report as a string and its numbers as a dict.
    """
    rows = _read_manifest(manifest)
    splits = sorted({r["split"] for r in rows}, key=lambda s: ({"train": 0, "val": 1, "test": 2}.get(s, 3), s))
    lines = [f"Demo corpus {manifest}: {len(rows)} utterances"]
    figures = {"utterances": len(rows), "splits": {}}
    for s in splits:
        part = [r for r in rows if r["split"] == s]
        counts = {l: sum(r["label"] == l for r in part) for l in sorted({r["label"] for r in part}, key=_label_key)}
        n_speakers, n_scripts = len({r["speaker"] for r in part}), len({r["text"] for r in part})
        ceiling = text_only_ceiling(part)
        figures["splits"][s] = {"utterances": len(part), "speakers": n_speakers, "scripts": n_scripts,
                                "labels": counts, "text_only_ceiling": ceiling}
        lines.append(f"  {s:5s}: {len(part):5d} utterances, {n_speakers:3d} speakers, {n_scripts:3d} scripts, "
                     f"labels {counts}, text-only ceiling {ceiling:.1%}")
    figures["text_only_ceiling"] = text_only_ceiling(rows)
    lines.append(f"  text-only ceiling (majority label per script), all rows: {figures['text_only_ceiling']:.1%}")
    if "train" in splits and "test" in splits:
        train = [r for r in rows if r["split"] == "train"]
        test = [r for r in rows if r["split"] == "test"]
        shared_speakers = {r["speaker"] for r in train} & {r["speaker"] for r in test}
        shared_scripts = {r["text"] for r in train} & {r["text"] for r in test}
        figures["train_test_shared"] = {"speakers": len(shared_speakers), "scripts": len(shared_scripts)}
        lines.append(f"  train/test shared speakers: {len(shared_speakers)}, shared scripts: {len(shared_scripts)}")
    check = pitch_check(manifest, max_per_label=max_per_label, method=method, progress=progress)
    figures["pitch_check"] = check
    lines.append(f"  pitch check ({method}; final/median F0 ratio; {check['n']} utterances, "
                 f"{check['n_nan']} without enough voiced frames):")
    for label, stats in check["per_label"].items():
        lines.append(f"    {label:3s} {PUNCTUATION.get(label, ' ')} n={stats['n']:4d} mean {stats['mean']:.3f} "
                     f"+- {stats['std']:.3f} (median {stats['median']:.3f}, range {stats['min']:.2f}-{stats['max']:.2f})")
    lines.append(f"    rising (yn, r) mean {check['rising_mean']:.3f} vs others {check['other_mean']:.3f}; "
                 f"best threshold {check['threshold']:.3f} -> accuracy {check['threshold_accuracy']:.1%} "
                 f"(fit on these utterances); threshold 1.0 -> {check['accuracy_at_1']:.1%}")
    return "\n".join(lines), figures


def _label_key(label):
    return (LABELS.index(label) if label in LABELS else len(LABELS), label)


# ---------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------


def main(argv=None):
    """`python -m coaudiotext.data.demo`: build (and optionally report on) a demo corpus."""
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.data.demo",
        description=(
            "Render the synthetic intention corpus with espeak-ng. Without --scripts/--voices: the embedded "
            "English scripts and a seeded voice pool, split train/val/test (test = unseen voices and unseen "
            "scripts). With --scripts and/or --voices: every script row spoken once by every voice, all in "
            "split 'test' unless --split says otherwise. Writes OUT/manifest.csv "
            "(audio_path,text,label,speaker,split), OUT/speakers.csv and OUT/audio/SPEAKER/NNNN.wav."
        ),
        epilog=(
            "Script TSV: header 'text<TAB>label', then one 'TEXT<TAB>LABEL' per line, labels "
            f"{', '.join(f'{k} ({v})' for k, v in PUNCTUATION.items())}; the punctuation is appended when speaking "
            "and left out of the transcript. Examples:\n"
            "  python -m coaudiotext.data.demo --out /tmp/demo --size tiny --report\n"
            "  python -m coaudiotext.data.demo --out /tmp/mine --scripts my.tsv --voices en-us+f3,en-gb-x-rp+m3:40:160"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="output folder; default: the user cache (only without --scripts/--voices/--split)")
    parser.add_argument("--scripts", type=pathlib.Path, default=None, help="script TSV (text<TAB>label)")
    parser.add_argument("--voices", default=None,
                        help="comma-separated espeak-ng voices VOICE[:PITCH[:RATE[:RANGE]]], e.g. en-us+f3,en:40:160")
    parser.add_argument("--seed", type=int, default=0, help="seed of voices, jitter and script assignment (default 0)")
    parser.add_argument("--split", default=None, help="put every row in this split")
    parser.add_argument("--size", default="default", choices=sorted(SIZES),
                        help="corpus size without --scripts/--voices (default: default)")
    parser.add_argument("--pitch-ratios", action="store_true", help="add a pitch_ratio column to the manifest")
    parser.add_argument("--report", action="store_true",
                        help="print sizes, train/test disjointness, text-only ceiling and the pitch check")
    parser.add_argument("--report-max-per-label", type=int, default=100,
                        help="utterances per label analysed by the pitch check (default 100; 0 = all)")
    parser.add_argument("--list-voices", action="store_true", help="list espeak-ng languages and variants, then exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--asr-wer", type=float, default=None, metavar="WER",
                        help="also write MANIFEST-asr-werWER-seedN.csv with a SIMULATED asr_text column at this word "
                             "error rate (seeded substitutions/deletions/insertions; no recogniser is run)")
    args = parser.parse_args(argv)

    if args.list_voices:
        languages, variants = list_voices()
        print("languages:", " ".join(languages))
        print("variants:", " ".join(variants))
        print("demo pool:", " ".join(BASE_VOICES), "x", " ".join(VARIANTS))
        return 0
    custom = args.scripts is not None or args.voices is not None or args.split is not None
    try:
        if args.out is None:
            if custom:
                parser.error("--out is required with --scripts, --voices or --split")
            manifest = demo_manifest(args.size, args.seed, progress=not args.quiet)
        else:
            manifest = build_demo_corpus(args.out, scripts=args.scripts, voices=args.voices, seed=args.seed,
                                         split=args.split, size=args.size, pitch_ratios=args.pitch_ratios,
                                         progress=not args.quiet)
    except (ScriptFileError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.asr_wer is not None:
        from coaudiotext.data.asr_sim import add_simulated_asr

        manifest = add_simulated_asr(manifest, args.asr_wer, seed=args.seed)
    print(manifest)
    if args.report:
        text, _ = report(manifest, max_per_label=args.report_max_per_label or None, progress=not args.quiet)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
