"""Where coaudiotext keeps what it can rebuild, and how it writes files so nothing is ever half-written.

* `cache_root(*parts)`: `$COAUDIOTEXT_CACHE` (default `~/.cache/coaudiotext`), joined with `parts` and
  created. Rendered demo corpora, feature arrays and manifests of real corpora live under it; deleting
  it only costs time.
* `atomic_write_bytes/text/json(path, ...)`: write a temporary file beside `path`, then rename it into
  place, so a crash or a full disk leaves either the old file or the new one, never a torn one (and the
  temporary file is removed on failure). `atomic_path(path)` is the same for writers that take a file
  name (`savefig`, `np.savez`, `save_weights`, `csv` on an open file): the one way every module writes.
* `save_arrays(path, arrays)` / `load_arrays(path)`: cached numpy arrays (`.npz`) with a SHA-256 sidecar;
  a truncated, garbled or emptied file, or one holding NaN/inf, is detected, named in a warning, deleted
  and reported as absent (`None`), so the caller rebuilds it.

Example:

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "note.json"
>>> atomic_write_json(target, {"epoch": 3})
>>> target.read_text()
'{\\n  "epoch": 3\\n}'
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile

__all__ = ["cache_root", "atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "save_arrays", "load_arrays"]


def cache_root(*parts):
    """The cache folder (`$COAUDIOTEXT_CACHE` or `~/.cache/coaudiotext`) joined with `parts`, created.

    Args:
        *parts: str. Sub-folders, e.g. `cache_root("features")`.

    Returns:
        pathlib.Path of an existing folder.
    """
    root = os.environ.get("COAUDIOTEXT_CACHE")
    base = pathlib.Path(root).expanduser() if root else pathlib.Path.home() / ".cache" / "coaudiotext"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success it is renamed onto `path`, on failure removed.

    The temporary name keeps the suffix(es) of `path` (writers such as `savefig` or `save_weights` choose
    the format from it). The folder of `path` is created if needed.

    Args:
        path: str or path-like. The target.

    Example:

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("a,b\\n")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('a,b\\n', ['table.csv'])
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffixes = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffixes)] if suffixes else path.name
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.", suffix=f".tmp{suffixes}")  # unique per call
    os.close(handle)
    tmp = pathlib.Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path, data):
    """Writes `data` to `path` through a temporary file in the same folder and a rename.

    Args:
        path: str or path-like. The target; its folder is created if needed.
        data: bytes.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path, text, encoding="utf-8"):
    """`atomic_write_bytes` of `text` encoded with `encoding` (default UTF-8)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path, payload, **dumps_options):
    """`atomic_write_text` of `json.dumps(payload, indent=2, default=str, **dumps_options)`."""
    dumps_options.setdefault("indent", 2)
    dumps_options.setdefault("default", str)
    atomic_write_text(path, json.dumps(payload, **dumps_options))


def _sha256(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()


def save_arrays(path, arrays):
    """Writes a tuple of numpy arrays to `path` (`.npz`) and its checksum to `path + ".sha256"`, atomically."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **{f"a{i}": array for i, array in enumerate(arrays)})
    data = buffer.getvalue()
    path = pathlib.Path(path)
    atomic_write_bytes(path, data)
    atomic_write_text(path.with_name(path.name + ".sha256"), _sha256(data) + "\n")


def load_arrays(path, require_finite=True):
    """The arrays `save_arrays` wrote to `path`, or None when absent or damaged (then deleted, with a warning).

    Damaged: the checksum differs (truncated or garbled file), the file cannot be read, or (with
    `require_finite`) a float array holds NaN/inf. A file without sidecar (older caches) is accepted if
    it reads cleanly, and gets one.
    """
    import io
    import warnings

    import numpy as np

    path = pathlib.Path(path)
    if not path.exists():
        return None
    sidecar = path.with_name(path.name + ".sha256")
    problem = None
    try:
        data = path.read_bytes()
        if sidecar.exists() and sidecar.read_text().strip() != _sha256(data):
            problem = "checksum mismatch (truncated or garbled)"
        else:
            with np.load(io.BytesIO(data)) as stored:
                arrays = tuple(stored[f"a{i}"] for i in range(len(stored.files)))
            if require_finite and any(a.dtype.kind == "f" and not np.isfinite(a).all() for a in arrays):
                problem = "holds NaN or inf values"
    except Exception as error:  # BadZipFile, CRC errors, EOFError, ValueError ...
        problem = f"unreadable ({type(error).__name__}: {error})"
    if problem:
        warnings.warn(f"cached file {path} is damaged: {problem}; deleted, it will be rebuilt.", UserWarning,
                      stacklevel=2)
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        return None
    if not sidecar.exists():
        atomic_write_text(sidecar, _sha256(data) + "\n")
    return arrays
