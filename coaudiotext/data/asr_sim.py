"""Simulated speech-recognition transcripts at a chosen word error rate (WER), and WER itself.

The sources compare gold transcripts with real ASR output (seed 001: Google STT,
`test_stt.pkl`; the tutorial: "with ASR text"). Where no recogniser output exists, e.g. the
synthetic demo corpus, `simulate_asr` produces a **simulated** stand-in: each word is, with
probability `wer`, substituted (by another word of the vocabulary), deleted, or followed by an
inserted word, in the proportions `error_mix`. Every operation costs one edit, so the expected
WER against the gold text is `wer` (slightly less at high rates, where a deletion next to an
insertion aligns as a single substitution). It models none of a real recogniser's structure
(acoustically similar words, homophones, spacing errors in Korean): report it as simulated.

`word_error_rate(reference, hypothesis)` is the usual Levenshtein WER over whitespace-split
words, for one pair or a corpus (total edits / total reference words).

Example:

>>> noisy = simulate_asr(["turn the light on", "is it raining"], wer=0.25, seed=0)
>>> round(word_error_rate(["turn the light on", "is it raining"], noisy), 2) <= 1.0
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["simulate_asr", "word_error_rate", "edit_distance"]


def edit_distance(reference, hypothesis):
    """Levenshtein distance between two token sequences (substitutions, deletions, insertions cost 1).

    Args:
        reference: sequence. Reference tokens.
        hypothesis: sequence. Hypothesis tokens.

    Returns:
        int.

    Example:

    >>> edit_distance("a b c".split(), "a x c d".split())
    2
    """
    reference, hypothesis = list(reference), list(hypothesis)
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1]


def word_error_rate(reference, hypothesis):
    """Word error rate: word-level edit distance / number of reference words.

    Args:
        reference: str or list of str. Reference transcript(s).
        hypothesis: str or list of str. Hypothesis transcript(s), as many as references.

    Returns:
        float. For lists, the corpus WER (sum of edits over sum of reference words). With no
        reference words at all, the number of hypothesis words (0.0 when both are empty).

    Example:

    >>> word_error_rate("the cat sat", "the cat sat down")
    0.3333333333333333
    """
    if isinstance(reference, str) != isinstance(hypothesis, str):
        raise ValueError("reference and hypothesis must both be strings or both be lists of strings.")
    if isinstance(reference, str):
        reference, hypothesis = [reference], [hypothesis]
    reference, hypothesis = list(reference), list(hypothesis)
    if len(reference) != len(hypothesis):
        raise ValueError(f"Got {len(reference)} references but {len(hypothesis)} hypotheses.")
    edits = words = 0
    for ref, hyp in zip(reference, hypothesis):
        ref_words, hyp_words = str(ref).split(), str(hyp).split()
        edits += edit_distance(ref_words, hyp_words)
        words += len(ref_words)
    return edits / words if words else float(edits)


def simulate_asr(texts, wer, seed=0, vocabulary=None, error_mix=(0.6, 0.2, 0.2)):
    """Simulated ASR transcripts: gold texts with word errors at the requested rate.

    Args:
        texts: list of str. Gold transcripts.
        wer: float in [0, 1]. Target word error rate (probability that a word gets an error).
        seed: int. Seed of the random generator; same inputs and seed -> same output.
            Defaults to 0.
        vocabulary: list of str or None. Words used for substitutions and insertions.
            Defaults to every word of `texts` (in-domain confusions).
        error_mix: tuple of 3 floats. Relative proportions of substitutions, deletions and
            insertions. Defaults to `(0.6, 0.2, 0.2)`.

    Returns:
        list of str, one simulated transcript per text (words joined by single spaces).
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a list of strings, not one string.")
    wer = float(wer)
    if not 0.0 <= wer <= 1.0:
        raise ValueError(f"wer must be in [0, 1]. Received: wer={wer}")
    mix = np.asarray(error_mix, dtype=np.float64)
    if mix.shape != (3,) or np.any(mix < 0) or mix.sum() <= 0:
        raise ValueError(
            "error_mix must be 3 non-negative proportions (substitution, deletion, insertion) "
            f"with a positive sum. Received: error_mix={error_mix}"
        )
    mix = mix / mix.sum()
    texts = [str(t) for t in texts]
    if vocabulary is None:
        vocabulary = [w for text in texts for w in text.split()]
    vocabulary = list(dict.fromkeys(str(w) for w in vocabulary))
    if not vocabulary and wer > 0 and (mix[0] > 0 or mix[2] > 0):
        raise ValueError("simulate_asr needs a non-empty vocabulary for substitutions and insertions.")
    rng = np.random.default_rng(seed)
    thresholds = wer * np.cumsum(mix)  # [sub, sub+del, sub+del+ins]

    def other_word(word):
        for _ in range(8):
            candidate = vocabulary[int(rng.integers(len(vocabulary)))]
            if candidate != word:
                return candidate
        alternatives = [w for w in vocabulary if w != word]
        if alternatives:
            return alternatives[int(rng.integers(len(alternatives)))]
        return word + word[-1:]  # a one-word vocabulary: a different (made-up) word

    outputs = []
    for text in texts:
        words = []
        for word in text.split():
            u = rng.random()
            if u < thresholds[0]:
                words.append(other_word(word))
            elif u < thresholds[1]:
                continue
            elif u < thresholds[2]:
                words.extend([word, vocabulary[int(rng.integers(len(vocabulary)))]])
            else:
                words.append(word)
        outputs.append(" ".join(words))
    return outputs


def add_simulated_asr(manifest_path, wer, seed=0, out=None):
    """Writes a copy of a manifest with a **simulated** `asr_text` column at word error rate `wer`.

    No speech recogniser can be downloaded here, so this stands in for one: each transcript gets
    seeded substitutions, deletions and insertions (`simulate_asr`), substitutes drawn from the
    words of the manifest's `train` transcripts. The copy also gets an `asr_source` column
    (`simulated-wer-0.15`) so nobody mistakes it for real recogniser output. A transcript whose
    words were all deleted becomes the filler `uh` (manifests reject empty transcripts).

    Args:
        manifest_path: path. A manifest CSV.
        wer: float. Target word error rate in [0, 1].
        seed: int. Defaults to 0.
        out: path or None. Output CSV; None writes `manifest-asr-wer{wer}.csv` beside the input
            (and reuses it when it exists).

    Returns:
        pathlib.Path of the written manifest (audio paths stay relative to the same folder).
    """
    import csv
    import os
    import pathlib

    manifest_path = pathlib.Path(manifest_path)
    if not 0.0 <= float(wer) <= 1.0:
        raise ValueError(f"Expected wer in [0, 1]. Received: wer={wer!r}")
    if out is None:
        out = manifest_path.with_name(f"{manifest_path.stem}-asr-wer{float(wer):g}-seed{seed}.csv")
        if out.exists():
            return out
    out = pathlib.Path(out)
    with open(manifest_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    vocabulary = sorted({w for r in rows if r.get("split") == "train" for w in r["text"].split()}) or None
    hypotheses = simulate_asr([r["text"] for r in rows], wer, seed=seed, vocabulary=vocabulary)
    for row, hypothesis in zip(rows, hypotheses):
        # A recogniser that drops every word still emits something; manifests reject empty transcripts.
        row["asr_text"] = hypothesis if hypothesis.strip() else "uh"
        row["asr_source"] = f"simulated-wer-{float(wer):g}"
    header += [c for c in ("asr_text", "asr_source") if c not in header]
    if out.parent.resolve() != manifest_path.parent.resolve():
        base = manifest_path.parent.resolve()
        for row in rows:
            if not os.path.isabs(row["audio_path"]):
                row["audio_path"] = str(base / row["audio_path"])
    from coaudiotext.cache import atomic_path

    with atomic_path(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return out
