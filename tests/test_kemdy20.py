"""KEMDy20 loader (seed 002) on a synthetic mini corpus, and class-balanced sampling."""

import numpy as np
import pandas as pd
import pytest
import soundfile

from coaudiotext.data.kemdy20 import (
    KEMDY20_LABELS,
    kemdy20_rows,
    read_transcript,
    transform_label,
    write_kemdy20_manifest,
)
from coaudiotext.data.manifest import read_manifest
from coaudiotext.data.sampling import (
    balanced_indices,
    balanced_sample_weights,
    gather_dataset,
    weighted_index_dataset,
)

# Emotions of the synthetic sessions: single labels (with the corpus's 'disqust' typo),
# two-label rows with and without neutral, and a degenerate 'neutral;neutral'.
SESSION_EMOTIONS = {
    1: ["neutral"] * 12 + ["happy"] * 5 + ["angry"] * 3 + ["disqust"] * 2 + ["neutral;happy", "happy;sad"],
    2: ["neutral"] * 10 + ["sad"] * 3 + ["surprise"] * 2 + ["fear"] * 2 + ["disgust", "sad;neutral", "neutral;neutral"],
}


def _segment(session, i):
    user = f"User{2 * session - 1 + i % 2:03d}{'MF'[i % 2]}"
    return f"Sess{session:02d}_script0{1 + i // 10}_{user}_{i:03d}"


def _make_corpus(root):
    (root / "annotation").mkdir(parents=True)
    for session, emotions in SESSION_EMOTIONS.items():
        ss = f"{session:02d}"
        folder = root / "wav" / f"Session{ss}"
        folder.mkdir(parents=True)
        lines = [
            "Numb,Wav,,Segment ID,Total Evaluation,,,Eval01F,,",
            ",start,end,,Emotion,Valence,Arousal,Emotion,Valence,Arousal",
        ]
        for i, emotion in enumerate(emotions, start=1):
            segment = _segment(session, i)
            lines.append(f"{i},{0.5 * i:.3f},{0.5 * i + 0.4:.3f},{segment},{emotion},3,2,{emotion},3,2")
            text = f"문장 {session} {i}, 그리고 쉼표 뒤" if i % 3 == 0 else f"문장 {session} {i}"
            (folder / f"{segment}.txt").write_bytes((text + "\n").encode("cp949"))
            soundfile.write(folder / f"{segment}.wav", np.full(160, 0.01 * i, "float32"), 16000)
        (root / "annotation" / f"Sess{ss}_eval.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture()
def corpus(tmp_path):
    return _make_corpus(tmp_path / "KEMDy20_v1_1")


def _original_split(root, label_transform):
    """The original's main.py pipeline (pandas + sklearn), as the reference."""
    from sklearn.model_selection import train_test_split

    cols = ["Number", "Wav_start", "Wav_end", "Segment ID", "Emotion", "Valence", "Arousal"]
    frames = []
    for i in SESSION_EMOTIONS:
        tmp = pd.read_csv(root / f"annotation/Sess{i:02d}_eval.csv").iloc[:, :7]
        tmp.columns = cols
        frames.append(tmp.drop(0).reset_index(drop=True))
    data = pd.concat(frames)
    data["Emotion"] = data["Emotion"].apply(lambda x: x.replace("disqust", "disgust"))
    label_dict = {name: i for i, name in enumerate(KEMDY20_LABELS)}
    subset = data.copy()
    subset["Emotion"] = subset["Emotion"].map(label_dict)
    subset = subset.dropna(subset=["Emotion"])
    train, valid = train_test_split(subset, test_size=0.2, random_state=42, shuffle=True, stratify=subset["Emotion"])
    if label_transform:
        two = data[data["Emotion"].apply(lambda x: len(x.split(";")) == 2 and "neutral" in x.split(";"))].copy()
        two["Emotion"] = two["Emotion"].apply(lambda x: x.replace("neutral", "").replace(";", "")).map(label_dict)
        train = pd.concat([train, two.dropna(subset=["Emotion"])], axis=0)
    return (
        [(s, KEMDY20_LABELS[int(e)]) for s, e in zip(train["Segment ID"], train["Emotion"])],
        [(s, KEMDY20_LABELS[int(e)]) for s, e in zip(valid["Segment ID"], valid["Emotion"])],
    )


@pytest.mark.parametrize("label_transform", [False, True])
def test_split_and_label_transform_match_the_original(corpus, label_transform):
    rows = kemdy20_rows(corpus, label_transform=label_transform, sessions=(1, 2))
    train = [(r["id"], r["label"]) for r in rows if r["split"] == "train"]
    dev = [(r["id"], r["label"]) for r in rows if r["split"] == "dev"]
    expected_train, expected_dev = _original_split(corpus, label_transform)
    assert train == expected_train  # same rows, same order
    assert dev == expected_dev
    singles = sum(e.replace("disqust", "disgust") in KEMDY20_LABELS for es in SESSION_EMOTIONS.values() for e in es)
    assert len(dev) == int(np.ceil(0.2 * singles))
    by_id = {r["id"]: r for r in rows}
    transformed = [by_id.get(_segment(1, 23)), by_id.get(_segment(2, 19))]  # neutral;happy, sad;neutral
    if label_transform:
        assert [(r["label"], r["split"]) for r in transformed] == [("happy", "train"), ("sad", "train")]
    else:
        assert transformed == [None, None]
    assert _segment(1, 24) not in by_id  # happy;sad: dropped
    assert _segment(2, 20) not in by_id  # neutral;neutral: dropped (NaN in the original)


def test_row_fields_text_quirk_and_speakers(corpus):
    rows = {r["id"]: r for r in kemdy20_rows(corpus, sessions=(1, 2))}
    row = rows[_segment(1, 3)]
    assert row["id"] == "Sess01_script01_User002F_003"
    assert row["text"] == "문장 1 3"  # text after the first comma is lost, as in the original
    assert row["speaker"] == "User002F" and row["gender"] == "F" and row["session"] == "01"
    assert row["audio_path"].endswith("wav/Session01/Sess01_script01_User002F_003.wav")
    full = read_transcript(corpus / "wav/Session01/Sess01_script01_User002F_003.txt", full_text=True)
    assert full == "문장 1 3, 그리고 쉼표 뒤"
    assert {r["label"] for r in rows.values()} <= set(KEMDY20_LABELS)
    assert any(r["label"] == "disgust" for r in rows.values())  # 'disqust' corrected


def test_transform_label_cases():
    assert transform_label("neutral;angry") == "angry"
    assert transform_label("fear;neutral") == "fear"
    assert transform_label("neutral") is None
    assert transform_label("happy;sad") is None
    assert transform_label("neutral;neutral") is None  # the original would produce NaN here
    assert transform_label("neutral;happy;sad") is None


def test_manifest_round_trip_and_missing_files(corpus, tmp_path):
    path = write_kemdy20_manifest(corpus, tmp_path / "out" / "kemdy20.csv", sessions=(1, 2), label_transform=True)
    manifest = read_manifest(path, labels=KEMDY20_LABELS)
    assert manifest.splits == ["dev", "train"]
    assert set(manifest.column("session")) == {"01", "02"}
    (corpus / "wav/Session02" / f"{_segment(2, 1)}.wav").unlink()
    (corpus / "wav/Session02" / f"{_segment(2, 1)}.txt").unlink()
    with pytest.raises(FileNotFoundError, match="2 KEMDy20 file"):
        kemdy20_rows(corpus, sessions=(1, 2))
    with pytest.raises(FileNotFoundError, match="Sess03_eval.csv"):
        kemdy20_rows(corpus, sessions=(1, 3))


# ---------------------------------------------------------------- class-balanced sampling


def test_balanced_weights_are_inverse_class_counts():
    labels = ["neutral"] * 6 + ["happy"] * 3 + ["sad"]
    weights = balanced_sample_weights(labels)
    np.testing.assert_allclose(weights, [1 / 6] * 6 + [1 / 3] * 3 + [1.0])
    with pytest.raises(ValueError, match="1-D"):
        balanced_sample_weights([])


def test_numpy_sampler_balances_and_is_reproducible_per_epoch():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    first = balanced_indices(labels, seed=7, epoch=0)
    assert first.shape == (1000,)
    shares = np.bincount(labels[first], minlength=3) / len(first)
    np.testing.assert_allclose(shares, [1 / 3] * 3, atol=0.06)
    np.testing.assert_array_equal(first, balanced_indices(labels, seed=7, epoch=0))
    assert not np.array_equal(first, balanced_indices(labels, seed=7, epoch=1))
    assert balanced_indices(weights=np.ones(5), num_samples=3, seed=0).shape == (3,)
    with pytest.raises(ValueError, match="exactly one"):
        balanced_indices(labels, weights=np.ones(1000))


def test_tf_sampler_redraws_each_epoch_and_feeds_examples():
    labels = np.array([0] * 180 + [1] * 20)
    dataset = weighted_index_dataset(balanced_sample_weights(labels), seed=3)
    epoch1 = np.fromiter(dataset.as_numpy_iterator(), dtype=np.int64)
    epoch2 = np.fromiter(dataset.as_numpy_iterator(), dtype=np.int64)
    assert len(epoch1) == 200 and epoch1.min() >= 0 and epoch1.max() < 200
    assert 0.35 < np.mean(labels[epoch1] == 1) < 0.65
    assert not np.array_equal(epoch1, epoch2)
    again = np.fromiter(weighted_index_dataset(balanced_sample_weights(labels), seed=3).as_numpy_iterator(), np.int64)
    np.testing.assert_array_equal(epoch1, again)
    features = {"roberta": np.arange(200, dtype="float32")[:, None]}
    inputs, targets = next(iter(gather_dataset(dataset, features, labels).batch(16)))
    np.testing.assert_array_equal(labels[inputs["roberta"].numpy()[:, 0].astype(int)], targets.numpy())


def test_resolve_data_kemdy20_reports_the_20_percent_as_test(corpus, tmp_path, monkeypatch):
    from coaudiotext.data import resolve_data
    from coaudiotext.data.kemdy20 import KEMDY20_LABELS

    monkeypatch.setenv("COAUDIOTEXT_CACHE", str(tmp_path / "cache"))
    manifest, class_names = resolve_data("kemdy20", data_dir=corpus)
    assert class_names == list(KEMDY20_LABELS)
    assert set(manifest.splits) == {"train", "test"}
    with pytest.raises(ValueError, match="--data-dir"):
        resolve_data("kemdy20")
