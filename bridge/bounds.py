"""Floating-point error bounds for comparing float-kernel numpy with R, step by step.

Each intermediate z is described by the expression both languages evaluate (for example
``wout + (h^T . d_output) * lr``). The bound on |z_py - z_r| is built up the expression tree:
every node carries its value on both sides (recomputed from the recorded operands), a bound d on
the difference of the two sides' true values, and a bound m on their magnitude. For a node
z = op(a, b) with operand bounds (d_a, m_a), (d_b, m_b):

    d_z = P + c * S

* P propagates the operands' differences exactly (triangle inequality): for a product,
  |a_py b_py - a_r b_r| <= m_a d_b + d_a m_b; for a sum, d_a + d_b; the sigmoid is 1/4-Lipschitz;
  x(1 - x) changes by |dx| |1 - x_py - x_r|.
* S is the scale of the operands and c the rounding allowance of *both* sides, from the standard
  bounds (Higham, Accuracy and Stability of Numerical Algorithms, ch. 3): a k-term dot product is
  within gamma_k |A||B| of the exact value whatever the summation order or FMA use (OpenBLAS's
  blocked FMA sums and the reference BLAS's loop both obey it), gamma_k = k u / (1 - k u),
  u = 2^-53; so is a k-term sum (pairwise in numpy, long double in R); a correctly rounded
  elementwise op is within u |z|; numpy's float64 exp is validated to 1 ulp by numpy's own
  accuracy tests and glibc documents exp within 1 ulp, so 1/(1 + e^-x) is within
  (2^-52 + 2u)|z| per side to first order.

Leaves are recorded matrices (d = the measured difference) or data both sides share (d = 0).
Nothing here is tuned to data: a change to any step larger than rounding lands outside the bound.
"""
import numpy as np

U = 2.0 ** -53
SLACK = 1 + 2.0 ** -20  # the bound is itself computed in floating point; this covers its own rounding
TINY = 4 * 2.0 ** -1074  # below this, subnormal rounding is absolute, not relative
EXP_SIGMOID = 2 * (2.0 ** -52 + 2 * U) * (1 + 4 * U)


def gamma(k):
    return k * U / (1 - k * U)


class Node:
    """A (sub)expression on both sides: values, a bound on their difference, and its parts."""

    def __init__(self, left, right, d, m, P=None, S=None):
        self.left, self.right = left, right
        self.d, self.m = d, m
        self.P = d if P is None else P  # the propagated part of d
        self.S = m if S is None else S  # the operand scale the rounding part is measured against

    @classmethod
    def leaf(cls, left, right):
        left, right = np.broadcast_arrays(np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64))
        return cls(left, right, np.abs(left - right), np.maximum(np.abs(left), np.abs(right)))


def _t(a):
    return np.swapaxes(a, -1, -2) if np.ndim(a) >= 2 else a


def _finish(left, right, P, S, c):
    """A node whose value is rounded once more on each side: d = P + c S."""
    S = np.maximum(S, np.maximum(np.abs(left), np.abs(right)))
    d = (P + c * S) * SLACK + TINY
    return Node(left, right, d, S + d, P, S)


def transpose(a):
    return Node(_t(a.left), _t(a.right), _t(a.d), _t(a.m), _t(a.P), _t(a.S))


def neg(a):
    return Node(-a.left, -a.right, a.d, a.m, a.P, a.S)


def add(a, b):
    return _finish(a.left + b.left, a.right + b.right, a.d + b.d, a.m + b.m, 2 * U)


def sub(a, b):
    return _finish(a.left - b.left, a.right - b.right, a.d + b.d, a.m + b.m, 2 * U)


def mul(a, b):
    return _finish(a.left * b.left, a.right * b.right, a.m * b.d + a.d * b.m, a.m * b.m, 2 * U)


def scale(a, factor):
    """Multiplication by a power of two: exact, on both sides."""
    return Node(a.left * factor, a.right * factor, a.d * abs(factor), a.m * abs(factor))


def matmul(a, b):
    k = a.left.shape[-1]
    return _finish(a.left @ b.left, a.right @ b.right, a.d @ b.m + a.m @ b.d, a.m @ b.m, 2 * gamma(k))


def sigmoid(x):
    f = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731 - the values only locate the bound, which covers either exp
    return _finish(f(x.left), f(x.right), x.d / 4, np.zeros_like(x.m), EXP_SIGMOID)


def slope(x):
    # x_py(1 - x_py) - x_r(1 - x_r) = (x_py - x_r)(1 - x_py - x_r)
    P = x.d * (np.abs(1 - x.left - x.right) + 2 * x.d)
    S = x.m * (1 + x.m)
    return _finish(x.left * (1 - x.left), x.right * (1 - x.right), P, S, 2 * gamma(2))


def reduce_sum(a, reduce, terms):
    """A sum of ``terms`` elements per output, spread by ``reduce`` (numpy's axis sum, or R's recycling)."""
    return _finish(reduce(a.left), reduce(a.right), reduce(a.d), reduce(a.m), 2 * gamma(terms))


def mean(a):
    n = a.left.shape[-1] * a.left.shape[-2]
    avg = lambda v: v.mean(axis=(-2, -1), keepdims=True)  # noqa: E731
    return _finish(avg(a.left), avg(a.right), avg(a.d), avg(a.m), 2 * gamma(n + 1))


def evaluate(expr, leaf, fixed):
    """The Node of ``expr``: a leaf token, or (op, operands...) with op one of the functions above."""
    if isinstance(expr, str):
        return leaf(expr)
    op, *args = expr
    if op == "scale":
        return scale(evaluate(args[0], leaf, fixed), args[1])
    if op == "sum":
        return reduce_sum(evaluate(args[0], leaf, fixed), fixed["reduce"], fixed["sum_terms"])
    nodes = [evaluate(a, leaf, fixed) for a in args]
    return {"T": transpose, "neg": neg, "add": add, "sub": sub, "mul": mul, "matmul": matmul,
            "sigmoid": sigmoid, "slope": slope, "mean": mean}[op](*nodes)
