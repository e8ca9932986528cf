"""Split leakage, one table: what train shares with an evaluation split (or val with test) -> warnings, notes, errors.

A case is one line of `CASES`: rows `(wav, text, speaker, split)` of a small manifest over generated wavs
(`w3` is the third wav, `copy-w3` a copy of it under another name), the kinds of leakage warned about, whether
the train/val speaker note is printed, and an error fragment (or None).
"""

import shutil
import warnings

import numpy as np
import pytest

from coaudiotext import train
from coaudiotext.data import resolve_data
from coaudiotext.data.manifest import audio_identities, read_manifest, split_overlaps

LABELS = "s yn wh c r".split()


def _clean(**change):
    """Twelve rows without leakage (train 6, val 3, test 3: own files, scripts and speakers); `change` edits rows."""
    splits = ["train"] * 6 + ["val"] * 3 + ["test"] * 3
    speakers = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "f", "f", "g"]
    rows = [[f"w{i}", f"script number {i}", speakers[i], splits[i]] for i in range(12)]
    for index, values in change.items():
        position = int(index[1:])
        for field, value in values.items():
            rows[position][("wav", "text", "speaker", "split").index(field)] = value
    return rows


def _val_is_test():
    """The val rows are the test rows once more (another split name, the same files)."""
    rows = _clean()
    return rows[:6] + [[wav, text, speaker, "val"] for wav, text, speaker, _ in rows[9:]] + rows[9:]


CASES = [
    ("no leakage", _clean(), [], False, None),
    ("the same file in train and test", _clean(r9={"wav": "w0"}), ["audio"], False, None),
    ("a copy of a train file in val", _clean(r6={"wav": "copy-w1"}), ["audio"], False, None),
    ("a script in train and test (case, punctuation)", _clean(r10={"text": "Script number 2!"}), ["text"], False, None),
    ("a speaker in train and test", _clean(r11={"speaker": "a"}), ["speaker"], False, None),
    ("speakers of train in val: a note only", _clean(r6={"speaker": "a"}, r7={"speaker": "b"}), [], True, None),
    ("a file in val and test", _clean(r11={"wav": "w6"}), ["audio"], False, None),
    ("the same script in val and test", _clean(r11={"text": "script number 6"}), ["text"], False, None),
    ("val and test share a speaker: not warned", _clean(r11={"speaker": "d"}), [], False, None),
    ("test and an extra split share files: not warned", _clean() + [["w9", "script number 9", "f", "extra"]],
     [], False, None),
    ("a file in train and an extra split", _clean() + [["w0", "other words", "z", "extra"]], ["audio"], False, None),
    ("all three kinds at once", _clean(r9={"wav": "w0", "text": "script number 0", "speaker": "a"}),
     ["audio", "text", "speaker"], False, None),
    ("val is test (the same rows)", _val_is_test(), None, False, "hold the same 3 audio files"),
]


@pytest.fixture(scope="module")
def wav_dir(tmp_path_factory):
    import soundfile

    folder = tmp_path_factory.mktemp("wavs")
    rng = np.random.default_rng(0)
    for i in range(12):  # all the same size: the content hash, not the size, tells them apart
        soundfile.write(folder / f"w{i}.wav", rng.normal(scale=0.1, size=4000).astype("float32"), 16000,
                        subtype="PCM_16")
    return folder


def _manifest(folder, wav_dir, rows):
    lines = ["audio_path,text,label,speaker,split"]
    for index, (wav, text, speaker, split) in enumerate(rows):
        path = wav_dir / f"{wav}.wav"
        if wav.startswith("copy-"):
            path = folder / f"{wav}.wav"
            shutil.copyfile(wav_dir / f"{wav[5:]}.wav", path)
        lines.append(f"{path},{text},{LABELS[index % 5]},{speaker},{split}")
    (folder / "m.csv").write_text("\n".join(lines) + "\n")
    return read_manifest(folder / "m.csv")


def _check(manifest):
    test = manifest.split("test")
    train._check_splits(manifest, manifest.split("train"), manifest.split("val"), test, LABELS, "val", "test", 16)


@pytest.mark.parametrize("name, rows, kinds, note, error", CASES, ids=[c[0] for c in CASES])
def test_leakage(tmp_path, wav_dir, capsys, name, rows, kinds, note, error):
    manifest = _manifest(tmp_path, wav_dir, rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if error:
            with pytest.raises(ValueError, match=error):
                _check(manifest)
            return
        _check(manifest)
    leaks = [str(w.message) for w in caught if "leakage" in str(w.message)]
    words = {"audio": "audio file(s)", "text": "script(s)", "speaker": "speaker(s)"}
    assert len(leaks) == len(kinds), leaks  # one warning per kind
    for kind, message in zip(kinds, leaks):  # in the order audio, text, speaker
        assert f"1 {words[kind]}" in message, message  # the count ...
        assert "line " in message, message  # ... and example rows by CSV line
    assert ("also speak in train" in capsys.readouterr().out) == note


def test_examples_and_counts_of_many_overlaps(tmp_path, wav_dir):
    rows = _clean(**{f"r{i}": {"wav": f"w{i - 9}"} for i in (9, 10, 11)}, r8={"wav": "w3"})  # 4 train files leak
    overlaps = split_overlaps({s: _manifest(tmp_path, wav_dir, rows).split(s) for s in ("train", "val", "test")})
    audio = [o for o in overlaps if o.kind == "audio"]
    assert [(o.splits, o.count) for o in audio] == [(("train", "val"), 1), (("train", "test"), 3)]
    assert len(audio[1].examples) == 3 and "w0.wav (train line 2, test line 11)" in audio[1].examples[0]
    with pytest.warns(UserWarning, match=r"leakage: 4 audio file\(s\) .*\(1 in train & val, 3 in train & test\)"):
        _check(_manifest(tmp_path, wav_dir, rows))


def test_audio_identities_hash_content_not_names(tmp_path, wav_dir):
    shutil.copyfile(wav_dir / "w0.wav", tmp_path / "renamed.wav")
    keys = audio_identities([wav_dir / "w0.wav", tmp_path / "renamed.wav", wav_dir / "w1.wav", wav_dir / "w0.wav"])
    assert keys[0] == keys[1] == keys[3] != keys[2]


def test_demo_corpus_gets_a_note_not_a_warning(capsys):
    """The demo corpus' val split is spoken by training voices (other scripts), by design: a short note only."""
    manifest, class_names = resolve_data("demo-tiny", progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train._check_splits(manifest, manifest.split("train"), manifest.split("val"), manifest.split("test"),
                            class_names, "val", "test", 16)
    assert not [str(w.message) for w in caught if "leakage" in str(w.message)]
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "speaker(s) of 'val' also speak in train" in out


def test_val_equal_to_test_is_refused_on_the_command_line(tmp_path, wav_dir, capsys):
    _manifest(tmp_path, wav_dir, _val_is_test())
    assert train.main(["--model", "bilstm", "--data", str(tmp_path / "m.csv"), "--epochs", "1", "--quiet"]) == 2
    assert "the checkpoint would be selected on the test set" in capsys.readouterr().err
