"""The embedded synthetic intention corpus (`demo`): the ProSem problem, made licence-free.

The same words carry different intentions depending on intonation. Each script (an English sentence) is
*spoken* by espeak-ng as `text + punctuation`, where the clause-final punctuation comes from the label
(espeak-ng picks a falling, rising or exclamatory tune from it), and *transcribed* as `text` without
punctuation, as speech recognition would produce it.

| label | meaning | spoken as |
|---|---|---|
| `s` | statement | `text.` |
| `yn` | yes/no question | `text?` |
| `wh` | wh-question | `text.` |
| `c` | command | `text!` |
| `r` | request | `text?` |

Scripts come in three forms (`FORMS`): declarative (`s`/`yn`), wh-form (`wh`/`yn`, the latter an echo
question) and imperative (`c`/`r`). Every script is spoken with every label its form admits, by the same
voice, so the text alone is capped at 50% accuracy and the tune alone cannot tell the form; together they
can. `yn` belongs to two forms, so it is twice as frequent as each other label (1/3 of the utterances).

The default corpus (`SIZES["default"]`) is built from the compositional generator
(`coaudiotext.data.generator`, thousands of distinct scripts of 3-14 words) and a seeded pool of 70 voices
(`coaudiotext.data.voices`):

| split | scripts | voices | utterances |
|---|---|---|---|
| `train` | 2,400 generated (800 per form) | 60 training voices, one per script | 4,800 |
| `val` | 240 other generated scripts | the training voices | 480 |
| `test` | 300 other generated scripts, each with >= 1 **held-out word** | 10 **unseen** voices, 2 per script | 1,200 |
| `handwritten` | the 210 hand-written scripts (`script_files`) | the unseen voices, 2 per script | 840 |

No script is in two splits; test content words held out of the lexicon never occur in train or val.
Everything is deterministic from the seed: rendering is bit-exact for a given (text, voice, rate, pitch).

Entry points:

* `render(text, voice)`: one utterance as float32 samples at 22,050 Hz (`coaudiotext.data.espeak`).
* `build_demo_corpus(out_dir)`: writes `out_dir/manifest.csv` (`audio_path,text,label,speaker,split`)
  and the wav files; with `scripts=`/`voices=`, any script file spoken by any voices.
* `demo_manifest(size)`: the cached corpus under `$COAUDIOTEXT_CACHE` (or `~/.cache/coaudiotext`).
* `python -m coaudiotext.data.demo --out DIR [--scripts TSV] [--voices V1,V2] [--report]`.

Example:

>>> from coaudiotext.data import demo
>>> samples, sr = demo.render("close the window?", voice="en-us+f3")
>>> sr
22050
"""

import argparse
import csv
import dataclasses
import hashlib
import io
import os
import pathlib
import shutil
import sys
import tempfile

import numpy as np

from coaudiotext.cache import atomic_write_bytes, atomic_write_text, cache_root
from coaudiotext.data import generator
from coaudiotext.data.demo_report import pitch_check, pitch_ratio, pitch_track, report, text_only_ceiling
from coaudiotext.data.espeak import SAMPLE_RATE, list_voices, render
from coaudiotext.data.manifest import DEMO_LABELS as LABELS
from coaudiotext.data.manifest import FORMS, PUNCTUATION, REQUIRED_COLUMNS, RISING_LABELS, write_manifest
from coaudiotext.data.script_files import ScriptFileError, handwritten_scripts, read_scripts, script_forms
from coaudiotext.data.voices import BASE_VOICES, FEMALE_SHARE, PITCH_JITTER, RANGE_JITTER, RATE_JITTER, VARIANTS
from coaudiotext.data.voices import Speaker, parse_voice, speaker_pool

__all__ = [
    "LABELS",
    "PUNCTUATION",
    "FORMS",
    "RISING_LABELS",
    "SAMPLE_RATE",
    "GENERATOR_VERSION",
    "TEXT_FEATURES",
    "DemoSize",
    "SIZES",
    "Speaker",
    "ScriptFileError",
    "render",
    "list_voices",
    "read_scripts",
    "handwritten_scripts",
    "speaker_pool",
    "parse_voice",
    "script_forms",
    "build_demo_corpus",
    "demo_manifest",
    "text_only_ceiling",
    "pitch_track",
    "pitch_ratio",
    "pitch_check",
    "report",
    "main",
]

GENERATOR_VERSION = "2"
"""Bump when rendering or corpus layout changes, so cached corpora are rebuilt."""

MANIFEST_COLUMNS = REQUIRED_COLUMNS

TEXT_FEATURES = {"kind": "latin", "max_chars": 80, "align": "start"}
"""Character features of the `text` input when training on the demo corpus: the whole sentence (the
generator's scripts have at most 78 characters), read from its start. English marks the form at the start
of the sentence (wh-word, imperative verb, subject); the faithful default (the last 30 characters, for
Korean, where the sentence ending carries it) cuts exactly that. `python -m coaudiotext.train
--max-chars/--text-align` override it; the setting is stored in every trained `.keras` file."""


@dataclasses.dataclass(frozen=True)
class DemoSize:
    """How many voices and scripts the demo corpus uses.

    Args:
        train_voices: int. Voices of the `train` and `val` splits.
        test_voices: int. Unseen voices of the `test` and `handwritten` splits.
        train_scripts_per_form: int. Generated training scripts per form (each spoken by one training voice
            with both labels of its form: 2 utterances per script).
        val_scripts_per_form: int. Further generated scripts per form for `val` (training voices).
        test_scripts_per_form: int. Generated test scripts per form (held-out lexicon, unseen voices).
        test_voices_per_script: int. How many unseen voices speak each test script.
        handwritten_per_form: int or None. Hand-written scripts per form in `handwritten`; None = all 70.
        handwritten_voices_per_script: int. How many unseen voices speak each hand-written script.

    Utterances: train = `train_scripts_per_form * 3 * 2`, val likewise, test =
    `test_scripts_per_form * 3 * 2 * test_voices_per_script`, handwritten likewise.
    """

    train_voices: int
    test_voices: int
    train_scripts_per_form: int
    val_scripts_per_form: int
    test_scripts_per_form: int
    test_voices_per_script: int = 2
    handwritten_per_form: "int | None" = None
    handwritten_voices_per_script: int = 2


SIZES = {
    "default": DemoSize(train_voices=60, test_voices=10, train_scripts_per_form=800, val_scripts_per_form=80,
                        test_scripts_per_form=100, test_voices_per_script=2, handwritten_per_form=None,
                        handwritten_voices_per_script=2),
    # CI smoke runs: 48 train + 12 val + 12 test + 12 handwritten utterances, every label in every split.
    "tiny": DemoSize(train_voices=4, test_voices=2, train_scripts_per_form=8, val_scripts_per_form=2,
                     test_scripts_per_form=2, test_voices_per_script=1, handwritten_per_form=2,
                     handwritten_voices_per_script=1),
}
"""Size presets of the embedded corpus."""

SPLITS = ("train", "val", "test", "handwritten")


def _resolve_size(size):
    if isinstance(size, DemoSize):
        for field in dataclasses.fields(size):
            value = getattr(size, field.name)
            if value is None and field.name == "handwritten_per_form":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Expected DemoSize.{field.name} to be a non-negative integer. "
                                 f"Received: {field.name}={value!r}")
        for name in ("test_voices_per_script", "handwritten_voices_per_script"):
            if getattr(size, name) > size.test_voices:
                raise ValueError(f"DemoSize.{name}={getattr(size, name)} exceeds test_voices={size.test_voices}.")
        return size
    if size not in SIZES:
        raise ValueError(f"Unknown demo size {size!r}. Expected one of: {', '.join(SIZES)} (or a DemoSize).")
    return SIZES[size]


def _spoken_by(speakers, scripts, voices_per_script, offset=0):
    """(speaker, text, label) for every script with every label of its form, `voices_per_script` voices each.

    Voices rotate over the scripts, so every voice speaks about equally many; the k voices of one script are
    spread around the pool (`len(speakers) // voices_per_script` apart).
    """
    plan, stride = [], max(1, len(speakers) // max(1, voices_per_script))
    for i, (text, form) in enumerate(scripts):
        for k in range(voices_per_script):
            spk = speakers[(offset + i + k * stride) % len(speakers)]
            plan += [(spk, text, label) for label in FORMS[form]]
    return plan


def _handwritten_by_form(count):
    forms = script_forms(handwritten_scripts())
    return [(text, form) for form in FORMS for text in (forms[form] if count is None else forms[form][:count])]


def _without(scripts, texts, per_form):
    """The first `per_form` scripts of each form in `scripts` whose text is not in `texts` (order kept)."""
    kept, counts = [], dict.fromkeys(FORMS, 0)
    for text, form in scripts:
        if text not in texts and counts[form] < per_form:
            kept.append((text, form))
            counts[form] += 1
    short = {form: n for form, n in counts.items() if n < per_form}
    if short:
        raise RuntimeError(f"Too few generated scripts left after removing the hand-written ones: {short}.")
    return kept


# Generated scripts drawn per form beyond the size, so that the few that happen to equal a hand-written
# script ("where did he go") can be dropped: the hand-written set is never trained on.
_SPARE = 12


def _generated_scripts(size, seed):
    sets = generator.generate_scripts(seed=seed, train_per_form=size.train_scripts_per_form + _SPARE,
                                      val_per_form=size.val_scripts_per_form + _SPARE,
                                      test_per_form=size.test_scripts_per_form + _SPARE)
    handwritten = {text for text, _ in handwritten_scripts()}
    return (_without(sets.train, handwritten, size.train_scripts_per_form),
            _without(sets.val, handwritten, size.val_scripts_per_form),
            _without(sets.test, handwritten, size.test_scripts_per_form))


def _default_plan(size, seed):
    """(speaker, text, label, split) tuples of the default corpus, plus the speakers."""
    train, val, test = _generated_scripts(size, seed)
    train_speakers, test_speakers = speaker_pool(size.train_voices, size.test_voices, seed)
    if not train_speakers or not test_speakers:
        raise ValueError("The default demo corpus needs at least one training and one test voice.")
    parts = {
        "train": _spoken_by(train_speakers, train, 1),
        "val": _spoken_by(train_speakers, val, 1, offset=len(train)),
        "test": _spoken_by(test_speakers, test, size.test_voices_per_script),
        "handwritten": _spoken_by(test_speakers, _handwritten_by_form(size.handwritten_per_form),
                                  size.handwritten_voices_per_script, offset=1),
    }
    order = {s.speaker: k for k, s in enumerate(train_speakers + test_speakers)}
    plan = [(spk, text, label, split) for split in SPLITS for spk, text, label in parts[split]]
    plan.sort(key=lambda p: (order[p[0].speaker], SPLITS.index(p[3])))  # stable: keeps script/label order
    return plan, train_speakers + test_speakers


def _custom_plan(scripts, voices, seed):
    rows = handwritten_scripts() if scripts is None else read_scripts(scripts)
    if voices is None:
        default = SIZES["default"]  # the default corpus's unseen test voices (same ids, voices and jitter)
        speakers = speaker_pool(default.train_voices, default.test_voices, seed)[1]
    else:
        if isinstance(voices, str):
            voices = [v for v in voices.split(",") if v.strip()]
        speakers = [v if isinstance(v, Speaker) else parse_voice(v) for v in voices]
        if not speakers:
            raise ValueError("Expected at least one voice in `voices`. Received an empty list.")
        names = [s.speaker for s in speakers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Duplicate voices: {', '.join(duplicates)}")
    plan = [(spk, text, label, "test") for spk in speakers for text, label in rows]
    return plan, speakers


def _render_workers(num_jobs):
    """Processes that render a corpus: `$COAUDIOTEXT_RENDER_WORKERS`, else one per CPU (at most 4) for
    corpora of 400+ utterances (below that, starting the processes costs more than it saves)."""
    value = os.environ.get("COAUDIOTEXT_RENDER_WORKERS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"Expected COAUDIOTEXT_RENDER_WORKERS to be a positive integer. Received: {value!r}")
        return min(int(value), max(num_jobs, 1))
    return 1 if num_jobs < 400 else max(1, min(4, os.cpu_count() or 1))


def _render_job(job):
    """Renders one utterance and writes its wav atomically; returns its pitch ratio (NaN when not asked)."""
    text, voice, rate, pitch, pitch_range, path, with_ratio = job
    samples, sample_rate = render(text, voice, rate=rate, pitch=pitch, pitch_range=pitch_range)
    atomic_write_bytes(pathlib.Path(path), _wav_bytes(samples, sample_rate))
    return pitch_ratio(samples, sample_rate) if with_ratio else float("nan")


def _wav_bytes(samples, sample_rate):
    import soundfile

    # Encode in memory (writing to a file through soundfile fsyncs on close: ~7 ms a file).
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def _csv_text(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def build_demo_corpus(out_dir, scripts=None, voices=None, seed=0, split=None, size="default",
                      pitch_ratios=False, progress=True):
    """Renders the synthetic intention corpus and writes its manifest.

    Two modes:

    * **Default** (`scripts` and `voices` both None): generated scripts and a seeded pool of voices, split
      into `train`, `val`, `test` (held-out lexicon, unseen voices) and `handwritten` (the hand-written
      scripts, unseen voices), sized by `size`.
    * **Custom** (`scripts` and/or `voices` given): every row of the script file (default: the hand-written
      scripts) is spoken once by every voice (default: the seed's unseen test voices), all in split
      `split` (default `"test"`). This is how to score a model on sentences of your own.

    `split`, when given, puts every row in that split (in both modes).

    Writes `out_dir/manifest.csv` with columns `audio_path,text,label,speaker,split` (`audio_path` relative
    to `out_dir`, e.g. `audio/spk03/0012.wav`; `text` is the transcript without punctuation), 16-bit PCM
    wav files at 22,050 Hz, and `out_dir/speakers.csv` (speaker, voice, pitch, rate, pitch_range). Files are
    written atomically (temporary file, then rename). Same arguments, same bytes.

    Args:
        out_dir: str or path-like. Output folder (created if needed).
        scripts: str, path-like or None. A script TSV (`text<TAB>label`); see `read_scripts`.
        voices: list of str, comma-separated str, or None. espeak-ng voices as `VOICE[:PITCH[:RATE[:RANGE]]]`,
            e.g. `["en-us+f3", "en-gb-x-rp+m3:40:160"]`.
        seed: int. Seed of the scripts, voice pool, jitter and assignment. Defaults to 0.
        split: str or None. Put every row in this split. Defaults to None (default mode: train/val/test/
            handwritten; custom mode: `"test"`).
        size: str or DemoSize. `"default"` or `"tiny"` (default mode only). Defaults to `"default"`.
        pitch_ratios: bool. Add a `pitch_ratio` column (see `pitch_ratio`; ~30 ms per utterance).
            Defaults to False.
        progress: bool. Show a tqdm progress bar. Defaults to True.

    Returns:
        pathlib.Path of the manifest.

    Example:

    >>> manifest = build_demo_corpus("/tmp/demo-tiny", size="tiny", progress=False)
    >>> manifest.name
    'manifest.csv'
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` to be an integer. Received: seed={seed!r}")
    if split is not None and (not isinstance(split, str) or not split.strip() or "," in split):
        raise ValueError(f"Expected `split` to be a non-empty name such as 'test'. Received: split={split!r}")
    if scripts is None and voices is None:
        plan, speakers = _default_plan(_resolve_size(size), int(seed))
    else:
        plan, speakers = _custom_plan(scripts, voices, int(seed))
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    from tqdm.auto import tqdm

    jobs, rows, counters = [], [], {}
    for spk, text, label, row_split in plan:
        index = counters[spk.speaker] = counters.get(spk.speaker, -1) + 1
        relative = f"audio/{spk.speaker}/{index:04d}.wav"
        jobs.append((text + PUNCTUATION[label], spk.voice, spk.rate, spk.pitch, spk.pitch_range,
                     str(out_dir / relative), pitch_ratios))
        rows.append(dict(zip(MANIFEST_COLUMNS, (relative, text, label, spk.speaker, split or row_split))))
    workers = _render_workers(len(jobs))
    bar = tqdm(total=len(jobs), desc=f"rendering demo corpus ({workers} process{'es' if workers > 1 else ''})",
               unit="utt", disable=not progress, leave=False)
    if workers == 1:
        ratios = [bar.update() or _render_job(job) for job in jobs]
    else:
        import concurrent.futures
        import multiprocessing

        # spawn, not fork: the caller may hold TensorFlow's threads. Each worker has its own espeak-ng engine;
        # rendering is bit-exact per utterance, so the bytes do not depend on the number of workers.
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            ratios = []
            for ratio in pool.map(_render_job, jobs, chunksize=16):
                ratios.append(ratio)
                bar.update()
    bar.close()
    if pitch_ratios:
        for row, ratio in zip(rows, ratios):
            row["pitch_ratio"] = "" if not np.isfinite(ratio) else f"{ratio:.4f}"
    atomic_write_text(out_dir / "speakers.csv", _csv_text(("speaker", "voice", "pitch", "rate", "pitch_range"),
                      [(s.speaker, s.voice, s.pitch, s.rate, s.pitch_range) for s in speakers]))
    manifest = out_dir / "manifest.csv"
    write_manifest(rows, manifest, columns=list(MANIFEST_COLUMNS) + (["pitch_ratio"] if pitch_ratios else []))
    return manifest


# ---------------------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------------------


def _corpus_key(size_name, size, seed):
    digest = hashlib.sha256()
    digest.update(pathlib.Path(generator.__file__).read_bytes())
    digest.update(repr(handwritten_scripts()).encode())
    digest.update(repr((GENERATOR_VERSION, dataclasses.asdict(size), BASE_VOICES, VARIANTS, FEMALE_SHARE,
                        PITCH_JITTER, RANGE_JITTER, RATE_JITTER, PUNCTUATION)).encode())
    return f"demo-{size_name}-{seed}-{digest.hexdigest()[:12]}"


def demo_manifest(size="default", seed=0, progress=True):
    """The cached default demo corpus, built on first use.

    Lives in `cache_root()/demo-<size>-<seed>-<hash>/` where the hash covers the generator, the hand-written
    scripts, the generator version and the size, voice and jitter settings. A missing corpus is built in a
    temporary folder beside it and renamed into place, so an interrupted build never leaves a half corpus.

    Args:
        size: str. `"default"` or `"tiny"`. Defaults to `"default"`.
        seed: int. Defaults to 0.
        progress: bool. Show a progress bar while rendering. Defaults to True.

    Returns:
        pathlib.Path of `manifest.csv`.
    """
    if isinstance(size, DemoSize):
        raise ValueError("demo_manifest caches named sizes only; use build_demo_corpus for a DemoSize.")
    resolved = _resolve_size(size)
    root = cache_root()
    final = root / _corpus_key(size, resolved, seed)
    manifest = final / "manifest.csv"
    if manifest.is_file():
        return manifest
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=root))
    try:
        build_demo_corpus(tmp, seed=seed, size=size, progress=progress)
        os.chmod(tmp, 0o755)  # mkdtemp made it private
        try:
            os.rename(tmp, final)
        except OSError:
            if not manifest.is_file():  # not a concurrent build that finished first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def cache_dir():
    """The user cache folder: `$COAUDIOTEXT_CACHE`, else `~/.cache/coaudiotext` (see `coaudiotext.cache`)."""
    return cache_root()


# ---------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.data.demo",
        description=(
            "Render the synthetic intention corpus with espeak-ng. Without --scripts/--voices: generated English "
            "scripts and a seeded voice pool, split train/val/test/handwritten (test = unseen voices, unseen "
            "scripts and held-out words; handwritten = the hand-written scripts, unseen voices). With --scripts "
            "and/or --voices: every script row spoken once by every voice, all in split 'test' unless --split "
            "says otherwise. Writes OUT/manifest.csv (audio_path,text,label,speaker,split), OUT/speakers.csv "
            "and OUT/audio/SPEAKER/NNNN.wav."
        ),
        epilog=(
            "Script TSV: header 'text<TAB>label', then one 'TEXT<TAB>LABEL' per line, labels "
            f"{', '.join(f'{k} ({v})' for k, v in PUNCTUATION.items())}; the punctuation is appended when speaking "
            "and left out of the transcript. Examples:\n"
            "  python -m coaudiotext.data.demo --out /tmp/demo --size tiny --report\n"
            "  python -m coaudiotext.data.demo --out /tmp/mine --scripts my.tsv --voices en-us+f3,en-gb-x-rp+m3:40:160\n"
            "  python -m coaudiotext.data.generator --split test --out new.tsv   # more generated scripts"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="output folder; default: the user cache (only without --scripts/--voices/--split)")
    parser.add_argument("--scripts", type=pathlib.Path, default=None, help="script TSV (text<TAB>label)")
    parser.add_argument("--voices", default=None,
                        help="comma-separated espeak-ng voices VOICE[:PITCH[:RATE[:RANGE]]], e.g. en-us+f3,en:40:160 "
                             "(default with --scripts: the default corpus's 10 unseen test voices)")
    parser.add_argument("--seed", type=int, default=0, help="seed of scripts, voices, jitter and assignment (default 0)")
    parser.add_argument("--split", default=None, help="put every row in this split")
    parser.add_argument("--size", default="default", choices=sorted(SIZES),
                        help="corpus size without --scripts/--voices (default: default)")
    parser.add_argument("--pitch-ratios", action="store_true", help="add a pitch_ratio column to the manifest")
    parser.add_argument("--report", action="store_true",
                        help="print sizes, disjointness across splits, text-only ceiling and the pitch check")
    parser.add_argument("--report-max-per-label", type=int, default=100,
                        help="utterances per label analysed by the pitch check (default 100; 0 = all)")
    parser.add_argument("--list-voices", action="store_true", help="list espeak-ng languages and variants, then exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--asr-wer", type=float, default=None, metavar="WER",
                        help="also write MANIFEST-asr-werWER-seedN.csv with a SIMULATED asr_text column at this word "
                             "error rate (seeded substitutions/deletions/insertions; no recogniser is run)")
    return parser


def main(argv=None):
    """`python -m coaudiotext.data.demo`: build (and optionally report on) a demo corpus."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_voices:
        languages, variants = list_voices()
        print("languages:", " ".join(languages))
        print("variants:", " ".join(variants))
        print("demo pool:", " ".join(BASE_VOICES), "x", " ".join(VARIANTS))
        return 0
    custom = args.scripts is not None or args.voices is not None or args.split is not None
    try:
        if args.out is None:
            if custom:
                parser.error("--out is required with --scripts, --voices or --split")
            manifest = demo_manifest(args.size, args.seed, progress=not args.quiet)
        else:
            manifest = build_demo_corpus(args.out, scripts=args.scripts, voices=args.voices, seed=args.seed,
                                         split=args.split, size=args.size, pitch_ratios=args.pitch_ratios,
                                         progress=not args.quiet)
    except (ScriptFileError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.asr_wer is not None:
        from coaudiotext.data.asr_sim import add_simulated_asr

        manifest = add_simulated_asr(manifest, args.asr_wer, seed=args.seed)
    print(manifest)
    if args.report:
        text, _ = report(manifest, max_per_label=args.report_max_per_label or None, progress=not args.quiet)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
