"""Where coaudiotext keeps what it can rebuild, and how it writes files so nothing is ever half-written.

* `cache_root(*parts)`: `$COAUDIOTEXT_CACHE` (default `~/.cache/coaudiotext`), joined with `parts` and
  created. Rendered demo corpora, feature arrays and manifests of real corpora live under it; deleting
  it only costs time.
* `atomic_write_bytes/text/json(path, ...)`: write a temporary file beside `path`, then rename it into
  place, so a crash or a full disk leaves either the old file or the new one, never a torn one (and the
  temporary file is removed on failure).

Example:

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "note.json"
>>> atomic_write_json(target, {"epoch": 3})
>>> target.read_text()
'{\\n  "epoch": 3\\n}'
"""

from __future__ import annotations

import json
import os
import pathlib

__all__ = ["cache_root", "atomic_write_bytes", "atomic_write_text", "atomic_write_json"]


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


def atomic_write_bytes(path, data):
    """Writes `data` to `path` through a temporary file in the same folder and a rename.

    Args:
        path: str or path-like. The target; its folder is created if needed.
        data: bytes.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path, text, encoding="utf-8"):
    """`atomic_write_bytes` of `text` encoded with `encoding` (default UTF-8)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path, payload, **dumps_options):
    """`atomic_write_text` of `json.dumps(payload, indent=2, default=str, **dumps_options)`."""
    dumps_options.setdefault("indent", 2)
    dumps_options.setdefault("default", str)
    atomic_write_text(path, json.dumps(payload, **dumps_options))
