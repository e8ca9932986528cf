"""The tutorial notebooks are generated from their jupytext sources and stored without outputs.

`tutorials/NN_name.py` (py:percent) is the source of truth; `tutorials/NN_name.ipynb` is
generated with `jupytext --to ipynb tutorials/NN_name.py` and must hold the same cells
(type and source), with no outputs, so that git diffs stay readable. The notebooks
themselves are executed by `python -m pytest --nbmake tutorials` (CI, `COAUDIOTEXT_FAST=1`).
"""

import pathlib

import pytest

jupytext = pytest.importorskip("jupytext", reason="jupytext is a test dependency (pip install -e '.[test]')")
nbformat = pytest.importorskip("nbformat", reason="nbformat is a test dependency (pip install -e '.[test]')")

TUTORIALS = pathlib.Path(__file__).resolve().parents[1] / "tutorials"
SOURCES = sorted(p for p in TUTORIALS.glob("[0-9][0-9]_*.py"))
NOTEBOOKS = sorted(p for p in TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
REGENERATE = "regenerate it with: jupytext --to ipynb tutorials/{}"


def _cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_tutorials_exist():
    assert SOURCES, f"no tutorial sources (NN_name.py) found in {TUTORIALS}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(source):
    notebook_path = source.with_suffix(".ipynb")
    assert notebook_path.exists(), f"{notebook_path.name} is missing; " + REGENERATE.format(source.name)
    expected = _cells(jupytext.read(source))
    stored = _cells(nbformat.read(notebook_path, as_version=4))
    assert len(stored) == len(expected), (
        f"{notebook_path.name} has {len(stored)} cells, its source {source.name} has {len(expected)}; "
        + REGENERATE.format(source.name)
    )
    for index, (got, want) in enumerate(zip(stored, expected)):
        assert got == want, f"cell {index} of {notebook_path.name} differs from {source.name}; " + REGENERATE.format(
            source.name
        )


@pytest.mark.parametrize("notebook_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_source_and_no_outputs(notebook_path):
    source = notebook_path.with_suffix(".py")
    assert source.exists(), f"{notebook_path.name} has no jupytext source {source.name} (the source of truth)"
    notebook = nbformat.read(notebook_path, as_version=4)
    with_outputs = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not with_outputs, (
        f"{notebook_path.name} is stored with outputs in cells {with_outputs}; store it without outputs: "
        + REGENERATE.format(source.name)
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_tutorial_has_fast_mode(source):
    text = source.read_text(encoding="utf-8")
    assert 'os.environ.get("COAUDIOTEXT_FAST", "0") == "1"' in text, (
        f"{source.name} must read FAST = os.environ.get(\"COAUDIOTEXT_FAST\", \"0\") == \"1\" so CI runs it quickly"
    )
