"""Exact on any R installation: R's ``%*%`` on the reference BLAS, OpenBLAS, BLIS and ATLAS, loaded per process.

R's matrix product takes the path ``options(matprod = )`` gives it (R's src/main/array.c): the
BLAS, with R's own double loop when an operand may hold NaN/Inf ("default"), R's own long-double
loop ("internal"), or always the BLAS ("blas"). R keeps its default path on every BLAS: on the
reference BLAS the exact kernels' compiled loop sums alike, on any other they call the very
dgemm/dgemv/dsyrk R calls (python_impl/rblas.py); "internal" stays a choice. The BLAS libraries are
unpacked by the set-up (tools/fetch_blas.sh, nothing installed) into .venv/blas/<name>; a child
process with its folder first in LD_LIBRARY_PATH embeds an R that loads it. NaNs compare equal when both sides are NaN, whatever their sign and payload
(bridge/check/engine.py, bits_differ): the overflow scenario below shows why.
"""
import json
import os

import numpy as np
import pytest

from crossverify.check.engine import bits_differ
from crossverify.session import platform as rp
from crossverify.python_impl.kernels import ExactKernels, internal_matprod
from tests.conftest import ROOT, run_cli

BLAS_ROOT = os.path.join(ROOT, ".venv", "blas")
HUGE = float.fromhex("0x1.fffffffffffffp+1023")  # the largest double


# -- BLAS libraries unpacked by the set-up ---------------------------------------------------------
def library_path(name):
    """LD_LIBRARY_PATH for the BLAS unpacked in .venv/blas/<name>: the folder of its libblas.so.3
    first, then every other folder of shared objects in the package (ATLAS keeps libatlas.so.3
    beside, not inside, its folder). None when it is not there."""
    first, others = None, []
    for folder, _, files in sorted(os.walk(os.path.join(BLAS_ROOT, name))):
        if "libblas.so.3" in files:
            first = folder
        elif any(".so" in f for f in files):
            others.append(folder)
    return None if first is None else os.pathsep.join([first] + others)


def blas_env(name, **extra):
    """The environment of a child process whose R loads the BLAS in .venv/blas/<name>; the test
    skips (with the set-up's reason) only when the set-up could not unpack it."""
    path = library_path(name)
    if path is None:
        reason_file = os.path.join(BLAS_ROOT, name + ".unavailable")
        if os.path.exists(reason_file):
            with open(reason_file) as fh:
                pytest.skip(f"{name} could not be unpacked by the set-up: {fh.read().strip()}")
        pytest.fail(f".venv/blas/{name} is missing: run `make setup` (tools/fetch_blas.sh unpacks it)")
    env = {k: v for k, v in os.environ.items() if k != "R_HOME"}
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (path, env.get("LD_LIBRARY_PATH")) if p)
    env.pop(rp.MATPROD_ENV, None)
    env.update(extra)
    return env


# -- the session on this process's R (the reference BLAS) ------------------------------------------
def test_session_reports_the_reference_blas_and_keeps_its_path(r_session):
    p, plan = r_session.platform, r_session.matprod
    assert p.blas_kind == "reference" and p.is_reference_blas and os.path.isabs(p.blas_path)
    assert p.long_double and p.numpy_longdouble_matches() and p.longdouble_digits == 64
    assert (plan.option, plan.kernel_path, plan.exact, plan.expectation) == ("default", "reference", True, "identical")
    assert ExactKernels.matprod_path == "reference"
    assert r_session.eval("getOption('matprod')")[0] == "default"


def test_r_internal_loop_is_internal_matprod_bit_for_bit(r_session):
    # long sums of same-sized terms, where products kept in long double would differ, and operands
    # that are transposed views (numpy would lay the products out term-contiguous)
    rng = np.random.default_rng(20170529)
    pairs = [(rng.standard_normal((k, m)).T, rng.standard_normal((k, n)))
             for m, k, n in ((10, 1000, 1), (2, 1000, 10), (1, 10, 1000), (10, 2, 1000), (10, 1, 1000), (1, 5000, 1),
                             (37, 23, 41))]
    pairs.append((np.array([[HUGE, HUGE, -HUGE]]), np.ones((3, 1))))  # long double does not overflow here
    for (a, b), got in zip(pairs, rp.r_products(r_session, "internal", pairs)):
        assert rp.same_bits(got, internal_matprod(a, b)), (a.shape, b.shape)
    assert r_session.eval("getOption('matprod')")[0] == "default"  # restored


def test_blas_kinds_are_told_apart_by_their_paths():
    assert rp.classify_blas(["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"]) == "reference"
    assert rp.classify_blas(["/usr/lib/R/lib/libRblas.so"]) == "reference"
    assert rp.classify_blas(["/x/openblas-pthread/libblas.so.3"]) == "openblas"
    assert rp.classify_blas(["/x/blis-pthread/libblas.so.3"]) == "blis"
    assert rp.classify_blas(["/x/atlas/libblas.so.3"]) == "atlas"
    assert rp.classify_blas(["/opt/intel/lib/libmkl_rt.so.2"]) == "mkl"
    assert rp.classify_blas(["/System/Library/Frameworks/Accelerate.framework/vecLib"]) == "accelerate"
    assert rp.classify_blas(["/opt/x/libfastblas.so"]) == "unknown"
    assert rp.classify_blas(["/usr/lib/libblas.so.3"], ("openblas", "")) == "openblas"  # symbols first


def _platform(kind, sums_like_reference, long_double=True, digits=64, callable_blas=None):
    return rp.RPlatform("4.2.2", f"/x/{kind}/libblas.so.3", kind, "", [], "", "default", long_double, 16, digits,
                        sums_like_reference, r_blas_callable=callable_blas)


@pytest.mark.parametrize("kind, like_ref, callable_blas, requested, option, path, exact", [
    ("reference", True, None, "auto", "default", "reference", True),
    ("reference", True, None, "blas", "blas", "reference", True),
    ("reference", True, None, "internal", "internal", "internal", True),
    ("openblas", False, True, "auto", "default", "r-blas", True),  # R's default path, R's own BLAS called
    ("openblas", False, True, "default", "default", "r-blas", True),
    ("openblas", False, True, "blas", "blas", "r-blas-always", True),
    ("openblas", False, True, "internal", "internal", "internal", True),  # still a choice
    ("atlas", True, True, "auto", "default", "r-blas", True),
    ("reference", False, True, "auto", "default", "r-blas", True),  # named libblas, sums otherwise
    # where R's BLAS cannot be called from Python (or gave other bits on the probes): R's internal loop
    ("openblas", False, False, "auto", "internal", "internal", True),
    ("openblas", False, False, "default", "default", "reference", False),
    ("openblas", False, True, "default.simd", "default.simd", "reference", False),  # another NaN test
])
def test_matprod_plan(kind, like_ref, callable_blas, requested, option, path, exact):
    plan = rp.choose_matprod(_platform(kind, like_ref, callable_blas=callable_blas), requested)
    assert (plan.option, plan.kernel_path, plan.exact) == (option, path, exact)
    if not exact:
        assert plan.expectation == f"within-bound: R's BLAS is {rp.BLAS_NAMES[kind]}"


def test_matprod_plan_follows_r_long_double():
    no_ld = rp.choose_matprod(_platform("openblas", False, long_double=False, digits=0))
    assert (no_ld.option, no_ld.kernel_path, no_ld.exact) == ("internal", "reference", True)  # R's loop sums in double
    other = rp.choose_matprod(_platform("openblas", False, digits=113))  # e.g. quad precision
    assert not other.exact and "long double" in other.reason


def test_an_unknown_matprod_request_is_refused():
    with pytest.raises(rp.CrossverifyError, match="CROSSVERIFY_R_MATPROD='fast' is not a matprod path"):
        rp.requested_matprod({rp.MATPROD_ENV: "fast"})


# -- OpenBLAS, BLIS and ATLAS, per process ------------------------------------------------------------
@pytest.mark.slow  # about 10 s: every bias-net variant and detail-toy, 6000 epochs through R's default path
def test_openblas_exact_rows_meet_under_r_default_path():
    env = blas_env("openblas")
    code, out, err = run_cli("run", "--scenario", "bias-net", "--scenario", "detail-toy", "--kernels", "exact", env=env)
    assert code == 0, out + err
    blas_line = next(line for line in out.splitlines() if line.startswith("BLAS: "))
    assert blas_line.startswith("BLAS: OpenBLAS, /")  # named, with its full path: it is called libblas.so.3
    library = os.path.join(library_path("openblas").split(os.pathsep)[0], "libblas.so.3")
    assert os.path.realpath(blas_line.split()[2]) == os.path.realpath(library)
    assert 'matprod "default"' in out and "dgemm/dgemv/dsyrk called from Python" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["bias-net"], ["detail-toy"])]
    assert len(rows) == 10 and all("default:" in r and "meets" in r and "FAILS" not in r for r in rows)
    assert sum("identical" in r for r in rows) == 4  # corrected and detail-toy, both modes: bit for bit
    assert "10 of 10 checks meet their expectation" in out


# In a child whose R loaded the BLAS: R's %*%, crossprod(x, y) and crossprod(x) under R's default path
# against python_impl/rblas.py, on the probe shapes, random shapes (threaded sizes included) and operands
# with NaN, Inf and pairs whose sum overflows (R's NaN/Inf test sends those to its own double loop).
R_BLAS_AGAINST_R = r"""
import json, numpy as np
from crossverify.session.rsession import get_session
from crossverify.python_impl import kernels
s = get_session()
assert s.eval("getOption('matprod')")[0] == "default" and kernels.ExactKernels.matprod_path == "r-blas"
ex, rng, huge = kernels.get_kernels("exact"), np.random.default_rng(20170529), np.finfo(float).max
shapes = [(10, 2, 1000), (1, 10, 1000), (10, 1000, 1), (10, 1, 1000), (2, 1000, 10), (1, 3000, 1), (300, 200, 150)]
shapes += [tuple(int(v) for v in rng.integers(1, 90, 3)) for _ in range(40)]
def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all((a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))))
compared = mismatches = 0
for case, (m, k, n) in enumerate(shapes):
    a = rng.standard_normal((m, k)) * 2.0 ** rng.integers(-30, 30, (m, k))
    b = rng.standard_normal((k, n))
    if case % 5 == 4:
        a.flat[rng.integers(a.size)] = [np.nan, np.inf, -np.inf][case % 3]
    if case % 7 == 6 and b.size > 1:
        b.flat[:2] = huge  # finite, but the pair's sum overflows: R's test is imprecise on purpose
    with np.errstate(all="ignore"):
        pairs = [(s.call("%*%", s.to_r(a), s.to_r(b)), ex.dot(a, b)),
                 (s.call("crossprod", s.to_r(a.T.copy()), s.to_r(b)), ex.crossprod(a.T.copy(), b)),
                 (s.call("crossprod", s.to_r(b)), ex.crossprod(b))]
        for theirs, ours in pairs:
            compared += 1
            mismatches += not same(s.from_r(theirs), ours)
print(json.dumps({"blas": s.platform.blas_kind, "compared": compared, "mismatches": mismatches}))
"""


@pytest.mark.slow  # about 4 s per library: R's start-up dominates; BLIS and ATLAS run with `make test-long`
@pytest.mark.parametrize("library, kind", [("openblas", "openblas"),
                                           pytest.param("blis", "blis", marks=pytest.mark.long),
                                           pytest.param("atlas", "atlas", marks=pytest.mark.long)])
def test_r_own_blas_called_from_python_gives_r_bits(library, kind):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", R_BLAS_AGAINST_R], cwd=ROOT, capture_output=True, text=True,
                          env=blas_env(library), timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"blas": kind, "compared": 141, "mismatches": 0}


def test_r_own_blas_called_from_python_is_the_reference_blas_here(r_session):
    from crossverify.python_impl import kernels
    kernels.bind_r_blas(r_session.platform.blas_path)  # this R's reference BLAS, called through ctypes
    rng = np.random.default_rng(7)
    with kernels.matprod_path_as("r-blas"):
        for m, k, n in ((10, 2, 1000), (2, 1000, 10), (1, 10, 1000), (7, 33, 5)):
            a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
            assert rp.same_bits(ExactKernels().dot(a, b), ExactKernels()._reference_dot(a, b))
            assert rp.same_bits(ExactKernels().crossprod(b), ExactKernels()._reference_dot(b.T, b))
    assert ExactKernels.matprod_path == "reference"


def test_r_own_blas_compiled_call_is_the_ctypes_call(r_session):
    # python_impl/rblas.py's matprod: one compiled call (branches, NaN/Inf test, BLAS) and the ctypes
    # calls it replaces, where no compiler built the extension, give the same bits on every branch
    from crossverify.python_impl import kernels, rblas
    kernels.bind_r_blas(r_session.platform.blas_path)
    rng = np.random.default_rng(11)
    for nan_switch in (True, False):
        blas = rblas.RBlas(r_session.platform.blas_path, nan_switch=nan_switch)
        for m, k, n in ((10, 2, 1000), (1, 10, 1000), (10, 1000, 1), (1, 7, 1), (7, 33, 5)):
            a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
            a.flat[0] = np.inf if m * k > 20 else a.flat[0]
            for x, y in ((a, b), (np.asfortranarray(a), np.asfortranarray(b))):
                with np.errstate(all="ignore"):
                    compiled = blas.matprod(x, y)
                    saved, rblas._compiled_matprod = rblas._compiled_matprod, None
                    try:
                        by_ctypes = blas.matprod(x, y)
                    finally:
                        rblas._compiled_matprod = saved
                both_nan = np.isnan(compiled) & np.isnan(by_ctypes)  # Inf - Inf in R's own loop: NaN either way
                assert compiled.shape == by_ctypes.shape
                assert bool(np.all(both_nan | (compiled.view(np.uint64) == by_ctypes.view(np.uint64))))


@pytest.mark.parametrize("forced", ["internal", "blas", "default.simd"])
def test_openblas_forced_path_is_stated_up_front_not_failed(forced):
    env = blas_env("openblas", **{rp.MATPROD_ENV: forced})
    code, out, err = run_cli("run", "--scenario", "detail-toy", "--kernels", "exact", "--format", "json", env=env)
    result = json.loads(out)
    assert code == 0 and result["ok"], err
    assert result["r_platform"]["blas_kind"] == "openblas"
    exact = forced != "default.simd"  # R's coarser SIMD NaN test is not reproduced
    assert result["r_matprod"]["exact"] is exact
    for row in result["rows"]:
        assert row["expectation"] == ("identical" if exact else "within-bound: R's BLAS is OpenBLAS")
        assert row["verdict"] == "meets"
        assert row["r_matprod_path"] == ("internal" if forced == "internal" else f"{forced}: OpenBLAS")


def test_doctor_on_openblas_and_when_forced_onto_it():
    code, out, _ = run_cli("doctor", "--format", "json", env=blas_env("openblas"))
    result = json.loads(out)
    items = {i["name"]: i for i in result["items"]}
    assert code == 0 and result["r_platform"]["blas_kind"] == "openblas", out
    assert result["r_platform"]["r_blas_callable"] is True
    assert items["R's BLAS"]["value"].startswith("OpenBLAS, ") and items["R's BLAS"]["ok"]
    assert 'matprod "default"' in items["R's %*% path"]["value"] and items["R's %*% path"]["ok"]
    assert items["R's BLAS"]["verdict"] == "exact: the exact kernels call its own dgemm/dgemv/dsyrk with R's arguments"
    code, out, _ = run_cli("doctor", env=blas_env("openblas", **{rp.MATPROD_ENV: "default.simd"}))
    assert code == 1 and "not exact: R's BLAS is OpenBLAS" in out


def test_doctor_on_the_reference_blas():
    code, out, _ = run_cli("doctor", "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["ok"], out
    names = {i["name"] for i in result["items"]}
    assert {"R", "rpy2", "numpy", "libm", "R's BLAS", "R's %*% path", "R's long double", "R's sums", "R's exp"} <= names


# -- NaN and Inf: a bias-net whose weights overflow ---------------------------------------------------
def overflow_scenario(folder, epochs=6):
    """bias-net with weights at the edge of the double range. Hidden neurons 0 and 1 cancel exactly
    (M - M), so the output stays unsaturated and the gradient reaches them: after epoch 0 wh[0, 0]
    overflows to Inf, and from epoch 1 on every product sees Inf or NaN (0 * Inf), so R's default
    path switches to its own double loop. Neuron 2's first product, M + M - M over the second
    sample, is Inf when summed in double (the reference BLAS) and M in long double (R's internal
    loop): the two paths part at epoch 0, step 2."""
    with open(os.path.join(ROOT, "fixtures", "bias-net", "manifest.json")) as fh:
        manifest = json.load(fh)
    M = HUGE

    def matrix(rows):
        return {"shape": [len(rows), len(rows[0])], "values": [[float(v).hex() for v in r] for r in rows]}

    manifest["name"] = "bias-net-overflow"
    manifest["hyper_parameters"]["epochs"] = epochs
    manifest["init"] = {"wh": matrix([[M, M, M], [0.5, 0.5, 0.5], [-M, -M, M], [0.25, 0.25, -M]]),
                        "bh": matrix([[0.0, 0.0, 0.0]]), "wout": matrix([[1e308], [-1e308], [0.5]]),
                        "bout": matrix([[0.25]])}
    os.makedirs(os.path.join(folder, manifest["name"]))
    with open(os.path.join(folder, manifest["name"], "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest["name"]


@pytest.fixture(scope="module")
def overflow_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fixtures")
    overflow_scenario(str(folder))
    return str(folder)


def test_overflow_scenario_feeds_inf_and_nan_to_r_matrix_products(r_session, overflow_dir):
    from crossverify.check.verify import Verifier
    from crossverify.twins.scenarios import load_scenario

    verifier = Verifier(r_session, load_scenario("bias-net-overflow", overflow_dir))
    with np.errstate(over="ignore", invalid="ignore"):  # the overflows are the point here
        r = verifier.r("corrected")
        rows = [verifier.row("corrected", "exact", mode) for mode in ("lockstep", "free-running")]
    assert np.isposinf(r.series("wh")[0]).any()  # epoch 0 ends with an Inf weight ...
    assert np.isnan(r.steps["hidden_layer_input"][1]).any()  # ... and epoch 1's X %*% wh holds 0 * Inf
    X, wh = verifier.scenario.data["X"], verifier.scenario.init["wh"]
    with np.errstate(over="ignore"):
        first = ExactKernels()._reference_dot(X, wh), internal_matprod(X, wh)
    assert np.isinf(first[0][1, 2]) and first[1][1, 2] == HUGE  # the two paths part at once
    # on the reference BLAS, R's default path: dgemm/dgemv while finite, R's double loop after
    for row in rows:
        assert row.ok and row.expectation == "identical", row.first_divergence


def test_overflow_scenario_is_bit_identical_through_r_internal_loop(overflow_dir):
    env = {k: v for k, v in os.environ.items() if k != "R_HOME"}
    env[rp.MATPROD_ENV] = "internal"
    code, out, err = run_cli("run", "--fixtures", overflow_dir, "--variant", "corrected", "--kernels", "exact",
                             "--format", "json", env=env)
    result = json.loads(out)
    assert code == 0 and result["ok"], err
    assert [r["r_matprod_path"] for r in result["rows"]] == ["internal", "internal"]


def test_nan_compares_equal_to_any_nan_and_unequal_to_any_number():
    nan = np.float64(np.nan)
    negative_nan, payload_nan = -nan, np.array([0x7FF8000000000007], dtype=np.uint64).view(np.float64)[0]
    left = np.array([nan, nan, nan, 1.0, 0.0, 1.0])
    right = np.array([negative_nan, payload_nan, 1.0, nan, -0.0, 1.0])
    assert bits_differ(left, right).tolist() == [False, False, True, True, True, False]
