"""Seed-001 pickles -> wav + manifest (on a synthetic pickle), and the simulated-ASR helpers."""

import pathlib

import numpy as np
import pytest

from coaudiotext.data import asr_sim
from coaudiotext.data.pkl_corpus import (
    SEED001_LABELS,
    UntrustedPickleError,
    main,
    normalize_text,
    read_pkl_split,
    trim_zeros,
    write_pkl_manifest,
)

pd = pytest.importorskip("pandas")
soundfile = pytest.importorskip("soundfile")


def _audio(n, seed):
    rng = np.random.default_rng(seed)
    voiced = rng.normal(size=n).astype(np.float64) * 1000.0  # int16-scaled floats, as the pickles may hold
    voiced[n // 2] = 0.0  # an interior exact zero
    return np.concatenate([np.zeros(50), voiced, np.zeros(70)])


def _write_pickles(folder, with_stt=True):
    sentences = ["오늘 입고 나가야지.", "정말&amp;  무서워!\t(흑흑)", "hello,  world?"]
    for split, n in (("train", 3), ("dev", 2), ("test", 3)):
        frame = pd.DataFrame(
            {
                "person_ix": list(range(n)),
                "audio": [_audio(400 + 10 * i, i) for i in range(n)],
                "Sentence": [sentences[i % 3] for i in range(n)],
                "Emotion": [SEED001_LABELS[i] for i in range(n)],
            }
        )
        frame.to_pickle(folder / f"{split}.pkl")
        if split == "test" and with_stt:
            stt = frame.copy()
            stt["Sentence"] = ["오늘 입구 나가야 지", "정말 무서워", "hello word"]
            stt.to_pickle(folder / "test_stt.pkl")


def test_normalize_text_matches_the_original_rules():
    assert normalize_text("정말&amp;  무서워!\t(흑흑)") == "정말 무서워! 흑흑 "
    assert normalize_text("a\tb\nc") == "a b c"
    assert normalize_text("ㅋㅋ ㅠㅠ café 12.5%") == "ㅋㅋ caf 12.5 "  # vowel jamo and é are outside the class


def test_trim_zeros_modes():
    audio = np.array([0, 0, 1, 0, 2, 0], "float32")
    np.testing.assert_array_equal(trim_zeros(audio, "edges"), [1, 0, 2])
    np.testing.assert_array_equal(trim_zeros(audio, "all_zeros"), [1, 2])  # the literal trimmer()
    np.testing.assert_array_equal(trim_zeros(audio, "none"), audio)
    with pytest.raises(ValueError, match="mode"):
        trim_zeros(audio, "both")


def test_write_manifest_from_synthetic_pickles(tmp_path):
    from coaudiotext.data.manifest import read_manifest

    data = tmp_path / "data"
    data.mkdir()
    _write_pickles(data)
    path = write_pkl_manifest(data, tmp_path / "seed001" / "manifest.csv", trust_pickle=True)
    manifest = read_manifest(path, labels=SEED001_LABELS)
    assert len(manifest) == 8
    assert manifest.column("split") == ["train"] * 3 + ["val"] * 2 + ["test"] * 3
    assert manifest.labels[:3] == list(SEED001_LABELS[:3])
    assert manifest.column("speaker")[:2] == ["p000", "p001"]
    assert manifest.texts[1] == "정말 무서워! 흑흑"
    assert manifest.column("asr_text")[5:] == ["오늘 입구 나가야 지", "정말 무서워", "hello word"]
    assert manifest.column("asr_text")[:5] == [""] * 5
    # audio: 48 kHz, exact float samples, zero padding stripped (interior zero kept)
    audio, rate = soundfile.read(manifest.audio_paths[0], dtype="float32")
    assert rate == 48000
    np.testing.assert_array_equal(audio, _audio(400, 0)[50:-70].astype("float32"))
    # the ASR transcript can be used as the text column
    asr = read_manifest(path, text_column="asr_text", skip_bad=True)
    assert asr.texts == ["오늘 입구 나가야 지", "정말 무서워", "hello word"]


def test_cli_resamples_and_keeps_raw_text(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write_pickles(data, with_stt=False)
    out = tmp_path / "m.csv"
    assert main([str(data), "--out", str(out), "--sample-rate", "16000", "--raw-text", "--trim", "none",
                 "--trust-pickle"]) == 0
    frame = pd.read_csv(out)
    assert "asr_text" not in frame.columns
    assert frame["text"][1] == "정말&amp;  무서워!\t(흑흑)"
    info = soundfile.info(str(tmp_path / frame["audio_path"][0]))
    assert info.samplerate == 16000 and abs(info.frames - 520 / 3) <= 1


def test_bad_pickles_are_reported(tmp_path):
    pd.DataFrame({"person_ix": [0], "audio": [np.ones(3)], "Sentence": ["x"], "Emotion": ["기쁨"]}).to_pickle(
        tmp_path / "bad.pkl"
    )
    with pytest.raises(ValueError, match="기쁨"):
        read_pkl_split(tmp_path / "bad.pkl", trust_pickle=True)
    pd.DataFrame({"audio": [np.ones(3)]}).to_pickle(tmp_path / "cols.pkl")
    with pytest.raises(ValueError, match="missing column"):
        read_pkl_split(tmp_path / "cols.pkl", trust_pickle=True)
    with pytest.raises(FileNotFoundError, match="train.pkl"):
        write_pkl_manifest(tmp_path / "nowhere", tmp_path / "m.csv")


class _Payload:
    """Unpickling this writes a file: what a crafted pickle can do."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (pathlib.Path.write_text, (pathlib.Path(self.target), "pwned"))


def _crafted_pickles(folder, target):
    import pickle

    folder.mkdir()
    for name in ("train.pkl", "dev.pkl", "test.pkl"):
        (folder / name).write_bytes(pickle.dumps(_Payload(target)))


def test_pickles_are_never_unpickled_without_opt_in(tmp_path, monkeypatch, capsys):
    from coaudiotext import evaluate, train
    from coaudiotext.data import resolve_data

    monkeypatch.setenv("COAUDIOTEXT_CACHE", str(tmp_path / "cache"))
    target = tmp_path / "ran.txt"
    _crafted_pickles(tmp_path / "pkl", target)
    with pytest.raises(UntrustedPickleError, match="--trust-pickle"):
        read_pkl_split(tmp_path / "pkl" / "train.pkl")
    with pytest.raises(UntrustedPickleError, match="arbitrary code"):
        resolve_data("seed001", data_dir=tmp_path / "pkl")
    assert main([str(tmp_path / "pkl"), "--out", str(tmp_path / "m.csv")]) == 2
    assert train.main(["--model", "crossmodal_transformer", "--data", "seed001", "--data-dir", str(tmp_path / "pkl"),
                       "--out", str(tmp_path / "run")]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert not target.exists()  # the payload never ran
    # with the opt-in the file is read (here: the payload runs, then the frame check fails) and a warning printed
    with pytest.raises(Exception):
        read_pkl_split(tmp_path / "pkl" / "train.pkl", trust_pickle=True)
    assert "warning: unpickling" in capsys.readouterr().err
    assert target.read_text() == "pwned"


# ---------------------------------------------------------------- simulated ASR


def test_word_error_rate_and_edit_distance():
    assert asr_sim.edit_distance("a b c".split(), "a x c d".split()) == 2
    assert asr_sim.word_error_rate("the cat sat", "the cat sat") == 0.0
    assert asr_sim.word_error_rate("the cat sat", "cat sat on it") == pytest.approx(1.0)  # 1 deletion + 2 insertions
    assert asr_sim.word_error_rate(["a b", "c d e f"], ["a", "c d e f"]) == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="references"):
        asr_sim.word_error_rate(["a"], ["a", "b"])


@pytest.mark.parametrize("wer", [0.05, 0.15, 0.3])
def test_simulated_asr_hits_the_requested_wer(wer):
    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(vocabulary, size=rng.integers(3, 12))) for _ in range(1500)]
    noisy = asr_sim.simulate_asr(texts, wer=wer, seed=1)
    measured = asr_sim.word_error_rate(texts, noisy)
    assert abs(measured - wer) < 0.1 * wer + 0.005, (wer, measured)
    assert noisy == asr_sim.simulate_asr(texts, wer=wer, seed=1)  # seeded
    assert noisy != asr_sim.simulate_asr(texts, wer=wer, seed=2)


def test_simulated_asr_edge_cases():
    texts = ["하나 둘 셋", "넷"]
    assert asr_sim.simulate_asr(texts, wer=0.0) == ["하나 둘 셋", "넷"]
    only_substitutions = asr_sim.simulate_asr(texts, wer=1.0, error_mix=(1, 0, 0), seed=3)
    assert [len(t.split()) for t in only_substitutions] == [3, 1]
    assert all(a != b for t, s in zip(texts, only_substitutions) for a, b in zip(t.split(), s.split()))
    assert asr_sim.simulate_asr(["solo"], wer=1.0, error_mix=(1, 0, 0)) == ["soloo"]
    with pytest.raises(ValueError, match="wer"):
        asr_sim.simulate_asr(texts, wer=1.5)
    with pytest.raises(ValueError, match="error_mix"):
        asr_sim.simulate_asr(texts, wer=0.1, error_mix=(1, 1))


def test_resolve_data_seed001_gold_and_asr(tmp_path, monkeypatch):
    from coaudiotext.data import resolve_data
    from coaudiotext.data.pkl_corpus import SEED001_LABELS

    monkeypatch.setenv("COAUDIOTEXT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "pkl").mkdir()
    _write_pickles(tmp_path / "pkl")
    gold, class_names = resolve_data("seed001", data_dir=tmp_path / "pkl", trust_pickle=True)
    assert class_names == list(SEED001_LABELS)
    assert {"train", "val", "test"} <= set(gold.splits)
    asr, _ = resolve_data("seed001", data_dir=tmp_path / "pkl", text_source="asr", skip_bad=True)
    test_rows = asr.split("test").rows
    assert test_rows and all(row["text"] == row["asr_text"] for row in test_rows)
