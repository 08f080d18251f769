# k-means clustering by Lloyd's algorithm, as R users write it; kmeans.py is its numpy half.

squared_distances <- function(X, C) {
  sapply(seq_len(nrow(C)), function(j) rowSums((X - matrix(C[j, ], nrow(X), ncol(X), byrow = TRUE))^2))
}

update_centroids <- function(X, labels, k) {
  t(sapply(seq_len(k), function(j) colMeans(X[labels == j - 1, , drop = FALSE])))
}

lloyd_step <- function(X, C) {
  D <- squared_distances(X, C)  # rosetta: kmeans 1
  labels <- apply(D, 1, which.min) - 1  # rosetta: kmeans 2
  inertia <- sum(apply(D, 1, min))  # rosetta: kmeans 3
  C_new <- update_centroids(X, labels, nrow(C))  # rosetta: kmeans 4
  shift <- sqrt(sum((C_new - C)^2))  # rosetta: kmeans 5
  list(D = D, labels = labels, inertia = inertia, C = C_new, shift = shift)
}
