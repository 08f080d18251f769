"""Floating-point error bounds for comparing float-kernel numpy with R, step by step.

For an intermediate z = f(inputs) that both languages compute with the same formula,

    |z_py - z_r| <= P(|d_in|) + c * S

* d_in are the *measured* differences of the step's inputs between the two sides (zero at the
  start of a lockstep epoch, the accumulated drift in a free-running comparison);
* P propagates them exactly (triangle inequality) through f: |a_py b_py - a_r b_r| <=
  M_a |d_b| + |d_a| M_b, with M = max(|value_py|, |value_r|); sigmoid is 1/4-Lipschitz;
* S is the scale of the operands (for a k-term dot product plus bias, S = M_A M_B + M_C) and
  c the rounding allowance of *both* sides, from the standard bounds (Higham, Accuracy and
  Stability of Numerical Algorithms, ch. 3): a k-term sum of rounded products is within
  gamma_k S of the exact value, gamma_k = k u / (1 - k u), u = 2^-53, whatever the summation
  order or FMA use (OpenBLAS's blocked FMA sums and the reference BLAS's loop both satisfy it);
  a correctly rounded elementwise op is within u |z|; numpy's float64 exp is validated to
  1 ulp by numpy's own accuracy tests and glibc's exp is documented within 1 ulp, so the
  sigmoid 1/(1 + e^-x) is within (2^-52 + 2u)|z| per side to first order.

Nothing here is tuned to the data: a defect that changes any step by more than rounding
(a missing transpose, a wrong sum axis, a learning rate off by one ulp in a weight update
that is not itself lost in rounding) lands outside the bound.
"""
import numpy as np

U = 2.0 ** -53
SLACK = 1 + 2.0 ** -20  # the bound is itself computed in floating point; this covers its own rounding
TINY = 4 * 2.0 ** -1074  # below this, subnormal rounding is absolute, not relative


def gamma(k):
    return k * U / (1 - k * U)


def _t(a):
    return np.swapaxes(a, -1, -2)


class Operand:
    """One input of a step, from both sides: values, the measured difference and the magnitude."""

    def __init__(self, left, right):
        self.left, self.right = np.broadcast_arrays(np.asarray(left), np.asarray(right))
        self.d = np.abs(self.left - self.right)
        self.m = np.maximum(np.abs(self.left), np.abs(self.right))

    @property
    def T(self):
        return Operand(_t(self.left), _t(self.right))


def matmul_add(A, B, C=None):
    k = A.left.shape[-1]
    P = A.d @ B.m + A.m @ B.d
    S = A.m @ B.m
    if C is not None:
        P = P + C.d
        S = S + C.m
        k += 1
    return P, S, 2 * gamma(k)


def matmul(A, B):
    return matmul_add(A, B)


def sigmoid(x, z):
    return x.d / 4, z.m, 2 * (2.0 ** -52 + 2 * U) * (1 + 4 * U)


def sub(a, b, z):
    return a.d + b.d, z.m, 2 * U


def slope(x, z):
    # x_py(1 - x_py) - x_r(1 - x_r) = (x_py - x_r)(1 - x_py - x_r)
    return x.d * np.abs(1 - x.left - x.right), x.m * np.maximum(np.abs(1 - x.left), np.abs(1 - x.right)), 2 * gamma(2)


def mul(a, b, z):
    return a.m * b.d + a.d * b.m, z.m, 2 * U


def update_matmul(W, A, B, lr):
    k = A.left.shape[-1]
    P = W.d + lr * (A.d @ B.m + A.m @ B.d)
    S = W.m + lr * (A.m @ B.m)
    return P, S, 2 * gamma(k + 2)


def update_sum(b, D, lr, reduce, k):
    P = b.d + lr * reduce(D.d)
    S = b.m + lr * reduce(D.m)
    return P, S, 2 * gamma(k + 2)


def bound(P, S, c):
    """The elementwise bound P + c S, with the slack for its own rounding."""
    return (P + c * S) * SLACK + TINY
