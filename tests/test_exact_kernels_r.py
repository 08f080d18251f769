"""The exact kernels added for twins beyond the article (python_impl/kernels.py, python_impl/libm.py)
against R's own functions, bit for bit: tanh, log, log1p, expm1, sqrt, abs (math1 and R_log in R's
src/main/arithmetic.c), pmax (summary.c), ``^`` (R_POW/R_pow) and crossprod (array.c: dgemm/dgemv
with transa = "T", R's loops when an operand has NaN/Inf or under matprod "internal").

Random samples draw the values where libraries part (tests/strategies.py); a fixed grid covers
the special values (signed zeros, infinities, NaN and NA); the per-element fallback used when
numexpr is not the C library is checked against R too."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from crossverify.python_impl import libm
from crossverify.python_impl.kernels import get_kernels, set_matprod_path
from tests import strategies as S

EXACT = get_kernels("exact")
UNARY = ("tanh", "log", "log1p", "expm1", "sqrt", "abs")


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def first_difference(ours, theirs, *inputs):
    """A readable note of the first element whose bits differ."""
    bad = np.flatnonzero(np.asarray(ours).view(np.uint64).ravel() != np.asarray(theirs).view(np.uint64).ravel())
    if not bad.size:
        return "no difference"
    i = bad[0]

    def bits(v):  # hex of the 64 bits, so that NaN payloads show
        return hex(int(np.float64(v).view(np.uint64)))

    shown = [bits(np.broadcast_to(x, np.shape(ours)).ravel()[i]) for x in inputs]
    return f"{bad.size} elements differ; first: inputs {shown}: ours {bits(np.ravel(ours)[i])}, R {bits(np.ravel(theirs)[i])}"


def r_apply(r_session, fn, *args):
    """R's ``fn`` on the arrays, its warnings (NaNs produced, loss of accuracy in modulus) muted."""
    quiet = r_session.eval("function(fn, ...) suppressWarnings(do.call(fn, list(...)))")
    return r_session.from_r(quiet(fn, *(r_session.to_r(a) for a in args)))


def special_grid(r_session):
    """Every pair of the special values (both signs of 0, 1, 2, 0.5, 3, the extremes, Inf, NaN, NA)."""
    na = r_session.from_r(r_session.eval("NA_real_"))[0]
    values = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1.5, -1.5, 1e300, -1e300, 1e308,
                       -1e308, 5e-324, -5e-324, 2.0 ** 53 + 2, -(2.0 ** 53) - 2, 710.0, -746.0, np.inf, -np.inf,
                       np.nan, na])
    return np.meshgrid(values, values)


def test_numexpr_evaluates_every_c_library_function_here():
    assert all(libm.VIA_NUMEXPR.values()), (
        f"numexpr differs from the C library here for {[k for k, v in libm.VIA_NUMEXPR.items() if not v]}; "
        f"the exact kernels fell back to math.* per element (correct, but ~20x slower)")


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_exact_elementwise_function_is_r_function(r_session, name, data):
    x = data.draw(S.matrices(S.ELEMENTS[name]), label="x")
    ours, theirs = getattr(EXACT, name)(x), r_apply(r_session, name, x)
    assert same_bits(ours, theirs), f"{name}: {first_difference(ours, theirs, x)}"


@settings(max_examples=80, deadline=None)
@given(operands=S.pow_operands())
def test_exact_power_is_r_caret(r_session, operands):
    base, exponent = operands
    ours, theirs = EXACT.power(base, exponent), r_apply(r_session, "^", base, exponent)
    assert same_bits(ours, theirs), f"^: {first_difference(ours, theirs, base, exponent)}"


@settings(max_examples=60, deadline=None)
@given(pair=S.matrix_pairs_same_shape())
def test_exact_maximum_is_r_pmax_ties_and_signed_zeros_included(r_session, pair):
    a, b = pair
    ours, theirs = EXACT.maximum(a, b), r_apply(r_session, "pmax", a, b)
    assert same_bits(ours, theirs), f"pmax: {first_difference(ours, theirs, a, b)}"


@settings(max_examples=80, deadline=None)
@given(operands=S.crossprod_operands())
def test_exact_crossprod_is_r_crossprod(r_session, operands):
    a, b = operands
    ours = EXACT.crossprod(a, b)
    theirs = r_apply(r_session, "crossprod", a) if b is None else r_apply(r_session, "crossprod", a, b)
    assert same_bits(ours, theirs)


def test_exact_crossprod_follows_r_through_its_nan_switch_and_the_internal_loop(r_session):
    """An Inf sends R to its own double loop; options(matprod = "internal") to its long-double loop."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((40, 5)) * 10.0 ** rng.integers(-12, 12, (40, 5))
    b = rng.standard_normal((40, 3)) * 10.0 ** rng.integers(-12, 12, (40, 3))
    with_inf = b.copy()
    with_inf[3, 1] = np.inf
    assert same_bits(EXACT.crossprod(a, with_inf), r_apply(r_session, "crossprod", a, with_inf))
    saved_option = r_session.eval("getOption('matprod', 'default')")[0]
    saved_path = EXACT.matprod_path
    try:
        r_session.eval("options(matprod = 'internal')")
        set_matprod_path("internal")
        assert same_bits(EXACT.crossprod(a, b), r_apply(r_session, "crossprod", a, b))
        assert same_bits(EXACT.crossprod(a), r_apply(r_session, "crossprod", a))
    finally:
        r_session.eval(f"options(matprod = '{saved_option}')")
        set_matprod_path(saved_path)


@pytest.mark.parametrize("name", UNARY)
def test_special_values_give_r_bits_in_elementwise_functions(r_session, name):
    x, _ = special_grid(r_session)
    ours, theirs = getattr(EXACT, name)(x), r_apply(r_session, name, x)
    assert same_bits(ours, theirs), f"{name}: {first_difference(ours, theirs, x)}"


def test_special_values_give_r_bits_in_power_and_pmax(r_session):
    """Zero bases (R answers +0 and +Inf where C's pow keeps -0's sign), infinite operands, NaN
    against NA (R returns the exponent's NaN when both are NaN), ties of pmax."""
    x, y = special_grid(r_session)
    for fn, ours in (("^", EXACT.power(x, y)), ("pmax", EXACT.maximum(x, y))):
        theirs = r_apply(r_session, fn, x, y)
        assert same_bits(ours, theirs), f"{fn}: {first_difference(ours, theirs, x, y)}"


def test_per_element_fallback_gives_r_bits_too(r_session, monkeypatch):
    """Where numexpr is not the C library, math.* per element must give the same bits."""
    for name in libm.EXPRESSIONS:
        monkeypatch.setitem(libm._NUMEXPR, name, (None, {}))
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.standard_normal(400) * 10.0 ** rng.integers(-300, 300, 400), rng.uniform(-2, 2, 400),
                        special_grid(r_session)[0][0], [-1.0, 709.79, 800.0, -800.0]]).reshape(-1, 1)
    for name in ("tanh", "log", "log1p", "expm1"):
        ours, theirs = getattr(EXACT, name)(x), r_apply(r_session, name, x)
        assert same_bits(ours, theirs), f"{name}: {first_difference(ours, theirs, x)}"
    base, exponent = special_grid(r_session)
    base = np.concatenate([base, rng.uniform(-1e3, 1e3, base.shape)])
    exponent = np.concatenate([exponent, np.round(rng.uniform(-400, 400, exponent.shape))])
    ours, theirs = EXACT.power(base, exponent), r_apply(r_session, "^", base, exponent)
    assert same_bits(ours, theirs), f"^: {first_difference(ours, theirs, base, exponent)}"


def test_float_kernels_are_plain_numpy_for_the_new_operations():
    f = get_kernels("float")
    a = np.arange(1.0, 13.0).reshape(3, 4) / 7
    for name in ("tanh", "log", "log1p", "expm1", "sqrt", "abs"):
        assert same_bits(getattr(f, name)(a), getattr(np, name)(a))
    assert same_bits(f.maximum(a, 1 - a), np.maximum(a, 1 - a)) and same_bits(f.power(a, 3.5), a ** 3.5)
    assert same_bits(f.crossprod(a, a), a.T @ a) and same_bits(f.crossprod(a), a.T @ a)


def test_kernel_benchmark_finds_no_mismatch_on_a_small_run():
    """bench/kernels.py end to end (its full run compares 2 million inputs per function)."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    proc = subprocess.run([sys.executable, os.path.join("bench", "kernels.py"), "--n", "3000", "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["pass"] is True
    assert [f["function"] for f in report["functions"]] == ["exp", "tanh", "log", "log1p", "expm1", "sqrt", "abs",
                                                             "pmax", "power", "crossprod"]
    assert all(f["inputs"] >= 3000 and f["mismatches"] == 0 for f in report["functions"])
