"""Executes the tutorial notebooks and stores them with their outputs (text, tables, figures, audio).

The jupytext sources `tutorials/NN_name.py` are the source of truth. This script turns each one into
`tutorials/NN_name.ipynb`, runs it top to bottom in a fresh kernel (working directory `tutorials/`),
and writes the executed notebook, so the notebooks a student opens show what the code prints and draws.

    python tutorials/execute.py                 # every notebook, each in the mode of FAST_BY_DEFAULT
    python tutorials/execute.py 02 11           # only these (by number or file name)
    python tutorials/execute.py --fast 02       # force FAST mode (COAUDIOTEXT_FAST=1) for these
    python tutorials/execute.py --full 05       # force full mode
    python tutorials/execute.py --check         # are the stored notebooks executed and in sync? (CI)

Each stored notebook records, in its metadata under `coaudiotext`, the SHA-256 of the source it was
executed from, the mode (`fast`: `COAUDIOTEXT_FAST=1`, the tiny demo corpus and 1-2 epochs; `full`),
the date, the wall time and the machine's CPU count and load. `--check` (run by the test suite) fails
when a notebook's cells differ from its source, when a source changed after its notebook was executed,
or when a code cell was not executed in order: re-run this script for the notebooks it names.

Full mode trains models on the whole demo corpus, which takes on a 2-core CPU from minutes per
notebook to hours (tutorial 12's 3 x 3 protocol). The notebooks listed in FAST_BY_DEFAULT (those that train on the demo
corpus) are stored from a FAST run; their text says what the full run measures, and running them
yourself without `COAUDIOTEXT_FAST` gives the full numbers.

Keras progress bars are reduced to their final state (carriage returns and backspaces applied), and
TensorFlow's start-up lines on stderr that `TF_CPP_MIN_LOG_LEVEL` cannot silence ("All log messages
before absl::InitializeLog()", "Could not find cuda drivers") are left out, as the command lines do, as
is tqdm's "IProgress not found" warning (the executing kernel has no ipywidgets), so the stored outputs
stay small and readable.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import pathlib
import re
import sys
import time

TUTORIALS = pathlib.Path(__file__).resolve().parent
# Stored from a FAST run: these train models on the demo corpus (full mode: 10-60 min each on 2 cores).
FAST_BY_DEFAULT = ("02", "03", "04", "05", "06", "07", "08", "09", "12")
CELL_TIMEOUT_S = 3600
MAX_STREAM_CHARS = 20_000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def sources():
    """The jupytext sources `NN_name.py`, sorted."""
    return sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))


def source_digest(source):
    """SHA-256 of a source file's bytes (what its stored notebook must have been executed from)."""
    return hashlib.sha256(pathlib.Path(source).read_bytes()).hexdigest()


def select(names):
    """Sources named by number (`02`) or file name (`02_speech_bilstm`, `.py`/`.ipynb`); all when empty."""
    available = sources()
    if not names:
        return available
    chosen = []
    for name in names:
        stem = pathlib.Path(name).stem
        match = [s for s in available if s.stem == stem or s.stem.split("_", 1)[0] == stem]
        if not match:
            raise SystemExit(f"error: no tutorial {name!r}; expected a number such as 02 or one of "
                             f"{', '.join(s.stem for s in available)}")
        chosen.extend(m for m in match if m not in chosen)
    return chosen


def clean_stream(text):
    """Text as a terminal would show it: ANSI codes removed, `\\b` and `\\r` applied, long output cut."""
    text = _ANSI.sub("", text)
    lines = []
    for line in text.split("\n"):
        if "\b" in line:
            chars = []
            for char in line:
                if char == "\b":
                    if chars:
                        chars.pop()
                else:
                    chars.append(char)
            line = "".join(chars)
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        lines.append(line)
    text = "\n".join(lines)
    if len(text) > MAX_STREAM_CHARS:
        head = text[: MAX_STREAM_CHARS // 2]
        tail = text[-MAX_STREAM_CHARS // 2 :]
        text = f"{head}\n[... {len(text) - MAX_STREAM_CHARS:,} characters cut by tutorials/execute.py ...]\n{tail}"
    return text


def _clean_outputs(notebook):
    """Applies `clean_stream` to every stream output, merging consecutive ones of the same stream; drops
    from stderr TensorFlow's start-up lines that its log level cannot silence (as the command lines do)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                if merged and merged[-1].get("output_type") == "stream" and merged[-1]["name"] == output["name"]:
                    merged[-1]["text"] += output["text"]
                    continue
            merged.append(output)
        for output in merged:
            if output.get("output_type") == "stream":
                text = _quiet(output["text"]) if output["name"] == "stderr" else output["text"]
                output["text"] = clean_stream(text)
        cell["outputs"] = [o for o in merged if o.get("output_type") != "stream" or o["text"].strip()]


def _quiet(text):
    """stderr without TensorFlow's start-up noise and tqdm's "IProgress not found" warning (the kernel that
    executes the notebooks has no ipywidgets; the `tutorials` extra installs it, so Jupyter shows bars)."""
    from coaudiotext._logs import filter_noise

    text = re.sub(r"[^\n]*TqdmWarning: IProgress not found[^\n]*\n(\s+from \.autonotebook import[^\n]*\n)?", "", text)
    return filter_noise(text)


def _machine():
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, 1-min load {load:.2f} at the start"


def execute(source, fast):
    """Runs one source in a fresh kernel; returns the executed notebook (not yet written)."""
    import jupytext
    import nbclient

    notebook = jupytext.read(source)
    environment = {"COAUDIOTEXT_FAST": "1" if fast else "0", "TF_CPP_MIN_LOG_LEVEL": "3",
                   "TF_ENABLE_ONEDNN_OPTS": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)  # the kernel inherits the environment of this process
    machine, start = _machine(), time.perf_counter()
    try:
        client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                         resources={"metadata": {"path": str(TUTORIALS)}})
        client.execute()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    _clean_outputs(notebook)
    notebook.metadata["coaudiotext"] = {
        "source": source.name,
        "source_sha256": source_digest(source),
        "mode": "fast" if fast else "full",
        "executed": datetime.date.today().isoformat(),
        "seconds": round(time.perf_counter() - start, 1),
        "machine": machine,
    }
    return notebook


def write(notebook, path):
    """Writes `notebook` to `path` atomically."""
    import nbformat

    from coaudiotext.cache import atomic_write_text

    atomic_write_text(path, nbformat.writes(notebook) + "\n")


def _cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def check(source):
    """Problems of the stored notebook of `source` (empty list: executed from this very source, in order)."""
    import jupytext
    import nbformat

    path = source.with_suffix(".ipynb")
    rerun = f"run: python tutorials/execute.py {source.stem.split('_', 1)[0]}"
    if not path.exists():
        return [f"{path.name} is missing; {rerun}"]
    stored = nbformat.read(path, as_version=4)
    problems = []
    expected, got = _cells(jupytext.read(source)), _cells(stored)
    if expected != got:
        differing = [i for i, (a, b) in enumerate(zip(expected, got)) if a != b]
        where = f"cell {differing[0]}" if differing else f"{len(got)} cells against {len(expected)}"
        problems.append(f"{path.name} does not hold the cells of {source.name} ({where}); {rerun}")
    meta = stored.metadata.get("coaudiotext", {})
    if meta.get("source_sha256") != source_digest(source):
        problems.append(f"{source.name} changed after {path.name} was executed (or it was never executed "
                        f"by this script); {rerun}")
    counts = [cell.get("execution_count") for cell in stored.cells if cell.cell_type == "code"]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(f"the code cells of {path.name} were not executed once each, in order "
                        f"(execution counts {counts}); {rerun}")
    errors = [i for i, cell in enumerate(stored.cells) if cell.cell_type == "code"
              and any(o.get("output_type") == "error" for o in cell.get("outputs", []))]
    if errors:
        problems.append(f"{path.name} stores an error in cells {errors}; {rerun}")
    if meta.get("mode") not in ("fast", "full"):
        problems.append(f"{path.name} does not record its mode (fast/full); {rerun}")
    return problems


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python tutorials/execute.py",
        description="Execute the tutorial notebooks from their jupytext sources and store them with outputs; "
                    "--check verifies that the stored notebooks were executed from the current sources.",
    )
    parser.add_argument("notebooks", nargs="*", help="numbers (02) or names (02_speech_bilstm); default: all")
    parser.add_argument("--fast", nargs="*", default=None, metavar="NN",
                        help="run these (all selected, when given without numbers) with COAUDIOTEXT_FAST=1")
    parser.add_argument("--full", nargs="*", default=None, metavar="NN",
                        help="run these (all selected, when given without numbers) in full mode")
    parser.add_argument("--check", action="store_true", help="only check the stored notebooks (no execution)")
    return parser


def _mode(source, args):
    number = source.stem.split("_", 1)[0]
    for flag, fast in ((args.full, False), (args.fast, True)):
        if flag is not None and (not flag or number in {pathlib.Path(n).stem.split("_", 1)[0] for n in flag}):
            return fast
    return number in FAST_BY_DEFAULT


def main(argv=None):
    args = build_parser().parse_args(argv)
    chosen = select(args.notebooks)
    if args.check:
        problems = [p for source in chosen for p in check(source)]
        print("\n".join(problems) if problems else f"{len(chosen)} notebooks executed from their current sources")
        return 1 if problems else 0
    for index, source in enumerate(chosen, 1):
        fast = _mode(source, args)
        print(f"[{index}/{len(chosen)}] {source.name} ({'fast' if fast else 'full'} mode) ...", flush=True)
        notebook = execute(source, fast)
        path = source.with_suffix(".ipynb")
        write(notebook, path)
        meta = notebook.metadata["coaudiotext"]
        print(f"    wrote {path.name}: {meta['seconds']:.0f} s, {path.stat().st_size / 1e6:.2f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
