"""Power iteration for the dominant eigenvector of a symmetric matrix: an iterative algorithm that is
not a neural network, as a twin. Its R half is power_iteration.R, function for function and name
for name; twin.py declares the pair.

One iteration, steps 1-5, from the vector v_prev the previous one ended with:
  Av = A v_prev, norm = sqrt(sum(Av^2)), v = Av / norm,
  rayleigh = sum(v * (A v)) (the Rayleigh quotient v^T A v, the eigenvalue estimate),
  change = sum(|v - v_prev|) (how far v moved).
Every intermediate is a matrix; a number is 1 x 1. Operations whose rounding differs between numpy
and R go through ``xp`` (dot, sqrt, sum, abs).
"""


def multiply(A, v, xp):
    """Av = A v."""
    return xp.dot(A, v)


def vector_norm(Av, xp):
    """norm = sqrt(sum(Av^2)): the Euclidean length, 1 x 1."""
    return xp.sqrt(xp.sum(Av ** 2))


def normalise(Av, norm):
    """v = Av / norm (numpy broadcasts the 1 x 1 norm)."""
    return Av / norm


def rayleigh_quotient(A, v, xp):
    """rayleigh = sum(v * (A v)): v^T A v for a unit v, 1 x 1."""
    return xp.sum(v * xp.dot(A, v))


def step_change(v, v_prev, xp):
    """change = sum(|v - v_prev|), 1 x 1."""
    return xp.sum(xp.abs(v - v_prev))


def iterate(A, state, xp):
    """Steps 1-5 once, from state["v"]; every intermediate by name."""
    v_prev = state["v"]
    Av = multiply(A, v_prev, xp)  # rosetta: power-iteration 1
    norm = vector_norm(Av, xp)  # rosetta: power-iteration 2
    v = normalise(Av, norm)  # rosetta: power-iteration 3
    rayleigh = rayleigh_quotient(A, v, xp)  # rosetta: power-iteration 4
    change = step_change(v, v_prev, xp)  # rosetta: power-iteration 5
    return {"Av": Av, "norm": norm, "v": v, "rayleigh": rayleigh, "change": change}
