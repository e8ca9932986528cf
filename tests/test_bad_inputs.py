"""Bad input, one table: each case -> exit code of `python -m coaudiotext.train` and a message fragment.

A new case is one line of `CASES`: a name, a function writing the manifest (from demo-tiny wavs) into a
folder and returning the extra command-line arguments, the exit code, and a fragment of what is printed.
"""

import warnings

import pytest

from coaudiotext import train
from coaudiotext.data import resolve_data
from coaudiotext.data.manifest import Manifest, read_manifest

HEADER = "audio_path,text,label,speaker,split\n"


@pytest.fixture(scope="module")
def wavs():
    manifest, _ = resolve_data("demo-tiny", progress=False)
    return manifest.audio_paths[:12]


def _rows(wavs, splits=("train",) * 6 + ("val",) * 3 + ("test",) * 3, labels="s yn wh c r s yn wh c r s yn"):
    return "".join(f"{w},close the window,{l},spk,{s}\n" for w, s, l in zip(wavs, splits, labels.split()))


def _write(folder, text, encoding="utf-8"):
    path = folder / "m.csv"
    path.write_bytes(text.encode(encoding))
    return path


def latin1(folder, wavs):
    return [str(_write(folder, HEADER + _rows(wavs) + f"{wavs[0]},café au lait,s,spk,train\n", "latin-1"))]


def label_case(folder, wavs):
    return [str(_write(folder, HEADER + _rows(wavs) + f"{wavs[0]},close it,S,spk,train\n"))]


def one_row(folder, wavs):
    return [str(_write(folder, HEADER + f"{wavs[0]},close the window,s,spk,train\n"))]


def val_is_test(folder, wavs):
    return [str(_write(folder, HEADER + _rows(wavs))), "--val-split", "test"]


def finished_out(folder, wavs):
    out = folder / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    return [str(_write(folder, HEADER + _rows(wavs))), "--out", str(out)]


def unknown_label_hint(folder, wavs):
    return [str(_write(folder, HEADER + _rows(wavs) + f"{wavs[0]},close it,S,spk,train\n")), "--labels", "s,yn,wh,c,r"]


def _truncated(folder, wavs):
    data = open(wavs[0], "rb").read()
    path = folder / "truncated.wav"
    path.write_bytes(data[: len(data) // 2])  # header intact, data cut
    return path


def truncated_wav(folder, wavs):
    return [str(_write(folder, HEADER + _rows(wavs) + f"{_truncated(folder, wavs)},close it,s,spk,train\n"))]


def truncated_wav_skipped(folder, wavs):
    return truncated_wav(folder, wavs) + ["--skip-bad", "--out", str(folder / "run")]


def nan_wav(folder, wavs):
    import numpy as np
    import soundfile

    samples = np.random.default_rng(0).normal(scale=0.1, size=8000).astype("float32")
    samples[100] = np.nan
    soundfile.write(folder / "nan.wav", samples, 22050, subtype="FLOAT")
    return [str(_write(folder, HEADER + _rows(wavs) + f"{folder / 'nan.wav'},close it,s,spk,train\n"))]


def silent_wav(folder, wavs):
    import numpy as np
    import soundfile

    soundfile.write(folder / "silent.wav", np.zeros(8000, "float32"), 22050, subtype="PCM_16")
    return [str(_write(folder, HEADER + _rows(wavs) + f"{folder / 'silent.wav'},close it,s,spk,train\n")),
            "--out", str(folder / "run")]


CASES = [
    ("silent (all-zero) audio", silent_wav, 0, "silent (every sample is 0)"),
    ("wav truncated mid-data", truncated_wav, 2, "truncated.wav: could not be decoded"),
    ("wav truncated, --skip-bad", truncated_wav_skipped, 0, "Skipped 1 row(s) whose audio gave no features"),
    ("NaN samples in a float wav", nan_wav, 2, "not finite"),
    ("latin-1 CSV", latin1, 2, "line 14: not UTF-8"),
    ("label S next to s", label_case, 2, "differs only in case"),
    ("label S with --labels", unknown_label_hint, 2, "did you mean 's'"),
    ("one-row manifest", one_row, 2, "Too few rows"),
    ("val split == test split", val_is_test, 2, "both 'test'"),
    ("--out is a finished run", finished_out, 2, "--overwrite"),
]


@pytest.mark.parametrize("name, write, code, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, capsys, wavs, name, write, code, fragment):
    data, *extra = write(tmp_path, wavs)
    argv = ["--model", "bilstm", "--data", data, "--epochs", "1", "--quiet"] + extra
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert train.main(argv) == code
    printed = capsys.readouterr()
    assert fragment in printed.err + printed.out + " ".join(str(w.message) for w in caught)


def test_bom_and_split_case_are_accepted(tmp_path, wavs):
    text = HEADER + _rows(wavs, splits=("Train",) * 6 + ("val",) * 3 + ("Test",) * 3)
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # Excel's "CSV UTF-8"
    with pytest.warns(UserWarning, match="case-insensitive"):
        manifest = read_manifest(path)
    assert manifest.splits == ["train", "val", "test"] or set(manifest.splits) == {"train", "val", "test"}
    assert len(manifest) == 12


def test_split_warnings(wavs):
    def rows(paths, split, labels):
        return Manifest(rows=[{"audio_path": p, "text": "x", "label": l, "speaker": "a", "split": split}
                              for p, l in zip(paths, labels.split())])

    train_rows = rows(wavs[:4], "train", "s s s s")
    val_rows = rows(wavs[4:6], "val", "s yn")
    test_rows = rows(wavs[:2], "test", "s yn")  # the first two wavs are in train too
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train._check_splits(Manifest(rows=[]), train_rows, val_rows, test_rows, ["s", "yn"], "val", "test", 16)
        train._check_splits(Manifest(rows=[]), train_rows, val_rows, None, ["s", "yn"], "val", "test", 16)
    messages = " | ".join(str(w.message) for w in caught)
    assert "only one class in train" in messages
    assert "leakage" in messages
    assert "no 'test' split" in messages


def _damage(path, how):
    import numpy as np

    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbled":
        path.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:140]) + data[140:])
    elif how == "zero-byte":
        path.write_bytes(b"")
    elif how == "nan":
        from coaudiotext.cache import save_arrays

        save_arrays(path, (np.full((2, 3), np.nan, np.float32),))  # a valid checksum, bad values


@pytest.mark.parametrize("how", ["truncated", "garbled", "zero-byte", "nan"])
def test_damaged_feature_cache_is_named_and_rebuilt(tmp_path, monkeypatch, how):
    import numpy as np

    from coaudiotext.data import pipeline

    monkeypatch.setenv("COAUDIOTEXT_CACHE", str(tmp_path / "cache"))
    calls = []

    def compute():
        calls.append(1)
        return (np.arange(6, dtype=np.float32).reshape(2, 3),)

    first = pipeline._cached("mel_rms", {"x": 1}, ["a.wav"], [], compute)
    (cached,) = list((tmp_path / "cache" / "features").glob("*.npz"))
    assert pipeline._cached("mel_rms", {"x": 1}, ["a.wav"], [], compute)[0].tolist() == first[0].tolist()
    assert len(calls) == 1  # read from the cache
    _damage(cached, how)
    with pytest.warns(UserWarning, match=f"{cached.name} is damaged"):
        again = pipeline._cached("mel_rms", {"x": 1}, ["a.wav"], [], compute)
    assert len(calls) == 2 and again[0].tolist() == first[0].tolist()
    assert pipeline._cached("mel_rms", {"x": 1}, ["a.wav"], [], compute) and len(calls) == 2  # healthy again


def test_relative_data_path_is_stored_absolute_for_resume(tmp_path, monkeypatch, wavs):
    import json

    (tmp_path / "work").mkdir()
    _write(tmp_path / "work", HEADER + _rows(wavs))
    monkeypatch.chdir(tmp_path / "work")
    assert train.main(["--model", "text_bilstm_att", "--data", "m.csv", "--epochs", "1", "--out", "run", "--quiet"]) == 0
    stored = json.loads((tmp_path / "work" / "run" / "config.json").read_text())["arguments"]["data"]
    assert stored == str((tmp_path / "work" / "m.csv").resolve())
    monkeypatch.chdir(tmp_path)  # elsewhere: resuming a finished run is a no-op, and finds its manifest
    assert train.main(["--resume", str(tmp_path / "work" / "run"), "--quiet"]) == 0
