"""The preprocessed IEMOCAP folds of SelfCrossAttn (seed 003, `smartcameras/SelfCrossAttn`).

The data are David Yoon's AMH preprocessing (`david-yoon/attentive-modality-hopping-for-SER`,
`seven_category_120`), which is not shipped (it needs the IEMOCAP licence). Layout, as the two
repositories use it (AMH `project_config.py`, `train_reference_script.sh --data_path
'../data/target_seven_120/fold01/'`; SelfCrossAttn `multi_run.sh` l.9-71, `README.md`):

    folds/
      fold01/ ... fold05/
        {train,dev,test}_audio_mfcc.npy     (N, 1000, 120)  MFCC features, zero-padded
        {train,dev,test}_audio_seqN.npy     (N,)            valid MFCC frames (unused by the model)
        {train,dev,test}_audio_prosody.npy  (N, 35)         required by the original, unused; optional here
        {train,dev,test}_video.npy          (N, 32, 2048)   ResNet-101 frame features
        {train,dev,test}_video_seqN.npy     (N,)            valid video frames
        {train,dev,test}_label.npy          (N,)            class index 0..6
        {train,dev,test}_nlp_trans.npy      (N, 128)        token ids, 0 = `_PAD_`
        W_embedding.npy                     (V, 300)        GloVe matrix, row i = token id i
        dic.pkl                             (never read here: a pickle)

`W_embedding.npy` is looked up in the fold folder (where AMH reads it: `data_path + GLOVE`) and
then in the parent folder. If a split has no `_nlp_trans.npy` but has the `_text.npy` that
`pre_process_text_data.py` writes (and `data_utils.py` l.8/25/42 actually loads), that file is used.

What the original computes, reproduced here (line numbers are those of the repository files):

- **Text** (`pre_process_text_data.py` l.4-11): `text[i] = W_embedding[nlp_trans[i]]`, a plain row
  gather (`torch.index_select`), so id 0 gives row 0 (the `_PAD_` row, zeros in Yoon's GloVe
  preparation) and nothing is masked. The ids pass through float32 (`torch.Tensor`, l.5) and
  `.int()` (l.11); that is exact for the integral ids below 2**24 accepted here. The script itself
  hard-codes the test split (l.5, l.13) and relative paths (run inside a fold folder).
- **Video drop** (`data_utils.py` l.15-23 train, l.32-40 dev, l.49-57 test): rows whose
  `video_seqN == 0` are deleted from every array of the split, **but** the guard is
  `if np.where(vid_seqN == 0)[0].any():`, the truthiness of the *indices* of the zero rows, not
  whether there are any. Consequences (the index-0 bug):
    * the only zero-length row is row 0: the indices are `[0]`, `.any()` is False, **nothing is
      dropped** and row 0 (an empty video) stays in the split;
    * row 0 and at least one other row are zero-length: all of them are dropped, row 0 included
      (the deletion itself uses every index);
    * no row 0 involvement: the drop works as intended.
  `fix_video_drop=True` drops every zero-length row (`size > 0` instead of `.any()`).
  Dev/test delete `vid_seqN` and `labels` without `axis=0` (l.34, 40, 51, 57): identical for the
  1-D arrays required here (a 2-D label file would have been garbled; it is refused).
- **MFCC "standardisation"** (`main_tva_1.py` l.107-137): a `StandardScaler` is fit on the
  train MFCC after the drop, flattened to (N, T*D) (one mean/std per frame x coefficient
  position, population std, `scale_ = 1` where the std is exactly 0, as in the pinned
  scikit-learn 0.23.2), and `transform` is called on train, dev and test, **but its return value
  is discarded** (l.114, 125, 136), so the model sees unscaled MFCC. Default: no scaling;
  `scale_mfcc=True` applies the train statistics to all three splits, as the scaler would have.
- **Dtypes** (`main_tva_1.py` l.116-141): every input becomes float32 (`torch.Tensor(...).float()`),
  labels int64 (`.long()`). The model then casts inputs to float64 (`train_tva_1.py`).
- **Classes**: 7 (`--output_dim 7`, main l.94; AMH `N_CATEGORY = 7`). The index -> name order is
  not published; `IEMOCAP7_CLASS_NAMES` follows the order of AMH's README class table
  (angry 1,103, excited 1,041, happy 595, sad 1,084, frustrated 1,849, surprise 107,
  neutral 1,708) **[inferred]**.
- **Splits**: `train`, `val` (the `dev_*` files, used for model selection) and `test`.

Only numpy and the standard library are imported. Every `.npy` is read with `allow_pickle=False`
after its header was checked; object (pickled) arrays are refused with a ValueError.

Example:

>>> folds = write_synthetic_folds("/tmp/iemocap_folds")                 # doctest: +SKIP
>>> data = load_fold("/tmp/iemocap_folds", 1)                           # doctest: +SKIP
>>> data["train"]["glove"].shape, data["class_names"]                   # doctest: +SKIP

Command line: `python -m coaudiotext.data.iemocap_folds DIR --fold 1 --summary`.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

__all__ = [
    "IEMOCAP7_CLASS_NAMES",
    "N_CLASSES",
    "SPLITS",
    "ORIGINAL_SHAPES",
    "fold_path",
    "video_drop_indices",
    "fit_mfcc_scaler",
    "apply_mfcc_scaler",
    "gather_text",
    "load_fold",
    "summarize_fold",
    "check_original_shapes",
    "write_synthetic_folds",
    "main",
]

IEMOCAP7_CLASS_NAMES = ("angry", "excited", "happy", "sad", "frustrated", "surprise", "neutral")
N_CLASSES = 7
# (name returned, file prefix of the original)
SPLITS = (("train", "train"), ("val", "dev"), ("test", "test"))
# What the original model hard-codes (models.py, main_tva_1.py l.147-149); the loader itself only
# checks consistency. `check_original_shapes` checks these.
ORIGINAL_SHAPES = {"glove": (128, 300), "video": (32, 2048), "mfcc120": (1000, 120)}
GLOVE_FILE = "W_embedding.npy"
REQUIRED_STEMS = ("audio_mfcc", "audio_seqN", "video", "video_seqN", "label")
OPTIONAL_STEMS = ("audio_prosody",)

_SMALL_DIMS = dict(mfcc_frames=20, mfcc_dim=12, video_frames=4, video_dim=16, text_len=12, emb_dim=8,
                   vocab_size=50, prosody_dim=5)
_FULL_DIMS = dict(mfcc_frames=1000, mfcc_dim=120, video_frames=32, video_dim=2048, text_len=128, emb_dim=300,
                  vocab_size=3747, prosody_dim=35)


# ----------------------------------------------------------------------------------------- files
def fold_path(folder, fold):
    """The folder of one fold.

    Args:
        folder: str or path. The `folds/` folder holding `fold01/` ... `fold05/`.
        fold: int, str or None. `1` -> `fold01` (the original's names); a str is a sub-folder name
            (`"fold03"`, or digits); None means `folder` is the fold folder itself.

    Returns:
        pathlib.Path of an existing folder.
    """
    folder = pathlib.Path(folder)
    if fold is None:
        path = folder
    elif isinstance(fold, (int, np.integer)) or (isinstance(fold, str) and fold.isdigit()):
        path = folder / f"fold{int(fold):02d}"
    else:
        path = folder / str(fold)
    if not path.is_dir():
        found = sorted(p.name for p in folder.glob("fold*") if p.is_dir()) if folder.is_dir() else []
        raise FileNotFoundError(
            f"IEMOCAP fold folder {path} not found. Expected DIR/fold01 ... DIR/fold05 (the AMH "
            f"'seven_category_120/folds' layout); sub-folders found in {folder}: {found or 'none'}. "
            "Pass the folds/ folder and fold=1..5, or fold=None with the fold folder itself."
        )
    return path


def _npy_header(path):
    """(shape, dtype) of a .npy file from its header alone; refuses pickles and object arrays."""
    path = pathlib.Path(path)
    with open(path, "rb") as handle:
        start = handle.read(6)
        handle.seek(0)
        if start[:1] == b"\x80":
            raise ValueError(
                f"{path} is a Python pickle, not a .npy array: refused, because unpickling can run "
                "arbitrary code. Re-save the data as a plain numeric array (np.save(path, arr)) "
                "in an environment you trust."
            )
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            else:  # version 3.0 (utf-8 field names): numpy's private reader, location varies by release
                reader = getattr(np.lib.format, "_read_array_header", None)
                if reader is None:
                    from numpy.lib import _format_impl

                    reader = _format_impl._read_array_header
                shape, fortran, dtype = reader(handle, version)
        except ValueError as exc:
            raise ValueError(f"{path} is not a readable .npy file ({exc}). Re-create it with np.save.") from exc
    if dtype.hasobject:
        raise ValueError(
            f"{path} holds an object array (dtype={dtype}), stored as a pickle: refused, because "
            "loading it would unpickle, which can run arbitrary code. Re-save it as a numeric array "
            "(e.g. np.save(path, np.asarray(arr, dtype=np.float32))) in an environment you trust."
        )
    return tuple(int(s) for s in shape), dtype


def _load(path, mmap=False):
    _npy_header(path)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as exc:  # pragma: no cover - the header check catches these first
        raise ValueError(f"{path}: refused or unreadable with allow_pickle=False ({exc}).") from exc


def _split_files(fold_dir, prefix):
    files = {stem: fold_dir / f"{prefix}_{stem}.npy" for stem in REQUIRED_STEMS}
    for stem in OPTIONAL_STEMS:
        if (fold_dir / f"{prefix}_{stem}.npy").is_file():
            files[stem] = fold_dir / f"{prefix}_{stem}.npy"
    trans = fold_dir / f"{prefix}_nlp_trans.npy"
    text = fold_dir / f"{prefix}_text.npy"
    if trans.is_file():
        files["nlp_trans"] = trans
        glove = _glove_path(fold_dir)
        files["W_embedding"] = glove if glove is not None else fold_dir / GLOVE_FILE
    elif text.is_file():
        files["text"] = text
    else:
        files["nlp_trans"] = trans
    return files


def _glove_path(fold_dir):
    for candidate in (fold_dir / GLOVE_FILE, fold_dir.parent / GLOVE_FILE):
        if candidate.is_file():
            return candidate
    return None


def _expected_listing(fold_dir):
    names = [f"{p}_{s}.npy" for _, p in SPLITS for s in REQUIRED_STEMS + ("nlp_trans",)]
    return (
        f"Expected in {fold_dir}: {', '.join(names)} and {GLOVE_FILE} (in the fold folder or its parent); "
        f"optional: {{train,dev,test}}_audio_prosody.npy; {{split}}_text.npy (pre_process_text_data.py's "
        "output) may replace {split}_nlp_trans.npy + W_embedding.npy."
    )


def _inspect(fold_dir):
    """Paths and header shapes of every file of the fold, validated; no array data is read."""
    files = {prefix: _split_files(fold_dir, prefix) for _, prefix in SPLITS}
    missing = sorted({str(p) for split in files.values() for p in split.values() if not p.is_file()})
    if missing:
        raise FileNotFoundError(f"IEMOCAP fold files missing: {missing}. {_expected_listing(fold_dir)}")
    shapes = {prefix: {stem: _npy_header(p) for stem, p in split.items()} for prefix, split in files.items()}
    ndims = {"audio_mfcc": (3, "(N, T, D)"), "video": (3, "(N, F, D)"), "nlp_trans": (2, "(N, L)"),
             "text": (3, "(N, L, E)"), "W_embedding": (2, "(V, E)"), "audio_seqN": (1, "(N,)"),
             "video_seqN": (1, "(N,)"), "label": (1, "(N,)"), "audio_prosody": (2, "(N, P)")}
    for _, prefix in SPLITS:  # layouts first, so that N is known to be meaningful
        for stem, (shape, dtype) in shapes[prefix].items():
            want_ndim, layout = ndims[stem]
            if len(shape) != want_ndim:
                raise ValueError(f"{files[prefix][stem]}: expected a {want_ndim}-D array {layout}, found shape "
                                 f"{shape}. Re-export it with that layout.")
            if dtype.kind not in "biuf":
                raise ValueError(f"{files[prefix][stem]}: expected a numeric array, found dtype {dtype}.")
    reference = {}
    for _, prefix in SPLITS:
        n = shapes[prefix]["label"][0][0]
        for stem, (shape, _) in shapes[prefix].items():
            path = files[prefix][stem]
            if stem == "W_embedding":
                continue
            if shape[0] != n:
                raise ValueError(
                    f"{path}: expected {n} rows (N of {files[prefix]['label'].name}), found shape {shape}. "
                    "All files of a split must hold the same utterances in the same order."
                )
            if len(shape) > 1:
                ref = reference.setdefault(stem, (shape[1:], path))
                if shape[1:] != ref[0]:
                    raise ValueError(
                        f"{path}: expected shape (N, {', '.join(map(str, ref[0]))}) as in {ref[1].name}, "
                        f"found {shape}. All splits of a fold must share the per-sample shape."
                    )
    glove_dims = {shapes[p]["W_embedding"][0][1] for _, p in SPLITS if "W_embedding" in shapes[p]}
    if "text" in reference:
        glove_dims.add(reference["text"][0][1])
    if len(glove_dims) > 1:
        raise ValueError(
            f"{fold_dir}: embedding sizes disagree between {GLOVE_FILE} and the _text.npy files: {sorted(glove_dims)}. "
            "Use one source (delete the stale _text.npy files or re-run the gather)."
        )
    if "text" in reference and "nlp_trans" in reference and reference["text"][0][0] != reference["nlp_trans"][0][0]:
        raise ValueError(f"{reference['text'][1]}: text length {reference['text'][0][0]} differs from "
                         f"{reference['nlp_trans'][1].name} ({reference['nlp_trans'][0][0]}).")
    return files, shapes


# ------------------------------------------------------------------------------- the computation
def video_drop_indices(video_seqN, fix_video_drop=False):
    """Row indices the video drop deletes.

    Args:
        video_seqN: 1-D array. Valid video frames per row.
        fix_video_drop: bool. False reproduces `data_utils.py` l.15/32/49,
            `if np.where(vid_seqN == 0)[0].any():`, which drops nothing when row 0 is the only
            zero-length row; True drops every zero-length row.

    Returns:
        int64 array of sorted row indices.

    Example:

    >>> video_drop_indices([0, 3, 2]), video_drop_indices([0, 3, 2], fix_video_drop=True)
    (array([], dtype=int64), array([0]))
    >>> video_drop_indices([0, 3, 0])
    array([0, 2])
    """
    zero = np.flatnonzero(np.asarray(video_seqN) == 0).astype(np.int64)
    if fix_video_drop or zero.any():
        return zero
    return zero[:0]


def _float_work_dtype(dtype):
    # sklearn's check_array(dtype=FLOAT_DTYPES) keeps float64/32/16 and turns the rest into float64.
    return np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float64)


def fit_mfcc_scaler(mfcc, chunk=256):
    """`StandardScaler().fit(mfcc.reshape(N, -1))` of the original (main l.110-113), in numpy.

    Args:
        mfcc: (N, T, D) array. The train MFCC after the video drop.
        chunk: int. Rows per accumulation step (bounds memory).

    Returns:
        (mean, scale): float64 arrays of shape (T*D,); population std with 0 replaced by 1
        (scikit-learn 0.23.2, the version SelfCrossAttn pins).
    """
    n = int(mfcc.shape[0])
    if n == 0:
        raise ValueError("fit_mfcc_scaler: the train split has no rows left after the video drop.")
    features = int(np.prod(mfcc.shape[1:]))
    total = np.zeros(features, np.float64)
    for i in range(0, n, chunk):
        total += np.asarray(mfcc[i:i + chunk]).reshape(-1, features).sum(axis=0, dtype=np.float64)
    mean = total / n
    squares = np.zeros(features, np.float64)
    for i in range(0, n, chunk):
        deviation = np.asarray(mfcc[i:i + chunk]).reshape(-1, features).astype(np.float64) - mean
        squares += np.einsum("ij,ij->j", deviation, deviation)
    if not (np.isfinite(mean).all() and np.isfinite(squares).all()):
        raise ValueError("fit_mfcc_scaler: the train MFCC holds NaN or inf; clean the *_audio_mfcc.npy files first.")
    scale = np.sqrt(squares / n)
    scale[scale == 0.0] = 1.0
    return mean, scale


def apply_mfcc_scaler(mfcc, mean, scale, chunk=256):
    """`scaler.transform` (in place on a copy, in the array's float dtype) then float32, as the original would.

    scikit-learn 0.23.2 (the original's) computes `X -= mean_; X /= scale_` with the float64
    statistics, so a float32 X is rounded to float32 after each step; releases with array-API
    support cast the statistics to float32 first, which can differ by one float32 ulp.

    Args:
        mfcc: (N, T, D) array (any float or int dtype).
        mean, scale: from `fit_mfcc_scaler`.

    Returns:
        float32 array of mfcc's shape.
    """
    work = _float_work_dtype(mfcc.dtype)
    out = np.empty(mfcc.shape, np.float32)
    flat = out.reshape(out.shape[0], -1)
    for i in range(0, mfcc.shape[0], chunk):
        rows = np.asarray(mfcc[i:i + chunk]).reshape(-1, flat.shape[1]).astype(work)
        rows -= mean
        rows /= scale
        flat[i:i + chunk] = rows
    return out


def gather_text(ids, embedding, ids_name="nlp_trans", embedding_name=GLOVE_FILE):
    """`text[i] = W_embedding[ids[i]]` as `pre_process_text_data.py` l.9-11 does.

    Args:
        ids: (N, L) token ids (integers, or floats holding integers). 0 is `_PAD_` (row 0).
        embedding: (V, E) matrix.
        ids_name, embedding_name: str. Names used in error messages.

    Returns:
        float32 array (N, L, E).
    """
    ids = np.asarray(ids)
    if ids.dtype.kind == "f":
        if not np.isfinite(ids).all() or (ids != np.trunc(ids)).any():
            raise ValueError(f"{ids_name}: token ids must be whole numbers; found non-integral values. "
                             "Re-export the ids as an integer array.")
    elif ids.dtype.kind not in "biu":
        raise ValueError(f"{ids_name}: expected integer token ids, found dtype {ids.dtype}.")
    if ids.size and (ids.min() < 0 or ids.max() >= min(embedding.shape[0], 2 ** 24)):
        raise ValueError(
            f"{ids_name}: token ids must lie in [0, {embedding.shape[0]}) (rows of {embedding_name}); found "
            f"min {ids.min()}, max {ids.max()}. Use the {embedding_name} of the same fold/dictionary."
        )
    table = np.asarray(embedding, dtype=np.float32)  # torch.Tensor(np.load(...)) is float32
    return table[ids.astype(np.int64)]


def _labels(array, path):
    array = np.asarray(array)
    if array.dtype.kind == "f" and (not np.isfinite(array).all() or (array != np.trunc(array)).any()):
        raise ValueError(f"{path}: labels must be class indices 0..{N_CLASSES - 1}; found non-integral values.")
    labels = array.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise ValueError(
            f"{path}: labels must be class indices in [0, {N_CLASSES}) (7 IEMOCAP classes); found min "
            f"{labels.min()}, max {labels.max()}. One-hot or string labels are not the AMH format."
        )
    return labels


# ---------------------------------------------------------------------------------------- loaders
def load_fold(folder, fold, fix_video_drop=False, scale_mfcc=False):
    """Loads one fold as the original's `get_text_video_audio_data` + `main_tva_1.py` do.

    Args:
        folder: str or path. The `folds/` folder (or the fold folder itself with fold=None).
        fold: int, str or None. 1..5 -> `fold01`..`fold05` (see `fold_path`).
        fix_video_drop: bool. False (default) keeps the original's index-0 bug of the
            `video_seqN == 0` drop (see the module docstring); True drops every zero-length row.
        scale_mfcc: bool. False (default) reproduces the discarded StandardScaler (no scaling);
            True applies the train statistics (per flattened frame x coefficient) to all splits.

    Returns:
        dict with
        - `"train"`, `"val"`, `"test"`: dicts of numpy arrays, rows in file order minus the dropped ones:
          `glove` (N, L, E) float32 (L=128, E=300 in the original), `video` (N, F, Dv) float32,
          `mfcc120` (N, T, D) float32, `labels` (N,) int64, `video_seqN`, `audio_seqN` (N,) int64,
          `index` (N,) int64 (row in the original file) and `prosody` (N, P) float32 when the file exists;
        - `"class_names"`: tuple of 7 str (`IEMOCAP7_CLASS_NAMES`, order [inferred]);
        - `"info"`: dict: `fold_dir`, `text_source`, `fix_video_drop`, `scale_mfcc`,
          `dropped` (split -> original row indices removed), `zero_video_rows` (split -> all rows with
          video_seqN == 0), `mfcc_scaler` ((mean, scale) or None).
    """
    fold_dir = fold_path(folder, fold)
    files, shapes = _inspect(fold_dir)
    info = {"fold_dir": str(fold_dir), "fix_video_drop": bool(fix_video_drop), "scale_mfcc": bool(scale_mfcc),
            "dropped": {}, "zero_video_rows": {}, "mfcc_scaler": None,
            "text_source": "nlp_trans+W_embedding" if "nlp_trans" in files["train"] else "text"}
    glove_cache = {}
    raw_mfcc = {}
    out = {}
    for name, prefix in SPLITS:
        paths = files[prefix]
        video_seqN = np.asarray(_load(paths["video_seqN"]))
        labels = _labels(_load(paths["label"]), paths["label"])
        drop = video_drop_indices(video_seqN, fix_video_drop)
        keep = np.setdiff1d(np.arange(len(labels), dtype=np.int64), drop)
        info["dropped"][name] = drop
        info["zero_video_rows"][name] = np.flatnonzero(video_seqN == 0).astype(np.int64)
        split = {}
        if "nlp_trans" in paths:
            glove_file = paths["W_embedding"]
            if glove_file not in glove_cache:
                glove_cache[glove_file] = _load(glove_file)
            ids = np.asarray(_load(paths["nlp_trans"], mmap=True)[keep])
            split["glove"] = gather_text(ids, glove_cache[glove_file], paths["nlp_trans"], glove_file)
        else:
            split["glove"] = np.ascontiguousarray(_load(paths["text"], mmap=True)[keep], dtype=np.float32)
        split["video"] = np.ascontiguousarray(_load(paths["video"], mmap=True)[keep], dtype=np.float32)
        raw_mfcc[name] = np.asarray(_load(paths["audio_mfcc"], mmap=True)[keep])
        split["labels"] = labels[keep]
        split["video_seqN"] = video_seqN[keep].astype(np.int64)
        split["audio_seqN"] = np.asarray(_load(paths["audio_seqN"]))[keep].astype(np.int64)
        if "audio_prosody" in paths:
            split["prosody"] = np.ascontiguousarray(_load(paths["audio_prosody"])[keep], dtype=np.float32)
        split["index"] = keep
        out[name] = split
    if scale_mfcc:
        mean, scale = fit_mfcc_scaler(raw_mfcc["train"])
        info["mfcc_scaler"] = (mean, scale)
        for name, _ in SPLITS:
            out[name]["mfcc120"] = apply_mfcc_scaler(raw_mfcc[name], mean, scale)
    else:
        for name, _ in SPLITS:
            out[name]["mfcc120"] = np.ascontiguousarray(raw_mfcc[name], dtype=np.float32)
    raw_mfcc.clear()
    out["class_names"] = IEMOCAP7_CLASS_NAMES
    out["info"] = info
    return out


def summarize_fold(folder, fold, fix_video_drop=False):
    """Split sizes, video-drop counts and class counts, reading only headers, seqN and labels.

    Returns:
        dict: `fold_dir`, `text_source`, `shapes` (split -> stem -> shape), and `splits`
        (name -> dict `file_prefix`, `rows`, `dropped` (this rule), `dropped_original`,
        `dropped_fixed`, `kept`, `class_counts` (list of 7, kept rows)).
    """
    fold_dir = fold_path(folder, fold)
    files, shapes = _inspect(fold_dir)
    result = {"fold_dir": str(fold_dir), "fix_video_drop": bool(fix_video_drop),
              "text_source": "nlp_trans+W_embedding" if "nlp_trans" in files["train"] else "text",
              "shapes": {name: {stem: shapes[prefix][stem][0] for stem in shapes[prefix]} for name, prefix in SPLITS},
              "splits": {}}
    for name, prefix in SPLITS:
        video_seqN = np.asarray(_load(files[prefix]["video_seqN"]))
        labels = _labels(_load(files[prefix]["label"]), files[prefix]["label"])
        original = video_drop_indices(video_seqN, False)
        fixed = video_drop_indices(video_seqN, True)
        drop = fixed if fix_video_drop else original
        keep = np.setdiff1d(np.arange(len(labels)), drop)
        result["splits"][name] = {
            "file_prefix": prefix, "rows": int(len(labels)), "dropped": int(len(drop)),
            "dropped_original": int(len(original)), "dropped_fixed": int(len(fixed)), "kept": int(len(keep)),
            "class_counts": np.bincount(labels[keep], minlength=N_CLASSES).tolist(),
        }
    return result


def check_original_shapes(data):
    """Raises ValueError unless every split has the per-sample shapes the original model hard-codes.

    Args:
        data: the dict `load_fold` returns.
    """
    for name, _ in SPLITS:
        for key, want in ORIGINAL_SHAPES.items():
            found = tuple(data[name][key].shape[1:])
            if found != want:
                raise ValueError(
                    f"{data['info']['fold_dir']} split {name!r}: {key} has per-sample shape {found}; the original "
                    f"model expects {want} (video conv 32 frames, audio conv 1000 frames, GloVe 300, ResNet 2048)."
                )


# ------------------------------------------------------------------------------------ synthetic
def write_synthetic_folds(folder, n_folds=2, n_per_split=4, seed=0, small=True, *, mfcc_frames=None,
                          mfcc_dim=None, video_frames=None, video_dim=None, text_len=None, emb_dim=None,
                          vocab_size=None, prosody_dim=None, zero_video_rows=None, write_text=False):
    """Writes random folds in the original layout (for tests and tutorials).

    Args:
        folder: str or path. Created if needed; gets `fold01/` ... `fold{n_folds:02d}/`.
        n_folds: int. Number of folds.
        n_per_split: int. Rows in each of train/dev/test.
        seed: int. Random seed (fold k uses seed + k).
        small: bool. Tiny dimensions (MFCC 20x12, video 4x16, text 12 tokens of 8-d GloVe, 50 words)
            instead of the original's (1000x120, 32x2048, 128x300, 3,747 words).
        mfcc_frames, mfcc_dim, video_frames, video_dim, text_len, emb_dim, vocab_size, prosody_dim:
            int or None. Override single dimensions.
        zero_video_rows: dict or None. File prefix (`train`/`dev`/`test`) -> rows whose
            video_seqN is 0 (and video all zeros). Default: train rows 0 and N-1 (dropped by both
            rules), dev row 0 alone (kept by the original's index-0 bug, dropped by the fix), none in test.
        write_text: bool. Also write `{split}_text.npy` (the gathered text, as
            `pre_process_text_data.py` would).

    Returns:
        list of pathlib.Path, the fold folders.
    """
    dims = dict(_SMALL_DIMS if small else _FULL_DIMS)
    for key, value in dict(mfcc_frames=mfcc_frames, mfcc_dim=mfcc_dim, video_frames=video_frames,
                           video_dim=video_dim, text_len=text_len, emb_dim=emb_dim, vocab_size=vocab_size,
                           prosody_dim=prosody_dim).items():
        if value is not None:
            dims[key] = int(value)
    n = int(n_per_split)
    if n < 1 or dims["vocab_size"] < 2:
        raise ValueError("write_synthetic_folds: n_per_split must be >= 1 and vocab_size >= 2.")
    if zero_video_rows is None:
        zero_video_rows = {"train": sorted({0, n - 1}) if n >= 2 else [], "dev": [0], "test": []}
    zero_video_rows = {("dev" if key == "val" else key): list(rows) for key, rows in zero_video_rows.items()}
    folder = pathlib.Path(folder)
    paths = []
    for k in range(1, int(n_folds) + 1):
        rng = np.random.default_rng(int(seed) + k)
        fold_dir = folder / f"fold{k:02d}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        glove = rng.normal(0.0, 0.3, (dims["vocab_size"], dims["emb_dim"])).astype(np.float32)
        glove[0] = 0.0  # `_PAD_` row, zeros as in Yoon's GloVe preparation
        np.save(fold_dir / GLOVE_FILE, glove, allow_pickle=False)
        for _, prefix in SPLITS:
            audio_seqN = rng.integers(1, dims["mfcc_frames"] + 1, n)
            mfcc = rng.normal(0.0, 1.0, (n, dims["mfcc_frames"], dims["mfcc_dim"])).astype(np.float32)
            mfcc[np.arange(dims["mfcc_frames"])[None, :] >= audio_seqN[:, None]] = 0.0
            video_seqN = rng.integers(1, dims["video_frames"] + 1, n)
            for row in zero_video_rows.get(prefix, []):
                video_seqN[row] = 0
            video = np.abs(rng.normal(0.0, 1.0, (n, dims["video_frames"], dims["video_dim"]))).astype(np.float32)
            video[np.arange(dims["video_frames"])[None, :] >= video_seqN[:, None]] = 0.0
            text_seqN = rng.integers(1, dims["text_len"] + 1, n)
            trans = rng.integers(1, dims["vocab_size"], (n, dims["text_len"])).astype(np.int64)
            trans[np.arange(dims["text_len"])[None, :] >= text_seqN[:, None]] = 0
            arrays = {
                "audio_mfcc": mfcc, "audio_seqN": audio_seqN.astype(np.int64),
                "audio_prosody": rng.normal(0.0, 1.0, (n, dims["prosody_dim"])),
                "video": video, "video_seqN": video_seqN.astype(np.int64),
                "label": rng.integers(0, N_CLASSES, n).astype(np.int64), "nlp_trans": trans,
            }
            if write_text:
                arrays["text"] = glove[trans]
            for stem, array in arrays.items():
                np.save(fold_dir / f"{prefix}_{stem}.npy", array, allow_pickle=False)
        paths.append(fold_dir)
    return paths


# ------------------------------------------------------------------------------------------- CLI
def _format_summary(summary):
    lines = [f"{summary['fold_dir']}  (text: {summary['text_source']})",
             "video drop: " + ("fixed rule (every video_seqN == 0 row)" if summary["fix_video_drop"] else
                               "original rule, index-0 bug kept (--fix-video-drop drops every zero-length row)"),
             f"{'split':<6}{'file':<7}{'rows':>7}{'dropped':>9}{'kept':>7}   original/fixed rule would drop"]
    for name, s in summary["splits"].items():
        note = "  <- rules differ (index-0 bug)" if s["dropped_original"] != s["dropped_fixed"] else ""
        lines.append(f"{name:<6}{s['file_prefix']:<7}{s['rows']:>7}{s['dropped']:>9}{s['kept']:>7}   "
                     f"{s['dropped_original']}/{s['dropped_fixed']}{note}")
    width = max(len(c) for c in IEMOCAP7_CLASS_NAMES) + 1
    lines.append("class counts (kept rows):")
    lines.append(" " * 7 + "".join(f"{c:>{width}}" for c in IEMOCAP7_CLASS_NAMES))
    for name, s in summary["splits"].items():
        lines.append(f"{name:<7}" + "".join(f"{c:>{width}}" for c in s["class_counts"]))
    shapes = summary["shapes"]["train"]
    lines.append("train shapes: " + ", ".join(f"{stem} {shape}" for stem, shape in shapes.items()))
    return "\n".join(lines)


def main(argv=None):
    """Command line: summary (default) or full load of one fold; can first write synthetic folds.

    Returns:
        int: 0 on success, 1 on a data error (message on stderr).
    """
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.data.iemocap_folds",
        description="The preprocessed IEMOCAP folds of SelfCrossAttn (AMH 'seven_category_120' layout): "
                    "DIR/fold01 ... fold05 with {train,dev,test}_*.npy and W_embedding.npy.",
    )
    parser.add_argument("folder", metavar="DIR", help="the folds/ folder (holding fold01 ... fold05)")
    parser.add_argument("--fold", default="1", help="fold number 1..5 or sub-folder name (default 1)")
    parser.add_argument("--summary", action="store_true",
                        help="print split sizes, video-drop counts and class counts (the default action; "
                             "reads only headers, seqN and labels)")
    parser.add_argument("--load", action="store_true",
                        help="load the whole fold as load_fold does and print the array shapes")
    parser.add_argument("--fix-video-drop", action="store_true",
                        help="drop every video_seqN == 0 row (the original misses a lone row 0)")
    parser.add_argument("--scale-mfcc", action="store_true",
                        help="with --load: apply the train StandardScaler the original computes and discards")
    parser.add_argument("--write-synthetic", action="store_true",
                        help="first write random folds in the original layout into DIR")
    parser.add_argument("--n-folds", type=int, default=2, help="--write-synthetic: folds (default 2)")
    parser.add_argument("--n-per-split", type=int, default=4, help="--write-synthetic: rows per split (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="--write-synthetic: random seed (default 0)")
    parser.add_argument("--full-size", action="store_true",
                        help="--write-synthetic: the original's dimensions instead of tiny ones")
    args = parser.parse_args(argv)
    try:
        if args.write_synthetic:
            written = write_synthetic_folds(args.folder, args.n_folds, args.n_per_split, args.seed,
                                            small=not args.full_size)
            print(f"wrote {len(written)} synthetic fold(s) under {args.folder}")
        fold = args.fold
        if args.summary or not args.load:
            print(_format_summary(summarize_fold(args.folder, fold, args.fix_video_drop)))
        if args.load:
            data = load_fold(args.folder, fold, args.fix_video_drop, args.scale_mfcc)
            for name, _ in SPLITS:
                print(f"{name}: " + ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in data[name].items()))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
