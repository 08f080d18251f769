"""Twins written as numpy and R users write them (no ``xp``), as files a test lays out in a folder:
each is an unmodified numpy file and an unmodified R file, with only a twin.py and a scenario
beside them. tests/test_plain_numpy.py runs them; together they use every operation docs/TWINS.md
lists as supported."""
import os

import numpy as np

from crossverify.twins.builder import hex_matrix, write

SOFTMAX_PY = '''
import numpy as np


def softmax_epoch(X, Y, W, b, lr):
    Z = X @ W + b
    Zmax = np.max(Z, axis=1, keepdims=True)
    E = np.exp(Z - Zmax)
    P = E / np.sum(E, axis=1, keepdims=True)
    loss = -np.mean(np.sum(Y * np.log(P), axis=1))
    G = (P - Y) / X.shape[0]
    gW = np.dot(X.T, G)
    gb = G.sum(axis=0, keepdims=True)
    W = W - lr * gW
    b = b - lr * gb
    return {"Z": Z, "Zmax": Zmax, "P": P, "loss": loss, "gW": gW, "gb": gb, "W": W, "b": b}
'''

SOFTMAX_R = '''
softmax_epoch <- function(X, Y, W, b, lr) {
  Z <- X %*% W + matrix(b, nrow(X), ncol(W), byrow = TRUE)
  Zmax <- apply(Z, 1, max)
  E <- exp(Z - Zmax)
  P <- E / rowSums(E)
  loss <- -mean(rowSums(Y * log(P)))
  G <- (P - Y) / nrow(X)
  gW <- t(X) %*% G
  gb <- colSums(G)
  W <- W - lr * gW
  b <- b - lr * gb
  list(Z = Z, Zmax = Zmax, P = P, loss = loss, gW = gW, gb = gb, W = W, b = b)
}
'''

SOFTMAX_TWIN = '''
from crossverify.twins.protocol import RSide, Step, Twin

TWIN = Twin(
    name="plain_softmax", python="softmax.py:softmax_epoch", r=RSide(files=("softmax.R",), epoch="softmax_epoch"),
    state=("W", "b"),
    steps=(Step(1, "Z"), Step(2, "Zmax"), Step(3, "P"), Step(4, "loss"), Step(5, "gW"), Step(6, "gb"),
           Step(7, "W"), Step(8, "b")),
    data={"X": ("n", "p"), "Y": ("n", "k")}, init={"W": ("p", "k"), "b": (1, "k")}, hyper=("lr",),
)
'''

OPS_PY = '''
import numpy as np


def ops_epoch(X, v):
    a = X[:, 0:1] * v
    rows = X[[0, 2, 4], :]
    leaky = np.where(a > 0, a, 0.125 * a)
    c = np.clip(a, -0.25, 0.25)
    bounded = np.minimum(np.maximum(leaky, -0.5), 0.5)
    s = np.sqrt(np.abs(a)) + np.log1p(np.abs(a))
    t = np.tanh(a) ** 3
    both = np.hstack([a, c])
    stacked = np.vstack([rows, X[-1:, :]])
    joined = np.concatenate([a.ravel(), c.ravel()])
    o = np.outer(a, X[0])
    sd = np.std(X * v, axis=0, ddof=1)
    spread = np.var(a, ddof=0)
    cs = np.cumsum(a, axis=0)
    srt = np.sort(a, axis=0)
    order = np.argsort(a.ravel())
    best = np.argmax(X * v, axis=0)
    worst = (X * v).min()
    top = X[X[:, 1] > 0].mean(axis=0)
    v = np.tanh(X @ (X.T @ v) * 0.1 + bounded + s * 0.01 - t + cs * 0.05)
    return {"a": a, "rows": rows, "leaky": leaky, "c": c, "bounded": bounded, "s": s, "t": t, "both": both,
            "stacked": stacked, "joined": joined, "o": o, "sd": sd, "spread": spread, "cs": cs, "srt": srt,
            "order": order, "best": best, "worst": worst, "top": top, "v": v}
'''

OPS_R = '''
ops_epoch <- function(X, v) {
  a <- X[, 1, drop = FALSE] * v
  rows <- X[c(1, 3, 5), , drop = FALSE]
  leaky <- ifelse(a > 0, a, 0.125 * a)
  c <- pmin(pmax(a, -0.25), 0.25)
  bounded <- pmin(pmax(leaky, -0.5), 0.5)
  s <- sqrt(abs(a)) + log1p(abs(a))
  t <- tanh(a)^3
  both <- cbind(a, c)
  stacked <- rbind(rows, X[nrow(X), , drop = FALSE])
  joined <- c(a, c)
  o <- outer(as.vector(a), X[1, ])
  sd <- apply(X * as.vector(v), 2, sd)
  spread <- mean((a - mean(a))^2)
  cs <- cumsum(a)
  srt <- sort(a)
  order <- order(a) - 1
  best <- apply(X * as.vector(v), 2, which.max) - 1
  worst <- min(X * as.vector(v))
  top <- colMeans(X[X[, 2] > 0, , drop = FALSE])
  v <- tanh(X %*% (t(X) %*% v) * 0.1 + bounded + s * 0.01 - t + cs * 0.05)
  list(a = a, rows = rows, leaky = leaky, c = c, bounded = bounded, s = s, t = t, both = both,
       stacked = stacked, joined = joined, o = o, sd = sd, spread = spread, cs = cs, srt = srt,
       order = order, best = best, worst = worst, top = top, v = v)
}
'''

OPS_TWIN = '''
from crossverify.twins.protocol import RSide, Step, Twin

NAMES = ("a", "rows", "leaky", "c", "bounded", "s", "t", "both", "stacked", "joined", "o", "sd", "spread", "cs",
         "srt", "order", "best", "worst", "top", "v")
TWIN = Twin(
    name="plain_ops", python="ops.py:ops_epoch", r=RSide(files=("ops.R",), epoch="ops_epoch"),
    state=("v",), steps=tuple(Step(i + 1, n) for i, n in enumerate(NAMES)),
    data={"X": ("n", "p")}, init={"v": ("n", 1)}, hyper=(),
)
'''

TWINS = {
    "plain_softmax": {"softmax.py": SOFTMAX_PY, "softmax.R": SOFTMAX_R, "twin.py": SOFTMAX_TWIN},
    "plain_ops": {"ops.py": OPS_PY, "ops.R": OPS_R, "twin.py": OPS_TWIN},
}


def softmax_scenario(seed=5, n=9, p=3, k=3, epochs=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    Y = np.eye(k)[rng.integers(0, k, n)]
    return {"X": X, "Y": Y}, {"W": rng.uniform(-0.5, 0.5, (p, k)), "b": rng.uniform(-0.1, 0.1, (1, k))}, \
        {"lr": 0.5, "epochs": epochs}


def ops_scenario(seed=7, n=6, p=3, epochs=5):
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((n, p))}, {"v": rng.uniform(-1, 1, (n, 1))}, {"epochs": epochs}


SCENARIOS = {"plain_softmax": softmax_scenario, "plain_ops": ops_scenario}


def lay_out(folder, name, files=None, scenario=None):
    """Write twin ``name`` (its files, optionally changed) and its scenario into ``folder``; the folder."""
    folder = os.path.join(str(folder), name)
    os.makedirs(folder, exist_ok=True)
    for fname, text in {**TWINS[name], **(files or {})}.items():
        with open(os.path.join(folder, fname), "w", encoding="utf-8") as fh:
            fh.write(text)
    data, init, hyper = (scenario or SCENARIOS[name])()
    hyper = {k: (float(v).hex() if k != "epochs" else v) for k, v in hyper.items()}
    write(os.path.join(folder, "scenarios", "s1", "manifest.json"), {
        "format": "crossverify-scenario/1", "name": "s1", "twin": name, "description": f"{name} test scenario",
        "hyper_parameters": hyper, "provenance": {"generator": "tests/plain_numpy_twins.py", "seed": 0},
        "data": {k: hex_matrix(v) for k, v in data.items()},
        "init": {k: hex_matrix(v) for k, v in init.items()}})
    return folder
