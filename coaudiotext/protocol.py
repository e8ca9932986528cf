"""Evaluation protocol of seed 003 (SelfCrossAttn, Rajan et al. 2022): folds x seeds, then paired tests.

    python -m coaudiotext.protocol --models tva_self_at,tva_cross_at --folds 3 --seeds 3 --data demo
    python -m coaudiotext.protocol --models tva_self,tva_cross --folds 5 --seeds 10 \\
        --data iemocap-folds --data-dir /processed_Yoon/IEMOCAP/seven_category_120/folds
    python -m coaudiotext.protocol --models tva_self_at,tva_cross_at --folds 2 --seeds 1 --fast

**Schedule** (the original's `main_tva_1.py` / `train_tva_1.py`; `multi_run.sh` runs fold01..fold05
x `--seed 1..10`, 50 runs per model):

- Adam, learning rate 1e-3 (torch defaults: betas 0.9/0.999, eps 1e-8), batch 32 (train shuffled
  every epoch, seeded), cross-entropy;
- `ReduceLROnPlateau(mode="min", patience=10, factor=0.1)` stepped on the **validation loss** once
  per epoch. torch reduces after *more than* `patience` bad epochs, with a *relative* threshold
  (improvement: loss < best * (1 - 1e-4)); Keras reduces after `patience` bad epochs with an
  absolute `min_delta`. `TorchReduceLROnPlateau` (a `keras.callbacks.ReduceLROnPlateau` with Keras
  patience 11 and the relative threshold) reproduces torch's rule;
- early stopping after 10 epochs in a row without a strictly better **validation overall accuracy**
  (the original's `unweighted_accuracy`), and the best-validation checkpoint is the one tested:
  `keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=10, restore_best_weights=True)`;
- at most 20,000 epochs (the original's "random big number"); `--epochs` lowers the cap;
- seeds: `keras.utils.set_random_seed(seed)` before the model is built (weights, dropout, and the
  train shuffling); seeds are 1..N as in `multi_run.sh`.

The two rules share the patience, so the learning rate can only drop in a run whose validation loss
stalls for 11 epochs while its validation accuracy still improves.

**Folds.**

- `--data iemocap-folds --data-dir DIR`: the original folds, `coaudiotext.data.iemocap_folds.load_fold`
  (fold k = `DIR/fold0k`, its `train` / `dev` (validation) / `test` files).
- `--data demo` (or `demo-tiny`): the demo corpus has one fixed split, so fold k is a **stratified
  re-split of the demo `train` split** into train / validation (10% of each class for validation,
  the demo's own val/train ratio), drawn with `numpy.random.default_rng((0, k))`, i.e. by
  (fold k, split seed 0), independently of the training seed. **Test is always the demo `test`
  split** (unseen voices), the same for every fold; the demo `val` and `handwritten` splits are not used.
- `--train-size N` (demo only): after the re-split, each fold trains on a stratified subsample of N of
  its train rows (every class in proportion, drawn with `numpy.random.default_rng((0, k, 1))`); the
  validation and test rows are unchanged. It makes a folds x seeds grid affordable on a CPU: an epoch
  of `tva_self_at` on the full 4,320-row fold takes about 40 s on 2 cores.
- `--fast`: the `demo-tiny` corpus (48 train / 12 test utterances) instead of `demo`, and 2 epochs
  unless `--epochs` is given (on `iemocap-folds` only the 2 epochs).

**Outputs** (in `--out`, default `runs/protocol`):

- `runs.csv`: one row per (model, fold, seed): test WA, UA, macro-F1, weighted-F1, epochs run, best
  epoch (1-based), seconds, sizes, best validation accuracy, final learning rate, and the path of the
  run's `predictions/MODEL_foldK_seedS.npz` (test `y_true`, `y_pred`, `probabilities`, `index`).
  It is rewritten atomically after every run, and **rerunning skips the rows already there**
  (resumable); `protocol.json` holds the settings, and a rerun with other settings is refused.
- `summary.json`: per model mean +- std (sample std, ddof=1) of every metric over the runs of this
  invocation's grid, and the paired comparison; `comparison.png`: the per-run points of each model,
  a line joining the two runs of each (fold, seed) pair.

**Metric names.** Here, as in `coaudiotext.metrics`, **WA** is the overall accuracy and **UA** the
balanced accuracy (mean per-class recall). The original (`data_utils.py`, copied from AMH) and its
slides name them the other way round: its `weighted_accuracy` / "W.Acc" is the balanced accuracy
(our UA) and its `unweighted_accuracy` / "UW.Acc" the overall accuracy (our WA).

**Significance tests: our choice.** The slides only say "no statistically significant difference
between self and cross-attn. models" and the code never computes a test, so the tests below are this
package's choice, not the paper's. For two models A and B (`--compare A,B`, default the first two of
`--models`), over the (fold, seed) runs both have, for each metric, the difference A - B:

- paired t-test (`scipy.stats.ttest_rel`) and Wilcoxon signed-rank test (`scipy.stats.wilcoxon`,
  zero differences dropped); when every difference is 0 both give p = 1 (no test is run);
- the mean difference with a percentile bootstrap 95% confidence interval (resampled pairs,
  `numpy.random.default_rng(0)`, `--bootstrap` resamples, default 10,000);
- per fold, McNemar's test on the test predictions of each seed-matched pair of runs (the two runs
  classify the same test utterances): b = A right and B wrong, c = A wrong and B right; exact
  binomial test (`scipy.stats.binomtest(b, b + c, 0.5)`) when b + c < 25, else the chi-square
  statistic with continuity correction (|b - c| - 1)^2 / (b + c).

The tests need at least 2 paired runs. Runs of one fold share their training data, so the 50
fold x seed runs are not independent samples: read the p-values as descriptive.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pathlib
import sys
import time
import warnings

import numpy as np

__all__ = [
    "LEARNING_RATE",
    "BATCH_SIZE",
    "MAX_EPOCHS",
    "METRICS",
    "paired_tests",
    "bootstrap_ci",
    "mcnemar",
    "mcnemar_counts",
    "summarize_runs",
    "compare_models",
    "stratified_split",
    "run_protocol",
    "build_parser",
    "main",
]

# The original's schedule (main_tva_1.py, train_tva_1.py).
LEARNING_RATE = 1e-3
ADAM_EPSILON = 1e-8
BATCH_SIZE = 32
MAX_EPOCHS = 20000
LR_PATIENCE = 10  # torch semantics: reduce after more than 10 bad epochs
LR_FACTOR = 0.1
LR_THRESHOLD = 1e-4  # torch's default, relative
EARLY_STOPPING_PATIENCE = 10
FAST_EPOCHS = 2
DEMO_VAL_FRACTION = 0.1
FOLD_SPLIT_SEED = 0
BOOTSTRAP_SEED = 0
MCNEMAR_EXACT_BELOW = 25
ALPHA = 0.05

DATA_CHOICES = ("demo", "demo-tiny", "iemocap-folds")
METRICS = ("wa", "ua", "macro_f1", "weighted_f1")
METRIC_LABELS = {
    "wa": "WA (overall accuracy)",
    "ua": "UA (balanced accuracy)",
    "macro_f1": "macro-F1",
    "weighted_f1": "weighted-F1",
}
CSV_FIELDS = (
    "model", "fold", "seed", "wa", "ua", "macro_f1", "weighted_f1", "epochs_run", "best_epoch", "seconds",
    "n_train", "n_val", "n_test", "best_val_accuracy", "final_learning_rate", "stopped_early", "predictions",
)
NAMING_NOTE = (
    "WA = overall accuracy, UA = balanced accuracy (mean per-class recall). The original (data_utils.py) and "
    "its slides name them the other way round: their 'weighted accuracy' (W.Acc) is our UA, their "
    "'unweighted accuracy' (UW.Acc) our WA."
)
TESTS_NOTE = (
    "The SelfCrossAttn slides and code never name the test behind 'no statistically significant difference'; "
    "the paired t-test, Wilcoxon signed-rank test, bootstrap CI and McNemar tests here are coaudiotext's choice."
)
# Settings that must match between a run directory and a rerun (resumability).
_CHECKED_SETTINGS = ("data", "data_dir", "epochs", "model_flags", "val_fraction", "fold_split_seed",
                     "learning_rate", "batch_size", "train_size")


# ------------------------------------------------------------------------------------ statistics
def _finite(value):
    """float(value), or None when it is NaN/inf (JSON has neither)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def bootstrap_ci(differences, n_boot=10000, seed=BOOTSTRAP_SEED, confidence=0.95):
    """Percentile bootstrap confidence interval of the mean of paired `differences`.

    Resamples the pairs with replacement `n_boot` times (`numpy.random.default_rng(seed)`).

    Returns:
        tuple (low, high) of floats.
    """
    d = np.asarray(differences, dtype=np.float64).ravel()
    if d.size < 1:
        raise ValueError("bootstrap_ci needs at least one difference.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"Expected confidence in (0, 1). Received: confidence={confidence!r}")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(int(n_boot), d.size))].mean(axis=1)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def paired_tests(a, b, n_boot=10000, seed=BOOTSTRAP_SEED, confidence=0.95):
    """Paired comparison of two matched samples `a` and `b` (one value per matched run).

    The difference is `a - b`. Tests (our choice, see the module docstring): the paired t-test
    (`scipy.stats.ttest_rel`), the Wilcoxon signed-rank test (`scipy.stats.wilcoxon`, zero differences
    dropped), and a percentile bootstrap CI of the mean difference. When every difference is 0 no
    test is run: statistics 0, p-values 1.

    Returns:
        dict: `n`, `mean_a`, `mean_b`, `mean_diff`, `std_diff`, `ci_low`, `ci_high`, `confidence`,
        `t`, `t_p`, `wilcoxon`, `wilcoxon_p`, `note` (None or why a test is degenerate).
        Non-finite values are None.
    """
    import scipy.stats

    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired_tests needs matched samples; received {a.size} and {b.size} values.")
    if a.size < 2:
        raise ValueError(f"paired_tests needs at least 2 paired runs (matched fold, seed); received {a.size}.")
    d = a - b
    result = {
        "n": int(d.size), "mean_a": float(a.mean()), "mean_b": float(b.mean()), "mean_diff": float(d.mean()),
        "std_diff": float(d.std(ddof=1)), "confidence": confidence, "note": None,
    }
    result["ci_low"], result["ci_high"] = bootstrap_ci(d, n_boot=n_boot, seed=seed, confidence=confidence)
    if np.all(d == 0):
        result.update(t=0.0, t_p=1.0, wilcoxon=0.0, wilcoxon_p=1.0,
                      note="every difference is 0: no test run (p = 1)")
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = scipy.stats.ttest_rel(a, b)
        w = scipy.stats.wilcoxon(a, b)
    result.update(t=_finite(t.statistic), t_p=_finite(t.pvalue), wilcoxon=_finite(w.statistic),
                  wilcoxon_p=_finite(w.pvalue))
    if np.ptp(d) == 0:
        result["note"] = "every difference is the same nonzero value: zero variance, the t statistic is infinite"
    return result


def mcnemar_counts(b, c, exact_below=MCNEMAR_EXACT_BELOW):
    """McNemar's test from the discordant counts `b` (A right, B wrong) and `c` (A wrong, B right).

    Exact two-sided binomial test (`scipy.stats.binomtest(b, b + c, 0.5)`) when `b + c < exact_below`,
    else the chi-square statistic with continuity correction, (|b - c| - 1)^2 / (b + c), 1 degree of
    freedom. No discordant pairs: p = 1.

    Returns:
        dict: `b`, `c`, `statistic`, `p`, `method` (`"exact"`, `"chi2"` or `"none"`).
    """
    import scipy.stats

    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"McNemar counts must be >= 0. Received: b={b}, c={c}")
    n = b + c
    if n == 0:
        return {"b": b, "c": c, "statistic": 0.0, "p": 1.0, "method": "none"}
    if n < exact_below:
        p = scipy.stats.binomtest(b, n, 0.5).pvalue
        return {"b": b, "c": c, "statistic": float(min(b, c)), "p": float(min(1.0, p)), "method": "exact"}
    statistic = (abs(b - c) - 1.0) ** 2 / n
    return {"b": b, "c": c, "statistic": float(statistic), "p": float(scipy.stats.chi2.sf(statistic, 1)),
            "method": "chi2"}


def mcnemar(y_true, pred_a, pred_b, exact_below=MCNEMAR_EXACT_BELOW):
    """McNemar's test of two classifiers on the same test items (see `mcnemar_counts`).

    Returns:
        dict of `mcnemar_counts` plus `n` (test items), `both_right`, `both_wrong`.
    """
    y_true, pred_a, pred_b = (np.asarray(v).ravel() for v in (y_true, pred_a, pred_b))
    if not y_true.shape == pred_a.shape == pred_b.shape:
        raise ValueError(f"mcnemar needs predictions of the same test items; received {y_true.size}, "
                         f"{pred_a.size} and {pred_b.size}.")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    result = mcnemar_counts(np.sum(right_a & ~right_b), np.sum(~right_a & right_b), exact_below)
    result.update(n=int(y_true.size), both_right=int(np.sum(right_a & right_b)),
                  both_wrong=int(np.sum(~right_a & ~right_b)))
    return result


def summarize_runs(rows):
    """Mean and sample std (ddof=1; None with one run) of every metric, per model.

    Args:
        rows: list of dicts with `model` and the `METRICS` (numbers or numeric strings).

    Returns:
        dict model -> {`runs`, metric -> {`mean`, `std`}, `epochs_run` (mean), `seconds` (total)}.
    """
    summary = {}
    for model in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == model]
        entry = {"runs": len(mine)}
        for key in METRICS + ("epochs_run", "best_epoch"):
            values = np.array([float(row[key]) for row in mine if row.get(key) not in (None, "")])
            entry[key] = {"mean": _finite(values.mean()) if values.size else None,
                          "std": _finite(values.std(ddof=1)) if values.size > 1 else None}
        entry["seconds"] = float(sum(float(row.get("seconds") or 0.0) for row in mine))
        summary[model] = entry
    return summary


def _pairs(rows, model_a, model_b):
    """Matched (fold, seed) -> (row of A, row of B), in (fold, seed) order."""
    by_key = {}
    for row in rows:
        by_key.setdefault((int(row["fold"]), int(row["seed"])), {})[row["model"]] = row
    return {key: (runs[model_a], runs[model_b]) for key, runs in sorted(by_key.items())
            if model_a in runs and model_b in runs}


def compare_models(rows, model_a, model_b, out=None, n_boot=10000, exact_below=MCNEMAR_EXACT_BELOW):
    """Paired comparison of `model_a` and `model_b` over their matched (fold, seed) runs.

    Args:
        rows: list of run dicts (the rows of `runs.csv`).
        model_a, model_b: str. The models; differences are A - B.
        out: path or None. The protocol folder the rows' `predictions` paths are relative to
            (None: no McNemar tests).
        n_boot: int. Bootstrap resamples.
        exact_below: int. McNemar uses the exact binomial test below this many discordant items.

    Returns:
        dict: `models`, `difference`, `pairs` (list of [fold, seed]), `metrics` (metric ->
        `paired_tests` dict), `mcnemar` (fold -> list of per-seed results), `mcnemar_significant`,
        `mcnemar_tests`, `missing_predictions`, `alpha`, `note`.

    Raises:
        ValueError: fewer than 2 matched runs.
    """
    pairs = _pairs(rows, model_a, model_b)
    if len(pairs) < 2:
        raise ValueError(
            f"The paired tests need at least 2 matched (fold, seed) runs of {model_a} and {model_b}; found "
            f"{len(pairs)}. Run more folds or seeds (e.g. --folds 2 --seeds 1)."
        )
    result = {"models": [model_a, model_b], "difference": f"{model_a} - {model_b}",
              "pairs": [list(key) for key in pairs], "alpha": ALPHA, "note": TESTS_NOTE, "metrics": {}}
    for metric in METRICS:
        a = [float(ra[metric]) for ra, _ in pairs.values()]
        b = [float(rb[metric]) for _, rb in pairs.values()]
        result["metrics"][metric] = paired_tests(a, b, n_boot=n_boot)
    per_fold, missing = {}, []
    if out is not None:
        for (fold, seed), (ra, rb) in pairs.items():
            paths = [pathlib.Path(out) / row.get("predictions", "") for row in (ra, rb)]
            absent = [str(p) for p, row in zip(paths, (ra, rb)) if not row.get("predictions") or not p.is_file()]
            if absent:
                missing.extend(absent)
                continue
            with np.load(paths[0]) as first, np.load(paths[1]) as second:
                if not np.array_equal(first["y_true"], second["y_true"]):
                    raise ValueError(f"fold {fold} seed {seed}: the test labels of {model_a} and {model_b} differ "
                                     f"({paths[0]}, {paths[1]}): they were not tested on the same items.")
                test = mcnemar(first["y_true"], first["y_pred"], second["y_pred"], exact_below)
            per_fold.setdefault(str(fold), []).append({"seed": seed, **test})
    tests = [t for fold in per_fold.values() for t in fold]
    result.update(mcnemar=per_fold, mcnemar_tests=len(tests),
                  mcnemar_significant=sum(t["p"] < ALPHA for t in tests), missing_predictions=missing)
    return result


# ----------------------------------------------------------------------------------------- folds
def stratified_subsample(labels, index, size, seed):
    """`size` rows of `index` (row ids into `labels`), each class in proportion (largest remainders,
    at least 1 per class), drawn with `numpy.random.default_rng(seed)`; all of `index` when `size` is
    None or not smaller.

    Returns:
        sorted int64 array, a subset of `index`.
    """
    index = np.asarray(index, dtype=np.int64)
    if size is None or int(size) >= len(index):
        return index
    labels = np.asarray(labels)[index]
    classes = sorted(set(labels.tolist()))
    if int(size) < len(classes):
        raise ValueError(f"--train-size {size} is smaller than the number of classes ({len(classes)}).")
    counts = np.array([np.sum(labels == c) for c in classes], dtype=np.float64)
    share = counts * int(size) / len(index)
    take = np.maximum(1, np.floor(share)).astype(int)
    for i in np.argsort(-(share - np.floor(share)), kind="stable"):  # largest remainders first
        if take.sum() >= int(size):
            break
        take[i] += 1
    rng = np.random.default_rng(seed)
    kept = []
    for c, n in zip(classes, take):
        members = index[labels == c]
        kept.extend(rng.choice(members, size=min(int(n), len(members)), replace=False).tolist())
    return np.array(sorted(kept), dtype=np.int64)


def stratified_split(labels, fraction, seed):
    """Splits row indices into (train, val), `fraction` of each class to val (at least 1, and at
    least 1 left in train when the class has 2+ rows), with `numpy.random.default_rng(seed)`.

    Returns:
        tuple of sorted int64 arrays (train_index, val_index).
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for label in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        n_val = max(1, int(round(fraction * len(members))))
        if len(members) > 1:
            n_val = min(n_val, len(members) - 1)
        val.extend(members[:n_val].tolist())
    val = np.array(sorted(val), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels), dtype=np.int64), val)
    return train, val


class _DemoFolds:
    """Fold k of the demo corpus: stratified re-split of its `train` split; test = its `test` split."""

    def __init__(self, data, val_fraction, progress, train_size=None):
        from coaudiotext.data import resolve_data

        self.data = data
        self.val_fraction = val_fraction
        self.train_size = train_size
        self.progress = progress
        self.manifest, self.class_names = resolve_data(data, progress=progress)
        self.train_rows = self.manifest.split("train")
        self.test_rows = self.manifest.split("test")
        self._features = {}

    def features(self, inputs):
        from coaudiotext.data.pipeline import build_features, encode_labels, input_config
        from coaudiotext.train import demo_feature_defaults

        config = input_config(inputs, texts=self.train_rows.texts, overrides=demo_feature_defaults(inputs))
        key = json.dumps(config, sort_keys=True)
        if key not in self._features:
            train = build_features(config, self.train_rows, progress=self.progress)
            test = build_features(config, self.test_rows, progress=self.progress)
            self._features[key] = (train, encode_labels(self.train_rows.labels, self.class_names),
                                   test, encode_labels(self.test_rows.labels, self.class_names))
        return self._features[key]

    def fold(self, fold, inputs):
        train, y_train, test, y_test = self.features(inputs)
        train_index, val_index = stratified_split(y_train, self.val_fraction, (FOLD_SPLIT_SEED, int(fold)))
        train_index = stratified_subsample(y_train, train_index, self.train_size, (FOLD_SPLIT_SEED, int(fold), 1))
        pick = lambda arrays, index: {name: arrays[name][index] for name in inputs}  # noqa: E731
        return {
            "train": {**pick(train, train_index), "labels": y_train[train_index]},
            "val": {**pick(train, val_index), "labels": y_train[val_index]},
            "test": {**{name: test[name] for name in inputs}, "labels": y_test,
                     "index": np.arange(len(y_test), dtype=np.int64)},
        }


class _IemocapFolds:
    """The original folds (`load_fold`), one fold in memory at a time."""

    INPUTS = ("glove", "video", "mfcc120")

    def __init__(self, data_dir):
        from coaudiotext.data.iemocap_folds import IEMOCAP7_CLASS_NAMES

        self.data_dir = data_dir
        self.class_names = list(IEMOCAP7_CLASS_NAMES)
        self._loaded = (None, None)

    def fold(self, fold, inputs):
        from coaudiotext.data.iemocap_folds import load_fold

        unknown = [name for name in inputs if name not in self.INPUTS]
        if unknown:
            raise ValueError(f"--data iemocap-folds provides the inputs {list(self.INPUTS)}; the model needs "
                             f"{list(inputs)} (use tva_self / tva_cross).")
        if self._loaded[0] != fold:
            self._loaded = (None, None)  # free the previous fold first
            self._loaded = (fold, load_fold(self.data_dir, int(fold)))
        data = self._loaded[1]
        out = {}
        for split in ("train", "val", "test"):
            out[split] = {name: data[split][name] for name in inputs}
            out[split]["labels"] = data[split]["labels"]
        out["test"]["index"] = data["test"]["index"]
        return out


# ------------------------------------------------------------------------------------- training
def _torch_plateau(keras, **kwargs):
    """A `keras.callbacks.ReduceLROnPlateau` with torch's rule (see the module docstring)."""

    class TorchReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
        """torch `ReduceLROnPlateau(mode="min", patience=p, threshold=1e-4, threshold_mode="rel")`:
        an epoch improves when loss < best * (1 - threshold); the rate drops after more than p bad
        epochs (Keras patience p + 1)."""

        def __init__(self, monitor="val_loss", factor=LR_FACTOR, torch_patience=LR_PATIENCE,
                     threshold=LR_THRESHOLD, **rest):
            super().__init__(monitor=monitor, factor=factor, patience=torch_patience + 1, mode="min",
                             min_delta=0.0, **rest)
            self.threshold = threshold

        def _is_improvement(self, monitor_value, reference_value):
            if reference_value is None:
                return True
            return float(monitor_value) < float(reference_value) * (1.0 - self.threshold)

    return TorchReduceLROnPlateau(**kwargs)


def _train_one(model_key, arrays, class_names, seed, epochs, batch_size, learning_rate, model_flags, verbose):
    """Trains one run with the original's schedule; returns (metrics row, predictions dict)."""
    import keras

    from coaudiotext.data.pipeline import make_dataset
    from coaudiotext.metrics import classification_metrics
    from coaudiotext.models import get_spec, input_shapes

    start = time.perf_counter()
    spec = get_spec(model_key)
    keras.utils.set_random_seed(int(seed))
    split = {name: ({k: v for k, v in arrays[name].items() if k in spec.inputs}, arrays[name]["labels"])
             for name in ("train", "val", "test")}
    shapes = {name: tuple(split["train"][0][name].shape[1:]) for name in spec.inputs}
    net = spec.builder(num_classes=len(class_names), **input_shapes(model_key, **shapes), **model_flags)
    used = {tensor.name for tensor in net.inputs}  # e.g. `modalities="ta"` drops the video input
    split = {name: ({k: v for k, v in x.items() if k in used}, y) for name, (x, y) in split.items()}
    net.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, epsilon=ADAM_EPSILON),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    early = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=EARLY_STOPPING_PATIENCE,
                                          restore_best_weights=True)
    callbacks = [_torch_plateau(keras), early, keras.callbacks.TerminateOnNaN()]
    history = net.fit(
        make_dataset(*split["train"], batch_size=batch_size, shuffle=True, seed=int(seed)),
        validation_data=make_dataset(*split["val"], batch_size=batch_size),
        epochs=int(epochs), callbacks=callbacks, shuffle=False, verbose=verbose,
    ).history
    # EarlyStopping restored the best-validation weights (on_train_end), also when the cap stopped the run.
    x_test, y_test = split["test"]
    probabilities = np.asarray(net.predict(make_dataset(x_test, batch_size=64), verbose=0))
    y_pred = probabilities.argmax(axis=-1)
    metrics = classification_metrics(y_test, y_pred, class_names)
    val_accuracy = history.get("val_accuracy", [])
    row = {
        "model": model_key, "fold": None, "seed": int(seed),
        "wa": metrics["accuracy"], "ua": metrics["ua"], "macro_f1": metrics["macro_f1"],
        "weighted_f1": metrics["weighted_f1"], "epochs_run": len(history.get("loss", [])),
        "best_epoch": int(early.best_epoch) + 1,
        "seconds": round(time.perf_counter() - start, 3),
        "n_train": len(split["train"][1]), "n_val": len(split["val"][1]), "n_test": len(y_test),
        "best_val_accuracy": max(val_accuracy) if val_accuracy else None,
        "final_learning_rate": float(keras.ops.convert_to_numpy(net.optimizer.learning_rate)),
        "stopped_early": int(early.stopped_epoch > 0),
    }
    predictions = {"y_true": np.asarray(y_test, dtype=np.int64), "y_pred": y_pred.astype(np.int64),
                   "probabilities": probabilities.astype(np.float32),
                   "index": np.asarray(arrays["test"]["index"], dtype=np.int64),
                   "class_names": np.array(class_names)}
    return row, predictions


# ---------------------------------------------------------------------------------------- files
def _atomic_write_text(path, text):
    from coaudiotext.cache import atomic_write_text

    atomic_write_text(path, text)


def _atomic_json(path, payload):
    from coaudiotext.cache import atomic_write_json

    atomic_write_json(path, payload, allow_nan=False)


def _atomic_npz(path, arrays):
    from coaudiotext.cache import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def read_runs(path):
    """The rows of a `runs.csv` (list of dicts of str); [] when the file does not exist."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [field for field in ("model", "fold", "seed") + METRICS if field not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} is not a protocol runs.csv (no column(s) {missing}): use another --out.")
        return list(reader)


def write_runs(path, rows):
    """Writes `rows` to `path` atomically (temporary file, then `os.replace`)."""
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_FIELDS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_FIELDS})
    _atomic_write_text(path, buffer.getvalue())


def _run_key(row):
    return (str(row["model"]), int(row["fold"]), int(row["seed"]))


# --------------------------------------------------------------------------------------- report
def format_summary(summary):
    """A text table: per model mean +- std of each metric."""
    head = f"{'model':<18}{'runs':>5}" + "".join(f"{METRIC_LABELS[m]:>26}" for m in METRICS) + f"{'epochs':>9}"
    lines = [head]
    for model, entry in summary.items():
        cells = []
        for metric in METRICS:
            mean, std = entry[metric]["mean"], entry[metric]["std"]
            cells.append(f"{mean:.4f} +- {std:.4f}" if std is not None else f"{mean:.4f}")
        epochs = entry["epochs_run"]["mean"]
        lines.append(f"{model:<18}{entry['runs']:>5}" + "".join(f"{c:>26}" for c in cells) + f"{epochs:>9.1f}")
    return "\n".join(lines)


def _p(value):
    return "n/a" if value is None else (f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}")


def format_comparison(comparison):
    """A text table of the paired tests and the per-fold McNemar tests."""
    a, b = comparison["models"]
    n = len(comparison["pairs"])
    lines = [f"paired comparison {a} - {b} over {n} matched (fold, seed) runs (tests: our choice)",
             f"{'metric':<24}{'mean A':>9}{'mean B':>9}{'A - B':>9}{'95% bootstrap CI':>22}{'t-test p':>10}"
             f"{'Wilcoxon p':>12}"]
    for metric, r in comparison["metrics"].items():
        ci = f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]"
        lines.append(f"{METRIC_LABELS[metric]:<24}{r['mean_a']:>9.4f}{r['mean_b']:>9.4f}{r['mean_diff']:>+9.4f}"
                     f"{ci:>22}{_p(r['t_p']):>10}{_p(r['wilcoxon_p']):>12}" + (f"  ({r['note']})" if r["note"] else ""))
    if comparison["mcnemar"]:
        lines.append(f"McNemar per fold (b = {a} right & {b} wrong, c = the reverse):")
        lines.append(f"{'fold':>6}{'seed':>6}{'n':>7}{'b':>6}{'c':>6}{'p':>10}  method")
        for fold, tests in comparison["mcnemar"].items():
            for t in tests:
                lines.append(f"{fold:>6}{t['seed']:>6}{t['n']:>7}{t['b']:>6}{t['c']:>6}{_p(t['p']):>10}  {t['method']}")
        lines.append(f"{comparison['mcnemar_significant']} of {comparison['mcnemar_tests']} McNemar tests "
                     f"have p < {comparison['alpha']}")
    if comparison["missing_predictions"]:
        lines.append(f"no McNemar test where predictions are missing: {', '.join(comparison['missing_predictions'])}")
    return "\n".join(lines)


def plot_comparison(rows, models, comparison=None, path=None):
    """Per-run points of each model (one panel per metric), lines joining the runs of each
    (fold, seed) pair of the compared models, mean +- std beside. Saved atomically to `path`."""
    from coaudiotext.plots import _pyplot, save_figure

    plt = _pyplot()
    compared = comparison["models"] if comparison else list(models[:2])
    order = list(compared) + [m for m in models if m not in compared]
    folds = sorted({int(r["fold"]) for r in rows})
    colors = {fold: plt.get_cmap("tab10")(i % 10) for i, fold in enumerate(folds)}
    figure, axes = plt.subplots(1, len(METRICS), figsize=(3.4 * len(METRICS), 3.6))
    for axis, metric in zip(np.atleast_1d(axes), METRICS):
        if len(compared) == 2:
            for (fold, _), (ra, rb) in _pairs(rows, *compared).items():
                axis.plot([0, 1], [float(ra[metric]), float(rb[metric])], "-", color=colors[fold], alpha=0.6, lw=1)
        for x, model in enumerate(order):
            mine = [r for r in rows if r["model"] == model]
            values = np.array([float(r[metric]) for r in mine])
            axis.scatter([x] * len(mine), values, c=[colors[int(r["fold"])] for r in mine], s=22, zorder=3)
            if values.size:
                std = values.std(ddof=1) if values.size > 1 else 0.0
                axis.errorbar(x + 0.18, values.mean(), yerr=std, fmt="D", color="black", ms=4, capsize=3, zorder=4)
        axis.set_xticks(range(len(order)), order, rotation=15)
        axis.set_xlim(-0.4, len(order) - 0.4)
        title = METRIC_LABELS[metric]
        if comparison:
            r = comparison["metrics"][metric]
            title += f"\nt p={_p(r['t_p'])}, Wilcoxon p={_p(r['wilcoxon_p'])}"
        axis.set_title(title, fontsize=9)
        axis.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=colors[f], marker="o", ls="-", label=f"fold {f}") for f in folds]
    handles.append(plt.Line2D([], [], color="black", marker="D", ls="", label="mean +- std"))
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 8), fontsize="small",
                  bbox_to_anchor=(0.5, -0.04))
    figure.suptitle("Test metrics per (fold, seed) run; lines join paired runs", fontsize=10)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    if path is not None:
        save_figure(figure, path)
    return figure


# ------------------------------------------------------------------------------------- protocol
def _parse_ids(text, name):
    """`"3"` -> [1, 2, 3]; `"2,5"` -> [2, 5]."""
    try:
        if "," in str(text):
            ids = [int(v) for v in str(text).split(",") if v.strip()]
        else:
            ids = list(range(1, int(text) + 1))
    except ValueError:
        raise ValueError(f"--{name} expects a count N (ids 1..N) or a comma-separated list of ids; got {text!r}.") from None
    if not ids or any(v < 1 for v in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"--{name} needs distinct ids >= 1 (a count N >= 1 means 1..N); got {text!r}.")
    return ids


def check_models(models):
    """Raises ValueError for unknown registry keys (no Keras import)."""
    from coaudiotext.catalog import CATALOG

    if not models:
        raise ValueError("--models needs at least one registry key, e.g. --models tva_self_at,tva_cross_at.")
    unknown = [m for m in models if m not in CATALOG]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}. Expected registry keys: {', '.join(CATALOG)}.")
    if len(set(models)) != len(models):
        raise ValueError(f"--models lists a model twice: {models}.")


def run_protocol(models, folds=3, seeds=3, data="demo", data_dir=None, out="runs/protocol", epochs=None,
                 fast=False, model_flags=None, compare=None, n_boot=10000, verbose=0, report=True, train_size=None):
    """Runs every (model, fold, seed) not yet in `out/runs.csv`, then summarises and compares.

    Args mirror the command line (`python -m coaudiotext.protocol --help`); `folds` and `seeds` are
    counts (ids 1..N) or lists of ids; `train_size` (demo only) subsamples each fold's train rows.
    Returns the summary dict (also written to `out/summary.json`).
    """
    models = list(models)
    fold_ids, seed_ids, data, data_dir, epochs, compare = _check_protocol_args(models, folds, seeds, data, data_dir,
                                                                               epochs, fast, compare)
    model_flags = dict(model_flags or {})

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if train_size is not None and (data == "iemocap-folds" or int(train_size) < 1):
        raise ValueError(f"--train-size is a positive number of rows and only for the demo corpora; got {train_size} "
                         f"with --data {data}.")
    settings = _protocol_settings(data, data_dir, epochs, model_flags)
    settings["train_size"] = None if train_size is None else int(train_size)
    csv_path = out / "runs.csv"
    rows = read_runs(csv_path)
    _check_or_write_settings(out, settings, rows)
    done = {_run_key(row) for row in rows}
    grid = [(m, f, s) for f in fold_ids for s in seed_ids for m in models]
    todo = [key for key in grid if key not in done]
    if report:
        print(f"[protocol] {len(grid)} runs ({len(models)} models x {len(fold_ids)} folds x {len(seed_ids)} seeds) "
              f"on {data}; {len(grid) - len(todo)} already in {csv_path}, {len(todo)} to train; at most {epochs} epochs")
    if todo:
        _train_runs(todo, models, data, data_dir, epochs, model_flags, verbose, report, out, rows, train_size)
        rows = read_runs(csv_path)

    selected = [r for r in rows if _run_key(r) in set(grid)]
    selected.sort(key=lambda r: (models.index(r["model"]), int(r["fold"]), int(r["seed"])))
    summary = {"settings": settings, "naming": NAMING_NOTE, "tests_note": TESTS_NOTE,
               "grid": {"models": models, "folds": fold_ids, "seeds": seed_ids},
               "models": summarize_runs(selected), "comparison": None, "comparison_error": None}
    comparison = None
    if compare:
        try:
            comparison = compare_models(selected, *compare, out=out, n_boot=n_boot)
        except ValueError as error:
            summary["comparison_error"] = str(error)
    summary["comparison"] = comparison
    _atomic_json(out / "summary.json", summary)
    from coaudiotext.plots import _pyplot

    _pyplot().close(plot_comparison(selected, models, comparison, path=out / "comparison.png"))
    if report:
        print(f"[protocol] test metrics, mean +- std over runs ({NAMING_NOTE})")
        print(format_summary(summary["models"]))
        if comparison:
            print(format_comparison(comparison))
        print(f"[protocol] wrote {csv_path}, {out / 'summary.json'}, {out / 'comparison.png'}")
    if summary["comparison_error"]:
        raise ValueError(summary["comparison_error"] + f" The runs and per-model summary are in {out}.")
    return summary


def _check_protocol_args(models, folds, seeds, data, data_dir, epochs, fast, compare):
    """Checks `run_protocol`'s arguments; returns fold ids, seed ids, data, data_dir, epochs and the pair to compare."""
    check_models(models)
    fold_ids = _parse_ids(",".join(map(str, folds)) if isinstance(folds, (list, tuple)) else folds, "folds")
    seed_ids = _parse_ids(",".join(map(str, seeds)) if isinstance(seeds, (list, tuple)) else seeds, "seeds")
    if data not in DATA_CHOICES:
        raise ValueError(f"Expected --data to be one of {DATA_CHOICES}. Received: {data!r}")
    if data == "iemocap-folds":
        if not data_dir:
            raise ValueError("--data iemocap-folds needs --data-dir: the folds/ folder with fold01/ ... fold05/.")
        if not pathlib.Path(data_dir).is_dir():
            raise FileNotFoundError(f"--data-dir {data_dir} does not exist (expected the folds/ folder with "
                                    "fold01/ ... fold05/ of the AMH preprocessing).")
        data_dir = str(pathlib.Path(data_dir).resolve())
    elif data_dir:
        raise ValueError(f"--data-dir is only for --data iemocap-folds (the demo corpus is built in); got --data {data}.")
    if fast and data == "demo":
        data = "demo-tiny"
    if epochs is None:
        epochs = FAST_EPOCHS if fast else MAX_EPOCHS
    if int(epochs) < 1:
        raise ValueError(f"--epochs must be >= 1; got {epochs}.")
    if compare or len(models) >= 2:  # one model: nothing to compare
        compare = list(compare) if compare else models[:2]
        if len(compare) != 2 or any(m not in models for m in compare) or compare[0] == compare[1]:
            raise ValueError(f"--compare needs two different models of --models {models}; got {compare}.")
    return fold_ids, seed_ids, data, data_dir, epochs, compare


def _protocol_settings(data, data_dir, epochs, model_flags):
    """The settings `out/protocol.json` records (and a resumed run must repeat)."""
    return {
        "data": data, "data_dir": data_dir, "epochs": int(epochs), "model_flags": model_flags,
        "val_fraction": DEMO_VAL_FRACTION if data != "iemocap-folds" else None,
        "fold_split_seed": FOLD_SPLIT_SEED if data != "iemocap-folds" else None,
        "learning_rate": LEARNING_RATE, "batch_size": BATCH_SIZE,
        "schedule": (f"Adam lr {LEARNING_RATE} (eps {ADAM_EPSILON}), batch {BATCH_SIZE}, ReduceLROnPlateau on val_loss "
                     f"(torch patience {LR_PATIENCE}, factor {LR_FACTOR}, rel. threshold {LR_THRESHOLD}), early "
                     f"stopping after {EARLY_STOPPING_PATIENCE} epochs without a better val accuracy, best-val "
                     f"weights tested, at most {int(epochs)} epochs"),
        "folds": ("original folds (load_fold)" if data == "iemocap-folds" else
                  f"stratified re-split of the {data} train split ({DEMO_VAL_FRACTION:.0%} val), "
                  f"rng (split seed {FOLD_SPLIT_SEED}, fold); test = the {data} test split"),
    }


def _check_or_write_settings(out, settings, rows):
    """Writes `out/protocol.json`, or, when `out` holds runs already, refuses settings that differ from theirs."""
    settings_path = out / "protocol.json"
    if settings_path.exists() and rows:  # runs exist: they must have been made with these settings
        before = json.loads(settings_path.read_text(encoding="utf-8"))
        changed = [k for k in _CHECKED_SETTINGS if before.get(k) != settings.get(k)]
        if changed:
            detail = ", ".join(f"{k}: {before.get(k)!r} there, {settings.get(k)!r} now" for k in changed)
            raise ValueError(f"{out} holds runs made with other settings ({detail}). Choose another --out "
                             "(or repeat the original settings to resume).")
    else:
        _atomic_json(settings_path, settings)


def _train_runs(todo, models, data, data_dir, epochs, model_flags, verbose, report, out, rows, train_size=None):
    """Trains each (model, fold, seed) of `todo`, writing its predictions and then its row of `out/runs.csv`."""
    from coaudiotext.models import get_spec

    csv_path = out / "runs.csv"
    provider = (_IemocapFolds(data_dir) if data == "iemocap-folds"
                else _DemoFolds(data, DEMO_VAL_FRACTION, verbose == 1, train_size))
    class_names = provider.class_names
    specs = {m: get_spec(m) for m in models}
    for model, fold, seed in todo:
        arrays = provider.fold(fold, specs[model].inputs)
        row, predictions = _train_one(model, arrays, class_names, seed, epochs, BATCH_SIZE, LEARNING_RATE,
                                      model_flags, verbose)
        row["fold"] = fold
        relative = pathlib.Path("predictions") / f"{model}_fold{fold:02d}_seed{seed}.npz"
        _atomic_npz(out / relative, predictions)  # before the row: a row always has its predictions
        row["predictions"] = relative.as_posix()
        rows = [r for r in rows if _run_key(r) != _run_key(row)] + [row]
        write_runs(csv_path, rows)
        if report:
            print(f"[protocol] {model} fold {fold} seed {seed}: WA {row['wa']:.4f} UA {row['ua']:.4f} "
                  f"macro-F1 {row['macro_f1']:.4f} weighted-F1 {row['weighted_f1']:.4f} "
                  f"({row['epochs_run']} epochs, best {row['best_epoch']}, {row['seconds']:.1f} s)")


# ------------------------------------------------------------------------------------------ CLI
def _parse_flag(text):
    from coaudiotext.train import _parse_flag as parse  # one FLAG=VALUE parser (train.py imports no Keras)

    return parse(text)


def _list(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.protocol",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Seed-003 (SelfCrossAttn) evaluation protocol: train every model on every fold x seed with the "
            "original's schedule (Adam 1e-3, batch 32, ReduceLROnPlateau(patience 10, factor 0.1) on val loss, "
            "early stopping after 10 epochs without a better val accuracy, best-val checkpoint tested), one CSV "
            "row per run (resumable: rows already in OUT/runs.csv are skipped), then mean +- std per model and a "
            "paired comparison of two models (paired t-test, Wilcoxon signed-rank, bootstrap 95% CI of the mean "
            "difference, per-fold McNemar on the test predictions) printed and written to OUT/summary.json and "
            "OUT/comparison.png."
        ),
        epilog=(
            "metric names:\n  " + NAMING_NOTE + "\n\nsignificance tests:\n  " + TESTS_NOTE + "\n\nfolds:\n"
            "  iemocap-folds: the original folds DIR/fold01..fold05 (train / dev = validation / test).\n"
            "  demo, demo-tiny: fold k = a stratified re-split of the demo train split into train / val (10%)\n"
            "  by (fold k, split seed 0); test is always the demo test split.\n\n"
            "examples:\n"
            "  python -m coaudiotext.protocol --models tva_self_at,tva_cross_at --folds 3 --seeds 3 --data demo\n"
            "  python -m coaudiotext.protocol --models tva_self_at,tva_cross_at --folds 2 --seeds 1 --fast\n"
            "  python -m coaudiotext.protocol --models tva_self,tva_cross --folds 5 --seeds 10 \\\n"
            "      --data iemocap-folds --data-dir folds/\n"
        ),
    )
    parser.add_argument("--models", required=True, type=_list,
                        help="comma-separated registry keys, e.g. tva_self_at,tva_cross_at (IEMOCAP: tva_self,tva_cross)")
    parser.add_argument("--folds", default="3", help="number of folds N (ids 1..N) or a list of ids, e.g. 1,4 (default 3)")
    parser.add_argument("--seeds", default="3", help="number of seeds N (seeds 1..N, as multi_run.sh) or a list (default 3)")
    parser.add_argument("--data", default="demo", choices=DATA_CHOICES,
                        help="demo (default), demo-tiny, or iemocap-folds (needs --data-dir)")
    parser.add_argument("--data-dir", help="--data iemocap-folds: the folds/ folder holding fold01/ ... fold05/")
    parser.add_argument("--out", default="runs/protocol", help="output folder (default runs/protocol); rerun to resume")
    parser.add_argument("--epochs", type=int,
                        help=f"epoch cap (default {MAX_EPOCHS}, the original's; early stopping usually ends a run first)")
    parser.add_argument("--train-size", type=int, metavar="N",
                        help="demo only: train each fold on a stratified subsample of N of its train rows "
                             "(default: all of them; the validation and test rows are unchanged)")
    parser.add_argument("--fast", action="store_true",
                        help=f"demo-tiny instead of demo, and {FAST_EPOCHS} epochs unless --epochs is given")
    parser.add_argument("--compare", type=_list, help="the two models to compare (default: the first two of --models)")
    parser.add_argument("--bootstrap", type=int, default=10000, help="bootstrap resamples of the CI (default 10000, seed 0)")
    parser.add_argument("--set", action="append", type=_parse_flag, default=[], metavar="FLAG=VALUE",
                        help="model builder flag, repeatable, e.g. --set audio_frames=10 --set frame_mixing=False")
    parser.add_argument("--quiet", action="store_true", help="no Keras progress output")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    try:
        check_models(args.models)  # before TensorFlow loads
        run_protocol(
            args.models, folds=args.folds, seeds=args.seeds, data=args.data, data_dir=args.data_dir, out=args.out,
            epochs=args.epochs, fast=args.fast, model_flags=dict(args.set), compare=args.compare,
            n_boot=args.bootstrap, train_size=args.train_size, verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n[protocol] interrupted: finished runs are saved in runs.csv; rerun the same command to resume.",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
