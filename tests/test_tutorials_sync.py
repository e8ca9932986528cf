"""The tutorial notebooks are stored executed, with their outputs, from their current jupytext sources.

`tutorials/NN_name.py` (py:percent) is the source of truth; `python tutorials/execute.py NN` runs it in a
fresh kernel and stores `tutorials/NN_name.ipynb` with its outputs and, in its metadata, the SHA-256 of
the source it ran. These tests fail when a source was edited without re-executing its notebook, when a
notebook's cells differ from its source, or when it was not executed top to bottom. The notebooks
themselves are also run by `python -m pytest --nbmake tutorials` (CI, `COAUDIOTEXT_FAST=1`), which does
not write them back.
"""

import importlib.util
import pathlib
import shutil

import pytest

pytest.importorskip("jupytext", reason="jupytext is a test dependency (pip install -e '.[test]')")
nbformat = pytest.importorskip("nbformat", reason="nbformat is a test dependency (pip install -e '.[test]')")

TUTORIALS = pathlib.Path(__file__).resolve().parents[1] / "tutorials"
_spec = importlib.util.spec_from_file_location("tutorials_execute", TUTORIALS / "execute.py")
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)
SOURCES = execute.sources()


def test_tutorials_exist():
    assert len(SOURCES) >= 14, f"expected the 14 tutorial sources (NN_name.py) in {TUTORIALS}, found {len(SOURCES)}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_is_executed_from_its_source(source):
    problems = execute.check(source)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_every_notebook_has_a_source_and_outputs(notebook):
    assert notebook.with_suffix(".py").exists(), f"{notebook.name} has no jupytext source (the source of truth)"
    stored = nbformat.read(notebook, as_version=4)
    shown = sum(bool(cell.get("outputs")) for cell in stored.cells if cell.cell_type == "code")
    assert shown >= 3, f"{notebook.name} shows outputs in only {shown} cells; run: python tutorials/execute.py"


def test_check_names_a_stale_or_unexecuted_notebook(tmp_path):
    source = SOURCES[0]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    shutil.copy(source.with_suffix(".ipynb"), copy.with_suffix(".ipynb"))
    assert execute.check(copy) == []

    copy.write_text(copy.read_text(encoding="utf-8") + "\n# %%\nprint('a new cell')\n", encoding="utf-8")
    problems = execute.check(copy)
    assert any("changed after" in p for p in problems) and any("does not hold the cells" in p for p in problems)

    shutil.copy(source, copy)
    stored = nbformat.read(copy.with_suffix(".ipynb"), as_version=4)
    next(c for c in stored.cells if c.cell_type == "code").execution_count = None
    nbformat.write(stored, copy.with_suffix(".ipynb"))
    assert any("not executed once each, in order" in p for p in execute.check(copy))

    copy.with_suffix(".ipynb").unlink()
    assert any("is missing" in p for p in execute.check(copy))


def test_clean_stream_keeps_what_a_terminal_shows():
    bar = "1/3 [====....] - loss: 1.0\r2/3 [======..] - loss: 0.8\r3/3 [========] - loss: 0.6\nEpoch 2\n"
    assert execute.clean_stream(bar) == "3/3 [========] - loss: 0.6\nEpoch 2\n"
    assert execute.clean_stream("abc\b\bd\n") == "ad\n"
    assert execute.clean_stream("\x1b[1mbold\x1b[0m") == "bold"
    long = "x" * (3 * execute.MAX_STREAM_CHARS)
    assert len(execute.clean_stream(long)) < execute.MAX_STREAM_CHARS + 200


def test_stored_stderr_leaves_out_only_known_noise():
    noise = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
             "/x/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update jupyter and ipywidgets.\n"
             "  from .autonotebook import tqdm as notebook_tqdm\n")
    real = "UserWarning: 3 rows were left out\n"
    assert execute._quiet(noise + real) == real


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_tutorial_has_fast_mode(source):
    text = source.read_text(encoding="utf-8")
    assert 'os.environ.get("COAUDIOTEXT_FAST", "0") == "1"' in text, (
        f"{source.name} must read FAST = os.environ.get(\"COAUDIOTEXT_FAST\", \"0\") == \"1\" so CI runs it quickly"
    )
