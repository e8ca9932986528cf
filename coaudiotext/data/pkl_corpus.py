"""The seed-001 corpus: pickled pandas DataFrames -> wav files + a manifest.

Donghwa-KIM/audiotext-transformer reads `data/{train,dev,test}.pkl` (and `test_stt.pkl`) with
`pd.read_pickle`. Each is a DataFrame with the columns

    person_ix   int: the actor (100 actors)
    audio       1-D float array: raw mono samples at 48 kHz, zero-padded
    Sentence    str: the script (in test_stt.pkl: Google speech recognition output)
    Emotion     str: one of 공포 놀람 분노 슬픔 중립 행복 혐오

The data are not shipped (the original links a Google Drive folder). `write_pkl_manifest`
writes every utterance as a wav file and a manifest row
`audio_path,text,label,speaker,split[,asr_text,id]`; splits are named `train`, `val` (from
`dev.pkl`) and `test`. When `test_stt.pkl` is present, its `Sentence` becomes the `asr_text`
of the matching test rows (same order, checked against `person_ix` and `Emotion`).

Text: the original normalises each sentence before WordPiece tokenisation
(`DataSets.normalize_string`): `html.unescape`, every whitespace character becomes a space,
every run of characters outside `[a-zA-Z가-힣ㄱ-ㅎ0-9.!?]` becomes one space.
`normalize_text` reproduces it; the manifest stores normalised text by default (stripped of
leading/trailing spaces, which the tokenizer ignores anyway).

Audio: the original's `trimmer()` (after resampling to 8 kHz) drops **every** sample exactly
equal to 0, meant to strip the zero padding. After resampling, exact zeros occur in practice
only in the zero padding, so its effect is stripping leading and trailing zeros; written
here at 48 kHz, `trim="edges"` (the default) reproduces that effect, `trim="all_zeros"` the
literal code (at 48 kHz it also removes interior zeros of quantised silence), `trim="none"`
keeps the padding.

Example:

>>> write_pkl_manifest("data/", "seed001/manifest.csv")                  # doctest: +SKIP
>>> python -m coaudiotext.data.pkl_corpus data/ --out seed001/manifest.csv  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import html
import pathlib
import re
import sys

import numpy as np

__all__ = [
    "SEED001_LABELS",
    "SEED001_LABELS_EN",
    "SOURCE_SAMPLE_RATE",
    "UntrustedPickleError",
    "normalize_text",
    "trim_zeros",
    "read_pkl_split",
    "pkl_rows",
    "write_pkl_manifest",
    "main",
]

SEED001_LABELS = ("공포", "놀람", "분노", "슬픔", "중립", "행복", "혐오")
SEED001_LABELS_EN = {
    "공포": "fear",
    "놀람": "surprise",
    "분노": "anger",
    "슬픔": "sadness",
    "중립": "neutral",
    "행복": "happiness",
    "혐오": "disgust",
}
SOURCE_SAMPLE_RATE = 48000
SPLIT_FILES = {"train": "train.pkl", "val": "dev.pkl", "test": "test.pkl"}
ASR_FILE = "test_stt.pkl"
COLUMNS = ("person_ix", "audio", "Sentence", "Emotion")
_TRIM = ("edges", "all_zeros", "none")

_WHITESPACE = re.compile(r"[\s]")
_OUTSIDE = re.compile(r"[^a-zA-Z가-힣ㄱ-ㅎ0-9.!?]+")


def normalize_text(text):
    """The seed-001 text normalisation (`DataSets.normalize_string`).

    `html.unescape`; each whitespace character -> a space; each run of characters outside
    `a-z A-Z 가-힣 ㄱ-ㅎ 0-9 . ! ?` (spaces included) -> one space. Leading and trailing spaces
    stay, as in the original (the tokenizer ignores them).

    Args:
        text: str. A transcript.

    Returns:
        str.

    Example:

    >>> normalize_text("어머,&amp; 정말?!  (웃음)")
    '어머 정말?! 웃음 '
    """
    text = html.unescape(str(text))
    text = _WHITESPACE.sub(" ", text)
    return _OUTSIDE.sub(" ", text)


def trim_zeros(audio, mode="edges"):
    """Removes zero samples as the seed-001 `trimmer()` meant (`"edges"`) or did (`"all_zeros"`).

    Args:
        audio: 1-D array.
        mode: str. `"edges"`: strip leading and trailing exact zeros; `"all_zeros"`: drop every
            sample equal to 0 in float32 (the literal original); `"none"`: unchanged.
            Defaults to `"edges"`.

    Returns:
        1-D float32 array.
    """
    if mode not in _TRIM:
        raise ValueError(f"Expected mode to be one of {list(_TRIM)}. Received: mode={mode!r}")
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if mode == "none":
        return audio
    nonzero = audio != np.float32(0)
    if mode == "all_zeros":
        return audio[nonzero]
    index = np.flatnonzero(nonzero)
    if index.size == 0:
        return audio[:0]
    return audio[index[0] : index[-1] + 1]


class UntrustedPickleError(ValueError):
    """A pickle was about to be read without `trust_pickle=True` (`--trust-pickle`)."""


PICKLE_WARNING = (
    "Unpickling can run arbitrary code: a crafted .pkl file executes whatever it contains when read. "
    "Only pass --trust-pickle (trust_pickle=True) for pickles you made yourself or got from a source you "
    "trust. The converted wav files and manifest CSV are plain data: once converted, train on the manifest "
    "(--data MANIFEST.csv) and the pickles are never read again."
)


def read_pkl_split(path, trust_pickle=False):
    """Reads one seed-001 pickle and checks its columns and labels.

    Unpickling runs code stored in the file, so nothing is read unless `trust_pickle=True`.

    Args:
        path: str or path. A `train.pkl`/`dev.pkl`/`test.pkl`/`test_stt.pkl` file.
        trust_pickle: bool. Read the file although a pickle can execute code (a warning is printed).
            Defaults to False: raise `UntrustedPickleError` instead.

    Returns:
        A pandas DataFrame with the columns `person_ix, audio, Sentence, Emotion`.

    Raises:
        UntrustedPickleError: when `trust_pickle` is False (the file is not opened).
        ValueError: naming the missing columns or unknown labels (with their rows).
    """
    import pandas as pd

    if not trust_pickle:
        raise UntrustedPickleError(
            f"{path} is a pickle; it was not read. {PICKLE_WARNING}"
        )
    print(f"[coaudiotext] warning: unpickling {path} (--trust-pickle). {PICKLE_WARNING.split(': ')[0]}.",
          file=sys.stderr)
    frame = pd.read_pickle(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)}, found {list(frame.columns)}.")
    unknown = [(i, label) for i, label in enumerate(frame["Emotion"]) if label not in SEED001_LABELS]
    if unknown:
        shown = ", ".join(f"row {i}: {label!r}" for i, label in unknown[:10])
        raise ValueError(
            f"{path}: {len(unknown)} row(s) with labels outside {list(SEED001_LABELS)} ({shown}"
            + (", ..." if len(unknown) > 10 else "") + ")."
        )
    return frame.reset_index(drop=True)


def pkl_rows(data_dir, out_dir, normalize=True, trim="edges", sample_rate=None, subtype="FLOAT",
             splits=("train", "val", "test"), overwrite=False, trust_pickle=False):
    """Writes the wav files of the seed-001 pickles and returns the manifest rows.

    Args:
        data_dir: str or path. Folder with `train.pkl`, `dev.pkl`, `test.pkl` (and optionally
            `test_stt.pkl`).
        out_dir: str or path. Where `wav/{split}/{split}_{i:05d}.wav` are written.
        normalize: bool. Store `normalize_text(Sentence)` (the text the original tokenises) in
            `text` and `asr_text`. Defaults to True.
        trim: str. `"edges"`, `"all_zeros"` or `"none"` (see `trim_zeros`). Defaults to `"edges"`.
        sample_rate: int or None. Resample (soxr) before writing; None keeps 48 kHz (the full
            corpus is then about 20 GB of float32 wav). Defaults to None.
        subtype: str. soundfile subtype. `"FLOAT"` keeps the samples exactly, whatever their
            scale (the pickles may hold int16-scaled floats; the original used them as they
            are). Defaults to `"FLOAT"`.
        splits: tuple of str. Manifest splits to write (`train`, `val`, `test`).
        overwrite: bool. Rewrite existing wav files. Defaults to False.
        trust_pickle: bool. Allow unpickling the files (they can run code; see `read_pkl_split`).
            Defaults to False.

    Returns:
        list of dict manifest rows (`audio_path` absolute).
    """
    import soundfile

    _check_trim(trim)
    data_dir, out_dir = pathlib.Path(data_dir), pathlib.Path(out_dir)
    rows = []
    for split in splits:
        if split not in SPLIT_FILES:
            raise ValueError(f"Unknown split {split!r}. Expected some of {list(SPLIT_FILES)}.")
        source = data_dir / SPLIT_FILES[split]
        if not source.is_file():
            raise FileNotFoundError(
                f"{source} not found: the seed-001 data folder needs {', '.join(SPLIT_FILES.values())}."
            )
        frame = read_pkl_split(source, trust_pickle=trust_pickle)
        asr = _asr_texts(data_dir, frame, trust_pickle) if split == "test" else None
        folder = out_dir / "wav" / split
        folder.mkdir(parents=True, exist_ok=True)
        for i, record in enumerate(frame.itertuples(index=False)):
            utterance_id = f"{split}_{i:05d}"
            path = folder / f"{utterance_id}.wav"
            if overwrite or not path.exists():
                audio = trim_zeros(record.audio, trim)
                rate = SOURCE_SAMPLE_RATE
                if sample_rate is not None and int(sample_rate) != SOURCE_SAMPLE_RATE:
                    import librosa

                    audio = librosa.resample(
                        audio, orig_sr=SOURCE_SAMPLE_RATE, target_sr=int(sample_rate), res_type="soxr_hq"
                    )
                    rate = int(sample_rate)
                if audio.size == 0:
                    raise ValueError(f"{source} row {i}: the audio is empty (all zeros) after trim={trim!r}.")
                soundfile.write(str(path), audio, rate, subtype=subtype)
            text = str(record.Sentence)
            row = {
                "id": utterance_id,
                "audio_path": str(path.resolve()),
                "text": normalize_text(text).strip() if normalize else text,
                "label": str(record.Emotion),
                "speaker": f"p{int(record.person_ix):03d}",
                "split": split,
            }
            if asr is not None:
                row["asr_text"] = normalize_text(asr[i]).strip() if normalize else asr[i]
            rows.append(row)
    return rows


def _check_trim(trim):
    if trim not in _TRIM:
        raise ValueError(f"Expected trim to be one of {list(_TRIM)}. Received: trim={trim!r}")


def _asr_texts(data_dir, test_frame, trust_pickle=False):
    """The `Sentence` column of `test_stt.pkl`, aligned row by row with `test.pkl`, or None."""
    path = pathlib.Path(data_dir) / ASR_FILE
    if not path.is_file():
        return None
    stt = read_pkl_split(path, trust_pickle=trust_pickle)
    if len(stt) != len(test_frame):
        raise ValueError(f"{path} has {len(stt)} rows but test.pkl has {len(test_frame)}; cannot align the ASR text.")
    pairs = zip(stt["person_ix"], test_frame["person_ix"], stt["Emotion"], test_frame["Emotion"])
    bad = [i for i, (a, b, c, d) in enumerate(pairs) if a != b or c != d]
    if bad:
        raise ValueError(
            f"{path} rows {bad[:10]} differ from test.pkl in person_ix/Emotion; cannot align the ASR text."
        )
    return [str(s) for s in stt["Sentence"]]


def write_pkl_manifest(data_dir, out_csv, **options):
    """Writes the wav files and the manifest CSV of the seed-001 pickles.

    Args:
        data_dir: str or path. Folder with the pickles.
        out_csv: str or path. The manifest to write; wavs go to `<its folder>/wav/`.
        **options: passed to `pkl_rows` (`normalize`, `trim`, `sample_rate`, `trust_pickle`, ...).

    Returns:
        pathlib.Path of the manifest.
    """
    from coaudiotext.data.manifest import write_manifest

    out_csv = pathlib.Path(out_csv)
    rows = pkl_rows(data_dir, out_csv.parent, **options)
    columns = ["audio_path", "text", "label", "speaker", "split", "id"]
    if any("asr_text" in row for row in rows):
        columns.insert(5, "asr_text")
    return write_manifest(rows, out_csv, columns=columns)


def main(argv=None):
    """`python -m coaudiotext.data.pkl_corpus DATA_DIR --out manifest.csv`."""
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.data.pkl_corpus",
        description="Convert the seed-001 pickles (train/dev/test.pkl, test_stt.pkl) into wav files and a manifest.",
    )
    parser.add_argument("data_dir", help="folder with train.pkl, dev.pkl, test.pkl (and test_stt.pkl)")
    parser.add_argument("--out", required=True, help="manifest CSV to write (wav files go beside it)")
    parser.add_argument("--trim", choices=_TRIM, default="edges")
    parser.add_argument("--sample-rate", type=int, default=None, help="resample before writing (default: keep 48000)")
    parser.add_argument("--raw-text", action="store_true", help="keep the sentences as they are (no normalisation)")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow unpickling the .pkl files: a pickle can run arbitrary code when read, so only "
                             "for files you made or trust (refused by default)")
    args = parser.parse_args(argv)
    try:
        path = write_pkl_manifest(args.data_dir, args.out, normalize=not args.raw_text, trim=args.trim,
                                  sample_rate=args.sample_rate, overwrite=args.overwrite,
                                  trust_pickle=args.trust_pickle)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
