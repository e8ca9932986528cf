"""Class-balanced sampling, as RSA-CFN's `--batch_weighted_sampler` (seed 002).

The original (`main.py`, `src/trainer.py`) gives each training sample the weight
1 / (count of its class) and draws `len(weights)` indices per epoch **with
replacement** (`WeightedRandomSampler(weights, len(weights))`), so every class is
drawn about equally often and rare samples repeat.

Two equivalent ways to use it here:

- numpy, one index array per epoch: `balanced_indices(labels, seed=..., epoch=...)`;
- tf.data: `weighted_index_dataset(weights, seed=...)` yields a fresh draw of indices
  each time the dataset is iterated (each epoch of `model.fit`), and
  `gather_dataset(indices, arrays)` turns them into examples.

Example:

>>> import numpy as np
>>> labels = np.array([0] * 90 + [1] * 10)
>>> weights = balanced_sample_weights(labels)
>>> float(weights[0]), float(weights[-1])
(0.011111111111111112, 0.1)
>>> idx = balanced_indices(labels, seed=0)
>>> bool(0.35 < np.mean(labels[idx] == 1) < 0.65)
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["balanced_sample_weights", "balanced_indices", "weighted_index_dataset", "gather_dataset"]


def balanced_sample_weights(labels):
    """Per-sample weights 1 / (number of samples of its class), as the original.

    Args:
        labels: sequence. Class of each sample (ints or strings).

    Returns:
        float64 array of shape (len(labels),).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"Expected a non-empty 1-D sequence of labels. Received shape {labels.shape}.")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse].astype(np.float64)


def _probabilities(weights):
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or len(weights) == 0 or np.any(weights < 0) or not np.isfinite(weights).all():
        raise ValueError("Expected a non-empty 1-D array of finite, non-negative sample weights.")
    total = weights.sum()
    if total <= 0:
        raise ValueError("Expected sample weights with a positive sum.")
    return weights / total


def balanced_indices(labels=None, weights=None, num_samples=None, seed=None, epoch=0):
    """Indices of one epoch drawn with replacement, proportionally to the weights.

    Args:
        labels: sequence or None. Class labels; the weights are `balanced_sample_weights(labels)`.
        weights: sequence or None. Sample weights, instead of `labels`.
        num_samples: int or None. Draws per epoch; None draws as many as there are
            samples (the original). Defaults to None.
        seed: int or None. Seed; with `epoch`, the same (seed, epoch) gives the same draw.
        epoch: int. Epoch number, so each epoch draws differently. Defaults to 0.

    Returns:
        int64 array of shape (num_samples,).
    """
    if (labels is None) == (weights is None):
        raise ValueError("Pass exactly one of labels= or weights=.")
    probabilities = _probabilities(balanced_sample_weights(labels) if weights is None else weights)
    n = len(probabilities) if num_samples is None else int(num_samples)
    rng = np.random.default_rng(None if seed is None else [int(seed), int(epoch)])
    return rng.choice(len(probabilities), size=n, replace=True, p=probabilities).astype(np.int64)


def weighted_index_dataset(weights, num_samples=None, seed=None):
    """A `tf.data.Dataset` of sample indices drawn with replacement, redrawn on every iteration.

    Each pass over the dataset (each epoch of `fit`) yields `num_samples` indices by
    inverse-CDF sampling of the normalised weights; `rerandomize_each_iteration`
    makes every epoch different while a fixed `seed` keeps runs reproducible.

    Args:
        weights: sequence. Sample weights (e.g. `balanced_sample_weights(labels)`).
        num_samples: int or None. Draws per epoch; None = number of samples. Defaults to None.
        seed: int or None. Seed. Defaults to None.

    Returns:
        `tf.data.Dataset` of int64 scalars.

    Example:

    >>> ds = weighted_index_dataset(balanced_sample_weights([0, 0, 0, 1]), seed=1)
    >>> len(list(ds.as_numpy_iterator()))
    4
    """
    import tensorflow as tf

    probabilities = _probabilities(weights)
    n = len(probabilities) if num_samples is None else int(num_samples)
    cdf = np.cumsum(probabilities)
    cdf[-1] = 1.0
    cdf = tf.constant(cdf, dtype=tf.float64)
    last = len(probabilities) - 1

    def draw(step_seed):
        pair = tf.stack([step_seed, tf.constant(0, tf.int64)])
        uniform = tf.random.stateless_uniform([n], seed=pair, dtype=tf.float64)
        return tf.minimum(tf.searchsorted(cdf, uniform, side="right", out_type=tf.int64), last)

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return seeds.map(draw).unbatch()


def gather_dataset(indices, arrays, labels=None):
    """Maps a dataset of indices to examples taken from in-memory arrays.

    Args:
        indices: `tf.data.Dataset` of int64 scalars (e.g. `weighted_index_dataset(...)`).
        arrays: dict of arrays (the model inputs) or one array.
        labels: array or None. Labels; if given, elements are `(inputs, label)`.

    Returns:
        `tf.data.Dataset` of examples (batch it afterwards).
    """
    import tensorflow as tf

    inputs = tf.nest.map_structure(tf.constant, arrays)
    targets = None if labels is None else tf.constant(np.asarray(labels))

    def take(index):
        example = tf.nest.map_structure(lambda array: tf.gather(array, index), inputs)
        if targets is None:
            return example
        return example, tf.gather(targets, index)

    return indices.map(take, num_parallel_calls=tf.data.AUTOTUNE)
