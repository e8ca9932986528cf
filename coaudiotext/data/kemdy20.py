"""KEMDy20 v1.1 (Korean emotional speech, ETRI) as used by RSA-CFN (seed 002).

The corpus is not shipped (it needs an ETRI licence). Layout:

    KEMDy20_v1_1/
      annotation/Sess01_eval.csv ... Sess40_eval.csv
      wav/Session01/Sess01_script01_User002M_001.wav | .txt   (text in cp949)

What `hyeonho1028/RSA-CFN` does (`src/data.py`, `main.py`), reproduced here:

- each `Sess{ss}_eval.csv`: first 7 columns renamed `Number, Wav_start, Wav_end,
  Segment ID, Emotion, Valence, Arousal`, row 0 (a second header row) dropped;
- the transcript is `pd.read_csv(txt, encoding="cp949").columns[0]`: the first line
  parsed as a CSV header, so **text after the first comma is lost** (faithful
  default; `full_text=True` reads the whole file instead);
- `'disqust'` is corrected to `'disgust'`; labels `neutral happy angry surprise sad
  fear disgust`; rows with several labels (`'a;b'`) are dropped;
- split: `train_test_split(test_size=0.2, stratify=Emotion, random_state=42)` over
  utterances (speakers are shared between the splits). There is no test set:
  the original selects the checkpoint on this 20% split and reports on it too.
- `label_transform` (every reported run but one): two-label rows with `neutral`
  as one label are relabelled to the other emotion and **appended to train only**.

Example:

>>> rows = kemdy20_rows("KEMDy20_v1_1", label_transform=True)        # doctest: +SKIP
>>> write_kemdy20_manifest("KEMDy20_v1_1", "kemdy20.csv")           # doctest: +SKIP
"""

from __future__ import annotations

import pathlib
import re

import numpy as np

__all__ = [
    "KEMDY20_LABELS",
    "read_annotations",
    "read_transcript",
    "transform_label",
    "kemdy20_rows",
    "write_kemdy20_manifest",
]

KEMDY20_LABELS = ("neutral", "happy", "angry", "surprise", "sad", "fear", "disgust")
ANNOTATION_COLUMNS = ("Number", "Wav_start", "Wav_end", "Segment ID", "Emotion", "Valence", "Arousal")
_SEGMENT = re.compile(r"^Sess(?P<session>\d{2})_(?P<script>[^_]+)_(?P<speaker>[^_]+?)(?P<gender>[MF])?_(?P<index>\d+)$")


def read_annotations(data_dir, sessions=range(1, 41)):
    """Reads the `annotation/Sess{ss}_eval.csv` files as the original does.

    Args:
        data_dir: str or path. The `KEMDy20_v1_1` folder.
        sessions: iterable of int. Sessions to read. Defaults to 1..40.

    Returns:
        list of dict with the keys of `ANNOTATION_COLUMNS` (strings; `Emotion` with
        `'disqust'` already corrected), in file order, plus `session` (`"01"`...).
    """
    import pandas as pd

    data_dir = pathlib.Path(data_dir)
    missing = [
        str(data_dir / "annotation" / f"Sess{int(s):02d}_eval.csv")
        for s in sessions
        if not (data_dir / "annotation" / f"Sess{int(s):02d}_eval.csv").is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"KEMDy20 annotation file(s) not found under {data_dir}: {missing}. Expected the KEMDy20_v1_1 "
            "folder with annotation/Sess01_eval.csv ... Sess40_eval.csv (or pass sessions=...)."
        )
    rows = []
    for s in sessions:
        session = f"{int(s):02d}"
        table = pd.read_csv(data_dir / "annotation" / f"Sess{session}_eval.csv", dtype=str, keep_default_na=False)
        if table.shape[1] < len(ANNOTATION_COLUMNS):
            raise ValueError(
                f"Sess{session}_eval.csv has {table.shape[1]} columns; expected at least 7 "
                f"({', '.join(ANNOTATION_COLUMNS)})."
            )
        table = table.iloc[:, : len(ANNOTATION_COLUMNS)]
        table.columns = list(ANNOTATION_COLUMNS)
        table = table.drop(0).reset_index(drop=True)  # the second header row
        for record in table.to_dict("records"):
            record = {key: str(value).strip() if key != "Emotion" else str(value) for key, value in record.items()}
            record["Emotion"] = record["Emotion"].replace("disqust", "disgust")
            record["session"] = session
            rows.append(record)
    return rows


def read_transcript(path, encoding="cp949", full_text=False):
    """Reads a KEMDy20 transcript.

    Args:
        path: str or path. The `.txt` file.
        encoding: str. File encoding. Defaults to `"cp949"` (the original's).
        full_text: bool. False reproduces the original, `pd.read_csv(path).columns[0]`:
            the first line read as a CSV header, so the text stops at the first comma
            (and an empty first field becomes `"Unnamed: 0"`). True returns the whole
            file, lines joined by spaces. Defaults to False.

    Returns:
        str.
    """
    if full_text:
        with open(path, encoding=encoding) as handle:
            return " ".join(line.strip() for line in handle if line.strip())
    import pandas as pd

    try:
        return str(pd.read_csv(path, encoding=encoding).columns[0])
    except pd.errors.EmptyDataError:
        return ""


def transform_label(emotion):
    """The original's `label_transform` of one `Emotion` string.

    Two labels separated by `;`, one of them `neutral`: returns the other one
    (`x.replace('neutral', '').replace(';', '')`). Returns None for every other
    row and when the result is not a known label (e.g. `neutral;neutral`,
    which the original would turn into NaN).

    Example:

    >>> transform_label("neutral;sad"), transform_label("happy;neutral"), transform_label("happy;sad")
    ('sad', 'happy', None)
    """
    parts = emotion.split(";")
    if len(parts) == 2 and "neutral" in parts:
        label = emotion.replace("neutral", "").replace(";", "")
        return label if label in KEMDY20_LABELS else None
    return None


def _speaker(segment_id):
    match = _SEGMENT.match(segment_id)
    if not match:
        return segment_id, ""
    return match["speaker"] + (match["gender"] or ""), match["gender"] or ""


def kemdy20_rows(
    data_dir,
    label_transform=False,
    test_size=0.2,
    random_state=42,
    full_text=False,
    encoding="cp949",
    sessions=range(1, 41),
    eval_split="dev",
    check_files=True,
):
    """Manifest rows of KEMDy20 with the original's labels, split and optional label transform.

    Args:
        data_dir: str or path. The `KEMDy20_v1_1` folder.
        label_transform: bool. Append the two-label rows with `neutral` to train,
            relabelled to the other emotion. The original's command-line default is
            False, but every reported run except one passes `--label_transform`
            (`scripts/exp_shell.sh`). Defaults to False.
        test_size: float. Evaluation share of the stratified split. Defaults to 0.2.
        random_state: int. Seed of the split (the original's 42). Defaults to 42.
        full_text: bool. Read whole transcripts instead of the original's text up to
            the first comma (see `read_transcript`). Defaults to False.
        encoding: str. Transcript encoding. Defaults to `"cp949"`.
        sessions: iterable of int. Sessions to read. Defaults to 1..40.
        eval_split: str. Split name of the 20% part (the original's validation set,
            used both to select the checkpoint and to report). Defaults to `"dev"`.
        check_files: bool. Raise one error listing every missing `.wav`/`.txt` of the
            rows used. Defaults to True.

    Returns:
        list of dict with `audio_path, text, label, speaker, split, id, session, gender`.
        Order: train rows in the split's order, then the label-transformed rows (if
        any), then the evaluation rows in the split's order (the original's sequential
        validation loader with `drop_last=True` uses the first multiple of the batch size).
    """
    from sklearn.model_selection import train_test_split

    data_dir = pathlib.Path(data_dir)
    annotations = read_annotations(data_dir, sessions)
    single = [row for row in annotations if row["Emotion"] in KEMDY20_LABELS]
    if not single:
        raise ValueError(f"No KEMDy20 rows with a single known label under {data_dir}.")
    extra = []
    if label_transform:
        for row in annotations:
            label = transform_label(row["Emotion"])
            if label is not None:
                extra.append(dict(row, Emotion=label))

    labels = np.array([KEMDY20_LABELS.index(row["Emotion"]) for row in single])
    train_index, eval_index = train_test_split(
        np.arange(len(single)), test_size=test_size, random_state=random_state, shuffle=True, stratify=labels
    )
    ordered = (
        [(single[i], "train") for i in train_index]
        + [(row, "train") for row in extra]
        + [(single[i], eval_split) for i in eval_index]
    )

    rows, missing = [], []
    for record, split in ordered:
        segment = record["Segment ID"]
        folder = data_dir / "wav" / f"Session{segment.split('Sess')[1][:2]}"
        wav, txt = folder / f"{segment}.wav", folder / f"{segment}.txt"
        if check_files:
            missing += [str(p) for p in (wav, txt) if not p.is_file()]
            if not txt.is_file():
                continue
        speaker, gender = _speaker(segment)
        rows.append(
            {
                "audio_path": str(wav),
                "text": read_transcript(txt, encoding=encoding, full_text=full_text) if txt.is_file() else "",
                "label": record["Emotion"],
                "speaker": speaker,
                "split": split,
                "id": segment,
                "session": record["session"],
                "gender": gender,
            }
        )
    if missing:
        shown = "\n  ".join(missing[:20]) + (f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else "")
        raise FileNotFoundError(f"{len(missing)} KEMDy20 file(s) missing under {data_dir}:\n  {shown}")
    return rows


def write_kemdy20_manifest(data_dir, path, **options):
    """Writes the KEMDy20 manifest CSV (see `kemdy20_rows` for the options) and returns its path."""
    from coaudiotext.data.manifest import write_manifest

    columns = ["audio_path", "text", "label", "speaker", "split", "id", "session", "gender"]
    return write_manifest(kemdy20_rows(data_dir, **options), path, columns=columns)
