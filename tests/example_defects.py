"""Defects injected into the example twins (examples/), one line each, with where the exact-kernel
free-running comparison must first see them: (epoch, step, intermediate, element), or None when
the change leaves every bit as it was. tests/test_examples.py applies each to a copy of the example
and checks the prediction. Each prediction is reasoned from the code, not read off a run."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Defect:
    example: str  # the folder under examples/
    file: str  # the file changed, relative to that folder
    old: str  # the text replaced; it must occur exactly once
    new: str
    slip: str  # the mistake, in words
    first: tuple = None  # (epoch, step, intermediate, (row, column)), or None: no bit changes

    @property
    def side(self):
        return "r" if self.file.endswith(".R") else "python"

    @property
    def id(self):
        return f"{self.example}:{self.side}:{self.slip.split(':')[0]}"


DEFECTS = (
    # -- tanh_net: two tanh hidden layers, 40 samples, biases b1 (1 x 5), b2 (1 x 4) -------------------
    Defect("tanh_net", "tanh_net.R",
           "matrix(b, nrow(inputs), ncol(W), byrow = TRUE)", "matrix(b, nrow(inputs), ncol(W))",
           "R recycling: the bias row spread column by column (byrow dropped), the article's own slip. "
           "Element [i, j] then gets b[(i + 40 j) mod 5 + 1] = b[i mod 5 + 1] instead of b[j + 1]: "
           "row 0 is right in column 0 and wrong from column 1",
           (0, 1, "z1", (0, 1))),
    Defect("tanh_net", "tanh_net.R",
           "(d_next %*% t(W_next)) * (1 - a^2)", "(d_next %*% t(W_next)) * (1 - a)^2",
           "R precedence: (1 - a)^2 for tanh's slope 1 - a^2; the first hidden delta computed is d2, "
           "wrong wherever a2 is neither 0 nor 1, so at its first element",
           (0, 10, "d2", (0, 0))),
    Defect("tanh_net", "tanh_net.py",
           "return W - lr * gW", "return W + lr * gW",
           "Python sign: gradient ascent; the first update of the epoch is W3's (the output layer "
           "first), wrong wherever gW3 is not 0",
           (0, 14, "W3", (0, 0))),
    Defect("tanh_net", "tanh_net.py",
           "xp.log(1 - output)", "xp.log(1 - output + 1e-12)",
           "Python constant: an epsilon in one side's log; the loss feeds no other step, so the "
           "loss itself is the first and only intermediate to part",
           (0, 7, "loss", (0, 0))),
    # -- power_iteration: A 6 x 6 symmetric, v 6 x 1 ------------------------------------------------------
    Defect("power_iteration", "power_iteration.R",
           "matrix(sqrt(sum(Av^2)), 1, 1)", "matrix(sqrt(sum(Av)^2), 1, 1)",
           "R precedence: the square of the sum for the sum of squares",
           (0, 2, "norm", (0, 0))),
    Defect("power_iteration", "power_iteration.R",
           "matrix(sum(abs(v - v_prev)), 1, 1)", "matrix(sum(abs(v + v_prev)), 1, 1)",
           "R sign: the change measured against -v_prev; nothing uses the change, so it parts alone",
           (0, 5, "change", (0, 0))),
    Defect("power_iteration", "power_iteration.py",
           "return Av / norm", "return Av / (norm + 1e-12)",
           "Python constant: an epsilon guarding the division; the first norm is about 3.1, whose ulp is "
           "4.4e-16, so every element of v moves",
           (0, 3, "v", (0, 0))),
    Defect("power_iteration", "power_iteration.py",
           "rayleigh = rayleigh_quotient(A, v, xp)", "rayleigh = rayleigh_quotient(A, v_prev, xp)",
           "Python argument: the Rayleigh quotient of the vector the iteration started from",
           (0, 4, "rayleigh", (0, 0))),
    Defect("power_iteration", "power_iteration.R",
           "multiply <- function(A, v) {\n  A %*% v", "multiply <- function(A, v) {\n  t(A) %*% v",
           "R transpose: t(A) for A; A is exactly symmetric, so t(A) has A's bits and %*% sums the "
           "same products in the same order: nothing changes, and the check must say so",
           None),
)
