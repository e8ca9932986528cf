"""Checks of a demo corpus: the text-only ceiling, the pitch of its tunes, and a printable report.

* `text_only_ceiling(rows)`: the accuracy of the best transcript-only guess (each script's majority label).
* `pitch_track`, `pitch_ratio`: F0 of the voiced frames, and the final rise (mean F0 of the last 3 voiced
  frames / median F0 of the first 80%).
* `pitch_check(manifest)`: that ratio per label, and how well one threshold tells `?` tunes from the others.
* `report(manifest)`: sizes, disjointness of scripts, speakers and held-out words across splits, ceiling,
  pitch check (`python -m coaudiotext.data.demo --report`).

Example:

>>> from coaudiotext.data.demo_report import text_only_ceiling
>>> text_only_ceiling([{"text": "you left", "label": "s", "split": "test"},
...                    {"text": "you left", "label": "yn", "split": "test"}])
0.5
"""

import random

import numpy as np

from coaudiotext.data.espeak import SAMPLE_RATE
from coaudiotext.data.manifest import DEMO_LABELS, PUNCTUATION, RISING_LABELS, read_manifest

__all__ = ["text_only_ceiling", "pitch_track", "pitch_ratio", "pitch_check", "report"]

SPLIT_ORDER = {"train": 0, "val": 1, "test": 2, "handwritten": 3}


def _rows(manifest):
    """Row dicts of a manifest CSV path (audio paths absolute), or a copy of a list of row dicts."""
    if isinstance(manifest, (list, tuple)):
        return [dict(r) for r in manifest]
    return read_manifest(manifest, check_files=False).rows


def text_only_ceiling(manifest, split=None):
    """Accuracy of the best text-only guess: each script's majority label, counted on the same rows.

    An upper bound for any classifier that sees only the transcript. 0.5 on the demo corpus, where each
    script appears equally often with each of its form's two labels.

    Args:
        manifest: path of a manifest CSV, or a list of row dicts.
        split: str or None. Only rows of this split; None = all rows.

    Returns:
        float accuracy (nan when no rows).
    """
    rows = [r for r in _rows(manifest) if split is None or r["split"] == split]
    counts = {}
    for r in rows:
        per = counts.setdefault(r["text"], {})
        per[r["label"]] = per.get(r["label"], 0) + 1
    correct = sum(max(per.values()) for per in counts.values())
    return correct / len(rows) if rows else float("nan")


def pitch_track(samples, sample_rate=SAMPLE_RATE, fmin=50.0, fmax=600.0, method="yin"):
    """F0 of the voiced frames (Hz), in time order.

    `method="yin"` (default, ~30 ms per utterance): `librosa.yin` (frame 1024, hop 256) with voicing decided
    by periodicity (normalised autocorrelation at the estimated period > 0.5) and energy (frame RMS > 5%
    of the utterance maximum). `method="pyin"`: `librosa.pyin`'s voiced flag (same frames; ~10x slower,
    and on espeak-ng it drops more of the final rise). Frames further than x0.55 / x1.8 from the median
    F0 are dropped as octave errors.

    Args:
        samples: 1-D float array.
        sample_rate: int. Defaults to 22050.
        fmin: float. Lowest F0 searched. Defaults to 50.
        fmax: float. Highest F0 searched. Defaults to 600.
        method: str. `"yin"` or `"pyin"`. Defaults to `"yin"`.

    Returns:
        1-D float array of F0 values.
    """
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    frame, hop = 1024, 256
    if y.size < frame:
        return np.zeros(0)
    if method == "pyin":
        f0, voiced, _ = librosa.pyin(y, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=frame, hop_length=hop)
        f0 = f0[voiced & np.isfinite(f0)]
    elif method == "yin":
        f0 = librosa.yin(y, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=frame, hop_length=hop)
        frames = librosa.util.frame(np.pad(y, frame // 2), frame_length=frame, hop_length=hop)[:, : len(f0)]
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=0))
        periodicity = np.zeros(len(f0))
        for i, f in enumerate(f0):
            lag = int(round(sample_rate / f))
            a, b = frames[: frame - lag, i].astype(np.float64), frames[lag:, i].astype(np.float64)
            norm = np.sqrt(np.dot(a, a) * np.dot(b, b))
            periodicity[i] = np.dot(a, b) / norm if norm > 0 else 0.0
        f0 = f0[(periodicity > 0.5) & (rms > 0.05 * rms.max())] if rms.max() > 0 else np.zeros(0)
    else:
        raise ValueError(f"Unknown pitch method {method!r}. Expected one of: yin, pyin.")
    if f0.size:
        median = np.median(f0)
        f0 = f0[(f0 > 0.55 * median) & (f0 < 1.8 * median)]
    return f0


def pitch_ratio(samples, sample_rate=SAMPLE_RATE, method="yin"):
    """Final rise: mean F0 of the last 3 voiced frames / median F0 of the first 80% of voiced frames.

    Questions (`?`) end higher than statements (`.`) and commands (`!`); see `pitch_check`.

    Args:
        samples: 1-D float array.
        sample_rate: int. Defaults to 22050.
        method: str. `"yin"` or `"pyin"`, see `pitch_track`. Defaults to `"yin"`.

    Returns:
        float ratio, nan when fewer than 5 voiced frames are found.
    """
    f0 = pitch_track(samples, sample_rate, method=method)
    if f0.size < 5:
        return float("nan")
    head = f0[: max(1, int(0.8 * f0.size))]
    return float(np.mean(f0[-3:]) / np.median(head))


def _best_threshold(values, rising):
    """Threshold on `values` (predict rising when >= threshold) with the best accuracy on these data."""
    values, rising = np.asarray(values, float), np.asarray(rising, bool)
    candidates = np.unique(values[np.isfinite(values)])
    if not candidates.size:
        return float("nan"), float("nan")
    midpoints = np.concatenate([candidates[:1], (candidates[1:] + candidates[:-1]) / 2])
    accuracy = [np.mean(np.where(np.isfinite(values), values >= t, False) == rising) for t in midpoints]
    best = int(np.argmax(accuracy))
    return float(midpoints[best]), float(accuracy[best])


def pitch_check(manifest, split=None, max_per_label=100, method="yin", seed=0, progress=False):
    """Measures the final-rise ratio per label and how well one threshold tells `?` tunes from the others.

    Args:
        manifest: path of a manifest CSV (audio paths relative to its folder).
        split: str or None. Only this split; None = all rows.
        max_per_label: int or None. Analyse at most this many utterances per label (a seeded sample);
            None = all. Defaults to 100.
        method: str. `"yin"` or `"pyin"`. Defaults to `"yin"`.
        seed: int. Seed of the sample. Defaults to 0.
        progress: bool. Progress bar. Defaults to False.

    Returns:
        dict with `per_label` (label -> n, mean, std, median, min, max of the ratio), `rising_mean`,
        `other_mean`, `threshold` and `threshold_accuracy` (best single threshold, fit on these same
        utterances, predicting rising for `yn`/`r`), `accuracy_at_1` (threshold 1.0), `n`, `n_nan`.
    """
    import soundfile
    from tqdm.auto import tqdm

    rows = [r for r in _rows(manifest) if split is None or r["split"] == split]
    rng = random.Random(seed)
    chosen = []
    for label in sorted({r["label"] for r in rows}):
        of_label = [r for r in rows if r["label"] == label]
        if max_per_label is not None and len(of_label) > max_per_label:
            of_label = rng.sample(of_label, max_per_label)
        chosen += of_label
    ratios, labels = [], []
    for r in tqdm(chosen, desc="pitch check", unit="utt", disable=not progress, leave=False):
        samples, sample_rate = soundfile.read(r["audio_path"], dtype="float32")
        ratios.append(pitch_ratio(samples, sample_rate, method=method))
        labels.append(r["label"])
    ratios, labels = np.asarray(ratios, float), np.asarray(labels)
    rising = np.isin(labels, RISING_LABELS)
    per_label = {}
    for label in [l for l in DEMO_LABELS if l in set(labels)] + sorted(set(labels) - set(DEMO_LABELS)):
        x = ratios[(labels == label) & np.isfinite(ratios)]
        per_label[label] = {
            "n": int(np.sum(labels == label)),
            "mean": float(np.mean(x)) if x.size else float("nan"),
            "std": float(np.std(x)) if x.size else float("nan"),
            "median": float(np.median(x)) if x.size else float("nan"),
            "min": float(np.min(x)) if x.size else float("nan"),
            "max": float(np.max(x)) if x.size else float("nan"),
        }
    threshold, accuracy = _best_threshold(ratios, rising)
    finite = np.isfinite(ratios)
    return {
        "n": int(ratios.size),
        "n_nan": int(np.sum(~finite)),
        "per_label": per_label,
        "rising_mean": float(np.mean(ratios[rising & finite])) if np.any(rising & finite) else float("nan"),
        "other_mean": float(np.mean(ratios[~rising & finite])) if np.any(~rising & finite) else float("nan"),
        "threshold": threshold,
        "threshold_accuracy": accuracy,
        "accuracy_at_1": float(np.mean(np.where(finite, ratios >= 1.0, False) == rising)) if ratios.size else float("nan"),
    }


def report(manifest, max_per_label=100, method="yin", progress=False):
    """A printable summary of a demo corpus: sizes, disjointness, text-only ceiling, pitch check.

    Args:
        manifest: path of a manifest CSV.
        max_per_label: int or None. Utterances per label for the pitch check. Defaults to 100.
        method: str. Pitch tracker, `"yin"` or `"pyin"`. Defaults to `"yin"`.
        progress: bool. Progress bar for the pitch check. Defaults to False.

    Returns:
        `(text, figures)`: the report as a string and its numbers as a dict.
    """
    rows = _rows(manifest)
    splits = sorted({r["split"] for r in rows}, key=lambda s: (SPLIT_ORDER.get(s, len(SPLIT_ORDER)), s))
    lines = [f"Demo corpus {manifest}: {len(rows)} utterances"]
    figures = {"utterances": len(rows), "splits": {}}
    for s in splits:
        part = [r for r in rows if r["split"] == s]
        counts = {l: sum(r["label"] == l for r in part) for l in sorted({r["label"] for r in part}, key=_label_key)}
        n_speakers, n_scripts = len({r["speaker"] for r in part}), len({r["text"] for r in part})
        ceiling = text_only_ceiling(part)
        figures["splits"][s] = {"utterances": len(part), "speakers": n_speakers, "scripts": n_scripts,
                                "labels": counts, "text_only_ceiling": ceiling}
        lines.append(f"  {s:11s}: {len(part):5d} utterances, {n_speakers:3d} speakers, {n_scripts:4d} scripts, "
                     f"labels {counts}, text-only ceiling {ceiling:.1%}")
    figures["text_only_ceiling"] = text_only_ceiling(rows)
    lines.append(f"  text-only ceiling (majority label per script), all rows: {figures['text_only_ceiling']:.1%}")
    if "train" in splits:
        train = [r for r in rows if r["split"] == "train"]
        train_speakers, train_scripts = {r["speaker"] for r in train}, {r["text"] for r in train}
        train_words = {w for r in train for w in _words(r["text"])}
        figures["shared_with_train"] = {}
        for s in splits:
            if s == "train":
                continue
            part = [r for r in rows if r["split"] == s]
            scripts = {r["text"] for r in part}
            unseen = sum(bool(set(_words(t)) - train_words) for t in scripts)
            shared = {"speakers": len({r["speaker"] for r in part} & train_speakers),
                      "scripts": len(scripts & train_scripts), "scripts_with_unseen_words": unseen}
            figures["shared_with_train"][s] = shared
            lines.append(f"  {s} vs train: shared speakers {shared['speakers']}, shared scripts {shared['scripts']}, "
                         f"scripts with a word never in train {unseen} of {len(scripts)}")
    check = pitch_check(manifest, max_per_label=max_per_label, method=method, progress=progress)
    figures["pitch_check"] = check
    lines.append(f"  pitch check ({method}; final/median F0 ratio; {check['n']} utterances, "
                 f"{check['n_nan']} without enough voiced frames):")
    for label, stats in check["per_label"].items():
        lines.append(f"    {label:3s} {PUNCTUATION.get(label, ' ')} n={stats['n']:4d} mean {stats['mean']:.3f} "
                     f"+- {stats['std']:.3f} (median {stats['median']:.3f}, range {stats['min']:.2f}-{stats['max']:.2f})")
    lines.append(f"    rising (yn, r) mean {check['rising_mean']:.3f} vs others {check['other_mean']:.3f}; "
                 f"best threshold {check['threshold']:.3f} -> accuracy {check['threshold_accuracy']:.1%} "
                 f"(fit on these utterances); threshold 1.0 -> {check['accuracy_at_1']:.1%}")
    return "\n".join(lines), figures


def _words(text):
    return text.replace(",", " ").split()


def _label_key(label):
    return (DEMO_LABELS.index(label) if label in DEMO_LABELS else len(DEMO_LABELS), label)
