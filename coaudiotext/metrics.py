"""Classification metrics, correctly named (the definitions below are the ones used everywhere here).

- **accuracy (WA)**: overall accuracy, the fraction of utterances classified correctly.
- **UA**: unweighted average recall (balanced accuracy): the mean of per-class recalls
  over the classes present in the reference labels.
- **macro-F1**: the mean of per-class F1 over the classes present in either the
  reference or the predictions (scikit-learn's default).
- **weighted-F1**: per-class F1 averaged with weights proportional to class support.

The sources this package ports invert WA/UA and call weighted F1 "accuracy";
this module never does. Everything is plain numpy and agrees with scikit-learn
(`tests/test_metrics.py` checks it).
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "classification_metrics", "format_metrics"]


def confusion_matrix(y_true, y_pred, num_classes):
    """Returns the (num_classes, num_classes) count matrix; rows are true labels, columns predictions."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.shape[0]} vs {y_pred.shape[0]}.")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def _safe_divide(numerator, denominator):
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def classification_metrics(y_true, y_pred, class_names):
    """Computes every named metric of this module (see its docstring for the definitions).

    Args:
        y_true: array-like of int. Reference class indices.
        y_pred: array-like of int. Predicted class indices.
        class_names: list of str. Name of each class index.

    Returns:
        dict with `accuracy` (WA), `ua`, `macro_f1`, `weighted_f1`, `macro_precision`,
        `macro_recall`, `per_class` ({name: {precision, recall, f1, support}}),
        `confusion_matrix` (list of lists, rows = true), `labels` and `n`.
    """
    num_classes = len(class_names)
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    correct = np.diag(matrix)
    precision = _safe_divide(correct, predicted)
    recall = _safe_divide(correct, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    in_truth = support > 0
    in_either = (support + predicted) > 0
    n = int(matrix.sum())
    return {
        "n": n,
        "accuracy": float(correct.sum() / n) if n else 0.0,
        "ua": float(recall[in_truth].mean()) if in_truth.any() else 0.0,
        "macro_f1": float(f1[in_either].mean()) if in_either.any() else 0.0,
        "weighted_f1": float((f1 * support).sum() / support.sum()) if support.sum() else 0.0,
        "macro_precision": float(precision[in_either].mean()) if in_either.any() else 0.0,
        "macro_recall": float(recall[in_either].mean()) if in_either.any() else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "labels": list(class_names),
        "confusion_matrix": matrix.tolist(),
    }


def format_metrics(metrics, split=None):
    """One line with the four headline metrics, e.g. for the end of a training run."""
    where = f" on {split} (n={metrics['n']})" if split else f" (n={metrics['n']})"
    return (
        f"accuracy (WA) {metrics['accuracy']:.4f} | UA {metrics['ua']:.4f} | "
        f"macro-F1 {metrics['macro_f1']:.4f} | weighted-F1 {metrics['weighted_f1']:.4f}{where}"
    )
