"""The shipped weights: checksums, the README table reproduced by `evaluate`, and new manifests.

`weights/results.json` is written by `python -m coaudiotext.results` next to the `.keras` files;
evaluating each file on the default demo corpus' test split must give the same numbers (the corpus
is re-rendered deterministically on a fresh machine). One flipped prediction is tolerated, in case
another CPU rounds a near-tie differently.
"""

import hashlib
import json
import pathlib

import pytest

WEIGHTS = pathlib.Path(__file__).resolve().parents[1] / "weights"
RESULTS = json.loads((WEIGHTS / "results.json").read_text())["models"] if (WEIGHTS / "results.json").exists() else {}


def test_weights_and_table_exist():
    assert RESULTS, "weights/results.json is missing: run `python -m coaudiotext.results`"
    for key in RESULTS:
        assert (WEIGHTS / f"{key}.keras").is_file(), key


def test_checksums():
    lines = (WEIGHTS / "SHA256SUMS").read_text().split("\n")
    listed = dict(reversed(line.split("  ", 1)) for line in lines if line.strip())
    assert set(listed) == {p.name for p in WEIGHTS.glob("*.keras")}
    for name, digest in listed.items():
        assert hashlib.sha256((WEIGHTS / name).read_bytes()).hexdigest() == digest, name


ROWS = [(key, split) for key in sorted(RESULTS) for split in ["test"] + sorted(RESULTS[key].get("extra", {}))]


@pytest.mark.parametrize("key,split", ROWS)
def test_evaluate_reproduces_the_table_row(key, split, monkeypatch):
    from coaudiotext.evaluate import evaluate

    monkeypatch.chdir(WEIGHTS.parent)  # pretrained-feature rows name their encoders as weights/encoders/...
    metrics = evaluate(WEIGHTS / f"{key}.keras", "demo", split=split)
    expected = RESULTS[key]["test"] if split == "test" else RESULTS[key]["extra"][split]
    assert metrics["n"] == expected["n"]
    tolerance = 1.0 / expected["n"] + 1e-9
    for name in ("accuracy", "ua", "macro_f1", "weighted_f1"):
        assert metrics[name] == pytest.approx(expected[name], abs=2 * tolerance), name


def test_every_tutorial_row_reports_handwritten():
    for key in ("text_bilstm_att", "bilstm", "para", "mha_a_t", "ca"):
        if key in RESULTS:
            assert RESULTS[key].get("extra", {}).get("handwritten", {}).get("n") == 840, key


def test_shipped_model_reads_new_voices_and_sentences(tmp_path):
    """A new manifest from the generator, with unseen voices, sentences and characters (é, digits)."""
    from coaudiotext.data.demo import build_demo_corpus
    from coaudiotext.evaluate import evaluate

    key = next(k for k in ("mha_a_t", "para", "ca", "mha_a") if k in RESULTS)
    scripts = tmp_path / "new.tsv"
    scripts.write_text("text\tlabel\nthe café opens at 9\ts\nthe café opens at 9\tyn\n"
                       "why is the naïve robot late\twh\nbring me 2 crêpes\tc\nbring me 2 crêpes\tr\n", encoding="utf-8")
    manifest = build_demo_corpus(tmp_path / "new", scripts=scripts, voices="en-us+f4,en+m2:60:170", progress=False)
    metrics = evaluate(WEIGHTS / f"{key}.keras", str(manifest), split="test")
    assert metrics["n"] == 10
    assert sum(row["support"] for row in metrics["per_class"].values()) == 10
