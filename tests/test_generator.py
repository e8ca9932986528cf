"""The compositional script generator: determinism, counts, disjointness, format, held-out lexicon, CLI."""

import collections
import os
import pathlib
import random
import subprocess
import sys

import pytest

from coaudiotext.data import generator

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPLITS = ("train", "val", "test")
CLOSED_SAMPLE = ("i", "you", "he", "she", "it", "we", "they", "me", "him", "her", "us", "them", "my", "your",
                 "his", "our", "their", "the", "a", "an", "this", "that", "these", "those", "some", "is", "are",
                 "was", "were", "do", "does", "did", "will", "can", "should", "have", "has", "what", "where",
                 "when", "why", "who", "whom", "which", "whose", "how", "please", "don't", "let's", "at", "in",
                 "on", "to", "from", "with", "for", "it's", "i'm", "there's", "didn't", "won't", "can't")


@pytest.fixture(scope="module")
def sets():
    return generator.generate_scripts()


def _all(sets):
    return [(text, form, split) for split in SPLITS for text, form in getattr(sets, split)]


def test_default_sizes_per_form_and_split(sets):
    for split, count in (("train", 800), ("val", 80), ("test", 100)):
        counts = collections.Counter(form for _, form in getattr(sets, split))
        assert counts == {form: count for form in generator.FORMS}, split
    assert sets.seed == 0


def test_custom_sizes_are_exact():
    small = generator.generate_scripts(seed=4, train_per_form=7, val_per_form=0, test_per_form=3)
    assert collections.Counter(f for _, f in small.train) == {f: 7 for f in generator.FORMS}
    assert small.val == []
    assert collections.Counter(f for _, f in small.test) == {f: 3 for f in generator.FORMS}


def test_same_seed_same_lists_other_seed_other_lists(sets):
    again = generator.generate_scripts()
    assert again == sets
    assert again.train == sets.train and again.test == sets.test  # same order too
    other = generator.generate_scripts(seed=1)
    assert other.train != sets.train
    assert other.heldout_words != sets.heldout_words


def test_train_does_not_depend_on_val_and_test_sizes(sets):
    smaller = generator.generate_scripts(val_per_form=3, test_per_form=5)
    assert smaller.train == sets.train


def test_deterministic_across_processes():
    code = ("import hashlib; from coaudiotext.data import generator as g; "
            "s = g.generate_scripts(seed=3, train_per_form=60, val_per_form=10, test_per_form=10); "
            "print(hashlib.sha256(repr((s.train, s.val, s.test, sorted(s.heldout_words))).encode()).hexdigest())")
    digests = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True)
        digests.add(out.stdout.strip())
    local = generator.generate_scripts(seed=3, train_per_form=60, val_per_form=10, test_per_form=10)
    import hashlib
    digests.add(hashlib.sha256(repr((local.train, local.val, local.test,
                                     sorted(local.heldout_words))).encode()).hexdigest())
    assert len(digests) == 1


def test_no_text_twice_and_no_text_under_two_forms(sets):
    rows = _all(sets)
    texts = [text for text, _, _ in rows]
    assert len(texts) == len(set(texts))
    forms = collections.defaultdict(set)
    for text, form, _ in rows:
        forms[text].add(form)
    assert all(len(f) == 1 for f in forms.values())


def test_format_characters_length(sets):
    allowed = set("abcdefghijklmnopqrstuvwxyz ',")
    for text, form, split in _all(sets):
        assert form in generator.FORMS
        assert set(text) <= allowed, text
        assert text == text.strip() and "  " not in text, text
        assert 3 <= len(text.split()) <= 14, text
        assert len(text) <= 78, text
        assert text[-1] not in ".?!,", text
        assert not any(c.isdigit() for c in text)
        assert generator.check_script(text) == [], text


def test_check_script_reports_problems():
    assert generator.check_script("close the window") == []
    assert generator.check_script("Close the window")
    assert generator.check_script("close the window?")
    assert generator.check_script("close  the window")
    assert generator.check_script("go now")
    assert generator.check_script("buy 3 apples")
    assert generator.check_script(" ".join(["very"] * 15))


def test_lengths_spread(sets):
    lengths = collections.Counter(len(t.split()) for t, _, _ in _all(sets))
    total = sum(lengths.values())
    assert sum(lengths[n] for n in range(5, 11)) / total > 0.6
    assert lengths[3] + lengths[4] > 0 and sum(lengths[n] for n in range(11, 15)) > 0


def test_heldout_words_absent_from_train_and_val_present_in_every_test_script(sets):
    assert len(sets.heldout_words) > 100
    for split in ("train", "val"):
        for text, _ in getattr(sets, split):
            assert not set(generator.tokens(text)) & sets.heldout_words, (split, text)
    for text, _ in sets.test:
        assert set(generator.tokens(text)) & sets.heldout_words, text


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_heldout_draw_per_category_and_closed_words(seed):
    train, held, words = generator.heldout_lexicon(seed, 0.2)
    full = generator.LEXICON
    assert not words & generator.CLOSED_WORDS
    assert not words & set(CLOSED_SAMPLE)
    assert set(CLOSED_SAMPLE) <= generator.CLOSED_WORDS
    held_ids = {id(e) for e in held}
    for name, entries in (("names", full.names),
                          ("nouns", [n for n in full.nouns if n.category == "noun"]),
                          ("places", [n for n in full.nouns if n.category == "place"]),
                          ("adjectives", full.adjectives)):
        share = sum(id(e) in held_ids for e in entries) / len(entries)
        assert 0.12 <= share <= 0.28, (name, share)
    verb_share = sum(id(v) in held_ids for v in full.verbs) / len(full.verbs)
    assert 0.09 <= verb_share <= 0.15, verb_share
    for base in ("go", "come", "take", "give", "put", "make", "get", "have", "do"):
        assert base in train.by_base
    # every inflected form of a held-out verb is held out unless another kept entry (or a closed word) writes it
    kept_forms = set(generator.CLOSED_WORDS)
    for entry in train.entries():
        for form in entry.forms:
            kept_forms.update(form.split())
    for entry in held:
        for form in entry.forms:
            for word in form.split():
                assert (word in words) != (word in kept_forms), word
    assert not set(train.vocabulary()) & words


def test_heldout_fraction_zero_and_invalid():
    sets = generator.generate_scripts(seed=2, train_per_form=10, val_per_form=2, test_per_form=2, heldout_fraction=0)
    assert sets.heldout_words == frozenset()
    assert len(sets.test) == 6
    with pytest.raises(ValueError):
        generator.generate_scripts(heldout_fraction=1.0)
    with pytest.raises(ValueError):
        generator.generate_scripts(train_per_form=-1)


def test_every_word_is_a_lexicon_form_or_closed(sets):
    vocabulary = set(generator.LEXICON.vocabulary()) | generator.CLOSED_WORDS
    unknown = {w for text, _, _ in _all(sets) for w in generator.tokens(text) if w not in vocabulary}
    assert not unknown


def test_to_rows_gives_each_label_of_the_form_in_order(sets):
    scripts = sets.val[:5] + sets.test[-5:]
    rows = generator.to_rows(scripts)
    assert len(rows) == 2 * len(scripts)
    for k, (text, form) in enumerate(scripts):
        assert rows[2 * k: 2 * k + 2] == [(text, label) for label in generator.FORM_LABELS[form]]
    assert generator.FORM_LABELS == {"declarative": ("s", "yn"), "wh": ("wh", "yn"), "imperative": ("c", "r")}


def test_generate_every_construction_of_every_form():
    rng = random.Random("test")
    for form in generator.FORMS:
        for construction in generator.CONSTRUCTIONS[form]:
            for _ in range(3):
                text = generator.generate(form, rng, generator.LEXICON, construction=construction)
                assert generator.check_script(text) == [], (form, construction, text)
    with pytest.raises(ValueError):
        generator.generate("question", rng)
    with pytest.raises(ValueError):
        generator.generate("wh", rng, construction="imperative_please")


def test_form_markers():
    """Cheap sanity of the forms: wh-questions contain a wh-word, imperatives start without a subject."""
    rng = random.Random(5)
    wh_words = {"what", "what's", "where", "where's", "when", "when's", "why", "who", "who's", "whom", "which",
                "whose", "how", "how's"}
    for _ in range(200):
        assert set(generator.tokens(generator.generate("wh", rng))) & wh_words
        first = generator.tokens(generator.generate("imperative", rng))[0]
        assert first not in {"i", "he", "she", "we", "they", "it", "i'm", "there's"}


def _read_tsv(path):
    lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "text\tlabel"
    return [tuple(line.split("\t")) for line in lines[1:]]


def test_cli_writes_a_valid_tsv(tmp_path, capsys):
    out = tmp_path / "test.tsv"
    assert generator.main(["--seed", "0", "--split", "test", "--per-form", "5", "--out", str(out)]) == 0
    rows = _read_tsv(out)
    assert len(rows) == 3 * 5 * 2
    sets = generator.generate_scripts(seed=0, test_per_form=5)
    assert rows == generator.to_rows(sets.test)
    labels = {label for _, label in rows}
    assert labels == {"s", "yn", "wh", "c", "r"}
    for text, label in rows:
        assert generator.check_script(text) == []
    generator.main(["--split", "val", "--per-form", "2"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "text\tlabel" and len(printed) == 1 + 3 * 2 * 2


def test_cli_stats_and_help(capsys):
    assert generator.main(["--stats", "--per-form", "20"]) == 0
    out = capsys.readouterr().out
    assert "held-out words" in out and "length histogram" in out and "imperative examples" in out
    with pytest.raises(SystemExit):
        generator.main(["--help"])
    assert "--per-form" in capsys.readouterr().out


def test_cli_as_module(tmp_path):
    out = tmp_path / "train.tsv"
    subprocess.run([sys.executable, "-m", "coaudiotext.data.generator", "--split", "train", "--per-form", "4",
                    "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    assert len(_read_tsv(out)) == 3 * 4 * 2
