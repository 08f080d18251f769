"""R's elementary functions over whole numpy arrays, bit for bit: the C library's function per
element, wrapped in the rules R puts around it.

What R does (src/main/arithmetic.c and arithmetic.h):

* ``tanh``, ``log1p``, ``expm1`` and ``sqrt`` go through ``math1``: the C library's function on
  each element; where the result is NaN and the input was NaN, the input's bits are kept (NA stays NA).
* ``log(x)`` is ``math1`` of ``R_log``: ``x > 0 ? log(x) : x == 0 ? -Inf : R_NaN``.
* ``x ^ y`` is ``R_POW``: ``x * x`` when y is 2, else ``R_pow``, which answers 1 for ``1 ^ y`` and
  ``x ^ 0``, +0 or +Inf for a zero base (C's pow keeps the sign of -0), its own rules for infinite
  operands, and the C library's ``pow`` for the rest.
* ``pmax(a, b)`` (src/main/summary.c, do_pmin): b where b is NaN or b > a, else a (a tie keeps a,
  so ``pmax(-0, 0)`` is -0).

numpy's own ``tanh``, ``log``, ``log1p``, ``expm1`` and ``power`` run SIMD code (AVX-512 here) that
rounds differently from glibc: on bench/kernels.py's 2 million inputs per function, numpy's tanh
differed from R's in 17% of them, expm1 in 2.7%, power 2.3%, log1p 1.8%, log 0.1% (measured
here; the exact kernels in none). numexpr calls the C library's function
element by element (its VML switch off); at import, each function is checked bit for bit against
Python's ``math`` module (the same C library) on a spread of inputs, and where numexpr differs the
module falls back to ``math`` per element (about 20x slower).
"""
import math

import numpy as np

try:  # numexpr applies the C library's function to whole arrays, ~20x faster than math.* per element
    import numexpr
except ImportError:  # pragma: no cover - numexpr is a declared dependency
    numexpr = None

if numexpr is not None:
    # one thread, as python_impl/kernels.py sets: elementwise results do not depend on it, and on
    # two shared cores the pool costs more than it saves at these sizes
    numexpr.set_num_threads(1)


def _bits(pattern):
    return np.array(pattern, dtype=np.uint64).view(np.float64)[()]


R_NAN = _bits(0x7FF8000000000000)  # R's NaN constant (R_NaN; log(-1) in R)
INVALID_NAN = _bits(0xFFF8000000000000)  # the NaN an invalid operation gives on x86_64, as glibc returns it


# -- the C library's functions, element by element through Python's math module -------------------
# math raises where C returns a special value; these return C's value instead.

def _c_tanh(v):
    return math.tanh(v)


def _c_log(v):
    if v > 0:
        return math.log(v)
    return v if v != v else -math.inf if v == 0 else INVALID_NAN


def _c_log1p(v):
    if v > -1:
        return math.log1p(v)
    return v if v != v else -math.inf if v == -1 else INVALID_NAN


def _c_expm1(v):
    try:
        return math.expm1(v)
    except OverflowError:
        return math.inf


def _odd_integer(y):
    return y == math.floor(y) and abs(y) < 2.0 ** 53 and math.fmod(y, 2.0) != 0


def _c_pow(x, y):
    try:
        return math.pow(x, y)
    except OverflowError:  # C's pow overflows to -Inf for a negative base and an odd exponent
        return -math.inf if x < 0 and _odd_integer(y) else math.inf
    except ValueError:
        if x == 0:  # C's pole, 0 ^ negative: Inf, with the zero's sign for an odd exponent
            return math.copysign(math.inf, x) if _odd_integer(y) else math.inf
        return INVALID_NAN  # a negative base and a non-integer exponent


PER_ELEMENT = {"tanh": _c_tanh, "log": _c_log, "log1p": _c_log1p, "expm1": _c_expm1, "pow": _c_pow}
EXPRESSIONS = {"tanh": "tanh(x)", "log": "log(x)", "log1p": "log1p(x)", "expm1": "expm1(x)", "pow": "x ** y"}
ARGUMENTS = {"pow": ("x", "y")}


def per_element(name, *arrays):
    """The C library's ``name`` applied element by element through Python's math module."""
    fn = PER_ELEMENT[name]
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in arrays))
    with np.errstate(all="ignore"):  # C's special values are the answers here, not accidents
        return np.frompyfunc(fn, len(arrays), 1)(*arrays).astype(np.float64)


def _compile(name):
    """numexpr's compiled ``name`` and the keywords its call needs, or (None, {}). Calling the
    compiled object skips numexpr.evaluate's parsing; both exponent and base are variables, so
    numexpr cannot rewrite ``x ** 2`` or ``x ** 0.5`` into other operations."""
    if numexpr is None:
        return None, {}
    args = ARGUMENTS.get(name, ("x",))
    compiled = numexpr.NumExpr(EXPRESSIONS[name], signature=[(a, np.float64) for a in args])
    for kwargs in ({"ex_uses_vml": False}, {}):  # numexpr >= 2.8.5 requires ex_uses_vml
        try:
            compiled(*(np.ones(1) for _ in args), **kwargs)
            return compiled, kwargs
        except (TypeError, ValueError):
            continue
    return None, {}


def _probe(name):
    """Inputs spread over the function's domain, its edges and the values where libraries differ."""
    rng = np.random.default_rng(20170529)
    spread = np.concatenate([
        np.linspace(-40.0, 40.0, 2001),
        rng.uniform(-1.0, 1.0, 2000),
        rng.standard_normal(2000) * 10.0 ** rng.integers(-300, 300, 2000),
        1.0 + rng.standard_normal(1000) * 1e-6,
        np.array([0.0, -0.0, 1.0, -1.0, 2.0 ** -1074, -(2.0 ** -1074), 2.0 ** -1022, 709.78, 710.0, -745.2,
                  1e308, -1e308, np.inf, -np.inf]),
    ])
    if name == "pow":
        base = np.concatenate([np.abs(spread[:3000]), -np.abs(spread[3000:4000]), [0.5, 2.0, 10.0, -2.0, 1e-300]])
        exponent = np.concatenate([rng.standard_normal(3000) * 30, np.round(rng.standard_normal(1000) * 30),
                                   [1074.5, 1024.0, -1080.0, 3.0, 0.5]])
        return base, exponent
    if name == "log":  # R_log calls log only for x > 0
        return (spread[spread > 0],)
    return (spread,)


def _matches_math(name, compiled, kwargs):
    if compiled is None:
        return False
    args = _probe(name)
    with np.errstate(all="ignore"):
        got = compiled(*args, **kwargs)
        want = per_element(name, *args)
    return np.array_equal(got.view(np.uint64), want.view(np.uint64))


def _setup():
    table = {}
    for name in EXPRESSIONS:
        compiled, kwargs = _compile(name)
        table[name] = (compiled, kwargs) if _matches_math(name, compiled, kwargs) else (None, {})
    return table


_NUMEXPR = _setup()
# which functions numexpr evaluates (checked bit for bit at import); the others run per element
VIA_NUMEXPR = {name: compiled is not None for name, (compiled, _) in _NUMEXPR.items()}


def c_function(name, *arrays):
    """The C library's ``name`` (tanh, log, log1p, expm1, pow) over whole arrays, broadcast."""
    compiled, kwargs = _NUMEXPR[name]
    if compiled is None:
        return per_element(name, *arrays)
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in arrays))
    with np.errstate(all="ignore"):
        return compiled(*(np.ascontiguousarray(a) for a in arrays), **kwargs).reshape(arrays[0].shape)


# -- R's functions ------------------------------------------------------------------------------------

def _math1(x, y):
    """R's math1 rule: where the result is NaN and the input was NaN, the input's bits."""
    return np.where(np.isnan(y) & np.isnan(x), x, y)


def tanh(x):
    """R's ``tanh(x)``."""
    x = np.asarray(x, dtype=np.float64)
    return _math1(x, c_function("tanh", x))


def log1p(x):
    """R's ``log1p(x)``."""
    x = np.asarray(x, dtype=np.float64)
    return _math1(x, c_function("log1p", x))


def expm1(x):
    """R's ``expm1(x)``."""
    x = np.asarray(x, dtype=np.float64)
    return _math1(x, c_function("expm1", x))


def log(x):
    """R's ``log(x)``: R_log, x > 0 ? log(x) : x == 0 ? -Inf : R_NaN, then math1's NaN rule."""
    x = np.asarray(x, dtype=np.float64)
    positive = x > 0
    y = c_function("log", np.where(positive, x, 1.0))
    y = np.where(positive, y, np.where(x == 0, -np.inf, R_NAN))
    return _math1(x, y)


def sqrt(x):
    """R's ``sqrt(x)``: IEEE 754 requires sqrt correctly rounded, and numpy and the C library both
    use the processor's square-root instruction, so numpy's bits are R's; math1's NaN rule on top."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return _math1(x, np.sqrt(x))


def _quieted(v):
    """``v`` with the quiet bit of every NaN set, as any arithmetic operation returns a NaN operand."""
    quiet = (v.view(np.uint64) | np.uint64(0x0008000000000000)).view(np.float64)
    return np.where(np.isnan(v), quiet, v)


def pow(x, y):
    """R's ``x ^ y`` (R_POW, then R_pow), elementwise with numpy broadcasting."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    finite = np.isfinite(x) & np.isfinite(y)
    with np.errstate(all="ignore"):
        general = c_function("pow", np.where(finite, x, 1.0), np.where(finite, y, 1.0))
        integer_y = np.isfinite(y) & (y == np.floor(y))
        odd_y = integer_y & (np.fmod(y, 2.0) != 0)  # R's myfmod(y, 2) != 0; every |y| >= 2^53 is even
        # (-Inf)^y for an integer y; (+Inf)^y; x^(+-Inf) for x >= 0; everything else infinite is NaN
        infinite_base = np.where(x > 0, np.where(y < 0, 0.0, np.inf),
                                 np.where(integer_y, np.where(y < 0, 0.0, np.where(odd_y, x, -x)), np.nan))
        infinite_exponent = np.where(y > 0, np.where(x >= 1, np.inf, 0.0), np.where(x < 1, np.inf, 0.0))
        conditions = [
            y == 2.0,  # R_POW and R_pow: x * x
            (x == 1.0) | (y == 0.0),
            x == 0.0,
            finite,
            np.isnan(x) | np.isnan(y),
            np.isinf(x) & ~np.isnan(infinite_base),
            np.isinf(y) & (x >= 0),
        ]
        choices = [
            x * x,
            np.ones_like(x),
            np.where(y > 0, 0.0, np.where(y < 0, np.inf, y)),
            general,
            # R_pow returns x + y: the NaN operand's payload, quieted (R's NA is a signalling NaN);
            # as compiled in R 4.2.2 here y's when both are NaN (measured: NaN ^ NA is NA, NA ^ NaN is NaN)
            _quieted(np.where(np.isnan(y), y, x)),
            infinite_base,
            infinite_exponent,
        ]
        return np.select(conditions, choices, default=R_NAN)


def pmax(a, b):
    """R's ``pmax(a, b)`` (na.rm = FALSE) elementwise with numpy broadcasting: b where b is NaN or
    b > a, else a (a NaN in a stays unless b is NaN too; a tie keeps a)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return np.where(np.isnan(b) | (b > a), b, a)
