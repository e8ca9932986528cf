"""Two `train` processes started together on one empty cache: both build it, neither breaks the other.

Both render the demo-tiny corpus (each in its own temporary folder, renamed into place: the second rename
loses and uses the winner's) and compute the same feature arrays (written through per-process temporary files
and a rename, with a checksum sidecar). Both must succeed with identical metrics and leave one corpus folder
and no temporary files behind.
"""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_two_runs_on_one_empty_cache(tmp_path):
    cache = tmp_path / "cache"  # fresh and empty: both processes find nothing and build it
    env = dict(os.environ, COAUDIOTEXT_CACHE=str(cache), TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    runs = [tmp_path / "run1", tmp_path / "run2"]
    processes = [
        subprocess.Popen([sys.executable, "-m", "coaudiotext.train", "--model", "bilstm", "--data", "demo-tiny",
                          "--epochs", "1", "--out", str(out), "--quiet"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for out in runs
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, (out[-2000:], err[-3000:])
        assert "damaged" not in err and "Traceback" not in err, err[-3000:]

    first, second = (json.loads((run / "metrics.json").read_text()) for run in runs)
    for split in ("val", "test"):
        assert first[split] == second[split], split
    assert first.get("extra") == second.get("extra")
    histories = [(run / "history.csv").read_text().splitlines() for run in runs]
    loss = lambda lines: [row.split(",")[lines[0].split(",").index("loss")] for row in lines[1:]]  # noqa: E731
    assert loss(histories[0]) == loss(histories[1])

    corpora = [p.name for p in cache.iterdir() if p.name.startswith("demo-tiny")]
    assert len(corpora) == 1, corpora
    leftovers = [str(p.relative_to(cache)) for p in cache.rglob(".*")]
    assert leftovers == [], leftovers  # no temporary folders or files of either process
