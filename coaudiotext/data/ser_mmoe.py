"""SER-MMoE's real data: EmoDB and CaFE GE2E embeddings with the original's split files.

A folder `<root>/<corpus>/` (corpus `emodb` or `french`) holds `train.csv`, `val.csv`, `test.csv`
(no header; emodb rows `index,label,wav_path,gender`, french rows `index,label,wav_path`) and
`GE2E/<wav name>.npy` (256-d float32, L2-normalised utterance embeddings). Only the wav file's
name is used to find its embedding.

**The leaked first row.** The original's split writer (`training/utils.py`) read `total.csv` with
pandas, which made its first data row the header; the split files begin with that header line
(`,<label>,<path>`, empty index), and the original batchers read it back as a sample. So the same
utterance (EmoDB `16a02Ec`, CaFE `fr_08-D-2-6`) is the first row of train, val **and** test.
`first_row="test_only"` (default) keeps it in test (where the original evaluates on it) and drops
it from train and val; `"keep"` reads the files as the original batchers do (train/val/test
overlap by one utterance); `"drop"` removes it everywhere.

Class order: the original batchers' label maps (emodb `bored, fear, angry, happy, disgust, sad,
neutral`; french `C, D, J, N, P, S, T`).

Example:

>>> x, y, names, classes = load_split("data/ser_mmoe", "emodb", "train")  # doctest: +SKIP
>>> x.shape, classes[:3]                                                             # doctest: +SKIP
((373, 256), ['bored', 'fear', 'angry'])
"""

from __future__ import annotations

import pathlib

import numpy as np

from coaudiotext._checks import check_choice

__all__ = ["CORPORA", "SPLITS", "FIRST_ROW", "CLASSES", "LANGUAGE", "load_split", "leaked_row"]

CORPORA = ("emodb", "french")
SPLITS = ("train", "val", "test")
FIRST_ROW = ("test_only", "keep", "drop")
CLASSES = {
    "emodb": ["bored", "fear", "angry", "happy", "disgust", "sad", "neutral"],  # the ge batcher's cls_label_map
    "french": ["C", "D", "J", "N", "P", "S", "T"],  # batcher_french.py cls_label_map
}
"""Class names per corpus, in the original batchers' index order."""
LANGUAGE = {"emodb": "ge", "french": "fr"}
"""The SER-MMoE language (gate and tower) of each corpus."""
_FIELDS = {"emodb": 4, "french": 3}


def _rows(path, corpus):
    if not path.is_file():
        raise FileNotFoundError(f"Split file {path} not found (expected <root>/{corpus}/<split>.csv).")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.strip().split(",")
        if len(fields) != _FIELDS[corpus]:
            raise ValueError(
                f"{path}, row {number}: expected {_FIELDS[corpus]} comma-separated fields "
                f"({'index,label,wav_path,gender' if corpus == 'emodb' else 'index,label,wav_path'}); "
                f"received {len(fields)}: {line!r}"
            )
        rows.append((number, fields))
    if not rows:
        raise ValueError(f"{path} has no rows.")
    return rows


def leaked_row(root, corpus):
    """The wav name of the leaked first row (the same in the three split files), or None."""
    names = []
    for split in SPLITS:
        number, fields = _rows(pathlib.Path(root) / corpus / f"{split}.csv", corpus)[0]
        names.append(pathlib.PurePosixPath(fields[2]).stem if fields[0] == "" else None)
    return names[0] if names[0] is not None and len(set(names)) == 1 else None


def load_split(root, corpus, split, first_row="test_only"):
    """Loads one split: GE2E embeddings, label indices, utterance names and the class list.

    Args:
        root: str or Path. The folder holding `emodb/` and `french/`.
        corpus: str. `"emodb"` or `"french"`.
        split: str. `"train"`, `"val"` or `"test"`.
        first_row: str. What to do with the leaked first row (see the module docstring):
            `"test_only"`, `"keep"` or `"drop"`. Defaults to `"test_only"`.

    Returns:
        `(embeddings, labels, names, classes)`: float32 `(n, 256)`, int64 `(n,)`, list of wav names
        (without `.wav`), list of class names.

    Raises:
        FileNotFoundError: a split file or an embedding is missing (named with the CSV row).
        ValueError: a row has the wrong number of fields, an unknown label, or a bad embedding.
    """
    check_choice("corpus", corpus, CORPORA)
    check_choice("split", split, SPLITS)
    check_choice("first_row", first_row, FIRST_ROW)
    root = pathlib.Path(root)
    path = root / corpus / f"{split}.csv"
    rows = _rows(path, corpus)
    leaked = rows[0][1][0] == ""  # the header-turned-sample: no index
    if leaked and (first_row == "drop" or (first_row == "test_only" and split != "test")):
        rows = rows[1:]
    classes = CLASSES[corpus]
    index = {name: i for i, name in enumerate(classes)}
    embeddings, labels, names = [], [], []
    for number, fields in rows:
        label = fields[1]
        if label not in index:
            raise ValueError(f"{path}, row {number}: unknown label {label!r}; expected one of {classes}.")
        name = pathlib.PurePosixPath(fields[2]).stem
        npy = root / corpus / "GE2E" / f"{name}.npy"
        if not npy.is_file():
            raise FileNotFoundError(f"{path}, row {number}: the embedding {npy} of {fields[2]!r} is missing.")
        vector = np.load(npy)
        if vector.shape != (256,) or not np.all(np.isfinite(vector)):
            raise ValueError(
                f"{path}, row {number}: {npy} should hold 256 finite values; received shape {vector.shape}."
            )
        embeddings.append(vector.astype("float32"))
        labels.append(index[label])
        names.append(name)
    return np.stack(embeddings), np.array(labels, dtype=np.int64), names, list(classes)
