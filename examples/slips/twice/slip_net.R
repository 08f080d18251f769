# slip_net.py translated to R with one slip, the gradient divided by n twice.

# W from the draws after the first (a warm-up draw), filled row by row as numpy's reshape fills
# (matrix() fills columns unless byrow)
start <- function(draws, state) {
  list(W = matrix(draws[2:length(draws)], nrow(state$W), ncol(state$W), byrow = TRUE))
}

# a row spread over the n samples (R recycles a vector down the columns: repeat it by row)
by_row <- function(v, n) {
  matrix(v, n, length(v), byrow = TRUE)
}

epoch <- function(X, Y, state, lr) {
  n <- nrow(X)
  W <- state$W
  mu <- matrix(colSums(X) / n, nrow = 1)  # rosetta: slip-net 1
  Xc <- X - by_row(mu, n)  # rosetta: slip-net 2
  s <- matrix(sqrt(colSums(Xc^2) / n), nrow = 1)  # rosetta: slip-net 3
  Z <- Xc / by_row(s, n)  # rosetta: slip-net 4
  C <- crossprod(Z, Xc) / n  # rosetta: slip-net 5
  P <- exp(C) / rowSums(exp(C))  # rosetta: slip-net 6
  E <- Z %*% W - Y  # rosetta: slip-net 7
  G <- crossprod(Z, E) / n / n  # rosetta: slip-net 8
  W <- W - lr * G  # rosetta: slip-net 9
  loss <- matrix(mean(E^2), 1, 1)  # rosetta: slip-net 10
  S <- matrix(sort(s, decreasing = TRUE), nrow = 1)  # rosetta: slip-net 11
  list(mu = mu, Xc = Xc, s = s, Z = Z, C = C, P = P, E = E, G = G, W = W, loss = loss, S = S)
}
