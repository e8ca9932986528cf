"""Quiet TensorFlow start-up for the command lines.

`import coaudiotext` never touches `os.environ`. The command lines (`python -m coaudiotext.train`,
`evaluate`, `predict`, ...) call `quiet_tensorflow()` once their arguments are parsed (so `--help`
and argument errors come before any heavy import). It

- sets `TF_CPP_MIN_LOG_LEVEL=3` (no C++ info/warning logs) and `TF_ENABLE_ONEDNN_OPTS=0` (exact,
  non-oneDNN CPU kernels: the same numbers on every machine) unless the user set them, and
- imports TensorFlow with the process's stderr captured, then writes back every captured line except
  the start-up lines that `TF_CPP_MIN_LOG_LEVEL` cannot silence because they are printed before
  TensorFlow reads it (absl's "All log messages before absl::InitializeLog() ..." and the CUDA stub's
  "Could not find cuda drivers ..." on machines without a GPU, each printed twice).

If the import fails, everything it printed is written back before the error propagates.

Library users who want the same settings set the two variables before importing TensorFlow.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

__all__ = ["TF_ENVIRONMENT", "NOISE", "quiet_tensorflow", "filter_noise"]

TF_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
"""Defaults the command lines set for themselves (a value the user exported wins)."""

NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|cudart_stub\.cc:\d+\] Could not find cuda drivers"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|TF-TRT Warning: Could not find TensorRT"
    r"|oneDNN custom operations are on"
)
"""Start-up lines of `import tensorflow` that say nothing to a CPU user."""


def filter_noise(text):
    """`text` without the lines matching `NOISE` (kept lines keep their newline)."""
    return "".join(line for line in text.splitlines(keepends=True) if not NOISE.search(line))


def quiet_tensorflow():
    """Sets the command lines' TensorFlow environment and imports TensorFlow without its start-up noise.

    Does nothing more than the environment defaults when TensorFlow is already imported or not installed.
    """
    for name, value in TF_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if "tensorflow" in sys.modules:
        return
    try:
        import importlib.util

        if importlib.util.find_spec("tensorflow") is None:
            return
    except (ImportError, ValueError):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = True
        try:
            import tensorflow  # noqa: F401

            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            sys.stderr.write(text if failed else filter_noise(text))
            sys.stderr.flush()
