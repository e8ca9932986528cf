"""The manifest: the one table of utterances every corpus becomes.

A manifest is a CSV file with the columns `audio_path, text, label, speaker,
split` (and optionally `id`, `asr_text`, `gender`, `session`). Audio paths are
relative to the CSV's folder (or absolute). `read_manifest` validates it and
reports *every* bad row at once, with its line number and what to do.

Example:

>>> manifest = read_manifest("demo/manifest.csv")          # doctest: +SKIP
>>> manifest.split("test").labels[:3]                       # doctest: +SKIP
['s', 'yn', 'wh']
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib
from typing import Iterable, Sequence

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "DEMO_LABELS",
    "PROSEM_LABELS",
    "PUNCTUATION",
    "FORMS",
    "RISING_LABELS",
    "Manifest",
    "ManifestError",
    "read_manifest",
    "write_manifest",
    "check_audio",
    "Overlap",
    "audio_identities",
    "split_overlaps",
]

REQUIRED_COLUMNS = ("audio_path", "text", "label", "speaker", "split")
OPTIONAL_COLUMNS = ("id", "asr_text", "gender", "session")

DEMO_LABELS = ("s", "yn", "wh", "c", "r")
"""The demo corpus' labels (ProSem codes), in class-index order."""
PROSEM_LABELS = ("s", "yn", "wh", "rq", "c", "r", "rc")
"""ProSem's labels in the tutorial's class order: statement, yes/no question, wh-question, rhetorical
question, command, request, rhetorical command."""
PUNCTUATION = {"s": ".", "yn": "?", "wh": ".", "c": "!", "r": "?"}
"""Demo label -> clause-final punctuation appended to the spoken string (it chooses espeak-ng's tune)."""
FORMS = {"declarative": ("s", "yn"), "wh": ("wh", "yn"), "imperative": ("c", "r")}
"""Demo script form -> the labels each script of that form is spoken with."""
RISING_LABELS = ("yn", "r")
"""Demo labels spoken with `?` (a rising tune)."""


class ManifestError(ValueError):
    """A manifest has bad rows; the message lists every one of them."""


@dataclasses.dataclass
class Manifest:
    """A validated utterance table.

    Attributes:
        rows: list of dict. One dict per utterance, with `audio_path` resolved to an absolute path.
        path: pathlib.Path or None. The CSV it was read from.
        line_numbers: list of int. The CSV line of each row (header is line 1).
        skipped: list of str. Reports of rows dropped by `skip_bad=True`.
    """

    rows: list
    path: pathlib.Path | None = None
    line_numbers: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)

    def __len__(self):
        return len(self.rows)

    def column(self, name):
        return [row.get(name, "") for row in self.rows]

    @property
    def audio_paths(self):
        return self.column("audio_path")

    @property
    def texts(self):
        return self.column("text")

    @property
    def labels(self):
        return self.column("label")

    @property
    def splits(self):
        return sorted(set(self.column("split")))

    def split(self, name):
        """Returns the rows of split `name` as a new `Manifest` (error if the split is empty)."""
        keep = [i for i, row in enumerate(self.rows) if row["split"] == name]
        if not keep:
            raise ManifestError(
                f"Manifest {self.path} has no rows in split {name!r}. Splits present: {self.splits}."
            )
        return Manifest(
            rows=[self.rows[i] for i in keep],
            path=self.path,
            line_numbers=[self.line_numbers[i] for i in keep] if self.line_numbers else [],
        )

    def label_set(self):
        """Labels in first-seen order."""
        return list(dict.fromkeys(self.labels))


def check_audio(path):
    """Returns None if `path` is a readable, non-empty, mono audio file; otherwise a short problem description."""
    import soundfile

    if not os.path.exists(path):
        return "audio file not found"
    try:
        info = soundfile.info(path)
    except Exception as error:  # soundfile raises RuntimeError / LibsndfileError
        return f"unreadable audio ({str(error).strip().splitlines()[0]})"
    if info.frames == 0:
        return "empty audio (0 samples)"
    if info.channels != 1:
        return f"{info.channels} channels; expected mono (mix down with e.g. `sox in.wav -c 1 out.wav`)"
    return None


@dataclasses.dataclass
class Overlap:
    """What two splits of a manifest share (see `split_overlaps`).

    Attributes:
        kind: str. `"audio"` (the same file, or the same bytes under another name), `"speaker"` or `"text"`
            (the same script: case, punctuation and spacing ignored).
        splits: tuple of two str. The two split names, in the order given to `split_overlaps`.
        count: int. How many files, speakers or scripts both splits have.
        examples: list of str. A few of them, naming a row of each split (CSV line when known).
    """

    kind: str
    splits: tuple
    count: int
    examples: list


def _file_digest(path, sample=None, chunk=1 << 20):
    """blake2b of the file's bytes; with `sample`, of `sample` bytes at its start, middle and end only."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        if sample is None:
            for block in iter(lambda: handle.read(chunk), b""):
                digest.update(block)
        else:
            size = os.fstat(handle.fileno()).st_size
            for offset in (0, max(0, size // 2 - sample // 2), max(0, size - sample)):
                handle.seek(offset)
                digest.update(handle.read(sample))
    return digest.hexdigest()


def _collisions(groups, key):
    """Regroups each group of paths (size >= 2) by `key(path)`; returns the new groups of size >= 2."""
    out = []
    for group in groups:
        keyed = {}
        for path in group:
            try:
                keyed.setdefault(key(path), []).append(path)
            except OSError:
                pass
        out.extend(paths for paths in keyed.values() if len(paths) > 1)
    return out


def audio_identities(paths):
    """One key per path, equal for paths to the same bytes: the real path, or a content hash.

    Cheap: files are compared by size first, then (same size only) by a digest of three 4 KiB samples, and only
    files still alike are read in full and hashed; a file that cannot be read keeps its real path as key.
    """
    real = [os.path.realpath(path) for path in paths]
    candidates = _collisions([list(dict.fromkeys(real))], os.path.getsize)
    candidates = _collisions(candidates, lambda path: _file_digest(path, sample=4096))
    digests = {}
    for path in (path for group in candidates for path in group):
        try:
            digests[path] = "blake2b:" + _file_digest(path)
        except OSError:
            pass
    return [digests.get(path, path) for path in real]


def _script_key(text):
    import re
    import unicodedata

    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def split_overlaps(splits, max_examples=3):
    """The audio files, speakers and scripts that two splits share: leakage between train and evaluation.

    Args:
        splits: dict `{split name: Manifest}` (a value may be None: left out), in the order to report.
        max_examples: int. Examples kept per overlap. Defaults to 3.

    Returns:
        A list of `Overlap`, one per kind and pair of splits that share something (kinds in the order audio,
        speaker, text). Audio files are compared by content (`audio_identities`), so a copy under another
        name counts; scripts by `text` (the gold transcript when the manifest was read with `asr_text`),
        ignoring case, punctuation and spacing; empty speakers and scripts are ignored.

    Example:

    >>> overlaps = split_overlaps({"train": manifest.split("train"), "test": manifest.split("test")})  # doctest: +SKIP
    >>> [(o.kind, o.count) for o in overlaps]                                                        # doctest: +SKIP
    [('speaker', 2)]
    """
    named = [(name, rows) for name, rows in splits.items() if rows is not None and len(rows)]
    all_paths = [path for _, rows in named for path in rows.audio_paths]
    identities = iter(audio_identities(all_paths))

    def describe(name, rows, index):
        line = rows.line_numbers[index] if rows.line_numbers else None
        return f"{name} line {line}" if line else f"{name} {pathlib.Path(rows.rows[index]['audio_path']).name}"

    keys = {}  # split -> kind -> {key: first row index}
    for name, rows in named:
        per_kind = {"audio": {}, "speaker": {}, "text": {}}
        for index, row in enumerate(rows.rows):
            values = {"audio": next(identities), "speaker": (row.get("speaker") or "").strip(),
                      "text": _script_key(row.get("gold_text") or row.get("text"))}
            for kind, value in values.items():
                if value:
                    per_kind[kind].setdefault(value, index)
        keys[name] = per_kind

    overlaps = []
    for kind in ("audio", "speaker", "text"):
        for i, (first, first_rows) in enumerate(named):
            for second, second_rows in named[i + 1:]:
                shared = [key for key in keys[first][kind] if key in keys[second][kind]]
                if not shared:
                    continue
                examples = []
                for key in shared[:max_examples]:
                    a, b = keys[first][kind][key], keys[second][kind][key]
                    what = {"audio": pathlib.Path(first_rows.rows[a]["audio_path"]).name,
                            "speaker": repr(key), "text": repr(key[:60])}[kind]
                    examples.append(f"{what} ({describe(first, first_rows, a)}, {describe(second, second_rows, b)})")
                overlaps.append(Overlap(kind, (first, second), len(shared), examples))
    return overlaps


def read_manifest(
    path,
    labels: Sequence[str] | None = None,
    skip_bad: bool = False,
    check_files: bool = True,
    allowed_sample_rates: Iterable[int] | None = None,
    text_column: str = "text",
):
    """Reads and validates a manifest CSV.

    Args:
        path: str or path. The CSV file.
        labels: list of str or None. Allowed labels; rows with other labels are bad.
            None accepts any non-empty label.
        skip_bad: bool. If False (default), any bad row raises one `ManifestError`
            listing every bad row. If True, bad rows are dropped and reported in
            `Manifest.skipped` (never silently).
        check_files: bool. Check that each audio file exists, is readable, non-empty and mono.
        allowed_sample_rates: iterable of int or None. If given, other sample rates are bad
            (by default every rate is accepted and resampled).
        text_column: str. Column used as the transcript (`text`, or `asr_text` for
            speech-recognised transcripts). Defaults to `"text"`.

    Returns:
        A `Manifest` with absolute audio paths; the chosen transcript is in `row["text"]`
        (the gold one is kept in `row["gold_text"]`).
    """
    path = pathlib.Path(path)
    raw_rows = _read_rows(path, text_column)
    root = path.parent.resolve()
    allowed_labels = set(labels) if labels is not None else None
    allowed_rates = set(allowed_sample_rates) if allowed_sample_rates is not None else None
    rows, line_numbers, problems = [], [], []
    seen_ids, renamed = {}, {}
    for index, raw in enumerate(raw_rows):
        line = index + 2
        row = {k: (v if v is not None else "").strip() for k, v in raw.items() if k is not None}
        row_problems = _audio_problems(row, root, check_files, allowed_rates)
        row_problems += _field_problems(row, line, labels, allowed_labels, text_column, seen_ids, renamed)
        if row_problems:
            problems.append(f"  line {line}: " + "; ".join(row_problems))
            continue
        rows.append(row)
        line_numbers.append(line)

    if allowed_labels is None:  # inferred label set: `S` next to `s` would silently be a sixth class
        rows, line_numbers = _drop_case_variants(rows, line_numbers, problems)
    if renamed:
        import warnings

        warnings.warn(f"{path}: split name(s) {sorted(renamed)} read in lower case "
                      f"({', '.join(s.lower() for s in sorted(renamed))}); split names are case-insensitive.",
                      UserWarning, stacklevel=2)
    if problems and not skip_bad:
        raise ManifestError(
            f"{path}: {len(problems)} bad row(s) of {len(raw_rows)}:\n"
            + "\n".join(problems)
            + "\nFix these rows, or pass --skip-bad to leave them out (they will be listed in the run report)."
        )
    if not rows:
        raise ManifestError(f"{path}: no usable rows (of {len(raw_rows)}).")
    return Manifest(rows=rows, path=path, line_numbers=line_numbers, skipped=problems)


def _read_rows(path, text_column):
    """The raw CSV rows of manifest `path` (UTF-8, header stripped and checked for the required columns)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Manifest {path} does not exist. Build one with `python -m coaudiotext.data.demo --out DIR` "
            "or write a CSV with columns " + ",".join(REQUIRED_COLUMNS) + "."
        )
    data = path.read_bytes()
    try:
        content = data.decode("utf-8-sig")  # a UTF-8 byte-order mark (Excel's "CSV UTF-8") is accepted
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ManifestError(
            f"{path}, line {line}: not UTF-8 (byte {data[error.start]:#04x} at position {error.start}). Save the "
            "manifest as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`, or in Excel \"CSV UTF-8\"."
        ) from None
    import io

    with io.StringIO(content, newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() if name else name for name in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if text_column not in header and text_column not in missing:
            missing.append(text_column)
        if missing:
            raise ManifestError(
                f"{path}: missing column(s) {missing}. Expected a header with at least "
                f"{','.join(REQUIRED_COLUMNS)}; found {header}."
            )
        return list(reader)


def _audio_problems(row, root, check_files, allowed_rates):
    """Resolves `row["audio_path"]` against `root` in place; returns what is wrong with it (a list of str)."""
    problems = []
    audio = row["audio_path"]
    if not audio:
        problems.append("empty audio_path")
        return problems
    full = pathlib.Path(audio)
    if not full.is_absolute():
        full = root / full
    row["audio_path"] = str(full)
    if check_files:
        problem = check_audio(str(full))
        if problem:
            problems.append(f"{problem}: {full}")
        elif allowed_rates is not None:
            import soundfile

            rate = soundfile.info(str(full)).samplerate
            if rate not in allowed_rates:
                problems.append(f"sample rate {rate} Hz not in {sorted(allowed_rates)}: {full}")
    return problems


def _field_problems(row, line, labels, allowed_labels, text_column, seen_ids, renamed):
    """Checks (and normalises in place) the text, label, split and id of `row`; returns its problems."""
    problems = []
    row["gold_text"] = row["text"]
    if text_column != "text":
        row["text"] = row.get(text_column, "")
    if not row["text"]:
        problems.append(f"empty {text_column}")
    if not row["label"]:
        problems.append("empty label")
    elif allowed_labels is not None and row["label"] not in allowed_labels:
        near = [name for name in labels if name.casefold() == row["label"].casefold()]
        hint = f"; did you mean {near[0]!r}? labels are case-sensitive" if near else ""
        problems.append(f"unknown label {row['label']!r} (expected one of {', '.join(labels)}{hint})")
    if not row["split"]:
        problems.append("empty split")
    elif row["split"] != row["split"].lower():
        renamed.setdefault(row["split"], []).append(line)
        row["split"] = row["split"].lower()  # split names are case-insensitive: `Test` is `test`
    if row.get("id"):
        if row["id"] in seen_ids:
            problems.append(f"duplicate id {row['id']!r} (first on line {seen_ids[row['id']]})")
        else:
            seen_ids[row["id"]] = line
    return problems


def _drop_case_variants(rows, line_numbers, problems):
    """Drops the rarer spellings of labels that differ only in case, reporting them in `problems`."""
    spellings = {}
    for row, line in zip(rows, line_numbers):
        spellings.setdefault(row["label"].casefold(), {}).setdefault(row["label"], []).append(line)
    for variants in spellings.values():
        if len(variants) > 1:
            rare = sorted(variants, key=lambda name: len(variants[name]))[:-1]
            for name in rare:
                lines = variants[name]
                problems.append(f"  line(s) {', '.join(map(str, lines[:10]))}{' ...' if len(lines) > 10 else ''}: "
                                f"label {name!r} differs only in case from "
                                f"{max(variants, key=lambda n: len(variants[n]))!r}; write one spelling")
            keep = {l for name in rare for l in variants[name]}
            rows, line_numbers = ([r for r, l in zip(rows, line_numbers) if l not in keep],
                                  [l for l in line_numbers if l not in keep])
    return rows, line_numbers


def write_manifest(rows, path, columns=None):
    """Writes manifest rows to `path` atomically (temporary file, then rename).

    Audio paths under the CSV's folder are written relative to it.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if columns is None:
        extra = [c for c in OPTIONAL_COLUMNS if any(c in row for row in rows)]
        columns = list(REQUIRED_COLUMNS) + extra
    root = path.parent.resolve()
    from coaudiotext.cache import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            row = dict(row)
            audio = pathlib.Path(row["audio_path"])
            if audio.is_absolute():
                try:
                    row["audio_path"] = audio.resolve().relative_to(root).as_posix()
                except ValueError:
                    pass
            writer.writerow(row)
    return path
