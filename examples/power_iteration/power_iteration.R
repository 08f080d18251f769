# Power iteration for the dominant eigenvector of a symmetric matrix (power_iteration.py's twin:
# the same functions, the same names, the same steps 1-5; twin.py declares the pair).
#
# R keeps a number computed from a matrix as a plain number; it is wrapped in a 1 x 1 matrix so
# that every intermediate is a matrix, and unwrapped (as.numeric) to divide by it: R refuses
# arithmetic between a 6 x 1 and a 1 x 1 matrix ("non-conformable arrays").

# Av = A %*% v
multiply <- function(A, v) {
  A %*% v
}

# norm = sqrt(sum(Av^2)), 1 x 1 (R computes Av^2 as Av * Av, and sum() in long double)
vector_norm <- function(Av) {
  matrix(sqrt(sum(Av^2)), 1, 1)
}

# v = Av / norm
normalise <- function(Av, norm) {
  Av / as.numeric(norm)
}

# rayleigh = sum(v * (A %*% v)), 1 x 1
rayleigh_quotient <- function(A, v) {
  matrix(sum(v * (A %*% v)), 1, 1)
}

# change = sum(abs(v - v_prev)), 1 x 1
step_change <- function(v, v_prev) {
  matrix(sum(abs(v - v_prev)), 1, 1)
}

# steps 1-5 once, from state$v; every intermediate by name
iterate <- function(A, state) {
  v_prev <- state$v
  Av <- multiply(A, v_prev)  # rosetta: power-iteration 1
  norm <- vector_norm(Av)  # rosetta: power-iteration 2
  v <- normalise(Av, norm)  # rosetta: power-iteration 3
  rayleigh <- rayleigh_quotient(A, v)  # rosetta: power-iteration 4
  change <- step_change(v, v_prev)  # rosetta: power-iteration 5
  list(Av = Av, norm = norm, v = v, rayleigh = rayleigh, change = change)
}
