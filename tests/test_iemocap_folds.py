"""Preprocessed IEMOCAP folds of SelfCrossAttn (seed 003) on tiny synthetic folds."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

from coaudiotext.data import iemocap_folds as F


@pytest.fixture()
def folds(tmp_path):
    root = tmp_path / "folds"
    F.write_synthetic_folds(root, n_folds=2, n_per_split=5, seed=3)
    return root


def _raw(root, prefix, stem, fold="fold01"):
    return np.load(root / fold / f"{prefix}_{stem}.npy", allow_pickle=False)


def test_layout_shapes_and_dtypes(folds):
    assert sorted(p.name for p in folds.iterdir()) == ["fold01", "fold02"]
    data = F.load_fold(folds, 1)
    assert data["class_names"] == F.IEMOCAP7_CLASS_NAMES and len(data["class_names"]) == 7
    for name, prefix in F.SPLITS:
        split = data[name]
        n = len(split["labels"])
        assert split["glove"].shape == (n, 12, 8) and split["glove"].dtype == np.float32
        assert split["video"].shape == (n, 4, 16) and split["video"].dtype == np.float32
        assert split["mfcc120"].shape == (n, 20, 12) and split["mfcc120"].dtype == np.float32
        assert split["labels"].dtype == np.int64
        keep = split["index"]
        np.testing.assert_array_equal(split["labels"], _raw(folds, prefix, "label")[keep])
        np.testing.assert_array_equal(split["video"], _raw(folds, prefix, "video")[keep])
        # scale_mfcc=False: the original discards the scaler's output, so MFCC is unchanged
        np.testing.assert_array_equal(split["mfcc120"], _raw(folds, prefix, "audio_mfcc")[keep])
    assert data["info"]["mfcc_scaler"] is None
    assert F.load_fold(folds / "fold02", None)["test"]["glove"].shape[1:] == (12, 8)


def test_text_is_gathered_from_w_embedding(folds):
    data = F.load_fold(folds, 2)
    glove = np.load(folds / "fold02" / "W_embedding.npy")
    assert not glove[0].any()  # `_PAD_` row
    for name, prefix in F.SPLITS:
        ids = _raw(folds, prefix, "nlp_trans", "fold02")[data[name]["index"]]
        np.testing.assert_array_equal(data[name]["glove"], glove[ids])
        assert not data[name]["glove"][ids == 0].any()  # padding (id 0) -> zero vectors, no masking
    # the `_text.npy` pre_process_text_data.py writes is an equivalent source
    F.write_synthetic_folds(folds, n_folds=2, n_per_split=5, seed=3, write_text=True)
    for _, prefix in F.SPLITS:
        (folds / "fold02" / f"{prefix}_nlp_trans.npy").unlink()
    from_text = F.load_fold(folds, 2)
    assert from_text["info"]["text_source"] == "text"
    np.testing.assert_array_equal(from_text["val"]["glove"], data["val"]["glove"])


def test_out_of_range_token_id_is_an_error(folds):
    ids = _raw(folds, "test", "nlp_trans")
    ids[1, 0] = 50  # W_embedding has 50 rows
    np.save(folds / "fold01" / "test_nlp_trans.npy", ids)
    with pytest.raises(ValueError, match=r"test_nlp_trans\.npy.*\[0, 50\)"):
        F.load_fold(folds, 1)


def test_video_drop_rule_and_its_index0_bug():
    # the original: `if np.where(vid_seqN == 0)[0].any():` -> False when the only zero row is row 0
    assert F.video_drop_indices([0, 2, 1]).tolist() == []
    assert F.video_drop_indices([0, 2, 1], fix_video_drop=True).tolist() == [0]
    assert F.video_drop_indices([0, 2, 0]).tolist() == [0, 2]  # row 0 goes when another row is zero
    assert F.video_drop_indices([3, 0, 1]).tolist() == [1]
    assert F.video_drop_indices([3, 2, 1], fix_video_drop=True).tolist() == []


def test_load_fold_drop_bug_vs_fix(folds):
    # defaults of write_synthetic_folds: train rows 0 and 4 empty, dev row 0 alone, test none
    assert _raw(folds, "dev", "video_seqN")[0] == 0 and (_raw(folds, "dev", "video_seqN")[1:] > 0).all()
    bug = F.load_fold(folds, 1)
    fix = F.load_fold(folds, 1, fix_video_drop=True)
    assert bug["train"]["index"].tolist() == fix["train"]["index"].tolist() == [1, 2, 3]
    assert bug["val"]["index"].tolist() == [0, 1, 2, 3, 4]  # empty-video row 0 kept (the bug)
    assert fix["val"]["index"].tolist() == [1, 2, 3, 4]
    assert (bug["val"]["video_seqN"] == 0).sum() == 1 and not (fix["val"]["video_seqN"] == 0).any()
    assert len(bug["test"]["labels"]) == len(fix["test"]["labels"]) == 5
    assert bug["info"]["dropped"]["val"].tolist() == [] and fix["info"]["dropped"]["val"].tolist() == [0]
    np.testing.assert_array_equal(fix["val"]["glove"], bug["val"]["glove"][1:])


def test_scale_mfcc_uses_train_statistics(folds):
    plain = F.load_fold(folds, 1)
    scaled = F.load_fold(folds, 1, scale_mfcc=True)
    train = plain["train"]["mfcc120"].reshape(3, -1)
    mean = train.astype(np.float64).mean(axis=0)
    std = train.astype(np.float64).std(axis=0)
    std[std == 0] = 1.0
    for name, _ in F.SPLITS:
        flat = plain[name]["mfcc120"].reshape(len(plain[name]["labels"]), -1)
        expected = ((flat - mean).astype(np.float32) / std).astype(np.float32)
        np.testing.assert_allclose(scaled[name]["mfcc120"].reshape(flat.shape), expected, rtol=1e-6, atol=1e-6)
        assert scaled[name]["mfcc120"].dtype == np.float32
    np.testing.assert_allclose(scaled["info"]["mfcc_scaler"][0], mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(scaled["val"]["glove"], plain["val"]["glove"])


def test_scale_mfcc_matches_sklearn_standard_scaler(folds):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    plain = F.load_fold(folds, 2)
    scaled = F.load_fold(folds, 2, scale_mfcc=True)
    scaler = preprocessing.StandardScaler().fit(plain["train"]["mfcc120"].reshape(len(plain["train"]["labels"]), -1))
    for name, _ in F.SPLITS:
        flat = plain[name]["mfcc120"].reshape(len(plain[name]["labels"]), -1)
        np.testing.assert_allclose(scaled[name]["mfcc120"].reshape(flat.shape), scaler.transform(flat),
                                   rtol=1e-6, atol=1e-6)


def test_constant_mfcc_feature_gets_scale_one():
    x = np.zeros((3, 2, 2), np.float32)
    x[:, 0, 0] = [1.0, 2.0, 3.0]
    mean, scale = F.fit_mfcc_scaler(x)
    assert scale[1:].tolist() == [1.0, 1.0, 1.0] and scale[0] == pytest.approx(np.std([1, 2, 3]))
    np.testing.assert_allclose(F.apply_mfcc_scaler(x, mean, scale)[:, 0, 0], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)


def test_missing_file_lists_what_is_expected(folds):
    (folds / "fold01" / "dev_video.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"dev_video\.npy.*Expected in .*train_audio_mfcc\.npy"):
        F.load_fold(folds, 1)
    with pytest.raises(FileNotFoundError, match=r"fold07 not found.*fold01', 'fold02"):
        F.load_fold(folds, 7)
    (folds / "fold02" / "W_embedding.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"W_embedding\.npy"):
        F.load_fold(folds, 2)


def test_pickled_npy_is_refused(folds):
    path = folds / "fold01" / "dev_label.npy"
    np.save(path, np.array([{"label": 1}] * 5, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"dev_label\.npy holds an object array.*refused.*unpickl"):
        F.load_fold(folds, 1)
    path.write_bytes(pickle.dumps([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"dev_label\.npy is a Python pickle.*refused"):
        F.summarize_fold(folds, 1)


def test_wrong_shapes_say_expected_and_found(folds):
    np.save(folds / "fold01" / "train_video.npy", np.zeros((4, 4, 16), np.float32))
    with pytest.raises(ValueError, match=r"train_video\.npy: expected 5 rows.*found shape \(4, 4, 16\)"):
        F.load_fold(folds, 1)
    np.save(folds / "fold01" / "train_video.npy", np.zeros((5, 4, 16), np.float32))
    np.save(folds / "fold01" / "test_audio_mfcc.npy", np.zeros((5, 21, 12), np.float32))
    with pytest.raises(ValueError, match=r"test_audio_mfcc\.npy: expected shape \(N, 20, 12\).*found \(5, 21, 12\)"):
        F.load_fold(folds, 1)
    np.save(folds / "fold01" / "test_audio_mfcc.npy", np.zeros((5, 20, 12), np.float32))
    np.save(folds / "fold01" / "test_label.npy", np.eye(7, dtype=np.int64)[:5])
    with pytest.raises(ValueError, match=r"test_label\.npy: expected a 1-D array \(N,\), found shape \(5, 7\)"):
        F.load_fold(folds, 1)
    np.save(folds / "fold01" / "test_label.npy", np.array([0, 1, 2, 3, 7]))
    with pytest.raises(ValueError, match=r"test_label\.npy: labels must be class indices in \[0, 7\)"):
        F.load_fold(folds, 1)


def test_original_shapes_check(tmp_path):
    small = F.load_fold(F.write_synthetic_folds(tmp_path / "s", 1, 2)[0], None)
    with pytest.raises(ValueError, match=r"glove has per-sample shape \(12, 8\).*expects \(128, 300\)"):
        F.check_original_shapes(small)
    full = F.load_fold(F.write_synthetic_folds(tmp_path / "f", 1, 2, small=False)[0], None)
    F.check_original_shapes(full)
    assert full["train"]["mfcc120"].shape[1:] == (1000, 120)


def test_cli_summary(folds, capsys):
    assert F.main([str(folds), "--fold", "1", "--summary"]) == 0
    out = capsys.readouterr().out
    lines = {}
    for line in out.splitlines():  # the first row of each split is its line in the size table
        if line.split():
            lines.setdefault(line.split()[0], line.split())
    assert lines["train"][1:5] == ["train", "5", "2", "3"]
    assert lines["val"][1:5] == ["dev", "5", "0", "5"] and "index-0" in out and lines["val"][5] == "0/1"
    assert lines["test"][1:5] == ["test", "5", "0", "5"]
    assert "angry" in out and "neutral" in out
    summary = F.summarize_fold(folds, 1, fix_video_drop=True)
    assert summary["splits"]["val"]["kept"] == 4 and sum(summary["splits"]["val"]["class_counts"]) == 4
    assert F.main([str(folds), "--fold", "9"]) == 1
    assert "fold09 not found" in capsys.readouterr().err
