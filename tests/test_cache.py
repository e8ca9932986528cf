"""`coaudiotext.cache.cached_arrays`, the one array cache: a validated sidecar, in-place refresh, a lock.

The feature pipeline (`coaudiotext.data.pipeline._cached`) and the pretrained encoders
(`coaudiotext.features.pretrained`) both store their arrays through it; damaged files are covered by
tests/test_bad_inputs.py, the encoders' stale sidecar by tests/test_pretrained.py.
"""

import json
import os
import threading
import time

import numpy as np
import pytest

from coaudiotext import cache


def _counter(value=1.0, delay=0.0):
    calls = []

    def compute():
        calls.append(1)
        time.sleep(delay)
        return (np.full((2, 3), value, np.float32), np.arange(2, dtype=np.int32))

    return compute, calls


def test_entry_is_reused_while_its_record_matches(tmp_path):
    compute, calls = _counter()
    made_from = {"settings": {"n": 3}, "inputs": "abc"}
    first = cache.cached_arrays(tmp_path, "demo", made_from, compute)
    again = cache.cached_arrays(tmp_path, "demo", dict(made_from), compute)
    assert len(calls) == 1
    assert [a.tolist() for a in again] == [a.tolist() for a in first] and again[1].dtype == np.int32
    (sidecar,) = tmp_path.glob("demo-*.json")
    record = json.loads(sidecar.read_text())
    assert record["settings"] == {"n": 3} and record["inputs"] == "abc" and len(record["sha256"]) == 64
    assert record["arrays"] == [["<f4", [2, 3]], ["<i4", [2]]] and "date" in record
    assert cache.cached_arrays(tmp_path, "demo", made_from, compute, use_cache=False) is not None and len(calls) == 2


def test_another_record_is_another_entry(tmp_path):
    compute_one, calls_one = _counter(1.0)
    compute_two, calls_two = _counter(2.0)
    one = cache.cached_arrays(tmp_path, "demo", {"inputs": "a"}, compute_one)
    two = cache.cached_arrays(tmp_path, "demo", {"inputs": "b"}, compute_two)
    assert one[0][0, 0] == 1.0 and two[0][0, 0] == 2.0 and len(list(tmp_path.glob("demo-*.npz"))) == 2


def test_a_field_outside_the_key_refreshes_the_entry_in_place(tmp_path):
    old, _ = _counter(1.0)
    new, calls = _counter(2.0)
    keys = ("inputs",)
    cache.cached_arrays(tmp_path, "demo", {"inputs": "a", "versions": "1"}, old, key_fields=keys)
    (entry,) = tmp_path.glob("demo-*.npz")
    refreshed = cache.cached_arrays(tmp_path, "demo", {"inputs": "a", "versions": "2"}, new, key_fields=keys)
    assert len(calls) == 1 and refreshed[0][0, 0] == 2.0  # never the arrays of the old record
    assert list(tmp_path.glob("demo-*.npz")) == [entry]
    assert json.loads(entry.with_suffix(".json").read_text())["versions"] == "2"


def test_a_file_without_its_sidecar_is_not_used(tmp_path):
    old, _ = _counter(1.0)
    new, calls = _counter(2.0)
    cache.cached_arrays(tmp_path, "demo", {"inputs": "a"}, old)
    (entry,) = tmp_path.glob("demo-*.npz")
    entry.with_suffix(".json").unlink()
    assert cache.cached_arrays(tmp_path, "demo", {"inputs": "a"}, new)[0][0, 0] == 2.0 and len(calls) == 1


def test_changed_input_file_changes_the_pipeline_entry(tmp_path, monkeypatch):
    from coaudiotext.data import pipeline

    monkeypatch.setenv("COAUDIOTEXT_CACHE", str(tmp_path / "cache"))
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"one")
    first, _ = _counter(1.0)
    second, calls = _counter(2.0)
    assert pipeline._cached("mel_rms", {"x": 1}, [str(wav)], [], first)[0][0, 0] == 1.0
    assert pipeline._cached("mel_rms", {"x": 1}, [str(wav)], [], second)[0][0, 0] == 1.0 and not calls
    wav.write_bytes(b"other")  # another size (and mtime): other features
    os.utime(wav, ns=(0, 10**9))
    assert pipeline._cached("mel_rms", {"x": 1}, [str(wav)], [], second)[0][0, 0] == 2.0 and len(calls) == 1
    assert pipeline._cached("mel_rms", {"x": 1}, [str(wav)], ["a text"], second) and len(calls) == 2


@pytest.mark.skipif(os.name != "posix", reason="the entry lock uses fcntl.flock (POSIX); elsewhere writes are only atomic")
def test_concurrent_callers_compute_an_entry_once(tmp_path):
    compute, calls = _counter(delay=0.5)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.cached_arrays(tmp_path, "demo", {"i": 1}, compute)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 3  # the others waited for the lock, then read the entry
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".lock", ".npz"]  # no temporary files


def test_fingerprint_and_file_stamp(tmp_path):
    assert cache.fingerprint("a", "b") != cache.fingerprint("b", "a") != cache.fingerprint("ab")
    assert cache.fingerprint(b"x") != cache.fingerprint("x") != cache.fingerprint(["x"])
    path = tmp_path / "f.bin"
    assert cache.file_stamp(path) == str(path)  # absent: the path alone
    path.write_bytes(b"12345")
    assert cache.file_stamp(path).startswith(f"{path.resolve()}|5|")


def test_reserved_sidecar_fields_are_refused(tmp_path):
    with pytest.raises(ValueError, match="sha256"):
        cache.save_arrays(tmp_path / "x.npz", (np.zeros(2),), made_from={"sha256": "mine"})
