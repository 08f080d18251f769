"""A twin's Python side in plain numpy (no ``xp``): identical to R with exact kernels and within the
derived bound with float kernels, every operation docs/TWINS.md lists (tests/plain_numpy_twins.py);
each crash a new user met is now a one-paragraph message; an unchecked row makes `crossverify run`
exit 4 unless --allow-unchecked."""
import io

import numpy as np
import pytest

from crossverify.check import bounds, verify
from crossverify.twins.tracing import derive_spec, trace_epoch
from crossverify.cli.main import EXIT_UNCHECKED, main
from crossverify.errors import CrossverifyError
from crossverify.twins.protocol import Step, load_twin
from tests.plain_numpy_twins import OPS_PY, OPS_R, SOFTMAX_PY, SOFTMAX_R, lay_out


def rows_of(r_session, folder, **kw):
    return verify.run(r_session, fixtures_dir=f"{folder}/scenarios", twin=load_twin(folder), **kw)


def run_cli_here(*args):
    """`crossverify ARGS` in this process (its R session): exit code and output."""
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


@pytest.mark.parametrize("name", ["plain_softmax", "plain_ops"])
def test_a_plain_numpy_twin_is_identical_with_exact_kernels_and_within_bound_with_float_kernels(r_session, tmp_path,
                                                                                                 name):
    folder = lay_out(tmp_path, name)
    rows = rows_of(r_session, folder)
    assert [(r.kernels, r.expectation, r.ok) for r in rows] == [
        ("exact", "identical", True), ("exact", "identical", True),
        ("float", "within-bound", True), ("float", "within-bound", True)]
    # every step has a finite bound: no row passes on a bound that says nothing
    float_row = next(r for r in rows if r.kernels == "float")
    assert all(np.isfinite(s.bound_at_max) for s in float_row.stats.values())


def test_plain_numpy_operations_take_numpys_semantics_not_xps():
    # np.sum drops the axis unless keepdims; a 0-d mean and 1-d results stay as numpy gives them
    def epoch(X, v):
        return {"s": np.sum(X, axis=1), "k": np.sum(X, axis=1, keepdims=True), "m": np.mean(X), "v": v + X[:, :1]}

    outputs = trace_epoch(lambda data, hyper, state, xp: epoch(data["X"], state["v"]),
                          {"X": np.ones((4, 3))}, {}, {"v": np.zeros((4, 1))})
    assert [outputs[k].shape for k in "skmv"] == [(4,), (4, 1), (), (4, 1)]
    spec = derive_spec((Step(1, "s"), Step(2, "k"), Step(3, "m"), Step(4, "v")), outputs)
    bounds.check_known(spec)


def test_slicing_and_array_methods_are_traced_rather_than_crashing():
    # the user's code: Av[:, 0:1] ('Traced' object is not subscriptable) and norm.max() (AttributeError: spec)
    def iterate(A, v):
        Av = A @ v
        first = Av[:, 0:1]
        norm = np.sqrt((Av ** 2).sum(axis=0, keepdims=True))
        return {"Av": Av, "first": first, "norm": norm, "v": Av / norm.max()}

    outputs = trace_epoch(lambda data, hyper, state, xp: iterate(data["A"], state["v"]),
                          {"A": np.eye(3)}, {}, {"v": np.ones((3, 1))})
    spec = dict((n, e) for _, n, e in derive_spec(tuple(Step(i, n) for i, n in enumerate(outputs, 1)), outputs))
    bounds.check_known(tuple((1, n, e) for n, e in spec.items()))
    assert spec["first"][0] == "gather" and "amax" in bounds.operations(spec["v"])


def test_a_transposed_intermediate_in_r_is_a_shape_error_naming_the_step_and_both_shapes(r_session, tmp_path):
    folder = lay_out(tmp_path, "plain_softmax", {"softmax.R": SOFTMAX_R.replace("list(Z = Z,", "list(Z = t(Z),")})
    with pytest.raises(CrossverifyError, match=r"step 1, Z: python gives a 9 x 3 matrix and r a 3 x 9 one"):
        rows_of(r_session, folder, kernels=["exact"], modes=["lockstep"])


def test_a_1x1_against_a_1x3_is_a_shape_error_not_a_value_divergence(r_session, tmp_path):
    python = SOFTMAX_PY.replace("loss = -np.mean(np.sum(Y * np.log(P), axis=1))",
                                "loss = np.reshape(-np.mean(np.sum(Y * np.log(P), axis=1)), (1, 1))")
    r = SOFTMAX_R.replace("loss <- -mean(rowSums(Y * log(P)))", "loss <- matrix(-mean(rowSums(Y * log(P))), 1, 3)")
    folder = lay_out(tmp_path, "plain_softmax", {"softmax.py": python, "softmax.R": r})
    with pytest.raises(CrossverifyError, match=r"step 4, loss: python gives a 1 x 1 matrix and r a 1 x 3 one"):
        rows_of(r_session, folder, kernels=["exact"], modes=["lockstep"])


SINH_PY = SOFTMAX_PY.replace("Z = X @ W + b", "Z = np.sinh(X @ W + b)")
SINH_R = SOFTMAX_R.replace("Z <- X %*% W + matrix(b, nrow(X), ncol(W), byrow = TRUE)",
                           "Z <- sinh(X %*% W + matrix(b, nrow(X), ncol(W), byrow = TRUE))")
SINH_KERNEL = '''
import math

import numpy as np

from crossverify.python_impl.exactarray import register_kernel

# R's sinh is the C library's; math.sinh calls the same function
register_kernel(np.sinh, lambda x: np.frompyfunc(math.sinh, 1, 1)(np.asarray(x, dtype=np.float64)).astype(np.float64))
'''
SINH_RULE = '''
from crossverify.check import bounds


def sinh_rule(x):
    """z = sinh x: P = cosh(max |x| over both sides' interval) d_x; c = 2 * 4 ulp (libm and numpy)."""
    lo, hi = bounds._span(x)
    P = np.cosh(np.maximum(np.abs(lo), np.abs(hi))) * x.d * (1 + 2.0 ** -40)
    return bounds.finish(np.sinh(x.left), np.sinh(x.right), P, np.zeros_like(x.m), 8 * bounds.ULP)


bounds.register_rule("sinh", sinh_rule)
'''


def sinh_twin(tmp_path, with_rule):
    from tests.plain_numpy_twins import SOFTMAX_TWIN
    twin = SINH_KERNEL + (SINH_RULE if with_rule else "") + SOFTMAX_TWIN
    return lay_out(tmp_path, "plain_softmax", {"softmax.py": SINH_PY, "softmax.R": SINH_R, "twin.py": twin})


def test_an_operation_without_a_rule_leaves_float_rows_unchecked_and_run_exits_4_unless_allowed(r_session, tmp_path):
    folder = sinh_twin(tmp_path / "no_rule", with_rule=False)
    code, out = run_cli_here("run", "--twin", folder, "--mode", "lockstep")
    assert code == EXIT_UNCHECKED == 4
    assert "1 of 2 checks meet their expectation; 1 could not be made" in out
    assert "no bound rule for the operation 'sinh' in step 1 (Z)" in out and "register_rule" in out
    code, _ = run_cli_here("run", "--twin", folder, "--mode", "lockstep", "--allow-unchecked")
    assert code == 0


def test_a_rule_registered_in_the_twins_folder_checks_its_float_rows(r_session, tmp_path):
    folder = sinh_twin(tmp_path / "rule", with_rule=True)
    try:
        code, out = run_cli_here("run", "--twin", folder, "--mode", "lockstep")
        assert code == 0 and "2 of 2 checks meet their expectation." in out
    finally:
        bounds.unregister_rule("sinh")


def python_error(r_session, tmp_path, python, name="plain_softmax", kernels="exact"):
    folder = lay_out(tmp_path, name, {f"{'softmax' if name == 'plain_softmax' else 'ops'}.py": python})
    with pytest.raises(CrossverifyError) as err:
        rows_of(r_session, folder, kernels=[kernels], modes=["lockstep"])
    return str(err.value)


def test_math_exp_on_a_computed_value_leaves_the_float_rows_unchecked_naming_the_line(r_session, tmp_path):
    # math is the C library, as R is: the exact rows still meet; the tracer cannot follow the number
    python = "import math\n" + SOFTMAX_PY.replace("E = np.exp(Z - Zmax)",
                                                  "E = np.exp(Z - Zmax) * math.exp(0.0 * float(np.mean(Z)))")
    folder = lay_out(tmp_path, "plain_softmax", {"softmax.py": python})
    rows = rows_of(r_session, folder, modes=["lockstep"])
    assert [r.ok for r in rows] == [True, None]
    message = rows[1].expectation
    assert "float() of an array (or math.* on it) at softmax.py:" in message and "math.exp(0.0 * float(" in message
    assert "use numpy functions" in message and "\n" not in message and "Traceback" not in message


def test_a_call_into_scipy_names_the_line_and_the_function(r_session, tmp_path):
    python = "import scipy.special\n" + SOFTMAX_PY.replace("E = np.exp(Z - Zmax)", "E = scipy.special.expit(Z - Zmax)")
    message = python_error(r_session, tmp_path, python)
    assert "expit" in message and "softmax.py:" in message and "E = scipy.special.expit(Z - Zmax)" in message


def test_a_branch_on_a_computed_value_leaves_the_float_rows_unchecked_with_the_line(r_session, tmp_path):
    python = SOFTMAX_PY.replace("    W = W - lr * gW", "    if loss > 100:\n        lr = lr / 2\n    W = W - lr * gW")
    folder = lay_out(tmp_path, "plain_softmax", {"softmax.py": python})
    rows = rows_of(r_session, folder, modes=["lockstep"])
    assert [r.ok for r in rows] == [True, None]
    assert "a branch on an array's value" in rows[1].expectation and "if loss > 100:" in rows[1].expectation


def test_a_broadcasting_error_in_the_users_code_is_one_paragraph_with_the_line_and_shapes(r_session, tmp_path):
    python = SOFTMAX_PY.replace("G = (P - Y) / X.shape[0]", "G = (P - Y.T) / X.shape[0]")
    message = python_error(r_session, tmp_path, python, kernels="float")
    assert "ValueError: operands could not be broadcast together with shapes (9,3) (3,9)" in message
    assert "softmax.py:" in message and "G = (P - Y.T) / X.shape[0]" in message and "make the shapes agree" in message


def test_a_missing_intermediate_is_named(r_session, tmp_path):
    python = OPS_PY.replace('"top": top, ', "")
    message = python_error(r_session, tmp_path, python, name="plain_ops")
    assert "the epoch returned no top" in message


def test_r_vectors_of_the_wrong_length_stay_a_shape_error(r_session, tmp_path):
    folder = lay_out(tmp_path, "plain_ops", {"ops.R": OPS_R.replace("cs <- cumsum(a)", "cs <- cumsum(a)[-1]")})
    with pytest.raises(CrossverifyError, match=r"step 14, cs: python gives a 6 x 1 matrix and r a 5 x 1 one"):
        rows_of(r_session, folder, kernels=["exact"], modes=["lockstep"])


def test_in_place_updates_and_assignment_to_a_slice_are_followed(r_session, tmp_path):
    python = SOFTMAX_PY.replace("    W = W - lr * gW\n    b = b - lr * gb\n",
                                "    G[0, :] = G[0, :] * 1.0\n    W -= lr * gW\n    b -= lr * gb\n")
    folder = lay_out(tmp_path, "plain_softmax", {"softmax.py": python})
    assert [r.ok for r in rows_of(r_session, folder, modes=["lockstep"])] == [True, True]


def test_an_unknown_array_method_is_a_message_not_a_hidden_attribute_error(r_session, tmp_path, capsys):
    # once hidden by TwinRun.__getattr__ as "AttributeError: spec. Did you mean: '_specs'?"
    python = SOFTMAX_PY.replace("Zmax = np.max(Z, axis=1, keepdims=True)", "Zmax = Z.rowmax()")
    folder = lay_out(tmp_path, "plain_softmax", {"softmax.py": python})
    code, _ = run_cli_here("run", "--twin", folder, "--kernels", "float", "--mode", "lockstep")
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "_specs" not in err
    assert "twin 'plain_softmax', python side: AttributeError:" in err and "Zmax = Z.rowmax()" in err


PREDICT_PY = SOFTMAX_PY + '''

def softmax_predict(X, state):
    Z = X @ state["W"] + state["b"]
    E = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return E / np.sum(E, axis=1, keepdims=True)
'''

PREDICT_R = SOFTMAX_R + '''
softmax_predict <- function(X, state) {
  Z <- X %*% state$W + matrix(state$b, nrow(X), ncol(state$W), byrow = TRUE)
  E <- exp(Z - apply(Z, 1, max))
  E / rowSums(E)
}
'''


def test_a_plain_numpy_predict_function_computes_rs_bits_with_exact_kernels(r_session, tmp_path):
    from tests.plain_numpy_twins import SOFTMAX_TWIN
    twin = SOFTMAX_TWIN.replace('python="softmax.py:softmax_epoch",',
                                'python="softmax.py:softmax_epoch", python_predict="softmax.py:softmax_predict",')
    twin = twin.replace('epoch="softmax_epoch")', 'epoch="softmax_epoch", predict="softmax_predict")')
    assert "softmax_predict" in twin and 'predict="softmax_predict"' in twin
    folder = lay_out(tmp_path, "plain_softmax", {"softmax.py": PREDICT_PY, "softmax.R": PREDICT_R, "twin.py": twin})
    rows = tmp_path / "new.csv"
    np.savetxt(rows, np.random.default_rng(3).standard_normal((7, 3)) * 4, delimiter=",")
    code, out = run_cli_here("predict", "--twin", folder, "--input", str(rows))
    assert code == 0 and "Python and R agree bit for bit." in out, out
