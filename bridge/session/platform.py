"""What the embedded R really does with the arithmetic the exact kernels reproduce.

R's ``%*%`` (``matprod`` in R's src/main/array.c, R >= 3.4) takes one of three paths, chosen by
``options(matprod = )``:

* ``"default"``: the BLAS (``dgemm``; ``dgemv`` when one side is a vector), unless an operand may
  hold NaN or Inf (``mayHaveNaNOrInf``: a test of sums of neighbouring elements), in which case R's
  own loop accumulating in double (``simple_matprod``). ``"default.simd"`` is the same with a
  coarser test.
* ``"internal"``: always R's own loop, accumulating in long double (``internal_matprod``).
* ``"blas"``: always the BLAS.

The reference BLAS adds the separately rounded products in term order from +0, exactly as R's
double loop does, so on the reference BLAS "default" and "blas" are reproduced by one compiled loop
(python_impl/kernels.py). Other BLAS libraries (OpenBLAS, BLIS, ATLAS, MKL, Accelerate) block the
sums and use FMA in ways that depend on the CPU, the build and the thread count, so no loop of ours
reproduces them; but R runs in this process, so the exact kernels call the very dgemm/dgemv/dsyrk R
calls, with R's arguments (python_impl/rblas.py), and R keeps its default path. Only where that
library cannot be reached from Python, or gives other bits than R on the probes, does crossverify
run R's ``%*%`` under "internal" and reproduce that loop instead.

Which BLAS is loaded is read from this process (R runs in it): the libraries mapped in
/proc/self/maps, the path R reports (``extSoftVersion()[["BLAS"]]``, often just ``libblas.so.3``
whichever library it is), vendor symbols, and finally R's own products compared with the
reference BLAS's sums on a few probe matrices.
"""
import ctypes
import os
import re
from dataclasses import asdict, dataclass

import numpy as np

from crossverify.errors import CrossverifyError

MATPROD_ENV = "CROSSVERIFY_R_MATPROD"
MATPROD_CHOICES = ("auto", "default", "internal", "blas", "default.simd")

BLAS_NAMES = {
    "reference": "the reference BLAS", "openblas": "OpenBLAS", "blis": "BLIS", "atlas": "ATLAS",
    "mkl": "Intel MKL", "accelerate": "Apple Accelerate", "flexiblas": "FlexiBLAS", "unknown": "an unidentified BLAS",
}
# vendor symbols, looked up through the loaded BLAS and the libraries it depends on
_VENDOR_SYMBOLS = (("openblas", "openblas_get_config"), ("blis", "bli_info_get_version_str"),
                   ("atlas", "ATL_buildinfo"), ("mkl", "mkl_get_version_string"),
                   ("mkl", "MKL_Get_Version_String"), ("flexiblas", "flexiblas_current_backend"))
# words in a library's path, most specific first
_PATH_WORDS = (("openblas", "openblas"), ("blis", "blis"), ("mkl", "mkl"), ("atlas", "atlas"),
               ("accelerate", "accelerate.framework"), ("accelerate", "veclib"), ("flexiblas", "flexiblas"))
_BLAS_FILE = re.compile(r"(?i)(/lib(blas|rblas|openblas\w*|blis\w*|[st]?atlas|f77blas|cblas|mkl\w*|flexiblas\w*)"
                        r"[.\w-]*\.(so|dylib)[.\d]*$|accelerate\.framework|veclib)")


@dataclass
class RPlatform:
    """The facts about the embedded R that decide whether its arithmetic can be reproduced."""

    r_version: str
    blas_path: str  # extSoftVersion()[["BLAS"]]: the BLAS library R loaded, as R names it
    blas_kind: str  # a key of BLAS_NAMES
    blas_detail: str  # the vendor's own description (OpenBLAS's config, BLIS's version), if any
    blas_libraries: list  # every BLAS-like library mapped into this process, full paths
    lapack_path: str  # La_library()
    matprod_at_start: str  # getOption("matprod") before crossverify sets it
    long_double: bool  # capabilities("long.double"): R's LDOUBLE is long double, not double
    longdouble_bytes: int  # .Machine$sizeof.longdouble
    longdouble_digits: int  # .Machine$longdouble.digits (0 without long double)
    blas_sums_like_reference: bool = None  # R's BLAS gave the reference BLAS's bits on the probes
    probe_elements: int = 0
    # R's own BLAS routines, called from Python with R's arguments (python_impl/rblas.py), gave R's
    # %*% and crossprod bits on the probes: R's default path is then reproduced on any BLAS
    r_blas_callable: bool = None

    @property
    def blas_name(self):
        return BLAS_NAMES[self.blas_kind]

    @property
    def is_reference_blas(self):
        """Named like the reference BLAS, and computing like it."""
        return self.blas_kind == "reference" and bool(self.blas_sums_like_reference)

    def numpy_longdouble_matches(self):
        """numpy's longdouble is R's LDOUBLE: same significand width (64 bits for x87's 80-bit format)."""
        return self.long_double and np.finfo(np.longdouble).nmant + 1 == self.longdouble_digits

    def to_dict(self):
        out = asdict(self)
        out["blas_name"] = self.blas_name
        return out


@dataclass
class MatprodPlan:
    """Which path R's %*% takes in this session and whether the exact kernels reproduce it."""

    option: str  # the value of options(matprod = ) R runs with
    kernel_path: str  # what python_impl/kernels.py's ExactKernels.dot reproduces
    exact: bool
    label: str  # short, for a table column
    description: str  # one sentence, for headers and `crossverify doctor`
    reason: str = ""  # why exact kernels cannot be bit-identical, when they cannot
    requested: str = "auto"

    @property
    def expectation(self):
        """The expectation of an exact-kernel row: said before the run, never a FAIL found after it."""
        return "identical" if self.exact else f"within-bound: {self.reason}"

    def to_dict(self):
        return asdict(self)


# -- reading the process ---------------------------------------------------------------------
def mapped_libraries(maps_path="/proc/self/maps"):
    """Every file mapped into this process (on Linux), in first-mapped order; [] where unreadable."""
    try:
        with open(maps_path) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    seen = []
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/") and parts[5] not in seen:
            seen.append(parts[5])
    return seen


def blas_libraries(paths):
    """The BLAS-like libraries among ``paths``."""
    return [p for p in paths if _BLAS_FILE.search(p)]


def _loaded_handle(path):
    """A handle on ``path`` if it is already loaded into this process, without loading anything."""
    try:
        return ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LAZY", 1))
    except OSError:
        return None


def _call_text(handle, symbol, *args):
    fn = getattr(handle, symbol)
    fn.restype = ctypes.c_char_p
    value = fn(*args)
    return value.decode(errors="replace").strip() if value else ""


def vendor_of(paths):
    """(kind, detail) from vendor symbols of the loaded libraries ``paths``, or (None, "")."""
    for path in paths:
        handle = _loaded_handle(path)
        if handle is None:
            continue
        for kind, symbol in _VENDOR_SYMBOLS:
            if not hasattr(handle, symbol):
                continue
            detail = ""
            try:
                if kind == "openblas":
                    config = _call_text(handle, "openblas_get_config")
                    detail = f"{config}, core {_call_text(handle, 'openblas_get_corename')}"
                elif kind == "blis":
                    handle.bli_arch_query_id.restype = ctypes.c_int
                    arch = _call_text(handle, "bli_arch_string", handle.bli_arch_query_id())
                    detail = f"BLIS {_call_text(handle, 'bli_info_get_version_str')} ({arch})"
            except (AttributeError, OSError):
                pass
            return kind, detail
    return None, ""


def r_blas_files(blas_path, mapped):
    """The files that are R's BLAS: the path R reports and the file it resolves to; the BLAS-like
    libraries mapped into the process only when R reports none. (Python's own BLAS is mapped here
    too, e.g. numpy's bundled OpenBLAS, so the mapped list alone would not say which one R uses.)"""
    if not blas_path:
        return list(mapped)
    return list(dict.fromkeys([blas_path, os.path.realpath(blas_path)]))


def classify_blas(files, vendor=(None, "")):
    """The kind of BLAS (a key of BLAS_NAMES) whose ``files`` R loaded: vendor symbols first, then
    names in the paths; the reference BLAS only when every file is called libblas (or R's own
    libRblas) and nothing names another implementation."""
    if vendor[0]:
        return vendor[0]
    candidates = [c for c in files if c]
    for kind, word in _PATH_WORDS:
        if any(word in c.lower() for c in candidates):
            return kind
    names = [os.path.basename(c) for c in candidates]
    if names and all(re.match(r"lib(r?blas)\b", n, re.IGNORECASE) for n in names):
        return "reference"
    return "unknown"


# -- reading R -------------------------------------------------------------------------------
def _r_text(session, code):
    value = session.eval(code)
    return str(value[0]) if len(value) else ""


def probe_matrices():
    """Products on which a blocked or FMA BLAS gives other bits than the reference loop: dgemm,
    dgemv on either side, and a dot product, with values spread over many magnitudes."""
    rng = np.random.default_rng(20170529)

    def draw(m, n):
        return rng.standard_normal((m, n)) * 10.0 ** rng.integers(-6, 6, (m, n))

    return [(draw(7, 96), draw(96, 9)), (draw(11, 96), draw(96, 1)), (draw(1, 96), draw(96, 6)),
            (draw(1, 96), draw(96, 1))]


def r_products(session, option, pairs):
    """R's ``a %*% b`` for each pair under ``options(matprod = option)``; R's option is restored."""
    saved = _r_text(session, "getOption('matprod', 'default')")
    session.eval(f"options(matprod = '{option}')")
    try:
        return [session.from_r(session.call("%*%", session.to_r(a), session.to_r(b))) for a, b in pairs]
    finally:
        session.eval(f"options(matprod = '{saved}')")


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def blas_sums_like_reference(session):
    """(agrees, elements): whether R's BLAS gave the reference BLAS's bits on every probe product."""
    from crossverify.python_impl.kernels import ExactKernels

    pairs = probe_matrices()
    got = r_products(session, "blas", pairs)
    reference = [ExactKernels()._reference_dot(a, b) for a, b in pairs]
    return all(same_bits(g, r) for g, r in zip(got, reference)), sum(r.size for r in reference)


def internal_loop_reproduced(session):
    """Whether R's internal loop gave python_impl's internal_matprod bits on every probe product."""
    from crossverify.python_impl.kernels import internal_matprod

    pairs = probe_matrices()
    got = r_products(session, "internal", pairs)
    return all(same_bits(g, internal_matprod(a, b)) for g, (a, b) in zip(got, pairs))


def sums_reproduced(session):
    """Whether R's colSums, rowSums and mean (long-double accumulators, R's src/main/array.c and
    summary.c) gave the exact kernels' bits on values whose sum depends on the accumulator."""
    from crossverify.python_impl.kernels import ExactKernels

    rng = np.random.default_rng(20170529)
    x = rng.standard_normal((40, 7)) * 10.0 ** rng.integers(-12, 12, (40, 7))
    exact, rx = ExactKernels(), session.to_r(x)
    return (same_bits(session.from_r(session.call("colSums", rx)), exact.sum(x, axis=0).ravel())
            and same_bits(session.from_r(session.call("rowSums", rx)), exact.sum(x, axis=1).ravel())
            and same_bits(session.from_r(session.call("mean", rx))[0], exact.mean(x)))


def exp_is_libm(session):
    """(R's exp == math.exp, numexpr's exp == math.exp) on a spread of inputs, bit for bit. R and
    Python share this process's C library, so R's exp is normally libm's exp."""
    import math

    from crossverify.python_impl.kernels import LIBM_EXP_VIA_NUMEXPR

    x = np.concatenate([np.linspace(-745.0, 709.0, 2001), np.random.default_rng(7).uniform(-40, 40, 2000)])
    libm = np.array([math.exp(v) for v in x])
    return same_bits(session.from_r(session.call("exp", session.to_r(x))), libm), LIBM_EXP_VIA_NUMEXPR


def r_blas_reproduced(session, blas_path):
    """Whether python_impl/rblas.py, bound to the library at ``blas_path``, gives R's own bits for
    ``%*%`` and ``crossprod`` under R's default path and under "blas" on the probe matrices; False
    when the library or its dgemm/dgemv/dsyrk cannot be reached from this process."""
    from crossverify.python_impl.kernels import _R_BLAS, bind_r_blas

    try:
        bind_r_blas(blas_path)
    except (OSError, AttributeError):
        return False
    pairs = probe_matrices()
    for option, path in (("default", "r-blas"), ("blas", "r-blas-always")):
        ours = _R_BLAS[path]
        if not all(same_bits(g, ours.matprod(a, b)) for g, (a, b) in zip(r_products(session, option, pairs), pairs)):
            return False
        crossed = [(np.ascontiguousarray(a.T), b) for a, b in pairs]
        saved = _r_text(session, "getOption('matprod', 'default')")
        session.eval(f"options(matprod = '{option}')")
        try:
            theirs = [session.from_r(session.call("crossprod", session.to_r(x), session.to_r(y))) for x, y in crossed]
            sym = [session.from_r(session.call("crossprod", session.to_r(y))) for _, y in crossed]
        finally:
            session.eval(f"options(matprod = '{saved}')")
        if not (all(same_bits(t, ours.crossprod(x, y)) for t, (x, y) in zip(theirs, crossed))
                and all(same_bits(t, ours.crossprod(y)) for t, (_, y) in zip(sym, crossed))):
            return False
    return True


def probe(session):
    """The RPlatform of ``session``'s R (this process)."""
    libraries = blas_libraries(mapped_libraries())
    blas_path = _r_text(session, "extSoftVersion()[['BLAS']]")
    files = r_blas_files(blas_path, libraries)
    vendor = vendor_of(files)  # through R's BLAS and the libraries it depends on
    digits = session.eval("if (is.null(.Machine$longdouble.digits)) 0L else .Machine$longdouble.digits")[0]
    size = session.eval("if (is.null(.Machine$sizeof.longdouble)) 0L else .Machine$sizeof.longdouble")[0]
    platform = RPlatform(
        r_version=_r_text(session, "paste(R.version$major, R.version$minor, sep = '.')"),
        blas_path=blas_path, blas_kind=classify_blas(files, vendor), blas_detail=vendor[1],
        blas_libraries=libraries, lapack_path=_r_text(session, "La_library()"),
        matprod_at_start=_r_text(session, "getOption('matprod', 'default')"),
        long_double=bool(session.eval("capabilities('long.double')")[0]),
        longdouble_bytes=int(size), longdouble_digits=int(digits))
    platform.blas_sums_like_reference, platform.probe_elements = blas_sums_like_reference(session)
    if not platform.is_reference_blas:  # the reference BLAS is reproduced by the compiled loop itself
        platform.r_blas_callable = bool(blas_path) and r_blas_reproduced(session, blas_path)
    return platform


# -- choosing the path -----------------------------------------------------------------------
def requested_matprod(environ=os.environ):
    """The matprod path asked for in $CROSSVERIFY_R_MATPROD ("auto" when unset)."""
    value = environ.get(MATPROD_ENV, "").strip() or "auto"
    if value not in MATPROD_CHOICES:
        raise CrossverifyError(f"{MATPROD_ENV}={value!r} is not a matprod path. Choose one of "
                               f"{', '.join(MATPROD_CHOICES)} (auto: R's BLAS on the reference BLAS, "
                               f"R's own long-double loop on any other), or unset it.")
    return value


def _internal_plan(platform, requested, why):
    if not platform.long_double:
        # R built without long double: its "internal" loop sums in double, in the reference order
        return MatprodPlan("internal", "reference", True, "internal",
                           "R's own loop (this R has no long double, so it sums in double)", requested=requested)
    if not platform.numpy_longdouble_matches():
        reason = (f"R's long double has {platform.longdouble_digits} significant bits and numpy's "
                  f"{np.finfo(np.longdouble).nmant + 1}")
        return MatprodPlan("internal", "internal", False, "internal", "R's own long-double loop", reason, requested)
    return MatprodPlan("internal", "internal", True, "internal",
                       f"R's own loop, products rounded to double and summed in long double "
                       f"({platform.longdouble_digits}-bit significand){why}", requested=requested)


def choose_matprod(platform, requested="auto"):
    """The MatprodPlan for ``platform`` when ``requested`` (one of MATPROD_CHOICES) is asked for."""
    reference = platform.is_reference_blas
    callable_blas = not reference and bool(platform.r_blas_callable)
    if requested == "internal" or (requested == "auto" and not reference and not callable_blas):
        why = "" if requested == "internal" else (
            f"; R's BLAS is {platform.blas_name}, whose routines could not be called from Python here, so R's "
            f"%*% is run under options(matprod = \"internal\")")
        return _internal_plan(platform, requested, why)
    option = "default" if requested == "auto" else requested
    if callable_blas and option in ("default", "blas"):
        switch = "" if option == "blas" else "; R's own double loop when an operand has NaN/Inf"
        return MatprodPlan(option, "r-blas" if option == "default" else "r-blas-always", True,
                           f"{option}: {platform.blas_name}",
                           f"{platform.blas_name} ({platform.blas_path}), its own dgemm/dgemv/dsyrk called from "
                           f"Python with R's arguments{switch}", requested=requested)
    if reference:
        switch = "" if option == "blas" else "; R's own double loop when an operand has NaN/Inf, which sums alike"
        return MatprodPlan(option, "reference", True, f"{option}: reference BLAS",
                           f"the reference BLAS (dgemm/dgemv: products summed in term order){switch}",
                           requested=requested)
    what = platform.blas_name if platform.blas_kind != "reference" else \
        "named like the reference BLAS but does not sum like it"
    reason = f"R's BLAS is {what}"
    return MatprodPlan(option, "reference", False, f"{option}: {platform.blas_name}",
                       f"{platform.blas_name} ({platform.blas_path}), whose blocked/FMA sums are not reproduced"
                       + ("" if option == "blas" else "; R's own double loop when an operand has NaN/Inf"),
                       reason, requested)


def apply_matprod(session, platform, requested="auto"):
    """Set R's ``options(matprod = )`` and the exact kernels' path to the plan for ``requested``."""
    from crossverify.python_impl.kernels import set_matprod_path

    plan = choose_matprod(platform, requested)
    session.eval(f"options(matprod = '{plan.option}')")
    set_matprod_path(plan.kernel_path)
    return plan


# -- saying it -------------------------------------------------------------------------------
def long_double_text(platform):
    if not platform.long_double:
        return "none (R built without long double: its sums run in double)"
    return f"{platform.longdouble_digits}-bit significand ({platform.longdouble_bytes} bytes)"


def header(platform, plan):
    """The lines `crossverify run` prints above its table: which BLAS R loaded (name and full path,
    since several libraries are all called libblas.so.3), the path its %*% takes, and whether
    exact kernels can be bit-identical on it."""
    detail = f" ({platform.blas_detail})" if platform.blas_detail else ""
    lines = [f"BLAS: {platform.blas_name}, {platform.blas_path or '(R reports no path)'}{detail}",
             f"R's %*%: matprod \"{plan.option}\": {plan.description}",
             f"long double: {long_double_text(platform)}"]
    if not plan.exact:
        lines.append(f"exact kernels: not bit-identical here ({plan.reason}); their rows are checked "
                     f"within the float bound instead. For bit-identical rows unset {MATPROD_ENV} or set it "
                     f"to \"internal\".")
    return "\n".join(lines)
