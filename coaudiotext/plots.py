"""Plots people would rather look at than read: confusion matrices and training curves.

Every function draws on a new matplotlib figure (Agg backend when there is no
display) and, given `path`, saves it atomically as PNG. Each returns the figure.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

__all__ = ["plot_confusion_matrix", "plot_history", "save_figure"]


def _pyplot():
    import matplotlib

    if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path, dpi=120):
    """Saves `figure` to `path` atomically (temporary file, then rename)."""
    from coaudiotext.cache import atomic_path

    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path


def plot_confusion_matrix(matrix, labels, path=None, title="Confusion matrix", normalize=True):
    """Draws a confusion matrix (rows = true class) with counts and row-normalised colours."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    shown = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0) if normalize else matrix
    size = max(3.5, 0.6 * len(labels) + 1.5)
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    axis.set_xticks(range(len(labels)), labels)
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            axis.text(j, i, str(matrix[i, j]), ha="center", va="center",
                      color="white" if shown[i, j] > 0.5 * (shown.max() or 1) else "black", fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="row fraction" if normalize else "count")
    if path is not None:
        save_figure(figure, path)
    return figure


def plot_history(history, path=None, keys=("loss", "accuracy", "macro_f1"), best_epoch=None, monitor=None):
    """Draws training curves: for each key, the training value and its `val_` counterpart per epoch.

    `best_epoch` (1-based), when given, is marked on every panel: the epoch whose checkpoint was kept
    (chosen on `monitor`)."""
    plt = _pyplot()
    present = [k for k in keys if k in history or f"val_{k}" in history]
    figure, axes = plt.subplots(1, max(1, len(present)), figsize=(4 * max(1, len(present)), 3.2))
    axes = np.atleast_1d(axes)
    for axis, key in zip(axes, present):
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            if name in history:
                values = history[name]
                axis.plot(range(1, len(values) + 1), values, style, label=name)
        if best_epoch is not None:
            label = f"selected: epoch {best_epoch}" + (f" (best {monitor})" if monitor else "")
            axis.axvline(best_epoch, color="0.35", linestyle=":", linewidth=1.2, label=label)
        axis.set_xlabel("epoch")
        axis.set_title(key)
        axis.legend(fontsize="small")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure
