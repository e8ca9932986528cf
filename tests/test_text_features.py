"""Text features: the tutorial's Hangul multi-hot, character one-hot / ids, TextFeaturizer."""

import json
import unicodedata

import numpy as np
import pytest

from coaudiotext.features import text as tf_text
from coaudiotext.features.text import (
    HANGUL_ALPHABET,
    LATIN_ALPHABET,
    PAD_ID,
    SPACE_ID,
    UNKNOWN_ID,
    TextFeaturizer,
    char_ids,
    char_onehot,
    hangul_decompose,
    hangul_indices,
    hangul_multihot,
)

# han2one.py (warnikchow/coaudiotext), copied as data: choseng, cwungseng, congseng.
HAN2ONE_ALP = (
    ["ㄱ", "ㄴ", "ㄷ", "ㄹ", "ㅁ", "ㅂ", "ㅅ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ", "ㄲ", "ㄸ", "ㅃ", "ㅆ", "ㅉ"]
    + ["ㅏ", "ㅑ", "ㅓ", "ㅕ", "ㅗ", "ㅛ", "ㅜ", "ㅠ", "ㅡ", "ㅣ", "ㅐ", "ㅒ", "ㅔ", "ㅖ", "ㅘ", "ㅙ", "ㅚ", "ㅝ", "ㅞ", "ㅟ", "ㅢ"]
    + ["ㄱ", "ㄴ", "ㄷ", "ㄹ", "ㅁ", "ㅂ", "ㅅ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ", "ㄲ", "ㅆ", "ㄳ", "ㄵ", "ㄶ",
       "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅄ"]
)


def read_scripts(shared_dir):
    path = shared_dir / "data/prosem/spec_final.txt"
    return [line.split("\t")[2] for line in path.read_text(encoding="utf-8").split("\n")]


# --- Hangul tables ------------------------------------------------------------


def test_alphabet_is_han2one_order():
    assert list(HANGUL_ALPHABET) == HAN2ONE_ALP
    assert len(HANGUL_ALPHABET) == 67


def test_decomposition_matches_unicode_for_every_syllable():
    # The jamo names of the NFD decomposition must equal the names of our compatibility jamo.
    for code in range(0xAC00, 0xD7A4):
        char = chr(code)
        expected = [unicodedata.name(j).split(" ", 2)[2] for j in unicodedata.normalize("NFD", char)]
        got = [unicodedata.name(j).replace("HANGUL LETTER ", "") for j in hangul_decompose(char) if j]
        assert got == expected, char


def test_hand_checked_characters():
    # 갔 = ㄱ (initial 0) + ㅏ (medial 0 -> 19) + ㅆ (final 15 -> 40 + 15)
    assert hangul_indices("갔") == (0, 19, 55)
    # 줄 = ㅈ (8) + ㅜ (6 -> 25) + ㄹ (3 -> 43); 래 = ㄹ (3) + ㅐ (10 -> 29), no final
    assert hangul_indices("줄") == (8, 25, 43)
    assert hangul_indices("래") == (3, 29)
    # 뺐 = ㅃ (16) + ㅐ (29) + ㅆ (55); 닭 = ㄷ (2) + ㅏ (19) + ㄺ (final 19 -> 59); 힣 = ㅎ + ㅣ + ㅎ
    assert hangul_indices("뺐") == (16, 29, 55)
    assert hangul_indices("닭") == (2, 19, 59)
    assert hangul_indices("힣") == (13, 28, 53)
    row = hangul_multihot("갔", max_chars=1)[0]
    assert row.dtype == np.float32 and row.sum() == 3 and row[[0, 19, 55]].tolist() == [1, 1, 1]


def test_bare_jamo_like_hgtk():
    assert hangul_decompose("ㄲ") == ("ㄲ", "", "")  # an initial when it can be one
    assert hangul_decompose("ㅢ") == ("", "ㅢ", "")
    assert hangul_decompose("ㄳ") == ("", "", "ㄳ")
    assert hangul_indices("ㄳ") == (56,)
    assert hangul_multihot("ㅋㅋ", max_chars=2).sum() == 2


def test_layout_right_aligned_from_the_end():
    x = hangul_multihot("누가 가르쳐 줄래", max_chars=10)
    assert x.shape == (10, 67)
    assert x.sum(axis=1).tolist() == [0, 2, 2, 0, 2, 2, 2, 0, 3, 2]
    assert x[-1].nonzero()[0].tolist() == [3, 29]  # 래 is the last row
    # Longer than max_chars: the END is kept (the sentence ender).
    y = hangul_multihot("누가 가르쳐 줄래", max_chars=3)
    assert np.array_equal(y, x[-3:])
    # Non-Hangul characters keep their position as zero rows.
    z = hangul_multihot("A가?", max_chars=4)
    assert z.sum(axis=1).tolist() == [0, 0, 2, 0]
    assert not hangul_multihot("", max_chars=5).any()


def test_nfd_input_equals_nfc():
    text = "가르쳐 줄래"
    assert np.array_equal(hangul_multihot(unicodedata.normalize("NFD", text)), hangul_multihot(text))


def test_argument_errors():
    with pytest.raises(ValueError, match="max_chars"):
        hangul_multihot("가", max_chars=0)
    with pytest.raises(TypeError, match="text"):
        hangul_multihot(None)
    with pytest.raises(ValueError, match="kind"):
        TextFeaturizer("korean")


# --- Real ProSem scripts --------------------------------------------------------


def test_hangul_multihot_on_prosem_scripts(shared_dir):
    scripts = read_scripts(shared_dir)
    assert len(scripts) == 3552
    assert max(len(s) for s in scripts) == 15
    features = TextFeaturizer("hangul")(scripts)
    assert features.shape == (3552, 30, 67) and features.dtype == np.float32
    per_row = features.sum(axis=2)
    for script, rows in zip(scripts, per_row):
        n = len(script)
        assert not rows[: 30 - n].any(), script  # zeros in front
        for char, count in zip(script, rows[30 - n :]):
            if char == " ":
                assert count == 0, script
            else:
                assert count in (2, 3), script
                assert count == len(hangul_indices(char))
    # Every non-zero row has exactly one initial and one medial, at most one final.
    filled = features[per_row > 0]
    assert (filled[:, :19].sum(1) == 1).all() and (filled[:, 19:40].sum(1) == 1).all()
    assert (filled[:, 40:].sum(1) <= 1).all()
    # '갔' occurs in the scripts; check one occurrence in place.
    i = next(k for k, s in enumerate(scripts) if "갔" in s)
    position = 30 - len(scripts[i]) + scripts[i].index("갔")
    assert features[i, position].nonzero()[0].tolist() == [0, 19, 55]


# --- Latin one-hot and ids ------------------------------------------------------------


def test_char_onehot_unknown_and_spaces():
    x = char_onehot("Café ß😀!", max_chars=10)
    dim = len(LATIN_ALPHABET) + 1
    assert x.shape == (10, dim) and x.dtype == np.float32
    unknown = dim - 1
    # rows: pad pad c a f é _ ß 😀 !
    assert x.sum(axis=1).tolist() == [0, 0, 1, 1, 1, 1, 0, 1, 1, 1]
    assert x[2:6].argmax(axis=1).tolist() == [2, 0, 5, unknown]
    assert x[7:].argmax(axis=1).tolist() == [unknown, unknown, LATIN_ALPHABET.index("!")]
    assert np.array_equal(char_onehot("ABC", 3), char_onehot("abc", 3))  # lower-cased


def test_char_ids():
    ids = char_ids("Ab é", max_chars=6)
    assert ids.dtype == np.int32
    assert ids.tolist() == [PAD_ID, PAD_ID, 3, 4, SPACE_ID, UNKNOWN_ID]
    assert char_ids("abcdef", max_chars=2).tolist() == [3 + 4, 3 + 5]  # the end is kept


# --- TextFeaturizer -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hangul", "latin", "ids", "auto"])
def test_config_round_trip(kind):
    corpus = ["hello there", "how are you"] if kind != "hangul" else ["누가 가르쳐 줄래"]
    featurizer = TextFeaturizer(kind, max_chars=12).resolve(corpus)
    config = json.loads(json.dumps(featurizer.get_config()))  # plain JSON
    rebuilt = TextFeaturizer.from_config(config)
    assert rebuilt == featurizer
    assert np.array_equal(rebuilt(corpus), featurizer(corpus))
    assert featurizer(corpus).shape == (len(corpus),) + featurizer.output_shape


def test_auto_resolution_and_dims():
    assert TextFeaturizer("auto").resolve(["누가 가르쳐 줄래", "ok"]).kind == "hangul"
    latin = TextFeaturizer("auto", max_chars=20).resolve(["who will teach me", "누가"])
    assert latin.kind == "latin" and latin.feature_dim == len(LATIN_ALPHABET) + 1
    assert latin(["hi"]).shape == (1, 20, latin.feature_dim)
    with pytest.raises(ValueError, match="resolve"):
        TextFeaturizer("auto")(["hi"])
    with pytest.raises(ValueError, match="empty corpus"):
        TextFeaturizer("auto").resolve([])
    with pytest.raises(TypeError, match="one str"):
        TextFeaturizer("hangul")("가나")


def test_ids_vocabulary_from_corpus():
    featurizer = TextFeaturizer("ids", max_chars=4)
    with pytest.raises(ValueError, match="resolve"):
        featurizer(["가"])
    fitted = featurizer.resolve(["가가 나", "가다"])
    assert fitted.vocabulary == ["가", "나", "다"]  # most frequent first
    assert fitted.vocab_size == 6 and fitted.feature_dim is None
    assert fitted(["다 라"]).tolist() == [[PAD_ID, 5, SPACE_ID, UNKNOWN_ID]]


def test_module_doctests():
    import doctest

    result = doctest.testmod(tf_text)
    assert result.attempted > 5 and result.failed == 0


def test_start_alignment_keeps_the_sentence_start():
    from coaudiotext.features.text import char_ids, char_onehot, text_window

    text = "where did you leave the keys of the old blue car"
    end = char_onehot(text, max_chars=30)
    start = char_onehot(text, max_chars=30, align="start")
    decoded_start = "".join(LATIN_ALPHABET[i] if row.any() else " " for i, row in zip(start.argmax(1), start))
    decoded_end = "".join(LATIN_ALPHABET[i] if row.any() else " " for i, row in zip(end.argmax(1), end))
    assert decoded_start == text[:30]            # the wh-word survives
    assert decoded_end == text[-30:]             # the faithful window cuts it
    assert "where" not in decoded_end
    short = char_ids("go home", max_chars=10, align="start").tolist()
    assert short[:7] != [0] * 7 and short[7:] == [0, 0, 0]  # left-aligned, padding after
    assert text_window(text, 30, "start") == (text[:30], len(text) - 30)
    assert text_window("  go home ", 30, "start") == ("go home", 0)
    with pytest.raises(ValueError, match="align"):
        char_onehot(text, align="middle")


def test_align_is_stored_in_the_config_and_defaults_to_the_tutorial_layout():
    old_config = {"kind": "latin", "max_chars": 30, "alphabet": LATIN_ALPHABET, "vocabulary": None}
    assert TextFeaturizer.from_config(old_config).align == "end"  # files written before `align` existed
    featurizer = TextFeaturizer("latin", max_chars=80, align="start")
    assert TextFeaturizer.from_config(featurizer.get_config()) == featurizer
    assert featurizer.get_config()["align"] == "start"
