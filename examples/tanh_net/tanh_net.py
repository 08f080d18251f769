"""A network with TWO hidden layers of tanh neurons and one sigmoid output, trained by full-batch
gradient descent on the mean binary cross-entropy: a reader's question to the article ("how does
the code change with two hidden layers and tanh?"), answered as a twin. Its R half is tanh_net.R,
function for function and name for name; twin.py declares the pair.

Rows of X are samples. Operations whose rounding differs between numpy and R go through the array
namespace ``xp`` (dot, exp, tanh, log, mean, crossprod, column sums); ``+ - * /``, unary minus,
``** 2`` and ``.T`` are the same bits in both languages and are written as usual.

One epoch, steps 1-14:
  forward   z1 = X W1 + b1, a1 = tanh(z1), z2 = a1 W2 + b2, a2 = tanh(z2), z3 = a2 W3 + b3,
            output = sigmoid(z3), loss = -mean(y log(output) + (1 - y) log(1 - output))
  backward  d3 = (output - y) / n, gW3 = a2^T d3, gb3 = colSums(d3),
            d2 = (d3 W3^T) * (1 - a2^2), gW2 = a1^T d2, gb2 = colSums(d2),
            d1 = (d2 W2^T) * (1 - a1^2), gW1 = X^T d1, gb1 = colSums(d1)
  update    W <- W - lr gW, b <- b - lr gb, output layer first
"""
import numpy as np


def linear(inputs, W, b, xp):
    """z = inputs W + b: the row b is added to every sample's row (numpy broadcasts it)."""
    return xp.dot(inputs, W) + b


def sigmoid(z, xp):
    """1 / (1 + e^-z)."""
    return 1 / (1 + xp.exp(-z))  # rosetta: tanh-net sigmoid


def cross_entropy(y, output, xp):
    """The mean binary cross-entropy, kept as a 1 x 1 matrix like every intermediate."""
    return np.reshape(-xp.mean(y * xp.log(output) + (1 - y) * xp.log(1 - output)), (1, 1))


def output_delta(output, y):
    """d3 = dloss/dz3 = (output - y) / n: the sigmoid's slope cancels the cross-entropy's denominators."""
    return (output - y) / y.shape[0]


def hidden_delta(d_next, W_next, a, xp):
    """d = (d_next W_next^T) * tanh'(z), where tanh'(z) = 1 - tanh(z)^2 = 1 - a^2."""
    return xp.dot(d_next, W_next.T) * (1 - a ** 2)


def weight_gradient(inputs, d, xp):
    """gW = inputs^T d (R's crossprod)."""
    return xp.crossprod(inputs, d)


def bias_gradient(d, xp):
    """gb = the column sums of d, as one row."""
    return xp.sum(d, axis=0)


def descend(W, gW, lr):
    """One gradient-descent step: W - lr gW."""
    return W - lr * gW


def epoch(X, y, state, lr, xp):
    """Steps 1-14 once, from ``state`` (W1, b1, W2, b2, W3, b3); every intermediate by name."""
    W1, b1, W2, b2, W3, b3 = (state[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    z1 = linear(X, W1, b1, xp)  # rosetta: tanh-net 1
    a1 = xp.tanh(z1)  # rosetta: tanh-net 2
    z2 = linear(a1, W2, b2, xp)  # rosetta: tanh-net 3
    a2 = xp.tanh(z2)  # rosetta: tanh-net 4
    z3 = linear(a2, W3, b3, xp)  # rosetta: tanh-net 5
    output = sigmoid(z3, xp)  # rosetta: tanh-net 6
    loss = cross_entropy(y, output, xp)  # rosetta: tanh-net 7
    d3 = output_delta(output, y)  # rosetta: tanh-net 8
    gW3 = weight_gradient(a2, d3, xp)  # rosetta: tanh-net 9
    gb3 = bias_gradient(d3, xp)  # rosetta: tanh-net 9
    d2 = hidden_delta(d3, W3, a2, xp)  # rosetta: tanh-net 10
    gW2 = weight_gradient(a1, d2, xp)  # rosetta: tanh-net 11
    gb2 = bias_gradient(d2, xp)  # rosetta: tanh-net 11
    d1 = hidden_delta(d2, W2, a1, xp)  # rosetta: tanh-net 12
    gW1 = weight_gradient(X, d1, xp)  # rosetta: tanh-net 13
    gb1 = bias_gradient(d1, xp)  # rosetta: tanh-net 13
    W3 = descend(W3, gW3, lr)  # rosetta: tanh-net 14
    b3 = descend(b3, gb3, lr)  # rosetta: tanh-net 14
    W2 = descend(W2, gW2, lr)  # rosetta: tanh-net 14
    b2 = descend(b2, gb2, lr)  # rosetta: tanh-net 14
    W1 = descend(W1, gW1, lr)  # rosetta: tanh-net 14
    b1 = descend(b1, gb1, lr)  # rosetta: tanh-net 14
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "output": output, "loss": loss,
            "d3": d3, "gW3": gW3, "gb3": gb3, "d2": d2, "gW2": gW2, "gb2": gb2, "d1": d1, "gW1": gW1, "gb1": gb1,
            "W3": W3, "b3": b3, "W2": W2, "b2": b2, "W1": W1, "b1": b1}
