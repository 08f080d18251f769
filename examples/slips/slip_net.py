"""The algorithm every twin of the slip gallery translates (examples/slips/*/slip_net.R): standardise
the features, then fit a linear model with two outputs by full-batch gradient descent on the mean
squared error. On the way it reports each feature's slope on the others and their row softmax: the
steps where translations to R usually slip. Last it ranks the features' spreads, largest first.

Rows of X are samples. Operations whose rounding differs between numpy and R go through ``xp``.

One epoch, steps 1-11:
  mu = column means of X, Xc = X - mu, s = column standard deviations (np.std: divides by n),
  Z = Xc / s, C = Z^T Xc / n (slope of each feature on each standardised one), P = exp(C) / (row sums of exp(C)),
  E = Z W - Y, G = Z^T E / n, W <- W - lr G, loss = mean(E^2), S = s sorted, largest first
The starting W is the scenario's draws after the first, laid out row by row (numpy's reshape fills rows
first).
"""
import numpy as np


def column_means(X, xp):
    """mu = the mean of each column, as one row: sum over the samples / n."""
    return xp.sum(X, axis=0) / X.shape[0]


def column_sds(Xc, xp):
    """s = np.std(Xc, axis=0): sqrt(sum of squares / n), the population formula (numpy's default)."""
    return xp.sqrt(xp.sum(Xc ** 2, axis=0) / Xc.shape[0])


def row_softmax(C, xp):
    """P[i, j] = exp(C[i, j]) / sum_k exp(C[i, k]): each row sums to 1."""
    return xp.exp(C) / xp.sum(xp.exp(C), axis=1)


def start(draws, state):
    """W from the scenario's draws after the first (the generator's warm-up draw, discarded), filled
    row by row as numpy's reshape fills."""
    return {"W": np.reshape(draws[0, 1:], np.shape(state["W"]))}


def epoch(X, Y, state, lr, xp):
    """Steps 1-11 once, from ``state`` (W); every intermediate by name."""
    n = X.shape[0]
    W = state["W"]
    mu = column_means(X, xp)  # rosetta: slip-net 1
    Xc = X - mu  # rosetta: slip-net 2
    s = column_sds(Xc, xp)  # rosetta: slip-net 3
    Z = Xc / s  # rosetta: slip-net 4
    C = xp.crossprod(Z, Xc) / n  # rosetta: slip-net 5
    P = row_softmax(C, xp)  # rosetta: slip-net 6
    E = xp.dot(Z, W) - Y  # rosetta: slip-net 7
    G = xp.crossprod(Z, E) / n  # rosetta: slip-net 8
    W = W - lr * G  # rosetta: slip-net 9
    loss = np.reshape(xp.mean(E ** 2), (1, 1))  # rosetta: slip-net 10
    S = -np.sort(-s, axis=1)  # rosetta: slip-net 11
    return {"mu": mu, "Xc": Xc, "s": s, "Z": Z, "C": C, "P": P, "E": E, "G": G, "W": W, "loss": loss, "S": S}
