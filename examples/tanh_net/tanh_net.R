# A network with TWO hidden layers of tanh neurons and one sigmoid output, trained by full-batch
# gradient descent on the mean binary cross-entropy (tanh_net.py's twin: the same functions, the
# same names, the same steps 1-14; twin.py declares the pair). Rows of X are samples.
#
# Two R habits differ from numpy here: a bias row must be spread over the samples explicitly
# (R recycles a vector down the columns, numpy broadcasts a row), and colSums returns a vector,
# kept as a one-row matrix so that every intermediate is a matrix.

# z = inputs %*% W + b: the row b repeated for every sample (byrow = TRUE: one bias per column)
linear <- function(inputs, W, b) {
  inputs %*% W + matrix(b, nrow(inputs), ncol(W), byrow = TRUE)
}

# 1 / (1 + e^-z)
sigmoid <- function(z) {
  1 / (1 + exp(-z))  # rosetta: tanh-net sigmoid
}

# the mean binary cross-entropy, as a 1 x 1 matrix
cross_entropy <- function(y, output) {
  matrix(-mean(y * log(output) + (1 - y) * log(1 - output)), 1, 1)
}

# d3 = dloss/dz3 = (output - y) / n
output_delta <- function(output, y) {
  (output - y) / nrow(y)
}

# d = (d_next %*% t(W_next)) * tanh'(z), where tanh'(z) = 1 - a^2 (R computes a^2 as a * a)
hidden_delta <- function(d_next, W_next, a) {
  (d_next %*% t(W_next)) * (1 - a^2)
}

# gW = t(inputs) %*% d
weight_gradient <- function(inputs, d) {
  crossprod(inputs, d)
}

# gb = the column sums of d, as one row
bias_gradient <- function(d) {
  matrix(colSums(d), nrow = 1)
}

# one gradient-descent step
descend <- function(W, gW, lr) {
  W - lr * gW
}

# steps 1-14 once, from state (W1, b1, W2, b2, W3, b3); every intermediate by name
epoch <- function(X, y, state, lr) {
  W1 <- state$W1; b1 <- state$b1; W2 <- state$W2; b2 <- state$b2; W3 <- state$W3; b3 <- state$b3
  z1 <- linear(X, W1, b1)  # rosetta: tanh-net 1
  a1 <- tanh(z1)  # rosetta: tanh-net 2
  z2 <- linear(a1, W2, b2)  # rosetta: tanh-net 3
  a2 <- tanh(z2)  # rosetta: tanh-net 4
  z3 <- linear(a2, W3, b3)  # rosetta: tanh-net 5
  output <- sigmoid(z3)  # rosetta: tanh-net 6
  loss <- cross_entropy(y, output)  # rosetta: tanh-net 7
  d3 <- output_delta(output, y)  # rosetta: tanh-net 8
  gW3 <- weight_gradient(a2, d3)  # rosetta: tanh-net 9
  gb3 <- bias_gradient(d3)  # rosetta: tanh-net 9
  d2 <- hidden_delta(d3, W3, a2)  # rosetta: tanh-net 10
  gW2 <- weight_gradient(a1, d2)  # rosetta: tanh-net 11
  gb2 <- bias_gradient(d2)  # rosetta: tanh-net 11
  d1 <- hidden_delta(d2, W2, a1)  # rosetta: tanh-net 12
  gW1 <- weight_gradient(X, d1)  # rosetta: tanh-net 13
  gb1 <- bias_gradient(d1)  # rosetta: tanh-net 13
  W3 <- descend(W3, gW3, lr)  # rosetta: tanh-net 14
  b3 <- descend(b3, gb3, lr)  # rosetta: tanh-net 14
  W2 <- descend(W2, gW2, lr)  # rosetta: tanh-net 14
  b2 <- descend(b2, gb2, lr)  # rosetta: tanh-net 14
  W1 <- descend(W1, gW1, lr)  # rosetta: tanh-net 14
  b1 <- descend(b1, gb1, lr)  # rosetta: tanh-net 14
  list(z1 = z1, a1 = a1, z2 = z2, a2 = a2, z3 = z3, output = output, loss = loss,
       d3 = d3, gW3 = gW3, gb3 = gb3, d2 = d2, gW2 = gW2, gb2 = gb2, d1 = d1, gW1 = gW1, gb1 = gb1,
       W3 = W3, b3 = b3, W2 = W2, b2 = b2, W1 = W1, b1 = b1)
}
