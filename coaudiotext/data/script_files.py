"""Script files: the TSV of (text, label) rows the demo corpus speaks, and the hand-written set.

A script file has the header `text<TAB>label` and one `TEXT<TAB>LABEL` row per utterance; the label's
clause-final punctuation (`PUNCTUATION`) is appended when speaking and left out of the transcript.
`read_scripts` validates a file and reports every bad line at once. `handwritten_scripts()` are the
project's 210 hand-written English scripts: since the demo corpus is generated (`coaudiotext.data.generator`),
they are only ever a held-out evaluation set (split `handwritten`), never trained on.

Example:

>>> from coaudiotext.data.script_files import handwritten_scripts, script_forms
>>> rows = handwritten_scripts()
>>> len(rows), len({text for text, _ in rows})
(420, 210)
>>> sorted(len(texts) for texts in script_forms(rows).values())
[70, 70, 70]
"""

import importlib.resources
import pathlib

from coaudiotext.data.manifest import DEMO_LABELS, FORMS, PUNCTUATION

__all__ = ["ScriptFileError", "read_scripts", "handwritten_scripts", "script_forms", "write_scripts"]

class ScriptFileError(ValueError):
    """A script TSV has bad lines. `errors` lists `(line_number, message)` for every bad line."""

    def __init__(self, path, errors):
        self.path = str(path)
        self.errors = list(errors)
        lines = "\n".join(f"  line {line}: {message}" for line, message in self.errors)
        super().__init__(f"Bad script file {self.path} ({len(self.errors)} bad line(s); expected a header "
                         f"'text<TAB>label' and rows 'TEXT<TAB>LABEL'):\n{lines}")


def read_scripts(path, labels=None):
    """Reads and validates a script TSV (`text<TAB>label` header, one utterance script per row).

    Every problem is collected and reported at once, with its line number: missing header, wrong number
    of fields, empty text, unknown label, text ending in clause punctuation (the label supplies it),
    duplicate rows. Blank lines are skipped.

    Args:
        path: str or path-like. The TSV file (UTF-8).
        labels: iterable of str or None. Allowed labels; None = the keys of `PUNCTUATION`.

    Returns:
        list of `(text, label)` in file order.

    Raises:
        ScriptFileError: listing every bad line.
    """
    allowed = tuple(PUNCTUATION) if labels is None else tuple(labels)
    path = pathlib.Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"Script file not found: {path}") from None
    lines = raw.splitlines()
    errors, rows, seen = [], [], {}
    if not lines or [f.strip().lower() for f in lines[0].split("\t")] != ["text", "label"]:
        found = repr(lines[0][:60]) if lines else "an empty file"
        errors.append((1, f"missing header 'text<TAB>label' (found {found})"))
    for index in range(1, len(lines)):
        number, line = index + 1, lines[index]
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            errors.append((number, f"expected 2 tab-separated fields (text, label), found {len(fields)}"))
            continue
        text, label = fields[0].strip(), fields[1].strip()
        problems = []
        if not text:
            problems.append("empty text")
        elif text[-1] in ".?!":
            problems.append(f"text ends with {text[-1]!r}: clause-final punctuation comes from the label")
        if label not in allowed:
            problems.append(f"unknown label {label!r} (expected one of: {', '.join(allowed)})")
        if not problems and (text, label) in seen:
            problems.append(f"duplicate of line {seen[(text, label)]}")
        if problems:
            errors.append((number, "; ".join(problems)))
            continue
        seen[(text, label)] = number
        rows.append((text, label))
    if errors:
        raise ScriptFileError(path, errors)
    return rows


def _scripts_root():
    return importlib.resources.files("coaudiotext.data") / "scripts"


def handwritten_scripts():
    """The project's hand-written English scripts, as `(text, label)` rows (every label of each form).

    Written before the generator existed; the demo corpus speaks them only in its `handwritten`
    evaluation split, with unseen voices.
    """
    rows = []
    for name in ("demo_train.tsv", "demo_test.tsv"):
        with importlib.resources.as_file(_scripts_root() / name) as path:
            rows += read_scripts(path, labels=DEMO_LABELS)
    return rows


def write_scripts(path, rows):
    """Writes `(text, label)` rows as a script TSV (header `text<TAB>label`), atomically."""
    from coaudiotext.cache import atomic_write_text

    atomic_write_text(path, "text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows))


def script_forms(rows):
    """Groups rows by script and checks that each script carries exactly the labels of one form.

    Args:
        rows: list of `(text, label)`.

    Returns:
        dict form -> list of scripts (texts) in first-appearance order.

    Raises:
        ValueError: naming every script whose label set is not one of `FORMS`.
    """
    labels_of = {}
    for text, label in rows:
        labels_of.setdefault(text, []).append(label)
    by_labels = {frozenset(v): k for k, v in FORMS.items()}
    forms, bad = {form: [] for form in FORMS}, []
    for text, labels in labels_of.items():
        form = by_labels.get(frozenset(labels)) if len(labels) == 2 else None
        if form is None:
            bad.append(f"{text!r}: {labels}")
        else:
            forms[form].append(text)
    if bad:
        raise ValueError("Scripts whose labels are not exactly one form's " + str(dict(FORMS)) + ":\n  " + "\n  ".join(bad))
    return forms
