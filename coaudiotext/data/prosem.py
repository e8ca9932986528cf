"""ProSem, the Korean speech-intention corpus of the CoAudioText tutorial.

3,552 scripts, each read by one female and one male speaker (7,104 wav files).
Every script admits 2 to 4 intentions, told apart only by prosody, so text
alone reaches at most 36.4% accuracy (`text_only_ceiling`).

Files (never shipped with this package; MIT licence, (c) 2020 warnikchow):

- `spec_final.txt`: the scripts, 7 tab-separated columns (lemma, wh-word family
  id, script, label, English gloss, speech level, note), 3,552 rows, no
  trailing newline; row i is recorded as `FEMALE/{i}.wav` and `MALE/{i}.wav`.
  From `text/` of https://github.com/warnikchow/coaudiotext.
- `x_fem.npy`, `x_mal.npy`: the tutorial's two permutations of 0..3551 that
  define its train/test split. Same `text/` folder.
- `FEMALE/`, `MALE/`: the recordings, `ProSem_KOR_speech.zip` linked from
  https://github.com/warnikchow/prosem.

The split is the tutorial's, exactly: `fem = rows[x_fem]`, `mal = rows[x_mal]`,
train = `fem[:3196] + mal[:3196]` (6,392), test = `fem[3196:] + mal[3196:]`
(712), in that order. The tutorial validated on (almost exactly) this test set;
no held-out set remains, and 89% of the female test items (same script and
label) are in the male training set and vice versa.

Example:

>>> rows = load_prosem("ProSem_KOR_speech", x_fem="text/x_fem.npy",
...                    x_mal="text/x_mal.npy", script_file="text/spec_final.txt")  # doctest: +SKIP
>>> len(rows), rows[0]["split"], rows[0]["speaker"]                                 # doctest: +SKIP
(7104, 'train', 'FEMALE')
>>> round(text_only_ceiling(rows), 3)                                               # doctest: +SKIP
0.364
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib

import numpy as np

__all__ = [
    "PROSEM_LABELS",
    "PROSEM_COLUMNS",
    "PROSEM_SCRIPT_COLUMNS",
    "TRAIN_PER_GENDER",
    "ProSemError",
    "read_prosem_script",
    "load_prosem",
    "write_prosem_manifest",
    "text_only_ceiling",
]

from coaudiotext.data.manifest import PROSEM_LABELS  # noqa: E402  (one definition, shared with resolve_data)

PROSEM_SCRIPT_COLUMNS = ("lemma", "wh_family", "text", "label", "gloss", "speech_level", "note")
PROSEM_COLUMNS = ("audio_path", "text", "label", "speaker", "split", "id", "gender")
TRAIN_PER_GENDER = 3196

_TUTORIAL_REPO = "https://github.com/warnikchow/coaudiotext"
_SPEECH_REPO = "https://github.com/warnikchow/prosem"
_GENDERS = (("FEMALE", "F"), ("MALE", "M"))


class ProSemError(ValueError):
    """A ProSem file is missing or malformed; the message says which and what to do."""


def _candidates(data_dir, name):
    data_dir = pathlib.Path(data_dir)
    return [data_dir / name, data_dir / "text" / name, data_dir.parent / "text" / name]


def _find(given, data_dir, name, argument):
    """The file given as `argument`, or the first of the usual places for `name`."""
    if given is not None:
        path = pathlib.Path(given)
        if not path.is_file():
            raise ProSemError(
                f"{argument}: {name} not found at {path}. Take text/{name} from the tutorial repository "
                f"({_TUTORIAL_REPO}) and pass its path as {argument}=..."
            )
        return path
    tried = _candidates(data_dir, name)
    for path in tried:
        if path.is_file():
            return path
    raise ProSemError(
        f"{argument} was not given and {name} is in none of: {', '.join(str(p) for p in tried)}. "
        f"Take text/{name} from the tutorial repository ({_TUTORIAL_REPO}) and pass its path as {argument}=..."
    )


def read_prosem_script(path):
    """Reads `spec_final.txt` into one dict per row (keys `PROSEM_SCRIPT_COLUMNS`).

    The script (column 3) is kept exactly as written (3 rows end in a space;
    that space is a zero row of the text features, as in the tutorial).
    Malformed rows (not 7 columns, unknown label, empty script) are all
    reported in one `ProSemError` with their line numbers.

    Args:
        path: str or path. The `spec_final.txt` file.

    Returns:
        list of dict, in file order (row i belongs to `FEMALE/{i}.wav`, `MALE/{i}.wav`).
    """
    path = pathlib.Path(path)
    with open(path, encoding="utf-8") as handle:  # universal newlines: \r\n and \n
        content = handle.read()
    lines = content.split("\n")
    if lines and lines[-1] == "":  # tolerate a trailing newline (the original has none)
        lines.pop()
    rows, problems = [], []
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) != len(PROSEM_SCRIPT_COLUMNS):
            problems.append(f"line {number}: {len(fields)} tab-separated columns, expected {len(PROSEM_SCRIPT_COLUMNS)}")
            continue
        row = dict(zip(PROSEM_SCRIPT_COLUMNS, fields))
        if row["label"] not in PROSEM_LABELS:
            problems.append(f"line {number}: unknown label {row['label']!r}, expected one of {PROSEM_LABELS}")
        if not row["text"].strip():
            problems.append(f"line {number}: empty script (column 3)")
        rows.append(row)
    if problems:
        raise ProSemError(f"{path} has {len(problems)} bad rows:\n  " + "\n  ".join(problems))
    return rows


def _load_permutation(path, n_rows, argument):
    try:
        order = np.load(path, allow_pickle=False)
    except Exception as error:  # wrong format, truncated file, pickled object ...
        raise ProSemError(f"{argument}: cannot read {path} as a .npy integer array ({error}).") from error
    if order.shape != (n_rows,) or not np.issubdtype(order.dtype, np.integer):
        raise ProSemError(
            f"{argument}: {path} holds a {order.dtype} array of shape {order.shape}; expected integers of shape "
            f"({n_rows},), a permutation of the {n_rows} script rows."
        )
    if not np.array_equal(np.sort(order), np.arange(n_rows)):
        raise ProSemError(f"{argument}: {path} is not a permutation of 0..{n_rows - 1}.")
    return [int(i) for i in order]


def _audio_root(data_dir):
    """`data_dir` itself, or its `ProSem_KOR_speech/` subfolder (the unzipped download)."""
    data_dir = pathlib.Path(data_dir)
    if not any((data_dir / folder).is_dir() for folder, _ in _GENDERS):
        nested = data_dir / "ProSem_KOR_speech"
        if nested.is_dir():
            return nested
    return data_dir


def load_prosem(data_dir, x_fem=None, x_mal=None, script_file=None, check_audio=True, train_per_gender=TRAIN_PER_GENDER):
    """Loads ProSem as manifest rows, split exactly as the tutorial.

    Args:
        data_dir: str or path. Folder with `FEMALE/` and `MALE/` (or the folder
            holding the unzipped `ProSem_KOR_speech/`).
        x_fem: str or path or None. The tutorial's `x_fem.npy`. None looks for
            it in `data_dir`, `data_dir/text` and `data_dir/../text`.
        x_mal: str or path or None. The tutorial's `x_mal.npy`; found like `x_fem`.
        script_file: str or path or None. `spec_final.txt`; found like `x_fem`.
        check_audio: bool. Check that all 7,104 wav files exist and report every
            missing one in one error. Defaults to True.
        train_per_gender: int. Training rows taken from each permuted gender.
            Defaults to 3196 (the tutorial's).

    Returns:
        list of dict with keys `audio_path` (absolute), `text` (the script),
        `label` (a code of `PROSEM_LABELS`), `speaker` (`"FEMALE"` or `"MALE"`:
        one speaker each), `split` (`"train"` or `"test"`), `id` (`"FEMALE_731"`:
        folder and row number) and `gender` (`"F"` or `"M"`). Order: female
        train, male train, female test, male test (the tutorial's `total_*`).
    """
    data_dir = pathlib.Path(data_dir)
    script_path = _find(script_file, data_dir, "spec_final.txt", "script_file")
    fem_path = _find(x_fem, data_dir, "x_fem.npy", "x_fem")
    mal_path = _find(x_mal, data_dir, "x_mal.npy", "x_mal")
    script = read_prosem_script(script_path)
    n_rows = len(script)
    if not 0 < train_per_gender < n_rows:
        raise ValueError(f"Expected 0 < train_per_gender < {n_rows}. Received: train_per_gender={train_per_gender!r}")
    orders = {
        "FEMALE": _load_permutation(fem_path, n_rows, "x_fem"),
        "MALE": _load_permutation(mal_path, n_rows, "x_mal"),
    }
    root = _audio_root(data_dir).resolve()

    def rows_of(folder, gender, indices, split):
        return [
            {
                "audio_path": str(root / folder / f"{i}.wav"),
                "text": script[i]["text"],
                "label": script[i]["label"],
                "speaker": folder,
                "split": split,
                "id": f"{folder}_{i}",
                "gender": gender,
            }
            for i in indices
        ]

    rows = []
    for split, part in (("train", slice(None, train_per_gender)), ("test", slice(train_per_gender, None))):
        for folder, gender in _GENDERS:
            rows.extend(rows_of(folder, gender, orders[folder][part], split))

    if check_audio:
        missing = [row["audio_path"] for row in rows if not os.path.isfile(row["audio_path"])]
        if missing:
            shown = "\n  ".join(missing[:20]) + (f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else "")
            raise ProSemError(
                f"{len(missing)} of {len(rows)} ProSem wav files are missing under {root}:\n  {shown}\n"
                f"Download ProSem_KOR_speech.zip (linked from {_SPEECH_REPO}), unzip it and pass the folder "
                "holding FEMALE/ and MALE/ as data_dir (or check_audio=False for text-only use)."
            )
    return rows


def write_prosem_manifest(data_dir, out_csv, x_fem=None, x_mal=None, script_file=None, check_audio=True):
    """Writes ProSem as a manifest CSV (columns `PROSEM_COLUMNS`).

    Audio paths follow the manifest rule (`coaudiotext.data.manifest.write_manifest`):
    relative to the CSV's folder when the wav files lie under it, absolute
    otherwise. Arguments as in `load_prosem`.

    Args:
        data_dir: str or path. Folder with `FEMALE/` and `MALE/`.
        out_csv: str or path. The CSV to write (parent folders are created).
        x_fem, x_mal, script_file, check_audio: see `load_prosem`.

    Returns:
        pathlib.Path of the CSV.
    """
    from coaudiotext.data.manifest import write_manifest

    rows = load_prosem(data_dir, x_fem=x_fem, x_mal=x_mal, script_file=script_file, check_audio=check_audio)
    return pathlib.Path(write_manifest(rows, out_csv, columns=list(PROSEM_COLUMNS)))


def text_only_ceiling(rows):
    """Best accuracy of any text-only classifier: the majority label of each text.

    Every ProSem script carries 2 to 4 labels, so a model that sees only the
    text can at best predict each script's most frequent label: 36.4% on ProSem.

    Args:
        rows: iterable of dict with `text` and `label` (or a `Manifest`).

    Returns:
        float in [0, 1].
    """
    rows = getattr(rows, "rows", rows)
    by_text = collections.defaultdict(collections.Counter)
    total = 0
    for row in rows:
        by_text[row["text"]][row["label"]] += 1
        total += 1
    if not total:
        raise ValueError("text_only_ceiling needs at least one row.")
    return sum(max(counts.values()) for counts in by_text.values()) / total


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.data.prosem",
        description="Write the ProSem manifest CSV with the tutorial's train/test split.",
    )
    parser.add_argument("data_dir", help="folder with FEMALE/ and MALE/ (or ProSem_KOR_speech/)")
    parser.add_argument("--out", required=True, help="manifest CSV to write")
    parser.add_argument("--x-fem", help="the tutorial's text/x_fem.npy")
    parser.add_argument("--x-mal", help="the tutorial's text/x_mal.npy")
    parser.add_argument("--script-file", help="the tutorial's text/spec_final.txt")
    parser.add_argument("--no-check-audio", action="store_true", help="do not check that the wav files exist")
    args = parser.parse_args(argv)
    from coaudiotext.data.manifest import write_manifest

    rows = load_prosem(
        args.data_dir, x_fem=args.x_fem, x_mal=args.x_mal,
        script_file=args.script_file, check_audio=not args.no_check_audio,
    )
    path = write_manifest(rows, args.out, columns=list(PROSEM_COLUMNS))
    counts = collections.Counter(row["split"] for row in rows)
    print(f"wrote {path}: {counts['train']} train, {counts['test']} test; "
          f"text-only ceiling {text_only_ceiling(rows):.1%}")


if __name__ == "__main__":
    main()
