"""The embedded synthetic demo corpus: rendering, determinism, splits, CLI, script validation, pitch."""

import csv
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

from coaudiotext.data import demo

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _rows(manifest):
    with open(manifest, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return demo.build_demo_corpus(tmp_path_factory.mktemp("tiny"), size="tiny", seed=0, progress=False)


def test_render_returns_audible_float_audio_at_22050():
    samples, sr = demo.render("close the window?", voice="en-us+f3")
    assert sr == 22050
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 0.3 * sr < samples.size < 3 * sr
    assert np.abs(samples).max() <= 1.0
    assert np.sqrt(np.mean(samples**2)) > 0.01


def test_render_is_bit_exact_whatever_came_before():
    first, _ = demo.render("you locked the door?", voice="en-gb-x-rp+m3", rate=160, pitch=40, pitch_range=60)
    demo.render("something else entirely!", voice="en+klatt4")
    again, _ = demo.render("you locked the door?", voice="en-gb-x-rp+m3", rate=160, pitch=40, pitch_range=60)
    np.testing.assert_array_equal(first, again)


def test_render_of_breathy_variants_does_not_depend_on_the_clock():
    # espeak_ng_Initialize seeds its breath-noise generator with time(): render() reseeds it
    first, _ = demo.render("she already left.", voice="en-us+f3")
    time.sleep(1.1)
    again, _ = demo.render("she already left.", voice="en-us+f3")
    np.testing.assert_array_equal(first, again)


def test_render_rejects_unknown_voices_and_bad_parameters():
    with pytest.raises(ValueError, match="variant 'bogus'"):
        demo.render("hello.", voice="en-us+bogus")  # espeak-ng alone would silently drop the variant
    with pytest.raises(ValueError, match="Unknown espeak-ng voice 'en-gb'"):
        demo.render("hello.", voice="en-gb")
    with pytest.raises(ValueError, match="rate"):
        demo.render("hello.", rate=10)
    with pytest.raises(ValueError, match="text"):
        demo.render("   ")


def test_manifest_columns_and_sizes(tiny):
    with open(tiny, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == ["audio_path", "text", "label", "speaker", "split"]
    rows = _rows(tiny)
    counts = {split: sum(r["split"] == split for r in rows) for split in ("train", "val", "test", "handwritten")}
    assert counts == {"train": 48, "val": 12, "test": 12, "handwritten": 12}
    for split in counts:
        labels = {r["label"] for r in rows if r["split"] == split}
        assert labels == set(demo.LABELS), split
    for r in rows:
        assert (tiny.parent / r["audio_path"]).is_file()
        assert not r["audio_path"].startswith("/")
        assert r["text"] and r["text"][-1] not in ".?!"


def test_default_size_has_thousands_of_scripts_and_forty_voices():
    size = demo.SIZES["default"]
    assert size.train_scripts_per_form * 3 >= 2000
    assert size.train_voices + size.test_voices >= 40
    plan, speakers = demo._default_plan(size, 0)
    by_split = {}
    for spk, text, label, split in plan:
        by_split.setdefault(split, []).append((spk.speaker, text, label))
    assert {k: len(v) for k, v in by_split.items()} == {"train": 4800, "val": 480, "test": 1200, "handwritten": 840}
    texts = {split: {t for _, t, _ in rows} for split, rows in by_split.items()}
    assert len(texts["train"]) == 2400
    for a, b in (("train", "val"), ("train", "test"), ("val", "test"), ("train", "handwritten"), ("val", "handwritten")):
        assert not texts[a] & texts[b], (a, b)
    voices = {split: {s for s, _, _ in rows} for split, rows in by_split.items()}
    assert len(voices["train"]) == 60 and len(voices["test"]) == 10
    assert not voices["train"] & voices["test"] and voices["handwritten"] <= voices["test"]


def test_splits_are_disjoint_in_voices_and_scripts(tiny):
    rows = _rows(tiny)
    by_split = {s: [r for r in rows if r["split"] == s] for s in ("train", "val", "test", "handwritten")}
    speakers = {s: {r["speaker"] for r in part} for s, part in by_split.items()}
    scripts = {s: {r["text"] for r in part} for s, part in by_split.items()}
    assert not speakers["train"] & speakers["test"]
    assert not speakers["train"] & speakers["handwritten"]
    assert speakers["val"] <= speakers["train"]  # val: other scripts of the training voices
    for a in scripts:
        for b in scripts:
            if a < b:
                assert not scripts[a] & scripts[b], (a, b)
    assert scripts["handwritten"] <= {text for text, _ in demo.handwritten_scripts()}
    # test voices use variants no training voice uses
    voices = {r["speaker"]: r["voice"] for r in _rows(tiny.parent / "speakers.csv")}
    train_variants = {voices[s].split("+")[1] for s in speakers["train"]}
    assert not train_variants & {voices[s].split("+")[1] for s in speakers["test"]}


def test_test_scripts_hold_words_never_trained_on(tiny):
    rows = _rows(tiny)
    train_words = {w for r in rows if r["split"] in ("train", "val") for w in r["text"].replace(",", " ").split()}
    for text in {r["text"] for r in rows if r["split"] == "test"}:
        assert set(text.replace(",", " ").split()) - train_words, text


def test_every_script_has_every_label_of_its_form(tiny):
    rows = _rows(tiny)
    form_labels = {frozenset(labels) for labels in demo.FORMS.values()}
    seen = {}
    for r in rows:
        seen.setdefault((r["split"], r["speaker"], r["text"]), []).append(r["label"])
    for key, labels in seen.items():
        assert len(labels) == 2 and frozenset(labels) in form_labels, (key, labels)
    assert demo.text_only_ceiling(tiny) == pytest.approx(0.5)
    assert demo.text_only_ceiling(tiny, split="test") == pytest.approx(0.5)


def test_handwritten_scripts_are_balanced():
    forms = demo.script_forms(demo.handwritten_scripts())
    assert {len(v) for v in forms.values()} == {70}


def test_text_window_covers_the_longest_demo_sentence():
    from coaudiotext.data import generator
    from coaudiotext.features.text import text_window

    sets = generator.generate_scripts(seed=0)
    texts = [t for part in (sets.train, sets.val, sets.test) for t, _ in part]
    texts += [t for t, _ in demo.handwritten_scripts()]
    longest = max(texts, key=len)
    assert len(longest) <= demo.TEXT_FEATURES["max_chars"]
    assert text_window(longest, demo.TEXT_FEATURES["max_chars"], demo.TEXT_FEATURES["align"]) == (longest, 0)


def test_same_seed_same_corpus_bytes(tiny, tmp_path):
    again = demo.build_demo_corpus(tmp_path / "again", size="tiny", seed=0, progress=False)
    assert again.read_bytes() == tiny.read_bytes()
    rows = _rows(tiny)
    for r in (rows[0], rows[len(rows) // 2], rows[-1]):
        assert (again.parent / r["audio_path"]).read_bytes() == (tiny.parent / r["audio_path"]).read_bytes()
    other_train, _ = demo.speaker_pool(4, 2, seed=1)
    assert [s.voice for s in other_train] != [s.voice for s in demo.speaker_pool(4, 2, seed=0)[0]]


def test_cli_scripts_voices_split_writes_every_row_for_every_voice(tmp_path):
    scripts = tmp_path / "mine.tsv"
    scripts.write_text("text\tlabel\nthe door is open\ts\nthe door is open\tyn\nopen the door\tr\n", encoding="utf-8")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-m", "coaudiotext.data.demo", "--out", str(out), "--scripts", str(scripts),
         "--voices", "en-us+f2,en-gb-x-rp+m3:40:160", "--split", "heldout", "--quiet"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = _rows(out / "manifest.csv")
    assert len(rows) == 3 * 2
    assert {r["split"] for r in rows} == {"heldout"}
    assert {r["speaker"] for r in rows} == {"en-us+f2", "en-gb-x-rp+m3_40_160"}
    for speaker in ("en-us+f2", "en-gb-x-rp+m3_40_160"):
        assert sorted((r["text"], r["label"]) for r in rows if r["speaker"] == speaker) == sorted(
            [("the door is open", "s"), ("the door is open", "yn"), ("open the door", "r")])
    assert all((out / r["audio_path"]).is_file() for r in rows)


def test_custom_scripts_default_to_split_test(tmp_path):
    scripts = tmp_path / "one.tsv"
    scripts.write_text("text\tlabel\nsit down\tc\n", encoding="utf-8")
    manifest = demo.build_demo_corpus(tmp_path / "out", scripts=scripts, voices=["en"], progress=False)
    assert [(r["text"], r["label"], r["split"]) for r in _rows(manifest)] == [("sit down", "c", "test")]


def test_bad_script_file_lists_every_bad_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("words\tlabel\nfine text\ts\n\tyn\nhello there\tq\nstop it!\tc\na\tb\tc\nfine text\ts\n",
                   encoding="utf-8")
    with pytest.raises(demo.ScriptFileError) as info:
        demo.read_scripts(bad)
    assert [line for line, _ in info.value.errors] == [1, 3, 4, 5, 6, 7]
    message = str(info.value)
    for fragment in ("line 1: missing header", "line 3: empty text", "line 4: unknown label 'q'",
                     "line 5: text ends with '!'", "line 6: expected 2", "line 7: duplicate of line 2"):
        assert fragment in message
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "coaudiotext.data.demo", "--out", str(tmp_path / "o"),
                             "--scripts", str(bad), "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "line 4: unknown label 'q'" in result.stderr and "line 7" in result.stderr


def test_questions_rise_above_statements():
    texts = ["you locked the door", "the water is boiling", "close the window", "she found her wallet"]
    ratios = {"?": [], ".": []}
    for voice in ("en-us+m3", "en+f3"):
        for text in texts:
            for mark in ratios:
                ratios[mark].append(demo.pitch_ratio(demo.render(text + mark, voice=voice)[0]))
    rising, falling = np.array(ratios["?"]), np.array(ratios["."])
    assert np.all(np.isfinite(rising)) and np.all(np.isfinite(falling))
    assert rising.mean() > falling.mean() + 0.1
    assert np.mean(rising > falling) >= 0.75  # pairwise, same script and voice


def test_pitch_check_on_tiny_corpus(tiny):
    check = demo.pitch_check(tiny, max_per_label=8)
    assert check["rising_mean"] > check["other_mean"]
    assert check["threshold_accuracy"] >= 0.75
    assert set(check["per_label"]) == set(demo.LABELS)


def test_demo_manifest_caches_and_builds_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("COAUDIOTEXT_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_build(out_dir, seed=0, size="default", progress=True, **_):
        calls.append(pathlib.Path(out_dir))
        if len(calls) == 1:
            (pathlib.Path(out_dir) / "partial.wav").write_bytes(b"x")
            raise KeyboardInterrupt("simulated crash")
        path = pathlib.Path(out_dir) / "manifest.csv"
        path.write_text("audio_path,text,label,speaker,split\n", encoding="utf-8")
        return path

    monkeypatch.setattr(demo, "build_demo_corpus", fake_build)
    with pytest.raises(KeyboardInterrupt):
        demo.demo_manifest("tiny", seed=3)
    assert list((tmp_path / "cache").iterdir()) == []  # no half corpus, no temporary folder left
    manifest = demo.demo_manifest("tiny", seed=3)
    assert manifest.is_file() and manifest.parent.name.startswith("demo-tiny-3-")
    assert calls[-1] != manifest.parent  # built elsewhere, then renamed into place
    assert demo.demo_manifest("tiny", seed=3) == manifest
    assert len(calls) == 2
