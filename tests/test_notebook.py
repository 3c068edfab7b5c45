"""The walkthrough notebook runs top to bottom in this venv's Python, without errors."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "walkthrough.ipynb"


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_notebook_is_stored_without_outputs(notebook):
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_notebook_imports_only_gis_and_planning(notebook):
    project_modules = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names:
                    project_modules.add(top)
    assert project_modules == {"gis", "planning"}


@pytest.fixture
def venv_kernel(tmp_path):
    """A kernel spec that starts this interpreter (the venv's), whatever else is installed."""
    spec_dir = tmp_path / "kernels" / "gridplan-venv"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gridplan venv",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return AsyncKernelManager(kernel_name="gridplan-venv", kernel_spec_manager=specs)


def test_notebook_runs(notebook, venv_kernel):
    nb = nbformat.from_dict(notebook)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint('KERNEL', sys.executable)"))
    client = NotebookClient(
        nb, km=venv_kernel, timeout=300, resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            if output["output_type"] == "stream":
                texts.append(output["text"])
            elif "data" in output:
                texts.append(output["data"].get("text/plain", ""))
    text = "\n".join(texts)
    assert f"KERNEL {sys.executable}\n" in text, "the notebook ran in another Python"
    assert "9762 households in 521 buildings" in text
    assert "153 buildings are estimated; 153 of them on assumed floors" in text
    assert "9762 households, 25563 residents: may_split" in text
    assert "9762 households: ok, 33 workers required" in text
    assert "reads back the same: True" in text
    # the analyses: the sample has no service centre, so a site is recommended and said so
    assert "has no service centre in the data" in text
    # the best split's second part is gridded (every household in a grid); 4,872
    # households today, it may be split again once 300 are delivered in 2027
    assert "households in the grids of 000000000000-2: 4872" in text
    assert "first year may_split: {'000000000000-1': None, '000000000000-2': 2027}" in text
    assert "aligned_share" in text and "in_band_share" in text
    assert "plan.xlsx True" in text
