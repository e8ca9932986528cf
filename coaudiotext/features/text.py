"""Character features for the text branch: Hangul multi-hot, character one-hot, character ids.

The CoAudioText tutorial represents a Korean script as at most 30 characters,
each a 67-dimensional multi-hot vector (19 initial + 21 medial + 27 final
jamo one-hots; `han2one.char2onehot`). The script is read from its **end**
(`s[-j-1]`), so the features are right-aligned with zero rows at the front,
and characters that are not Hangul (spaces, digits, punctuation) keep their
position as zero rows. Korean is head-final: the sentence ender, which carries
the intention, always sits in the last rows.

This module reproduces that exactly (without `hgtk`: syllables are decomposed
by Unicode arithmetic) and offers the same layout for other scripts:

- `hangul_multihot(text)`: (max_chars, 67), the tutorial's features;
- `char_onehot(text)`: (max_chars, len(alphabet) + 1), a lower-cased character
  one-hot over a small Latin alphabet plus one "unknown character" column;
- `char_ids(text)`: (max_chars,) integer ids for a learned `Embedding`;
- `TextFeaturizer`: one of the three (or `"auto"`: Hangul when the corpus is
  mostly Hangul), batched, with a JSON-able config so a saved model records
  how its text input was made.

Every function first applies Unicode NFC normalisation, so decomposed
(NFD) Hangul, as produced by some file systems, gives the same features as
precomposed text; on NFC text (the ProSem scripts) this changes nothing.

Example:

>>> features = hangul_multihot("갔어")
>>> features.shape
(30, 67)
>>> [int(i) for i in features[-2].nonzero()[0]]   # 갔 = ㄱ + ㅏ + ㅆ
[0, 19, 55]
>>> TextFeaturizer("latin", max_chars=8)(["Hi there"]).shape
(1, 8, 43)
"""

from __future__ import annotations

import collections
import functools
import unicodedata

import numpy as np

__all__ = [
    "HANGUL_INITIALS",
    "HANGUL_MEDIALS",
    "HANGUL_FINALS",
    "HANGUL_ALPHABET",
    "HANGUL_FEATURE_DIM",
    "LATIN_ALPHABET",
    "PAD_ID",
    "UNKNOWN_ID",
    "SPACE_ID",
    "TEXT_KINDS",
    "ALIGNMENTS",
    "text_window",
    "is_hangul",
    "hangul_decompose",
    "hangul_indices",
    "hangul_multihot",
    "char_onehot",
    "char_ids",
    "build_vocabulary",
    "hangul_fraction",
    "detect_script",
    "TextFeaturizer",
]

# --- Hangul tables ----------------------------------------------------------
# Column order of the tutorial's `han2one.py` (`alp = choseng + cwungseng + congseng`).
# It is NOT Unicode order: plain consonants/vowels first, then tense/compound ones.
HANGUL_INITIALS = "ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋㅌㅍㅎㄲㄸㅃㅆㅉ"  # 19, han2one `choseng`
HANGUL_MEDIALS = "ㅏㅑㅓㅕㅗㅛㅜㅠㅡㅣㅐㅒㅔㅖㅘㅙㅚㅝㅞㅟㅢ"  # 21, han2one `cwungseng`
HANGUL_FINALS = "ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋㅌㅍㅎㄲㅆㄳㄵㄶㄺㄻㄼㄽㄾㄿㅀㅄ"  # 27, han2one `congseng`
HANGUL_ALPHABET = HANGUL_INITIALS + HANGUL_MEDIALS + HANGUL_FINALS  # 67, han2one `alp`
HANGUL_FEATURE_DIM = len(HANGUL_ALPHABET)

# Unicode order of the jamo inside a precomposed syllable (as compatibility jamo,
# the letters `hgtk.letter.decompose` returns):
# code = 0xAC00 + (initial * 21 + medial) * 28 + final, final 0 = none.
_UNICODE_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_UNICODE_MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_UNICODE_FINALS = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # finals 1..27
_SYLLABLE_FIRST, _SYLLABLE_LAST = 0xAC00, 0xD7A3
_NUM_MEDIALS, _NUM_FINALS = 21, 28  # _NUM_FINALS counts "no final"
# hgtk counts a bare compatibility jamo as Hangul (`checker.is_jamo`).
_BARE_JAMO = set(_UNICODE_INITIALS) | set(_UNICODE_MEDIALS) | set(_UNICODE_FINALS)

# --- Latin alphabet -----------------------------------------------------------
# Lower-cased letters, digits, apostrophe and a few punctuation marks; everything
# else (é, ß, emoji, Hangul, ...) goes to one extra "unknown" column.
LATIN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789'-.,?!"

# --- Character ids ------------------------------------------------------------
PAD_ID = 0  # positions before the text (left padding)
UNKNOWN_ID = 1  # characters outside the vocabulary
SPACE_ID = 2  # any whitespace: a word boundary, distinct from padding
_FIRST_CHAR_ID = 3

TEXT_KINDS = ("hangul", "latin", "ids", "auto")


def _check_max_chars(max_chars):
    if isinstance(max_chars, bool) or not isinstance(max_chars, (int, np.integer)) or max_chars < 1:
        raise ValueError(f"Expected max_chars to be a positive int. Received: max_chars={max_chars!r}")
    return int(max_chars)


def _check_text(text, where="text"):
    if not isinstance(text, str):
        raise TypeError(f"Expected {where} to be a str. Received: {where}={text!r} of type {type(text).__name__}")
    return unicodedata.normalize("NFC", text)


def is_hangul(char):
    """Whether `char` counts as Hangul for the tutorial's featurizer.

    True for precomposed syllables (가..힣) and bare compatibility jamo
    (ㄱ, ㅏ, ㄳ, ...), as `hgtk.checker.is_hangul` decides.

    Args:
        char: str. One character.
    """
    return _SYLLABLE_FIRST <= ord(char) <= _SYLLABLE_LAST or char in _BARE_JAMO


def hangul_decompose(char):
    """Splits one Hangul character into (initial, medial, final) compatibility jamo.

    Same result as `hgtk.letter.decompose`: a missing part is `""`; a bare jamo
    is an initial if it can be one, else a medial, else a final (so `ㄲ` is an
    initial and `ㄳ` a final).

    Args:
        char: str. One Hangul character (see `is_hangul`).

    Returns:
        tuple of three str.

    Example:

    >>> hangul_decompose("갔")
    ('ㄱ', 'ㅏ', 'ㅆ')
    """
    if len(char) != 1 or not is_hangul(char):
        raise ValueError(f"Expected one Hangul syllable or jamo. Received: char={char!r}")
    if char in _UNICODE_INITIALS:
        return char, "", ""
    if char in _UNICODE_MEDIALS:
        return "", char, ""
    if char in _UNICODE_FINALS:
        return "", "", char
    code = ord(char) - _SYLLABLE_FIRST
    initial, rest = divmod(code, _NUM_MEDIALS * _NUM_FINALS)
    medial, final = divmod(rest, _NUM_FINALS)
    return _UNICODE_INITIALS[initial], _UNICODE_MEDIALS[medial], _UNICODE_FINALS[final - 1] if final else ""


_INDEX_CACHE: dict = {}


def hangul_indices(char):
    """Columns set to 1 in the 67-dim multi-hot of one Hangul character (han2one order).

    Args:
        char: str. One Hangul character.

    Returns:
        tuple of int, 1 to 3 entries in increasing order.

    Example:

    >>> hangul_indices("갔")   # ㄱ -> 0, ㅏ -> 19 + 0, ㅆ -> 40 + 15
    (0, 19, 55)
    """
    found = _INDEX_CACHE.get(char)
    if found is None:
        initial, medial, final = hangul_decompose(char)
        found = []
        if initial:
            found.append(HANGUL_INITIALS.index(initial))
        if medial:
            found.append(len(HANGUL_INITIALS) + HANGUL_MEDIALS.index(medial))
        if final:
            found.append(len(HANGUL_INITIALS) + len(HANGUL_MEDIALS) + HANGUL_FINALS.index(final))
        found = _INDEX_CACHE[char] = tuple(found)
    return found


ALIGNMENTS = ("end", "start")
"""How a text is laid out in its `max_chars` rows: `"end"` (the tutorial's: the last `max_chars`
characters, right-aligned, zero rows in front) or `"start"` (the first `max_chars`, left-aligned, zero
rows after; surrounding whitespace is dropped first)."""


def _check_align(align):
    if align not in ALIGNMENTS:
        raise ValueError(f"Expected align to be one of {ALIGNMENTS}. Received: align={align!r}")
    return align


def _positions(text, max_chars, align):
    """`(row, char)` of every character kept in the `max_chars` window, for alignment `align`."""
    if _check_align(align) == "start":
        return enumerate(text.strip()[:max_chars])
    return ((max_chars - 1 - j, char) for j, char in enumerate(reversed(text[-max_chars:])))


def _fill(out, text, max_chars, column_of, align):
    """Writes one row per kept character; `column_of(ch)` gives its columns, or None for a zero row."""
    for row, char in _positions(text, max_chars, align):
        columns = column_of(char)
        if columns is not None:
            out[row, columns] = 1.0
    return out


def text_window(text, max_chars, align="end"):
    """The part of `text` the features keep: `(kept, cut)` where `cut` is how many characters were dropped.

    Example:

    >>> text_window("where did you park the car", 12, align="start")
    ('where did yo', 14)
    """
    text = unicodedata.normalize("NFC", text)
    body = text.strip() if _check_align(align) == "start" else text
    kept = body[:max_chars] if align == "start" else body[-max_chars:]
    return kept, len(body) - len(kept)


def hangul_multihot(text, max_chars=30, align="end"):
    """The tutorial's Hangul multi-hot features (`featurize_rnn_only_char`).

    Each Hangul character becomes 19 initial + 21 medial + 27 final jamo
    one-hots concatenated (67 values, 2 or 3 of them 1; no final = all zero).
    The text is read from its end: the last `max_chars` characters are kept,
    right-aligned, zero rows in front; spaces and non-Hangul characters stay
    as zero rows in their position.

    Args:
        text: str. The script.
        max_chars: int. Rows of the output. Defaults to 30.
        align: str. `"end"` (the tutorial's, default) or `"start"`; see `ALIGNMENTS`.

    Returns:
        float32 array (max_chars, 67).

    Example:

    >>> x = hangul_multihot("누가 가르쳐 줄래", max_chars=10)
    >>> x.sum(axis=1).astype(int).tolist()   # 누 가 _ 가 르 쳐 _ 줄 래, right-aligned
    [0, 2, 2, 0, 2, 2, 2, 0, 3, 2]
    """
    max_chars = _check_max_chars(max_chars)
    text = _check_text(text)
    out = np.zeros((max_chars, HANGUL_FEATURE_DIM), np.float32)
    return _fill(out, text, max_chars, lambda c: list(hangul_indices(c)) if is_hangul(c) else None, align)


def _latin_lookup(alphabet, argument="alphabet"):
    """`{char: column}` of an alphabet or vocabulary, validated once and cached."""
    return _lookup(tuple(alphabet), argument)


@functools.lru_cache(maxsize=16)
def _lookup(chars, argument):
    if len(set(chars)) != len(chars):
        repeated = sorted({c for c in chars if chars.count(c) > 1})
        raise ValueError(f"Expected the characters of {argument} to be unique. Repeated: {repeated}")
    if any(len(c) != 1 or c.isspace() for c in chars):
        raise ValueError(
            f"Expected {argument} to hold single non-whitespace characters (whitespace is handled separately). "
            f"Received: {[c for c in chars if len(c) != 1 or c.isspace()]}"
        )
    return {char: i for i, char in enumerate(chars)}


def char_onehot(text, max_chars=30, alphabet=LATIN_ALPHABET, align="end"):
    """Character one-hot features for non-Hangul scripts, laid out like `hangul_multihot`.

    Each character is lower-cased and one-hot encoded over `alphabet`; a
    character outside it (é, ß, emoji, a Hangul syllable, ...) sets the last
    column, "unknown". Whitespace gives a zero row, like a space in the
    Hangul features, so the two layouts match: right-aligned, read from the
    end, the last `max_chars` characters kept. Characters are Unicode code
    points after NFC normalisation (an emoji sequence may take several rows).

    Args:
        text: str. The transcript.
        max_chars: int. Rows of the output. Defaults to 30.
        alphabet: str. Known characters, lower-case. Defaults to `LATIN_ALPHABET`
            (a-z, 0-9 and `'-.,?!`).
        align: str. `"end"` (default, as the Hangul features) or `"start"` (the first `max_chars`
            characters, left-aligned: for languages that mark the sentence form at its start).

    Returns:
        float32 array (max_chars, len(alphabet) + 1); the last column is "unknown".

    Example:

    >>> x = char_onehot("Café!", max_chars=6)
    >>> x.argmax(axis=1).tolist(), x.sum(axis=1).tolist()
    ([0, 2, 0, 5, 42, 41], [0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    """
    max_chars = _check_max_chars(max_chars)
    text = _check_text(text)
    table = _latin_lookup(alphabet)
    unknown = len(alphabet)

    def column_of(char):
        if char.isspace():
            return None
        return table.get(char.lower(), unknown)

    out = np.zeros((max_chars, len(alphabet) + 1), np.float32)
    return _fill(out, text, max_chars, column_of, align)


def char_ids(text, max_chars=30, vocabulary=LATIN_ALPHABET, align="end"):
    """Integer character ids for a learned embedding, laid out like `hangul_multihot`.

    Ids: 0 = padding (positions before the text), 1 = unknown character,
    2 = whitespace (kept distinct from padding, so `Embedding(mask_zero=True)`
    masks only the padding), 3 + i = `vocabulary[i]`. Characters are
    lower-cased. Right-aligned, read from the end, last `max_chars` kept.

    Args:
        text: str. The transcript.
        max_chars: int. Length of the output. Defaults to 30.
        vocabulary: str or list of str. Known characters, lower-case. Defaults to
            `LATIN_ALPHABET`; `build_vocabulary(texts)` makes one from a corpus.
        align: str. `"end"` (default) or `"start"`; see `ALIGNMENTS`.

    Returns:
        int32 array (max_chars,). The embedding needs `input_dim = len(vocabulary) + 3`.

    Example:

    >>> char_ids("ab c", max_chars=6).tolist()
    [0, 0, 3, 4, 2, 5]
    """
    max_chars = _check_max_chars(max_chars)
    text = _check_text(text)
    table = _id_lookup(tuple(vocabulary))
    out = np.full((max_chars,), PAD_ID, np.int32)
    for row, char in _positions(text, max_chars, align):
        out[row] = SPACE_ID if char.isspace() else table.get(char.lower(), UNKNOWN_ID)
    return out


@functools.lru_cache(maxsize=16)
def _id_lookup(vocabulary):
    return {char: _FIRST_CHAR_ID + i for char, i in _latin_lookup(vocabulary, "vocabulary").items()}


def build_vocabulary(texts, min_count=1):
    """Characters of a corpus for `char_ids`, most frequent first (ties by code point).

    Args:
        texts: iterable of str. Training transcripts.
        min_count: int. Characters seen fewer times are left out (they become unknown).
            Defaults to 1.

    Returns:
        list of str (lower-cased, NFC, no whitespace).
    """
    counts = collections.Counter()
    for i, text in enumerate(texts):
        counts.update(c.lower() for c in _check_text(text, f"texts[{i}]") if not c.isspace())
    kept = [(char, n) for char, n in counts.items() if n >= min_count and len(char) == 1]
    return [char for char, _ in sorted(kept, key=lambda item: (-item[1], item[0]))]


def hangul_fraction(texts):
    """Fraction of non-whitespace characters of `texts` that are Hangul (0.0 for no characters)."""
    hangul = total = 0
    for i, text in enumerate(texts):
        for char in _check_text(text, f"texts[{i}]"):
            if not char.isspace():
                total += 1
                hangul += is_hangul(char)
    return hangul / total if total else 0.0


def detect_script(texts, threshold=0.5):
    """`"hangul"` if at least `threshold` of the corpus characters are Hangul, else `"latin"`.

    Args:
        texts: iterable of str. Training transcripts (must contain characters).
        threshold: float. Defaults to 0.5.
    """
    texts = list(texts)
    if not any(t.strip() for t in texts if isinstance(t, str)):
        raise ValueError(
            "Cannot detect the script of an empty corpus: pass the training transcripts, "
            "or choose kind='hangul' or kind='latin' explicitly."
        )
    return "hangul" if hangul_fraction(texts) >= threshold else "latin"


class TextFeaturizer:
    """Batched character features for the `text` model input, with a JSON-able config.

    Args:
        kind: str. `"hangul"` (tutorial multi-hot, F = 67), `"latin"` (character
            one-hot, F = len(alphabet) + 1), `"ids"` (integer ids for an
            `Embedding`) or `"auto"` (Hangul if the training corpus is mostly
            Hangul, else Latin; decided by `resolve(texts)`). Defaults to `"auto"`.
        max_chars: int. Characters kept of each text. Defaults to 30.
        alphabet: str or None. Alphabet of `"latin"`. Defaults to `LATIN_ALPHABET`.
        vocabulary: list of str or None. Vocabulary of `"ids"` (lower-case characters); None means
            "build it from the training texts" with `resolve(texts)`.
        align: str. `"end"` (the tutorial's: last `max_chars` characters, right-aligned; default) or
            `"start"` (first `max_chars`, left-aligned). See `ALIGNMENTS`.

    Output of `featurizer(texts)`: float32 (N, max_chars, feature_dim) for
    `"hangul"`/`"latin"`; int32 (N, max_chars) for `"ids"`.

    Example:

    >>> featurizer = TextFeaturizer("auto").resolve(["누가 가르쳐 줄래", "뭐 먹어"])
    >>> featurizer.kind, featurizer.feature_dim
    ('hangul', 67)
    >>> featurizer(["누가 가르쳐 줄래"]).shape
    (1, 30, 67)
    >>> same = TextFeaturizer.from_config(featurizer.get_config())   # e.g. in predict.py
    """

    def __init__(self, kind="auto", max_chars=30, alphabet=None, vocabulary=None, align="end"):
        if kind not in TEXT_KINDS:
            raise ValueError(f"Expected kind to be one of {TEXT_KINDS}. Received: kind={kind!r}")
        self.kind = kind
        self.max_chars = _check_max_chars(max_chars)
        self.align = _check_align(align)
        self.alphabet = LATIN_ALPHABET if alphabet is None else str(alphabet)
        _latin_lookup(self.alphabet)
        if vocabulary is not None:
            vocabulary = [str(char) for char in vocabulary]
            _latin_lookup(vocabulary, "vocabulary")
        self.vocabulary = vocabulary

    # -- state ----------------------------------------------------------------
    @property
    def resolved(self):
        """Whether the featurizer can run (`"auto"` and `"ids"` without vocabulary need `resolve`)."""
        return self.kind in ("hangul", "latin") or (self.kind == "ids" and self.vocabulary is not None)

    def resolve(self, texts):
        """Returns a runnable featurizer, fixing what depends on the training corpus.

        `"auto"` becomes `"hangul"` or `"latin"` (`detect_script`); `"ids"`
        without a vocabulary gets `build_vocabulary(texts)`. A featurizer that
        is already resolved is returned unchanged (as a copy). Call it on the
        training transcripts only, then save `get_config()`.

        Args:
            texts: iterable of str. Training transcripts.
        """
        config = self.get_config()
        if self.kind == "auto":
            config["kind"] = detect_script(texts)
        elif self.kind == "ids" and self.vocabulary is None:
            config["vocabulary"] = build_vocabulary(texts)
        return type(self).from_config(config)

    @property
    def feature_dim(self):
        """Size F of the last axis: 67 (hangul), len(alphabet) + 1 (latin), None (ids: no feature axis)."""
        if self.kind == "hangul":
            return HANGUL_FEATURE_DIM
        if self.kind == "latin":
            return len(self.alphabet) + 1
        if self.kind == "ids":
            return None
        raise ValueError("kind='auto' has no feature_dim until resolve(train_texts) picks 'hangul' or 'latin'.")

    @property
    def vocab_size(self):
        """`input_dim` of an `Embedding` for kind `"ids"` (padding, unknown, space + vocabulary)."""
        if self.kind != "ids":
            raise ValueError(f"vocab_size exists for kind='ids' only. Received: kind={self.kind!r}")
        self._require_resolved()
        return len(self.vocabulary) + _FIRST_CHAR_ID

    @property
    def output_shape(self):
        """Shape of one example without the batch axis: (max_chars, F), or (max_chars,) for ids."""
        return (self.max_chars,) if self.kind == "ids" else (self.max_chars, self.feature_dim)

    def _require_resolved(self):
        if not self.resolved:
            what = "kind='auto'" if self.kind == "auto" else "kind='ids' without a vocabulary"
            raise ValueError(
                f"This TextFeaturizer ({what}) depends on the training corpus: "
                "call featurizer = featurizer.resolve(train_texts) first and save featurizer.get_config()."
            )

    # -- features -------------------------------------------------------------
    def encode(self, text):
        """Features of one text: (max_chars, F) float32, or (max_chars,) int32 for ids."""
        self._require_resolved()
        if self.kind == "hangul":
            return hangul_multihot(text, self.max_chars, self.align)
        if self.kind == "latin":
            return char_onehot(text, self.max_chars, self.alphabet, self.align)
        return char_ids(text, self.max_chars, self.vocabulary, self.align)

    def window(self, text):
        """`(kept, cut)`: the part of `text` these features see, and how many characters were cut."""
        return text_window(text, self.max_chars, self.align)

    def __call__(self, texts):
        """Features of a list of texts.

        Args:
            texts: list (or any sequence) of str.

        Returns:
            float32 (N, max_chars, F); int32 (N, max_chars) for kind `"ids"`.
        """
        if isinstance(texts, str):
            raise TypeError("Expected texts to be a list of str, not one str: call featurizer([text]).")
        self._require_resolved()
        texts = list(texts)
        dtype = np.int32 if self.kind == "ids" else np.float32
        out = np.zeros((len(texts),) + self.output_shape, dtype)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"Expected texts[{i}] to be a str. Received: {text!r} of type {type(text).__name__}")
            out[i] = self.encode(text)
        return out

    # -- config ---------------------------------------------------------------
    def get_config(self):
        """Plain JSON-able dict: `kind`, `max_chars`, `align`, `alphabet`, `vocabulary`."""
        return {
            "kind": self.kind,
            "max_chars": self.max_chars,
            "align": self.align,
            "alphabet": self.alphabet,
            "vocabulary": None if self.vocabulary is None else list(self.vocabulary),
        }

    @classmethod
    def from_config(cls, config):
        """Rebuilds a featurizer from `get_config()` (unknown keys are an error)."""
        allowed = {"kind", "max_chars", "align", "alphabet", "vocabulary"}  # no `align`: "end" (older files)
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(f"Unknown TextFeaturizer config keys {unknown}. Expected some of {sorted(allowed)}.")
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, TextFeaturizer) and self.get_config() == other.get_config()

    def __repr__(self):
        vocab = "" if self.vocabulary is None else f", vocabulary=<{len(self.vocabulary)} chars>"
        align = "" if self.align == "end" else f", align={self.align!r}"
        return f"TextFeaturizer(kind={self.kind!r}, max_chars={self.max_chars}{align}{vocab})"
