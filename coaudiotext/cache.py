"""Where coaudiotext keeps what it can rebuild, and how it writes files so nothing is ever half-written.

* `cache_root(*parts)`: `$COAUDIOTEXT_CACHE` (default `~/.cache/coaudiotext`), joined with `parts` and
  created. Rendered demo corpora, feature arrays and manifests of real corpora live under it; deleting
  it only costs time.
* `atomic_write_bytes/text/json(path, ...)`: write a temporary file beside `path`, then rename it into
  place, so a crash or a full disk leaves either the old file or the new one, never a torn one (and the
  temporary file is removed on failure). `atomic_path(path)` is the same for writers that take a file
  name (`savefig`, `np.savez`, `save_weights`, `csv` on an open file): the one way every module writes.
* `cached_arrays(folder, kind, made_from, compute)`: the one array cache (the feature pipeline's and the
  pretrained encoders'). An entry is `folder/KIND-KEY.npz` plus a JSON sidecar `KIND-KEY.json`; KEY is a
  `fingerprint` of what the arrays are made from (settings, inputs: `file_stamp` of each file, texts), and
  the sidecar records all of it, the arrays' SHA-256, dtypes and shapes, and the date. An entry is used
  only when its sidecar matches what the caller would make it from now (a changed record, e.g. another
  library version, recomputes it in place) and its file is intact. Reading and (re)computing an entry
  hold an exclusive lock (`KIND-KEY.lock`, kept beside it), so processes that need the same entry at the
  same time compute it once and never see it half-replaced.
* `save_arrays(path, arrays)` / `load_arrays(path)`: the entry files themselves. A truncated, garbled or
  emptied file, or one holding NaN/inf, is detected, named in a warning, deleted and reported as absent
  (`None`), so the caller rebuilds it; so is, with a log line only, a file without sidecar or a stale one.

Example:

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "note.json"
>>> atomic_write_json(target, {"epoch": 3})
>>> target.read_text()
'{\\n  "epoch": 3\\n}'
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
import pathlib
import tempfile

__all__ = [
    "cache_root",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "fingerprint",
    "file_stamp",
    "cached_arrays",
    "save_arrays",
    "load_arrays",
]

logger = logging.getLogger(__name__)

_SIDECAR_FIELDS = ("sha256", "arrays", "date")  # written by `save_arrays`; never part of a record


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
    return hashlib.sha256(data).hexdigest()


def fingerprint(*parts):
    """24 hex digits of a SHA-256 over `parts`, each told apart by its type and a separator.

    Args:
        *parts: str (hashed as UTF-8), bytes (as they are) or anything JSON-able (hashed as
            `json.dumps(part, sort_keys=True, default=str)`).

    Returns:
        str.

    Example:

    >>> fingerprint("a", "b") == fingerprint("a", "b") != fingerprint("ab")
    True
    >>> fingerprint("[1]") != fingerprint([1])
    True
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            digest.update(b"b" + part)
        elif isinstance(part, str):
            digest.update(b"s" + part.encode("utf-8"))
        else:
            digest.update(b"j" + json.dumps(part, sort_keys=True, default=str).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def file_stamp(path):
    """`"ABSOLUTE_PATH|SIZE|MTIME_NS"` of a file (what a cache key says of an input file), or the path if absent."""
    path = os.fspath(path)
    try:
        stat = os.stat(path)
    except OSError:
        return path
    return f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}"


def _json_record(record):
    """`record` as it reads back from JSON (tuples become lists), so a stored record compares equal."""
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def _sidecar(path):
    return path.with_suffix(".json")


def save_arrays(path, arrays, made_from=None, info=None):
    """Writes a tuple of numpy arrays to `path` (`.npz`) and its sidecar `path.with_suffix(".json")`, atomically.

    Args:
        path: str or path-like. The `.npz` file.
        arrays: sequence of numpy arrays.
        made_from: dict or None. What the arrays are made from (JSON-able); `load_arrays(path, made_from)`
            returns them only when this matches. Defaults to None (`{}`).
        info: dict or None. More sidecar fields, recorded but not compared. Defaults to None.
    """
    import io

    import numpy as np

    record = {**_json_record(made_from or {}), **_json_record(info or {})}
    clashes = sorted(set(record) & set(_SIDECAR_FIELDS))
    if clashes:
        raise ValueError(f"Sidecar fields {clashes} are written by save_arrays itself; rename them.")
    arrays = [np.asarray(array) for array in arrays]
    buffer = io.BytesIO()
    np.savez(buffer, **{f"a{i}": array for i, array in enumerate(arrays)})
    data = buffer.getvalue()
    path = pathlib.Path(path)
    record.update(
        sha256=_sha256(data),
        arrays=[[array.dtype.str, list(array.shape)] for array in arrays],
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    atomic_write_bytes(path, data)
    atomic_write_json(_sidecar(path), record, ensure_ascii=False)


def _read_intact(path, sidecar, require_finite):
    """`(arrays, None, record)` from `path` and its sidecar, or `(None, problem, record)` when the file is not
    the one its sidecar describes."""
    import io

    import numpy as np

    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8"))
        data = path.read_bytes()
        if recorded.get("sha256") != _sha256(data):
            return None, "checksum mismatch (truncated or garbled)", recorded
        with np.load(io.BytesIO(data)) as stored:
            arrays = tuple(stored[f"a{i}"] for i in range(len(stored.files)))
    except Exception as error:  # BadZipFile, CRC errors, EOFError, ValueError, JSONDecodeError ...
        return None, f"unreadable ({type(error).__name__}: {error})", {}
    if require_finite and any(a.dtype.kind == "f" and not np.isfinite(a).all() for a in arrays):
        return None, "holds NaN or inf values", recorded
    return arrays, None, recorded


def load_arrays(path, made_from=None, require_finite=True):
    """The arrays `save_arrays` wrote to `path`, or None when absent, damaged or stale.

    Damaged (then deleted, with a warning naming the file): the checksum differs (truncated or garbled
    file), the file or its sidecar cannot be read, or (with `require_finite`) a float array holds NaN/inf.
    Absent too (with a log line; the file is left to be overwritten): a file without sidecar (an older
    cache: nothing says what it holds), or a stale one, a field of `made_from` differing from the recorded
    one (the log line names the fields).

    Args:
        path: str or path-like. The `.npz` file.
        made_from: dict or None. The record the arrays must have been made from. Defaults to None (any).
        require_finite: bool. Float arrays must be finite. Defaults to True.
    """
    import warnings

    path = pathlib.Path(path)
    sidecar = _sidecar(path)
    if not path.exists():
        return None
    if not sidecar.exists():
        logger.info("Cached file %s has no sidecar (an older cache); it will be rebuilt.", path)
        return None
    arrays, problem, recorded = _read_intact(path, sidecar, require_finite)
    if problem:
        warnings.warn(f"cached file {path} is damaged: {problem}; deleted, it will be rebuilt.", UserWarning,
                      stacklevel=2)
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        return None
    expected = _json_record(made_from or {})
    stale = sorted(key for key in expected if recorded.get(key) != expected[key])
    if stale:
        logger.info("Cached file %s is stale (%s differ); recomputing.", path.name, ", ".join(stale))
        return None
    return arrays


@contextlib.contextmanager
def _locked(path):
    """Holds an exclusive lock on `path` (created, kept) while the block runs; no lock where the OS has none."""
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic writes only
        yield
        return
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as error:  # a file system without locks: atomic writes only
            logger.info("No lock on %s (%s); going on without.", path, error)
        yield


def cached_arrays(folder, kind, made_from, compute, key_fields=None, info=None, use_cache=True,
                  require_finite=True):
    """The arrays `compute()` returns, read from the cache when a matching, intact entry is there.

    The entry is `folder/KIND-KEY.npz` with its sidecar `KIND-KEY.json`, KEY the `fingerprint` of
    `kind` and the `key_fields` of `made_from`. It is returned only when every field of `made_from`
    matches its sidecar and its file is intact (`load_arrays`); otherwise `compute()` runs and its
    result replaces the entry (fields outside `key_fields`, such as library versions, thus update an
    entry in place instead of leaving the old one behind). Reading and computing hold the entry's lock.

    Args:
        folder: str or path-like. The cache folder (created).
        kind: str. What the arrays are (`mel_rms`, `text`, ...): the file names' prefix.
        made_from: dict. JSON-able record of everything the arrays depend on: settings, a fingerprint
            of the inputs, model identity, versions.
        compute: callable returning a tuple of numpy arrays.
        key_fields: sequence of str or None. The fields of `made_from` that name the entry. Defaults
            to None (all of them).
        info: callable or None. `info(arrays)` -> dict of more sidecar fields (recorded, not compared).
        use_cache: bool. False: just `compute()`, the cache untouched. Defaults to True.
        require_finite: bool. A cached float array with NaN/inf counts as damaged. Defaults to True.

    Returns:
        tuple of numpy arrays.

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> calls = []
    >>> def compute():
    ...     calls.append(1)
    ...     return (np.arange(3.0),)
    >>> first = cached_arrays(folder, "demo", {"settings": {"n": 3}}, compute)
    >>> again = cached_arrays(folder, "demo", {"settings": {"n": 3}}, compute)
    >>> again[0].tolist(), len(calls)
    ([0.0, 1.0, 2.0], 1)
    """
    if not use_cache:
        return compute()
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    named = made_from if key_fields is None else {field: made_from[field] for field in key_fields}
    stem = f"{kind}-{fingerprint(kind, named)}"
    path = folder / f"{stem}.npz"
    with _locked(folder / f"{stem}.lock"):
        arrays = load_arrays(path, made_from, require_finite=require_finite)
        if arrays is not None:
            return arrays
        arrays = tuple(compute())
        save_arrays(path, arrays, made_from, info(arrays) if info is not None else None)
    return arrays
