"""docs/walkthrough.ipynb, the article's detail section with each numpy step beside its R cell (rpy2's
%%R magic) and crossverify's check of the two: executed top to bottom by nbclient in a kernel that is
this virtual environment's Python, and committed without outputs."""
import json
import os
import re
import sys

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOK = os.path.join(ROOT, "docs", "walkthrough.ipynb")
KERNEL = "crossverify-venv"


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_committed_walkthrough_has_no_outputs_and_no_execution_counts():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    stale = [c.get("id") for c in code_cells(nb) if c.outputs or c.execution_count is not None]
    assert not stale, f"cells with outputs or execution counts: {stale}; clear them before committing"


def test_every_r_cell_passes_its_variables_explicitly_and_python_uses_what_it_hands_back():
    # an R cell's results come back only through -o, and the next code cell compares or uses each of them
    cells = code_cells(nbformat.read(NOTEBOOK, as_version=4))
    r_cells = [k for k, c in enumerate(cells) if c.source.startswith("%%R")]
    assert len(r_cells) >= 12
    for k in r_cells:
        header = cells[k].source.splitlines()[0]
        outputs = re.search(r"-o\s+(\S+)", header)
        if outputs:
            nxt = cells[k + 1].source
            for name in outputs.group(1).split(","):
                assert name in nxt, f"{name} from R cell {cells[k].get('id')} is not used by the cell after it"
    checks = sum(c.source.count("check(") for c in cells)
    assert checks >= 20


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch):
    """A kernel spec for this interpreter (sys.executable, the venv's python), found first on JUPYTER_PATH."""
    from jupyter_client.kernelspec import KernelSpecManager

    folder = tmp_path / "kernels" / KERNEL
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (crossverify venv)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    assert spec.argv[0] == sys.executable
    return KERNEL


@pytest.mark.slow
def test_the_walkthrough_runs_top_to_bottom_and_every_check_passes(venv_kernel):
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name=venv_kernel, timeout=300, resources={"metadata": {"path": ROOT}}).execute()
    text = "".join(o.get("text", "") for c in code_cells(nb) for o in c.outputs if o.get("output_type") == "stream")
    assert not [o for c in code_cells(nb) for o in c.outputs if o.get("output_type") == "error"]
    assert text.count("agree bit for bit") >= 15
    # each of the epoch's twelve checked steps (1-5, 7, 8, 10, 12, 14-16) is judged by crossverify's derived bound
    assert text.count("within crossverify's bound for this step") == 12, text
    assert "Error at epoch 4000 is 0.05129" in text  # the article's printed error, numpy's and R's loops alike
    assert text.count("Error at epoch 4000 is 0.05129") == 2
    assert "exact kernels against R (2x10): numpy and R agree bit for bit" in text
    figures = [o for c in code_cells(nb) for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 2  # the toy's training curves and the two decision boundaries
