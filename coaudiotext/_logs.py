"""Quiet TensorFlow start-up for the command lines.

`import coaudiotext` never touches `os.environ`. The command lines (`python -m coaudiotext.train`,
`evaluate`, `predict`, ...) call `quiet_tensorflow()` once their arguments are parsed (so `--help`
and argument errors come before any heavy import). It

- sets `TF_CPP_MIN_LOG_LEVEL=3` (no C++ info/warning logs) and `TF_ENABLE_ONEDNN_OPTS=0` (exact,
  non-oneDNN CPU kernels: the same numbers on every machine) unless the user set them, and
- makes the first import of TensorFlow (by whatever imports it, later) run with the process's stderr
  captured, then writes back every captured line except
  the start-up lines that `TF_CPP_MIN_LOG_LEVEL` cannot silence because they are printed before
  TensorFlow reads it (absl's "All log messages before absl::InitializeLog() ..." and the CUDA stub's
  "Could not find cuda drivers ..." on machines without a GPU, each printed twice).

If the import fails, everything it printed is written back before the error propagates.

Library users who want the same settings set the two variables before importing TensorFlow.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
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
    """Sets the command lines' TensorFlow environment; TensorFlow's first import then runs without its noise.

    Nothing is imported here (argument errors found after this call still come before any heavy import): a
    post-import hook captures stderr while `tensorflow` is first imported, by whichever module imports it
    (Keras' TensorFlow backend does). Does nothing more than the environment defaults when TensorFlow is
    already imported.
    """
    for name, value in TF_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietTensorFlowImport())


def _captured(run, module):
    """Runs `run(module)` with file descriptor 2 captured; writes back all but the `NOISE` lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = True
        try:
            run(module)
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            sys.stderr.write(text if failed else filter_noise(text))
            sys.stderr.flush()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Wraps the first `import tensorflow` in `_captured` (then removes itself)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module
        spec.loader.exec_module = lambda module: _captured(run, module)
        return spec
