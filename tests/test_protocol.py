"""Seed-003 evaluation protocol (`coaudiotext.protocol`): statistics, folds, CLI, resumability.

The training runs are tiny (demo-tiny, 1 epoch; synthetic IEMOCAP folds at small shapes): they check the
plumbing, not the numbers. Statistics are checked on hand-made numbers against scipy and closed forms.
"""

import csv
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.stats

from coaudiotext import protocol as P

DEMO_ARGS = ["--models", "tva_self_at,tva_cross_at", "--folds", "2", "--seeds", "1", "--fast", "--epochs", "1",
             "--quiet", "--bootstrap", "2000"]


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _fake_train(calls):
    """A stand-in for `_train_one` (no Keras): predicts class (seed + fold-size) % k, records the call."""

    def fake(model_key, arrays, class_names, seed, epochs, batch_size, learning_rate, model_flags, verbose):
        calls.append((model_key, seed, len(arrays["train"]["labels"])))
        y_true = np.asarray(arrays["test"]["labels"])
        y_pred = (y_true + (seed if model_key.endswith("self_at") else 0)) % len(class_names)
        row = {"model": model_key, "fold": None, "seed": seed, "wa": float(np.mean(y_pred == y_true)), "ua": 0.5,
               "macro_f1": 0.5, "weighted_f1": 0.5, "epochs_run": 1, "best_epoch": 1, "seconds": 0.0,
               "n_train": len(arrays["train"]["labels"]), "n_val": len(arrays["val"]["labels"]),
               "n_test": len(y_true), "best_val_accuracy": 0.5, "final_learning_rate": learning_rate,
               "stopped_early": 0}
        predictions = {"y_true": y_true, "y_pred": y_pred, "probabilities": np.zeros((len(y_true), len(class_names))),
                       "index": np.asarray(arrays["test"]["index"]), "class_names": np.array(class_names)}
        return row, predictions

    return fake


# ------------------------------------------------------------------------------------ statistics
def test_paired_tests_agree_with_scipy():
    a = np.array([0.642, 0.651, 0.630, 0.660, 0.645, 0.638])
    b = np.array([0.636, 0.640, 0.633, 0.649, 0.641, 0.630])
    r = P.paired_tests(a, b, n_boot=5000)
    t = scipy.stats.ttest_rel(a, b)
    w = scipy.stats.wilcoxon(a, b)
    assert r["n"] == 6 and r["mean_diff"] == pytest.approx(np.mean(a - b))
    assert r["std_diff"] == pytest.approx(np.std(a - b, ddof=1))
    assert r["t"] == pytest.approx(t.statistic) and r["t_p"] == pytest.approx(t.pvalue)
    assert r["wilcoxon"] == pytest.approx(w.statistic) and r["wilcoxon_p"] == pytest.approx(w.pvalue)
    # t by hand: mean / (sd / sqrt(n))
    d = a - b
    assert r["t"] == pytest.approx(d.mean() / (d.std(ddof=1) / math.sqrt(6)))
    assert r["ci_low"] <= r["mean_diff"] <= r["ci_high"] and r["ci_low"] < r["ci_high"]
    assert r["note"] is None


def test_bootstrap_ci_contains_mean_and_is_seeded():
    d = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    low, high = P.bootstrap_ci(d, n_boot=4000, seed=0)
    assert min(d) <= low <= d.mean() <= high <= max(d)
    assert (low, high) == P.bootstrap_ci(d, n_boot=4000, seed=0)  # seeded: reproducible
    narrow = P.bootstrap_ci(d, n_boot=4000, seed=0, confidence=0.5)
    assert low <= narrow[0] <= narrow[1] <= high


def test_paired_tests_degenerate_cases():
    same = P.paired_tests([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert same["t_p"] == 1.0 and same["wilcoxon_p"] == 1.0 and same["mean_diff"] == 0.0
    assert same["ci_low"] == same["ci_high"] == 0.0 and "every difference is 0" in same["note"]
    json.dumps(same, allow_nan=False)
    shifted = P.paired_tests([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])  # constant nonzero difference
    assert shifted["mean_diff"] == pytest.approx(0.5) and "zero variance" in shifted["note"]
    json.dumps(shifted, allow_nan=False)
    with pytest.raises(ValueError, match="at least 2 paired runs"):
        P.paired_tests([0.5], [0.4])
    with pytest.raises(ValueError, match="matched samples"):
        P.paired_tests([0.5, 0.6], [0.4])


def test_mcnemar_known_tables():
    # exact: b=10, c=2 -> two-sided binomial p = 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12 = 158 / 4096
    r = P.mcnemar_counts(10, 2)
    assert r["method"] == "exact" and r["p"] == pytest.approx(158 / 4096)
    assert P.mcnemar_counts(2, 10)["p"] == pytest.approx(158 / 4096)
    # chi-square with continuity correction: b=30, c=10 -> (20 - 1)^2 / 40 = 9.025, p = erfc(sqrt(9.025 / 2))
    r = P.mcnemar_counts(30, 10)
    assert r["method"] == "chi2" and r["statistic"] == pytest.approx(9.025)
    assert r["p"] == pytest.approx(math.erfc(math.sqrt(9.025 / 2)))
    assert P.mcnemar_counts(0, 0) == {"b": 0, "c": 0, "statistic": 0.0, "p": 1.0, "method": "none"}
    assert P.mcnemar_counts(5, 5)["p"] == 1.0
    # from predictions: 3 items A right / B wrong, 1 the reverse, 4 both right, 2 both wrong
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    a = np.array([0, 1, 2, 1, 1, 2, 0, 1, 0, 1])
    b = np.array([1, 2, 0, 0, 1, 2, 0, 1, 0, 1])
    r = P.mcnemar(y, a, b)
    assert (r["b"], r["c"], r["both_right"], r["both_wrong"], r["n"]) == (3, 1, 4, 2, 10)
    assert r["p"] == pytest.approx(scipy.stats.binomtest(3, 4, 0.5).pvalue) == pytest.approx(0.625)


def test_summarize_and_compare_need_two_pairs():
    rows = [{"model": m, "fold": f, "seed": 1, "wa": w, "ua": w, "macro_f1": w, "weighted_f1": w, "epochs_run": 3,
             "best_epoch": 2, "seconds": 1.0} for m, f, w in (("a", 1, 0.6), ("b", 1, 0.5), ("a", 2, 0.8), ("b", 2, 0.6))]
    summary = P.summarize_runs(rows)
    assert summary["a"]["runs"] == 2 and summary["a"]["wa"]["mean"] == pytest.approx(0.7)
    assert summary["a"]["wa"]["std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    comparison = P.compare_models(rows, "a", "b", n_boot=500)
    assert comparison["pairs"] == [[1, 1], [2, 1]] and comparison["metrics"]["wa"]["mean_diff"] == pytest.approx(0.15)
    with pytest.raises(ValueError, match="at least 2 matched"):
        P.compare_models(rows[:2], "a", "b")


def test_stratified_split_by_fold():
    labels = np.repeat(np.arange(5), [16, 8, 8, 8, 8])
    train1, val1 = P.stratified_split(labels, 0.1, (0, 1))
    train1b, val1b = P.stratified_split(labels, 0.1, (0, 1))
    _, val2 = P.stratified_split(labels, 0.1, (0, 2))
    assert np.array_equal(val1, val1b) and not np.array_equal(val1, val2)
    assert len(np.intersect1d(train1, val1)) == 0 and len(train1) + len(val1) == len(labels)
    assert np.bincount(labels[val1]).tolist() == [2, 1, 1, 1, 1]  # every class in val, 10% rounded, at least 1


def test_stratified_subsample_keeps_class_shares_and_is_seeded():
    labels = np.repeat(np.arange(5), [400, 200, 200, 100, 100])
    index = np.arange(0, len(labels), dtype=np.int64)[::2]  # a subset: ids refer to rows of `labels`
    picked = P.stratified_subsample(labels, index, 100, (0, 1, 1))
    assert len(picked) == 100 and np.all(np.isin(picked, index)) and len(set(picked.tolist())) == 100
    assert np.bincount(labels[picked], minlength=5).tolist() == [40, 20, 20, 10, 10]
    assert np.array_equal(picked, P.stratified_subsample(labels, index, 100, (0, 1, 1)))
    assert not np.array_equal(picked, P.stratified_subsample(labels, index, 100, (0, 2, 1)))
    assert np.array_equal(P.stratified_subsample(labels, index, None, 0), index)
    assert np.array_equal(P.stratified_subsample(labels, index, 10_000, 0), index)
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        P.stratified_subsample(labels, index, 3, 0)


def test_train_size_subsamples_each_fold_and_is_a_checked_setting(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(P, "_train_one", _fake_train(calls))
    out = tmp_path / "sub"
    args = ["--models", "tva_self_at,tva_cross_at", "--folds", "2", "--seeds", "1", "--fast", "--quiet",
            "--bootstrap", "200", "--train-size", "20", "--out", str(out)]
    assert P.main(args) == 0
    assert [c[2] for c in calls] == [20] * 4  # demo-tiny's 42 train rows of each fold cut to 20
    assert {r["n_train"] for r in _rows(out / "runs.csv")} == {"20"}
    assert json.loads((out / "protocol.json").read_text())["train_size"] == 20
    capsys.readouterr()
    assert P.main(args[:-4] + ["--train-size", "30", "--out", str(out)]) == 2
    assert "train_size" in capsys.readouterr().err
    assert P.main(args[:-4] + ["--train-size", "0", "--out", str(tmp_path / "zero")]) == 2
    assert "--train-size" in capsys.readouterr().err


def test_torch_reduce_lr_on_plateau_rule():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    callback = P._torch_plateau(keras)
    callback.set_model(model)
    callback.on_train_begin()
    lr = lambda: float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))  # noqa: E731
    callback.on_epoch_end(0, {"val_loss": 1.0})
    callback.on_epoch_end(1, {"val_loss": 0.99995})  # < 1e-4 relative: not an improvement under torch's rule
    for epoch in range(2, 11):  # bad epochs 2..10
        callback.on_epoch_end(epoch, {"val_loss": 1.0})
    assert lr() == pytest.approx(1e-3)  # 10 bad epochs: torch (num_bad_epochs > patience) has not reduced yet
    callback.on_epoch_end(11, {"val_loss": 1.0})  # the 11th bad epoch
    assert lr() == pytest.approx(1e-4)


# ------------------------------------------------------------------------------------------- CLI
def test_help_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from coaudiotext import protocol\n"
        "try:\n    protocol.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'torch')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    assert "--fast" in out and "other way round" in out and "coaudiotext's choice" in out


def test_clear_errors(tmp_path, capsys, monkeypatch):
    assert P.main(["--models", "tva_self_at,nope", "--out", str(tmp_path / "a")]) == 2
    assert "Unknown model(s) ['nope']" in capsys.readouterr().err
    assert P.main(["--models", "tva_self", "--data", "iemocap-folds", "--out", str(tmp_path / "b")]) == 2
    assert "needs --data-dir" in capsys.readouterr().err
    assert P.main(["--models", "tva_self", "--data", "iemocap-folds", "--data-dir", str(tmp_path / "none"),
                   "--out", str(tmp_path / "c")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert P.main(["--models", "tva_self_at", "--folds", "0", "--out", str(tmp_path / "d")]) == 2
    assert "--folds" in capsys.readouterr().err
    # fewer than 2 paired runs: the runs are kept, the tests are refused (training faked: no Keras fit)
    calls = []
    monkeypatch.setattr(P, "_train_one", _fake_train(calls))
    out = tmp_path / "e"
    assert P.main(["--models", "tva_self_at,tva_cross_at", "--folds", "1", "--seeds", "1", "--fast", "--quiet",
                   "--out", str(out)]) == 2
    assert "at least 2 matched (fold, seed) runs" in capsys.readouterr().err
    assert len(_rows(out / "runs.csv")) == 2 and json.loads((out / "summary.json").read_text())["comparison"] is None


def test_resume_trains_only_missing_runs_and_refuses_other_settings(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(P, "_train_one", _fake_train(calls))
    out = tmp_path / "fake"
    args = ["--models", "tva_self_at,tva_cross_at", "--folds", "2", "--seeds", "2", "--fast", "--quiet",
            "--bootstrap", "500", "--out", str(out)]
    assert P.main(args) == 0 and len(calls) == 8
    rows = _rows(out / "runs.csv")
    keep = [r for r in rows if not (r["model"] == "tva_cross_at" and r["fold"] == "2" and r["seed"] == "1")]
    P.write_runs(out / "runs.csv", keep)  # as if that run had been interrupted
    calls.clear()
    assert P.main(args) == 0 and [c[:2] for c in calls] == [("tva_cross_at", 1)]
    assert {tuple(r[k] for k in ("model", "fold", "seed")) for r in _rows(out / "runs.csv")} == \
        {tuple(r[k] for k in ("model", "fold", "seed")) for r in rows}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["comparison"]["mcnemar_tests"] == 4 and sorted(summary["comparison"]["mcnemar"]) == ["1", "2"]
    capsys.readouterr()
    assert P.main(args[:-2] + ["--epochs", "3", "--out", str(out)]) == 2
    assert "other settings" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- real training
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The end-to-end tiny run: 2 models x 2 folds x 1 seed on demo-tiny, 1 epoch."""
    out = tmp_path_factory.mktemp("protocol") / "demo"
    start = time.perf_counter()
    code = P.main(DEMO_ARGS + ["--out", str(out)])
    return out, code, time.perf_counter() - start


def test_end_to_end_demo_tiny(demo_run):
    out, code, _ = demo_run
    assert code == 0
    rows = _rows(out / "runs.csv")
    assert [(r["model"], r["fold"], r["seed"]) for r in rows] == [
        ("tva_self_at", "1", "1"), ("tva_cross_at", "1", "1"), ("tva_self_at", "2", "1"), ("tva_cross_at", "2", "1")]
    for r in rows:
        assert set(P.CSV_FIELDS) <= set(r)
        assert 0.0 <= float(r["wa"]) <= 1.0 and 0.0 <= float(r["ua"]) <= 1.0
        assert r["epochs_run"] == "1" and r["best_epoch"] == "1" and float(r["seconds"]) > 0
        assert (r["n_train"], r["n_val"], r["n_test"]) == ("42", "6", "12")  # demo-tiny train 48 re-split; test 12
        with np.load(out / r["predictions"]) as npz:
            assert npz["y_true"].shape == npz["y_pred"].shape == (12,) and npz["probabilities"].shape == (12, 5)
            assert float(r["wa"]) == pytest.approx(np.mean(npz["y_true"] == npz["y_pred"]))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["data"] == "demo-tiny" and summary["settings"]["epochs"] == 1
    assert set(summary["models"]) == {"tva_self_at", "tva_cross_at"}
    assert summary["models"]["tva_self_at"]["runs"] == 2 and "other way round" in summary["naming"]
    comparison = summary["comparison"]
    assert comparison["models"] == ["tva_self_at", "tva_cross_at"] and comparison["pairs"] == [[1, 1], [2, 1]]
    assert set(comparison["metrics"]) == set(P.METRICS)
    assert sorted(comparison["mcnemar"]) == ["1", "2"] and comparison["missing_predictions"] == []
    for metric in P.METRICS:
        r = comparison["metrics"][metric]
        assert r["ci_low"] <= r["mean_diff"] <= r["ci_high"] and 0.0 <= r["t_p"] <= 1.0
    png = (out / "comparison.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_rerun_does_not_retrain(demo_run, monkeypatch, capsys):
    out, code, first_seconds = demo_run
    assert code == 0
    before = (out / "runs.csv").read_text()

    def refuse(*args, **kwargs):
        raise AssertionError("a run already in runs.csv was trained again")

    monkeypatch.setattr(P, "_train_one", refuse)
    capsys.readouterr()
    start = time.perf_counter()
    assert P.main(DEMO_ARGS + ["--out", str(out)]) == 0
    elapsed = time.perf_counter() - start
    assert (out / "runs.csv").read_text() == before
    assert "4 already in" in capsys.readouterr().out
    assert elapsed < 10 and elapsed < first_seconds / 2


def test_tiny_run_on_synthetic_iemocap_folds(tmp_path, capsys):
    from coaudiotext.data.iemocap_folds import load_fold, write_synthetic_folds

    folds = tmp_path / "folds"
    write_synthetic_folds(folds, n_folds=1, n_per_split=8)  # small dims: glove (12, 8), video (4, 16), mfcc (20, 12)
    out = tmp_path / "iemocap"
    # a demo model cannot read the IEMOCAP inputs: refused before any training
    assert P.main(["--models", "tva_self_at", "--folds", "1", "--seeds", "1", "--data", "iemocap-folds",
                   "--data-dir", str(folds), "--out", str(tmp_path / "wrong"), "--quiet"]) == 2
    assert "provides the inputs" in capsys.readouterr().err
    # the frame mixing sized for the small folds (the original's 32 -> 25, 1000 -> 500 need the full shapes)
    code = P.main(["--models", "tva_self", "--folds", "1", "--seeds", "1", "--data", "iemocap-folds",
                   "--data-dir", str(folds), "--epochs", "1", "--out", str(out), "--quiet",
                   "--set", "video_frames=4", "--set", "audio_frames=10"])
    assert code == 0
    (row,) = _rows(out / "runs.csv")
    test = load_fold(folds, 1)["test"]
    assert row["model"] == "tva_self" and row["n_test"] == str(len(test["labels"]))
    assert row["n_train"] == "6"  # train rows 0 and 7 have no video frames: dropped as the original does
    with np.load(out / row["predictions"]) as npz:
        assert np.array_equal(npz["index"], test["index"]) and np.array_equal(npz["y_true"], test["labels"])
        assert npz["probabilities"].shape == (len(test["labels"]), 7)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["comparison"] is None and summary["models"]["tva_self"]["runs"] == 1
    assert (out / "comparison.png").exists()


def test_bimodal_run_on_iemocap_folds_feeds_only_its_inputs(tmp_path):
    """`--set modalities=ta` builds a text+audio model: the video input is not fed (no structure warning)."""
    import warnings

    from coaudiotext.data.iemocap_folds import write_synthetic_folds

    folds = tmp_path / "folds"
    write_synthetic_folds(folds, n_folds=1, n_per_split=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = P.main(["--models", "tva_self", "--folds", "1", "--seeds", "1", "--data", "iemocap-folds",
                       "--data-dir", str(folds), "--epochs", "1", "--out", str(tmp_path / "ta"), "--quiet",
                       "--set", "modalities=ta", "--set", "audio_frames=10"])
    assert code == 0
    structure = [str(w.message) for w in caught if "structure" in str(w.message).lower()]
    assert not structure, structure
