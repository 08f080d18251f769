"""examples/kmeans, Lloyd's k-means written in plain numpy and plain R: every row of `crossverify
run` met, and three defects injected into a copy caught by the exact-kernel free-running row at the
first divergence reasoned from the code (not read off a run)."""
import os
import shutil

import pytest

from crossverify.check import verify
from crossverify.twins.protocol import load_twin
from tests.conftest import ROOT
from crossverify.check.mutants import Defect

KMEANS = os.path.join(ROOT, "examples", "kmeans")

DEFECTS = (
    Defect("kmeans", "kmeans.R", "(X - matrix(C[j, ], nrow(X), ncol(X), byrow = TRUE))^2",
           "abs(X - matrix(C[j, ], nrow(X), ncol(X), byrow = TRUE))",
           "R distance: absolute differences summed (L1) for squared ones; point 0's distance to centroid 0 "
           "(itself, 0 either way) agrees, its distance to centroid 1 (another blob, |d| != d^2) does not",
           (0, 1, "D", (0, 1))),
    Defect("kmeans", "kmeans.R", "apply(D, 1, which.min) - 1", "apply(D, 1, which.max) - 1",
           "R assignment: which.max for which.min; point 0 is its own cluster's starting centroid (distance 0, "
           "the minimum) and with three distinct distances its maximum is elsewhere",
           (0, 2, "labels", (0,))),
    Defect("kmeans", "kmeans.py", "inertia = np.sum(np.min(D, axis=1))", "inertia = np.mean(np.min(D, axis=1))",
           "Python objective: the mean distance for the sum (60 times smaller); D and labels come first and "
           "are untouched", (0, 3, "inertia", ())),
)


def copy_with(defect, tmp_path):
    folder = shutil.copytree(KMEANS, tmp_path / "kmeans", ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / defect.file
    text = path.read_text(encoding="utf-8")
    assert text.count(defect.old) == 1, f"{defect.file} no longer holds {defect.old!r} exactly once"
    path.write_text(text.replace(defect.old, defect.new), encoding="utf-8")
    return str(folder)


def rows(r_session, folder, **kw):
    return verify.run(r_session, fixtures_dir=os.path.join(folder, "scenarios"), twin=load_twin(folder), **kw)


def test_the_kmeans_example_meets_every_row_exact_identical_and_float_within_bound(r_session):
    got = rows(r_session, KMEANS)
    assert [(r.kernels, r.mode, r.expectation, r.ok) for r in got] == [
        ("exact", "lockstep", "identical", True), ("exact", "free-running", "identical", True),
        ("float", "lockstep", "within-bound", True), ("float", "free-running", "within-bound", True)]


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.id)
def test_a_defect_in_the_kmeans_example_is_caught_at_its_predicted_divergence(r_session, tmp_path, defect):
    [row] = rows(r_session, copy_with(defect, tmp_path), kernels=["exact"], modes=["free-running"])
    first = row.first_divergence
    assert row.ok is False
    assert (first.epoch, first.step, first.name, tuple(first.index)) == defect.first


def test_the_kmeans_example_imports_only_numpy_the_standard_library_and_the_public_protocol():
    from tests.test_examples import test_an_example_imports_only_numpy_the_standard_library_and_the_public_protocol as check
    check("kmeans")


def test_the_kmeans_scenario_is_what_its_generator_writes(tmp_path):
    from tests.test_examples import test_an_example_scenario_is_what_its_generator_writes as check
    check("kmeans", tmp_path)


def test_rosetta_finds_every_step_of_the_kmeans_example_in_both_languages(r_session):
    import io

    from crossverify.cli.main import main
    out = io.StringIO()
    assert main(["rosetta", "--twin", KMEANS], out=out) == 0
    assert "(missing)" not in out.getvalue() and "np.argmin(D, axis=1)" in out.getvalue()


def test_explain_on_an_operation_it_cannot_recompute_claims_no_other_formula(r_session):
    from tests.cli_helpers import cli
    code, out, err = cli("explain", "--twin", KMEANS)
    assert code == 0, err
    assert "not recomputable: the operation 'amin'" in out  # the origin's cause is said not to be known
    assert "another formula" not in out and "different formulas" not in out
    assert "the origin's cause is not proven" in out and "horizon:" in out  # the growth is still measured
