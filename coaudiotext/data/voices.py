"""The demo speakers: espeak-ng voices x variants with seeded pitch, pitch-range and rate jitter.

A `Speaker` is one espeak-ng `LANGUAGE+VARIANT` with a fixed pitch, range and rate. `speaker_pool` draws
the training speakers and the **unseen** test speakers (their variants are never used in training) of the
demo corpus; `parse_voice` reads a `--voices` entry such as `en-us+f3:55:170`.

Example:

>>> from coaudiotext.data.voices import speaker_pool
>>> train, test = speaker_pool(36, 10, seed=0)
>>> len(train), len(test)
(36, 10)
>>> {s.voice.split("+")[1] for s in train} & {s.voice.split("+")[1] for s in test}
set()
"""

import dataclasses
import random

from coaudiotext.data.espeak import PITCH_LIMITS, RATE_LIMITS, check_range, check_variant

__all__ = ["BASE_VOICES", "FEMALE_VARIANTS", "MALE_VARIANTS", "VARIANTS", "Speaker", "speaker_pool", "parse_voice",
           "FEMALE_SHARE", "PITCH_JITTER", "RANGE_JITTER", "RATE_JITTER"]

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
    check_range("pitch", numbers[0], PITCH_LIMITS, None)
    check_range("rate", numbers[1], RATE_LIMITS, None)
    check_range("pitch_range", numbers[2], PITCH_LIMITS, None)
    check_variant(parts[0])
    name = "".join(c if c.isalnum() or c in "+-._" else "_" for c in ":".join(p for p in parts if p))
    return Speaker(speaker=name.replace(":", "_"), voice=parts[0], pitch=numbers[0], rate=numbers[1],
                   pitch_range=numbers[2])
