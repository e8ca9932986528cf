"""Corpora: the manifest table, the demo corpus, real-corpus loaders and the tf.data pipeline.

`resolve_data(name)` turns the `--data` argument of every command line into a
validated `Manifest` and its class names:

- `demo` / `demo-tiny`: the embedded synthetic intention corpus (built and cached on first use);
- `prosem`: the tutorial's Korean corpus (`--data-dir` with `spec_final.txt`, `FEMALE/`, `MALE/`,
  and the permutation files `--x-fem`, `--x-mal`);
- `kemdy20`: KEMDy20 (RSA-CFN; `--data-dir` = the `KEMDy20_v1_1` folder), the original's stratified
  80/20 split with the 20% reported as `test` (validation is then carved from train);
- `seed001`: the pickled DataFrames of the cross-modal Transformer (`--data-dir` with `train.pkl`,
  `dev.pkl`, `test.pkl`, optionally `test_stt.pkl` for `--text-source asr`), converted to wav once;
- a path to a manifest CSV (columns `audio_path,text,label,speaker,split`).
"""

from __future__ import annotations

import hashlib
import pathlib
import re

__all__ = ["resolve_data", "known_label_order"]

from coaudiotext.data.manifest import DEMO_LABELS, PROSEM_LABELS


def known_label_order(labels):
    """Class names in a canonical order: ProSem's or the demo's when the labels fit, else sorted."""
    present = set(labels)
    for order in (DEMO_LABELS, PROSEM_LABELS):
        if present <= set(order):
            return list(order)
    return sorted(present)


def resolve_data(
    data,
    data_dir=None,
    x_fem=None,
    x_mal=None,
    skip_bad=False,
    text_source="gold",
    labels=None,
    asr_wer=0.15,
    progress=True,
    trust_pickle=False,
):
    """Resolves a `--data` value to `(Manifest, class_names)`.

    Args:
        data: str. `demo`, `demo-tiny`, `prosem`, `kemdy20`, `seed001` or a manifest CSV path.
        data_dir: str or None. Corpus folder (`--data prosem|kemdy20|seed001`).
        x_fem, x_mal: str or None. ProSem permutation files (`x_fem.npy`, `x_mal.npy` of the tutorial repository).
        skip_bad: bool. Drop bad manifest rows (reported) instead of failing.
        text_source: str. `gold` (the `text` column) or `asr` (the `asr_text` column). On the demo
            corpus, `asr` uses a *simulated* recogniser output at word error rate `asr_wer`.
        asr_wer: float. WER of the simulated `asr_text` of the demo corpus. Defaults to 0.15.
        progress: bool. Show a progress bar while the demo corpus is rendered (first use only).
        labels: list of str or None. Class names to use (default: inferred).
        trust_pickle: bool. `seed001` only: allow unpickling its `.pkl` files on first conversion (a pickle
            can run arbitrary code; refused by default with `pkl_corpus.UntrustedPickleError`).
    """
    from coaudiotext.data.manifest import read_manifest

    if text_source not in ("gold", "asr"):
        raise ValueError(f"Expected text_source to be one of {{'gold', 'asr'}}. Received: text_source={text_source!r}")
    text_column = "text" if text_source == "gold" else "asr_text"
    if data in ("demo", "demo-tiny"):
        path, class_names = _demo_source(data, text_source, labels, asr_wer, progress)
    elif data == "prosem":
        path, class_names = _prosem_source(data_dir, x_fem, x_mal, labels)
    elif data in ("kemdy20", "seed001"):
        path, class_names = _cached_corpus_source(data, data_dir, labels, trust_pickle)
    else:
        path, class_names = _csv_source(data, labels)
    manifest = read_manifest(path, labels=class_names, skip_bad=skip_bad, text_column=text_column)
    if class_names is None:
        class_names = known_label_order(manifest.labels)
    return manifest, class_names


def _demo_source(data, text_source, labels, asr_wer, progress):
    """`(manifest_path, class_names)` of `--data demo|demo-tiny`, rendering the corpus on first use."""
    from coaudiotext.data import demo

    path = demo.demo_manifest(size="default" if data == "demo" else "tiny", progress=progress)
    if text_source == "asr":
        from coaudiotext.data.asr_sim import add_simulated_asr

        path = add_simulated_asr(path, asr_wer)
    return path, list(labels or DEMO_LABELS)


def _prosem_source(data_dir, x_fem, x_mal, labels):
    """`(manifest_path, class_names)` of `--data prosem`: the manifest written under the cache."""
    from coaudiotext.data import prosem

    if not (data_dir and x_fem and x_mal):
        raise ValueError(
            "--data prosem needs --data-dir (with spec_final.txt, FEMALE/, MALE/) and the tutorial's "
            "permutation files --x-fem x_fem.npy --x-mal x_mal.npy (from github.com/warnikchow/coaudiotext, text/)."
        )
    from coaudiotext.data.pipeline import cache_dir

    key = "|".join([str(pathlib.Path(data_dir).resolve()), str(x_fem), str(x_mal)])
    path = cache_dir("manifests") / f"prosem-{hashlib.sha1(key.encode()).hexdigest()[:12]}.csv"
    prosem.write_prosem_manifest(data_dir, path, x_fem=x_fem, x_mal=x_mal)
    return path, list(labels or PROSEM_LABELS)


def _cached_corpus_source(data, data_dir, labels, trust_pickle):
    """`(manifest_path, class_names)` of `--data kemdy20|seed001`, the manifest cached per corpus folder."""
    from coaudiotext.data.pipeline import cache_dir

    if not data_dir:
        raise ValueError(f"--data {data} needs --data-dir (see README: real corpora).")
    key = hashlib.sha1(str(pathlib.Path(data_dir).resolve()).encode()).hexdigest()[:12]
    folder = cache_dir("manifests", f"{data}-{key}")
    path = folder / "manifest.csv"
    if data == "kemdy20":
        return path, _write_kemdy20(data_dir, path, labels)
    from coaudiotext.data import pkl_corpus

    if not path.exists():
        pkl_corpus.write_pkl_manifest(data_dir, path, trust_pickle=trust_pickle)
    return path, list(labels or pkl_corpus.SEED001_LABELS)


def _write_kemdy20(data_dir, path, labels):
    """Writes the KEMDy20 manifest of the sessions found under `data_dir` to `path`; returns the class names."""
    from coaudiotext.data import kemdy20

    sessions = sorted(int(m.group(1)) for f in (pathlib.Path(data_dir) / "annotation").glob("Sess*_eval.csv")
                      if (m := re.match(r"Sess(\d+)_eval\.csv$", f.name)))
    if not sessions:
        raise FileNotFoundError(f"No annotation/SessNN_eval.csv under {data_dir}: pass the KEMDy20_v1_1 folder.")
    if len(sessions) < 40:
        print(f"[coaudiotext] KEMDy20: {len(sessions)} of 40 sessions found under {data_dir}; using those.")
    kemdy20.write_kemdy20_manifest(data_dir, path, eval_split="test", sessions=sessions)
    return list(labels or kemdy20.KEMDY20_LABELS)


def _csv_source(data, labels):
    """`(manifest_path, class_names)` of a manifest CSV (or a folder holding `manifest.csv`); names None = inferred."""
    path = pathlib.Path(data)
    if path.is_dir():
        path = path / "manifest.csv"
    return path, (list(labels) if labels else None)
